/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PIV card-edge facts and byte codecs (shared/spec/piv.md) used by the PIV card module. */
#ifndef MDP11_MINIDRIVER_PIV_H
#define MDP11_MINIDRIVER_PIV_H

/*
 * Everything here is pure: no APDU, no card state. The PIV card module
 * (card-piv*.c) builds its minidriver view out of these pieces; the unit
 * tests and the fuzz target drive them directly. Parsers take the bytes a
 * card (or another host) wrote and refuse what does not parse; nothing here
 * trusts a length it has not checked.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/error.h"
#include "mdp11/keyspec.h"

struct mdp_key;

/* ---- slots and objects (spec §2.2, §2.3) ---- */

#define PIV_SLOTS 24 /* 9A, 9C, 9D, 9E, 82..95: the asymmetric key slots a container can use */
#define PIV_SLOT_AUTH 0x9A
#define PIV_SLOT_MGMT 0x9B
#define PIV_SLOT_SIGN 0x9C
#define PIV_SLOT_KEYMGMT 0x9D
#define PIV_SLOT_CARDAUTH 0x9E
#define PIV_SLOT_RETIRED1 0x82
#define PIV_SLOT_RETIRED20 0x95
#define PIV_REF_PIN 0x80
#define PIV_REF_PUK 0x81

#define PIV_OBJ_DISCOVERY 0x7Eu
#define PIV_OBJ_CHUID 0x5FC102u
#define PIV_OBJ_PRINTED 0x5FC109u
#define PIV_OBJ_KEY_HISTORY 0x5FC10Cu
#define PIV_OBJ_ADMIN_DATA 0x5FFF00u
#define PIV_OBJ_MSCMAP 0x5FFF10u
#define PIV_OBJ_MSROOTS1 0x5FFF11u
#define PIV_MSROOTS_OBJECTS 5
/*
 * mdp11's own data object(s): the "mdp11" application directory of the minidriver view
 * (CKA_ID / CKA_LABEL records, public data objects) and what the module must remember about
 * slots. A tag in the free 5Fxxxx range that neither NIST (5FC1xx) nor Yubico (5FFFxx) uses;
 * chunked like MSROOTS over up to PIV_STORE_OBJECTS consecutive tags (docs/piv.md).
 */
#define PIV_OBJ_STORE 0x5F4D50u
#define PIV_STORE_OBJECTS 4

/* Largest object value a YubiKey 4/5 stores (CB_OBJ_MAX, spec §5.5): what mdp11 writes at most. */
#define PIV_OBJECT_MAX 3063
/* MSROOTS / store chunk: object maximum minus the 53 and 82/83 headers (spec §7.4). */
#define PIV_CHUNK_MAX 3055

/* Index 0..23 of a key slot in slot order (9A, 9C, 9D, 9E, 82..95), -1 when not a key slot. */
int piv_slot_index(uint8_t ref);
/* The key reference of slot index i (0..23). */
uint8_t piv_slot_ref(int i);
/* The certificate object of a key slot (5FC105 for 9A ...), 0 when not a key slot. */
uint32_t piv_cert_tag(uint8_t ref);
/* The CKA_ID OpenSC's PIV emulator gives a slot (01..04, 05..09, 10..24: spec §8.2). */
uint8_t piv_opensc_id(uint8_t ref);
/* "PIV Authentication", "Digital Signature", ..., "Retired Key Management 1" ... */
const char *piv_slot_title(uint8_t ref);
/* The key spec a key of this slot takes when nothing says otherwise (spec §8.7). */
enum mdp_key_spec piv_default_spec(uint8_t ref, bool rsa, unsigned bits);

/* ---- algorithms (spec §2.4) ---- */

#define PIV_ALG_3DES 0x03
#define PIV_ALG_RSA1024 0x06
#define PIV_ALG_RSA2048 0x07
#define PIV_ALG_RSA3072 0x05
#define PIV_ALG_RSA4096 0x16
#define PIV_ALG_AES128 0x08
#define PIV_ALG_AES192 0x0A
#define PIV_ALG_AES256 0x0C
#define PIV_ALG_P256 0x11
#define PIV_ALG_P384 0x14
#define PIV_ALG_ED25519 0xE0
#define PIV_ALG_X25519 0xE1

/* RSA bits / curve bits of an asymmetric algorithm id, 0 for anything else. */
unsigned piv_alg_bits(uint8_t alg);
bool piv_alg_is_rsa(uint8_t alg);
bool piv_alg_is_ec(uint8_t alg);
/* The algorithm id of an RSA size or a curve size (256, 384), 0 when PIV has none. */
uint8_t piv_alg_for(bool rsa, unsigned bits);
/* Block size of a management-key algorithm (8 for 3DES, 16 for AES), 0 when not one. */
size_t piv_mgmt_block(uint8_t alg);
/* Key length of a management-key algorithm (24, 16, 24, 32), 0 when not one. */
size_t piv_mgmt_key_len(uint8_t alg);

/* ---- object answers ---- */

