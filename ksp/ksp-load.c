/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role: reading the card through the tagged store (every md_*() read the view needs, with
 * the reset bookkeeping). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MDP_LOG_AREA MDP_AREA_KSP
#include "common/log.h"
#include "common/secmem.h"
#include "ksp/ksp-int.h"

/* ---- card access: every md_*() call the view needs, with the reset bookkeeping ---- */

/* The card was reset by someone else: the login state is gone (spec/minidriver.md §10.3). */
void
ksp_note_reset(struct ksp_card *kc)
{
	if (kc->user_in || kc->admin_in)
		log_info("card reset: login state lost");
	kc->user_in = false;
	kc->admin_in = false;
	ksp_cache_drop(&kc->cache, KSP_C_PRIVATE);
	kc->view_ok = false;
	kc->resets_seen = kc->md->resets;
}

void
ksp_check_reset(struct ksp_card *kc, enum ksp_rv rv)
{
	if (rv == KSP_E_CARD_RESET || kc->md->resets != kc->resets_seen)
		ksp_note_reset(kc);
}

/* md_read_file, retried once after a reset (reading is idempotent). */
enum ksp_rv
ksp_read_file(struct ksp_card *kc, const char *dir, const char *name, uint8_t **data, size_t *len)
{
	enum ksp_rv rv = ksp_rv_from_md(md_read_file(kc->md, dir, name, 0, data, len));

	if (rv == KSP_E_CARD_RESET) {
		ksp_check_reset(kc, rv);
		rv = ksp_rv_from_md(md_read_file(kc->md, dir, name, 0, data, len));
	}
	return rv;
}

char *
ksp_tag_of(const char *kind, const char *dir, const char *name)
{
	size_t n = strlen(kind) + (dir ? strlen(dir) : 0) + (name ? strlen(name) : 0) + 4;
	char *t = malloc(n);

	if (t)
		snprintf(t, n, "%s:%s%s%s", kind, dir ? dir : "", name ? "/" : "",
			 name ? name : "");
	return t;
}

/* A file through the cache; *out NULL-data with absent set when the file does not exist. */
enum ksp_rv
ksp_load_file(struct ksp_card *kc, const char *dir, const char *name, unsigned classes,
	      const struct ksp_cache_entry **out)
{
	const struct ksp_cache_entry *e;
	uint8_t *data = NULL;
	size_t len = 0;
	char *tag = ksp_tag_of("f", dir, name);
	enum ksp_rv rv;
	bool ok;

	if (!tag)
		return KSP_E_NO_MEMORY;
	e = ksp_cache_get(&kc->cache, tag);
	if (e) {
		*out = e;
		free(tag);
		return KSP_OK;
	}
	rv = ksp_read_file(kc, dir, name, &data, &len);
	if (rv == KSP_E_FILE_NOT_FOUND || rv == KSP_E_DIR_NOT_FOUND)
		ok = ksp_cache_put(&kc->cache, tag, classes, true, NULL, 0);
	else if (rv == KSP_OK)
		ok = ksp_cache_put(&kc->cache, tag, classes, false, data, len);
	else
		goto out;
	rv = ok ? KSP_OK : KSP_E_NO_MEMORY;
	if (ok)
		*out = ksp_cache_get(&kc->cache, tag);
out:
	if (classes & KSP_C_PRIVATE)
		mdp_secure_free(data, len);
	else
		free(data);
	free(tag);
	return rv;
}

/* A directory listing through the cache (multi-string). */
enum ksp_rv
ksp_load_listing(struct ksp_card *kc, const char *dir, const struct ksp_cache_entry **out)
{
	const struct ksp_cache_entry *e;
	char *names = NULL, *tag = ksp_tag_of("ls", dir, NULL);
	size_t len = 0;
	enum ksp_rv rv;
	bool ok;

	if (!tag)
		return KSP_E_NO_MEMORY;
	e = ksp_cache_get(&kc->cache, tag);
	if (e) {
		*out = e;
		free(tag);
		return KSP_OK;
	}
	rv = ksp_rv_from_md(md_enum_files(kc->md, dir, &names, &len, 0));
	if (rv == KSP_E_CARD_RESET) {
		ksp_check_reset(kc, rv);
		rv = ksp_rv_from_md(md_enum_files(kc->md, dir, &names, &len, 0));
	}
	if (rv == KSP_E_DIR_NOT_FOUND || rv == KSP_E_FILE_NOT_FOUND)
		ok = ksp_cache_put(&kc->cache, tag, KSP_C_FILES, true, NULL, 0);
	else if (rv == KSP_OK)
		ok = ksp_cache_put(&kc->cache, tag, KSP_C_FILES, false, (uint8_t *)names, len);
	else
		goto out;
	rv = ok ? KSP_OK : KSP_E_NO_MEMORY;
	if (ok)
		*out = ksp_cache_get(&kc->cache, tag);
out:
	free(names);
	free(tag);
	return rv;
}

