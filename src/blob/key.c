/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* struct mdp_key: building RSA and EC keys from numbers, checking them, and exporting parts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#define MDP_LOG_AREA MDP_AREA_BLOB
#include "blob/internal.h"
#include "common/ossl.h"
#include "common/log.h"
#include "common/secmem.h"

/* ---- small helpers ---- */

enum mdp_err
blob_err_prefix(enum mdp_err rv, const char *what)
{
	char reason[256];

	snprintf(reason, sizeof(reason), "%s", mdp_err_last());
	return mdp_err_reason(rv, "%s: %s", what, reason);
}

BIGNUM *
bn_from_be(const uint8_t *p, size_t len, bool secret)
{
	BIGNUM *bn = secret ? BN_secure_new() : BN_new();

	if (bn == NULL)
		return NULL;
	if ((p == NULL && len != 0) || len > INT32_MAX || BN_bin2bn(p, (int)len, bn) == NULL) {
		BN_clear_free(bn);
		return NULL;
	}
	return bn;
}

BIGNUM *
bn_from_le(const uint8_t *p, size_t len, bool secret)
{
	BIGNUM *bn = secret ? BN_secure_new() : BN_new();

	if (bn == NULL)
		return NULL;
	if ((p == NULL && len != 0) || len > INT32_MAX || BN_lebin2bn(p, (int)len, bn) == NULL) {
		BN_clear_free(bn);
		return NULL;
	}
	return bn;
}

static bool
put_bn(struct mdp_buf *b, const BIGNUM *bn, size_t width, bool le)
{
	int r;

	if (b->bad)
		return false;
	if (width > INT32_MAX || (size_t)BN_num_bytes(bn) > width) {
		b->bad = true;
		return false;
	}
	if (!buf_reserve(b, width)) {
		b->bad = true;
		return false;
	}
	if (width == 0)
		return true;
	r = le ? BN_bn2lebinpad(bn, b->data + b->len, (int)width)
	       : BN_bn2binpad(bn, b->data + b->len, (int)width);
	if (r != (int)width) {
		b->bad = true;
		return false;
	}
	b->len += width;
	return true;
}

bool
buf_put_bn_be(struct mdp_buf *b, const BIGNUM *bn, size_t width)
{
	return put_bn(b, bn, width, false);
}

bool
buf_put_bn_le(struct mdp_buf *b, const BIGNUM *bn, size_t width)
{
	return put_bn(b, bn, width, true);
}

void
rsa_bn_clear(struct rsa_bn *r)
{
	BN_free(r->n);
	BN_free(r->e);
	BN_clear_free(r->d);
	BN_clear_free(r->p);
	BN_clear_free(r->q);
	BN_clear_free(r->dp);
	BN_clear_free(r->dq);
	BN_clear_free(r->qinv);
	memset(r, 0, sizeof(*r));
}

static struct mdp_key *
key_new(EVP_PKEY *pkey, int type, int nid, unsigned bits, bool priv, enum mdp_key_spec spec)
{
	struct mdp_key *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->pkey = pkey;
	k->type = type;
	k->nid = nid;
	k->bits = bits;
	k->priv = priv;
	k->spec = spec;
	k->src = BLOB_FMT_UNKNOWN;
	return k;
}

/* ---- EC curves ---- */

size_t
ec_field_len(int nid)
{
	switch (nid) {
	case NID_X9_62_prime256v1:
		return 32;
	case NID_secp384r1:
		return 48;
	case NID_secp521r1:
		return 66;
	default:
		return 0;
	}
}

static unsigned
ec_bits(int nid)
{
	switch (nid) {
	case NID_X9_62_prime256v1:
		return 256;
	case NID_secp384r1:
		return 384;
	case NID_secp521r1:
		return 521;
	default:
		return 0;
	}
}

int
ec_spec_nid(enum mdp_key_spec spec)
{
	switch (spec) {
	case MDP_AT_ECDSA_P256:
	case MDP_AT_ECDHE_P256:
		return NID_X9_62_prime256v1;
	case MDP_AT_ECDSA_P384:
	case MDP_AT_ECDHE_P384:
		return NID_secp384r1;
	case MDP_AT_ECDSA_P521:
	case MDP_AT_ECDHE_P521:
		return NID_secp521r1;
	default:
		return 0;
	}
}

enum mdp_key_spec
ec_nid_spec(int nid, bool ecdh)
{
	switch (nid) {
	case NID_X9_62_prime256v1:
		return ecdh ? MDP_AT_ECDHE_P256 : MDP_AT_ECDSA_P256;
	case NID_secp384r1:
		return ecdh ? MDP_AT_ECDHE_P384 : MDP_AT_ECDSA_P384;
	case NID_secp521r1:
		return ecdh ? MDP_AT_ECDHE_P521 : MDP_AT_ECDSA_P521;
	default:
		return MDP_AT_NONE;
	}
}

/* ---- RSA ---- */

