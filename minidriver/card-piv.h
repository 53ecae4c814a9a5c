/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PIV card module's state, shared by card-piv.c, card-piv-fs.c and card-piv-keys.c. */
#ifndef MDP11_MINIDRIVER_CARD_PIV_H
#define MDP11_MINIDRIVER_CARD_PIV_H

#include "minidriver/agreement.h"
#include "minidriver/card-int.h"
#include "minidriver/piv.h"
#include "transport/apdu.h"

struct mdp_key;

/* PIN ids of the minidriver view (docs/piv.md "PINs and roles"). */
#define PIV_PIN_ID_PUK 3u
/* The PIN again, for one private-key operation of a key whose PIN policy is "always" (9C). */
#define PIV_PIN_ID_CONSENT 4u

#define PIV_MAX_CONTAINERS PIV_MSCMAP_MAX_RECORDS

/* One container of the minidriver view: a record of MSCMAP, or synthesised from a slot. */
struct piv_cont {
	bool used;	   /* a valid record (or a key created and not yet recorded) */
	bool pending;	   /* created by create_container, not yet in a cmapfile the host wrote */
	bool key_gone;	   /* deleted by delete_container; the host still has to zero the record */
	bool synth;	   /* synthesised from a slot: not (yet) in the card's MSCMAP */
	uint8_t slot;	   /* PIV key reference */
	uint32_t spec;	   /* minidriver key spec */
	unsigned bits;	   /* RSA bits or 256 / 384 */
	uint16_t name[40]; /* UTF-16, NUL-terminated */
	uint8_t flags;	   /* cmapfile bFlags */
	uint8_t ecdh;	   /* associated ECDH container (MSCMAP), PIV_MSCMAP_NO_ECDH: none */
};

/* What the module knows about one key slot. */
struct piv_slot {
	bool cert_known; /* the certificate object was read (cert NULL: the slot has none) */
	uint8_t *cert;	 /* DER */
	size_t cert_len;
	struct mdp_key *pub; /* public key: GENERATE/IMPORT, GET METADATA, mdp11's store, cert */
	bool meta_known;     /* GET METADATA was asked (has_meta: it answered for a key) */
	bool has_meta;
	uint8_t alg;	    /* from metadata, 0 when unknown */
	uint8_t pin_policy; /* effective PIN policy */
	bool unsupported;   /* the slot holds a key the minidriver model cannot express (Ed25519...)
			     */
	bool cert_created;  /* CardCreateFile of its kxcNN/kscNN: written next (until then the
			       file exists, empty, as on any minidriver card) */
};

struct piv {
	uint32_t resets_seen;
	bool selected;
	uint32_t authenticated; /* PIN_SET of this card session (ROLE_USER, ROLE_ADMIN) */
	/* card facts, for the life of the context */
	bool have_version;
	uint8_t version[3];
	bool serial_asked;
	bool have_serial;
	uint8_t serial[4];
	bool yubikey_atr;
	/*
	 * Extended-length APDUs: the ATR says the card takes them, or a YubiKey's version is 4 or
	 * later (known once asked for another reason: it is never asked for this alone). ext_off:
	 * the card or reader refused one (6700, a transport error), so short APDUs only from then
	 * on, for the life of the context.
	 */
	bool ext_atr;
	bool ext_off;
	bool no_metadata; /* GET METADATA answered 6D00: a card before YubiKey 5.3 */
	/* CHUID: the identity (cardid) and the freshness (cardcf) of the minidriver view */
	bool chuid_valid;
	bool chuid_marked;
	uint64_t chuid_mark;
	uint8_t *chuid; /* value of the object, NULL when the card has none */
	size_t chuid_len;
	struct piv_chuid ch;
	uint8_t cardid[16];
	uint8_t pin_fresh; /* bPinsFreshness: kept in memory (no PIV object for it) */
	/* the view: containers, slots, mdp11's store, Key History */
	bool view_valid;
	bool map_only; /* cont[] holds the container map alone (piv_op_container) */
	struct piv_cont cont[PIV_MAX_CONTAINERS];
	size_t ncont; /* records of the container map (valid or not) */
	bool have_map;
	struct piv_slot slots[PIV_SLOTS];
	bool store_valid;
	struct piv_store store;
	size_t store_objects; /* objects the store occupies on the card */
	bool kh_valid;
	struct piv_key_history kh;
	bool roots_valid;
	uint8_t *roots; /* msroots joined from MSROOTS1..5 */
	size_t roots_len;
	/* management key */
	uint8_t mgmt_alg;	 /* 0 until known */
	uint8_t challenge_alg;	 /* external authentication in progress (get_challenge_ex) */
	bool default_key_failed; /* the factory key was tried in this card session */
	bool admin_data_known;
	struct piv_admin_data admin_data;
	/* consent for one private-key operation of a PIN-always key (PIN id 4, docs/piv.md) */
	uint8_t oneshot_pin[8];
	bool oneshot_valid;
	struct md_agreements agreements; /* ECDH secrets (minidriver/agreement.c) */
};

