/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role (Windows' Base CSP / Smart Card KSP) on top of a card module: readers and cards,
 * containers, cache, policy, signing lanes. */
#ifndef MDP11_KSP_KSP_H
#define MDP11_KSP_KSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hash.h"
#include "mdp11/keyspec.h"

/*
 * The card-module types are only named here, never defined: a caller of the host role (the
 * PKCS#11 module) neither includes nor calls the card-module layer (tests/layering.py). The
 * programs, which may, include minidriver/card.h themselves.
 */
struct md_card;	   /* minidriver/card.h */
enum md_rv;	   /* mdp11/card-module.h */
struct mdp_config; /* common/conf.h */
struct mdp_key;	   /* blob/blob.h */
struct ksp_card;

/*
 * One struct ksp_card is one card behind one card-module context. It keeps
 * the public view of the card (cardid, cardcf, cmapfile, container public
 * keys, certificates, mdp11's application data, PIN info) in memory, and in
 * a persistent cache directory when the policy names one, trusted only while
 * cardcf matches (spec/minidriver.md §5.3). Every change it makes bumps the
 * right cardcf counters so other hosts (Windows, OpenSC, other processes)
 * notice. Not thread-safe: the caller serialises (one lock per slot).
 *
 * Every function returns an enum ksp_rv (KSP_OK on success). Out-parameters are written only
 * on success. A failure may leave a human reason in mdp_err_last() (common/error.h), e.g.
 * naming the policy option that refused.
 */

/*
 * The host role's outcomes: its own (the NTE_* of spec/minidriver.md §7) and what it makes of
 * the card module's SCARD_* codes (ksp_rv_from_md, one table). pkcs11/ maps them to CK_RV in
 * one place (pkcs11/rv.c).
 */
enum ksp_rv {
	KSP_OK = 0,
	/* the caller */
	KSP_E_INVALID_ARG,	/* a bad argument (SCARD_E_INVALID_PARAMETER) */
	KSP_E_NO_MEMORY,	/* allocation failed */
	KSP_E_BUFFER_TOO_SMALL, /* the output buffer is too small */
	KSP_E_UNSUPPORTED,	/* the card or its card module does not offer it */
	/* the card and its link */
	KSP_E_NO_CARD,	      /* no card in the reader, no card file */
	KSP_E_CARD_REMOVED,   /* the card went away during the call */
	KSP_E_CARD_RESET,     /* someone else reset the card: its login state is gone */
	KSP_E_UNKNOWN_CARD,   /* no card module knows the card */
	KSP_E_READ_ONLY,      /* the card is read-only */
	KSP_E_NO_SERVICE,     /* the PC/SC service is not running */
	KSP_E_DEVICE,	      /* the link or the card failed */
	KSP_E_FILE_NOT_FOUND, /* a file of the card is missing */
	KSP_E_DIR_NOT_FOUND,  /* a directory of the card is missing */
	KSP_E_FILE_EXISTS,    /* a file or directory to create exists */
	KSP_E_CANCELLED,      /* cancelled (by the user at a PIN pad) */
	KSP_E_NO_KEY,	      /* the container holds no such key (SCARD_E_NO_KEY_CONTAINER) */
	KSP_E_FAILED,	      /* an answer of the card module that makes no sense here */
	/* PINs */
	KSP_E_PIN_INCORRECT, /* wrong PIN or admin key */
	KSP_E_PIN_BLOCKED,   /* the PIN is blocked */
	KSP_E_PIN_LEN,	     /* a PIN or key of a length the card refuses */
	KSP_E_NOT_LOGGED_IN, /* the operation needs a login */
	KSP_E_NO_ACCESS,     /* the card refuses access (SCARD_E_NO_ACCESS): not logged in, or an
				embedded card whose seal is missing */
	/* the host role's own (NTE_* of spec/minidriver.md §7) */
	KSP_E_BAD_KEY,	     /* NTE_BAD_KEY: key material unusable, or key of the wrong kind for
				the operation or key spec */
	KSP_E_KEY_SIZE,	     /* NTE_BAD_LEN: RSA size outside the allowed range */
	KSP_E_BAD_DATA,	     /* NTE_BAD_DATA: input of the wrong length or form */
	KSP_E_PROHIBITED,    /* NTE_BAD_KEY_STATE: the change would destroy another key (e.g.
				delete one slot while the other is in use) */
	KSP_E_EXISTS,	     /* NTE_EXISTS: container name, CKA_ID or slot in use and no
				overwrite asked (NCryptCreatePersistedKey's rule) */
	KSP_E_POLICY,	     /* NTE_PERM: refused by struct ksp_policy */
	KSP_E_NOT_FOUND,     /* NTE_NOT_FOUND: no such container slot / object */
	KSP_E_CERT_MISMATCH, /* NTE_BAD_PUBLIC_KEY: the certificate matches no key */
	KSP_E_NO_ROOM,	     /* NTE_TOKEN_KEYSET_STORAGE_FULL: no free container index, or the
				card is full */
	KSP_E_DECRYPT,	     /* NTE_DECRYPTION_FAILURE: padding check failed */
};

/* Constant name of a value ("KSP_E_EXISTS"); never NULL. */
const char *ksp_rv_name(enum ksp_rv rv);
/* What rv means in a few words, for messages to people ("no free container on the card"). */
const char *ksp_rv_text(enum ksp_rv rv);
/* What a card module's result means to the host (one table; unknown values: KSP_E_FAILED). */
enum md_rv;
enum ksp_rv ksp_rv_from_md(enum md_rv rv);

/* Configuration (conf/mdp11.conf [policy] and [cache]). ksp_policy_default() fills defaults. */
struct ksp_policy {
	unsigned rsa_min_bits;	   /* 0: the card's minimum */
	unsigned rsa_max_bits;	   /* 0: the card's maximum */
	unsigned rsa_default_bits; /* 0 or default: 2048 */
	/* Windows' AllowPrivate*KeyImport: which key specs accept an imported private key. */
	bool allow_exchange_import;  /* AT_KEYEXCHANGE; default true */
	bool allow_signature_import; /* AT_SIGNATURE; default true */
	bool allow_ecdsa_import;     /* AT_ECDSA_P*; default true */
	bool allow_ecdhe_import;     /* AT_ECDHE_P*; default true */
	const char *cache_dir;	     /* persistent public-data cache; NULL: memory only */
};
void ksp_policy_default(struct ksp_policy *policy);

/* The two key slots of a container (spec/minidriver.md §8: one exchange and one signature key). */
enum ksp_slot {
	KSP_SLOT_EXCHANGE = 0,	/* AT_KEYEXCHANGE, AT_ECDHE_*: kxcNN */
	KSP_SLOT_SIGNATURE = 1, /* AT_SIGNATURE, AT_ECDSA_*: kscNN */
};
#define KSP_SLOTS 2
/* The slot a key spec lives in. */
enum ksp_slot ksp_slot_of(enum mdp_key_spec spec);

/* How the private key came to be (from mdp11's application data; UNKNOWN for foreign cards). */
enum ksp_origin {
	KSP_ORIGIN_UNKNOWN = 0,
	KSP_ORIGIN_GENERATED =
		1, /* KEY_GEN on the card: CKA_LOCAL, ALWAYS_SENSITIVE, NEVER_EXTRACTABLE */
	KSP_ORIGIN_IMPORTED = 2, /* KEY_IMPORT */
};

/* One occupied slot of a container. Pointers stay valid until the next call that changes the view.
 */
struct ksp_key {
	enum mdp_key_spec spec;	   /* MDP_AT_NONE: the slot is empty (other fields zero) */
	unsigned bits;		   /* RSA modulus bits, or 256/384/521 */
	const struct mdp_key *pub; /* public key parsed from the CONTAINER_INFO blob */
	const uint8_t *pub_blob;   /* that blob as the card module returned it */
	size_t pub_blob_len;
	const uint8_t *cert; /* certificate DER (decompressed), NULL when none */
	size_t cert_len;
	const uint8_t *id; /* CKA_ID: application data, else the container name (UTF-8) */
	size_t id_len;
	const char *label;	/* CKA_LABEL of the key pair: application data, else the
				   certificate subject CN, else the container name */
	const char *cert_label; /* CKA_LABEL of the certificate: application data, else label */
	bool id_is_default;	/* no application data: id/label are the derived defaults */
	enum ksp_origin origin;
	uint32_t pin_id;  /* the container's PIN (CCP_PIN_IDENTIFIER): 1 the user PIN */
	bool always_auth; /* another PIN id (PIV: 4, docs/piv.md): the PIN is given again right
			     before each private-key operation, ksp_login_context
			     (CKA_ALWAYS_AUTHENTICATE) */
};

struct ksp_container {
	uint8_t index;	       /* cmapfile record, key reference 0x81 + index on GIDS */
	char name[4 * 39 + 1]; /* UTF-8 of the UTF-16LE cmapfile name */
	bool is_default;       /* CONTAINER_MAP_DEFAULT_CONTAINER */
	struct ksp_key slot[KSP_SLOTS];
};

/* ---- readers, links and card attachment (ksp-link.c) ---- */

/* The card modules (the registry of mdp11.conf's [card_module] sections) and the policy. */
struct ksp_host;
/* cfg NULL: built-in card modules only; a bad [card_module] entry is KSP_E_INVALID_ARG with the
 * reason in mdp_err_last(). policy NULL: ksp_policy_default(); it is copied. */
enum ksp_rv ksp_host_new(const struct mdp_config *cfg, const struct ksp_policy *policy,
			 struct ksp_host **out);
void ksp_host_free(struct ksp_host *h);

/* The PC/SC readers present; KSP_E_NO_SERVICE when the PC/SC service is not running. */
enum ksp_rv ksp_readers(char ***names, size_t *count);
void ksp_readers_free(char **names, size_t count);

/*
 * PC/SC reader events: a reader that comes or goes, a card inserted or removed. wait blocks up
 * to timeout_ms (0: no wait) and reports *changed (then ev->reader: the reader, "" when the list
 * of readers changed; ev->present: a card is in it); timeout and cancel are KSP_OK with *changed
 * false. cancel wakes a blocked wait from another thread.
 */
struct ksp_monitor;
struct ksp_event {
	char reader[128];
	bool present;
};
enum ksp_rv ksp_monitor_new(struct ksp_monitor **out);
enum ksp_rv ksp_monitor_wait(struct ksp_monitor *m, int timeout_ms, bool *changed,
			     struct ksp_event *ev);
void ksp_monitor_cancel(struct ksp_monitor *m);
void ksp_monitor_free(struct ksp_monitor *m);

/*
 * A link: the way to one card, a PC/SC reader or a virtual card file served in-process (seal:
 * the card file's seal, NULL for the default). KSP_E_NO_CARD for an empty reader or a missing
 * card file. On failure, what (when not NULL) receives a few words for a person ("no card file",
 * "not a card file", "card file not writable", "card's seal not available"; "" for an empty
 * reader) and mdp_err_last() the whole reason.
 */
struct ksp_link;
enum ksp_rv ksp_link_open_reader(const char *reader, struct ksp_link **out, char *what,
				 size_t what_len);
enum ksp_rv ksp_link_open_vcard(const char *path, const char *seal, struct ksp_link **out,
				char *what, size_t what_len);
void ksp_link_free(struct ksp_link *l);
/* No card I/O: *present false when the card went away; *changed when it was reset or replaced
 * since the last call. */
enum ksp_rv ksp_link_status(struct ksp_link *l, bool *present, bool *changed);

/*
 * The card behind a link: the card module that knows it (KSP_E_UNKNOWN_CARD when none does),
 * then the view (ksp_card_open). The link must outlive kc.
 */
enum ksp_rv ksp_card_attach(struct ksp_host *h, struct ksp_link *l, struct ksp_card **out);
/* The card module's name for the card ("GIDS", "PIV"). */
const char *ksp_card_module_name(struct ksp_card *kc);
/* APDUs carried so far by the link and by the idle signing lanes of kc (NULL: none), for the
 * APDU budgets the tests hold the module to (mdp_transport_apdu_count). */
unsigned long ksp_link_apdus(struct ksp_link *l, struct ksp_card *kc);

/*
 * Open: reads cardid, cardcf and (unless the cache is valid) the public data.
 * Takes card (md_card_delete() at ksp_card_free(), also when the open
 * fails); its transport stays the caller's and must outlive kc.
 */
enum ksp_rv ksp_card_open(struct md_card *card, const struct ksp_policy *policy,
			  struct ksp_card **out);
void ksp_card_free(struct ksp_card *kc);
/* The card-module context (for operations this API does not wrap); still owned by kc. */
struct md_card *ksp_card_md(struct ksp_card *kc);

/*
 * Bring the view up to date: read cardcf (one APDU, none when the transport
 * reports that nothing can have changed) and reload only what its counters
 * say changed (PIN info / containers / files). *changed tells whether the
 * view changed (callers then rebuild their objects).
 */
enum ksp_rv ksp_card_refresh(struct ksp_card *kc, bool *changed);

/*
 * Incremented whenever the view (containers, keys, data objects) is
 * rebuilt: pointers obtained before a change of the generation are stale.
 * Any call may rebuild a view that a change, a reset or a login/logout
 * invalidated; ksp_card_refresh() reports it through *changed.
 */
unsigned long ksp_card_generation(const struct ksp_card *kc);

/* The valid containers, by index. */
enum ksp_rv ksp_card_containers(struct ksp_card *kc, const struct ksp_container **list,
				size_t *count);
/* Container with this index, or KSP_E_NOT_FOUND. */
enum ksp_rv ksp_card_container(struct ksp_card *kc, uint8_t index,
			       const struct ksp_container **out);
/* First key whose CKA_ID equals id, or KSP_E_NOT_FOUND. */
enum ksp_rv ksp_find_key_by_id(struct ksp_card *kc, const uint8_t *id, size_t id_len,
			       uint8_t *index, enum ksp_slot *slot);
/* The key whose public key equals pub (EVP_PKEY_eq), or KSP_E_NOT_FOUND. */
enum ksp_rv ksp_find_container_for_public_key(struct ksp_card *kc, const struct mdp_key *pub,
					      uint8_t *index, enum ksp_slot *slot);
/* The key a certificate (DER) belongs to, by its public key, or KSP_E_CERT_MISMATCH. */
enum ksp_rv ksp_find_key_for_certificate(struct ksp_card *kc, const uint8_t *der, size_t len,
					 uint8_t *index, enum ksp_slot *slot);

/* Token facts (all from the cache: no APDU unless the cache is stale). */
struct ksp_key_sizes {
	bool supported;
	unsigned min_bits, default_bits, max_bits,
		incr_bits;		       /* for RSA: already intersected with the policy */
	unsigned card_min_bits, card_max_bits; /* the card's own range (0: it says none) */
	unsigned policy_min_bits, policy_max_bits; /* RSA: [policy] rsa_min_bits / rsa_max_bits */
};
/*
 * Why an RSA size of bits is outside ks, naming the binding limit: the card's own range, the
 * policy's rsa_min_bits / rsa_max_bits, or the card's step ("8192 bits: the card takes at most
 * 4096"). Writes one sentence to buf.
 */
void ksp_rsa_size_why(const struct ksp_key_sizes *ks, unsigned bits, char *buf, size_t cap);
struct ksp_token_info {
	uint8_t cardid[16];
	char serial[17];	  /* 16 hex digits (spec/minidriver.md §10.1) */
	char card_name[64];	  /* card module's name for the card ("GIDS") */
	uint32_t free_bytes;	  /* UINT32_MAX: unknown */
	uint32_t free_containers; /* UINT32_MAX: unknown */
	uint32_t max_containers;
	struct ksp_key_sizes sizes[MDP_AT_ECDHE_P521 + 1]; /* indexed by key spec */
	bool read_only;
	bool keygen;	   /* the card generates key pairs */
	bool admin_writes; /* the admin alone may change keys and certificates (PIV: the
			      management key; a PKCS#11 SO session may write, as with ykcs11) */
	unsigned pin_min_len, pin_max_len;
};
enum ksp_rv ksp_token_info(struct ksp_card *kc, struct ksp_token_info *out);

/* Creating keys (spec/minidriver.md §10.2 "Generation", "Import", "Name collision"). */
struct ksp_new_key {
	enum mdp_key_spec spec;
	unsigned bits;	   /* RSA: 0 = policy default; EC: must be 0 */
	int index;	   /* -1: first zeroed record, else append; 0..254: that record */
	const char *name;  /* container name, 1..39 chars without '\'; NULL: the id when it is
			      a valid name, else a GUID string "{XXXXXXXX-...}" */
	const uint8_t *id; /* CKA_ID; NULL: the container name */
	size_t id_len;
	const char *label; /* CKA_LABEL; NULL: default */
	bool overwrite;	   /* replace a key whose name, id or slot is taken (else KSP_E_EXISTS) */
	bool always_auth;  /* a key that wants the PIN before each use (PIV: slot 9C); refused
			      (KSP_E_UNSUPPORTED) by a card without such a PIN */
};
/* Generate on card (CardCreateContainer KEY_GEN). Needs the user logged in. */
enum ksp_rv ksp_generate(struct ksp_card *kc, const struct ksp_new_key *req, uint8_t *index_out);
/*
 * Import a private key (CardCreateContainer KEY_IMPORT with a PRIVATEKEYBLOB /
 * BCRYPT_ECCPRIVATE_BLOB built by the BLOB translator). req->spec must suit
 * the key (RSA: exchange/signature; EC: the key's curve); req->bits is ignored.
 * Refused with KSP_E_POLICY when the policy forbids import for req->spec.
 */
enum ksp_rv ksp_import(struct ksp_card *kc, const struct mdp_key *key,
		       const struct ksp_new_key *req, uint8_t *index_out);
/*
 * Delete the key in (index, slot): CardDeleteContainer when the other slot is
 * empty (else KSP_E_PROHIBITED), zero the record, delete kxcNN/kscNN and the
 * application data, move the default flag to the lowest valid record.
 */
enum ksp_rv ksp_delete_key(struct ksp_card *kc, uint8_t index, enum ksp_slot slot);
/* Change CKA_ID (id NULL: unchanged) and/or CKA_LABEL (label NULL: unchanged) of a key pair. */
enum ksp_rv ksp_set_key_attrs(struct ksp_card *kc, uint8_t index, enum ksp_slot slot,
			      const uint8_t *id, size_t id_len, const char *label);

/* Certificates kxcNN / kscNN (compressed per spec/minidriver.md §5.7 when the module does not). */
enum ksp_rv ksp_write_certificate(struct ksp_card *kc, uint8_t index, enum ksp_slot slot,
				  const uint8_t *der, size_t len, const char *label);
enum ksp_rv ksp_delete_certificate(struct ksp_card *kc, uint8_t index, enum ksp_slot slot);
enum ksp_rv ksp_set_certificate_label(struct ksp_card *kc, uint8_t index, enum ksp_slot slot,
				      const char *label);

/* Data objects (CKO_DATA), kept in mdp11's application directory; see docs/ksp.md. */
struct ksp_data_object {
	unsigned num;		  /* file number (mdp11/dobNNN, private: dopNNN), stable while the
				     object exists */
	bool is_private;	  /* readable only by the user (UserReadWriteAc) */
	bool loaded;		  /* false: private and not logged in, only num is known */
	const char *application;  /* CKA_APPLICATION */
	const char *label;	  /* CKA_LABEL */
	const uint8_t *object_id; /* CKA_OBJECT_ID (DER), NULL when absent */
	size_t object_id_len;
	const uint8_t *value; /* CKA_VALUE */
	size_t value_len;
};
struct ksp_data_new {
	const char *application; /* NULL: "" */
	const char *label;	 /* NULL: "" */
	const uint8_t *object_id;
	size_t object_id_len;
	const uint8_t *value;
	size_t value_len;
	bool is_private;
};
enum ksp_rv ksp_data_objects(struct ksp_card *kc, const struct ksp_data_object **list,
			     size_t *count);
enum ksp_rv ksp_data_create(struct ksp_card *kc, const struct ksp_data_new *obj, unsigned *num_out);
/* Replace the object's content (all fields; is_private may not change: KSP_E_PROHIBITED). */
enum ksp_rv ksp_data_update(struct ksp_card *kc, unsigned num, const struct ksp_data_new *obj);
enum ksp_rv ksp_data_delete(struct ksp_card *kc, unsigned num);

/* Private-key operations: no file I/O, one card-module call each. */
enum ksp_pad {
	KSP_PAD_NONE = 0, /* raw RSA (input = modulus-size block) / ECDSA / raw decrypt */
	KSP_PAD_PKCS1, /* sign: type 1 with a DigestInfo for .hash (NONE: data is the DigestInfo);
			  decrypt: type 2 */
	KSP_PAD_PSS,   /* sign: data is the .hash digest */
	KSP_PAD_OAEP,  /* decrypt */
};
struct ksp_padding {
	enum ksp_pad type;
	enum mdp_hash hash;	 /* common/hash.h */
	enum mdp_hash mgf1_hash; /* PSS/OAEP; NONE: same as hash */
	size_t salt_len;	 /* PSS */
	const uint8_t *label;	 /* OAEP label */
	size_t label_len;
};
/*
 * Sign data (a digest, a DigestInfo, or a raw block as the padding says).
 * The result is in PKCS#11 order: RSA big-endian (the card module's
 * little-endian output reversed), ECDSA r||s. sig NULL: *sig_len = size.
 * PSS with an MGF1 hash other than the hash, or a card module without PSS,
 * is done as host-side encoding over raw RSA.
 */
enum ksp_rv ksp_sign(struct ksp_card *kc, uint8_t index, enum ksp_slot slot,
		     const struct ksp_padding *pad, const uint8_t *data, size_t len, uint8_t *sig,
		     size_t *sig_len);
/*
 * Signing lanes: a signature without the caller's lock on kc, so that another signature on the
 * same card runs at the same time (docs/pkcs11.md, Threads). A lane is a logical channel of the
 * card (the embedded virtual card has three) with its own card-module context; the host makes,
 * keeps and picks them.
 *  - ksp_lane_take (caller's lock held): a lane for the key in (index, slot), with what the
 *    signature needs of the key copied; NULL when the card has no free lane (the caller signs
 *    with ksp_sign).
 *  - ksp_lane_sign (lock released): ksp_sign's contract, on the lane.
 *  - ksp_lane_put (lock held again): kc is the card the caller has now (NULL or another card
 *    when it went away meanwhile); the lane is kept for the next signature when ok and kc is
 *    still the card and view it was taken from, else freed. A reset seen on the lane is the
 *    caller's to find (its next call on kc sees it).
 */
struct ksp_lane;
struct ksp_lane *ksp_lane_take(struct ksp_card *kc, uint8_t index, enum ksp_slot slot);
enum ksp_rv ksp_lane_sign(struct ksp_lane *l, const struct ksp_padding *pad, const uint8_t *data,
			  size_t len, uint8_t *sig, size_t *sig_len);
void ksp_lane_put(struct ksp_card *kc, struct ksp_lane *l, bool ok);
/*
 * RSA decrypt of one big-endian block (exchange keys only); out NULL: *out_len = modulus size.
 * KSP_E_BAD_DATA when in is not one modulus long, KSP_E_DECRYPT when the padding does not
 * verify (on the card or, constant-time, on the host).
 */
enum ksp_rv ksp_decrypt(struct ksp_card *kc, uint8_t index, enum ksp_slot slot,
			const struct ksp_padding *pad, const uint8_t *in, size_t len, uint8_t *out,
			size_t *out_len);
/* ECDH with an AT_ECDHE key: peer is 04||X||Y (else KSP_E_BAD_DATA); out receives the big-endian
 * x coordinate. */
enum ksp_rv ksp_ecdh(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const uint8_t *peer,
		     size_t peer_len, uint8_t *out, size_t *out_len);

/* PINs (spec/minidriver.md §10.3). */
struct ksp_pin_info {
	int tries_left; /* -1: unknown (nothing read, no authentication yet) */
	int tries_max;	/* -1: unknown */
	bool blocked;
	bool user_logged_in;
	bool admin_logged_in;
	bool external;	      /* PIN pad (ExternalPinType) */
	bool admin_challenge; /* admin is a 24-byte 3DES key (ChallengeResponsePinType) */
};
/* From memory: what the last counter read or authentication answer said (no card I/O). */
enum ksp_rv ksp_pin_info(struct ksp_card *kc, struct ksp_pin_info *out);
/*
 * Read the user PIN's retry counter from the card (MD_CP_MDP11_PIN_TRIES, one APDU on GIDS)
 * unless it is known since the card last changed: after a ksp_card_refresh() that proved nobody
 * else touched the card (the change mark), it costs nothing. So ksp_pin_info() reports what
 * other processes' wrong PINs did. A card module without the property: MD_OK, nothing read.
 */
enum ksp_rv ksp_pin_tries_refresh(struct ksp_card *kc);
enum ksp_rv ksp_login_user(struct ksp_card *kc, const uint8_t *pin, size_t len);
/*
 * Admin login with the 24-byte 3DES key (GIDS: challenge/response computed here), or a key the
 * card module checks itself (PIV: a management key of 16, 24 or 32 bytes). The key is kept in
 * secure memory until ksp_logout() so ksp_init_pin() can re-authenticate (GIDS drops admin state
 * after a reset of the retry counter).
 */
enum ksp_rv ksp_login_admin(struct ksp_card *kc, const uint8_t *key, size_t len);
enum ksp_rv ksp_logout(struct ksp_card *kc);
/* User PIN change (C_SetPIN as user). */
enum ksp_rv ksp_change_pin(struct ksp_card *kc, const uint8_t *old_pin, size_t old_len,
			   const uint8_t *new_pin, size_t new_len);
/* Admin key change (C_SetPIN as SO). */
enum ksp_rv ksp_change_admin_key(struct ksp_card *kc, const uint8_t *old_key, size_t old_len,
				 const uint8_t *new_key, size_t new_len);
/* Set the user PIN and reset its retry counter; needs ksp_login_admin() (C_InitPIN). */
enum ksp_rv ksp_init_pin(struct ksp_card *kc, const uint8_t *new_pin, size_t new_len);
/* Unblock in one call with the admin key (authenticate, reset, log out). */
enum ksp_rv ksp_unblock_pin(struct ksp_card *kc, const uint8_t *admin_key, size_t key_len,
			    const uint8_t *new_pin, size_t new_len);
/*
 * A card with a PUK (PIN id 3; PIV): unblock the user PIN with it and set a new PIN, or change the
 * PUK (the old PUK is its proof). KSP_E_UNSUPPORTED with a reason on cards without a PUK.
 */
enum ksp_rv ksp_unblock_pin_puk(struct ksp_card *kc, const uint8_t *puk, size_t puk_len,
				const uint8_t *new_pin, size_t new_len);
enum ksp_rv ksp_change_puk(struct ksp_card *kc, const uint8_t *old_puk, size_t old_len,
			   const uint8_t *new_puk, size_t new_len);
/*
 * The PIN given again for one private-key operation of the key at index, whose pin_id is not the
 * user PIN (C_Login(CKU_CONTEXT_SPECIFIC)); the user must be logged in.
 */
enum ksp_rv ksp_login_context(struct ksp_card *kc, uint8_t index, const uint8_t *pin, size_t len);
/*
 * Re-personalise (C_InitToken): admin authentication, then every container,
 * certificate and mdp11 application file is deleted, cmapfile emptied, and
 * the user PIN set to new_pin when given (NULL: unchanged).
 */
enum ksp_rv ksp_reinit(struct ksp_card *kc, const uint8_t *admin_key, size_t key_len,
		       const uint8_t *new_pin, size_t new_len);

#endif
