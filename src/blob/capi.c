/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CAPI PUBLICKEYBLOB / PRIVATEKEYBLOB for RSA (spec/blobs.md §1, §2): little-endian throughout. */
#include "config.h"

#include <string.h>

#define MDP_LOG_AREA MDP_AREA_BLOB
#include "blob/internal.h"
#include "common/log.h"

#define CAPI_PUBLICKEYBLOB 0x06
#define CAPI_PRIVATEKEYBLOB 0x07
#define CAPI_CUR_BLOB_VERSION 2
#define CAPI_HEADER_LEN 20 /* BLOBHEADER (8) + RSAPUBKEY (12) */

/*
 * Component widths. Microsoft's text says bitlen/8 and bitlen/16; for bit lengths that are not
 * a multiple of 16 we follow OpenSSL's MSBLOB code and round up (docs/blobs.md): the same
 * numbers for every real key size, and OpenSSL stays an independent oracle for odd sizes.
 */
static size_t
capi_n8(unsigned bitlen)
{
	return ((size_t)bitlen + 7) / 8;
}

static size_t
capi_n16(unsigned bitlen)
{
	return ((size_t)bitlen + 15) / 16;
}

static size_t
capi_expected_len(bool priv, unsigned bitlen)
{
	if (!priv)
		return CAPI_HEADER_LEN + capi_n8(bitlen);
	return CAPI_HEADER_LEN + 2 * capi_n8(bitlen) + 5 * capi_n16(bitlen);
}

static const char *
capi_name(bool priv)
{
	return priv ? "CAPI PRIVATEKEYBLOB" : "CAPI PUBLICKEYBLOB";
}

static void
magic_text(uint32_t magic, char out[5])
{
	int i;

	for (i = 0; i < 4; i++) {
		uint8_t c = (uint8_t)(magic >> (8 * i));

		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
	}
	out[4] = '\0';
}

