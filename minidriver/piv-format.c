/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PIV byte codecs: objects, CHUID, Key History, certificates, MSCMAP, chunks, mdp11's store. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <zlib.h>

#include "blob/blob.h"
#include "common/secmem.h"
#include "minidriver/piv.h"

/* ---- slots ---- */

static const uint8_t slot_order[PIV_SLOTS] = {0x9A, 0x9C, 0x9D, 0x9E, 0x82, 0x83, 0x84, 0x85,
					      0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D,
					      0x8E, 0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95};

int
piv_slot_index(uint8_t ref)
{
	switch (ref) {
	case PIV_SLOT_AUTH:
		return 0;
	case PIV_SLOT_SIGN:
		return 1;
	case PIV_SLOT_KEYMGMT:
		return 2;
	case PIV_SLOT_CARDAUTH:
		return 3;
	default:
		if (ref >= PIV_SLOT_RETIRED1 && ref <= PIV_SLOT_RETIRED20)
			return 4 + (ref - PIV_SLOT_RETIRED1);
		return -1;
	}
}

uint8_t
piv_slot_ref(int i)
{
	return i >= 0 && i < PIV_SLOTS ? slot_order[i] : 0;
}

uint32_t
piv_cert_tag(uint8_t ref)
{
	switch (ref) {
	case PIV_SLOT_AUTH:
		return 0x5FC105u;
	case PIV_SLOT_SIGN:
		return 0x5FC10Au;
	case PIV_SLOT_KEYMGMT:
		return 0x5FC10Bu;
	case PIV_SLOT_CARDAUTH:
		return 0x5FC101u;
	default:
		if (ref >= PIV_SLOT_RETIRED1 && ref <= PIV_SLOT_RETIRED20)
			return 0x5FC10Du + (uint32_t)(ref - PIV_SLOT_RETIRED1);
		return 0;
	}
}

uint8_t
piv_opensc_id(uint8_t ref)
{
	int i = piv_slot_index(ref);
	unsigned n;

	if (i < 0)
		return 0;
	/* OpenSC writes the decimal number 1..24 as a string and parses it as hex (spec §8.2). */
	n = (unsigned)i + 1;
	return (uint8_t)((n / 10) << 4 | (n % 10));
}

const char *
piv_slot_title(uint8_t ref)
{
	static const char *const retired[20] = {
		"Retired Key Management 1",  "Retired Key Management 2",
		"Retired Key Management 3",  "Retired Key Management 4",
		"Retired Key Management 5",  "Retired Key Management 6",
		"Retired Key Management 7",  "Retired Key Management 8",
		"Retired Key Management 9",  "Retired Key Management 10",
		"Retired Key Management 11", "Retired Key Management 12",
		"Retired Key Management 13", "Retired Key Management 14",
		"Retired Key Management 15", "Retired Key Management 16",
		"Retired Key Management 17", "Retired Key Management 18",
		"Retired Key Management 19", "Retired Key Management 20"};

	switch (ref) {
	case PIV_SLOT_AUTH:
		return "PIV Authentication";
	case PIV_SLOT_SIGN:
		return "Digital Signature";
	case PIV_SLOT_KEYMGMT:
		return "Key Management";
	case PIV_SLOT_CARDAUTH:
		return "Card Authentication";
	default:
		if (ref >= PIV_SLOT_RETIRED1 && ref <= PIV_SLOT_RETIRED20)
			return retired[ref - PIV_SLOT_RETIRED1];
		return "unknown slot";
	}
}

enum mdp_key_spec
piv_default_spec(uint8_t ref, bool rsa, unsigned bits)
{
	/* spec §8.7: 9C and 9E sign, 9A authenticates (exchange for RSA, as Windows logon keys
	 * are), 9D and the retired slots are key-management (decrypt / ECDH) keys. */
	bool sig =
		ref == PIV_SLOT_SIGN || ref == PIV_SLOT_CARDAUTH || (!rsa && ref == PIV_SLOT_AUTH);

	if (rsa)
		return sig ? MDP_AT_SIGNATURE : MDP_AT_KEYEXCHANGE;
	if (bits == 256)
		return sig ? MDP_AT_ECDSA_P256 : MDP_AT_ECDHE_P256;
	if (bits == 384)
		return sig ? MDP_AT_ECDSA_P384 : MDP_AT_ECDHE_P384;
	return MDP_AT_NONE;
}

