/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The BLOB translator: Microsoft CAPI/CNG key blobs, PKCS#8, SPKI and PEM <-> one key (EVP_PKEY).
 */
#ifndef MDP11_BLOB_BLOB_H
#define MDP11_BLOB_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/error.h"
#include "mdp11/keyspec.h"

/*
 * Layouts: spec/blobs.md. Decisions (odd RSA sizes, strictness): docs/blobs.md.
 *
 * Ownership rules, for every function below:
 *  - Inputs are borrowed and never modified.
 *  - Out-parameters are written only on success.
 *  - A struct mdp_key is freed with mdp_key_free() (NULL is a no-op).
 *  - Every byte string returned through uint8_t ** is fresh memory owned by the caller and is
 *    freed with mdp_secure_free(p, len) (it may hold private key material; for public outputs
 *    plain free() is also correct, but one rule is simpler).
 *  - Failures return an enum mdp_err with a human reason recorded by mdp_err_reason()
 *    ("CAPI PRIVATEKEYBLOB: 600 bytes, expected 596 for bitlen 1024"); see mdp_err_last().
 *
 * Supported keys: RSA (256..16384 bits) and EC on the named curves P-256, P-384, P-521.
 */

enum blob_format {
	BLOB_FMT_UNKNOWN = 0,	  /* as input to blob_parse: detect from the bytes */
	BLOB_FMT_CAPI_PUBLIC,	  /* PUBLICKEYBLOB, RSA1 (= LEGACY_RSAPUBLIC_BLOB) */
	BLOB_FMT_CAPI_PRIVATE,	  /* PRIVATEKEYBLOB, RSA2 (= LEGACY_RSAPRIVATE_BLOB) */
	BLOB_FMT_CNG_RSA_PUBLIC,  /* BCRYPT_RSAPUBLIC_BLOB */
	BLOB_FMT_CNG_RSA_PRIVATE, /* BCRYPT_RSAPRIVATE_BLOB (no d: computed on import) */
	BLOB_FMT_CNG_RSA_FULL,	  /* BCRYPT_RSAFULLPRIVATE_BLOB */
	BLOB_FMT_CNG_ECC_PUBLIC,  /* BCRYPT_ECCPUBLIC_BLOB, ECS1/3/5 or ECK1/3/5 */
	BLOB_FMT_CNG_ECC_PRIVATE, /* BCRYPT_ECCPRIVATE_BLOB, ECS2/4/6 or ECK2/4/6 */
	BLOB_FMT_PKCS8,		  /* DER PrivateKeyInfo (= NCRYPT_PKCS8_PRIVATE_KEY_BLOB) */
	BLOB_FMT_SPKI,		  /* DER SubjectPublicKeyInfo */
	BLOB_FMT_PEM,		  /* PEM: PKCS#8 private ("PRIVATE KEY") or SPKI ("PUBLIC KEY") */
	BLOB_FMT_TRADITIONAL, /* PKCS#1 RSAPrivateKey / SEC1 ECPrivateKey, DER or PEM; read only */
	BLOB_FMT__COUNT
};

/* blob_parse flags */
#define BLOB_NO_VALIDATION 0x1u /* like NCRYPT_NO_KEY_VALIDATION: skip the pair check only */

/*
 * One key: an EVP_PKEY plus what the blob said about it (source format, CAPI ALG_ID or CNG
 * magic, implied key spec). Opaque; immutable once made, so it can be shared read-only.
 */
struct mdp_key;

/*
 * Parse a blob. fmt BLOB_FMT_UNKNOWN detects the format (blob_detect); a given format must
 * match the bytes. Validation is on by default (RSA: n = p*q and the CRT values agree, e odd
 * and > 1; EC: point on the curve, 0 < d < order, Q = d*G); BLOB_NO_VALIDATION skips only
 * the pair check (n = p*q / CRT, Q = d*G), never size and range checks. Trailing bytes are
 * an error. Encrypted PKCS#8 / PEM and DSA/DH/other key types are MDP_ERR_UNSUPPORTED.
 */
enum mdp_err blob_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags,
			struct mdp_key **out);

