/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The BLOB translator's entry points: format names, detection, and dispatch to the codecs. */
#include "config.h"

#include <string.h>

#define MDP_LOG_AREA MDP_AREA_BLOB
#include "blob/internal.h"
#include "common/log.h"
#include "common/secmem.h"

static const char *const format_names[BLOB_FMT__COUNT] = {
	[BLOB_FMT_UNKNOWN] = "unknown",
	[BLOB_FMT_CAPI_PUBLIC] = "capi-public",
	[BLOB_FMT_CAPI_PRIVATE] = "capi-private",
	[BLOB_FMT_CNG_RSA_PUBLIC] = "cng-rsa-public",
	[BLOB_FMT_CNG_RSA_PRIVATE] = "cng-rsa-private",
	[BLOB_FMT_CNG_RSA_FULL] = "cng-rsa-full",
	[BLOB_FMT_CNG_ECC_PUBLIC] = "cng-ecc-public",
	[BLOB_FMT_CNG_ECC_PRIVATE] = "cng-ecc-private",
	[BLOB_FMT_PKCS8] = "pkcs8",
	[BLOB_FMT_SPKI] = "spki",
	[BLOB_FMT_PEM] = "pem",
	[BLOB_FMT_TRADITIONAL] = "traditional",
};

const char *
blob_format_name(enum blob_format f)
{
	if ((unsigned)f >= BLOB_FMT__COUNT)
		return "unknown";
	return format_names[f];
}

enum blob_format
blob_format_from_name(const char *name)
{
	unsigned i;

	if (name == NULL)
		return BLOB_FMT_UNKNOWN;
	for (i = 1; i < BLOB_FMT__COUNT; i++)
		if (strcmp(name, format_names[i]) == 0)
			return (enum blob_format)i;
	return BLOB_FMT_UNKNOWN;
}

bool
blob_format_is_private(enum blob_format f)
{
	switch (f) {
	case BLOB_FMT_CAPI_PRIVATE:
	case BLOB_FMT_CNG_RSA_PRIVATE:
	case BLOB_FMT_CNG_RSA_FULL:
	case BLOB_FMT_CNG_ECC_PRIVATE:
	case BLOB_FMT_PKCS8:
	case BLOB_FMT_TRADITIONAL:
		return true;
	default:
		return false;
	}
}

static uint32_t
le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

enum blob_format
blob_detect(const uint8_t *p, size_t len)
{
	uint32_t magic;

	if (p == NULL || len < 2)
		return BLOB_FMT_UNKNOWN;
	/* CAPI: BLOBHEADER bType PUBLICKEYBLOB/PRIVATEKEYBLOB, bVersion 2 or 3 (§1). */
	if ((p[0] == 0x06 || p[0] == 0x07) && (p[1] == 2 || p[1] == 3))
		return p[0] == 0x06 ? BLOB_FMT_CAPI_PUBLIC : BLOB_FMT_CAPI_PRIVATE;
	if (p[0] == 0x30)
		return der_detect(p, len);
	if (len >= 4) {
		magic = le32_at(p);
		if (magic == MAGIC_RSA1)
			return BLOB_FMT_CNG_RSA_PUBLIC;
		if (magic == MAGIC_RSA2)
			return BLOB_FMT_CNG_RSA_PRIVATE;
		if (magic == MAGIC_RSA3)
			return BLOB_FMT_CNG_RSA_FULL;
		switch (cng_ecc_magic_kind(magic)) {
		case 1:
			return BLOB_FMT_CNG_ECC_PUBLIC;
		case 2:
			return BLOB_FMT_CNG_ECC_PRIVATE;
		default:
			break;
		}
	}
	return pem_detect(p, len);
}