uint8_t
piv_default_pin_policy(uint8_t ref)
{
	if (ref == PIV_SLOT_SIGN)
		return PIV_PIN_POLICY_ALWAYS;
	if (ref == PIV_SLOT_CARDAUTH)
		return PIV_PIN_POLICY_NEVER;
	return PIV_PIN_POLICY_ONCE;
}

/* ---- algorithms ---- */

unsigned
piv_alg_bits(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_RSA1024:
		return 1024;
	case PIV_ALG_RSA2048:
		return 2048;
	case PIV_ALG_RSA3072:
		return 3072;
	case PIV_ALG_RSA4096:
		return 4096;
	case PIV_ALG_P256:
		return 256;
	case PIV_ALG_P384:
		return 384;
	default:
		return 0;
	}
}

bool
piv_alg_is_rsa(uint8_t alg)
{
	return alg == PIV_ALG_RSA1024 || alg == PIV_ALG_RSA2048 || alg == PIV_ALG_RSA3072 ||
	       alg == PIV_ALG_RSA4096;
}

bool
piv_alg_is_ec(uint8_t alg)
{
	return alg == PIV_ALG_P256 || alg == PIV_ALG_P384;
}

uint8_t
piv_alg_for(bool rsa, unsigned bits)
{
	if (rsa) {
		switch (bits) {
		case 1024:
			return PIV_ALG_RSA1024;
		case 2048:
			return PIV_ALG_RSA2048;
		case 3072:
			return PIV_ALG_RSA3072;
		case 4096:
			return PIV_ALG_RSA4096;
		default:
			return 0;
		}
	}
	return bits == 256 ? PIV_ALG_P256 : bits == 384 ? PIV_ALG_P384 : 0;
}

size_t
piv_mgmt_block(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_3DES:
		return 8;
	case PIV_ALG_AES128:
	case PIV_ALG_AES192:
	case PIV_ALG_AES256:
		return 16;
	default:
		return 0;
	}
}

size_t
piv_mgmt_key_len(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_3DES:
	case PIV_ALG_AES192:
		return 24;
	case PIV_ALG_AES128:
		return 16;
	case PIV_ALG_AES256:
		return 32;
	default:
		return 0;
	}
}

bool
piv_pin_block(const uint8_t *pin, size_t len, uint8_t out[8])
{
	if (!pin || len == 0 || len > 8)
		return false;
	memset(out, 0xFF, 8);
	memcpy(out, pin, len);
	return true;
}

/* ---- object answers ---- */

enum mdp_err
piv_object_value(const uint8_t *p, size_t len, uint32_t tag, struct mdp_cursor *value)
{
	struct mdp_cursor c;
	uint32_t t = 0;
	enum mdp_err e;

	cur_init(&c, p, len);
	e = tlv_read(&c, &t, value);
	if (e != MDP_OK || t != tag || cur_left(&c) != 0)
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "PIV object answer: not one TLV of tag %X (%zu bytes)",
				      (unsigned)tag, len);
	return MDP_OK;
}