/*
 * Write k in format fmt (not UNKNOWN, not TRADITIONAL). Private formats need a private key
 * (MDP_ERR_ARGS otherwise); public formats accept either. BLOB_FMT_PEM writes PKCS#8 for a
 * private key and SPKI for a public one.
 * spec chooses what the blob says about the key's use:
 *  - CAPI: MDP_AT_KEYEXCHANGE -> CALG_RSA_KEYX, MDP_AT_SIGNATURE -> CALG_RSA_SIGN;
 *  - CNG ECC: MDP_AT_ECDSA_* -> ECS* magic, MDP_AT_ECDHE_* -> ECK* magic (curve must match);
 *  - MDP_AT_NONE keeps the key's own spec (mdp_key_spec()).
 * A spec of the wrong family (an EC spec for an RSA key, another curve) is MDP_ERR_ARGS.
 * A CAPI blob of a key whose public exponent does not fit 32 bits is MDP_ERR_OVERFLOW.
 * *out is freed by the caller with mdp_secure_free(*out, *out_len).
 */
enum mdp_err blob_write(const struct mdp_key *k, enum blob_format fmt, enum mdp_key_spec spec,
			uint8_t **out, size_t *out_len);

/*
 * Wrap an OpenSSL key (RSA, or EC on P-256/384/521; public or private). A reference is taken
 * (EVP_PKEY_up_ref): the caller keeps its own. spec MDP_AT_NONE derives the default
 * (RSA -> MDP_AT_KEYEXCHANGE, EC -> MDP_AT_ECDSA_<curve>); a spec of the wrong family or
 * curve is MDP_ERR_ARGS. The source format is BLOB_FMT_UNKNOWN. No validation is done.
 */
enum mdp_err mdp_key_from_pkey(EVP_PKEY *pkey, enum mdp_key_spec spec, struct mdp_key **out);
void mdp_key_free(struct mdp_key *k);

/* The OpenSSL key, borrowed: valid as long as k; EVP_PKEY_up_ref() it to keep it longer. */
EVP_PKEY *mdp_key_pkey(const struct mdp_key *k);
bool mdp_key_is_private(const struct mdp_key *k);
/*
 * Key spec implied by the blob: CALG_RSA_KEYX -> MDP_AT_KEYEXCHANGE, CALG_RSA_SIGN ->
 * MDP_AT_SIGNATURE, ECS* -> MDP_AT_ECDSA_Pxxx, ECK* -> MDP_AT_ECDHE_Pxxx; for formats that
 * carry none (CNG RSA, PKCS#8, SPKI, PEM): RSA -> MDP_AT_KEYEXCHANGE, EC -> MDP_AT_ECDSA_Pxxx.
 */
enum mdp_key_spec mdp_key_spec(const struct mdp_key *k);
/* RSA modulus bits, or the curve size 256 / 384 / 521. */
unsigned mdp_key_bits(const struct mdp_key *k);
/* EVP_PKEY_RSA or EVP_PKEY_EC. */
int mdp_key_type(const struct mdp_key *k);
enum blob_format mdp_key_source_format(const struct mdp_key *k);
/* The CAPI aiKeyAlg of the source blob (MDP_CALG_RSA_KEYX/SIGN), 0 when not from CAPI. */
uint32_t mdp_key_alg_id(const struct mdp_key *k);
/* The magic DWORD of the source blob (CAPI RSAPUBKEY or CNG header), 0 when none. */
uint32_t mdp_key_magic(const struct mdp_key *k);

/* EC only (0 / NULL otherwise): NID (NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1),
 * the name "P-256" / "P-384" / "P-521", and the field size in bytes 32 / 48 / 66. */
int mdp_key_ec_nid(const struct mdp_key *k);
const char *mdp_key_curve_name(const struct mdp_key *k);
size_t mdp_key_ec_field_len(const struct mdp_key *k);

/* Format names as the tool spells them ("pem", "pkcs8", "spki", "capi-public", "capi-private",
 * "cng-rsa-public", "cng-rsa-private", "cng-rsa-full", "cng-ecc-public", "cng-ecc-private",
 * "traditional"); "unknown" for BLOB_FMT_UNKNOWN / out of range. */
