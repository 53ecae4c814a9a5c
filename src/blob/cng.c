/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CNG BCRYPT_RSAKEY_BLOB and BCRYPT_ECCKEY_BLOB (spec/blobs.md §4, §5): LE header, BE numbers. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/obj_mac.h>

#define MDP_LOG_AREA MDP_AREA_BLOB
#include "blob/internal.h"
#include "common/log.h"
#include "common/secmem.h"

#define CNG_RSA_HEADER_LEN 24
#define CNG_RSA_MAX_PUBEXP 8 /* Windows refuses cbPublicExp 9 with NTE_BAD_DATA */
#define CNG_ECC_HEADER_LEN 8

static const char *
cng_rsa_name(enum blob_format f)
{
	switch (f) {
	case BLOB_FMT_CNG_RSA_PUBLIC:
		return "CNG RSAPUBLICBLOB";
	case BLOB_FMT_CNG_RSA_PRIVATE:
		return "CNG RSAPRIVATEBLOB";
	default:
		return "CNG RSAFULLPRIVATEBLOB";
	}
}

enum mdp_err
cng_rsa_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags,
	      struct mdp_key **out)
{
	enum mdp_err rv;
	struct mdp_cursor c;
	struct rsa_bn r = {0};
	struct mdp_key *k = NULL;
	uint32_t magic, bitlen, cb_e, cb_n, cb_p, cb_q;
	enum blob_format got;
	const char *what;
	size_t want;