/*
 * The value of a GET DATA answer: exactly one TLV of tag 53 (7E for Discovery, 7F61 for the
 * BITGT) covering the whole answer (libykpiv's rule, spec §4.2). MDP_ERR_FORMAT otherwise.
 */
enum mdp_err piv_object_value(const uint8_t *p, size_t len, uint32_t tag, struct mdp_cursor *value);
/* The data field of PUT DATA for tag with value (5C L tag, 53 L value). */
void piv_put_data_field(struct mdp_buf *b, uint32_t tag, const uint8_t *value, size_t len);
/* The data field of GET DATA for tag (5C L tag). */
void piv_get_data_field(struct mdp_buf *b, uint32_t tag);

/* ---- CHUID (spec §5.1) ---- */

struct piv_chuid {
	uint8_t fascn[25];
	size_t fascn_len; /* 0 when absent */
	uint8_t guid[16];
	bool has_guid;	       /* tag 34 with 16 bytes */
	bool signed_by_issuer; /* tag 3E with a non-empty signature */
};
/* Parse the value of the CHUID object. MDP_ERR_FORMAT when it is not a TLV list. */
enum mdp_err piv_chuid_parse(const uint8_t *p, size_t len, struct piv_chuid *out);
/*
 * The CHUID value with its GUID replaced by guid, every other TLV kept as it was; when old is
 * NULL, a new CHUID as YubiKey tools write it (FASC-N of agency 9999, expiry 20300101, empty
 * signature and error-detection code).
 */
enum mdp_err piv_chuid_with_guid(const uint8_t *old, size_t old_len, const uint8_t guid[16],
				 struct mdp_buf *out);
/* Whether a FASC-N is a real agency's (not the 9999 test agency YubiKey tools use, spec §5.1). */
bool piv_fascn_is_federal(const uint8_t *fascn, size_t len);

/* ---- Key History (spec §5.4) ---- */

struct piv_key_history {
	unsigned on_card; /* keysWithOnCardCerts: retired slots 82..81+n */
	unsigned off_card;
	bool present;
};
enum mdp_err piv_key_history_parse(const uint8_t *p, size_t len, struct piv_key_history *out);
/* Value of a Key History object with n on-card retired keys (C1 n, C2 00, FE 00). */
void piv_key_history_build(unsigned on_card, struct mdp_buf *out);

/* ---- certificate objects (spec §5.5) ---- */

/*
 * The certificate of a certificate object value (70 cert, 71 CertInfo, optional 72, FE):
 * inflated when CertInfo says compressed (bit 0 gzip, bit 7 of SP 800-72; gzip or zlib accepted,
 * at most 65535 bytes). An empty value (53 00) is MDP_ERR_NOT_FOUND. *der is malloc'ed.
 */
enum mdp_err piv_cert_object_parse(const uint8_t *p, size_t len, uint8_t **der, size_t *der_len);
/*
 * The object value for a certificate: uncompressed (70 L der, 71 01 00, FE 00), or
 * gzip-compressed (71 01 01) when the uncompressed form exceeds max and the compressed one fits.
 * MDP_ERR_OVERFLOW when neither fits.
 */
enum mdp_err piv_cert_object_build(const uint8_t *der, size_t len, size_t max, struct mdp_buf *out);

/* ---- MSCMAP (spec §7) ---- */

#define PIV_MSCMAP_RECORD 107	   /* Windows: wchar_t name[40] (UTF-16LE) */
#define PIV_MSCMAP_RECORD_WIDE 187 /* libykpiv on Linux: wchar_t of 4 bytes (UTF-32LE names) */
#define PIV_MSCMAP_MAX_RECORDS 28  /* what fits in one object */
#define PIV_MSCMAP_NO_ECDH 0xFF	   /* associated ECDH container: none (docs/piv.md) */

struct piv_cmap_rec {
	uint16_t name[40]; /* UTF-16 code units, NUL-terminated (at most 39 units) */
	uint8_t slot;
	uint8_t key_spec; /* minidriver key spec */
	uint16_t key_bits;
	uint8_t flags; /* CONTAINER_MAP_VALID_CONTAINER 1, _DEFAULT_CONTAINER 2 */
	uint8_t pin_id;
	uint8_t ecdh; /* associated ECDH container index */
	uint8_t fingerprint[20];
};
/*
 * Parse the value of the MSCMAP object (81 L records). Records of 107 bytes (Windows) and of
 * 187 bytes (libykpiv on Linux: UTF-32LE names) are both read; *wide tells which. An empty
 * object (no 81, or 81 00) has no records. A length that is a multiple of neither, a name
 * that is not valid UTF-16/UTF-32 or lacks its NUL, is MDP_ERR_FORMAT. *recs is malloc'ed
 * (NULL when n is 0).
 */
enum mdp_err piv_mscmap_parse(const uint8_t *p, size_t len, struct piv_cmap_rec **recs, size_t *n,
			      bool *wide);
/* The value of the MSCMAP object in Windows' form (107-byte records); empty value when n is 0. */
enum mdp_err piv_mscmap_build(const struct piv_cmap_rec *recs, size_t n, struct mdp_buf *out);

