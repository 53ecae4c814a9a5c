/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* On-card formats the host role owns: cmapfile records, names, certificate files, mdp11 application
 * data. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>
#include <zlib.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "ksp/ksp-int.h"

void
ksp_cmap_rec_parse(const uint8_t rec[KSP_CMAP_RECORD], struct ksp_cmap_rec *out)
{
	memcpy(out->name_utf16, rec, KSP_CMAP_NAME_BYTES);
	out->flags = rec[80];
	out->reserved = rec[81];
	out->sig_bits = (uint16_t)(rec[82] | rec[83] << 8);
	out->kx_bits = (uint16_t)(rec[84] | rec[85] << 8);
}

void
ksp_cmap_rec_write(const struct ksp_cmap_rec *rec, uint8_t out[KSP_CMAP_RECORD])
{
	memcpy(out, rec->name_utf16, KSP_CMAP_NAME_BYTES);
	out[80] = rec->flags;
	out[81] = rec->reserved;
	out[82] = (uint8_t)(rec->sig_bits & 0xff);
	out[83] = (uint8_t)(rec->sig_bits >> 8);
	out[84] = (uint8_t)(rec->kx_bits & 0xff);
	out[85] = (uint8_t)(rec->kx_bits >> 8);
}

/* Append code point cp as UTF-8; false when it does not fit (keeps room for the NUL). */
static bool
put_utf8(char *out, size_t cap, size_t *pos, uint32_t cp)
{
	uint8_t b[4];
	size_t n, i;

	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | cp >> 18);
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*pos + n >= cap)
		return false;
	for (i = 0; i < n; i++)
		out[(*pos)++] = (char)b[i];
	return true;
}

bool
ksp_name_from_utf16(const uint8_t in[KSP_CMAP_NAME_BYTES], char *out, size_t cap)
{
	size_t i = 0, pos = 0;

	if (cap == 0)
		return false;
	while (i + 1 < KSP_CMAP_NAME_BYTES) {
		uint32_t u = (uint32_t)(in[i] | in[i + 1] << 8), cp;

		i += 2;
		if (u == 0) {
			out[pos] = '\0';
			return true;
		}
		if (u >= 0xd800 && u <= 0xdbff) {
			uint32_t lo;

			if (i + 1 >= KSP_CMAP_NAME_BYTES)
				return false;
			lo = (uint32_t)(in[i] | in[i + 1] << 8);
			if (lo < 0xdc00 || lo > 0xdfff)
				return false;
			i += 2;
			cp = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return false;
		} else {
			cp = u;
		}
		if (!put_utf8(out, cap, &pos, cp))
			return false;
	}
	return false; /* no terminator within 80 bytes */
}