/*
 * d, dP, dQ, qInv from p, q, e (CNG RSAPRIVATEBLOB carries none of them). d = e^-1 mod
 * lcm(p-1, q-1), the smallest d, as FIPS 186-4 asks and OpenSSL's keygen makes for keys of 2048
 * bits and more (docs/blobs.md). dP, dQ, qInv do not depend on the choice.
 */
static enum mdp_err
rsa_complete(struct rsa_bn *r, BN_CTX *ctx, const char *what)
{
	BIGNUM *p1, *q1, *g, *lcm;

	BN_CTX_start(ctx);
	p1 = BN_CTX_get(ctx);
	q1 = BN_CTX_get(ctx);
	g = BN_CTX_get(ctx);
	lcm = BN_CTX_get(ctx);
	r->d = BN_secure_new();
	r->dp = BN_secure_new();
	r->dq = BN_secure_new();
	r->qinv = BN_secure_new();
	if (lcm == NULL || r->d == NULL || r->dp == NULL || r->dq == NULL || r->qinv == NULL)
		goto crypto;
	if (!BN_sub(p1, r->p, BN_value_one()) || !BN_sub(q1, r->q, BN_value_one()) ||
	    !BN_gcd(g, p1, q1, ctx) || !BN_mul(lcm, p1, q1, ctx) || !BN_div(lcm, NULL, lcm, g, ctx))
		goto crypto;
	if (BN_mod_inverse(r->d, r->e, lcm, ctx) == NULL) {
		BN_CTX_end(ctx);
		ERR_clear_error();
		return mdp_err_reason(MDP_ERR_INVALID_KEY,
				      "%s: the public exponent has no inverse modulo lcm(p-1, q-1)",
				      what);
	}
	if (!BN_mod(r->dp, r->d, p1, ctx) || !BN_mod(r->dq, r->d, q1, ctx))
		goto crypto;
	if (BN_mod_inverse(r->qinv, r->q, r->p, ctx) == NULL) {
		BN_CTX_end(ctx);
		ERR_clear_error();
		return mdp_err_reason(MDP_ERR_INVALID_KEY, "%s: q has no inverse modulo p", what);
	}
	BN_CTX_end(ctx);
	return MDP_OK;
crypto:
	BN_CTX_end(ctx);
	return mdp_err_reason(MDP_ERR_CRYPTO, "%s: computing the private exponent failed", what);
}

/* n = p*q, dP = d mod (p-1), dQ = d mod (q-1), qInv*q = 1 mod p, e*dP = 1 mod (p-1), same for q. */
static enum mdp_err
rsa_pair_check(const struct rsa_bn *r, BN_CTX *ctx, const char *what)
{
	BIGNUM *t, *p1, *q1;
	const char *bad = NULL;

	BN_CTX_start(ctx);
	t = BN_CTX_get(ctx);
	p1 = BN_CTX_get(ctx);
	q1 = BN_CTX_get(ctx);
	if (q1 == NULL || !BN_sub(p1, r->p, BN_value_one()) || !BN_sub(q1, r->q, BN_value_one()))
		goto crypto;
	if (!BN_mul(t, r->p, r->q, ctx))
		goto crypto;
	if (BN_cmp(t, r->n) != 0) {
		bad = "n is not p*q";
		goto out;
	}
	if (!BN_mod(t, r->d, p1, ctx))
		goto crypto;
	if (BN_cmp(t, r->dp) != 0) {
		bad = "exponent1 is not d mod (p-1)";
		goto out;
	}
	if (!BN_mod(t, r->d, q1, ctx))
		goto crypto;
	if (BN_cmp(t, r->dq) != 0) {
		bad = "exponent2 is not d mod (q-1)";
		goto out;
	}
	if (!BN_mod_mul(t, r->qinv, r->q, r->p, ctx))
		goto crypto;
	if (!BN_is_one(t)) {
		bad = "the coefficient is not q^-1 mod p";
		goto out;
	}
	if (!BN_mod_mul(t, r->e, r->dp, p1, ctx))
		goto crypto;
	if (!BN_is_one(t)) {
		bad = "d is not the inverse of e modulo p-1";
		goto out;
	}
	if (!BN_mod_mul(t, r->e, r->dq, q1, ctx))
		goto crypto;
	if (!BN_is_one(t)) {
		bad = "d is not the inverse of e modulo q-1";
		goto out;
	}
out:
	BN_CTX_end(ctx);
	if (bad)
		return mdp_err_reason(MDP_ERR_INVALID_KEY, "%s: inconsistent RSA key: %s", what,
				      bad);
	return MDP_OK;
crypto:
	BN_CTX_end(ctx);
	return mdp_err_reason(MDP_ERR_CRYPTO, "%s: RSA key check failed in OpenSSL", what);
}

static bool
bn_in_range(const BIGNUM *x, const BIGNUM *limit)
{
	/* 0 < x < limit */
	return !BN_is_zero(x) && !BN_is_negative(x) && BN_cmp(x, limit) < 0;
}