/* ---- chunked objects: MSROOTS and mdp11's store (spec §7.4) ---- */

/*
 * One chunk object's value: 83 L data (more follow) or 82 L data (the last). *last tells which;
 * an empty value (53 00) is an empty last chunk. Other tags are MDP_ERR_FORMAT.
 */
enum mdp_err piv_chunk_parse(const uint8_t *p, size_t len, struct mdp_cursor *data, bool *last);
/* The value of one chunk object: 82 L data when it is the last, else 83 L data. */
void piv_chunk_build(const uint8_t *data, size_t len, bool last, struct mdp_buf *out);
/* How many chunk objects len bytes need (at least 1). */
size_t piv_chunk_count(size_t len);

/* ---- mdp11's store (docs/piv.md) ---- */

#define PIV_STORE_FILES 64

struct piv_store_file {
	char name[9]; /* lower case, NUL-terminated */
	uint8_t *data;
	size_t len;
};
struct piv_store {
	struct piv_store_file files[PIV_STORE_FILES]; /* the mdp11 directory */
	size_t nfiles;
	uint8_t *spki[PIV_SLOTS]; /* public keys the module keeps for slots (DER SPKI) */
	size_t spki_len[PIV_SLOTS];
	uint32_t freed; /* bit i: slot index i holds only a key mdp11 destroyed (free) */
};
/* Parse the joined store bytes (E0 files, E1 public keys, E2 freed slots); unknown tags skipped. */
enum mdp_err piv_store_parse(const uint8_t *p, size_t len, struct piv_store *out);
void piv_store_build(const struct piv_store *s, struct mdp_buf *out);
void piv_store_clear(struct piv_store *s);
/* The file of this name, NULL when absent. */
struct piv_store_file *piv_store_find(struct piv_store *s, const char *name);

/* ---- ADMIN DATA and Printed: the PIN-protected management key (spec §5.6) ---- */

#define PIV_ADMIN_PUK_BLOCKED 0x01
#define PIV_ADMIN_MGMT_PROTECTED 0x02

struct piv_admin_data {
	uint8_t flags;
	bool has_salt; /* PIN-derived (deprecated) */
};
enum mdp_err piv_admin_data_parse(const uint8_t *p, size_t len, struct piv_admin_data *out);
/* The management key in a Printed value (88 { 89 key }); MDP_ERR_NOT_FOUND when it has none. */
enum mdp_err piv_printed_mgmt_key(const uint8_t *p, size_t len, struct mdp_cursor *key);

/* ---- GENERAL AUTHENTICATE and key templates (spec §4.7, §4.8, §6.6) ---- */

/* 7C L { 82 00, tag L data }: tag 81 (sign, decrypt, challenge), 85 (ECDH). */
void piv_ga_request(struct mdp_buf *b, uint8_t tag, const uint8_t *data, size_t len);
/* The element tag of a dynamic authentication template answer (7C L { tag L x }). */
enum mdp_err piv_ga_response(const uint8_t *p, size_t len, uint8_t tag, struct mdp_cursor *out);
/*
 * A public key from the contents of a 7F49 template (81 n, 82 e; or 86 04||X||Y), as the
 * GENERATE answer and GET METADATA tag 04 carry it. alg says what to expect.
 */
enum mdp_err piv_public_key_parse(const uint8_t *p, size_t len, uint8_t alg, struct mdp_key **out);
/* The public key of a GENERATE answer (7F49 L contents). */
enum mdp_err piv_generate_answer(const uint8_t *p, size_t len, uint8_t alg, struct mdp_key **out);
/* An ECDSA DER signature as r || s, each field_len bytes. */
enum mdp_err piv_ecdsa_der_to_raw(const uint8_t *der, size_t len, size_t field_len, uint8_t *out);

/* GET METADATA (YubiKey 5.3+): the parts mdp11 uses. */
struct piv_metadata {
	uint8_t alg;	    /* tag 01 */
	uint8_t pin_policy; /* tag 02 byte 0 (0 when absent) */
	uint8_t origin;	    /* tag 03: 1 generated, 2 imported (0 when absent) */
	const uint8_t *pub; /* tag 04 contents (into the answer), NULL when absent */
	size_t pub_len;
	bool is_default;   /* tag 05 */
	int retries_total; /* tag 06, -1 when absent */
	int retries_left;
};
enum mdp_err piv_metadata_parse(const uint8_t *p, size_t len, struct piv_metadata *out);

/* PIN policies (tag AA) */
#define PIV_PIN_POLICY_DEFAULT 0x00
#define PIV_PIN_POLICY_NEVER 0x01
#define PIV_PIN_POLICY_ONCE 0x02
#define PIV_PIN_POLICY_ALWAYS 0x03
/* The PIN policy a YubiKey applies to a slot when none was given (spec §2.6). */
uint8_t piv_default_pin_policy(uint8_t ref);

/* The 8-byte PIN/PUK block: the value right-padded with FF. false when len is 0 or over 8. */
bool piv_pin_block(const uint8_t *pin, size_t len, uint8_t out[8]);

#endif