	cur_init(&c, p, len);
	magic = cur_get_le32(&c);
	bitlen = cur_get_le32(&c);
	cb_e = cur_get_le32(&c);
	cb_n = cur_get_le32(&c);
	cb_p = cur_get_le32(&c);
	cb_q = cur_get_le32(&c);
	if (c.bad)
		return mdp_err_reason(MDP_ERR_TRUNCATED,
				      "CNG RSA blob: %zu bytes, shorter than its 24-byte header",
				      len);
	switch (magic) {
	case MAGIC_RSA1:
		got = BLOB_FMT_CNG_RSA_PUBLIC;
		break;
	case MAGIC_RSA2:
		got = BLOB_FMT_CNG_RSA_PRIVATE;
		break;
	case MAGIC_RSA3:
		got = BLOB_FMT_CNG_RSA_FULL;
		break;
	default:
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "CNG RSA blob: magic 0x%08x is not RSA1, RSA2 or RSA3",
				      magic);
	}
	what = cng_rsa_name(got);
	if (fmt != BLOB_FMT_UNKNOWN && fmt != got)
		return mdp_err_reason(MDP_ERR_FORMAT, "%s: magic does not match the expected %s",
				      what, cng_rsa_name(fmt));
	if (cb_e == 0 || cb_e > CNG_RSA_MAX_PUBEXP)
		return mdp_err_reason(MDP_ERR_FORMAT, "%s: cbPublicExp %u, must be 1..%u", what,
				      cb_e, CNG_RSA_MAX_PUBEXP);
	if (bitlen < BLOB_RSA_MIN_BITS || bitlen > BLOB_RSA_MAX_BITS)
		return mdp_err_reason(MDP_ERR_UNSUPPORTED,
				      "%s: BitLength %u outside the supported %u..%u", what, bitlen,
				      BLOB_RSA_MIN_BITS, BLOB_RSA_MAX_BITS);
	if (cb_n != (bitlen + 7) / 8)
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "%s: cbModulus %u does not match BitLength %u (expected %u)",
				      what, cb_n, bitlen, (bitlen + 7) / 8);
	if (got == BLOB_FMT_CNG_RSA_PUBLIC) {
		if (cb_p != 0 || cb_q != 0)
			return mdp_err_reason(MDP_ERR_FORMAT,
					      "%s: cbPrime1/cbPrime2 are %u/%u, must be 0", what,
					      cb_p, cb_q);
	} else if (cb_p == 0 || cb_q == 0 || cb_p > cb_n || cb_q > cb_n) {
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "%s: cbPrime1/cbPrime2 are %u/%u, must be 1..cbModulus (%u)",
				      what, cb_p, cb_q, cb_n);
	}
	/* Every term is bounded by cbModulus <= 2048 here: no overflow possible. */
	want = CNG_RSA_HEADER_LEN + (size_t)cb_e + cb_n;
	if (got != BLOB_FMT_CNG_RSA_PUBLIC)
		want += (size_t)cb_p + cb_q;
	if (got == BLOB_FMT_CNG_RSA_FULL)
		want += 2 * (size_t)cb_p + cb_q + cb_n;
	if (len != want)
		return mdp_err_reason(len < want ? MDP_ERR_TRUNCATED : MDP_ERR_FORMAT,
				      "%s: %zu bytes, expected %zu for BitLength %u", what, len,
				      want, bitlen);
	r.e = bn_from_be(cur_get_bytes(&c, cb_e), cb_e, false);
	r.n = bn_from_be(cur_get_bytes(&c, cb_n), cb_n, false);
	if (got != BLOB_FMT_CNG_RSA_PUBLIC) {
		r.p = bn_from_be(cur_get_bytes(&c, cb_p), cb_p, true);
		r.q = bn_from_be(cur_get_bytes(&c, cb_q), cb_q, true);
	}
	if (got == BLOB_FMT_CNG_RSA_FULL) {
		r.dp = bn_from_be(cur_get_bytes(&c, cb_p), cb_p, true);
		r.dq = bn_from_be(cur_get_bytes(&c, cb_q), cb_q, true);
		r.qinv = bn_from_be(cur_get_bytes(&c, cb_p), cb_p, true);
		r.d = bn_from_be(cur_get_bytes(&c, cb_n), cb_n, true);
	}
	if (c.bad || cur_left(&c) != 0) {
		rv = mdp_err_reason(MDP_ERR_INTERNAL, "%s: size bookkeeping failed", what);
		goto out;
	}
	if (r.n == NULL || r.e == NULL ||
	    (got != BLOB_FMT_CNG_RSA_PUBLIC && (r.p == NULL || r.q == NULL)) ||
	    (got == BLOB_FMT_CNG_RSA_FULL && (!r.dp || !r.dq || !r.qinv || !r.d))) {
		rv = mdp_err_reason(MDP_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rv = rsa_key_build(&r, bitlen, flags, what, &k);
	if (rv != MDP_OK)
		goto out;
	k->src = got;
	k->magic = magic;
	*out = k;
	log_debug("%s: %u-bit RSA", what, bitlen);
out:
	rsa_bn_clear(&r);
	return rv;
}

/* Width of a prime-sized field: bitlen/16 rounded up, as Windows writes it, or more if needed. */
static size_t
prime_width(const BIGNUM *bn, unsigned bitlen)
{
	size_t w = ((size_t)bitlen + 15) / 16;
	size_t need = (size_t)BN_num_bytes(bn);

	return need > w ? need : w;
}

enum mdp_err
cng_rsa_write(const struct mdp_key *k, enum blob_format fmt, struct mdp_buf *b)
{
	enum mdp_err rv = MDP_OK;
	struct rsa_bn r = {0};
	const char *what = cng_rsa_name(fmt);
	bool priv = fmt != BLOB_FMT_CNG_RSA_PUBLIC;
	unsigned bitlen;
	size_t cb_e, cb_n, cb_p = 0, cb_q = 0;

	rv = rsa_bn_from_key(k, priv, &r);
	if (rv != MDP_OK)
		return blob_err_prefix(rv, what);
	bitlen = (unsigned)BN_num_bits(r.n);
	cb_e = (size_t)BN_num_bytes(r.e);
	cb_n = ((size_t)bitlen + 7) / 8;
	if (cb_e > CNG_RSA_MAX_PUBEXP) {
		rv = mdp_err_reason(MDP_ERR_OVERFLOW,
				    "%s: the public exponent has %zu bytes; CNG takes 8 at most",
				    what, cb_e);
		goto out;
	}
	if (priv) {
		cb_p = prime_width(r.p, bitlen);
		cb_q = prime_width(r.q, bitlen);
	}
	buf_put_le32(b, fmt == BLOB_FMT_CNG_RSA_PUBLIC	  ? MAGIC_RSA1
			: fmt == BLOB_FMT_CNG_RSA_PRIVATE ? MAGIC_RSA2
							  : MAGIC_RSA3);
	buf_put_le32(b, bitlen);
	buf_put_le32(b, (uint32_t)cb_e);
	buf_put_le32(b, (uint32_t)cb_n);
	buf_put_le32(b, (uint32_t)cb_p);
	buf_put_le32(b, (uint32_t)cb_q);
	buf_put_bn_be(b, r.e, cb_e);
	buf_put_bn_be(b, r.n, cb_n);
	if (priv) {
		buf_put_bn_be(b, r.p, cb_p);
		buf_put_bn_be(b, r.q, cb_q);
	}
	if (fmt == BLOB_FMT_CNG_RSA_FULL) {
		buf_put_bn_be(b, r.dp, cb_p);
		buf_put_bn_be(b, r.dq, cb_q);
		buf_put_bn_be(b, r.qinv, cb_p);
		buf_put_bn_be(b, r.d, cb_n);
	}
	if (b->bad)
		rv = mdp_err_reason(MDP_ERR_NOMEM, "%s: writing failed", what);
out:
	rsa_bn_clear(&r);
	return rv;
}

/* ---- ECC ---- */

struct ecc_magic {
	uint32_t magic;
	int nid;
	bool ecdh;
	bool priv;
};

/* spec/blobs.md §5: "ECK1".."ECK6" (ECDH) and "ECS1".."ECS6" (ECDSA). */
static const struct ecc_magic ecc_magics[] = {
	{0x314B4345u, NID_X9_62_prime256v1, true, false},
	{0x324B4345u, NID_X9_62_prime256v1, true, true},
	{0x334B4345u, NID_secp384r1, true, false},
	{0x344B4345u, NID_secp384r1, true, true},
	{0x354B4345u, NID_secp521r1, true, false},
	{0x364B4345u, NID_secp521r1, true, true},
	{0x31534345u, NID_X9_62_prime256v1, false, false},
	{0x32534345u, NID_X9_62_prime256v1, false, true},
	{0x33534345u, NID_secp384r1, false, false},
	{0x34534345u, NID_secp384r1, false, true},
	{0x35534345u, NID_secp521r1, false, false},
	{0x36534345u, NID_secp521r1, false, true},
};

/* The generic (named or explicit curve) magics of Windows 10: recognised, refused. */
static bool
ecc_generic_magic(uint32_t magic)
{
	return magic == 0x504B4345u || magic == 0x564B4345u || magic == 0x50444345u ||
	       magic == 0x56444345u;
}

static const struct ecc_magic *
ecc_magic_find(uint32_t magic)
{
	size_t i;

	for (i = 0; i < sizeof(ecc_magics) / sizeof(ecc_magics[0]); i++)
		if (ecc_magics[i].magic == magic)
			return &ecc_magics[i];
	return NULL;
}

static uint32_t
ecc_magic_for(int nid, bool ecdh, bool priv)
{
	size_t i;

	for (i = 0; i < sizeof(ecc_magics) / sizeof(ecc_magics[0]); i++)
		if (ecc_magics[i].nid == nid && ecc_magics[i].ecdh == ecdh &&
		    ecc_magics[i].priv == priv)
			return ecc_magics[i].magic;
	return 0;
}

int
cng_ecc_magic_kind(uint32_t magic)
{
	const struct ecc_magic *m = ecc_magic_find(magic);

	if (m)
		return m->priv ? 2 : 1;
	if (magic == 0x504B4345u || magic == 0x50444345u)
		return 1;
	if (magic == 0x564B4345u || magic == 0x56444345u)
		return 2;
	return 0;
}

static const char *
curve_label(int nid)
{
	return nid == NID_X9_62_prime256v1 ? "P256" : nid == NID_secp384r1 ? "P384" : "P521";
}

enum mdp_err
cng_ecc_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags,
	      struct mdp_key **out)
{
	enum mdp_err rv;
	struct mdp_cursor c;
	struct mdp_key *k = NULL;
	const struct ecc_magic *m;
	uint32_t magic, cb_key;
	size_t flen, want;
	const uint8_t *x, *y, *d = NULL;
	char what[48];