enum mdp_err
rsa_key_build(struct rsa_bn *r, unsigned bitlen, unsigned flags, const char *what,
	      struct mdp_key **out)
{
	enum mdp_err rv = MDP_OK;
	BN_CTX *ctx = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	struct mdp_key *k = NULL;
	bool priv = r->p != NULL && r->q != NULL;
	unsigned bits;

	if (r->n == NULL || r->e == NULL)
		return mdp_err_reason(MDP_ERR_ARGS, "%s: modulus and exponent are required", what);
	bits = (unsigned)BN_num_bits(r->n);
	if (bitlen != 0 && bits != bitlen)
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "%s: bit length %u disagrees with the modulus (%u bits)",
				      what, bitlen, bits);
	if (bits < BLOB_RSA_MIN_BITS || bits > BLOB_RSA_MAX_BITS)
		return mdp_err_reason(MDP_ERR_UNSUPPORTED,
				      "%s: %u-bit RSA modulus outside the supported %u..%u bits",
				      what, bits, BLOB_RSA_MIN_BITS, BLOB_RSA_MAX_BITS);
	if (!BN_is_odd(r->n))
		return mdp_err_reason(MDP_ERR_INVALID_KEY, "%s: the RSA modulus is even", what);
	if (!BN_is_odd(r->e) || BN_is_one(r->e) || BN_cmp(r->e, r->n) >= 0)
		return mdp_err_reason(MDP_ERR_INVALID_KEY,
				      "%s: the public exponent must be odd, > 1 and < n", what);
	ctx = BN_CTX_secure_new();
	if (ctx == NULL) {
		rv = mdp_err_reason(MDP_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	if (priv) {
		if (BN_cmp(r->p, BN_value_one()) <= 0 || BN_cmp(r->q, BN_value_one()) <= 0 ||
		    BN_cmp(r->p, r->n) >= 0 || BN_cmp(r->q, r->n) >= 0) {
			rv = mdp_err_reason(MDP_ERR_INVALID_KEY, "%s: RSA primes out of range",
					    what);
			goto out;
		}
		if (r->d == NULL) {
			rv = rsa_complete(r, ctx, what);
			if (rv != MDP_OK)
				goto out;
		} else if (r->dp == NULL || r->dq == NULL || r->qinv == NULL) {
			rv = mdp_err_reason(MDP_ERR_ARGS, "%s: incomplete CRT parameters", what);
			goto out;
		}
		if (!bn_in_range(r->d, r->n) || !bn_in_range(r->dp, r->p) ||
		    !bn_in_range(r->dq, r->q) || !bn_in_range(r->qinv, r->p)) {
			rv = mdp_err_reason(MDP_ERR_INVALID_KEY,
					    "%s: RSA private exponents out of range", what);
			goto out;
		}
		if (!(flags & BLOB_NO_VALIDATION)) {
			rv = rsa_pair_check(r, ctx, what);
			if (rv != MDP_OK)
				goto out;
		}
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, r->n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, r->e))
		goto crypto;
	if (priv && (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, r->d) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, r->p) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, r->q) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, r->dp) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, r->dq) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, r->qinv)))
		goto crypto;
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = mdp_pkey_ctx_new(EVP_PKEY_RSA);
	if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <=
		    0)
		goto crypto;
	k = key_new(pkey, EVP_PKEY_RSA, 0, bits, priv, MDP_AT_KEYEXCHANGE);
	if (k == NULL) {
		rv = mdp_err_reason(MDP_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	pkey = NULL;
	*out = k;
	goto out;
crypto:
	rv = mdp_err_reason(MDP_ERR_CRYPTO, "%s: OpenSSL refused the RSA key", what);
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_CTX_free(ctx);
	return rv;
}

static BIGNUM *
get_bn(EVP_PKEY *pkey, const char *name, bool secret)
{
	BIGNUM *bn = secret ? BN_secure_new() : BN_new();

	if (bn == NULL)
		return NULL;
	if (!EVP_PKEY_get_bn_param(pkey, name, &bn)) {
		BN_clear_free(bn);
		return NULL;
	}
	return bn;
}

enum mdp_err
rsa_bn_from_key(const struct mdp_key *k, bool priv, struct rsa_bn *r)
{
	struct rsa_bn t = {0};
	BIGNUM *extra = NULL;

	if (k->type != EVP_PKEY_RSA)
		return mdp_err_reason(MDP_ERR_ARGS, "not an RSA key");
	if (priv && !k->priv)
		return mdp_err_reason(MDP_ERR_ARGS,
				      "a private key is needed, this is a public key");
	t.n = get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_N, false);
	t.e = get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_E, false);
	if (t.n == NULL || t.e == NULL)
		goto fail;
	if (priv) {
		extra = get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_FACTOR3, true);
		if (extra != NULL) {
			BN_clear_free(extra);
			rsa_bn_clear(&t);
			return mdp_err_reason(MDP_ERR_UNSUPPORTED,
					      "multi-prime RSA keys cannot be written as blobs");
		}
		t.d = get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_D, true);
		t.p = get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, true);
		t.q = get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, true);
		t.dp = get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, true);
		t.dq = get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, true);
		t.qinv = get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, true);
		if (t.d == NULL || t.p == NULL || t.q == NULL || t.dp == NULL || t.dq == NULL ||
		    t.qinv == NULL) {
			rsa_bn_clear(&t);
			return mdp_err_reason(MDP_ERR_UNSUPPORTED,
					      "the RSA key lacks its primes or CRT values");
		}
	}
	*r = t;
	return MDP_OK;
