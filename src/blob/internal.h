/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals shared by the BLOB translator's files (not part of the API). */
#ifndef MDP11_BLOB_INTERNAL_H
#define MDP11_BLOB_INTERNAL_H

#include <openssl/bn.h>

#include "blob/blob.h"
#include "common/bytes.h"

/* RSA sizes we accept (bits); outside this range a header is refused before any allocation. */
#define BLOB_RSA_MIN_BITS 256u
#define BLOB_RSA_MAX_BITS 16384u

/* Magic DWORDs (ASCII tags read little-endian), spec/blobs.md §2.1, §4, §5. */
#define MAGIC_RSA1 0x31415352u
#define MAGIC_RSA2 0x32415352u
#define MAGIC_RSA3 0x33415352u

struct mdp_key {
	EVP_PKEY *pkey;
	enum blob_format src;
	uint32_t alg_id;
	uint32_t magic;
	enum mdp_key_spec spec;
	int type; /* EVP_PKEY_RSA / EVP_PKEY_EC */
	int nid;  /* EC curve */
	unsigned bits;
	bool priv;
};

/*
 * RSA numbers on their way between a blob and an EVP_PKEY. Private members are allocated with
 * BN_secure_new() and freed with BN_clear_free() by rsa_bn_clear().
 */
struct rsa_bn {
	BIGNUM *n, *e, *d, *p, *q, *dp, *dq, *qinv;
};

/* Put "what: " before the reason already recorded for rv (the reason buffer is reused). */
enum mdp_err blob_err_prefix(enum mdp_err rv, const char *what);

void rsa_bn_clear(struct rsa_bn *r);
/* A BIGNUM from big-/little-endian bytes; secret ones in secure memory. NULL on failure. */
BIGNUM *bn_from_be(const uint8_t *p, size_t len, bool secret);
BIGNUM *bn_from_le(const uint8_t *p, size_t len, bool secret);
/* Append bn to b, big-/little-endian, exactly width bytes; false (b->bad set) if it does not fit.
 */
bool buf_put_bn_be(struct mdp_buf *b, const BIGNUM *bn, size_t width);
bool buf_put_bn_le(struct mdp_buf *b, const BIGNUM *bn, size_t width);

/*
 * Make an RSA key from r (r keeps ownership; its numbers are copied). Private when r->p and
 * r->q are set: d, dp, dq, qinv are computed when r->d is NULL. Range checks always, pair
 * check unless BLOB_NO_VALIDATION. bitlen 0 means "whatever n has"; otherwise n must have
 * exactly bitlen bits. what names the format in error reasons.
 */
enum mdp_err rsa_key_build(struct rsa_bn *r, unsigned bitlen, unsigned flags, const char *what,
			   struct mdp_key **out);
/* Export a key's RSA numbers (private ones only when priv). */
enum mdp_err rsa_bn_from_key(const struct mdp_key *k, bool priv, struct rsa_bn *r);

/* Field length in bytes of a supported curve, 0 if unsupported. */
size_t ec_field_len(int nid);
/* The curve of an EC key spec, 0 for non-EC specs. */
int ec_spec_nid(enum mdp_key_spec spec);
/* The ECDSA / ECDH key spec for a curve. */
enum mdp_key_spec ec_nid_spec(int nid, bool ecdh);
/*
 * Make an EC key on curve nid from big-endian X, Y (field-length each) and, for a private key,
 * the scalar d (any length up to the field length; NULL for a public key). x and y NULL with d
 * set: Q = d*G is computed. Range checks always, Q = d*G checked unless BLOB_NO_VALIDATION.
 */
enum mdp_err ec_key_build(int nid, const uint8_t *x, const uint8_t *y, const uint8_t *d,
			  size_t dlen, unsigned flags, const char *what, struct mdp_key **out);
/* X, Y and d of an EC key, each padded to the field length, into caller buffers. d may be NULL. */
enum mdp_err ec_parts_from_key(const struct mdp_key *k, uint8_t *x, uint8_t *y, uint8_t *d);

/* Check an EVP_PKEY decoded by OpenSSL (DER, PEM) as blob_parse checks blobs, and wrap it. */
enum mdp_err key_from_decoded(EVP_PKEY *pkey, enum blob_format src, unsigned flags,
			      const char *what, struct mdp_key **out);

/* Per-format parsers and writers (capi.c, cng.c, der.c). */
enum mdp_err capi_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags,
			struct mdp_key **out);
enum mdp_err capi_write(const struct mdp_key *k, enum blob_format fmt, enum mdp_key_spec spec,
			struct mdp_buf *b);
enum mdp_err cng_rsa_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags,
			   struct mdp_key **out);
enum mdp_err cng_rsa_write(const struct mdp_key *k, enum blob_format fmt, struct mdp_buf *b);
enum mdp_err cng_ecc_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags,
			   struct mdp_key **out);
enum mdp_err cng_ecc_write(const struct mdp_key *k, enum blob_format fmt, enum mdp_key_spec spec,
			   struct mdp_buf *b);
enum mdp_err der_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags,
		       struct mdp_key **out);
enum mdp_err pem_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags,
		       struct mdp_key **out);
enum mdp_err der_write(const struct mdp_key *k, enum blob_format fmt, struct mdp_buf *b);
/* Recognise a CNG ECC magic (including the generic ones): 1 public, 2 private, 0 none. */
int cng_ecc_magic_kind(uint32_t magic);
/* DER structure detection for blob_detect (PKCS8, SPKI, TRADITIONAL or UNKNOWN). */
enum blob_format der_detect(const uint8_t *p, size_t len);
enum blob_format pem_detect(const uint8_t *p, size_t len);

#endif