void
piv_get_data_field(struct mdp_buf *b, uint32_t tag)
{
	uint8_t t[3];
	size_t n = tag > 0xFFFF ? 3 : tag > 0xFF ? 2 : 1, i;

	for (i = 0; i < n; i++)
		t[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
	buf_put_tlv(b, 0x5C, t, n);
}

void
piv_put_data_field(struct mdp_buf *b, uint32_t tag, const uint8_t *value, size_t len)
{
	piv_get_data_field(b, tag);
	/* Discovery and BITGT are written with their own tags, every other object with 53. */
	buf_put_tlv(b, tag == PIV_OBJ_DISCOVERY || tag == 0x7F61u ? tag : 0x53u, value, len);
}

/* ---- CHUID ---- */

enum mdp_err
piv_chuid_parse(const uint8_t *p, size_t len, struct piv_chuid *out)
{
	struct mdp_cursor c, v;
	uint32_t t;
	enum mdp_err e;

	memset(out, 0, sizeof(*out));
	cur_init(&c, p, len);
	while (cur_left(&c) > 0) {
		e = tlv_read(&c, &t, &v);
		if (e != MDP_OK)
			return mdp_err_reason(MDP_ERR_FORMAT, "CHUID: malformed TLV at byte %zu",
					      c.pos);
		if (t == 0x30 && cur_left(&v) <= sizeof(out->fascn)) {
			out->fascn_len = cur_left(&v);
			memcpy(out->fascn, v.p + v.pos, out->fascn_len);
		} else if (t == 0x34 && cur_left(&v) == 16) {
			memcpy(out->guid, v.p + v.pos, 16);
			out->has_guid = true;
		} else if (t == 0x3E && cur_left(&v) > 0) {
			out->signed_by_issuer = true;
		}
	}
	return MDP_OK;
}

bool
piv_fascn_is_federal(const uint8_t *f, size_t len)
{
	/* YubiKey tools write agency code 9999: D4 E7 39 and (byte 3 | 7F) = FF (spec §5.1). */
	if (len != 25)
		return false;
	return !(f[0] == 0xD4 && f[1] == 0xE7 && f[2] == 0x39 && (f[3] | 0x7F) == 0xFF);
}

enum mdp_err
piv_chuid_with_guid(const uint8_t *old, size_t old_len, const uint8_t guid[16], struct mdp_buf *out)
{
	static const uint8_t fascn[25] = {0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE,
					  0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08, 0x42, 0x10,
					  0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB};
	struct mdp_cursor c, v;
	uint32_t t;
	bool put = false;

	if (!old) {
		buf_put_tlv(out, 0x30, fascn, sizeof(fascn));
		buf_put_tlv(out, 0x34, guid, 16);
		buf_put_tlv(out, 0x35, "20300101", 8);
		buf_put_tlv(out, 0x3E, NULL, 0);
		buf_put_tlv(out, 0xFE, NULL, 0);
		return out->bad ? MDP_ERR_NOMEM : MDP_OK;
	}
	cur_init(&c, old, old_len);
	while (cur_left(&c) > 0) {
		if (tlv_read(&c, &t, &v) != MDP_OK)
			return mdp_err_reason(MDP_ERR_FORMAT, "CHUID: malformed TLV");
		if (t == 0x34) {
			buf_put_tlv(out, 0x34, guid, 16);
			put = true;
			continue;
		}
		/* the GUID goes after the FASC-N (and its optional neighbours) as in SP 800-73 */
		if (!put && (t == 0x35 || t == 0x36 || t == 0x3D || t == 0x3E || t == 0xFE)) {
			buf_put_tlv(out, 0x34, guid, 16);
			put = true;
		}
		buf_put_tlv(out, t, v.p + v.pos, cur_left(&v));
	}
	if (!put)
		buf_put_tlv(out, 0x34, guid, 16);
	return out->bad ? MDP_ERR_NOMEM : MDP_OK;
}

/* ---- Key History ---- */

enum mdp_err
piv_key_history_parse(const uint8_t *p, size_t len, struct piv_key_history *out)
{
	struct mdp_cursor c, v;
	uint32_t t;

	memset(out, 0, sizeof(*out));
	cur_init(&c, p, len);
	while (cur_left(&c) > 0) {
		if (tlv_read(&c, &t, &v) != MDP_OK)
			return mdp_err_reason(MDP_ERR_FORMAT, "Key History: malformed TLV");
		if ((t == 0xC1 || t == 0xC2) && cur_left(&v) == 1) {
			unsigned n = v.p[v.pos];

			if (n > 20)
				n = 20;
			if (t == 0xC1)
				out->on_card = n;
			else
				out->off_card = n;
		}
	}
	out->present = true;
	return MDP_OK;
}

void
piv_key_history_build(unsigned on_card, struct mdp_buf *out)
{
	uint8_t n = (uint8_t)(on_card > 20 ? 20 : on_card), z = 0;

	buf_put_tlv(out, 0xC1, &n, 1);
	buf_put_tlv(out, 0xC2, &z, 1);
	buf_put_tlv(out, 0xFE, NULL, 0);
}

/* ---- certificates ---- */

#define CERT_MAX_INFLATED 65535

static enum mdp_err
inflate_cert(const uint8_t *p, size_t len, uint8_t **der, size_t *der_len)
{
	z_stream z;
	uint8_t *o = malloc(CERT_MAX_INFLATED + 1);
	int r;

	if (!o)
		return MDP_ERR_NOMEM;
	memset(&z, 0, sizeof(z));
	/* 15 + 32: zlib or gzip header, detected (OpenSC's COMPRESSION_AUTO, spec §5.5) */
	if (inflateInit2(&z, 15 + 32) != Z_OK) {
		free(o);
		return MDP_ERR_NOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)len;
	z.next_out = o;
	z.avail_out = CERT_MAX_INFLATED + 1;
	r = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (r != Z_STREAM_END || z.total_out == 0 || z.total_out > CERT_MAX_INFLATED) {
		free(o);
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "certificate: compressed data does not inflate (%d)", r);
	}
	*der_len = z.total_out;
	*der = o;
	return MDP_OK;
}

