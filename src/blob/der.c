/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PKCS#8, SubjectPublicKeyInfo and traditional (PKCS#1 / SEC1) keys, DER and PEM. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define MDP_LOG_AREA MDP_AREA_BLOB
#include "blob/internal.h"
#include "common/ossl.h"
#include "common/log.h"
#include "common/secmem.h"

/* OpenSSL's last reason, for error messages; clears the error queue. */
static const char *
ossl_reason(void)
{
	static _Thread_local char text[128];
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(text, sizeof(text), "%s", r ? r : "rejected by OpenSSL");
	ERR_clear_error();
	return text;
}

/* ---- DER structure sniffing ---- */

/* One DER header with a one-byte tag: tag, header length and value length (no range check). */
static bool
der_hdr(const uint8_t *p, size_t len, uint8_t *tag, size_t *hlen, size_t *vlen)
{
	size_t n, i, v = 0;

	if (len < 2)
		return false;
	*tag = p[0];
	if ((p[0] & 0x1f) == 0x1f)
		return false;
	if (p[1] < 0x80) {
		*hlen = 2;
		*vlen = p[1];
		return true;
	}
	n = p[1] & 0x7f;
	if (n == 0 || n > 4 || len < 2 + n)
		return false;
	for (i = 0; i < n; i++)
		v = (v << 8) | p[2 + i];
	*hlen = 2 + n;
	*vlen = v;
	return true;
}

/* Tags of the first two elements inside the outer SEQUENCE; 0 when not readable. */
static void
der_inner_tags(const uint8_t *p, size_t len, uint8_t *t1, uint8_t *t2)
{
	uint8_t tag;
	size_t h, v, h1, v1;

	*t1 = *t2 = 0;
	if (!der_hdr(p, len, &tag, &h, &v) || tag != 0x30)
		return;
	p += h;
	len -= h;
	if (!der_hdr(p, len, t1, &h1, &v1))
		return;
	if (v1 > len - h1 || len - h1 - v1 < 1)
		return;
	*t2 = p[h1 + v1];
}

enum blob_format
der_detect(const uint8_t *p, size_t len)
{
	uint8_t t1, t2;

	der_inner_tags(p, len, &t1, &t2);
	if (t1 == 0x30 && (t2 == 0x03 || t2 == 0x04))
		return t2 == 0x03 ? BLOB_FMT_SPKI : BLOB_FMT_PKCS8; /* 0x04: encrypted PKCS#8 */
	if (t1 == 0x02 && t2 == 0x30)
		return BLOB_FMT_PKCS8;
	if (t1 == 0x02 && (t2 == 0x02 || t2 == 0x04))
		return BLOB_FMT_TRADITIONAL;
	return BLOB_FMT_UNKNOWN;
}

static const char *
der_name(enum blob_format f)
{
	switch (f) {
	case BLOB_FMT_PKCS8:
		return "PKCS#8 PrivateKeyInfo";
	case BLOB_FMT_SPKI:
		return "SubjectPublicKeyInfo";
	case BLOB_FMT_TRADITIONAL:
		return "traditional private key";
	default:
		return "DER key";
	}
}