	cur_init(&c, p, len);
	magic = cur_get_le32(&c);
	cb_key = cur_get_le32(&c);
	if (c.bad)
		return mdp_err_reason(MDP_ERR_TRUNCATED,
				      "CNG ECC blob: %zu bytes, shorter than its 8-byte header",
				      len);
	if (ecc_generic_magic(magic))
		return mdp_err_reason(
			MDP_ERR_UNSUPPORTED,
			"CNG ECC blob: the generic-curve magic 0x%08x is not supported "
			"(only the P-256/384/521 magics ECS1..6 and ECK1..6 are)",
			magic);
	m = ecc_magic_find(magic);
	if (m == NULL)
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "CNG ECC blob: magic 0x%08x is not an ECDSA/ECDH magic",
				      magic);
	snprintf(what, sizeof(what), "CNG %s %s %s", m->priv ? "ECCPRIVATEBLOB" : "ECCPUBLICBLOB",
		 m->ecdh ? "ECDH" : "ECDSA", curve_label(m->nid));
	if ((fmt == BLOB_FMT_CNG_ECC_PUBLIC && m->priv) ||
	    (fmt == BLOB_FMT_CNG_ECC_PRIVATE && !m->priv))
		return mdp_err_reason(MDP_ERR_FORMAT, "%s: a %s magic where a %s blob was expected",
				      what, m->priv ? "private" : "public",
				      m->priv ? "public" : "private");
	flen = ec_field_len(m->nid);
	if (cb_key != flen)
		return mdp_err_reason(MDP_ERR_FORMAT, "%s: cbKey %u, the curve needs %zu", what,
				      cb_key, flen);
	want = CNG_ECC_HEADER_LEN + (m->priv ? 3 : 2) * flen;
	if (len != want)
		return mdp_err_reason(len < want ? MDP_ERR_TRUNCATED : MDP_ERR_FORMAT,
				      "%s: %zu bytes, expected %zu", what, len, want);
	x = cur_get_bytes(&c, flen);
	y = cur_get_bytes(&c, flen);
	if (m->priv)
		d = cur_get_bytes(&c, flen);
	if (c.bad || cur_left(&c) != 0)
		return mdp_err_reason(MDP_ERR_INTERNAL, "%s: size bookkeeping failed", what);
	rv = ec_key_build(m->nid, x, y, d, flen, flags, what, &k);
	if (rv != MDP_OK)
		return rv;
	k->src = m->priv ? BLOB_FMT_CNG_ECC_PRIVATE : BLOB_FMT_CNG_ECC_PUBLIC;
	k->magic = magic;
	k->spec = ec_nid_spec(m->nid, m->ecdh);
	*out = k;
	log_debug("%s parsed", what);
	return MDP_OK;
}