/* Iterate a multi-string listing: returns the next name or NULL. */
const char *
ksp_next_name(const struct ksp_cache_entry *ls, size_t *pos)
{
	const char *p;
	size_t n;

	if (!ls || ls->absent || *pos >= ls->len)
		return NULL;
	p = (const char *)ls->data + *pos;
	n = strnlen(p, ls->len - *pos);
	if (n == 0 || *pos + n >= ls->len)
		return NULL;
	*pos += n + 1;
	return p;
}

bool
ksp_listing_has(const struct ksp_cache_entry *ls, const char *name)
{
	size_t pos = 0;
	const char *n;

	while ((n = ksp_next_name(ls, &pos)))
		if (strcasecmp(n, name) == 0)
			return true;
	return false;
}

/* Container info through the cache: "ci:NN" = u32 LE sig length, sig blob, u32 LE kx length, kx
 * blob. */
enum ksp_rv
ksp_load_container_info(struct ksp_card *kc, uint8_t index, const struct ksp_cache_entry **out)
{
	struct md_container_info ci;
	const struct ksp_cache_entry *e;
	struct mdp_buf b;
	char tag[16];
	uint8_t *p = NULL;
	size_t len = 0;
	enum ksp_rv rv;
	bool ok;

	snprintf(tag, sizeof(tag), "ci:%02x", index);
	e = ksp_cache_get(&kc->cache, tag);
	if (e) {
		*out = e;
		return KSP_OK;
	}
	memset(&ci, 0, sizeof(ci));
	ci.version = MD_CONTAINER_INFO_VERSION;
	rv = ksp_rv_from_md(md_get_container_info(kc->md, index, 0, &ci));
	if (rv == KSP_E_CARD_RESET) {
		ksp_check_reset(kc, rv);
		rv = ksp_rv_from_md(md_get_container_info(kc->md, index, 0, &ci));
	}
	if (rv == KSP_E_NO_KEY) {
		ok = ksp_cache_put(&kc->cache, tag, KSP_C_CONTAINERS, true, NULL, 0);
		rv = ok ? KSP_OK : KSP_E_NO_MEMORY;
		if (ok)
			*out = ksp_cache_get(&kc->cache, tag);
		return rv;
	}
	if (rv != KSP_OK)
		return rv;
	buf_init(&b);
	buf_put_le32(&b, (uint32_t)ci.sig_public_key_len);
	buf_put_bytes(&b, ci.sig_public_key, ci.sig_public_key_len);
	buf_put_le32(&b, (uint32_t)ci.kx_public_key_len);
	buf_put_bytes(&b, ci.kx_public_key, ci.kx_public_key_len);
	md_container_info_clear(&ci);
	p = buf_steal(&b, &len);
	buf_free(&b);
	if (!p)
		return KSP_E_NO_MEMORY;
	ok = ksp_cache_put(&kc->cache, tag, KSP_C_CONTAINERS, false, p, len);
	free(p);
	if (!ok)
		return KSP_E_NO_MEMORY;
	*out = ksp_cache_get(&kc->cache, tag);
	return KSP_OK;
}