static inline struct piv *
piv_of(struct md_card *card)
{
	return card->module;
}

/* ---- card-piv.c: APDUs, identity, authentication ---- */

/* Map a status word to a result. */
enum md_rv piv_sw_rv(uint16_t sw);
/*
 * Le of a command whose answer may be longer than 256 bytes (certificates, RSA results, public
 * keys): 00 00 (all) in an extended APDU, 00 (256) in a short one.
 */
#define PIV_LE_ALL MDP_APDU_EXT_MAX_LE
/*
 * One command; resp may be NULL. A reset forgets the card session. Where the card takes
 * extended APDUs, a command with lc > 255 or le PIV_LE_ALL goes as one extended APDU, else as
 * short ones (chained when lc > 255; GET RESPONSE follows 61xx either way).
 */
enum md_rv piv_xfer(struct md_card *card, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
		    size_t lc, int le, struct mdp_buf *resp, uint16_t *sw);
/* Catch up with resets and select the PIV application; every operation starts with it. */
enum md_rv piv_sync(struct md_card *card);
/* GET DATA: the object's value (53 unwrapped); MD_E_FILE_NOT_FOUND when absent. */
enum md_rv piv_get_object(struct md_card *card, uint32_t tag, struct mdp_buf *value);
/* PUT DATA of a value (empty: delete). Needs the management key (piv_need_admin). */
enum md_rv piv_put_object(struct md_card *card, uint32_t tag, const uint8_t *value, size_t len);
/* GET VERSION once (YubiKey); false when the card has no version (not a YubiKey). */
bool piv_version_at_least(struct md_card *card, uint8_t major, uint8_t minor, uint8_t patch);
/* GET METADATA of a slot (YubiKey 5.3+): MD_E_UNSUPPORTED_FEATURE when the card has none,
 * MD_E_NO_KEY_CONTAINER for an empty slot. */
enum md_rv piv_get_metadata(struct md_card *card, uint8_t ref, struct mdp_buf *answer,
			    struct piv_metadata *md);
/*
 * Make sure the management key is authenticated in this card session: by the SO (authenticate
 * as ROLE_ADMIN), by the PIN-protected key (with the PIN verified), or the factory default.
 * MD_W_SECURITY_VIOLATION with a reason when none works; MD_E_READ_ONLY_CARD for a card whose
 * CHUID an issuer signed.
 */