/* Decode one UTF-8 sequence (strict: shortest form, no surrogates); 0 on error. */
static size_t
get_utf8(const uint8_t *s, size_t len, uint32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (len == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool
ksp_name_to_utf16(const char *name, size_t len, uint8_t out[KSP_CMAP_NAME_BYTES])
{
	const uint8_t *s = (const uint8_t *)name;
	uint8_t tmp[KSP_CMAP_NAME_BYTES];
	size_t i = 0, units = 0;

	if (!name || len == 0)
		return false;
	memset(tmp, 0, sizeof(tmp));
	while (i < len) {
		uint32_t cp;
		size_t n = get_utf8(s + i, len - i, &cp);

		if (n == 0 || cp < 0x20 || cp == 0x7f || cp == '\\')
			return false;
		i += n;
		if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000;
			uint16_t hi = (uint16_t)(0xd800 + (v >> 10)),
				 lo = (uint16_t)(0xdc00 + (v & 0x3ff));

			if (units + 2 > KSP_CMAP_NAME_MAX)
				return false;
			tmp[2 * units] = (uint8_t)(hi & 0xff);
			tmp[2 * units + 1] = (uint8_t)(hi >> 8);
			tmp[2 * units + 2] = (uint8_t)(lo & 0xff);
			tmp[2 * units + 3] = (uint8_t)(lo >> 8);
			units += 2;
		} else {
			if (units + 1 > KSP_CMAP_NAME_MAX)
				return false;
			tmp[2 * units] = (uint8_t)(cp & 0xff);
			tmp[2 * units + 1] = (uint8_t)(cp >> 8);
			units++;
		}
	}
	if (out)
		memcpy(out, tmp, sizeof(tmp));
	return true;
}

bool
ksp_guid_name(char out[39])
{
	uint8_t g[16];

	if (RAND_bytes(g, sizeof(g)) != 1)
		return false;
	g[6] = (uint8_t)((g[6] & 0x0f) | 0x40); /* version 4 */
	g[8] = (uint8_t)((g[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 39, "{%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
		 g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
	return true;
}

void
ksp_cert_file_name(uint8_t index, bool signature, char out[9])
{
	snprintf(out, 9, "%s%02X", signature ? "ksc" : "kxc", index);
}

bool
ksp_cert_file_parse(const char *name, uint8_t *index, bool *signature)
{
	int hi, lo;
	bool sig;

	if (strlen(name) != 5)
		return false;
	if (strncasecmp(name, "ksc", 3) == 0)
		sig = true;
	else if (strncasecmp(name, "kxc", 3) == 0)
		sig = false;
	else
		return false;
	hi = mdp_hex_digit((unsigned char)name[3]);
	lo = mdp_hex_digit((unsigned char)name[4]);
	if (hi < 0 || lo < 0)
		return false;
	*index = (uint8_t)(hi << 4 | lo);
	*signature = sig;
	return true;
}

bool
ksp_cert_compress(const uint8_t *der, size_t len, uint8_t **out, size_t *out_len)
{
	uLongf zlen;
	uint8_t *p;

	if (len == 0 || len > 0xffff)
		return false;
	zlen = compressBound((uLong)len);
	p = malloc(4 + zlen);
	if (!p)
		return false;
	if (compress2(p + 4, &zlen, der, (uLong)len, Z_BEST_COMPRESSION) != Z_OK) {
		free(p);
		return false;
	}
	p[0] = 0x01;
	p[1] = 0x00;
	p[2] = (uint8_t)(len & 0xff);
	p[3] = (uint8_t)(len >> 8);
	*out = p;
	*out_len = 4 + zlen;
	return true;
}

bool
ksp_cert_decompress(const uint8_t *p, size_t len, uint8_t **out, size_t *out_len)
{
	uLongf dlen;
	size_t want;
	uint8_t *d;

	if (len >= 1 && p[0] == 0x30) {
		d = mdp_memdup(p, len);
		if (!d)
			return false;
		*out = d;
		*out_len = len;
		return true;
	}
	if (len < 6 || p[0] != 0x01 || p[1] != 0x00)
		return false;
	want = (size_t)(p[2] | p[3] << 8);
	if (want == 0)
		return false;
	d = malloc(want);
	if (!d)
		return false;
	dlen = (uLongf)want;
	if (uncompress(d, &dlen, p + 4, (uLong)(len - 4)) != Z_OK || dlen != want) {
		free(d);
		return false;
	}
	*out = d;
	*out_len = want;
	return true;
}

/* ---- mdp11/keyattr ---- */

#define KA_VERSION 0x01
#define KA_RECORD 0xE0
#define KA_INDEX 0x80
#define KA_SLOT 0x81
#define KA_NAME 0x82
#define KA_PUB 0x83
#define KA_ID 0x84
#define KA_LABEL 0x85
#define KA_CERT_LABEL 0x86
#define KA_ORIGIN 0x87

void
ksp_keyattr_clear(struct ksp_keyattr *a)
{
	free(a->name);
	free(a->id);
	free(a->label);
	free(a->cert_label);
	memset(a, 0, sizeof(*a));
}

void
ksp_keyattr_free_list(struct ksp_keyattr *a, size_t count)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < count; i++)
		ksp_keyattr_clear(&a[i]);
	free(a);
}

/* A NUL-terminated copy of a TLV value that must be text without NUL bytes. */
static char *
dup_text(struct mdp_cursor *v)
{
	size_t n = cur_left(v);
	const uint8_t *p = cur_get_bytes(v, n);
	char *s;

	if (!p || memchr(p, 0, n))
		return NULL;
	s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static bool
parse_keyattr_record(struct mdp_cursor *rc, struct ksp_keyattr *a)
{
	bool have_index = false, have_slot = false;

	memset(a, 0, sizeof(*a));
	while (cur_left(rc)) {
		struct mdp_cursor v;
		uint32_t tag;
		size_t n;

		if (tlv_read(rc, &tag, &v) != MDP_OK)
			return false;
		n = cur_left(&v);
		switch (tag) {
		case KA_INDEX:
			if (n != 1)
				return false;
			a->index = cur_get_u8(&v);
			have_index = true;
			break;
		case KA_SLOT:
			if (n != 1)
				return false;
			a->slot = cur_get_u8(&v);
			if (a->slot > 1)
				return false;
			have_slot = true;
			break;
		case KA_NAME:
			free(a->name);
			a->name = dup_text(&v);
			if (!a->name)
				return false;
			break;
		case KA_PUB:
			if (n != 32)
				return false;
			memcpy(a->pub_sha256, cur_get_bytes(&v, 32), 32);
			a->has_pub = true;
			break;
		case KA_ID:
			free(a->id);
			a->id = mdp_memdup(cur_get_bytes(&v, n), n);
			if (!a->id)
				return false;
			a->id_len = n;
			a->has_id = true;
			break;
		case KA_LABEL:
			free(a->label);
			a->label = dup_text(&v);
			if (!a->label)
				return false;
			break;
		case KA_CERT_LABEL:
			free(a->cert_label);
			a->cert_label = dup_text(&v);
			if (!a->cert_label)
				return false;
			break;
		case KA_ORIGIN:
			if (n != 1)
				return false;
			a->origin = cur_get_u8(&v);
			if (a->origin > 2)
				a->origin = 0;
			break;
		default: /* a later version's field: ignore */
			break;
		}
	}
	return have_index && have_slot && a->name;
}

bool
ksp_keyattr_parse(const uint8_t *p, size_t len, struct ksp_keyattr **out, size_t *count)
{
	struct ksp_keyattr *list = NULL, *grown;
	struct mdp_cursor c;
	size_t n = 0;

	cur_init(&c, p, len);
	if (len == 0 || cur_get_u8(&c) != KA_VERSION)
		return false;
	while (cur_left(&c)) {
		struct mdp_cursor rc;
		uint32_t tag;

		if (tlv_read(&c, &tag, &rc) != MDP_OK)
			goto bad;
		if (tag != KA_RECORD)
			continue;
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown)
			goto bad;
		list = grown;
		if (!parse_keyattr_record(&rc, &list[n])) {
			ksp_keyattr_clear(&list[n]);
			goto bad;
		}
		n++;
	}
	*out = list;
	*count = n;
	return true;
bad:
	ksp_keyattr_free_list(list, n);
	return false;
}

bool
ksp_keyattr_write(const struct ksp_keyattr *a, size_t count, uint8_t **out, size_t *out_len)
{
	struct mdp_buf b;
	size_t i;
	uint8_t *p;

	buf_init(&b);
	buf_put_u8(&b, KA_VERSION);
	for (i = 0; i < count; i++) {
		size_t mark = buf_tlv_open(&b, KA_RECORD);

		buf_put_tlv(&b, KA_INDEX, &a[i].index, 1);
		buf_put_tlv(&b, KA_SLOT, &a[i].slot, 1);
		buf_put_tlv(&b, KA_NAME, a[i].name, a[i].name ? strlen(a[i].name) : 0);
		if (a[i].has_pub)
			buf_put_tlv(&b, KA_PUB, a[i].pub_sha256, 32);
		if (a[i].has_id)
			buf_put_tlv(&b, KA_ID, a[i].id, a[i].id_len);
		if (a[i].label)
			buf_put_tlv(&b, KA_LABEL, a[i].label, strlen(a[i].label));
		if (a[i].cert_label)
			buf_put_tlv(&b, KA_CERT_LABEL, a[i].cert_label, strlen(a[i].cert_label));
		buf_put_tlv(&b, KA_ORIGIN, &a[i].origin, 1);
		buf_tlv_close(&b, mark);
	}
	p = buf_steal(&b, out_len);
	buf_free(&b);
	if (!p)
		return false;
	*out = p;
	return true;
}

/* ---- mdp11/dobNNN ---- */

#define DOB_VERSION 0x01
#define DOB_FLAGS 0x80
#define DOB_APP 0x81
#define DOB_LABEL 0x82
#define DOB_OID 0x83
#define DOB_VALUE 0x84
#define DOB_FLAG_PRIVATE 0x01

void
ksp_dob_clear(struct ksp_dob *d)
{
	free(d->application);
	free(d->label);
	free(d->object_id);
	mdp_secure_free(d->value, d->value_len);
	memset(d, 0, sizeof(*d));
}

bool
ksp_dob_parse(const uint8_t *p, size_t len, struct ksp_dob *out)
{
	struct ksp_dob d;
	struct mdp_cursor c;
	bool have_flags = false;

	memset(&d, 0, sizeof(d));
	cur_init(&c, p, len);
	if (len == 0 || cur_get_u8(&c) != DOB_VERSION)
		return false;
	while (cur_left(&c)) {
		struct mdp_cursor v;
		uint32_t tag;
		size_t n;

		if (tlv_read(&c, &tag, &v) != MDP_OK)
			goto bad;
		n = cur_left(&v);
		switch (tag) {
		case DOB_FLAGS:
			if (n != 1)
				goto bad;
			d.is_private = (cur_get_u8(&v) & DOB_FLAG_PRIVATE) != 0;
			have_flags = true;
			break;
		case DOB_APP:
			free(d.application);
			if (!(d.application = dup_text(&v)))
				goto bad;
			break;
		case DOB_LABEL:
			free(d.label);
			if (!(d.label = dup_text(&v)))
				goto bad;
			break;
		case DOB_OID:
			free(d.object_id);
			d.object_id = mdp_memdup(cur_get_bytes(&v, n), n);
			if (!d.object_id)
				goto bad;
			d.object_id_len = n;
			d.has_object_id = true;
			break;
		case DOB_VALUE:
			mdp_secure_free(d.value, d.value_len);
			d.value = mdp_memdup(cur_get_bytes(&v, n), n);
			if (!d.value)
				goto bad;
			d.value_len = n;
			break;
		default:
			break;
		}
	}
	if (!have_flags)
		goto bad;
	if (!d.application && !(d.application = strdup("")))
		goto bad;
	if (!d.label && !(d.label = strdup("")))
		goto bad;
	if (!d.value && !(d.value = mdp_zalloc(1)))
		goto bad;
	*out = d;
	return true;
bad:
	ksp_dob_clear(&d);
	return false;
}

bool
ksp_dob_write(const struct ksp_dob *d, uint8_t **out, size_t *out_len)
{
	struct mdp_buf b;
	uint8_t flags = d->is_private ? DOB_FLAG_PRIVATE : 0;
	uint8_t *p;

	buf_init_secret(&b);
	buf_put_u8(&b, DOB_VERSION);
	buf_put_tlv(&b, DOB_FLAGS, &flags, 1);
	buf_put_tlv(&b, DOB_APP, d->application ? d->application : "",
		    d->application ? strlen(d->application) : 0);
	buf_put_tlv(&b, DOB_LABEL, d->label ? d->label : "", d->label ? strlen(d->label) : 0);
	if (d->has_object_id)
		buf_put_tlv(&b, DOB_OID, d->object_id, d->object_id_len);
	buf_put_tlv(&b, DOB_VALUE, d->value, d->value_len);
	p = buf_steal(&b, out_len);
	buf_free(&b);
	if (!p)
		return false;
	*out = p;
	return true;
}

void
ksp_dob_file_name(unsigned num, bool is_private, char out[9])
{
	snprintf(out, 9, "%s%03u", is_private ? "dop" : "dob", num % KSP_DOB_MAX);
}

bool
ksp_dob_file_parse(const char *name, unsigned *num, bool *is_private)
{
	unsigned v = 0;
	size_t i;
	bool priv;

	if (strlen(name) != 6)
		return false;
	if (strncasecmp(name, "dob", 3) == 0)
		priv = false;
	else if (strncasecmp(name, "dop", 3) == 0)
		priv = true;
	else
		return false;
	for (i = 3; i < 6; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (unsigned)(name[i] - '0');
	}
	*num = v;
	*is_private = priv;
	return true;
}