/* Card facts that never change for one cardid. */
enum ksp_rv
ksp_load_static(struct ksp_card *kc)
{
	const struct ksp_cache_entry *e;
	struct mdp_cursor c;
	struct md_capabilities caps;
	struct md_free_space fs;
	uint8_t buf[16];
	uint32_t ro = 0;
	size_t len = 0;
	enum ksp_rv rv;

	e = ksp_cache_get(&kc->cache, "caps");
	if (!e || e->absent || e->len != 16) {
		struct mdp_buf b;
		uint8_t serial[64];
		size_t slen = 0;

		memset(&caps, 0, sizeof(caps));
		caps.version = MD_CAPABILITIES_VERSION;
		rv = ksp_rv_from_md(md_query_capabilities(kc->md, &caps));
		if (rv != KSP_OK)
			return rv;
		if (ksp_rv_from_md(md_get_property(kc->md, MD_CP_CARD_READ_ONLY, &ro, sizeof(ro),
						   &len, 0)) != KSP_OK)
			ro = 0;
		memset(&fs, 0, sizeof(fs));
		fs.version = MD_FREE_SPACE_VERSION;
		if (ksp_rv_from_md(md_query_free_space(kc->md, 0, &fs)) != KSP_OK)
			fs.max_containers = MD_VALUE_UNKNOWN;
		buf_init(&b);
		b.data = buf;
		b.cap = sizeof(buf);
		buf_put_le32(&b, caps.certificate_compression);
		buf_put_le32(&b, caps.key_gen);
		buf_put_le32(&b, ro);
		buf_put_le32(&b, fs.max_containers);
		if (!ksp_cache_put(&kc->cache, "caps", KSP_C_STATIC, false, buf, 16))
			return KSP_E_NO_MEMORY;
		if (ksp_rv_from_md(md_get_property(kc->md, MD_CP_CARD_SERIAL_NO, serial,
						   sizeof(serial), &slen, 0)) == KSP_OK &&
		    slen > 0) {
			if (!ksp_cache_put(&kc->cache, "serial", KSP_C_STATIC, false, serial, slen))
				return KSP_E_NO_MEMORY;
		} else if (!ksp_cache_put(&kc->cache, "serial", KSP_C_STATIC, true, NULL, 0)) {
			return KSP_E_NO_MEMORY;
		}
		e = ksp_cache_get(&kc->cache, "caps");
	}
	cur_init(&c, e->data, e->len);
	kc->cert_compression = cur_get_le32(&c) != 0;
	kc->keygen = cur_get_le32(&c) != 0;
	kc->read_only = cur_get_le32(&c) != 0;
	kc->max_containers = cur_get_le32(&c);

	e = ksp_cache_get(&kc->cache, "serial");
	if (e && !e->absent && e->len > 0) {
		char *hex = mdp_hex_encode(e->data, e->len > 8 ? 8 : e->len);

		if (!hex)
			return KSP_E_NO_MEMORY;
		snprintf(kc->serial, sizeof(kc->serial), "%s", hex);
		free(hex);
	} else {
		char *hex = mdp_hex_encode(kc->cardid, kc->cardid_len > 8 ? 8 : kc->cardid_len);

		if (!hex)
			return KSP_E_NO_MEMORY;
		snprintf(kc->serial, sizeof(kc->serial), "%s", hex);
		free(hex);
	}
	return KSP_OK;
}

/* Key sizes of one key spec through the cache ("ks:N" = min, default, max, increment; absent:
 * unsupported). */
enum ksp_rv
ksp_load_key_sizes(struct ksp_card *kc, enum mdp_key_spec spec, struct ksp_key_sizes *out)
{
	const struct ksp_cache_entry *e;
	struct md_key_sizes ks;
	struct mdp_cursor c;
	char tag[8];
	enum ksp_rv rv;

	memset(out, 0, sizeof(*out));
	snprintf(tag, sizeof(tag), "ks:%u", (unsigned)spec);
	e = ksp_cache_get(&kc->cache, tag);
	if (!e) {
		uint8_t buf[16];
		struct mdp_buf b;

		memset(&ks, 0, sizeof(ks));
		ks.version = MD_KEY_SIZES_VERSION;
		rv = ksp_rv_from_md(md_query_key_sizes(kc->md, (uint32_t)spec, 0, &ks));
		if (rv == KSP_E_UNSUPPORTED || rv == KSP_E_INVALID_ARG) {
			if (!ksp_cache_put(&kc->cache, tag, KSP_C_STATIC, true, NULL, 0))
				return KSP_E_NO_MEMORY;
		} else if (rv != KSP_OK) {
			return rv;
		} else {
			buf_init(&b);
			b.data = buf;
			b.cap = sizeof(buf);
			buf_put_le32(&b, ks.minimum);
			buf_put_le32(&b, ks.default_bits);
			buf_put_le32(&b, ks.maximum);
			buf_put_le32(&b, ks.increment);
			if (!ksp_cache_put(&kc->cache, tag, KSP_C_STATIC, false, buf, 16))
				return KSP_E_NO_MEMORY;
		}
		e = ksp_cache_get(&kc->cache, tag);
	}
	if (e->absent || e->len != 16)
		return KSP_OK;
	cur_init(&c, e->data, e->len);
	out->supported = true;
	out->min_bits = cur_get_le32(&c);
	out->default_bits = cur_get_le32(&c);
	out->max_bits = cur_get_le32(&c);
	out->incr_bits = cur_get_le32(&c);
	out->card_min_bits = out->min_bits;
	out->card_max_bits = out->max_bits;
	if (MDP_KEY_SPEC_IS_RSA(spec)) {
		out->policy_min_bits = kc->policy.rsa_min_bits;
		out->policy_max_bits = kc->policy.rsa_max_bits;
		/* The allowed range is the card's intersected with the policy (docs/ksp.md). */
		if (kc->policy.rsa_min_bits > out->min_bits)
			out->min_bits = kc->policy.rsa_min_bits;
		if (kc->policy.rsa_max_bits && kc->policy.rsa_max_bits < out->max_bits)
			out->max_bits = kc->policy.rsa_max_bits;
		out->default_bits = kc->policy.rsa_default_bits ? kc->policy.rsa_default_bits
								: KSP_DEFAULT_RSA_BITS;
		if (out->min_bits > out->max_bits)
			out->supported = false;
	}
	return KSP_OK;
}

