/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the host role shared by ksp.c, ksp-format.c and ksp-cache.c (and their tests). */
#ifndef MDP11_KSP_KSP_INT_H
#define MDP11_KSP_KSP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "mdp11/keyspec.h"

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

#endif