fail:
	rsa_bn_clear(&t);
	return mdp_err_reason(MDP_ERR_CRYPTO, "cannot read the RSA key's numbers");
}

/* ---- EC ---- */

enum mdp_err
ec_key_build(int nid, const uint8_t *x, const uint8_t *y, const uint8_t *d, size_t dlen,
	     unsigned flags, const char *what, struct mdp_key **out)
{
	enum mdp_err rv = MDP_OK;
	size_t flen = ec_field_len(nid);
	BN_CTX *ctx = NULL;
	EC_GROUP *group = NULL;
	EC_POINT *q = NULL, *dg = NULL;
	BIGNUM *xb = NULL, *yb = NULL, *db = NULL, *prime = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	struct mdp_key *k = NULL;
	uint8_t pub[1 + 2 * 66];

	if (flen == 0)
		return mdp_err_reason(MDP_ERR_UNSUPPORTED, "%s: unsupported curve", what);
	if ((x == NULL) != (y == NULL) || (x == NULL && d == NULL))
		return mdp_err_reason(MDP_ERR_ARGS, "%s: a point or a scalar is required", what);
	if (d != NULL && (dlen == 0 || dlen > flen))
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "%s: private scalar of %zu bytes, expected 1..%zu", what,
				      dlen, flen);
	ctx = BN_CTX_secure_new();
	group = EC_GROUP_new_by_curve_name(nid);
	prime = BN_new();
	if (ctx == NULL || group == NULL || prime == NULL ||
	    !EC_GROUP_get_curve(group, prime, NULL, NULL, ctx))
		goto crypto;
	if (d != NULL) {
		db = bn_from_be(d, dlen, true);
		if (db == NULL)
			goto crypto;
		if (!bn_in_range(db, EC_GROUP_get0_order(group))) {
			rv = mdp_err_reason(MDP_ERR_INVALID_KEY,
					    "%s: private scalar not in 1..order-1", what);
			goto out;
		}
	}
	if (x != NULL) {
		xb = bn_from_be(x, flen, false);
		yb = bn_from_be(y, flen, false);
		q = EC_POINT_new(group);
		if (xb == NULL || yb == NULL || q == NULL)
			goto crypto;
		if (BN_cmp(xb, prime) >= 0 || BN_cmp(yb, prime) >= 0 ||
		    !EC_POINT_set_affine_coordinates(group, q, xb, yb, ctx) ||
		    EC_POINT_is_on_curve(group, q, ctx) != 1) {
			rv = mdp_err_reason(MDP_ERR_INVALID_KEY, "%s: the point is not on %s", what,
					    OBJ_nid2sn(nid));
			goto out;
		}
		if (db != NULL && !(flags & BLOB_NO_VALIDATION)) {
			dg = EC_POINT_new(group);
			if (dg == NULL || !EC_POINT_mul(group, dg, db, NULL, NULL, ctx))
				goto crypto;
			if (EC_POINT_cmp(group, dg, q, ctx) != 0) {
				rv = mdp_err_reason(MDP_ERR_INVALID_KEY,
						    "%s: the public point is not d*G", what);
				goto out;
			}
		}
	} else {
		q = EC_POINT_new(group);
		if (q == NULL || !EC_POINT_mul(group, q, db, NULL, NULL, ctx))
			goto crypto;
	}
	if (EC_POINT_point2oct(group, q, POINT_CONVERSION_UNCOMPRESSED, pub, 1 + 2 * flen, ctx) !=
	    1 + 2 * flen)
		goto crypto;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * flen))
		goto crypto;
	if (db != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, db))
		goto crypto;
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = mdp_pkey_ctx_new(EVP_PKEY_EC);
	if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pkey, db ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <=
		    0)
		goto crypto;
	k = key_new(pkey, EVP_PKEY_EC, nid, ec_bits(nid), db != NULL, ec_nid_spec(nid, false));
	if (k == NULL) {
		rv = mdp_err_reason(MDP_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	pkey = NULL;
	*out = k;
	goto out;
crypto:
	rv = mdp_err_reason(MDP_ERR_CRYPTO, "%s: OpenSSL refused the EC key", what);
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(q);
	EC_POINT_free(dg);
	BN_free(xb);
	BN_free(yb);
	BN_free(prime);
	BN_clear_free(db);
	EC_GROUP_free(group);
	BN_CTX_free(ctx);
	return rv;
}

enum mdp_err
ec_parts_from_key(const struct mdp_key *k, uint8_t *x, uint8_t *y, uint8_t *d)
{
	enum mdp_err rv = MDP_OK;
	size_t flen = ec_field_len(k->nid);
	BIGNUM *xb = NULL, *yb = NULL, *db = NULL;

	if (k->type != EVP_PKEY_EC || flen == 0)
		return mdp_err_reason(MDP_ERR_ARGS, "not an EC key");
	if (d != NULL && !k->priv)
		return mdp_err_reason(MDP_ERR_ARGS,
				      "a private key is needed, this is a public key");
	xb = get_bn(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, false);
	yb = get_bn(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, false);
	if (xb == NULL || yb == NULL || BN_bn2binpad(xb, x, (int)flen) != (int)flen ||
	    BN_bn2binpad(yb, y, (int)flen) != (int)flen) {
		rv = mdp_err_reason(MDP_ERR_CRYPTO, "cannot read the EC public point");
		goto out;
	}
	if (d != NULL) {
		db = get_bn(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, true);
		if (db == NULL || BN_bn2binpad(db, d, (int)flen) != (int)flen) {
			mdp_wipe(d, flen);
			rv = mdp_err_reason(MDP_ERR_CRYPTO, "cannot read the EC private scalar");
			goto out;
		}
	}
out:
	BN_free(xb);
	BN_free(yb);
	BN_clear_free(db);
	return rv;
}

/* ---- wrapping OpenSSL keys ---- */

/* Type, curve, size and private-ness of an EVP_PKEY we support. */
static enum mdp_err
pkey_describe(EVP_PKEY *pkey, int *type, int *nid, unsigned *bits, bool *priv)
{
	char group[64];
	BIGNUM *bn = NULL;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
		*type = EVP_PKEY_RSA;
		*nid = 0;
		*bits = (unsigned)EVP_PKEY_get_bits(pkey);
		if (*bits < BLOB_RSA_MIN_BITS || *bits > BLOB_RSA_MAX_BITS)
			return mdp_err_reason(MDP_ERR_UNSUPPORTED,
					      "%u-bit RSA key outside the supported %u..%u bits",
					      *bits, BLOB_RSA_MIN_BITS, BLOB_RSA_MAX_BITS);
		bn = get_bn(pkey, OSSL_PKEY_PARAM_RSA_D, true);
	} else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
		*type = EVP_PKEY_EC;
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), NULL))
			return mdp_err_reason(MDP_ERR_UNSUPPORTED,
					      "EC key without a named curve (explicit parameters "
					      "are not supported)");
		*nid = OBJ_txt2nid(group);
		if (*nid == NID_undef)
			*nid = EC_curve_nist2nid(group);
		if (ec_field_len(*nid) == 0)
			return mdp_err_reason(
				MDP_ERR_UNSUPPORTED,
				"EC curve %s is not supported (P-256, P-384, P-521 are)", group);
		*bits = ec_bits(*nid);
		bn = get_bn(pkey, OSSL_PKEY_PARAM_PRIV_KEY, true);
	} else {
		return mdp_err_reason(
			MDP_ERR_UNSUPPORTED, "%s keys are not supported (RSA and EC are)",
			EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "these");
	}
	*priv = bn != NULL;
	BN_clear_free(bn);
	return MDP_OK;
}