/* PIN_INFO types of the user and admin PINs ("pin:N", PIN freshness class). */
enum ksp_rv
ksp_load_pin_info(struct ksp_card *kc)
{
	uint32_t ids[2] = {MD_ROLE_USER, MD_ROLE_ADMIN}, types[2];
	int i;

	for (i = 0; i < 2; i++) {
		const struct ksp_cache_entry *e;
		char tag[8];

		snprintf(tag, sizeof(tag), "pin:%u", ids[i]);
		e = ksp_cache_get(&kc->cache, tag);
		if (!e) {
			struct md_pin_info pi;
			uint8_t b[4];
			size_t len = 0;
			enum ksp_rv rv;

			memset(&pi, 0, sizeof(pi));
			pi.version = MD_PIN_INFO_VERSION;
			rv = ksp_rv_from_md(md_get_property(kc->md, MD_CP_CARD_PIN_INFO, &pi,
							    sizeof(pi), &len, ids[i]));
			if (rv != KSP_OK)
				pi.pin_type = ids[i] == MD_ROLE_ADMIN ? MD_PIN_CHALLENGE_RESPONSE
								      : MD_PIN_ALPHANUMERIC;
			b[0] = (uint8_t)pi.pin_type;
			b[1] = b[2] = b[3] = 0;
			if (!ksp_cache_put(&kc->cache, tag, KSP_C_PIN, false, b, 4))
				return KSP_E_NO_MEMORY;
			e = ksp_cache_get(&kc->cache, tag);
		}
		types[i] = e->len >= 1 ? e->data[0] : 0;
	}
	kc->user_pin_type = types[0];
	kc->admin_pin_type = types[1];
	kc->have_pin_info = true;
	return KSP_OK;
}

/* CARD_FREE_SPACE_INFO through the cache ("free": bytes, containers available, maximum). */
enum ksp_rv
ksp_load_free_space(struct ksp_card *kc, const struct ksp_cache_entry **out)
{
	const struct ksp_cache_entry *e = ksp_cache_get(&kc->cache, "free");
	struct md_free_space fs;
	struct mdp_buf w;
	uint8_t b[12];

	if (e && !e->absent && e->len == 12) {
		*out = e;
		return KSP_OK;
	}
	memset(&fs, 0, sizeof(fs));
	fs.version = MD_FREE_SPACE_VERSION;
	if (ksp_rv_from_md(md_query_free_space(kc->md, 0, &fs)) != KSP_OK) {
		fs.bytes_available = MD_VALUE_UNKNOWN;
		fs.containers_available = MD_VALUE_UNKNOWN;
		fs.max_containers = MD_VALUE_UNKNOWN;
	}
	buf_init(&w);
	w.data = b;
	w.cap = sizeof(b);
	buf_put_le32(&w, fs.bytes_available);
	buf_put_le32(&w, fs.containers_available);
	buf_put_le32(&w, fs.max_containers);
	if (!ksp_cache_put(&kc->cache, "free", KSP_C_CONTAINERS | KSP_C_FILES, false, b, sizeof(b)))
		return KSP_E_NO_MEMORY;
	*out = ksp_cache_get(&kc->cache, "free");
	return KSP_OK;
}

void
ksp_rsa_size_why(const struct ksp_key_sizes *ks, unsigned bits, char *buf, size_t cap)
{
	if (bits > ks->max_bits && ks->card_max_bits && bits > ks->card_max_bits)
		snprintf(buf, cap, "%u bits: the card takes at most %u", bits, ks->card_max_bits);
	else if (bits > ks->max_bits)
		snprintf(buf, cap,
			 "%u bits: rsa_max_bits = %u in [policy] of mdp11.conf (the card takes up "
			 "to %u)",
			 bits, ks->policy_max_bits, ks->card_max_bits);
	else if (bits < ks->min_bits && bits < ks->card_min_bits)
		snprintf(buf, cap, "%u bits: the card takes at least %u", bits, ks->card_min_bits);
	else if (bits < ks->min_bits)
		snprintf(
			buf, cap,
			"%u bits: rsa_min_bits = %u in [policy] of mdp11.conf (the card takes from "
			"%u)",
			bits, ks->policy_min_bits, ks->card_min_bits);
	else
		snprintf(buf, cap, "%u bits: the card takes sizes from %u in steps of %u", bits,
			 ks->min_bits, ks->incr_bits);
}