enum mdp_err
piv_cert_object_parse(const uint8_t *p, size_t len, uint8_t **der, size_t *der_len)
{
	struct mdp_cursor c, v, cert = {0};
	uint32_t t;
	bool have = false;
	uint8_t info = 0;

	if (len == 0)
		return MDP_ERR_NOT_FOUND;
	cur_init(&c, p, len);
	while (cur_left(&c) > 0) {
		if (tlv_read(&c, &t, &v) != MDP_OK)
			return mdp_err_reason(MDP_ERR_FORMAT, "certificate object: malformed TLV");
		if (t == 0x70 && !have) {
			cert = v;
			have = true;
		} else if (t == 0x71 && cur_left(&v) == 1) {
			info = v.p[v.pos];
		}
	}
	if (!have || cur_left(&cert) == 0)
		return have ? MDP_ERR_NOT_FOUND
			    : mdp_err_reason(MDP_ERR_FORMAT, "certificate object without tag 70");
	if (info & 0x81) /* bit 0: gzip (SP 800-73); bit 7: compressed (SP 800-72) */
		return inflate_cert(cert.p + cert.pos, cur_left(&cert), der, der_len);
	*der = mdp_memdup(cert.p + cert.pos, cur_left(&cert));
	if (!*der)
		return MDP_ERR_NOMEM;
	*der_len = cur_left(&cert);
	return MDP_OK;
}

static enum mdp_err
gzip(const uint8_t *p, size_t len, struct mdp_buf *out)
{
	z_stream z;
	uLong bound;
	int r;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return MDP_ERR_NOMEM;
	bound = deflateBound(&z, (uLong)len) + 32;
	if (!buf_reserve(out, bound)) {
		deflateEnd(&z);
		return MDP_ERR_NOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)len;
	z.next_out = out->data + out->len;
	z.avail_out = (uInt)bound;
	r = deflate(&z, Z_FINISH);
	if (r == Z_STREAM_END)
		out->len += z.total_out;
	deflateEnd(&z);
	return r == Z_STREAM_END ? MDP_OK : MDP_ERR_INTERNAL;
}

enum mdp_err
piv_cert_object_build(const uint8_t *der, size_t len, size_t max, struct mdp_buf *out)
{
	static const uint8_t info_plain = 0x00, info_gzip = 0x01;
	struct mdp_buf z;
	enum mdp_err e;

	/* Uncompressed whenever it fits: libykpiv, yubico-piv-tool and ykcs11 never inflate. */
	if (tlv_header_len(0x70, len) + len + 3 + 2 <= max) {
		buf_put_tlv(out, 0x70, der, len);
		buf_put_tlv(out, 0x71, &info_plain, 1);
		buf_put_tlv(out, 0xFE, NULL, 0);
		return out->bad ? MDP_ERR_NOMEM : MDP_OK;
	}
	buf_init(&z);
	e = gzip(der, len, &z);
	if (e == MDP_OK && tlv_header_len(0x70, z.len) + z.len + 3 + 2 > max)
		e = mdp_err_reason(MDP_ERR_OVERFLOW,
				   "certificate of %zu bytes does not fit a PIV object even "
				   "compressed (%zu bytes, at most %zu)",
				   len, z.len, max);
	if (e == MDP_OK) {
		buf_put_tlv(out, 0x70, z.data, z.len);
		buf_put_tlv(out, 0x71, &info_gzip, 1);
		buf_put_tlv(out, 0xFE, NULL, 0);
		if (out->bad)
			e = MDP_ERR_NOMEM;
	}
	buf_free(&z);
	return e;
}

/* ---- MSCMAP ---- */