enum mdp_err
blob_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags, struct mdp_key **out)
{
	enum blob_format f = fmt;

	if (out == NULL || (p == NULL && len != 0) || (unsigned)fmt >= BLOB_FMT__COUNT)
		return mdp_err_reason(MDP_ERR_ARGS, "blob_parse: bad arguments");
	if (flags & ~BLOB_NO_VALIDATION)
		return mdp_err_reason(MDP_ERR_ARGS, "blob_parse: unknown flags 0x%x", flags);
	if (len == 0)
		return mdp_err_reason(MDP_ERR_TRUNCATED, "empty key blob");
	if (f == BLOB_FMT_UNKNOWN) {
		f = blob_detect(p, len);
		if (f == BLOB_FMT_UNKNOWN) {
			if (p[0] == 0x30)
				return der_parse(p, len, BLOB_FMT_UNKNOWN, flags, out);
			return mdp_err_reason(
				MDP_ERR_FORMAT,
				"unrecognised key blob (%zu bytes starting %02x %02x)", len, p[0],
				len > 1 ? p[1] : 0);
		}
	}
	switch (f) {
	case BLOB_FMT_CAPI_PUBLIC:
	case BLOB_FMT_CAPI_PRIVATE:
		return capi_parse(p, len, fmt, flags, out);
	case BLOB_FMT_CNG_RSA_PUBLIC:
	case BLOB_FMT_CNG_RSA_PRIVATE:
	case BLOB_FMT_CNG_RSA_FULL:
		return cng_rsa_parse(p, len, fmt, flags, out);
	case BLOB_FMT_CNG_ECC_PUBLIC:
	case BLOB_FMT_CNG_ECC_PRIVATE:
		return cng_ecc_parse(p, len, fmt, flags, out);
	case BLOB_FMT_PKCS8:
	case BLOB_FMT_SPKI:
		return der_parse(p, len, f, flags, out);
	case BLOB_FMT_PEM:
		return pem_parse(p, len, fmt, flags, out);
	case BLOB_FMT_TRADITIONAL:
		if (pem_detect(p, len) != BLOB_FMT_UNKNOWN)
			return pem_parse(p, len, BLOB_FMT_TRADITIONAL, flags, out);
		return der_parse(p, len, BLOB_FMT_TRADITIONAL, flags, out);
	default:
		return mdp_err_reason(MDP_ERR_ARGS, "blob_parse: bad format");
	}
}

enum mdp_err
blob_write(const struct mdp_key *k, enum blob_format fmt, enum mdp_key_spec spec, uint8_t **out,
	   size_t *out_len)
{
	enum mdp_err rv;
	struct mdp_buf b;
	const char *name = blob_format_name(fmt);
	uint8_t *p;
	size_t len = 0;

	if (k == NULL || out == NULL || out_len == NULL)
		return mdp_err_reason(MDP_ERR_ARGS, "blob_write: NULL argument");
	if (fmt == BLOB_FMT_UNKNOWN || fmt == BLOB_FMT_TRADITIONAL ||
	    (unsigned)fmt >= BLOB_FMT__COUNT)
		return mdp_err_reason(MDP_ERR_ARGS, "blob_write: cannot write format %s", name);
	if (blob_format_is_private(fmt) && !k->priv)
		return mdp_err_reason(MDP_ERR_ARGS, "%s needs a private key; this is a public key",
				      name);
	if (spec != MDP_AT_NONE && (unsigned)spec > MDP_AT_ECDHE_P521)
		return mdp_err_reason(MDP_ERR_ARGS, "blob_write: bad key spec %d", (int)spec);
	buf_init_secret(&b);
	switch (fmt) {
	case BLOB_FMT_CAPI_PUBLIC:
	case BLOB_FMT_CAPI_PRIVATE:
	case BLOB_FMT_CNG_RSA_PUBLIC:
	case BLOB_FMT_CNG_RSA_PRIVATE:
	case BLOB_FMT_CNG_RSA_FULL:
		if (k->type != EVP_PKEY_RSA) {
			rv = mdp_err_reason(MDP_ERR_ARGS, "%s holds RSA keys; this is an EC key",
					    name);
			break;
		}
		if (fmt == BLOB_FMT_CAPI_PUBLIC || fmt == BLOB_FMT_CAPI_PRIVATE) {
			rv = capi_write(k, fmt, spec, &b);
			break;
		}
		if (spec != MDP_AT_NONE && !MDP_KEY_SPEC_IS_RSA(spec)) {
			rv = mdp_err_reason(MDP_ERR_ARGS, "%s: key spec %s is not an RSA key spec",
					    name, mdp_key_spec_name(spec));
			break;
		}
		rv = cng_rsa_write(k, fmt, &b);
		break;
	case BLOB_FMT_CNG_ECC_PUBLIC:
	case BLOB_FMT_CNG_ECC_PRIVATE:
		if (k->type != EVP_PKEY_EC) {
			rv = mdp_err_reason(MDP_ERR_ARGS, "%s holds EC keys; this is an RSA key",
					    name);
			break;
		}
		rv = cng_ecc_write(k, fmt, spec, &b);
		break;
	default:
		if (spec != MDP_AT_NONE &&
		    !(k->type == EVP_PKEY_RSA ? MDP_KEY_SPEC_IS_RSA(spec)
					      : ec_spec_nid(spec) == k->nid)) {
			rv = mdp_err_reason(MDP_ERR_ARGS, "%s: key spec %s does not fit this key",
					    name, mdp_key_spec_name(spec));
			break;
		}
		rv = der_write(k, fmt, &b);
		break;
	}
	if (rv != MDP_OK) {
		buf_free(&b);
		return rv;
	}
	p = buf_steal(&b, &len);
	buf_free(&b);
	if (p == NULL)
		return mdp_err_reason(MDP_ERR_NOMEM, "%s: out of memory", name);
	*out = p;
	*out_len = len;
	return MDP_OK;
}