static bool
spec_fits(enum mdp_key_spec spec, int type, int nid)
{
	if (type == EVP_PKEY_RSA)
		return MDP_KEY_SPEC_IS_RSA(spec);
	return MDP_KEY_SPEC_IS_EC(spec) && ec_spec_nid(spec) == nid;
}

enum mdp_err
mdp_key_from_pkey(EVP_PKEY *pkey, enum mdp_key_spec spec, struct mdp_key **out)
{
	enum mdp_err rv;
	struct mdp_key *k;
	int type = 0, nid = 0;
	unsigned bits = 0;
	bool priv = false;

	if (pkey == NULL || out == NULL)
		return mdp_err_reason(MDP_ERR_ARGS, "mdp_key_from_pkey: NULL argument");
	rv = pkey_describe(pkey, &type, &nid, &bits, &priv);
	if (rv != MDP_OK)
		return rv;
	if (spec == MDP_AT_NONE)
		spec = type == EVP_PKEY_RSA ? MDP_AT_KEYEXCHANGE : ec_nid_spec(nid, false);
	else if (!spec_fits(spec, type, nid))
		return mdp_err_reason(MDP_ERR_ARGS, "key spec %s does not fit a %s key",
				      mdp_key_spec_name(spec),
				      type == EVP_PKEY_RSA ? "RSA" : OBJ_nid2sn(nid));
	k = key_new(pkey, type, nid, bits, priv, spec);
	if (k == NULL)
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	if (!EVP_PKEY_up_ref(pkey)) {
		free(k);
		return mdp_err_reason(MDP_ERR_CRYPTO, "EVP_PKEY_up_ref failed");
	}
	*out = k;
	return MDP_OK;
}

enum mdp_err
key_from_decoded(EVP_PKEY *pkey, enum blob_format src, unsigned flags, const char *what,
		 struct mdp_key **out)
{
	enum mdp_err rv;
	struct mdp_key *k = NULL;
	struct rsa_bn r = {0};
	uint8_t x[66], y[66], d[66];

