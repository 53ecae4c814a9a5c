/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the host role shared by its files (ksp*.c) and their tests. */
#ifndef MDP11_KSP_KSP_INT_H
#define MDP11_KSP_KSP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "ksp/ksp.h"
#include "mdp11/keyspec.h"
#include "minidriver/card.h"

/* ---- ksp-format.c: the on-card formats the host owns ---- */

/* cmapfile (spec/minidriver.md §5.5, spec/gids.md §5.5). */
#define KSP_CMAP_RECORD 86
#define KSP_CMAP_NAME_BYTES 80
#define KSP_CMAP_NAME_MAX 39 /* UTF-16 code units, without the terminator */
#define KSP_CMAP_VALID 0x01
#define KSP_CMAP_DEFAULT 0x02

struct ksp_cmap_rec {
	uint8_t name_utf16[KSP_CMAP_NAME_BYTES];
	uint8_t flags;
	uint8_t reserved;
	uint16_t sig_bits;
	uint16_t kx_bits;
};

void ksp_cmap_rec_parse(const uint8_t rec[KSP_CMAP_RECORD], struct ksp_cmap_rec *out);
void ksp_cmap_rec_write(const struct ksp_cmap_rec *rec, uint8_t out[KSP_CMAP_RECORD]);

/*
 * UTF-16LE name (NUL-terminated within 80 bytes) to UTF-8. False when the
 * name is not valid UTF-16 or not terminated.
 */
bool ksp_name_from_utf16(const uint8_t in[KSP_CMAP_NAME_BYTES], char *out, size_t cap);
/*
 * A container name as the host accepts it (spec/minidriver.md §5.5, §10.2):
 * valid UTF-8, 1..39 UTF-16 code units, no '\' and no control character.
 * With out non-NULL the zero-filled 80-byte UTF-16LE form is written.
 */
bool ksp_name_to_utf16(const char *name, size_t len, uint8_t out[KSP_CMAP_NAME_BYTES]);
/* A fresh random GUID string "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" (38 chars + NUL). */
bool ksp_guid_name(char out[39]);

/* Certificate file names in mscp: "kxcNN" / "kscNN", NN two upper-case hex digits (docs/ksp.md). */
void ksp_cert_file_name(uint8_t index, bool signature, char out[9]);
/* Parse such a name (case-insensitive hex); false for any other file. */
bool ksp_cert_file_parse(const char *name, uint8_t *index, bool *signature);

/*
 * Certificate compression (spec/minidriver.md §5.7): 01 00 | u16 LE length |
 * zlib stream. Decompressing accepts plain DER (first byte 0x30) unchanged.
 * Results are malloc'ed; false on bad input or allocation failure.
 */
bool ksp_cert_compress(const uint8_t *der, size_t len, uint8_t **out, size_t *out_len);
bool ksp_cert_decompress(const uint8_t *p, size_t len, uint8_t **out, size_t *out_len);

/* mdp11/keyattr: application data per key slot (docs/ksp.md). */
struct ksp_keyattr {
	uint8_t index;
	uint8_t slot;		/* enum ksp_slot */
	char *name;		/* container name the record belongs to */
	uint8_t pub_sha256[32]; /* SHA-256 of the key's SubjectPublicKeyInfo */
	bool has_pub;
	uint8_t *id; /* CKA_ID (has_id: may be empty) */
	size_t id_len;
	bool has_id;
	char *label;	  /* NULL: default */
	char *cert_label; /* NULL: default */
	uint8_t origin;	  /* enum ksp_origin */
};
void ksp_keyattr_clear(struct ksp_keyattr *a);
/* Parse the whole file; unknown tags inside a record are skipped. */
bool ksp_keyattr_parse(const uint8_t *p, size_t len, struct ksp_keyattr **out, size_t *count);
bool ksp_keyattr_write(const struct ksp_keyattr *a, size_t count, uint8_t **out, size_t *out_len);
void ksp_keyattr_free_list(struct ksp_keyattr *a, size_t count);

/* mdp11/dobNNN (public) and mdp11/dopNNN (private): one data object (docs/ksp.md). */
struct ksp_dob {
	bool is_private;
	char *application;
	char *label;
	uint8_t *object_id;
	size_t object_id_len;
	bool has_object_id;
	uint8_t *value; /* secret when is_private: freed with mdp_secure_free */
	size_t value_len;
};
void ksp_dob_clear(struct ksp_dob *d);
bool ksp_dob_parse(const uint8_t *p, size_t len, struct ksp_dob *out);
bool ksp_dob_write(const struct ksp_dob *d, uint8_t **out, size_t *out_len);
#define KSP_DOB_MAX 1000
void ksp_dob_file_name(unsigned num, bool is_private, char out[9]);
bool ksp_dob_file_parse(const char *name, unsigned *num, bool *is_private);