enum mdp_err
cng_ecc_write(const struct mdp_key *k, enum blob_format fmt, enum mdp_key_spec spec,
	      struct mdp_buf *b)
{
	enum mdp_err rv;
	bool priv = fmt == BLOB_FMT_CNG_ECC_PRIVATE;
	const char *what = priv ? "CNG ECCPRIVATEBLOB" : "CNG ECCPUBLICBLOB";
	size_t flen = mdp_key_ec_field_len(k);
	uint8_t x[66], y[66], d[66];

	if (flen == 0)
		return mdp_err_reason(MDP_ERR_ARGS, "%s: not an EC key", what);
	if (spec == MDP_AT_NONE)
		spec = k->spec;
	if (!MDP_KEY_SPEC_IS_EC(spec) || ec_spec_nid(spec) != k->nid)
		return mdp_err_reason(MDP_ERR_ARGS, "%s: key spec %s does not fit a %s key", what,
				      mdp_key_spec_name(spec), mdp_key_curve_name(k));
	rv = ec_parts_from_key(k, x, y, priv ? d : NULL);
	if (rv != MDP_OK)
		return blob_err_prefix(rv, what);
	buf_put_le32(b, ecc_magic_for(k->nid, MDP_KEY_SPEC_IS_ECDH(spec), priv));
	buf_put_le32(b, (uint32_t)flen);
	buf_put_bytes(b, x, flen);
	buf_put_bytes(b, y, flen);
	if (priv)
		buf_put_bytes(b, d, flen);
	mdp_wipe(d, sizeof(d));
	if (b->bad)
		return mdp_err_reason(MDP_ERR_NOMEM, "%s: writing failed", what);
	return MDP_OK;
}