const char *blob_format_name(enum blob_format f);
/* Inverse of blob_format_name (exact match); BLOB_FMT_UNKNOWN when not a format name. */
enum blob_format blob_format_from_name(const char *name);
/* Whether the format holds private key material. */
bool blob_format_is_private(enum blob_format f);
/*
 * Guess the format from the header/magic: CAPI bType+bVersion, CNG magics, PEM armour,
 * DER structure. Only the first bytes are looked at: a detected format may still fail to
 * parse. BLOB_FMT_UNKNOWN when nothing matches.
 */
enum blob_format blob_detect(const uint8_t *p, size_t len);

/* Key spec names: "keyexchange", "signature", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521",
 * "ecdhe-p256", "ecdhe-p384", "ecdhe-p521"; "none" for MDP_AT_NONE / unknown. */
const char *mdp_key_spec_name(enum mdp_key_spec spec);
/* Inverse (exact match); MDP_AT_NONE when not a name. */
enum mdp_key_spec mdp_key_spec_from_name(const char *name);

/*
 * Raw components, as the card layers and PKCS#11 attributes carry them: big-endian, minimal
 * (leading zeros allowed on input).
 */
/* RSA public key from modulus and public exponent. */
enum mdp_err blob_rsa_public_from_components(const uint8_t *n, size_t nlen, const uint8_t *e,
					     size_t elen, struct mdp_key **out);

/* Big-endian parts of an RSA private key (PKCS#11 CKA_MODULUS ... CKA_COEFFICIENT). */
struct blob_rsa_parts {
	const uint8_t *n, *e, *d, *p, *q, *dp, *dq, *qinv;
	size_t n_len, e_len, d_len, p_len, q_len, dp_len, dq_len, qinv_len;
};
/*
 * RSA private key from parts. n, e, p, q are required; d, dp, dq, qinv may be absent
 * (NULL/0 length: all four, or none) and are then computed from p, q, e. Validated as in
 * blob_parse unless flags has BLOB_NO_VALIDATION. spec MDP_AT_NONE -> MDP_AT_KEYEXCHANGE.
 */
enum mdp_err blob_rsa_private_from_components(const struct blob_rsa_parts *parts,
					      enum mdp_key_spec spec, unsigned flags,
					      struct mdp_key **out);

/* EC public key on the curve of spec (an MDP_AT_ECDSA_* / MDP_AT_ECDHE_* spec) from the
 * uncompressed point 04 || X || Y (1 + 2 * field length bytes); the point must be on the curve. */
enum mdp_err blob_ec_public_from_point(enum mdp_key_spec spec, const uint8_t *point, size_t len,
				       struct mdp_key **out);
/*
 * EC private key on the curve of spec from the scalar d (big-endian, at most the field length;
 * 0 < d < order). Q = d*G is computed (PKCS#11 private key templates carry no public point).
 */
enum mdp_err blob_ec_private_from_scalar(enum mdp_key_spec spec, const uint8_t *d, size_t dlen,
					 struct mdp_key **out);

/* RSA parts for mdp_key_rsa_component(). D..QINV need a private key. */
enum blob_rsa_part {
	BLOB_RSA_N,
	BLOB_RSA_E,
	BLOB_RSA_D,
	BLOB_RSA_P,
	BLOB_RSA_Q,
	BLOB_RSA_DP,
	BLOB_RSA_DQ,
	BLOB_RSA_QINV,
};
/*
 * One RSA component, big-endian. width 0: minimal encoding (at least one byte); otherwise
 * left-padded with zeros to exactly width bytes (MDP_ERR_OVERFLOW if it does not fit).
 * Free *out with mdp_secure_free(*out, *out_len).
 */
enum mdp_err mdp_key_rsa_component(const struct mdp_key *k, enum blob_rsa_part part, size_t width,
				   uint8_t **out, size_t *out_len);
/* EC public point, uncompressed 04 || X || Y, each coordinate field-length wide. */
enum mdp_err mdp_key_ec_point(const struct mdp_key *k, uint8_t **out, size_t *out_len);
/* EC private scalar d, left-padded to the field length (32 / 48 / 66). Private keys only. */
enum mdp_err mdp_key_ec_private(const struct mdp_key *k, uint8_t **out, size_t *out_len);
/* SHA-256 of the public key's SubjectPublicKeyInfo DER (what `mdp11-tool blob show` prints). */
enum mdp_err mdp_key_public_sha256(const struct mdp_key *k, uint8_t digest[32]);

#endif