/* One record's name from UTF-16LE (n units) or UTF-32LE into UTF-16 code units. */
static bool
name_in(const uint8_t *p, bool wide, uint16_t out[40])
{
	size_t i, u = 0;
	bool nul = false;

	memset(out, 0, 40 * sizeof(out[0]));
	for (i = 0; i < 40 && !nul; i++) {
		uint32_t cp;

		if (wide)
			cp = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
			     (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
		else
			cp = (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
		if (cp == 0) {
			nul = true;
			break;
		}
		if (!wide) {
			out[u++] =
				(uint16_t)cp; /* surrogates are checked by the host's name rules */
			continue;
		}
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		if (cp >= 0x10000) {
			if (u + 2 > 39)
				return false;
			cp -= 0x10000;
			out[u++] = (uint16_t)(0xD800 | (cp >> 10));
			out[u++] = (uint16_t)(0xDC00 | (cp & 0x3FF));
		} else {
			out[u++] = (uint16_t)cp;
		}
		if (u > 39)
			return false;
	}
	return nul || u <= 39;
}

enum mdp_err
piv_mscmap_parse(const uint8_t *p, size_t len, struct piv_cmap_rec **recs, size_t *n, bool *wide)
{
	struct mdp_cursor c, v;
	struct piv_cmap_rec *r = NULL;
	uint32_t t = 0;
	size_t rec, count, i, off;

	*recs = NULL;
	*n = 0;
	*wide = false;
	if (len == 0)
		return MDP_OK;
	cur_init(&c, p, len);
	if (tlv_read(&c, &t, &v) != MDP_OK || t != 0x81 || cur_left(&c) != 0)
		return mdp_err_reason(MDP_ERR_FORMAT, "MSCMAP: not one TLV of tag 81");
	if (cur_left(&v) == 0)
		return MDP_OK;
	/* 107k = 187m has no solution below 20009 bytes: the size tells the form. */
	if (cur_left(&v) % PIV_MSCMAP_RECORD == 0) {
		rec = PIV_MSCMAP_RECORD;
	} else if (cur_left(&v) % PIV_MSCMAP_RECORD_WIDE == 0) {
		rec = PIV_MSCMAP_RECORD_WIDE;
		*wide = true;
	} else {
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "MSCMAP: %zu bytes are neither 107- nor 187-byte records",
				      cur_left(&v));
	}
	count = cur_left(&v) / rec;
	r = calloc(count, sizeof(*r));
	if (!r)
		return MDP_ERR_NOMEM;
	for (i = 0; i < count; i++) {
		const uint8_t *b = v.p + v.pos + i * rec;

		off = *wide ? 160 : 80;
		if (!name_in(b, *wide, r[i].name)) {
			free(r);
			return mdp_err_reason(MDP_ERR_FORMAT, "MSCMAP record %zu: bad name", i);
		}
		r[i].slot = b[off];
		r[i].key_spec = b[off + 1];
		r[i].key_bits = (uint16_t)(b[off + 2] | b[off + 3] << 8);
		r[i].flags = b[off + 4];
		r[i].pin_id = b[off + 5];
		r[i].ecdh = b[off + 6];
		memcpy(r[i].fingerprint, b + off + 7, 20);
	}
	*recs = r;
	*n = count;
	return MDP_OK;
}

enum mdp_err
piv_mscmap_build(const struct piv_cmap_rec *recs, size_t n, struct mdp_buf *out)
{
	size_t i, j, mark;

	if (n == 0)
		return MDP_OK; /* 53 00: no map */
	if (n > PIV_MSCMAP_MAX_RECORDS)
		return mdp_err_reason(MDP_ERR_OVERFLOW, "MSCMAP: %zu records, at most %d", n,
				      PIV_MSCMAP_MAX_RECORDS);
	mark = buf_tlv_open(out, 0x81);
	for (i = 0; i < n; i++) {
		const struct piv_cmap_rec *r = &recs[i];

		for (j = 0; j < 40; j++)
			buf_put_le16(out, j < 39 ? r->name[j] : 0);
		buf_put_u8(out, r->slot);
		buf_put_u8(out, r->key_spec);
		buf_put_le16(out, r->key_bits);
		buf_put_u8(out, r->flags);
		buf_put_u8(out, r->pin_id);
		buf_put_u8(out, r->ecdh);
		buf_put_bytes(out, r->fingerprint, 20);
	}
	buf_tlv_close(out, mark);
	return out->bad ? MDP_ERR_NOMEM : MDP_OK;
}

/* ---- chunks ---- */

enum mdp_err
piv_chunk_parse(const uint8_t *p, size_t len, struct mdp_cursor *data, bool *last)
{
	struct mdp_cursor c;
	uint32_t t = 0;

	if (len == 0) {
		cur_init(data, p, 0);
		*last = true;
		return MDP_OK;
	}
	cur_init(&c, p, len);
	if (tlv_read(&c, &t, data) != MDP_OK || (t != 0x82 && t != 0x83) || cur_left(&c) != 0)
		return mdp_err_reason(MDP_ERR_FORMAT, "chunk object: not one TLV of tag 82/83");
	*last = t == 0x82;
	return MDP_OK;
}

void
piv_chunk_build(const uint8_t *data, size_t len, bool last, struct mdp_buf *out)
{
	buf_put_tlv(out, last ? 0x82u : 0x83u, data, len);
}

size_t
piv_chunk_count(size_t len)
{
	return len == 0 ? 1 : (len + PIV_CHUNK_MAX - 1) / PIV_CHUNK_MAX;
}

/* ---- mdp11's store ---- */

void
piv_store_clear(struct piv_store *s)
{
	size_t i;

	for (i = 0; i < s->nfiles; i++)
		free(s->files[i].data);
	for (i = 0; i < PIV_SLOTS; i++)
		free(s->spki[i]);
	memset(s, 0, sizeof(*s));
}

struct piv_store_file *
piv_store_find(struct piv_store *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i].name, name) == 0)
			return &s->files[i];
	return NULL;
}