	rv = mdp_key_from_pkey(pkey, MDP_AT_NONE, &k);
	if (rv != MDP_OK)
		return blob_err_prefix(rv, what);
	/* Rebuild through our own constructors: one set of range and pair checks for all. */
	if (k->type == EVP_PKEY_RSA) {
		struct mdp_key *chk = NULL;

		rv = rsa_bn_from_key(k, k->priv, &r);
		if (rv == MDP_OK)
			rv = rsa_key_build(&r, 0, flags, what, &chk);
		mdp_key_free(chk);
	} else {
		struct mdp_key *chk = NULL;

		rv = ec_parts_from_key(k, x, y, k->priv ? d : NULL);
		if (rv == MDP_OK)
			rv = ec_key_build(k->nid, x, y, k->priv ? d : NULL, ec_field_len(k->nid),
					  flags, what, &chk);
		mdp_key_free(chk);
	}
	rsa_bn_clear(&r);
	mdp_wipe(d, sizeof(d));
	if (rv != MDP_OK) {
		mdp_key_free(k);
		return rv;
	}
	k->src = src;
	*out = k;
	return MDP_OK;
}

/* ---- accessors ---- */

void
mdp_key_free(struct mdp_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	mdp_wipe(k, sizeof(*k));
	free(k);
}

EVP_PKEY *
mdp_key_pkey(const struct mdp_key *k)
{
	return k ? k->pkey : NULL;
}

bool
mdp_key_is_private(const struct mdp_key *k)
{
	return k && k->priv;
}

enum mdp_key_spec
mdp_key_spec(const struct mdp_key *k)
{
	return k ? k->spec : MDP_AT_NONE;
}

unsigned
mdp_key_bits(const struct mdp_key *k)
{
	return k ? k->bits : 0;
}

int
mdp_key_type(const struct mdp_key *k)
{
	return k ? k->type : EVP_PKEY_NONE;
}

enum blob_format
mdp_key_source_format(const struct mdp_key *k)
{
	return k ? k->src : BLOB_FMT_UNKNOWN;
}

uint32_t
mdp_key_alg_id(const struct mdp_key *k)
{
	return k ? k->alg_id : 0;
}

uint32_t
mdp_key_magic(const struct mdp_key *k)
{
	return k ? k->magic : 0;
}

int
mdp_key_ec_nid(const struct mdp_key *k)
{
	return k && k->type == EVP_PKEY_EC ? k->nid : 0;
}

const char *
mdp_key_curve_name(const struct mdp_key *k)
{
	switch (mdp_key_ec_nid(k)) {
	case NID_X9_62_prime256v1:
		return "P-256";
	case NID_secp384r1:
		return "P-384";
	case NID_secp521r1:
		return "P-521";
	default:
		return NULL;
	}
}

size_t
mdp_key_ec_field_len(const struct mdp_key *k)
{
	return ec_field_len(mdp_key_ec_nid(k));
}

/* ---- names ---- */

static const char *const spec_names[] = {
	[MDP_AT_NONE] = "none",
	[MDP_AT_KEYEXCHANGE] = "keyexchange",
	[MDP_AT_SIGNATURE] = "signature",
	[MDP_AT_ECDSA_P256] = "ecdsa-p256",
	[MDP_AT_ECDSA_P384] = "ecdsa-p384",
	[MDP_AT_ECDSA_P521] = "ecdsa-p521",
	[MDP_AT_ECDHE_P256] = "ecdhe-p256",
	[MDP_AT_ECDHE_P384] = "ecdhe-p384",
	[MDP_AT_ECDHE_P521] = "ecdhe-p521",
};

const char *
mdp_key_spec_name(enum mdp_key_spec spec)
{
	if ((unsigned)spec >= sizeof(spec_names) / sizeof(spec_names[0]))
		return "none";
	return spec_names[spec];
}

enum mdp_key_spec
mdp_key_spec_from_name(const char *name)
{
	unsigned i;

	if (name == NULL)
		return MDP_AT_NONE;
	for (i = 1; i < sizeof(spec_names) / sizeof(spec_names[0]); i++)
		if (strcmp(name, spec_names[i]) == 0)
			return (enum mdp_key_spec)i;
	return MDP_AT_NONE;
}

/* ---- constructors from raw components ---- */

enum mdp_err
blob_rsa_public_from_components(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
				struct mdp_key **out)
{
	enum mdp_err rv;
	struct rsa_bn r = {0};

	if (n == NULL || e == NULL || nlen == 0 || elen == 0 || out == NULL)
		return mdp_err_reason(MDP_ERR_ARGS, "RSA public key: modulus and exponent needed");
	if (nlen > BLOB_RSA_MAX_BITS / 8 + 16 || elen > BLOB_RSA_MAX_BITS / 8)
		return mdp_err_reason(MDP_ERR_OVERFLOW, "RSA public key: components too long");
	r.n = bn_from_be(n, nlen, false);
	r.e = bn_from_be(e, elen, false);
	if (r.n == NULL || r.e == NULL) {
		rsa_bn_clear(&r);
		return mdp_err_reason(MDP_ERR_NOMEM, "RSA public key: out of memory");
	}
	rv = rsa_key_build(&r, 0, 0, "RSA public key", out);
	rsa_bn_clear(&r);
	return rv;
}