enum mdp_err
der_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags, struct mdp_key **out)
{
	enum mdp_err rv = MDP_OK;
	enum blob_format got = der_detect(p, len);
	const char *what = der_name(got);
	const unsigned char *q = p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t t1, t2;

	if (got == BLOB_FMT_UNKNOWN)
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "DER: %zu bytes that are not a PKCS#8, SubjectPublicKeyInfo, "
				      "PKCS#1 or SEC1 structure (truncated or malformed)",
				      len);
	if (fmt != BLOB_FMT_UNKNOWN && fmt != got)
		return mdp_err_reason(MDP_ERR_FORMAT, "DER: a %s where a %s was expected", what,
				      der_name(fmt));
	if (len > LONG_MAX)
		return mdp_err_reason(MDP_ERR_OVERFLOW, "DER: input too large");
	der_inner_tags(p, len, &t1, &t2);
	switch (got) {
	case BLOB_FMT_PKCS8:
		if (t1 == 0x30)
			return mdp_err_reason(MDP_ERR_UNSUPPORTED,
					      "encrypted PKCS#8 (EncryptedPrivateKeyInfo) is not "
					      "supported: decrypt it first");
		/* The PKCS#8 structure is parsed first so that trailing bytes are told apart
		 * from a key the decoder does not know. */
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)len);
		if (p8 != NULL && q == p + len) {
			const unsigned char *r = p;

			pkey = mdp_pkey_decode_der(&r, len, "PrivateKeyInfo", NULL,
						   EVP_PKEY_KEYPAIR);
		}
		break;
	case BLOB_FMT_SPKI:
		pkey = mdp_pkey_decode_der(&q, len, "SubjectPublicKeyInfo", NULL,
					   EVP_PKEY_PUBLIC_KEY);
		break;
	default:
		pkey = mdp_pkey_decode_der(&q, len, "type-specific", t2 == 0x02 ? "RSA" : "EC",
					   EVP_PKEY_KEYPAIR);
		break;
	}
	if (pkey == NULL && (p8 == NULL || q == p + len)) {
		rv = mdp_err_reason(MDP_ERR_FORMAT, "%s: %s", what, ossl_reason());
		goto out;
	}
	if (q != p + len) {
		rv = mdp_err_reason(MDP_ERR_FORMAT, "%s: %zu trailing bytes after the key", what,
				    (size_t)(p + len - q));
		goto out;
	}
	rv = key_from_decoded(pkey, got, flags, what, out);
	if (rv == MDP_OK && got != BLOB_FMT_SPKI && !mdp_key_is_private(*out)) {
		mdp_key_free(*out);
		*out = NULL;
		rv = mdp_err_reason(MDP_ERR_FORMAT, "%s: no private key inside", what);
	}
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rv;
}

/* ---- PEM ---- */

static const char *
skip_space(const uint8_t *p, size_t len, size_t *off)
{
	size_t i = 0;

	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	*off = i;
	return (const char *)p + i;
}

static bool
starts_with(const uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

enum blob_format
pem_detect(const uint8_t *p, size_t len)
{
	size_t off;

	skip_space(p, len, &off);
	p += off;
	len -= off;
	if (!starts_with(p, len, "-----BEGIN "))
		return BLOB_FMT_UNKNOWN;
	p += 11;
	len -= 11;
	if (starts_with(p, len, "RSA PRIVATE KEY-----") ||
	    starts_with(p, len, "EC PRIVATE KEY-----") || starts_with(p, len, "EC PARAMETERS-----"))
		return BLOB_FMT_TRADITIONAL;
	return BLOB_FMT_PEM;
}

enum mdp_err
pem_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags, struct mdp_key **out)
{
	enum mdp_err rv = MDP_OK;
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	struct mdp_key *k = NULL;
	enum blob_format inner, src = BLOB_FMT_UNKNOWN;

	if (len > INT_MAX)
		return mdp_err_reason(MDP_ERR_OVERFLOW, "PEM: input too large");
	bio = BIO_new_mem_buf(p, (int)len);
	if (bio == NULL)
		return mdp_err_reason(MDP_ERR_NOMEM, "PEM: out of memory");
	for (;;) {
		if (!PEM_read_bio_ex(bio, &name, &header, &data, &dlen,
				     PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE)) {
			unsigned long e = ERR_peek_last_error();

			if (k != NULL && ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				break; /* no further block: done */
			rv = mdp_err_reason(MDP_ERR_FORMAT, "PEM: %s", ossl_reason());
			goto out;
		}
		if (strcmp(name, "EC PARAMETERS") == 0)
			goto next; /* written by "openssl ecparam -genkey" before the key */
		if (k != NULL) {
			rv = mdp_err_reason(MDP_ERR_FORMAT,
					    "PEM: more than one key (a second \"%s\" block)", name);
			goto out;
		}
		if (header != NULL && header[0] != '\0') {
			rv = mdp_err_reason(
				MDP_ERR_UNSUPPORTED,
				"PEM: encrypted \"%s\" is not supported: decrypt it first", name);
			goto out;
		}
		if (strcmp(name, "PRIVATE KEY") == 0) {
			inner = BLOB_FMT_PKCS8;
		} else if (strcmp(name, "PUBLIC KEY") == 0) {
			inner = BLOB_FMT_SPKI;
		} else if (strcmp(name, "RSA PRIVATE KEY") == 0 ||
			   strcmp(name, "EC PRIVATE KEY") == 0) {
			inner = BLOB_FMT_TRADITIONAL;
		} else if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0) {
			rv = mdp_err_reason(MDP_ERR_UNSUPPORTED,
					    "PEM: encrypted PKCS#8 is not supported: decrypt it "
					    "first");
			goto out;
		} else {
			rv = mdp_err_reason(MDP_ERR_UNSUPPORTED,
					    "PEM: \"%s\" is not a key type "
					    "mdp11 reads",
					    name);
			goto out;
		}
		if (fmt == BLOB_FMT_TRADITIONAL && inner != BLOB_FMT_TRADITIONAL) {
			rv = mdp_err_reason(MDP_ERR_FORMAT,
					    "PEM: a \"%s\" where a traditional key was expected",
					    name);
			goto out;
		}
		rv = der_parse(data, (size_t)dlen, inner, flags, &k);
		if (rv != MDP_OK)
			goto out;
		if (strcmp(name, "RSA PRIVATE KEY") == 0 && mdp_key_type(k) != EVP_PKEY_RSA) {
			rv = mdp_err_reason(MDP_ERR_FORMAT,
					    "PEM: \"RSA PRIVATE KEY\" holds an EC key");
			goto out;
		}
		if (strcmp(name, "EC PRIVATE KEY") == 0 && mdp_key_type(k) != EVP_PKEY_EC) {
			rv = mdp_err_reason(MDP_ERR_FORMAT,
					    "PEM: \"EC PRIVATE KEY\" holds an RSA key");
			goto out;
		}
		src = inner == BLOB_FMT_TRADITIONAL ? BLOB_FMT_TRADITIONAL : BLOB_FMT_PEM;
	next:
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_secure_clear_free(data, (size_t)dlen);
		name = header = NULL;
		data = NULL;
		dlen = 0;
	}
	k->src = src;
	*out = k;
	k = NULL;
out:
	ERR_clear_error();
	mdp_key_free(k);
	OPENSSL_free(name);
	OPENSSL_free(header);
	if (data)
		OPENSSL_secure_clear_free(data, (size_t)dlen);
	BIO_free(bio);
	return rv;
}