enum md_rv piv_need_admin(struct md_card *card);
/* The CHUID (cached while the transport's change mark stands). */
enum md_rv piv_load_chuid(struct md_card *card);
/* The synthesised cardcf (6 bytes) and the host's write of it. */
void piv_cardcf(struct md_card *card, uint8_t out[6]);
enum md_rv piv_write_cardcf(struct md_card *card, const uint8_t *data, size_t len);
/* Forget what the card's contents may have changed (a new CHUID GUID). */
void piv_drop_view(struct piv *p);
/* Refuse with a reason a person can read (mdp_err_last(), and the log at info level). */
enum md_rv piv_refuse(enum md_rv rv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- card-piv-auth.c: management key, PIN, PUK ---- */

enum md_rv piv_authenticate_ex(struct md_card *card, uint32_t pin_id, uint32_t flags,
			       const uint8_t *pin, size_t len, uint8_t **session_pin,
			       size_t *session_pin_len, uint32_t *tries_left);
enum md_rv piv_get_challenge_ex(struct md_card *card, uint32_t pin_id, uint8_t **challenge,
				size_t *len, uint32_t flags);
/* mdp11's PIN-tries property (include/mdp11/card-module.h) for PIN ids 1, 3 and 4. */
enum md_rv piv_pin_tries(struct md_card *card, uint32_t pin_id, struct md_pin_tries *pt);
enum md_rv piv_deauthenticate_ex(struct md_card *card, uint32_t pin_set, uint32_t flags);
enum md_rv piv_change_authenticator_ex(struct md_card *card, uint32_t flags, uint32_t auth_id,
				       const uint8_t *auth, size_t auth_len, uint32_t target_id,
				       const uint8_t *target, size_t target_len,
				       uint32_t retry_count, uint32_t *tries_left);

/* ---- card-piv-view.c: the minidriver view ---- */

enum md_rv piv_load_view(struct md_card *card);
/* Every operation's start: the card session (piv_sync) and the view. */
enum md_rv piv_view(struct md_card *card);
/* piv_view() and the container at index; MD_E_NO_KEY_CONTAINER when there is none. */
enum md_rv piv_container(struct md_card *card, uint8_t index, struct piv_cont **out);
/* The container at index, NULL when none (used or key_gone). */
struct piv_cont *piv_cont_at(struct piv *p, uint8_t index);
/* The certificate of a slot (read once); *cert NULL when it has none. */
enum md_rv piv_slot_cert(struct md_card *card, int si, const uint8_t **cert, size_t *len);
/* The slot's public key, from wherever it is known; MD_E_NO_KEY_CONTAINER when nowhere. */
enum md_rv piv_slot_pub(struct md_card *card, int si, struct mdp_key **pub);
/* Remember a public key for a slot (GENERATE / IMPORT), in memory and, on cards without GET
 * METADATA and without a certificate for it, in mdp11's store. */
enum md_rv piv_slot_set_pub(struct md_card *card, int si, struct mdp_key *pub, bool persist);
/* Write the certificate object of a slot (NULL, 0: empty it). */
enum md_rv piv_slot_write_cert(struct md_card *card, int si, const uint8_t *der, size_t len);
/* Write the container map from the module's table (MSCMAP in Windows' form). */
enum md_rv piv_save_map(struct md_card *card);
/* Write mdp11's store back (after a change of store). */
enum md_rv piv_store_save(struct md_card *card);
/* Keep the Key History object naming every retired slot in use (spec §5.4). */
enum md_rv piv_update_key_history(struct md_card *card);
/* Whether a slot is free for a new key (no container uses it and the card holds no key there). */
enum md_rv piv_slot_free(struct md_card *card, int si, bool *is_free);

/* Chunked objects (MSROOTS, mdp11's store) from tag on, at most max objects (§7.4). */
enum md_rv piv_read_chunks(struct md_card *card, uint32_t tag, size_t max, struct mdp_buf *out,
			   size_t *objects);
enum md_rv piv_write_chunks(struct md_card *card, uint32_t tag, size_t max, const uint8_t *data,
			    size_t len, size_t old_objects, size_t *objects);
/* cmapfile records (86 bytes each) of the container table, and the host's write of them. */
void piv_cmap_encode(const struct piv *p, struct mdp_buf *b);
enum md_rv piv_write_cmap(struct md_card *card, const uint8_t *data, size_t len);

/* ---- card-piv-fs.c: the virtual files ---- */

enum md_rv piv_read_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
			 uint8_t **data, size_t *len);
enum md_rv piv_write_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
			  const uint8_t *data, size_t len);
enum md_rv piv_create_file(struct md_card *card, const char *dir, const char *file, uint32_t size,
			   enum md_file_access ac);
enum md_rv piv_delete_file(struct md_card *card, const char *dir, const char *file, uint32_t flags);
enum md_rv piv_enum_files(struct md_card *card, const char *dir, char **names, size_t *len,
			  uint32_t flags);
enum md_rv piv_get_file_info(struct md_card *card, const char *dir, const char *file,
			     struct md_file_info *fi);
enum md_rv piv_create_directory(struct md_card *card, const char *dir, enum md_dir_access ac);
enum md_rv piv_delete_directory(struct md_card *card, const char *dir);

/* ---- card-piv-keys.c: containers and private-key operations ---- */

enum md_rv piv_get_container_info(struct md_card *card, uint8_t index, uint32_t flags,
				  struct md_container_info *info);
enum md_rv piv_create_container(struct md_card *card, uint8_t index, uint32_t flags, uint32_t spec,
				uint32_t bits, const uint8_t *key_data, size_t key_len,
				uint32_t pin_id);
enum md_rv piv_delete_container(struct md_card *card, uint8_t index, uint32_t reserved);
enum md_rv piv_sign_data(struct md_card *card, struct md_signing_info *si);
enum md_rv piv_rsa_decrypt(struct md_card *card, struct md_rsa_decrypt_info *di);
enum md_rv piv_construct_dh_agreement(struct md_card *card, struct md_dh_agreement_info *ai);
enum md_rv piv_derive_key(struct md_card *card, struct md_derive_key *dk);
/* The PIN policy of a container's key (GET METADATA on 5.3+, else the slot's default, §2.6). */
uint8_t piv_pin_policy(struct md_card *card, const struct piv_cont *c);
/*
 * The container of a private-key operation: from the view when it is loaded, else from the
 * container map alone (one GET DATA on a warm start, where the host needs nothing else).
 */
enum md_rv piv_op_container(struct md_card *card, uint8_t index, struct piv_cont **out);
enum md_rv piv_destroy_dh_agreement(struct md_card *card, uint8_t index, uint32_t flags);

#endif