enum mdp_err
blob_rsa_private_from_components(const struct blob_rsa_parts *parts, enum mdp_key_spec spec,
				 unsigned flags, struct mdp_key **out)
{
	enum mdp_err rv;
	struct rsa_bn r = {0};
	struct mdp_key *k = NULL;
	const size_t max = BLOB_RSA_MAX_BITS / 8 + 16;
	int crt;

	if (parts == NULL || out == NULL || !parts->n_len || !parts->e_len || !parts->p_len ||
	    !parts->q_len || !parts->n || !parts->e || !parts->p || !parts->q)
		return mdp_err_reason(MDP_ERR_ARGS, "RSA private key: n, e, p and q are required");
	if (spec != MDP_AT_NONE && !MDP_KEY_SPEC_IS_RSA(spec))
		return mdp_err_reason(MDP_ERR_ARGS, "RSA private key: key spec %s is not RSA",
				      mdp_key_spec_name(spec));
	crt = (parts->d && parts->d_len) + (parts->dp && parts->dp_len) +
	      (parts->dq && parts->dq_len) + (parts->qinv && parts->qinv_len);
	if (crt != 0 && crt != 4)
		return mdp_err_reason(MDP_ERR_ARGS,
				      "RSA private key: give all of d, dP, dQ, qInv or none");
	if (parts->n_len > max || parts->e_len > max || parts->p_len > max || parts->q_len > max ||
	    parts->d_len > max || parts->dp_len > max || parts->dq_len > max ||
	    parts->qinv_len > max)
		return mdp_err_reason(MDP_ERR_OVERFLOW, "RSA private key: components too long");
	r.n = bn_from_be(parts->n, parts->n_len, false);
	r.e = bn_from_be(parts->e, parts->e_len, false);
	r.p = bn_from_be(parts->p, parts->p_len, true);
	r.q = bn_from_be(parts->q, parts->q_len, true);
	if (r.n == NULL || r.e == NULL || r.p == NULL || r.q == NULL)
		goto nomem;
	if (crt) {
		r.d = bn_from_be(parts->d, parts->d_len, true);
		r.dp = bn_from_be(parts->dp, parts->dp_len, true);
		r.dq = bn_from_be(parts->dq, parts->dq_len, true);
		r.qinv = bn_from_be(parts->qinv, parts->qinv_len, true);
		if (r.d == NULL || r.dp == NULL || r.dq == NULL || r.qinv == NULL)
			goto nomem;
	}
	rv = rsa_key_build(&r, 0, flags, "RSA private key", &k);
	rsa_bn_clear(&r);
	if (rv != MDP_OK)
		return rv;
	if (spec != MDP_AT_NONE)
		k->spec = spec;
	*out = k;
	return MDP_OK;
nomem:
	rsa_bn_clear(&r);
	return mdp_err_reason(MDP_ERR_NOMEM, "RSA private key: out of memory");
}

enum mdp_err
blob_ec_public_from_point(enum mdp_key_spec spec, const uint8_t *point, size_t len,
			  struct mdp_key **out)
{
	enum mdp_err rv;
	int nid = ec_spec_nid(spec);
	size_t flen = ec_field_len(nid);
	struct mdp_key *k = NULL;

	if (flen == 0 || point == NULL || out == NULL)
		return mdp_err_reason(MDP_ERR_ARGS, "EC public key: an EC key spec and a point are "
						    "required");
	if (len != 1 + 2 * flen || point[0] != 0x04)
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "EC public key: expected an uncompressed point of %zu bytes "
				      "(04 || X || Y), got %zu bytes",
				      1 + 2 * flen, len);
	rv = ec_key_build(nid, point + 1, point + 1 + flen, NULL, 0, 0, "EC public key", &k);
	if (rv != MDP_OK)
		return rv;
	k->spec = spec;
	*out = k;
	return MDP_OK;
}

enum mdp_err
blob_ec_private_from_scalar(enum mdp_key_spec spec, const uint8_t *d, size_t dlen,
			    struct mdp_key **out)
{
	enum mdp_err rv;
	int nid = ec_spec_nid(spec);
	struct mdp_key *k = NULL;

	if (nid == 0 || d == NULL || out == NULL)
		return mdp_err_reason(MDP_ERR_ARGS,
				      "EC private key: an EC key spec and a scalar are required");
	/* Accept leading zero bytes beyond the field length (PKCS#11 allows any length). */
	while (dlen > ec_field_len(nid) && *d == 0) {
		d++;
		dlen--;
	}
	rv = ec_key_build(nid, NULL, NULL, d, dlen, 0, "EC private key", &k);
	if (rv != MDP_OK)
		return rv;
	k->spec = spec;
	*out = k;
	return MDP_OK;
}

/* ---- component export ---- */