/* ---- ksp-cache.c: the tagged store of public card data ---- */

/* Freshness classes (spec/minidriver.md §5.3): an entry is dropped when a counter it depends on
 * moves. */
#define KSP_C_STATIC 0x00u     /* valid as long as the cardid: capabilities, key sizes */
#define KSP_C_PIN 0x01u	       /* bPinsFreshness */
#define KSP_C_CONTAINERS 0x02u /* wContainersFreshness */
#define KSP_C_FILES 0x04u      /* wFilesFreshness */
#define KSP_C_PRIVATE 0x80u    /* never written to disk, dropped at logout */

struct ksp_cache_entry {
	char *tag;
	unsigned classes;
	bool absent; /* the item is known not to exist (file not found) */
	uint8_t *data;
	size_t len;
};

/* Entries are allocated one by one: a pointer to one stays valid until that entry is dropped. */
struct ksp_cache {
	struct ksp_cache_entry **e;
	size_t n, cap;
	bool dirty; /* changed since loaded or saved */
};

void ksp_cache_init(struct ksp_cache *c);
void ksp_cache_clear(struct ksp_cache *c);
const struct ksp_cache_entry *ksp_cache_get(const struct ksp_cache *c, const char *tag);
/* Store a copy (replacing any entry with the tag); data NULL with absent. False on allocation
 * failure. */
bool ksp_cache_put(struct ksp_cache *c, const char *tag, unsigned classes, bool absent,
		   const uint8_t *data, size_t len);
void ksp_cache_drop_tag(struct ksp_cache *c, const char *tag);
/* Drop every entry depending on any class in mask. */
void ksp_cache_drop(struct ksp_cache *c, unsigned mask);

/* cardcf (spec/minidriver.md §5.3): which classes differ between two 6-byte values. */
unsigned ksp_cardcf_diff(const uint8_t a[6], const uint8_t b[6]);
/* Bump the counters of classes (PIN, CONTAINERS, FILES) in place; bVersion is kept as found. */
void ksp_cardcf_bump(uint8_t cf[6], unsigned classes);

/*
 * Persistent cache: dir/<cardid hex>.cache, written atomically (temp file,
 * fsync, rename), public entries only. Loading fails (false, nothing
 * changed) for a missing, damaged or foreign file.
 */
bool ksp_cache_save(const struct ksp_cache *c, const char *dir, const uint8_t *cardid,
		    size_t cardid_len, const uint8_t cardcf[6]);
bool ksp_cache_load(struct ksp_cache *c, const char *dir, const uint8_t *cardid, size_t cardid_len,
		    uint8_t cardcf[6]);

/* ---- signing (ksp-crypto.c) ---- */

/*
 * What a signature needs of a key, copied so that it can be made without the view (on a lane):
 * ksp_sign_key_get holds a reference to the public key, ksp_sign_key_clear releases it;
 * ksp_sign_on signs through a card-module context.
 */
struct ksp_sign_key {
	uint8_t index;
	enum mdp_key_spec spec;
	unsigned bits;
	size_t ec_field; /* EC: bytes of a field element */
	struct evp_pkey_st *pub;
};
enum ksp_rv ksp_sign_key_get(struct ksp_card *kc, uint8_t index, enum ksp_slot slot,
			     struct ksp_sign_key *out);
void ksp_sign_key_clear(struct ksp_sign_key *k);
enum ksp_rv ksp_sign_on(struct md_card *md, const struct ksp_sign_key *k,
			const struct ksp_padding *pad, const uint8_t *data, size_t len,
			uint8_t *sig, size_t *sig_len);
#define KSP_MAX_LANES 3
/* Free the card's idle lanes (ksp_card_free). */
void ksp_lanes_drop(struct ksp_card *kc);
/* APDUs the card's idle lanes have carried. */
unsigned long ksp_lanes_apdus(const struct ksp_card *kc);

/* ---- struct ksp_card: one card behind one card-module context (ksp.c and the files below) ---- */

#define KSP_DIR_MSCP "mscp"
#define KSP_DIR_APP "mdp11"
#define KSP_FILE_KEYATTR "keyattr"
/* a 3DES admin key (GIDS challenge/response); other card modules take keys of up to 32 bytes */
#define KSP_ADMIN_3DES_LEN 24
#define KSP_ADMIN_KEY_MAX 32
#define KSP_DEFAULT_RSA_BITS 2048u
/* GIDS key references 0x81..0xFF (spec/gids.md §2.4); other modules report their own maximum. */
#define KSP_MAX_INDEX_DEFAULT 127u