static bool
valid_file_name(const uint8_t *p, size_t n)
{
	size_t i;

	if (n == 0 || n > 8)
		return false;
	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7E || (p[i] >= 'A' && p[i] <= 'Z') || p[i] == '/')
			return false;
	return true;
}

enum mdp_err
piv_store_parse(const uint8_t *p, size_t len, struct piv_store *out)
{
	struct mdp_cursor c, v, a, b;
	uint32_t t;
	enum mdp_err e = MDP_OK;

	memset(out, 0, sizeof(*out));
	cur_init(&c, p, len);
	while (cur_left(&c) > 0) {
		if (tlv_read(&c, &t, &v) != MDP_OK) {
			e = mdp_err_reason(MDP_ERR_FORMAT, "mdp11 store: malformed TLV");
			goto out;
		}
		if (t == 0xE0) {
			struct piv_store_file *f;

			if (tlv_find(v.p + v.pos, cur_left(&v), 0x80, &a) != MDP_OK ||
			    tlv_find(v.p + v.pos, cur_left(&v), 0x81, &b) != MDP_OK ||
			    !valid_file_name(a.p + a.pos, cur_left(&a))) {
				e = mdp_err_reason(MDP_ERR_FORMAT, "mdp11 store: bad file record");
				goto out;
			}
			if (out->nfiles == PIV_STORE_FILES) {
				e = mdp_err_reason(MDP_ERR_FORMAT, "mdp11 store: too many files");
				goto out;
			}
			f = &out->files[out->nfiles];
			memcpy(f->name, a.p + a.pos, cur_left(&a));
			f->name[cur_left(&a)] = '\0';
			if (piv_store_find(out, f->name)) {
				e = mdp_err_reason(MDP_ERR_FORMAT, "mdp11 store: file %s twice",
						   f->name);
				goto out;
			}
			f->len = cur_left(&b);
			f->data = f->len ? mdp_memdup(b.p + b.pos, f->len) : malloc(1);
			if (!f->data) {
				e = MDP_ERR_NOMEM;
				goto out;
			}
			out->nfiles++;
		} else if (t == 0xE1) {
			int i;

			if (tlv_find(v.p + v.pos, cur_left(&v), 0x80, &a) != MDP_OK ||
			    cur_left(&a) != 1 ||
			    tlv_find(v.p + v.pos, cur_left(&v), 0x81, &b) != MDP_OK ||
			    (i = piv_slot_index(a.p[a.pos])) < 0 || cur_left(&b) == 0 ||
			    out->spki[i]) {
				e = mdp_err_reason(MDP_ERR_FORMAT, "mdp11 store: bad public key");
				goto out;
			}
			out->spki[i] = mdp_memdup(b.p + b.pos, cur_left(&b));
			out->spki_len[i] = cur_left(&b);
			if (!out->spki[i]) {
				e = MDP_ERR_NOMEM;
				goto out;
			}
		} else if (t == 0xE2) {
			size_t k;

			for (k = 0; k < cur_left(&v); k++) {
				int i = piv_slot_index(v.p[v.pos + k]);

				if (i >= 0)
					out->freed |= 1u << i;
			}
		}
		/* other tags: written by a later version, skipped */
	}
out:
	if (e != MDP_OK)
		piv_store_clear(out);
	return e;
}