static const char *const rsa_part_param[] = {
	[BLOB_RSA_N] = OSSL_PKEY_PARAM_RSA_N,
	[BLOB_RSA_E] = OSSL_PKEY_PARAM_RSA_E,
	[BLOB_RSA_D] = OSSL_PKEY_PARAM_RSA_D,
	[BLOB_RSA_P] = OSSL_PKEY_PARAM_RSA_FACTOR1,
	[BLOB_RSA_Q] = OSSL_PKEY_PARAM_RSA_FACTOR2,
	[BLOB_RSA_DP] = OSSL_PKEY_PARAM_RSA_EXPONENT1,
	[BLOB_RSA_DQ] = OSSL_PKEY_PARAM_RSA_EXPONENT2,
	[BLOB_RSA_QINV] = OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

enum mdp_err
mdp_key_rsa_component(const struct mdp_key *k, enum blob_rsa_part part, size_t width, uint8_t **out,
		      size_t *out_len)
{
	enum mdp_err rv = MDP_OK;
	bool secret = part != BLOB_RSA_N && part != BLOB_RSA_E;
	BIGNUM *bn = NULL;
	uint8_t *p = NULL;
	size_t need, len;

	if (k == NULL || out == NULL || out_len == NULL ||
	    (unsigned)part >= sizeof(rsa_part_param) / sizeof(rsa_part_param[0]))
		return mdp_err_reason(MDP_ERR_ARGS, "RSA component: bad arguments");
	if (k->type != EVP_PKEY_RSA)
		return mdp_err_reason(MDP_ERR_ARGS, "RSA component: not an RSA key");
	if (secret && !k->priv)
		return mdp_err_reason(MDP_ERR_ARGS, "RSA component: a public key has no private "
						    "parts");
	bn = get_bn(k->pkey, rsa_part_param[part], secret);
	if (bn == NULL)
		return mdp_err_reason(MDP_ERR_NOT_FOUND, "RSA component: the key lacks %s",
				      rsa_part_param[part]);
	need = (size_t)BN_num_bytes(bn);
	if (need == 0)
		need = 1;
	if (width != 0 && need > width) {
		rv = mdp_err_reason(MDP_ERR_OVERFLOW, "RSA component %s needs %zu bytes, not %zu",
				    rsa_part_param[part], need, width);
		goto out;
	}
	len = width ? width : need;
	p = mdp_zalloc(len);
	if (p == NULL) {
		rv = mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (BN_bn2binpad(bn, p, (int)len) != (int)len) {
		mdp_secure_free(p, len);
		rv = mdp_err_reason(MDP_ERR_CRYPTO, "RSA component: conversion failed");
		goto out;
	}
	*out = p;
	*out_len = len;
out:
	BN_clear_free(bn);
	return rv;
}

enum mdp_err
mdp_key_ec_point(const struct mdp_key *k, uint8_t **out, size_t *out_len)
{
	enum mdp_err rv;
	size_t flen = mdp_key_ec_field_len(k);
	uint8_t *p;

	if (flen == 0 || out == NULL || out_len == NULL)
		return mdp_err_reason(MDP_ERR_ARGS, "EC point: not an EC key");
	p = mdp_zalloc(1 + 2 * flen);
	if (p == NULL)
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	p[0] = 0x04;
	rv = ec_parts_from_key(k, p + 1, p + 1 + flen, NULL);
	if (rv != MDP_OK) {
		free(p);
		return rv;
	}
	*out = p;
	*out_len = 1 + 2 * flen;
	return MDP_OK;
}

enum mdp_err
mdp_key_ec_private(const struct mdp_key *k, uint8_t **out, size_t *out_len)
{
	enum mdp_err rv;
	size_t flen = mdp_key_ec_field_len(k);
	uint8_t x[66], y[66];
	uint8_t *d;

	if (flen == 0 || out == NULL || out_len == NULL)
		return mdp_err_reason(MDP_ERR_ARGS, "EC private scalar: not an EC key");
	d = mdp_zalloc(flen);
	if (d == NULL)
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	rv = ec_parts_from_key(k, x, y, d);
	if (rv != MDP_OK) {
		mdp_secure_free(d, flen);
		return rv;
	}
	*out = d;
	*out_len = flen;
	return MDP_OK;
}

enum mdp_err
mdp_key_public_sha256(const struct mdp_key *k, uint8_t digest[32])
{
	unsigned char *der = NULL;
	unsigned int dlen = 0;
	int len;

	if (k == NULL || digest == NULL)
		return mdp_err_reason(MDP_ERR_ARGS, "public key hash: NULL argument");
	len = i2d_PUBKEY(k->pkey, &der);
	if (len <= 0)
		return mdp_err_reason(MDP_ERR_CRYPTO, "cannot encode the public key");
	if (!EVP_Digest(der, (size_t)len, digest, &dlen, EVP_sha256(), NULL) || dlen != 32) {
		OPENSSL_free(der);
		return mdp_err_reason(MDP_ERR_CRYPTO, "SHA-256 failed");
	}
	OPENSSL_free(der);
	return MDP_OK;
}