/* Backing storage for the pointers of one struct ksp_key. */
struct ksp_slot_store {
	struct mdp_key *pub;
	uint8_t *cert;
	size_t cert_len;
	uint8_t *id;
	size_t id_len;
	char *label;
	char *cert_label;
};

struct ksp_card {
	struct md_card *md;
	struct ksp_policy policy;
	char *cache_dir;
	uint8_t cardid[16];
	size_t cardid_len;
	uint8_t cardcf[6];
	size_t cardcf_len; /* as found on the card (6; kept if a foreign host wrote more) */
	bool have_cardcf;
	bool have_mark; /* mark: the transport's change mark when cardcf was last read */
	uint64_t mark;
	uint32_t resets_seen;
	struct ksp_cache cache;

	/* the view, rebuilt from the cache when view_ok is false */
	bool view_ok;
	unsigned long generation;
	struct ksp_container *conts;
	struct ksp_slot_store (*store)[KSP_SLOTS];
	size_t nconts;
	size_t ncmap; /* records in cmapfile */
	struct ksp_keyattr *attrs;
	size_t nattrs;
	struct ksp_data_object *dobs;
	struct ksp_dob *dob_store;
	size_t ndobs;

	/* static facts */
	bool cert_compression, keygen, read_only;
	bool admin_writes;		   /* MD_CP_MDP11_ADMIN_WRITES */
	unsigned pin_min_len, pin_max_len; /* MD_CP_MDP11_PIN_LENGTHS */
	uint32_t max_containers;
	char serial[17];

	/* PIN state */
	int tries_left, tries_max;
	bool tries_fresh; /* the counter was read since the card was last seen changed */
	bool no_tries;	  /* the card module cannot read the counter */
	bool blocked, user_in, admin_in;
	uint32_t user_pin_type, admin_pin_type;
	bool have_pin_info;
	uint8_t *admin_key; /* KSP_ADMIN_KEY_MAX bytes of secure memory */
	size_t admin_key_len;

	/* signing lanes (ksp-crypto.c) */
	unsigned long instance; /* unique in the process: a lane knows which card it came from */
	struct ksp_lane *lanes[KSP_MAX_LANES]; /* idle */
	size_t nlanes;
	bool no_lanes; /* the card offers none */
};

/* ---- ksp-pin.c ---- */

/*
 * A PIN of the card module beside user and admin, found by its PIN_INFO (no APDU): the PUK
 * (purpose unblock-only) or the PIN given again before each use (cache policy "always prompt",
 * PIV PIN id 4). 0: the card has none.
 */
enum ksp_pin_kind { KSP_PIN_PUK, KSP_PIN_EACH_USE };
uint32_t ksp_pin_id(struct ksp_card *kc, enum ksp_pin_kind kind);

/* ---- ksp.c: names, life cycle, read access ---- */