enum mdp_err
capi_parse(const uint8_t *p, size_t len, enum blob_format fmt, unsigned flags, struct mdp_key **out)
{
	enum mdp_err rv;
	struct mdp_cursor c;
	struct rsa_bn r = {0};
	struct mdp_key *k = NULL;
	uint8_t btype, version;
	uint16_t reserved;
	uint32_t alg, magic, bitlen, pubexp;
	size_t n8, n16, want;
	bool priv;
	const char *what;
	char mtext[5];
	uint8_t ebytes[4];

	cur_init(&c, p, len);
	btype = cur_get_u8(&c);
	version = cur_get_u8(&c);
	reserved = cur_get_le16(&c);
	alg = cur_get_le32(&c);
	if (c.bad)
		return mdp_err_reason(MDP_ERR_TRUNCATED,
				      "CAPI blob: %zu bytes, shorter than its 8-byte BLOBHEADER",
				      len);
	if (btype != CAPI_PUBLICKEYBLOB && btype != CAPI_PRIVATEKEYBLOB)
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "CAPI blob: bType 0x%02x is neither PUBLICKEYBLOB (6) nor "
				      "PRIVATEKEYBLOB (7)",
				      btype);
	priv = btype == CAPI_PRIVATEKEYBLOB;
	what = capi_name(priv);
	if (fmt == BLOB_FMT_CAPI_PUBLIC && priv)
		return mdp_err_reason(
			MDP_ERR_FORMAT,
			"CAPI blob: a PRIVATEKEYBLOB where a PUBLICKEYBLOB was expected");
	if (fmt == BLOB_FMT_CAPI_PRIVATE && !priv)
		return mdp_err_reason(
			MDP_ERR_FORMAT,
			"CAPI blob: a PUBLICKEYBLOB where a PRIVATEKEYBLOB was expected");
	if (version != CAPI_CUR_BLOB_VERSION)
		return mdp_err_reason(MDP_ERR_UNSUPPORTED,
				      "%s: bVersion %u is not supported (RSA blobs are version 2)",
				      what, version);
	if (reserved != 0)
		return mdp_err_reason(MDP_ERR_FORMAT, "%s: reserved field is 0x%04x, must be 0",
				      what, reserved);
	if (alg != MDP_CALG_RSA_KEYX && alg != MDP_CALG_RSA_SIGN) {
		/* DSS (0x2200), DH (0xAA0x) and the rest share the header: name them clearly. */
		if ((alg & 0x0E00u) == 0x0200u)
			return mdp_err_reason(MDP_ERR_UNSUPPORTED,
					      "%s: DSS keys (aiKeyAlg 0x%08x) are not supported",
					      what, alg);
		if ((alg & 0x0E00u) == 0x0A00u)
			return mdp_err_reason(MDP_ERR_UNSUPPORTED,
					      "%s: DH keys (aiKeyAlg 0x%08x) are not supported",
					      what, alg);
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "%s: aiKeyAlg 0x%08x is neither CALG_RSA_KEYX nor "
				      "CALG_RSA_SIGN",
				      what, alg);
	}
	magic = cur_get_le32(&c);
	bitlen = cur_get_le32(&c);
	pubexp = cur_get_le32(&c);
	if (c.bad)
		return mdp_err_reason(MDP_ERR_TRUNCATED,
				      "%s: %zu bytes, shorter than its 20-byte header", what, len);
	magic_text(magic, mtext);
	if (magic != (priv ? MAGIC_RSA2 : MAGIC_RSA1))
		return mdp_err_reason(MDP_ERR_FORMAT, "%s: magic 0x%08x (\"%s\"), expected \"%s\"",
				      what, magic, mtext, priv ? "RSA2" : "RSA1");
	if (bitlen < BLOB_RSA_MIN_BITS || bitlen > BLOB_RSA_MAX_BITS)
		return mdp_err_reason(MDP_ERR_UNSUPPORTED,
				      "%s: bitlen %u outside the supported %u..%u", what, bitlen,
				      BLOB_RSA_MIN_BITS, BLOB_RSA_MAX_BITS);
	want = capi_expected_len(priv, bitlen);
	if (len != want)
		return mdp_err_reason(len < want ? MDP_ERR_TRUNCATED : MDP_ERR_FORMAT,
				      "%s: %zu bytes, expected %zu for bitlen %u", what, len, want,
				      bitlen);
	n8 = capi_n8(bitlen);
	n16 = capi_n16(bitlen);
	ebytes[0] = (uint8_t)pubexp;
	ebytes[1] = (uint8_t)(pubexp >> 8);
	ebytes[2] = (uint8_t)(pubexp >> 16);
	ebytes[3] = (uint8_t)(pubexp >> 24);
	r.e = bn_from_le(ebytes, 4, false);
	r.n = bn_from_le(cur_get_bytes(&c, n8), n8, false);
	if (priv) {
		r.p = bn_from_le(cur_get_bytes(&c, n16), n16, true);
		r.q = bn_from_le(cur_get_bytes(&c, n16), n16, true);
		r.dp = bn_from_le(cur_get_bytes(&c, n16), n16, true);
		r.dq = bn_from_le(cur_get_bytes(&c, n16), n16, true);
		r.qinv = bn_from_le(cur_get_bytes(&c, n16), n16, true);
		r.d = bn_from_le(cur_get_bytes(&c, n8), n8, true);
	}
	if (c.bad || cur_left(&c) != 0) {
		rv = mdp_err_reason(MDP_ERR_INTERNAL, "%s: size bookkeeping failed", what);
		goto out;
	}
	if (r.n == NULL || r.e == NULL ||
	    (priv && (!r.p || !r.q || !r.dp || !r.dq || !r.qinv || !r.d))) {
		rv = mdp_err_reason(MDP_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rv = rsa_key_build(&r, bitlen, flags, what, &k);
	if (rv != MDP_OK)
		goto out;
	k->src = priv ? BLOB_FMT_CAPI_PRIVATE : BLOB_FMT_CAPI_PUBLIC;
	k->alg_id = alg;
	k->magic = magic;
	k->spec = alg == MDP_CALG_RSA_SIGN ? MDP_AT_SIGNATURE : MDP_AT_KEYEXCHANGE;
	*out = k;
	log_debug("%s: %u-bit RSA, aiKeyAlg 0x%08x", what, bitlen, alg);
out:
	rsa_bn_clear(&r);
	return rv;
}

enum mdp_err
capi_write(const struct mdp_key *k, enum blob_format fmt, enum mdp_key_spec spec, struct mdp_buf *b)
{
	enum mdp_err rv = MDP_OK;
	struct rsa_bn r = {0};
	bool priv = fmt == BLOB_FMT_CAPI_PRIVATE;
	const char *what = capi_name(priv);
	unsigned bitlen;
	size_t n8, n16;
	uint32_t alg;

	if (spec == MDP_AT_NONE)
		spec = k->spec;
	if (!MDP_KEY_SPEC_IS_RSA(spec))
		return mdp_err_reason(MDP_ERR_ARGS, "%s: key spec %s is not an RSA key spec", what,
				      mdp_key_spec_name(spec));
	alg = spec == MDP_AT_SIGNATURE ? MDP_CALG_RSA_SIGN : MDP_CALG_RSA_KEYX;
	rv = rsa_bn_from_key(k, priv, &r);
	if (rv != MDP_OK)
		return blob_err_prefix(rv, what);
	bitlen = (unsigned)BN_num_bits(r.n);
	n8 = capi_n8(bitlen);
	n16 = capi_n16(bitlen);
	if (BN_num_bits(r.e) > 32) {
		rv = mdp_err_reason(MDP_ERR_OVERFLOW,
				    "%s: the public exponent has %d bits; CAPI holds 32 at most",
				    what, BN_num_bits(r.e));
		goto out;
	}
	buf_put_u8(b, priv ? CAPI_PRIVATEKEYBLOB : CAPI_PUBLICKEYBLOB);
	buf_put_u8(b, CAPI_CUR_BLOB_VERSION);
	buf_put_le16(b, 0);
	buf_put_le32(b, alg);
	buf_put_le32(b, priv ? MAGIC_RSA2 : MAGIC_RSA1);
	buf_put_le32(b, bitlen);
	buf_put_bn_le(b, r.e, 4);
	buf_put_bn_le(b, r.n, n8);
	if (priv) {
		if (!buf_put_bn_le(b, r.p, n16) || !buf_put_bn_le(b, r.q, n16)) {
			rv = mdp_err_reason(
				MDP_ERR_UNSUPPORTED,
				"%s: a prime is longer than bitlen/16 bytes (unbalanced "
				"primes cannot be written in the CAPI layout)",
				what);
			goto out;
		}
		buf_put_bn_le(b, r.dp, n16);
		buf_put_bn_le(b, r.dq, n16);
		buf_put_bn_le(b, r.qinv, n16);
		buf_put_bn_le(b, r.d, n8);
	}
	if (b->bad) {
		rv = mdp_err_reason(MDP_ERR_NOMEM, "%s: writing failed", what);
		goto out;
	}
out:
	rsa_bn_clear(&r);
	return rv;
}