/* ---- writing ---- */

static enum mdp_err
der_encode(const struct mdp_key *k, bool priv, struct mdp_buf *b)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	int len;

	if (priv) {
		if (!mdp_key_is_private(k))
			return mdp_err_reason(
				MDP_ERR_ARGS,
				"PKCS#8: a private key is needed, this is a public key");
		p8 = EVP_PKEY2PKCS8(mdp_key_pkey(k));
		len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
		PKCS8_PRIV_KEY_INFO_free(p8);
	} else {
		len = i2d_PUBKEY(mdp_key_pkey(k), &der);
	}
	if (len <= 0) {
		ERR_clear_error();
		return mdp_err_reason(MDP_ERR_CRYPTO, "%s: OpenSSL cannot encode the key",
				      priv ? "PKCS#8" : "SubjectPublicKeyInfo");
	}
	buf_put_bytes(b, der, (size_t)len);
	OPENSSL_clear_free(der, (size_t)len);
	if (b->bad)
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	return MDP_OK;
}

static void
pem_armour(struct mdp_buf *b, const char *label, const uint8_t *der, size_t len)
{
	unsigned char line[65];
	size_t off, n;
	int w;

	buf_put_bytes(b, "-----BEGIN ", 11);
	buf_put_bytes(b, label, strlen(label));
	buf_put_bytes(b, "-----\n", 6);
	for (off = 0; off < len; off += n) {
		n = len - off < 48 ? len - off : 48;
		w = EVP_EncodeBlock(line, der + off, (int)n);
		buf_put_bytes(b, line, (size_t)w);
		buf_put_u8(b, '\n');
	}
	mdp_wipe(line, sizeof(line));
	buf_put_bytes(b, "-----END ", 9);
	buf_put_bytes(b, label, strlen(label));
	buf_put_bytes(b, "-----\n", 6);
}

enum mdp_err
der_write(const struct mdp_key *k, enum blob_format fmt, struct mdp_buf *b)
{
	enum mdp_err rv;
	struct mdp_buf der;
	bool priv = fmt == BLOB_FMT_PKCS8 || (fmt == BLOB_FMT_PEM && mdp_key_is_private(k));

	if (fmt != BLOB_FMT_PEM)
		return der_encode(k, priv, b);
	buf_init_secret(&der);
	rv = der_encode(k, priv, &der);
	if (rv == MDP_OK) {
		pem_armour(b, priv ? "PRIVATE KEY" : "PUBLIC KEY", der.data, der.len);
		if (b->bad)
			rv = mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	}
	buf_free(&der);
	return rv;
}