enum ksp_rv ksp_reason(enum ksp_rv rv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A key spec mdp11 knows (AT_KEYEXCHANGE .. AT_ECDHE_P521). */
bool ksp_spec_valid(enum mdp_key_spec spec);

/* Curve size of an EC key spec (0 for RSA). */
unsigned ksp_ec_bits_of(enum mdp_key_spec spec);

/* The key spec of a public key found in a container slot. */
enum mdp_key_spec ksp_spec_from_key(const struct mdp_key *k, enum ksp_slot slot);

/* Write the persistent cache when it changed (cache_dir set). */
void ksp_save_cache(struct ksp_card *kc);

/* Bring the view up to date inside a transaction the caller holds. */
enum ksp_rv ksp_sync_intx(struct ksp_card *kc, bool *changed);

/* The view, refreshed first when it is not valid. */
enum ksp_rv ksp_ensure_view(struct ksp_card *kc);

/* The container with this index / the key in (index, slot) of the view; NULL when none. */
const struct ksp_container *ksp_container_at(const struct ksp_card *kc, uint8_t index);

const struct ksp_key *ksp_key_at(const struct ksp_card *kc, uint8_t index, enum ksp_slot slot);

/* ---- ksp-load.c: reading the card through the tagged store ---- */

/* The card was reset by someone else: the login state is gone (spec/minidriver.md §10.3). */
void ksp_note_reset(struct ksp_card *kc);

/* Note a reset the card module reported (KSP_E_CARD_RESET). */
void ksp_check_reset(struct ksp_card *kc, enum ksp_rv rv);

/* md_read_file, retried once after a reset (reading is idempotent). */
enum ksp_rv ksp_read_file(struct ksp_card *kc, const char *dir, const char *name, uint8_t **data,
			  size_t *len);

/* Cache tag "kind:dir/name" (malloc'ed). */
char *ksp_tag_of(const char *kind, const char *dir, const char *name);

/* A file through the cache; *out NULL-data with absent set when the file does not exist. */
enum ksp_rv ksp_load_file(struct ksp_card *kc, const char *dir, const char *name, unsigned classes,
			  const struct ksp_cache_entry **out);

/* A directory listing through the cache (multi-string). */
enum ksp_rv ksp_load_listing(struct ksp_card *kc, const char *dir,
			     const struct ksp_cache_entry **out);

/* Iterate a multi-string listing: returns the next name or NULL. */
const char *ksp_next_name(const struct ksp_cache_entry *ls, size_t *pos);

/* Whether a listing holds the name (any case). */
bool ksp_listing_has(const struct ksp_cache_entry *ls, const char *name);

/* Container info through the cache: "ci:NN" = u32 LE sig length, sig blob, u32 LE kx length, kx
 * blob, u32 LE PIN id (CCP_PIN_IDENTIFIER). */
enum ksp_rv ksp_load_container_info(struct ksp_card *kc, uint8_t index,
				    const struct ksp_cache_entry **out);

/* Card facts that never change for one cardid. */
enum ksp_rv ksp_load_static(struct ksp_card *kc);

/* Key sizes of one key spec through the cache ("ks:N" = min, default, max, increment; absent:
 * unsupported). */
enum ksp_rv ksp_load_key_sizes(struct ksp_card *kc, enum mdp_key_spec spec,
			       struct ksp_key_sizes *out);

/* PIN_INFO types of the user and admin PINs ("pin:N", PIN freshness class). */
enum ksp_rv ksp_load_pin_info(struct ksp_card *kc);

/* CARD_FREE_SPACE_INFO through the cache ("free": bytes, containers available, maximum). */
enum ksp_rv ksp_load_free_space(struct ksp_card *kc, const struct ksp_cache_entry **out);

/* ---- ksp-view.c: the view ---- */

/* Free the view (containers, keys, data objects); the cache stays. */
void ksp_free_view(struct ksp_card *kc);

/* The public key of a certificate (DER); NULL when it does not parse. */
struct evp_pkey_st *ksp_cert_pkey(const uint8_t *der, size_t len);

/* mdp11/keyattr record of (index, slot) for the container name and public key; NULL when none. */
const struct ksp_keyattr *ksp_find_attr(const struct ksp_card *kc, uint8_t index, int slot,
					const char *name, const struct mdp_key *pub);

/* Find in the mscp listing the certificate file of (index, slot), whatever its case. */
const char *ksp_find_cert_name(const struct ksp_cache_entry *ls, uint8_t index, bool sig);

/* The view, and what token info needs, so that polling it never reaches the card. */
enum ksp_rv ksp_rebuild(struct ksp_card *kc);

/* ---- ksp-change.c: changes ---- */

/* Open a change: transaction, fresh view. */
enum ksp_rv ksp_change_begin(struct ksp_card *kc);

/*
 * Bump the cardcf counters of the kinds of change about to be made and
 * write cardcf, before the change itself: a host that reads the card after
 * this sees new counters even if the change is interrupted (as OpenSC does).
 */
enum ksp_rv ksp_bump_cardcf(struct ksp_card *kc, unsigned classes);

/* Close a change: end the transaction (and save the cache); returns rv. */
enum ksp_rv ksp_change_end(struct ksp_card *kc, enum ksp_rv rv);

/* Write a whole file, creating it (and mdp11's directory) when missing. */
enum ksp_rv ksp_write_file(struct ksp_card *kc, const char *dir, const char *name,
			   const uint8_t *data, size_t len, enum md_file_access access);

/* Forget the cached copy of a file (and its directory listing). */
void ksp_drop_file_tag(struct ksp_card *kc, const char *dir, const char *name);

/* Delete a file; a missing file is success. */
enum ksp_rv ksp_delete_file(struct ksp_card *kc, const char *dir, const char *name);

/* The current cmapfile as records (at least n records, zero-filled). */
enum ksp_rv ksp_cmap_get(struct ksp_card *kc, size_t n, uint8_t **out, size_t *count);

/* Write the cmapfile records back. */
enum ksp_rv ksp_cmap_put(struct ksp_card *kc, const uint8_t *recs, size_t count);

/*
 * Rewrite mdp11/keyattr: the records of the current view except those of
 * index `drop` (-1: none) and slot drop_slot (-1: both), plus `add` when
 * given. Records that no longer match a container are pruned.
 */
enum ksp_rv ksp_keyattr_rewrite(struct ksp_card *kc, int drop, int drop_slot,
				const struct ksp_keyattr *add);

#endif