void
piv_store_build(const struct piv_store *s, struct mdp_buf *out)
{
	size_t i, m;
	uint8_t freed[PIV_SLOTS];
	size_t nf = 0;

	for (i = 0; i < s->nfiles; i++) {
		m = buf_tlv_open(out, 0xE0);
		buf_put_tlv(out, 0x80, s->files[i].name, strlen(s->files[i].name));
		buf_put_tlv(out, 0x81, s->files[i].data, s->files[i].len);
		buf_tlv_close(out, m);
	}
	for (i = 0; i < PIV_SLOTS; i++) {
		uint8_t ref = piv_slot_ref((int)i);

		if (!s->spki[i])
			continue;
		m = buf_tlv_open(out, 0xE1);
		buf_put_tlv(out, 0x80, &ref, 1);
		buf_put_tlv(out, 0x81, s->spki[i], s->spki_len[i]);
		buf_tlv_close(out, m);
	}
	for (i = 0; i < PIV_SLOTS; i++)
		if (s->freed & (1u << i))
			freed[nf++] = piv_slot_ref((int)i);
	if (nf)
		buf_put_tlv(out, 0xE2, freed, nf);
}

/* ---- ADMIN DATA and Printed ---- */

enum mdp_err
piv_admin_data_parse(const uint8_t *p, size_t len, struct piv_admin_data *out)
{
	struct mdp_cursor v, f;

	memset(out, 0, sizeof(*out));
	if (tlv_find(p, len, 0x80, &v) != MDP_OK)
		return mdp_err_reason(MDP_ERR_FORMAT, "ADMIN DATA without tag 80");
	if (tlv_find(v.p + v.pos, cur_left(&v), 0x81, &f) == MDP_OK && cur_left(&f) == 1)
		out->flags = f.p[f.pos];
	if (tlv_find(v.p + v.pos, cur_left(&v), 0x82, &f) == MDP_OK && cur_left(&f) > 0)
		out->has_salt = true;
	return MDP_OK;
}

enum mdp_err
piv_printed_mgmt_key(const uint8_t *p, size_t len, struct mdp_cursor *key)
{
	struct mdp_cursor v;

	if (tlv_find(p, len, 0x88, &v) != MDP_OK ||
	    tlv_find(v.p + v.pos, cur_left(&v), 0x89, key) != MDP_OK)
		return MDP_ERR_NOT_FOUND;
	if (cur_left(key) != 16 && cur_left(key) != 24 && cur_left(key) != 32)
		return mdp_err_reason(MDP_ERR_FORMAT, "PIN-protected management key of %zu bytes",
				      cur_left(key));
	return MDP_OK;
}

/* ---- GENERAL AUTHENTICATE and key templates ---- */

void
piv_ga_request(struct mdp_buf *b, uint8_t tag, const uint8_t *data, size_t len)
{
	size_t m = buf_tlv_open(b, 0x7C);

	buf_put_tlv(b, 0x82, NULL, 0);
	buf_put_tlv(b, tag, data, len);
	buf_tlv_close(b, m);
}

enum mdp_err
piv_ga_response(const uint8_t *p, size_t len, uint8_t tag, struct mdp_cursor *out)
{
	struct mdp_cursor v;

	if (piv_object_value(p, len, 0x7C, &v) != MDP_OK ||
	    tlv_find(v.p + v.pos, cur_left(&v), tag, out) != MDP_OK)
		return mdp_err_reason(MDP_ERR_FORMAT,
				      "GENERAL AUTHENTICATE answer without element %02X", tag);
	return MDP_OK;
}

enum mdp_err
piv_public_key_parse(const uint8_t *p, size_t len, uint8_t alg, struct mdp_key **out)
{
	struct mdp_cursor n, e;
	enum mdp_err err;

	if (piv_alg_is_rsa(alg)) {
		size_t bytes = piv_alg_bits(alg) / 8, nl;
		const uint8_t *np;

		if (tlv_find(p, len, 0x81, &n) != MDP_OK || tlv_find(p, len, 0x82, &e) != MDP_OK)
			return mdp_err_reason(MDP_ERR_FORMAT, "RSA public key without 81/82");
		np = n.p + n.pos;
		nl = cur_left(&n);
		while (nl > 0 && *np == 0) {
			np++;
			nl--;
		}
		if (nl != bytes || !(np[0] & 0x80) || cur_left(&e) == 0 || cur_left(&e) > 8)
			return mdp_err_reason(MDP_ERR_FORMAT,
					      "RSA public key: modulus of %zu bytes for %u bits",
					      nl, piv_alg_bits(alg));
		return blob_rsa_public_from_components(np, nl, e.p + e.pos, cur_left(&e), out);
	}
	if (piv_alg_is_ec(alg)) {
		size_t want = 1 + 2 * (piv_alg_bits(alg) / 8);

		if (tlv_find(p, len, 0x86, &n) != MDP_OK || cur_left(&n) != want)
			return mdp_err_reason(MDP_ERR_FORMAT,
					      "EC public key: no point of %zu bytes", want);
		err = blob_ec_public_from_point(alg == PIV_ALG_P256 ? MDP_AT_ECDSA_P256
								    : MDP_AT_ECDSA_P384,
						n.p + n.pos, cur_left(&n), out);
		return err;
	}
	return mdp_err_reason(MDP_ERR_UNSUPPORTED, "public key of PIV algorithm %02X", alg);
}

enum mdp_err
piv_generate_answer(const uint8_t *p, size_t len, uint8_t alg, struct mdp_key **out)
{
	struct mdp_cursor v;

	if (piv_object_value(p, len, 0x7F49, &v) != MDP_OK)
		return mdp_err_reason(MDP_ERR_FORMAT, "GENERATE answer is not a 7F49 template");
	return piv_public_key_parse(v.p + v.pos, cur_left(&v), alg, out);
}

enum mdp_err
piv_ecdsa_der_to_raw(const uint8_t *der, size_t len, size_t field_len, uint8_t *out)
{
	const unsigned char *q = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)len);
	const BIGNUM *r = NULL, *ss = NULL;
	enum mdp_err e = MDP_OK;

	if (!s || q != der + len) {
		e = mdp_err_reason(MDP_ERR_FORMAT, "ECDSA signature is not one DER SEQUENCE");
		goto out;
	}
	ECDSA_SIG_get0(s, &r, &ss);
	if (BN_num_bytes(r) > (int)field_len || BN_num_bytes(ss) > (int)field_len ||
	    BN_bn2binpad(r, out, (int)field_len) < 0 ||
	    BN_bn2binpad(ss, out + field_len, (int)field_len) < 0)
		e = mdp_err_reason(MDP_ERR_FORMAT, "ECDSA signature values exceed the field");
out:
	ECDSA_SIG_free(s);
	return e;
}

enum mdp_err
piv_metadata_parse(const uint8_t *p, size_t len, struct piv_metadata *out)
{
	struct mdp_cursor c, v;
	uint32_t t;

	memset(out, 0, sizeof(*out));
	out->retries_total = out->retries_left = -1;
	cur_init(&c, p, len);
	while (cur_left(&c) > 0) {
		if (tlv_read(&c, &t, &v) != MDP_OK)
			return mdp_err_reason(MDP_ERR_FORMAT, "GET METADATA: malformed TLV");
		switch (t) {
		case 0x01:
			if (cur_left(&v) == 1)
				out->alg = v.p[v.pos];
			break;
		case 0x02:
			if (cur_left(&v) >= 1)
				out->pin_policy = v.p[v.pos];
			break;
		case 0x03:
			if (cur_left(&v) == 1)
				out->origin = v.p[v.pos];
			break;
		case 0x04:
			out->pub = v.p + v.pos;
			out->pub_len = cur_left(&v);
			break;
		case 0x05:
			out->is_default = cur_left(&v) == 1 && v.p[v.pos] == 1;
			break;
		case 0x06:
			if (cur_left(&v) == 2) {
				out->retries_total = v.p[v.pos];
				out->retries_left = v.p[v.pos + 1];
			}
			break;
		default:
			break;
		}
	}
	if (!out->alg)
		return mdp_err_reason(MDP_ERR_FORMAT, "GET METADATA without an algorithm");
	return MDP_OK;
}
