/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role on top of a card module: cardcf-driven view, container map, names, certificates,
 * policy. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define MDP_LOG_AREA MDP_AREA_KSP
#include "blob/blob.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/log.h"
#include "common/pad.h"
#include "common/secmem.h"
#include "minidriver/card.h"
#include "ksp/ksp-int.h"
#include "ksp/ksp.h"

#define MSCP "mscp"
#define APPDIR "mdp11"
#define KEYATTR "keyattr"
#define ADMIN_KEY_LEN 24
#define DEFAULT_RSA_BITS 2048u
/* GIDS key references 0x81..0xFF (spec/gids.md §2.4); other modules report their own maximum. */
#define MAX_INDEX_DEFAULT 127u

/* Backing storage for the pointers of one struct ksp_key. */
struct slot_store {
	struct mdp_key *pub;
	uint8_t *cert;
	size_t cert_len;
	uint8_t *id;
	size_t id_len;
	char *label;
	char *cert_label;
};

struct ksp_card {
	struct md_card *md;
	struct ksp_policy policy;
	char *cache_dir;
	uint8_t cardid[16];
	size_t cardid_len;
	uint8_t cardcf[6];
	size_t cardcf_len; /* as found on the card (6; kept if a foreign host wrote more) */
	bool have_cardcf;
	bool have_mark; /* mark: the transport's change mark when cardcf was last read */
	uint64_t mark;
	uint32_t resets_seen;
	struct ksp_cache cache;

	/* the view, rebuilt from the cache when view_ok is false */
	bool view_ok;
	unsigned long generation;
	struct ksp_container *conts;
	struct slot_store (*store)[KSP_SLOTS];
	size_t nconts;
	size_t ncmap; /* records in cmapfile */
	struct ksp_keyattr *attrs;
	size_t nattrs;
	struct ksp_data_object *dobs;
	struct ksp_dob *dob_store;
	size_t ndobs;

	/* static facts */
	bool cert_compression, keygen, read_only;
	uint32_t max_containers;
	char serial[17];

	/* PIN state */
	int tries_left, tries_max;
	bool tries_fresh; /* the counter was read since the card was last seen changed */
	bool no_tries;	  /* the card module cannot read the counter */
	bool blocked, user_in, admin_in;
	uint32_t user_pin_type, admin_pin_type;
	bool have_pin_info;
	uint8_t *admin_key;
};

/* ---- names and small helpers ---- */

static const struct {
	enum ksp_rv rv;
	const char *name;
} ksp_names[] = {
	{KSP_E_BAD_KEY, "KSP_E_BAD_KEY"},     {KSP_E_KEY_SIZE, "KSP_E_KEY_SIZE"},
	{KSP_E_BAD_DATA, "KSP_E_BAD_DATA"},   {KSP_E_PROHIBITED, "KSP_E_PROHIBITED"},
	{KSP_E_EXISTS, "KSP_E_EXISTS"},	      {KSP_E_POLICY, "KSP_E_POLICY"},
	{KSP_E_NOT_FOUND, "KSP_E_NOT_FOUND"}, {KSP_E_CERT_MISMATCH, "KSP_E_CERT_MISMATCH"},
	{KSP_E_NO_ROOM, "KSP_E_NO_ROOM"},     {KSP_E_DECRYPT, "KSP_E_DECRYPT"},
};

const char *
ksp_rv_name(enum md_rv rv)
{
	size_t i;

	for (i = 0; i < sizeof(ksp_names) / sizeof(ksp_names[0]); i++)
		if ((uint32_t)ksp_names[i].rv == (uint32_t)rv)
			return ksp_names[i].name;
	return md_rv_name(rv);
}

const char *
ksp_rv_text(enum md_rv rv)
{
	switch ((uint32_t)rv) {
	case KSP_E_BAD_KEY:
		return "the key cannot be used";
	case KSP_E_KEY_SIZE:
		return "a key size outside the allowed range";
	case KSP_E_BAD_DATA:
		return "input of the wrong length or form";
	case KSP_E_PROHIBITED:
		return "the change would destroy another key";
	case KSP_E_EXISTS:
		return "a container with that name, index or CKA_ID exists";
	case KSP_E_POLICY:
		return "refused by the [policy] of mdp11.conf";
	case KSP_E_NOT_FOUND:
		return "no such container or object";
	case KSP_E_CERT_MISMATCH:
		return "the certificate matches no key on the card";
	case KSP_E_NO_ROOM:
		return "no free container on the card";
	case KSP_E_DECRYPT:
		return "decryption failed";
	default:
		return md_rv_text(rv);
	}
}

void
ksp_policy_default(struct ksp_policy *policy)
{
	memset(policy, 0, sizeof(*policy));
	policy->rsa_default_bits = DEFAULT_RSA_BITS;
	policy->allow_exchange_import = true;
	policy->allow_signature_import = true;
	policy->allow_ecdsa_import = true;
	policy->allow_ecdhe_import = true;
}

enum ksp_slot
ksp_slot_of(enum mdp_key_spec spec)
{
	return MDP_KEY_SPEC_IS_SIG_SLOT(spec) ? KSP_SLOT_SIGNATURE : KSP_SLOT_EXCHANGE;
}

struct md_card *
ksp_card_md(struct ksp_card *kc)
{
	return kc ? kc->md : NULL;
}

unsigned long
ksp_card_generation(const struct ksp_card *kc)
{
	return kc ? kc->generation : 0;
}

/* Record a human reason (mdp_err_last()) for the outcome about to be returned. */
static enum md_rv reason(enum md_rv rv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum md_rv
reason(enum md_rv rv, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mdp_err_reason(MDP_ERR_ARGS, "%s", msg);
	log_debug("%s: %s", ksp_rv_name(rv), msg);
	return rv;
}

static bool
spec_valid(enum mdp_key_spec spec)
{
	return spec >= MDP_AT_KEYEXCHANGE && spec <= MDP_AT_ECDHE_P521;
}

static unsigned
ec_bits_of(enum mdp_key_spec spec)
{
	switch (spec) {
	case MDP_AT_ECDSA_P256:
	case MDP_AT_ECDHE_P256:
		return 256;
	case MDP_AT_ECDSA_P384:
	case MDP_AT_ECDHE_P384:
		return 384;
	case MDP_AT_ECDSA_P521:
	case MDP_AT_ECDHE_P521:
		return 521;
	default:
		return 0;
	}
}

/* The key spec of a public key found in a container slot. */
static enum mdp_key_spec
spec_from_key(const struct mdp_key *k, enum ksp_slot slot)
{
	if (mdp_key_type(k) == EVP_PKEY_RSA)
		return slot == KSP_SLOT_SIGNATURE ? MDP_AT_SIGNATURE : MDP_AT_KEYEXCHANGE;
	switch (mdp_key_bits(k)) {
	case 256:
		return slot == KSP_SLOT_SIGNATURE ? MDP_AT_ECDSA_P256 : MDP_AT_ECDHE_P256;
	case 384:
		return slot == KSP_SLOT_SIGNATURE ? MDP_AT_ECDSA_P384 : MDP_AT_ECDHE_P384;
	case 521:
		return slot == KSP_SLOT_SIGNATURE ? MDP_AT_ECDSA_P521 : MDP_AT_ECDHE_P521;
	default:
		return MDP_AT_NONE;
	}
}

/* ---- card access: every md_*() call the view needs, with the reset bookkeeping ---- */

/* The card was reset by someone else: the login state is gone (spec/minidriver.md §10.3). */
static void
note_reset(struct ksp_card *kc)
{
	if (kc->user_in || kc->admin_in)
		log_info("card reset: login state lost");
	kc->user_in = false;
	kc->admin_in = false;
	ksp_cache_drop(&kc->cache, KSP_C_PRIVATE);
	kc->view_ok = false;
	kc->resets_seen = kc->md->resets;
}

static void
check_reset(struct ksp_card *kc, enum md_rv rv)
{
	if (rv == MD_W_RESET_CARD || kc->md->resets != kc->resets_seen)
		note_reset(kc);
}

/* md_read_file, retried once after a reset (reading is idempotent). */
static enum md_rv
read_file(struct ksp_card *kc, const char *dir, const char *name, uint8_t **data, size_t *len)
{
	enum md_rv rv = md_read_file(kc->md, dir, name, 0, data, len);

	if (rv == MD_W_RESET_CARD) {
		check_reset(kc, rv);
		rv = md_read_file(kc->md, dir, name, 0, data, len);
	}
	return rv;
}

static char *
tag_of(const char *kind, const char *dir, const char *name)
{
	size_t n = strlen(kind) + (dir ? strlen(dir) : 0) + (name ? strlen(name) : 0) + 4;
	char *t = malloc(n);

	if (t)
		snprintf(t, n, "%s:%s%s%s", kind, dir ? dir : "", name ? "/" : "",
			 name ? name : "");
	return t;
}

/* A file through the cache; *out NULL-data with absent set when the file does not exist. */
static enum md_rv
load_file(struct ksp_card *kc, const char *dir, const char *name, unsigned classes,
	  const struct ksp_cache_entry **out)
{
	const struct ksp_cache_entry *e;
	uint8_t *data = NULL;
	size_t len = 0;
	char *tag = tag_of("f", dir, name);
	enum md_rv rv;
	bool ok;

	if (!tag)
		return MD_E_NO_MEMORY;
	e = ksp_cache_get(&kc->cache, tag);
	if (e) {
		*out = e;
		free(tag);
		return MD_OK;
	}
	rv = read_file(kc, dir, name, &data, &len);
	if (rv == MD_E_FILE_NOT_FOUND || rv == MD_E_DIR_NOT_FOUND)
		ok = ksp_cache_put(&kc->cache, tag, classes, true, NULL, 0);
	else if (rv == MD_OK)
		ok = ksp_cache_put(&kc->cache, tag, classes, false, data, len);
	else
		goto out;
	rv = ok ? MD_OK : MD_E_NO_MEMORY;
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
static enum md_rv
load_listing(struct ksp_card *kc, const char *dir, const struct ksp_cache_entry **out)
{
	const struct ksp_cache_entry *e;
	char *names = NULL, *tag = tag_of("ls", dir, NULL);
	size_t len = 0;
	enum md_rv rv;
	bool ok;

	if (!tag)
		return MD_E_NO_MEMORY;
	e = ksp_cache_get(&kc->cache, tag);
	if (e) {
		*out = e;
		free(tag);
		return MD_OK;
	}
	rv = md_enum_files(kc->md, dir, &names, &len, 0);
	if (rv == MD_W_RESET_CARD) {
		check_reset(kc, rv);
		rv = md_enum_files(kc->md, dir, &names, &len, 0);
	}
	if (rv == MD_E_DIR_NOT_FOUND || rv == MD_E_FILE_NOT_FOUND)
		ok = ksp_cache_put(&kc->cache, tag, KSP_C_FILES, true, NULL, 0);
	else if (rv == MD_OK)
		ok = ksp_cache_put(&kc->cache, tag, KSP_C_FILES, false, (uint8_t *)names, len);
	else
		goto out;
	rv = ok ? MD_OK : MD_E_NO_MEMORY;
	if (ok)
		*out = ksp_cache_get(&kc->cache, tag);
out:
	free(names);
	free(tag);
	return rv;
}

/* Iterate a multi-string listing: returns the next name or NULL. */
static const char *
next_name(const struct ksp_cache_entry *ls, size_t *pos)
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

static bool
listing_has(const struct ksp_cache_entry *ls, const char *name)
{
	size_t pos = 0;
	const char *n;

	while ((n = next_name(ls, &pos)))
		if (strcasecmp(n, name) == 0)
			return true;
	return false;
}

/* Container info through the cache: "ci:NN" = u32 LE sig length, sig blob, u32 LE kx length, kx
 * blob. */
static enum md_rv
load_container_info(struct ksp_card *kc, uint8_t index, const struct ksp_cache_entry **out)
{
	struct md_container_info ci;
	const struct ksp_cache_entry *e;
	struct mdp_buf b;
	char tag[16];
	uint8_t *p = NULL;
	size_t len = 0;
	enum md_rv rv;
	bool ok;

	snprintf(tag, sizeof(tag), "ci:%02x", index);
	e = ksp_cache_get(&kc->cache, tag);
	if (e) {
		*out = e;
		return MD_OK;
	}
	memset(&ci, 0, sizeof(ci));
	ci.version = MD_CONTAINER_INFO_VERSION;
	rv = md_get_container_info(kc->md, index, 0, &ci);
	if (rv == MD_W_RESET_CARD) {
		check_reset(kc, rv);
		rv = md_get_container_info(kc->md, index, 0, &ci);
	}
	if (rv == MD_E_NO_KEY_CONTAINER) {
		ok = ksp_cache_put(&kc->cache, tag, KSP_C_CONTAINERS, true, NULL, 0);
		rv = ok ? MD_OK : MD_E_NO_MEMORY;
		if (ok)
			*out = ksp_cache_get(&kc->cache, tag);
		return rv;
	}
	if (rv != MD_OK)
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
		return MD_E_NO_MEMORY;
	ok = ksp_cache_put(&kc->cache, tag, KSP_C_CONTAINERS, false, p, len);
	free(p);
	if (!ok)
		return MD_E_NO_MEMORY;
	*out = ksp_cache_get(&kc->cache, tag);
	return MD_OK;
}

/* Card facts that never change for one cardid. */
static enum md_rv
load_static(struct ksp_card *kc)
{
	const struct ksp_cache_entry *e;
	struct mdp_cursor c;
	struct md_capabilities caps;
	struct md_free_space fs;
	uint8_t buf[16];
	uint32_t ro = 0;
	size_t len = 0;
	enum md_rv rv;

	e = ksp_cache_get(&kc->cache, "caps");
	if (!e || e->absent || e->len != 16) {
		struct mdp_buf b;
		uint8_t serial[64];
		size_t slen = 0;

		memset(&caps, 0, sizeof(caps));
		caps.version = MD_CAPABILITIES_VERSION;
		rv = md_query_capabilities(kc->md, &caps);
		if (rv != MD_OK)
			return rv;
		if (md_get_property(kc->md, MD_CP_CARD_READ_ONLY, &ro, sizeof(ro), &len, 0) !=
		    MD_OK)
			ro = 0;
		memset(&fs, 0, sizeof(fs));
		fs.version = MD_FREE_SPACE_VERSION;
		if (md_query_free_space(kc->md, 0, &fs) != MD_OK)
			fs.max_containers = MD_VALUE_UNKNOWN;
		buf_init(&b);
		b.data = buf;
		b.cap = sizeof(buf);
		buf_put_le32(&b, caps.certificate_compression);
		buf_put_le32(&b, caps.key_gen);
		buf_put_le32(&b, ro);
		buf_put_le32(&b, fs.max_containers);
		if (!ksp_cache_put(&kc->cache, "caps", KSP_C_STATIC, false, buf, 16))
			return MD_E_NO_MEMORY;
		if (md_get_property(kc->md, MD_CP_CARD_SERIAL_NO, serial, sizeof(serial), &slen,
				    0) == MD_OK &&
		    slen > 0) {
			if (!ksp_cache_put(&kc->cache, "serial", KSP_C_STATIC, false, serial, slen))
				return MD_E_NO_MEMORY;
		} else if (!ksp_cache_put(&kc->cache, "serial", KSP_C_STATIC, true, NULL, 0)) {
			return MD_E_NO_MEMORY;
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
			return MD_E_NO_MEMORY;
		snprintf(kc->serial, sizeof(kc->serial), "%s", hex);
		free(hex);
	} else {
		char *hex = mdp_hex_encode(kc->cardid, kc->cardid_len > 8 ? 8 : kc->cardid_len);

		if (!hex)
			return MD_E_NO_MEMORY;
		snprintf(kc->serial, sizeof(kc->serial), "%s", hex);
		free(hex);
	}
	return MD_OK;
}

/* Key sizes of one key spec through the cache ("ks:N" = min, default, max, increment; absent:
 * unsupported). */
static enum md_rv
load_key_sizes(struct ksp_card *kc, enum mdp_key_spec spec, struct ksp_key_sizes *out)
{
	const struct ksp_cache_entry *e;
	struct md_key_sizes ks;
	struct mdp_cursor c;
	char tag[8];
	enum md_rv rv;

	memset(out, 0, sizeof(*out));
	snprintf(tag, sizeof(tag), "ks:%u", (unsigned)spec);
	e = ksp_cache_get(&kc->cache, tag);
	if (!e) {
		uint8_t buf[16];
		struct mdp_buf b;

		memset(&ks, 0, sizeof(ks));
		ks.version = MD_KEY_SIZES_VERSION;
		rv = md_query_key_sizes(kc->md, (uint32_t)spec, 0, &ks);
		if (rv == MD_E_UNSUPPORTED_FEATURE || rv == MD_E_INVALID_PARAMETER) {
			if (!ksp_cache_put(&kc->cache, tag, KSP_C_STATIC, true, NULL, 0))
				return MD_E_NO_MEMORY;
		} else if (rv != MD_OK) {
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
				return MD_E_NO_MEMORY;
		}
		e = ksp_cache_get(&kc->cache, tag);
	}
	if (e->absent || e->len != 16)
		return MD_OK;
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
								: DEFAULT_RSA_BITS;
		if (out->min_bits > out->max_bits)
			out->supported = false;
	}
	return MD_OK;
}

/* PIN_INFO types of the user and admin PINs ("pin:N", PIN freshness class). */
static enum md_rv
load_pin_info(struct ksp_card *kc)
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
			enum md_rv rv;

			memset(&pi, 0, sizeof(pi));
			pi.version = MD_PIN_INFO_VERSION;
			rv = md_get_property(kc->md, MD_CP_CARD_PIN_INFO, &pi, sizeof(pi), &len,
					     ids[i]);
			if (rv != MD_OK)
				pi.pin_type = ids[i] == MD_ROLE_ADMIN ? MD_PIN_CHALLENGE_RESPONSE
								      : MD_PIN_ALPHANUMERIC;
			b[0] = (uint8_t)pi.pin_type;
			b[1] = b[2] = b[3] = 0;
			if (!ksp_cache_put(&kc->cache, tag, KSP_C_PIN, false, b, 4))
				return MD_E_NO_MEMORY;
			e = ksp_cache_get(&kc->cache, tag);
		}
		types[i] = e->len >= 1 ? e->data[0] : 0;
	}
	kc->user_pin_type = types[0];
	kc->admin_pin_type = types[1];
	kc->have_pin_info = true;
	return MD_OK;
}

/* CARD_FREE_SPACE_INFO through the cache ("free": bytes, containers available, maximum). */
static enum md_rv
load_free_space(struct ksp_card *kc, const struct ksp_cache_entry **out)
{
	const struct ksp_cache_entry *e = ksp_cache_get(&kc->cache, "free");
	struct md_free_space fs;
	struct mdp_buf w;
	uint8_t b[12];

	if (e && !e->absent && e->len == 12) {
		*out = e;
		return MD_OK;
	}
	memset(&fs, 0, sizeof(fs));
	fs.version = MD_FREE_SPACE_VERSION;
	if (md_query_free_space(kc->md, 0, &fs) != MD_OK) {
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
		return MD_E_NO_MEMORY;
	*out = ksp_cache_get(&kc->cache, "free");
	return MD_OK;
}

/* ---- the view ---- */

static void
free_view(struct ksp_card *kc)
{
	size_t i;
	int s;

	for (i = 0; i < kc->nconts; i++) {
		for (s = 0; s < KSP_SLOTS; s++) {
			struct slot_store *st = &kc->store[i][s];

			mdp_key_free(st->pub);
			free(st->cert);
			free(st->id);
			free(st->label);
			free(st->cert_label);
		}
	}
	free(kc->conts);
	free(kc->store);
	kc->conts = NULL;
	kc->store = NULL;
	kc->nconts = 0;
	ksp_keyattr_free_list(kc->attrs, kc->nattrs);
	kc->attrs = NULL;
	kc->nattrs = 0;
	for (i = 0; i < kc->ndobs; i++)
		ksp_dob_clear(&kc->dob_store[i]);
	free(kc->dob_store);
	free(kc->dobs);
	kc->dob_store = NULL;
	kc->dobs = NULL;
	kc->ndobs = 0;
	kc->view_ok = false;
}

/* The subject CN of a certificate as UTF-8, or NULL. */
static char *
cert_cn(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509_NAME *n;
	char *out = NULL;
	int i;

	if (!x)
		return NULL;
	n = X509_get_subject_name(x);
	i = n ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
	if (i >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
		unsigned char *u = NULL;
		int ul = ASN1_STRING_to_UTF8(&u, s);

		if (ul > 0 && !memchr(u, 0, (size_t)ul)) {
			out = malloc((size_t)ul + 1);
			if (out) {
				memcpy(out, u, (size_t)ul);
				out[ul] = '\0';
			}
		}
		OPENSSL_free(u);
	}
	X509_free(x);
	return out;
}

static EVP_PKEY *
cert_pkey(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	EVP_PKEY *k;

	if (!x)
		return NULL;
	if (p != der + len) {
		X509_free(x);
		return NULL;
	}
	k = X509_get_pubkey(x);
	X509_free(x);
	return k;
}

static const struct ksp_keyattr *
find_attr(const struct ksp_card *kc, uint8_t index, int slot, const char *name,
	  const struct mdp_key *pub)
{
	uint8_t h[32];
	bool have_h = pub && mdp_key_public_sha256(pub, h) == MDP_OK;
	size_t i;

	for (i = 0; i < kc->nattrs; i++) {
		const struct ksp_keyattr *a = &kc->attrs[i];

		if (a->index != index || a->slot != slot || strcmp(a->name, name) != 0)
			continue;
		/* A key replaced by another host under the same name does not inherit the data. */
		if (a->has_pub && (!have_h || memcmp(a->pub_sha256, h, 32) != 0))
			continue;
		return a;
	}
	return NULL;
}

/* Find in the mscp listing the certificate file of (index, slot), whatever its case. */
static const char *
find_cert_name(const struct ksp_cache_entry *ls, uint8_t index, bool sig)
{
	size_t pos = 0;
	const char *n;

	while ((n = next_name(ls, &pos))) {
		uint8_t i;
		bool s;

		if (ksp_cert_file_parse(n, &i, &s) && i == index && s == sig)
			return n;
	}
	return NULL;
}

static enum md_rv
build_slot(struct ksp_card *kc, struct ksp_container *ct, struct slot_store *st, int slot,
	   const uint8_t *blob, size_t blob_len, const struct ksp_cache_entry *mscp_ls)
{
	struct ksp_key *k = &ct->slot[slot];
	const struct ksp_keyattr *a;
	const struct ksp_cache_entry *ce;
	const char *cname;
	enum mdp_err e;
	enum md_rv rv;
	char *cn = NULL;

	e = blob_parse(blob, blob_len, BLOB_FMT_UNKNOWN, 0, &st->pub);
	if (e != MDP_OK) {
		log_warn("container %u: unreadable public key (%s): %s", ct->index, mdp_err_name(e),
			 mdp_err_last());
		return MD_OK;
	}
	k->spec = spec_from_key(st->pub, (enum ksp_slot)slot);
	if (k->spec == MDP_AT_NONE) {
		mdp_key_free(st->pub);
		st->pub = NULL;
		return MD_OK;
	}
	k->bits = mdp_key_bits(st->pub);
	k->pub = st->pub;
	k->pub_blob = blob;
	k->pub_blob_len = blob_len;

	cname = find_cert_name(mscp_ls, ct->index, slot == KSP_SLOT_SIGNATURE);
	if (cname) {
		rv = load_file(kc, MSCP, cname, KSP_C_FILES, &ce);
		if (rv != MD_OK)
			return rv;
		if (!ce->absent &&
		    !ksp_cert_decompress(ce->data, ce->len, &st->cert, &st->cert_len))
			log_warn("container %u: certificate %s unreadable", ct->index, cname);
		k->cert = st->cert;
		k->cert_len = st->cert_len;
	}

	a = find_attr(kc, ct->index, slot, ct->name, st->pub);
	if (a && a->has_id) {
		st->id = mdp_memdup(a->id, a->id_len);
		st->id_len = a->id_len;
	} else {
		st->id = mdp_memdup(ct->name, strlen(ct->name));
		st->id_len = strlen(ct->name);
	}
	if (st->cert)
		cn = cert_cn(st->cert, st->cert_len);
	if (a && a->label)
		st->label = strdup(a->label);
	else
		st->label = strdup(cn ? cn : ct->name);
	if (a && a->cert_label)
		st->cert_label = strdup(a->cert_label);
	else
		st->cert_label = strdup(st->label ? st->label : "");
	free(cn);
	if (!st->id || !st->label || !st->cert_label)
		return MD_E_NO_MEMORY;
	k->id = st->id;
	k->id_len = st->id_len;
	k->label = st->label;
	k->cert_label = st->cert_label;
	k->id_is_default = !a;
	k->origin = a ? (enum ksp_origin)a->origin : KSP_ORIGIN_UNKNOWN;
	return MD_OK;
}

static int
cmp_dob(const void *a, const void *b)
{
	const struct ksp_data_object *x = a, *y = b;

	return (x->num > y->num) - (x->num < y->num);
}

static enum md_rv
build_data_objects(struct ksp_card *kc, const struct ksp_cache_entry *app_ls)
{
	size_t pos = 0, n = 0, cap = 0;
	const char *name;
	enum md_rv rv = MD_OK;

	while ((name = next_name(app_ls, &pos))) {
		const struct ksp_cache_entry *fe = NULL;
		struct ksp_data_object *o;
		struct ksp_dob *d;
		unsigned num;
		bool priv;

		if (!ksp_dob_file_parse(name, &num, &priv))
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 8;
			struct ksp_data_object *g1 = realloc(kc->dobs, nc * sizeof(*g1));

			if (!g1)
				return MD_E_NO_MEMORY;
			kc->dobs = g1;
			{
				struct ksp_dob *g2 = realloc(kc->dob_store, nc * sizeof(*g2));

				if (!g2)
					return MD_E_NO_MEMORY;
				kc->dob_store = g2;
			}
			cap = nc;
		}
		o = &kc->dobs[n];
		d = &kc->dob_store[n];
		memset(o, 0, sizeof(*o));
		memset(d, 0, sizeof(*d));
		o->num = num;
		o->is_private = priv;
		kc->ndobs = ++n;
		if (priv && !kc->user_in)
			continue;
		rv = load_file(kc, APPDIR, name, KSP_C_FILES | (priv ? KSP_C_PRIVATE : 0), &fe);
		if (priv && (rv == MD_W_SECURITY_VIOLATION || rv == MD_E_NO_ACCESS ||
			     rv == MD_W_CARD_NOT_AUTHENTICATED)) {
			rv = MD_OK;
			continue;
		}
		if (rv != MD_OK)
			return rv;
		if (fe->absent || !ksp_dob_parse(fe->data, fe->len, d)) {
			log_warn("data object %s unreadable", name);
			kc->ndobs = --n;
			continue;
		}
		o->loaded = true;
		o->application = d->application;
		o->label = d->label;
		o->object_id = d->has_object_id ? d->object_id : NULL;
		o->object_id_len = d->has_object_id ? d->object_id_len : 0;
		o->value = d->value;
		o->value_len = d->value_len;
	}
	/* dob_store entries stay at the index they were parsed with; sort only after copying. */
	if (n > 1)
		qsort(kc->dobs, n, sizeof(*kc->dobs), cmp_dob);
	return rv;
}

static enum md_rv
build_view(struct ksp_card *kc)
{
	const struct ksp_cache_entry *cmap = NULL, *mscp_ls = NULL, *app_ls = NULL, *ka = NULL;
	enum md_rv rv;
	size_t i, nvalid = 0;

	free_view(kc);
	rv = load_file(kc, MSCP, "cmapfile", KSP_C_CONTAINERS | KSP_C_FILES, &cmap);
	if (rv != MD_OK)
		return rv;
	rv = load_listing(kc, MSCP, &mscp_ls);
	if (rv != MD_OK)
		return rv;
	rv = load_listing(kc, APPDIR, &app_ls);
	if (rv != MD_OK)
		return rv;
	if (listing_has(app_ls, KEYATTR)) {
		rv = load_file(kc, APPDIR, KEYATTR, KSP_C_FILES, &ka);
		if (rv != MD_OK)
			return rv;
		if (!ka->absent && !ksp_keyattr_parse(ka->data, ka->len, &kc->attrs, &kc->nattrs))
			log_warn("mdp11/keyattr unreadable: application data ignored");
	}
	kc->ncmap = cmap->absent ? 0 : cmap->len / KSP_CMAP_RECORD;
	if (!cmap->absent && cmap->len % KSP_CMAP_RECORD)
		log_warn("cmapfile length %zu is not a multiple of 86", cmap->len);
	if (kc->ncmap > 255)
		kc->ncmap = 255;
	for (i = 0; i < kc->ncmap; i++)
		if (cmap->data[i * KSP_CMAP_RECORD + 80] & KSP_CMAP_VALID)
			nvalid++;
	kc->conts = calloc(nvalid ? nvalid : 1, sizeof(*kc->conts));
	kc->store = calloc(nvalid ? nvalid : 1, sizeof(*kc->store));
	if (!kc->conts || !kc->store)
		return MD_E_NO_MEMORY;
	for (i = 0; i < kc->ncmap; i++) {
		struct ksp_cmap_rec rec;
		const struct ksp_cache_entry *ci;
		struct ksp_container *ct = &kc->conts[kc->nconts];
		struct slot_store *st = kc->store[kc->nconts];
		struct mdp_cursor c;
		const uint8_t *blob[2];
		uint32_t blen[2];

		ksp_cmap_rec_parse(cmap->data + i * KSP_CMAP_RECORD, &rec);
		if (!(rec.flags & KSP_CMAP_VALID))
			continue;
		memset(ct, 0, sizeof(*ct));
		ct->index = (uint8_t)i;
		if (!ksp_name_from_utf16(rec.name_utf16, ct->name, sizeof(ct->name))) {
			log_warn("container %zu: name is not valid UTF-16", i);
			continue;
		}
		ct->is_default = (rec.flags & KSP_CMAP_DEFAULT) != 0;
		rv = load_container_info(kc, (uint8_t)i, &ci);
		if (rv != MD_OK)
			return rv;
		if (ci->absent) {
			log_warn("container %zu (%s) is in cmapfile but has no key", i, ct->name);
			continue;
		}
		cur_init(&c, ci->data, ci->len);
		blen[KSP_SLOT_SIGNATURE] = cur_get_le32(&c);
		blob[KSP_SLOT_SIGNATURE] = cur_get_bytes(&c, blen[KSP_SLOT_SIGNATURE]);
		blen[KSP_SLOT_EXCHANGE] = cur_get_le32(&c);
		blob[KSP_SLOT_EXCHANGE] = cur_get_bytes(&c, blen[KSP_SLOT_EXCHANGE]);
		if (c.bad) {
			char tag[16];

			/* a damaged entry (from a damaged disk cache) is read again next time */
			snprintf(tag, sizeof(tag), "ci:%02x", (unsigned)i);
			ksp_cache_drop_tag(&kc->cache, tag);
			log_warn("container %zu: damaged cache entry", i);
			continue;
		}
		for (int s = 0; s < KSP_SLOTS; s++) {
			if (blen[s] == 0)
				continue;
			rv = build_slot(kc, ct, &st[s], s, blob[s], blen[s], mscp_ls);
			if (rv != MD_OK) {
				kc->nconts++;
				return rv;
			}
		}
		kc->nconts++;
	}
	rv = build_data_objects(kc, app_ls);
	if (rv != MD_OK)
		return rv;
	kc->view_ok = true;
	kc->generation++;
	return MD_OK;
}

/* The view, and what token info needs, so that polling it never reaches the card. */
static enum md_rv
rebuild(struct ksp_card *kc)
{
	const struct ksp_cache_entry *fe;
	struct ksp_key_sizes ks;
	enum md_rv rv;
	int spec;

	rv = build_view(kc);
	if (rv == MD_OK)
		rv = load_free_space(kc, &fe);
	for (spec = MDP_AT_KEYEXCHANGE; rv == MD_OK && spec <= MDP_AT_ECDHE_P521; spec++)
		rv = load_key_sizes(kc, (enum mdp_key_spec)spec, &ks);
	return rv;
}

static void
save_cache(struct ksp_card *kc)
{
	if (!kc->cache_dir || !kc->cache.dirty || !kc->have_cardcf)
		return;
	if (ksp_cache_save(&kc->cache, kc->cache_dir, kc->cardid, kc->cardid_len, kc->cardcf))
		kc->cache.dirty = false;
}

/*
 * Whether the transport proves that nobody else touched the card since cardcf was last read
 * (the embedded card: its state file is the one we saw then, or changed only by our own
 * commands, whose cardcf bumps we made ourselves). PC/SC cannot tell: always false.
 */
static bool
unchanged(struct ksp_card *kc)
{
	uint64_t m;

	return kc->have_cardcf && kc->have_mark && md_card_mark(kc->md, &m) && m == kc->mark;
}

/* Read cardcf and drop what its counters say changed (spec/minidriver.md §5.3). */
static enum md_rv
sync_cardcf(struct ksp_card *kc)
{
	uint8_t *cf = NULL;
	size_t len = 0;
	uint8_t now[6];
	unsigned diff;
	enum md_rv rv;

	if (kc->md->resets != kc->resets_seen)
		note_reset(kc);
	if (unchanged(kc))
		return MD_OK;
	rv = read_file(kc, NULL, "cardcf", &cf, &len);
	if (rv != MD_OK)
		return rv;
	/* Inside the transaction: nobody else can change the card before it ends. */
	kc->have_mark = md_card_mark(kc->md, &kc->mark);
	/* someone else may have used the card: a wrong PIN moves no cardcf counter */
	kc->tries_fresh = false;
	memset(now, 0, sizeof(now));
	memcpy(now, cf, len < 6 ? len : 6);
	free(cf);
	diff = kc->have_cardcf ? ksp_cardcf_diff(kc->cardcf, now)
			       : (KSP_C_PIN | KSP_C_CONTAINERS | KSP_C_FILES);
	if (diff) {
		log_debug("cardcf changed (classes 0x%x): reloading", diff);
		ksp_cache_drop(&kc->cache, diff);
		kc->view_ok = false;
		if (diff & KSP_C_PIN) {
			/* another host changed or unblocked the PIN: what we knew of its counter is
			 * old */
			kc->have_pin_info = false;
			kc->tries_left = -1;
			kc->blocked = false;
		}
	}
	memcpy(kc->cardcf, now, 6);
	kc->cardcf_len = len < 6 ? 6 : len;
	kc->have_cardcf = true;
	return MD_OK;
}

/* Bring the view up to date inside a transaction the caller holds. */
static enum md_rv
sync_inlock(struct ksp_card *kc, bool *changed)
{
	bool was_ok;
	enum md_rv rv;

	rv = sync_cardcf(kc);
	if (rv != MD_OK)
		return rv;
	was_ok = kc->view_ok;
	if (!kc->have_pin_info) {
		rv = load_pin_info(kc);
		if (rv != MD_OK)
			return rv;
	}
	if (!kc->view_ok) {
		rv = rebuild(kc);
		if (rv != MD_OK)
			return rv;
	}
	if (changed)
		*changed = !was_ok;
	save_cache(kc);
	return MD_OK;
}

enum md_rv
ksp_card_refresh(struct ksp_card *kc, bool *changed)
{
	bool ch = false;
	enum md_rv rv;

	if (!kc)
		return MD_E_INVALID_PARAMETER;
	/* Nothing to read and nothing can have changed: no transaction, no APDU. */
	if (kc->view_ok && kc->have_pin_info && kc->md->resets == kc->resets_seen &&
	    unchanged(kc)) {
		if (changed)
			*changed = false;
		return MD_OK;
	}
	rv = md_card_begin(kc->md);
	if (rv != MD_OK) {
		check_reset(kc, rv);
		return rv;
	}
	rv = sync_inlock(kc, &ch);
	md_card_end(kc->md, false);
	if (rv == MD_OK && changed)
		*changed = ch;
	return rv;
}

static enum md_rv
ensure_view(struct ksp_card *kc)
{
	if (kc->view_ok && kc->have_pin_info)
		return MD_OK;
	return ksp_card_refresh(kc, NULL);
}

enum md_rv
ksp_card_open(struct md_card *card, const struct ksp_policy *policy, struct ksp_card **out)
{
	struct ksp_card *kc = NULL;
	uint8_t *id = NULL, cf[6];
	size_t idlen = 0;
	enum md_rv rv;
	bool in_tx = false;

	if (!card || !out) {
		md_card_delete(card);
		return MD_E_INVALID_PARAMETER;
	}
	kc = calloc(1, sizeof(*kc));
	if (!kc) {
		md_card_delete(card);
		return MD_E_NO_MEMORY;
	}
	kc->md = card;
	kc->resets_seen = card->resets;
	kc->tries_left = -1;
	kc->tries_max = -1;
	ksp_cache_init(&kc->cache);
	if (policy)
		kc->policy = *policy;
	else
		ksp_policy_default(&kc->policy);
	if (!kc->policy.rsa_default_bits)
		kc->policy.rsa_default_bits = DEFAULT_RSA_BITS;
	kc->policy.cache_dir = NULL;
	if (policy && policy->cache_dir && policy->cache_dir[0]) {
		kc->cache_dir = strdup(policy->cache_dir);
		if (!kc->cache_dir) {
			rv = MD_E_NO_MEMORY;
			goto out;
		}
		kc->policy.cache_dir = kc->cache_dir;
	}

	rv = md_card_begin(card);
	if (rv != MD_OK)
		goto out;
	in_tx = true;
	rv = read_file(kc, NULL, "cardid", &id, &idlen);
	if (rv != MD_OK)
		goto out;
	if (idlen == 0) {
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	kc->cardid_len = idlen > sizeof(kc->cardid) ? sizeof(kc->cardid) : idlen;
	memcpy(kc->cardid, id, kc->cardid_len);
	/* A persistent cache of this card: trusted per class while cardcf matches. */
	if (kc->cache_dir &&
	    ksp_cache_load(&kc->cache, kc->cache_dir, kc->cardid, kc->cardid_len, cf)) {
		memcpy(kc->cardcf, cf, 6);
		kc->cardcf_len = 6;
		kc->have_cardcf = true;
		log_debug("persistent cache loaded");
	}
	rv = load_static(kc);
	if (rv != MD_OK)
		goto out;
	rv = sync_inlock(kc, NULL);
out:
	if (in_tx)
		md_card_end(card, false);
	free(id);
	if (rv != MD_OK) {
		ksp_card_free(kc);
		return rv;
	}
	*out = kc;
	return MD_OK;
}

void
ksp_card_free(struct ksp_card *kc)
{
	if (!kc)
		return;
	save_cache(kc);
	free_view(kc);
	ksp_cache_clear(&kc->cache);
	mdp_secure_free(kc->admin_key, ADMIN_KEY_LEN);
	md_card_delete(kc->md);
	free(kc->cache_dir);
	free(kc);
}

/* ---- read access ---- */

enum md_rv
ksp_card_containers(struct ksp_card *kc, const struct ksp_container **list, size_t *count)
{
	enum md_rv rv;

	if (!kc || !list || !count)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	*list = kc->conts;
	*count = kc->nconts;
	return MD_OK;
}

static const struct ksp_container *
container_at(const struct ksp_card *kc, uint8_t index)
{
	size_t i;

	for (i = 0; i < kc->nconts; i++)
		if (kc->conts[i].index == index)
			return &kc->conts[i];
	return NULL;
}

enum md_rv
ksp_card_container(struct ksp_card *kc, uint8_t index, const struct ksp_container **out)
{
	const struct ksp_container *c;
	enum md_rv rv;

	if (!kc || !out)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	c = container_at(kc, index);
	if (!c)
		return KSP_RV(KSP_E_NOT_FOUND);
	*out = c;
	return MD_OK;
}

static const struct ksp_key *
key_at(const struct ksp_card *kc, uint8_t index, enum ksp_slot slot)
{
	const struct ksp_container *c = container_at(kc, index);

	if (!c || (unsigned)slot >= KSP_SLOTS || c->slot[slot].spec == MDP_AT_NONE)
		return NULL;
	return &c->slot[slot];
}

enum md_rv
ksp_find_key_by_id(struct ksp_card *kc, const uint8_t *id, size_t id_len, uint8_t *index,
		   enum ksp_slot *slot)
{
	enum md_rv rv;
	size_t i;
	int s;

	if (!kc || (!id && id_len) || !index || !slot)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	for (i = 0; i < kc->nconts; i++) {
		for (s = 0; s < KSP_SLOTS; s++) {
			const struct ksp_key *k = &kc->conts[i].slot[s];

			if (k->spec != MDP_AT_NONE && k->id_len == id_len &&
			    (id_len == 0 || memcmp(k->id, id, id_len) == 0)) {
				*index = kc->conts[i].index;
				*slot = (enum ksp_slot)s;
				return MD_OK;
			}
		}
	}
	return KSP_RV(KSP_E_NOT_FOUND);
}

static enum md_rv
find_by_pkey(struct ksp_card *kc, EVP_PKEY *pk, uint8_t *index, enum ksp_slot *slot)
{
	size_t i;
	int s;

	for (i = 0; i < kc->nconts; i++) {
		for (s = 0; s < KSP_SLOTS; s++) {
			const struct ksp_key *k = &kc->conts[i].slot[s];

			if (k->spec != MDP_AT_NONE && EVP_PKEY_eq(mdp_key_pkey(k->pub), pk) == 1) {
				*index = kc->conts[i].index;
				*slot = (enum ksp_slot)s;
				return MD_OK;
			}
		}
	}
	return KSP_RV(KSP_E_NOT_FOUND);
}

enum md_rv
ksp_find_container_for_public_key(struct ksp_card *kc, const struct mdp_key *pub, uint8_t *index,
				  enum ksp_slot *slot)
{
	enum md_rv rv;

	if (!kc || !pub || !index || !slot)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	return find_by_pkey(kc, mdp_key_pkey(pub), index, slot);
}

enum md_rv
ksp_find_key_for_certificate(struct ksp_card *kc, const uint8_t *der, size_t len, uint8_t *index,
			     enum ksp_slot *slot)
{
	EVP_PKEY *pk;
	enum md_rv rv;

	if (!kc || !der || !len || !index || !slot)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	pk = cert_pkey(der, len);
	if (!pk)
		return KSP_RV(KSP_E_BAD_DATA);
	rv = find_by_pkey(kc, pk, index, slot);
	EVP_PKEY_free(pk);
	if ((uint32_t)rv == (uint32_t)KSP_E_NOT_FOUND)
		rv = KSP_RV(KSP_E_CERT_MISMATCH);
	return rv;
}

enum md_rv
ksp_token_info(struct ksp_card *kc, struct ksp_token_info *out)
{
	struct ksp_token_info ti;
	const struct ksp_cache_entry *e;
	enum md_rv rv;
	int spec;

	if (!kc || !out)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	memset(&ti, 0, sizeof(ti));
	memcpy(ti.cardid, kc->cardid, kc->cardid_len);
	snprintf(ti.serial, sizeof(ti.serial), "%s", kc->serial);
	snprintf(ti.card_name, sizeof(ti.card_name), "%s", md_card_name(kc->md));
	for (spec = MDP_AT_KEYEXCHANGE; spec <= MDP_AT_ECDHE_P521; spec++) {
		rv = load_key_sizes(kc, (enum mdp_key_spec)spec, &ti.sizes[spec]);
		if (rv != MD_OK)
			return rv;
	}
	rv = load_free_space(kc, &e);
	if (rv != MD_OK)
		return rv;
	{
		struct mdp_cursor c;

		cur_init(&c, e->data, e->len);
		ti.free_bytes = cur_get_le32(&c);
		ti.free_containers = cur_get_le32(&c);
		ti.max_containers = cur_get_le32(&c);
	}
	ti.read_only = kc->read_only;
	ti.keygen = kc->keygen;
	ti.pin_min_len = 4;
	ti.pin_max_len = 16;
	*out = ti;
	return MD_OK;
}

/* ---- changes ---- */

/* Open a change: transaction, fresh view. */
static enum md_rv
change_begin(struct ksp_card *kc)
{
	enum md_rv rv = md_card_begin(kc->md);

	if (rv != MD_OK) {
		check_reset(kc, rv);
		return rv;
	}
	rv = sync_inlock(kc, NULL);
	if (rv != MD_OK)
		md_card_end(kc->md, false);
	return rv;
}

/*
 * Bump the cardcf counters of the kinds of change about to be made and
 * write cardcf, before the change itself: a host that reads the card after
 * this sees new counters even if the change is interrupted (as OpenSC does).
 */
static enum md_rv
bump_cardcf(struct ksp_card *kc, unsigned classes)
{
	uint8_t cf[64];
	uint8_t *cur = NULL;
	size_t len = 0;
	enum md_rv rv;

	rv = read_file(kc, NULL, "cardcf", &cur, &len);
	if (rv != MD_OK)
		return rv;
	if (len > sizeof(cf))
		len = sizeof(cf);
	memset(cf, 0, sizeof(cf));
	memcpy(cf, cur, len);
	free(cur);
	if (len < 6)
		len = 6;
	ksp_cardcf_bump(cf, classes);
	rv = md_write_file(kc->md, NULL, "cardcf", 0, cf, len);
	if (rv != MD_OK)
		return rv;
	/* Our own view stays valid: only what we change is dropped by the caller. */
	memcpy(kc->cardcf, cf, 6);
	kc->cardcf_len = len;
	kc->cache.dirty = true;
	return MD_OK;
}

static enum md_rv
change_end(struct ksp_card *kc, enum md_rv rv)
{
	enum md_rv r2 = MD_OK;

	check_reset(kc, rv);
	if (!kc->view_ok)
		r2 = rebuild(kc);
	save_cache(kc);
	md_card_end(kc->md, false);
	return rv != MD_OK ? rv : r2;
}

/* Write a whole file, creating it (and mdp11's directory) when missing. */
static enum md_rv
write_file(struct ksp_card *kc, const char *dir, const char *name, const uint8_t *data, size_t len,
	   enum md_file_access access)
{
	enum md_rv rv = md_write_file(kc->md, dir, name, 0, data, len);

	if (rv == MD_E_DIR_NOT_FOUND && dir && strcmp(dir, APPDIR) == 0) {
		rv = md_create_directory(kc->md, APPDIR, MD_DIR_AC_USER_CREATE_DELETE);
		if (rv != MD_OK && rv != MD_ERROR_FILE_EXISTS)
			return rv;
		ksp_cache_drop_tag(&kc->cache, "ls:" APPDIR);
		rv = MD_E_FILE_NOT_FOUND;
	}
	if (rv == MD_E_FILE_NOT_FOUND) {
		rv = md_create_file(kc->md, dir, name, (uint32_t)len, access);
		if (rv != MD_OK)
			return rv;
		if (dir) {
			char *t = tag_of("ls", dir, NULL);

			if (t)
				ksp_cache_drop_tag(&kc->cache, t);
			free(t);
		}
		rv = md_write_file(kc->md, dir, name, 0, data, len);
	}
	return rv;
}

static void
drop_file_tag(struct ksp_card *kc, const char *dir, const char *name)
{
	char *t = tag_of("f", dir, name);

	if (t)
		ksp_cache_drop_tag(&kc->cache, t);
	free(t);
}

static enum md_rv
delete_file(struct ksp_card *kc, const char *dir, const char *name)
{
	enum md_rv rv = md_delete_file(kc->md, dir, name, 0);
	char *t;

	if (rv == MD_E_FILE_NOT_FOUND)
		rv = MD_OK;
	drop_file_tag(kc, dir, name);
	t = tag_of("ls", dir, NULL);
	if (t)
		ksp_cache_drop_tag(&kc->cache, t);
	free(t);
	return rv;
}

/* The current cmapfile as records (at least n records, zero-filled). */
static enum md_rv
cmap_get(struct ksp_card *kc, size_t n, uint8_t **out, size_t *count)
{
	const struct ksp_cache_entry *e;
	size_t have, want;
	uint8_t *p;
	enum md_rv rv;

	rv = load_file(kc, MSCP, "cmapfile", KSP_C_CONTAINERS | KSP_C_FILES, &e);
	if (rv != MD_OK)
		return rv;
	have = e->absent ? 0 : e->len / KSP_CMAP_RECORD;
	want = have > n ? have : n;
	p = calloc(want ? want : 1, KSP_CMAP_RECORD);
	if (!p)
		return MD_E_NO_MEMORY;
	if (have)
		memcpy(p, e->data, have * KSP_CMAP_RECORD);
	*out = p;
	*count = want;
	return MD_OK;
}

static enum md_rv
cmap_put(struct ksp_card *kc, const uint8_t *recs, size_t count)
{
	size_t len = count * KSP_CMAP_RECORD;
	enum md_rv rv = write_file(kc, MSCP, "cmapfile", recs, len, MD_AC_EVERYONE_READ_USER_WRITE);

	drop_file_tag(kc, MSCP, "cmapfile");
	if (rv == MD_OK && !ksp_cache_put(&kc->cache, "f:" MSCP "/cmapfile",
					  KSP_C_CONTAINERS | KSP_C_FILES, false, recs, len))
		rv = MD_E_NO_MEMORY;
	kc->view_ok = false;
	return rv;
}

/*
 * Rewrite mdp11/keyattr: the records of the current view except those of
 * index `drop` (-1: none) and slot drop_slot (-1: both), plus `add` when
 * given. Records that no longer match a container are pruned.
 */
static enum md_rv
keyattr_rewrite(struct ksp_card *kc, int drop, int drop_slot, const struct ksp_keyattr *add)
{
	struct ksp_keyattr *list = NULL;
	size_t n = 0, i;
	uint8_t *data = NULL;
	size_t len = 0;
	enum md_rv rv;

	list = calloc(kc->nattrs + 1, sizeof(*list));
	if (!list)
		return MD_E_NO_MEMORY;
	for (i = 0; i < kc->nattrs; i++) {
		const struct ksp_keyattr *a = &kc->attrs[i];
		const struct ksp_container *c = container_at(kc, a->index);

		if (((int)a->index == drop && (drop_slot < 0 || drop_slot == a->slot)) || !c ||
		    strcmp(c->name, a->name) != 0 || c->slot[a->slot].spec == MDP_AT_NONE)
			continue;
		if (find_attr(kc, a->index, a->slot, a->name, c->slot[a->slot].pub) != a)
			continue;
		list[n++] = *a; /* shallow: kc->attrs keeps ownership */
	}
	if (add)
		list[n++] = *add;
	if (!ksp_keyattr_write(list, n, &data, &len)) {
		free(list);
		return MD_E_NO_MEMORY;
	}
	free(list);
	rv = write_file(kc, APPDIR, KEYATTR, data, len, MD_AC_EVERYONE_READ_USER_WRITE);
	drop_file_tag(kc, APPDIR, KEYATTR);
	if (rv == MD_OK &&
	    !ksp_cache_put(&kc->cache, "f:" APPDIR "/" KEYATTR, KSP_C_FILES, false, data, len))
		rv = MD_E_NO_MEMORY;
	free(data);
	kc->view_ok = false;
	return rv;
}

static bool
name_taken(const struct ksp_card *kc, const char *name, uint8_t *index)
{
	size_t i;

	for (i = 0; i < kc->nconts; i++) {
		if (strcmp(kc->conts[i].name, name) == 0) {
			*index = kc->conts[i].index;
			return true;
		}
	}
	return false;
}

static bool
id_taken(const struct ksp_card *kc, const uint8_t *id, size_t len, uint8_t *index)
{
	size_t i;
	int s;

	for (i = 0; i < kc->nconts; i++)
		for (s = 0; s < KSP_SLOTS; s++) {
			const struct ksp_key *k = &kc->conts[i].slot[s];

			if (k->spec != MDP_AT_NONE && k->id_len == len &&
			    (len == 0 || memcmp(k->id, id, len) == 0)) {
				*index = kc->conts[i].index;
				return true;
			}
		}
	return false;
}

static unsigned
max_index(const struct ksp_card *kc)
{
	if (kc->max_containers == MD_VALUE_UNKNOWN || kc->max_containers == 0 ||
	    kc->max_containers > 255)
		return MAX_INDEX_DEFAULT;
	return kc->max_containers;
}

/*
 * Choose the container name and index of a new key (spec/minidriver.md
 * §10.2, §9.1). A name, id or index in use is KSP_E_EXISTS unless
 * req->overwrite; then the container is replaced as a whole (a GIDS
 * container holds one key file, so its other slot cannot be kept).
 */
static enum md_rv
plan_new_key(struct ksp_card *kc, const struct ksp_new_key *req, char name[4 * 39 + 1],
	     uint8_t *index, bool *replacing)
{
	uint8_t taken_at = 0;
	int target = -1;
	size_t i;

	*replacing = false;
	if (req->name) {
		if (!ksp_name_to_utf16(req->name, strlen(req->name), NULL))
			return reason(MD_E_INVALID_PARAMETER,
				      "container name \"%s\" is not 1..39 characters without '\\'",
				      req->name);
		snprintf(name, 4 * 39 + 1, "%s", req->name);
	} else if (req->id && req->id_len && !memchr(req->id, 0, req->id_len) &&
		   ksp_name_to_utf16((const char *)req->id, req->id_len, NULL)) {
		memcpy(name, req->id, req->id_len);
		name[req->id_len] = '\0';
	} else {
		do {
			if (!ksp_guid_name(name))
				return MD_E_UNEXPECTED;
		} while (name_taken(kc, name, &taken_at));
	}
	if (req->index >= 0) {
		if ((unsigned)req->index >= max_index(kc))
			return reason(MD_E_INVALID_PARAMETER, "container index %s out of range",
				      "requested");
		target = req->index;
		if (container_at(kc, (uint8_t)target)) {
			if (!req->overwrite)
				return reason(KSP_RV(KSP_E_EXISTS), "container index %s is in use",
					      "requested");
			*replacing = true;
		}
	}
	if (name_taken(kc, name, &taken_at)) {
		if (!req->overwrite)
			return reason(KSP_RV(KSP_E_EXISTS), "a key named \"%s\" exists", name);
		if (target >= 0 && target != taken_at)
			return reason(MD_E_INVALID_PARAMETER,
				      "name \"%s\" belongs to another container index", name);
		target = taken_at;
		*replacing = true;
	}
	if (req->id && id_taken(kc, req->id, req->id_len, &taken_at)) {
		if (!req->overwrite)
			return reason(KSP_RV(KSP_E_EXISTS), "a key with this CKA_ID exists%s", "");
		if (target >= 0 && target != taken_at)
			return reason(MD_E_INVALID_PARAMETER,
				      "CKA_ID belongs to another container%s", "");
		target = taken_at;
		*replacing = true;
	}
	if (target < 0) {
		/* First zeroed (non-valid) record, else append. */
		for (i = 0; i < kc->ncmap; i++) {
			if (!container_at(kc, (uint8_t)i)) {
				target = (int)i;
				break;
			}
		}
		if (target < 0)
			target = (int)kc->ncmap;
		if ((unsigned)target >= max_index(kc))
			return reason(KSP_RV(KSP_E_NO_ROOM), "no free container index%s", "");
	}
	*index = (uint8_t)target;
	return MD_OK;
}

/* Write the cmapfile record of a new key and keep exactly one default container. */
static enum md_rv
record_new_key(struct ksp_card *kc, uint8_t index, const char *name, enum mdp_key_spec spec,
	       unsigned bits)
{
	struct ksp_cmap_rec rec;
	uint8_t *recs = NULL;
	size_t count = 0, i;
	bool have_default = false;
	enum md_rv rv;

	rv = cmap_get(kc, (size_t)index + 1, &recs, &count);
	if (rv != MD_OK)
		return rv;
	for (i = 0; i < count; i++) {
		uint8_t f = recs[i * KSP_CMAP_RECORD + 80];

		if (i != index && (f & KSP_CMAP_VALID) && (f & KSP_CMAP_DEFAULT))
			have_default = true;
	}
	memset(&rec, 0, sizeof(rec));
	if (!ksp_name_to_utf16(name, strlen(name), rec.name_utf16)) {
		free(recs);
		return MD_E_INVALID_PARAMETER;
	}
	rec.flags = KSP_CMAP_VALID | (have_default ? 0 : KSP_CMAP_DEFAULT);
	if (MDP_KEY_SPEC_IS_SIG_SLOT(spec))
		rec.sig_bits = (uint16_t)bits;
	else
		rec.kx_bits = (uint16_t)bits;
	ksp_cmap_rec_write(&rec, recs + (size_t)index * KSP_CMAP_RECORD);
	rv = cmap_put(kc, recs, count);
	free(recs);
	return rv;
}

static bool
import_allowed(const struct ksp_policy *p, enum mdp_key_spec spec, const char **option)
{
	if (spec == MDP_AT_KEYEXCHANGE) {
		*option = "allow_private_exchange_key_import (Windows: "
			  "AllowPrivateExchangeKeyImport)";
		return p->allow_exchange_import;
	}
	if (spec == MDP_AT_SIGNATURE) {
		*option = "allow_private_signature_key_import (Windows: "
			  "AllowPrivateSignatureKeyImport)";
		return p->allow_signature_import;
	}
	if (MDP_KEY_SPEC_IS_ECDSA(spec)) {
		*option = "allow_private_ecdsa_key_import (Windows: AllowPrivateECDSAKeyImport)";
		return p->allow_ecdsa_import;
	}
	*option = "allow_private_ecdhe_key_import (Windows: AllowPrivateECDHEKeyImport)";
	return p->allow_ecdhe_import;
}

static enum md_rv
check_rsa_bits(struct ksp_card *kc, enum mdp_key_spec spec, unsigned bits)
{
	struct ksp_key_sizes ks;
	enum md_rv rv = load_key_sizes(kc, spec, &ks);
	char msg[192];

	if (rv != MD_OK)
		return rv;
	if (!ks.supported)
		return reason(MD_E_UNSUPPORTED_FEATURE, "key spec %s not supported by the card",
			      mdp_key_spec_name(spec));
	if (bits < ks.min_bits || bits > ks.max_bits ||
	    (ks.incr_bits > 1 && (bits - ks.min_bits) % ks.incr_bits)) {
		ksp_rsa_size_why(&ks, bits, msg, sizeof(msg));
		return reason(KSP_RV(KSP_E_KEY_SIZE), "RSA key size %s", msg);
	}
	return MD_OK;
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

/* Delete the certificates of a container index (both slots, whatever case the names have). */
static enum md_rv
delete_certs(struct ksp_card *kc, uint8_t index)
{
	const struct ksp_cache_entry *ls;
	char names[4][9];
	size_t pos = 0, n = 0, i;
	const char *nm;
	enum md_rv rv;

	rv = load_listing(kc, MSCP, &ls);
	if (rv != MD_OK)
		return rv;
	while ((nm = next_name(ls, &pos)) && n < 4) {
		uint8_t idx;
		bool sig;

		if (ksp_cert_file_parse(nm, &idx, &sig) && idx == index)
			snprintf(names[n++], 9, "%s", nm);
	}
	for (i = 0; i < n; i++) {
		rv = delete_file(kc, MSCP, names[i]);
		if (rv != MD_OK)
			return rv;
	}
	if (n)
		kc->view_ok = false;
	return MD_OK;
}

/* Common tail of generate and import: the key is on the card at index. */
static enum md_rv
finish_new_key(struct ksp_card *kc, const struct ksp_new_key *req, uint8_t index, const char *name,
	       enum ksp_origin origin)
{
	struct md_container_info ci;
	struct ksp_keyattr a;
	struct mdp_key *pub = NULL;
	const uint8_t *blob;
	size_t blen;
	enum md_rv rv;
	enum mdp_err e;
	char tag[16];

	memset(&ci, 0, sizeof(ci));
	memset(&a, 0, sizeof(a));
	ci.version = MD_CONTAINER_INFO_VERSION;
	rv = md_get_container_info(kc->md, index, 0, &ci);
	if (rv != MD_OK)
		goto out;
	if (MDP_KEY_SPEC_IS_SIG_SLOT(req->spec)) {
		blob = ci.sig_public_key;
		blen = ci.sig_public_key_len;
	} else {
		blob = ci.kx_public_key;
		blen = ci.kx_public_key_len;
	}
	e = blob ? blob_parse(blob, blen, BLOB_FMT_UNKNOWN, 0, &pub) : MDP_ERR_FORMAT;
	if (e != MDP_OK) {
		rv = MD_E_UNEXPECTED;
		goto out;
	}
	snprintf(tag, sizeof(tag), "ci:%02x", index);
	ksp_cache_drop_tag(&kc->cache, tag);
	rv = record_new_key(kc, index, name, req->spec, mdp_key_bits(pub));
	if (rv != MD_OK)
		goto out;
	a.index = index;
	a.slot = (uint8_t)ksp_slot_of(req->spec);
	a.name = (char *)name;
	a.has_pub = mdp_key_public_sha256(pub, a.pub_sha256) == MDP_OK;
	a.has_id = req->id != NULL;
	a.id = (uint8_t *)req->id;
	a.id_len = req->id ? req->id_len : 0;
	a.label = (char *)req->label;
	a.origin = (uint8_t)origin;
	rv = keyattr_rewrite(kc, index, -1, &a);
out:
	md_container_info_clear(&ci);
	mdp_key_free(pub);
	return rv;
}

/* Remove a freshly created key again when its record could not be written (no partial state). */
static void
undo_new_key(struct ksp_card *kc, uint8_t index)
{
	char tag[16];

	md_delete_container(kc->md, index, 0);
	snprintf(tag, sizeof(tag), "ci:%02x", index);
	ksp_cache_drop_tag(&kc->cache, tag);
	kc->view_ok = false;
}

static enum md_rv
create_key(struct ksp_card *kc, const struct ksp_new_key *req, uint32_t flags, uint32_t bits,
	   const uint8_t *blob, size_t blob_len, uint8_t *index_out)
{
	char name[4 * 39 + 1];
	uint8_t index = 0;
	bool replacing = false;
	enum md_rv rv;

	rv = change_begin(kc);
	if (rv != MD_OK)
		return rv;
	rv = plan_new_key(kc, req, name, &index, &replacing);
	if (rv != MD_OK)
		goto out;
	rv = bump_cardcf(kc, KSP_C_CONTAINERS | KSP_C_FILES);
	if (rv != MD_OK)
		goto out;
	if (replacing) {
		/* The old keys, certificates and application data of the container go. */
		rv = md_delete_container(kc->md, index, 0);
		if (rv != MD_OK)
			goto out;
		rv = delete_certs(kc, index);
		if (rv != MD_OK)
			goto out;
	}
	rv = md_create_container(kc->md, index, flags, (uint32_t)req->spec, bits, blob, blob_len);
	if (rv != MD_OK) {
		if (replacing)
			kc->view_ok = false;
		goto out;
	}
	rv = finish_new_key(kc, req, index, name,
			    flags == MD_CREATE_KEY_GEN ? KSP_ORIGIN_GENERATED
						       : KSP_ORIGIN_IMPORTED);
	if (rv != MD_OK) {
		undo_new_key(kc, index);
		goto out;
	}
	log_info("key %s created in container %u (%s)", mdp_key_spec_name(req->spec), index, name);
out : {
	char tag[16];

	snprintf(tag, sizeof(tag), "ci:%02x", index);
	ksp_cache_drop_tag(&kc->cache, tag);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
}
	rv = change_end(kc, rv);
	if (rv == MD_OK && index_out)
		*index_out = index;
	return rv;
}

enum md_rv
ksp_generate(struct ksp_card *kc, const struct ksp_new_key *req, uint8_t *index_out)
{
	unsigned bits;
	enum md_rv rv;

	if (!kc || !req || !spec_valid(req->spec) || (req->id == NULL && req->id_len))
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	if (MDP_KEY_SPEC_IS_EC(req->spec)) {
		if (req->bits != 0 && req->bits != ec_bits_of(req->spec))
			return reason(MD_E_INVALID_PARAMETER, "EC key size must be 0 for %s",
				      mdp_key_spec_name(req->spec));
		bits = 0; /* spec/minidriver.md §4.2: the curve is implied by the key spec */
		{
			struct ksp_key_sizes ks;

			rv = load_key_sizes(kc, req->spec, &ks);
			if (rv != MD_OK)
				return rv;
			if (!ks.supported)
				return reason(MD_E_UNSUPPORTED_FEATURE,
					      "key spec %s not supported by the card",
					      mdp_key_spec_name(req->spec));
		}
	} else {
		bits = req->bits ? req->bits : kc->policy.rsa_default_bits;
		rv = check_rsa_bits(kc, req->spec, bits);
		if (rv != MD_OK)
			return rv;
	}
	if (!kc->keygen)
		return reason(MD_E_UNSUPPORTED_FEATURE, "the card cannot generate keys%s", "");
	return create_key(kc, req, MD_CREATE_KEY_GEN, bits, NULL, 0, index_out);
}

enum md_rv
ksp_import(struct ksp_card *kc, const struct mdp_key *key, const struct ksp_new_key *req,
	   uint8_t *index_out)
{
	const char *option = NULL;
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	enum blob_format fmt;
	enum mdp_err e;
	enum md_rv rv;
	unsigned bits;

	if (!kc || !key || !req || !spec_valid(req->spec) || (req->id == NULL && req->id_len))
		return MD_E_INVALID_PARAMETER;
	if (!mdp_key_is_private(key))
		return reason(KSP_RV(KSP_E_BAD_KEY), "import needs a private key%s", "");
	if (!import_allowed(&kc->policy, req->spec, &option))
		return reason(KSP_RV(KSP_E_POLICY),
			      "importing %s private keys is disabled by the policy option %s",
			      mdp_key_spec_name(req->spec), option);
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	bits = mdp_key_bits(key);
	if (mdp_key_type(key) == EVP_PKEY_RSA) {
		if (!MDP_KEY_SPEC_IS_RSA(req->spec))
			return reason(KSP_RV(KSP_E_BAD_KEY), "an RSA key cannot have key spec %s",
				      mdp_key_spec_name(req->spec));
		rv = check_rsa_bits(kc, req->spec, bits);
		if (rv != MD_OK)
			return rv;
		fmt = BLOB_FMT_CAPI_PRIVATE;
	} else {
		if (!MDP_KEY_SPEC_IS_EC(req->spec) || ec_bits_of(req->spec) != bits)
			return reason(KSP_RV(KSP_E_BAD_KEY), "the EC key does not suit key spec %s",
				      mdp_key_spec_name(req->spec));
		fmt = BLOB_FMT_CNG_ECC_PRIVATE;
	}
	e = blob_write(key, fmt, req->spec, &blob, &blob_len);
	if (e != MDP_OK)
		return e == MDP_ERR_NOMEM ? MD_E_NO_MEMORY : KSP_RV(KSP_E_BAD_KEY);
	/* dwKeySize: RSA bits; the blob carries the key (spec/minidriver.md §4.2, §14.10). */
	rv = create_key(kc, req, MD_CREATE_KEY_IMPORT, MDP_KEY_SPEC_IS_RSA(req->spec) ? bits : 0,
			blob, blob_len, index_out);
	mdp_secure_free(blob, blob_len);
	return rv;
}

enum md_rv
ksp_delete_key(struct ksp_card *kc, uint8_t index, enum ksp_slot slot)
{
	const struct ksp_container *c;
	uint8_t *recs = NULL;
	size_t count = 0, i;
	bool was_default;
	enum md_rv rv;
	char tag[16];

	if (!kc || (unsigned)slot >= KSP_SLOTS)
		return MD_E_INVALID_PARAMETER;
	rv = change_begin(kc);
	if (rv != MD_OK)
		return rv;
	c = container_at(kc, index);
	if (!c || c->slot[slot].spec == MDP_AT_NONE) {
		rv = KSP_RV(KSP_E_NOT_FOUND);
		goto out;
	}
	if (c->slot[1 - slot].spec != MDP_AT_NONE) {
		rv = reason(KSP_RV(KSP_E_PROHIBITED),
			    "container \"%s\" holds a second key: deleting one would delete both",
			    c->name);
		goto out;
	}
	was_default = c->is_default;
	rv = bump_cardcf(kc, KSP_C_CONTAINERS | KSP_C_FILES);
	if (rv != MD_OK)
		goto out;
	rv = md_delete_container(kc->md, index, 0);
	if (rv != MD_OK)
		goto out;
	snprintf(tag, sizeof(tag), "ci:%02x", index);
	ksp_cache_drop_tag(&kc->cache, tag);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
	rv = delete_certs(kc, index);
	if (rv != MD_OK)
		goto out;
	rv = cmap_get(kc, 0, &recs, &count);
	if (rv != MD_OK)
		goto out;
	if (index < count)
		memset(recs + (size_t)index * KSP_CMAP_RECORD, 0, KSP_CMAP_RECORD);
	if (was_default) {
		/* The lowest remaining valid record becomes the default (docs/ksp.md). */
		for (i = 0; i < count; i++) {
			if (recs[i * KSP_CMAP_RECORD + 80] & KSP_CMAP_VALID) {
				recs[i * KSP_CMAP_RECORD + 80] |= KSP_CMAP_DEFAULT;
				break;
			}
		}
	}
	rv = cmap_put(kc, recs, count);
	if (rv != MD_OK)
		goto out;
	rv = keyattr_rewrite(kc, index, -1, NULL);
out:
	free(recs);
	return change_end(kc, rv);
}

enum md_rv
ksp_set_key_attrs(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const uint8_t *id,
		  size_t id_len, const char *label)
{
	const struct ksp_container *c;
	const struct ksp_keyattr *old;
	struct ksp_keyattr a;
	enum md_rv rv;

	if (!kc || (unsigned)slot >= KSP_SLOTS)
		return MD_E_INVALID_PARAMETER;
	rv = change_begin(kc);
	if (rv != MD_OK)
		return rv;
	c = container_at(kc, index);
	if (!c || c->slot[slot].spec == MDP_AT_NONE) {
		rv = KSP_RV(KSP_E_NOT_FOUND);
		goto out;
	}
	old = find_attr(kc, index, slot, c->name, c->slot[slot].pub);
	memset(&a, 0, sizeof(a));
	if (old)
		a = *old;
	a.index = index;
	a.slot = (uint8_t)slot;
	a.name = (char *)c->name;
	a.has_pub = mdp_key_public_sha256(c->slot[slot].pub, a.pub_sha256) == MDP_OK;
	if (id) {
		a.id = (uint8_t *)id;
		a.id_len = id_len;
		a.has_id = true;
	}
	if (label)
		a.label = (char *)label;
	rv = bump_cardcf(kc, KSP_C_FILES);
	if (rv != MD_OK)
		goto out;
	rv = keyattr_rewrite(kc, index, slot, &a);
out:
	return change_end(kc, rv);
}

/* ---- certificates ---- */

/* The name under which the certificate of (index, slot) is stored, existing or new. */
static enum md_rv
cert_name_for(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, char out[9], bool *exists)
{
	const struct ksp_cache_entry *ls;
	const char *n;
	enum md_rv rv = load_listing(kc, MSCP, &ls);

	if (rv != MD_OK)
		return rv;
	n = find_cert_name(ls, index, slot == KSP_SLOT_SIGNATURE);
	*exists = n != NULL;
	if (n)
		snprintf(out, 9, "%s", n);
	else
		ksp_cert_file_name(index, slot == KSP_SLOT_SIGNATURE, out);
	return MD_OK;
}

static enum md_rv
set_cert_label_inlock(struct ksp_card *kc, const struct ksp_container *c, enum ksp_slot slot,
		      const char *label)
{
	const struct ksp_keyattr *old = find_attr(kc, c->index, slot, c->name, c->slot[slot].pub);
	struct ksp_keyattr a;

	memset(&a, 0, sizeof(a));
	if (old)
		a = *old;
	a.index = c->index;
	a.slot = (uint8_t)slot;
	a.name = (char *)c->name;
	a.has_pub = mdp_key_public_sha256(c->slot[slot].pub, a.pub_sha256) == MDP_OK;
	a.cert_label = (char *)label;
	return keyattr_rewrite(kc, c->index, slot, &a);
}

enum md_rv
ksp_write_certificate(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const uint8_t *der,
		      size_t len, const char *label)
{
	const struct ksp_container *c;
	EVP_PKEY *pk = NULL;
	uint8_t *stored = NULL;
	size_t stored_len = 0;
	char name[9];
	bool exists = false;
	enum md_rv rv;

	if (!kc || !der || !len || (unsigned)slot >= KSP_SLOTS)
		return MD_E_INVALID_PARAMETER;
	pk = cert_pkey(der, len);
	if (!pk)
		return reason(KSP_RV(KSP_E_BAD_DATA), "not a DER X.509 certificate%s", "");
	if (len > 0xffff) {
		EVP_PKEY_free(pk);
		return reason(KSP_RV(KSP_E_BAD_DATA), "certificate larger than 65535 bytes%s", "");
	}
	rv = change_begin(kc);
	if (rv != MD_OK) {
		EVP_PKEY_free(pk);
		return rv;
	}
	c = container_at(kc, index);
	if (!c || c->slot[slot].spec == MDP_AT_NONE) {
		rv = KSP_RV(KSP_E_NOT_FOUND);
		goto out;
	}
	if (EVP_PKEY_eq(mdp_key_pkey(c->slot[slot].pub), pk) != 1) {
		rv = reason(KSP_RV(KSP_E_CERT_MISMATCH),
			    "the certificate's public key is not the key of container \"%s\"",
			    c->name);
		goto out;
	}
	if (kc->cert_compression) {
		stored = mdp_memdup(der, len);
		stored_len = len;
	} else if (!ksp_cert_compress(der, len, &stored, &stored_len)) {
		stored = NULL;
	}
	if (!stored) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	rv = cert_name_for(kc, index, slot, name, &exists);
	if (rv != MD_OK)
		goto out;
	rv = bump_cardcf(kc, KSP_C_FILES);
	if (rv != MD_OK)
		goto out;
	rv = write_file(kc, MSCP, name, stored, stored_len, MD_AC_EVERYONE_READ_USER_WRITE);
	drop_file_tag(kc, MSCP, name);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
	if (rv != MD_OK)
		goto out;
	if (label)
		rv = set_cert_label_inlock(kc, c, slot, label);
out:
	EVP_PKEY_free(pk);
	free(stored);
	return change_end(kc, rv);
}

enum md_rv
ksp_delete_certificate(struct ksp_card *kc, uint8_t index, enum ksp_slot slot)
{
	const struct ksp_container *c;
	char name[9];
	bool exists = false;
	enum md_rv rv;

	if (!kc || (unsigned)slot >= KSP_SLOTS)
		return MD_E_INVALID_PARAMETER;
	rv = change_begin(kc);
	if (rv != MD_OK)
		return rv;
	c = container_at(kc, index);
	if (!c || !c->slot[slot].cert) {
		rv = KSP_RV(KSP_E_NOT_FOUND);
		goto out;
	}
	rv = cert_name_for(kc, index, slot, name, &exists);
	if (rv != MD_OK)
		goto out;
	rv = bump_cardcf(kc, KSP_C_FILES);
	if (rv != MD_OK)
		goto out;
	rv = delete_file(kc, MSCP, name);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
out:
	return change_end(kc, rv);
}

enum md_rv
ksp_set_certificate_label(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const char *label)
{
	const struct ksp_container *c;
	enum md_rv rv;

	if (!kc || !label || (unsigned)slot >= KSP_SLOTS)
		return MD_E_INVALID_PARAMETER;
	rv = change_begin(kc);
	if (rv != MD_OK)
		return rv;
	c = container_at(kc, index);
	if (!c || !c->slot[slot].cert) {
		rv = KSP_RV(KSP_E_NOT_FOUND);
		goto out;
	}
	rv = bump_cardcf(kc, KSP_C_FILES);
	if (rv != MD_OK)
		goto out;
	rv = set_cert_label_inlock(kc, c, slot, label);
out:
	return change_end(kc, rv);
}

/* ---- data objects ---- */

enum md_rv
ksp_data_objects(struct ksp_card *kc, const struct ksp_data_object **list, size_t *count)
{
	enum md_rv rv;

	if (!kc || !list || !count)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	*list = kc->dobs;
	*count = kc->ndobs;
	return MD_OK;
}

static const struct ksp_data_object *
dob_at(const struct ksp_card *kc, unsigned num)
{
	size_t i;

	for (i = 0; i < kc->ndobs; i++)
		if (kc->dobs[i].num == num)
			return &kc->dobs[i];
	return NULL;
}

static enum md_rv
write_dob(struct ksp_card *kc, unsigned num, const struct ksp_data_new *obj)
{
	struct ksp_dob d;
	uint8_t *data = NULL;
	size_t len = 0;
	char name[9];
	enum md_rv rv;

	memset(&d, 0, sizeof(d));
	d.is_private = obj->is_private;
	d.application = (char *)(obj->application ? obj->application : "");
	d.label = (char *)(obj->label ? obj->label : "");
	d.has_object_id = obj->object_id != NULL;
	d.object_id = (uint8_t *)obj->object_id;
	d.object_id_len = obj->object_id_len;
	d.value = (uint8_t *)(obj->value ? obj->value : (const uint8_t *)"");
	d.value_len = obj->value ? obj->value_len : 0;
	if (!ksp_dob_write(&d, &data, &len))
		return MD_E_NO_MEMORY;
	ksp_dob_file_name(num, obj->is_private, name);
	rv = write_file(kc, APPDIR, name, data, len,
			obj->is_private ? MD_AC_USER_READ_WRITE : MD_AC_EVERYONE_READ_USER_WRITE);
	drop_file_tag(kc, APPDIR, name);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
	mdp_secure_free(data, len);
	return rv;
}

static bool
dob_args_ok(const struct ksp_data_new *obj)
{
	return obj && (obj->value || !obj->value_len) && (obj->object_id || !obj->object_id_len);
}

enum md_rv
ksp_data_create(struct ksp_card *kc, const struct ksp_data_new *obj, unsigned *num_out)
{
	unsigned num;
	enum md_rv rv;

	if (!kc || !dob_args_ok(obj))
		return MD_E_INVALID_PARAMETER;
	rv = change_begin(kc);
	if (rv != MD_OK)
		return rv;
	for (num = 0; num < KSP_DOB_MAX && dob_at(kc, num); num++)
		;
	if (num == KSP_DOB_MAX) {
		rv = reason(KSP_RV(KSP_E_NO_ROOM), "%s data objects on the card", "too many");
		goto out;
	}
	rv = bump_cardcf(kc, KSP_C_FILES);
	if (rv != MD_OK)
		goto out;
	rv = write_dob(kc, num, obj);
out:
	rv = change_end(kc, rv);
	if (rv == MD_OK && num_out)
		*num_out = num;
	return rv;
}

enum md_rv
ksp_data_update(struct ksp_card *kc, unsigned num, const struct ksp_data_new *obj)
{
	const struct ksp_data_object *o;
	enum md_rv rv;

	if (!kc || !dob_args_ok(obj))
		return MD_E_INVALID_PARAMETER;
	rv = change_begin(kc);
	if (rv != MD_OK)
		return rv;
	o = dob_at(kc, num);
	if (!o) {
		rv = KSP_RV(KSP_E_NOT_FOUND);
		goto out;
	}
	if (o->is_private != obj->is_private) {
		rv = reason(KSP_RV(KSP_E_PROHIBITED), "CKA_PRIVATE of a data object %s",
			    "cannot change");
		goto out;
	}
	rv = bump_cardcf(kc, KSP_C_FILES);
	if (rv != MD_OK)
		goto out;
	rv = write_dob(kc, num, obj);
out:
	return change_end(kc, rv);
}

enum md_rv
ksp_data_delete(struct ksp_card *kc, unsigned num)
{
	const struct ksp_data_object *o;
	char name[9];
	enum md_rv rv;

	if (!kc)
		return MD_E_INVALID_PARAMETER;
	rv = change_begin(kc);
	if (rv != MD_OK)
		return rv;
	o = dob_at(kc, num);
	if (!o) {
		rv = KSP_RV(KSP_E_NOT_FOUND);
		goto out;
	}
	ksp_dob_file_name(num, o->is_private, name);
	rv = bump_cardcf(kc, KSP_C_FILES);
	if (rv != MD_OK)
		goto out;
	rv = delete_file(kc, APPDIR, name);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
out:
	return change_end(kc, rv);
}

/* ---- private-key operations ---- */

/* A hash the host computes with (common/hash.h); NULL for NONE and hashes OpenSSL lacks. */
static const struct mdp_hash_info *
hash_of(enum mdp_hash h)
{
	return mdp_hash_md(h) ? mdp_hash_get(h) : NULL;
}

/* The RSA signature the module returned (little-endian) as k big-endian bytes. */
static enum md_rv
put_reversed(const uint8_t *le, size_t len, uint8_t *out, size_t k)
{
	size_t i;

	if (len > k)
		return MD_E_UNEXPECTED;
	memset(out, 0, k - len);
	for (i = 0; i < len; i++)
		out[k - 1 - i] = le[i];
	return MD_OK;
}

static enum md_rv
sign_call(struct md_card *md, uint8_t index, enum mdp_key_spec spec, uint32_t padding,
	  const struct md_padding_info *pi, const uint8_t *data, size_t len, uint8_t **sig,
	  size_t *sig_len)
{
	struct md_signing_info si;
	enum md_rv rv;

	memset(&si, 0, sizeof(si));
	si.version = MD_SIGNING_INFO_VERSION;
	si.container_index = index;
	si.key_spec = (uint32_t)spec;
	si.data = data;
	si.data_len = len;
	if (padding) {
		si.flags = MD_PADDING_INFO_PRESENT;
		si.padding_type = padding;
		si.padding_info = pi;
	}
	rv = md_sign_data(md, &si);
	if (rv != MD_OK) {
		free(si.signature);
		return rv;
	}
	*sig = si.signature;
	*sig_len = si.signature_len;
	return MD_OK;
}

enum md_rv
ksp_sign_key_get(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, struct ksp_sign_key *out)
{
	const struct ksp_key *k;
	enum md_rv rv;

	if (!kc || !out)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	k = key_at(kc, index, slot);
	if (!k)
		return KSP_RV(KSP_E_NOT_FOUND);
	memset(out, 0, sizeof(*out));
	out->index = index;
	out->spec = k->spec;
	out->bits = k->bits;
	if (MDP_KEY_SPEC_IS_EC(k->spec))
		out->ec_field = mdp_key_ec_field_len(k->pub);
	out->pub = mdp_key_pkey(k->pub);
	if (!out->pub || !EVP_PKEY_up_ref(out->pub)) {
		out->pub = NULL;
		return MD_E_NO_MEMORY;
	}
	return MD_OK;
}

void
ksp_sign_key_clear(struct ksp_sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pub);
	memset(k, 0, sizeof(*k));
}

enum md_rv
ksp_sign_on(struct md_card *md, const struct ksp_sign_key *sk, const struct ksp_padding *pad,
	    const uint8_t *data, size_t len, uint8_t *sig, size_t *sig_len)
{
	struct md_padding_info pi;
	uint8_t *out = NULL, *block = NULL;
	const struct mdp_hash_info *hi = NULL;
	size_t out_len = 0, n;
	enum md_rv rv;

	if (!md || !sk || !pad || (!data && len) || !sig_len)
		return MD_E_INVALID_PARAMETER;
	memset(&pi, 0, sizeof(pi));
	if (MDP_KEY_SPEC_IS_EC(sk->spec)) {
		if (!MDP_KEY_SPEC_IS_ECDSA(sk->spec))
			return reason(KSP_RV(KSP_E_BAD_KEY), "an ECDH key cannot sign%s", "");
		if (pad->type != KSP_PAD_NONE || len == 0)
			return KSP_RV(KSP_E_BAD_DATA);
		n = 2 * sk->ec_field;
		if (!sig) {
			*sig_len = n;
			return MD_OK;
		}
		if (*sig_len < n)
			return MD_E_INSUFFICIENT_BUFFER;
		rv = sign_call(md, sk->index, sk->spec, 0, NULL, data, len, &out, &out_len);
		if (rv == MD_OK && out_len != n)
			rv = MD_E_UNEXPECTED;
		if (rv == MD_OK) {
			memcpy(sig, out, n);
			*sig_len = n;
		}
		free(out);
		return rv;
	}
	n = (sk->bits + 7) / 8;
	if (!sig) {
		*sig_len = n;
		return MD_OK;
	}
	if (*sig_len < n)
		return MD_E_INSUFFICIENT_BUFFER;
	switch (pad->type) {
	case KSP_PAD_NONE:
		/* Raw RSA on a modulus-size block (CKM_RSA_X_509: shorter input is left-padded). */
		if (len > n)
			return KSP_RV(KSP_E_BAD_DATA);
		block = calloc(1, n);
		if (!block)
			return MD_E_NO_MEMORY;
		memcpy(block + n - len, data, len);
		rv = sign_call(md, sk->index, sk->spec, MD_PADDING_NONE, &pi, block, n, &out,
			       &out_len);
		break;
	case KSP_PAD_PKCS1:
		if (pad->hash != MDP_HASH_NONE) {
			hi = hash_of(pad->hash);
			if (!hi || len != hi->len)
				return KSP_RV(KSP_E_BAD_DATA);
			pi.alg_id = hi->name;
		} else if (len == 0 || len + 11 > n) {
			return KSP_RV(KSP_E_BAD_DATA);
		}
		rv = sign_call(md, sk->index, sk->spec, MD_PADDING_PKCS1, &pi, data, len, &out,
			       &out_len);
		break;
	case KSP_PAD_PSS: {
		enum mdp_hash mgf = pad->mgf1_hash == MDP_HASH_NONE ? pad->hash : pad->mgf1_hash;

		hi = hash_of(pad->hash);
		if (!hi || len != hi->len)
			return KSP_RV(KSP_E_BAD_DATA);
		rv = MD_E_UNSUPPORTED_FEATURE;
		if (mgf == pad->hash) {
			pi.alg_id = hi->name;
			pi.salt_len = (uint32_t)pad->salt_len;
			rv = sign_call(md, sk->index, sk->spec, MD_PADDING_PSS, &pi, data, len,
				       &out, &out_len);
		}
		if (rv == MD_E_UNSUPPORTED_FEATURE) {
			/* Host-side EMSA-PSS over raw RSA (spec/minidriver.md §3: pfnCspPadData).
			 */
			if (!hash_of(mgf))
				return KSP_RV(KSP_E_BAD_DATA);
			block = calloc(1, n);
			if (!block)
				return MD_E_NO_MEMORY;
			if (mdp_pad_pss(pad->hash, mgf, data, len, pad->salt_len, sk->bits, block,
					n) != MDP_OK) {
				rv = KSP_RV(KSP_E_BAD_DATA);
				break;
			}
			memset(&pi, 0, sizeof(pi));
			rv = sign_call(md, sk->index, sk->spec, MD_PADDING_NONE, &pi, block, n,
				       &out, &out_len);
		}
		break;
	}
	default:
		return MD_E_INVALID_PARAMETER;
	}
	if (rv == MD_OK)
		rv = put_reversed(out, out_len, sig, n);
	if (rv == MD_OK)
		*sig_len = n;
	free(out);
	free(block);
	return rv;
}

enum md_rv
ksp_sign(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const struct ksp_padding *pad,
	 const uint8_t *data, size_t len, uint8_t *sig, size_t *sig_len)
{
	struct ksp_sign_key sk;
	enum md_rv rv;

	if (!kc || !pad || (!data && len) || !sig_len)
		return MD_E_INVALID_PARAMETER;
	rv = ksp_sign_key_get(kc, index, slot, &sk);
	if (rv != MD_OK)
		return rv;
	rv = ksp_sign_on(kc->md, &sk, pad, data, len, sig, sig_len);
	check_reset(kc, rv);
	ksp_sign_key_clear(&sk);
	return rv;
}

static enum md_rv
decrypt_call(struct ksp_card *kc, uint8_t index, enum mdp_key_spec spec, uint32_t padding,
	     const struct md_padding_info *pi, uint8_t *le, size_t *len)
{
	struct md_rsa_decrypt_info di;
	enum md_rv rv;

	memset(&di, 0, sizeof(di));
	di.version = MD_RSA_DECRYPT_INFO_VERSION;
	di.container_index = index;
	di.key_spec = (uint32_t)spec;
	di.data = le;
	di.data_len = *len;
	di.padding_type = padding;
	di.padding_info = pi;
	rv = md_rsa_decrypt(kc->md, &di);
	check_reset(kc, rv);
	if (rv == MD_OK)
		*len = di.data_len;
	return rv;
}

enum md_rv
ksp_decrypt(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const struct ksp_padding *pad,
	    const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
	const struct ksp_key *k;
	struct md_padding_info pi;
	uint8_t *buf = NULL, *plain = NULL;
	size_t n, m = 0, i;
	enum md_rv rv;

	if (!kc || !pad || !in || !out_len)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	k = key_at(kc, index, slot);
	if (!k)
		return KSP_RV(KSP_E_NOT_FOUND);
	if (k->spec != MDP_AT_KEYEXCHANGE)
		return reason(KSP_RV(KSP_E_BAD_KEY), "only AT_KEYEXCHANGE keys decrypt (%s)",
			      mdp_key_spec_name(k->spec));
	n = (k->bits + 7) / 8;
	if (len != n)
		return KSP_RV(KSP_E_BAD_DATA);
	if (!out) {
		*out_len = n;
		return MD_OK;
	}
	buf = mdp_zalloc(n);
	plain = mdp_zalloc(n);
	if (!buf || !plain) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	/* CardRSADecrypt takes and returns little-endian data (spec/minidriver.md §4.6). */
	for (i = 0; i < n; i++)
		buf[i] = in[n - 1 - i];
	m = n;
	memset(&pi, 0, sizeof(pi));
	switch (pad->type) {
	case KSP_PAD_NONE:
		rv = decrypt_call(kc, index, k->spec, MD_PADDING_NONE, &pi, buf, &m);
		break;
	case KSP_PAD_PKCS1:
		rv = decrypt_call(kc, index, k->spec, MD_PADDING_PKCS1, &pi, buf, &m);
		break;
	case KSP_PAD_OAEP: {
		enum mdp_hash h = pad->hash == MDP_HASH_NONE ? MDP_HASH_SHA1 : pad->hash;
		enum mdp_hash mgf = pad->mgf1_hash == MDP_HASH_NONE ? h : pad->mgf1_hash;

		if (!hash_of(h) || !hash_of(mgf)) {
			rv = KSP_RV(KSP_E_BAD_DATA);
			break;
		}
		rv = MD_E_UNSUPPORTED_FEATURE;
		if (mgf == h) {
			pi.alg_id = hash_of(h)->name;
			pi.label = pad->label;
			pi.label_len = pad->label_len;
			rv = decrypt_call(kc, index, k->spec, MD_PADDING_OAEP, &pi, buf, &m);
		}
		if (rv == MD_E_UNSUPPORTED_FEATURE) {
			/* Raw RSA on the card, constant-time OAEP decoding here (common/pad.h). */
			for (i = 0; i < n; i++)
				buf[i] = in[n - 1 - i];
			m = n;
			memset(&pi, 0, sizeof(pi));
			rv = decrypt_call(kc, index, k->spec, MD_PADDING_NONE, &pi, buf, &m);
			if (rv == MD_OK && m > n)
				rv = MD_E_UNEXPECTED;
			if (rv != MD_OK)
				break;
			mdp_reverse(buf, m);
			memmove(buf + (n - m), buf, m);
			memset(buf, 0, n - m);
			if (mdp_unpad_oaep(h, mgf, pad->label, pad->label_len, buf, n, plain, n,
					   &m) != MDP_OK) {
				rv = KSP_RV(KSP_E_DECRYPT);
				break;
			}
			if (*out_len < m) {
				rv = MD_E_INSUFFICIENT_BUFFER;
				break;
			}
			memcpy(out, plain, m);
			*out_len = m;
			goto out;
		}
		break;
	}
	default:
		rv = MD_E_INVALID_PARAMETER;
		break;
	}
	/*
	 * Every argument was checked above: a module refusing the block now
	 * means the padding did not verify (the GIDS card answers 6A80).
	 */
	if (rv == MD_E_INVALID_PARAMETER && pad->type != KSP_PAD_NONE)
		rv = KSP_RV(KSP_E_DECRYPT);
	if (rv != MD_OK)
		goto out;
	if (m > n) {
		rv = MD_E_UNEXPECTED;
		goto out;
	}
	if (*out_len < m) {
		rv = MD_E_INSUFFICIENT_BUFFER;
		goto out;
	}
	for (i = 0; i < m; i++)
		out[i] = buf[m - 1 - i];
	*out_len = m;
out:
	mdp_secure_free(buf, n);
	mdp_secure_free(plain, n);
	return rv;
}

enum md_rv
ksp_ecdh(struct ksp_card *kc, uint8_t index, enum ksp_slot slot, const uint8_t *peer,
	 size_t peer_len, uint8_t *out, size_t *out_len)
{
	const struct ksp_key *k;
	struct md_dh_agreement_info ai;
	struct md_derive_key dk;
	struct mdp_buf b;
	uint8_t *blob = NULL;
	size_t f, blob_len = 0, i;
	uint32_t magic;
	enum md_rv rv;
	bool have_agreement = false;

	if (!kc || !peer || !out_len)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	k = key_at(kc, index, slot);
	if (!k)
		return KSP_RV(KSP_E_NOT_FOUND);
	if (!MDP_KEY_SPEC_IS_ECDH(k->spec))
		return reason(KSP_RV(KSP_E_BAD_KEY), "key agreement needs an ECDH key (%s)",
			      mdp_key_spec_name(k->spec));
	f = mdp_key_ec_field_len(k->pub);
	if (peer_len != 1 + 2 * f || peer[0] != 0x04)
		return KSP_RV(KSP_E_BAD_DATA);
	if (!out) {
		*out_len = f;
		return MD_OK;
	}
	if (*out_len < f)
		return MD_E_INSUFFICIENT_BUFFER;
	/* The peer as a BCRYPT_ECCPUBLIC_BLOB with the ECDH magic ECK1/ECK3/ECK5. */
	magic = f == 32 ? 0x314B4345u : f == 48 ? 0x334B4345u : 0x354B4345u;
	buf_init(&b);
	buf_put_le32(&b, magic);
	buf_put_le32(&b, (uint32_t)f);
	buf_put_bytes(&b, peer + 1, 2 * f);
	blob = buf_steal(&b, &blob_len);
	buf_free(&b);
	if (!blob)
		return MD_E_NO_MEMORY;
	memset(&ai, 0, sizeof(ai));
	memset(&dk, 0, sizeof(dk));
	ai.version = MD_DH_AGREEMENT_INFO_VERSION;
	ai.container_index = index;
	ai.public_key = blob;
	ai.public_key_len = blob_len;
	rv = md_construct_dh_agreement(kc->md, &ai);
	check_reset(kc, rv);
	if (rv != MD_OK)
		goto out;
	have_agreement = true;
	dk.version = MD_DERIVE_KEY_VERSION;
	dk.kdf = MD_KDF_TRUNCATE;
	dk.secret_agreement_index = ai.secret_agreement_index;
	rv = md_derive_key(kc->md, &dk);
	if (rv != MD_OK)
		goto out;
	if (dk.derived_key_len != f) {
		rv = MD_E_UNEXPECTED;
		goto out;
	}
	/* TRUNCATE returns the raw secret little-endian (spec/minidriver.md §4.7). */
	for (i = 0; i < f; i++)
		out[i] = dk.derived_key[f - 1 - i];
	*out_len = f;
out:
	if (have_agreement)
		md_destroy_dh_agreement(kc->md, ai.secret_agreement_index, 0);
	mdp_secure_free(dk.derived_key, dk.derived_key_len);
	free(blob);
	return rv;
}

/* ---- PINs ---- */

enum md_rv
ksp_pin_info(struct ksp_card *kc, struct ksp_pin_info *out)
{
	struct ksp_pin_info pi;
	enum md_rv rv;

	if (!kc || !out)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	if (kc->md->resets != kc->resets_seen)
		note_reset(kc);
	memset(&pi, 0, sizeof(pi));
	pi.tries_left = kc->tries_left;
	pi.tries_max = kc->tries_max;
	pi.blocked = kc->blocked;
	pi.user_logged_in = kc->user_in;
	pi.admin_logged_in = kc->admin_in;
	pi.external = kc->user_pin_type == MD_PIN_EXTERNAL;
	pi.admin_challenge = kc->admin_pin_type == MD_PIN_CHALLENGE_RESPONSE;
	*out = pi;
	return MD_OK;
}

enum md_rv
ksp_pin_tries_refresh(struct ksp_card *kc)
{
	struct md_pin_tries pt;
	size_t len = 0;
	enum md_rv rv;

	if (!kc)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK || kc->tries_fresh || kc->no_tries)
		return rv;
	memset(&pt, 0, sizeof(pt));
	rv = md_card_begin(kc->md);
	if (rv == MD_OK) {
		rv = md_get_property(kc->md, MD_CP_MDP11_PIN_TRIES, &pt, sizeof(pt), &len,
				     MD_ROLE_USER);
		md_card_end(kc->md, false);
	}
	check_reset(kc, rv);
	if (rv == MD_E_UNSUPPORTED_FEATURE || rv == MD_E_INVALID_PARAMETER) {
		log_debug("the card module does not read the PIN retry counter");
		kc->no_tries = true;
		return MD_OK;
	}
	if (rv != MD_OK)
		return rv;
	if (len < sizeof(pt) || pt.left > 255)
		return MD_E_UNEXPECTED;
	kc->tries_left = (int)pt.left;
	kc->tries_max = pt.max == MD_VALUE_UNKNOWN || pt.max > 255 ? -1 : (int)pt.max;
	kc->blocked = pt.left == 0;
	kc->tries_fresh = true;
	return MD_OK;
}

/* Record what an authentication answer says about the retry counter. */
static void
note_tries(struct ksp_card *kc, enum md_rv rv, uint32_t tries)
{
	if (rv == MD_W_CHV_BLOCKED) {
		kc->tries_left = 0;
		kc->blocked = true;
		return;
	}
	if (tries != MD_VALUE_UNKNOWN && tries < 1000)
		kc->tries_left = (int)tries;
	if (rv == MD_OK) {
		/* A good PIN resets the counter; the module does not say to what. */
		kc->blocked = false;
		kc->tries_left = kc->tries_max;
	} else if (rv == MD_W_WRONG_CHV && kc->tries_left == 0) {
		kc->blocked = true;
	}
}

/* Forget what only a logged-in user may see (private data objects). */
static void
drop_private(struct ksp_card *kc)
{
	size_t i;

	for (i = 0; i < kc->ndobs; i++)
		if (kc->dobs[i].is_private)
			kc->view_ok = false;
	ksp_cache_drop(&kc->cache, KSP_C_PRIVATE);
}

enum md_rv
ksp_login_user(struct ksp_card *kc, const uint8_t *pin, size_t len)
{
	uint32_t tries = MD_VALUE_UNKNOWN;
	enum md_rv rv;

	if (!kc || (!pin && len))
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	if (!pin && kc->user_pin_type != MD_PIN_EXTERNAL)
		return MD_E_INVALID_PARAMETER;
	rv = md_authenticate_ex(kc->md, MD_ROLE_USER, 0, pin, len, NULL, NULL, &tries);
	check_reset(kc, rv);
	note_tries(kc, rv, tries);
	if (rv != MD_OK)
		return rv;
	kc->user_in = true;
	drop_private(kc); /* private data objects become readable: reload them */
	return MD_OK;
}

/* Admin authentication with the 24-byte key (challenge/response) or an admin PIN. */
static enum md_rv
admin_auth(struct ksp_card *kc, const uint8_t *key, size_t len)
{
	uint8_t *ch = NULL, *resp = NULL;
	size_t ch_len = 0, resp_len = 0;
	uint32_t tries = MD_VALUE_UNKNOWN;
	enum md_rv rv;

	if (kc->admin_pin_type != MD_PIN_CHALLENGE_RESPONSE)
		return md_authenticate_ex(kc->md, MD_ROLE_ADMIN, 0, key, len, NULL, NULL, &tries);
	if (len != ADMIN_KEY_LEN)
		return reason(MD_E_INVALID_CHV, "the admin key is %s bytes of 3DES key", "24");
	rv = md_get_challenge(kc->md, &ch, &ch_len);
	if (rv != MD_OK)
		goto out;
	rv = md_admin_response_3des(key, ch, ch_len, &resp, &resp_len);
	if (rv != MD_OK)
		goto out;
	rv = md_authenticate_challenge(kc->md, resp, resp_len, &tries);
out:
	free(ch);
	mdp_secure_free(resp, resp_len);
	return rv;
}

/* A fresh challenge/response for the admin key (unblock, change): the response bytes. */
static enum md_rv
admin_response(struct ksp_card *kc, const uint8_t *key, size_t len, uint8_t **resp,
	       size_t *resp_len)
{
	uint8_t *ch = NULL;
	size_t ch_len = 0;
	enum md_rv rv;

	if (kc->admin_pin_type != MD_PIN_CHALLENGE_RESPONSE) {
		*resp = mdp_memdup(key, len);
		*resp_len = len;
		return *resp ? MD_OK : MD_E_NO_MEMORY;
	}
	if (len != ADMIN_KEY_LEN)
		return reason(MD_E_INVALID_CHV, "the admin key is %s bytes of 3DES key", "24");
	rv = md_get_challenge(kc->md, &ch, &ch_len);
	if (rv == MD_OK)
		rv = md_admin_response_3des(key, ch, ch_len, resp, resp_len);
	free(ch);
	return rv;
}

enum md_rv
ksp_login_admin(struct ksp_card *kc, const uint8_t *key, size_t len)
{
	enum md_rv rv;

	if (!kc || !key || !len || len > 64)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	rv = admin_auth(kc, key, len);
	check_reset(kc, rv);
	if (rv != MD_OK)
		return rv;
	mdp_secure_free(kc->admin_key, ADMIN_KEY_LEN);
	kc->admin_key = mdp_zalloc(ADMIN_KEY_LEN);
	if (!kc->admin_key)
		return MD_E_NO_MEMORY;
	memcpy(kc->admin_key, key, len < ADMIN_KEY_LEN ? len : ADMIN_KEY_LEN);
	kc->admin_in = true;
	return MD_OK;
}

enum md_rv
ksp_logout(struct ksp_card *kc)
{
	enum md_rv rv;

	if (!kc)
		return MD_E_INVALID_PARAMETER;
	rv = md_deauthenticate_ex(kc->md, MD_PIN_SET_ALL_ROLES, 0);
	if (rv != MD_OK && rv != MD_W_RESET_CARD) {
		/* No way to log out on the card: reset it (spec/minidriver.md §10.3). */
		rv = md_card_begin(kc->md);
		if (rv == MD_OK)
			rv = md_card_end(kc->md, true);
	}
	kc->user_in = false;
	kc->admin_in = false;
	mdp_secure_free(kc->admin_key, ADMIN_KEY_LEN);
	kc->admin_key = NULL;
	drop_private(kc);
	kc->resets_seen = kc->md->resets;
	return rv == MD_W_RESET_CARD ? MD_OK : rv;
}

/* A PIN change happened: bump bPinsFreshness (spec/minidriver.md §10.3). */
static enum md_rv
pin_changed(struct ksp_card *kc)
{
	enum md_rv rv = md_card_begin(kc->md);

	if (rv != MD_OK)
		return rv;
	rv = bump_cardcf(kc, KSP_C_PIN);
	save_cache(kc);
	md_card_end(kc->md, false);
	return rv;
}

/*
 * After a change authenticated by the old PIN or key: a role that was not logged in before is
 * logged out again (the card keeps a PIN verified after CHANGE REFERENCE DATA, and another
 * PC/SC client must not inherit that).
 */
static void
change_logout(struct ksp_card *kc, bool user_was_in, bool admin_was_in)
{
	if (user_was_in || admin_was_in || (!kc->user_in && !kc->admin_in))
		return;
	if (md_deauthenticate_ex(kc->md, MD_PIN_SET_ALL_ROLES, 0) == MD_OK) {
		kc->user_in = false;
		kc->admin_in = false;
		drop_private(kc);
	}
}

/*
 * The old PIN is verified, whole, before the change (a rule of the host role, so every card
 * module gets it): GIDS CHANGE REFERENCE DATA carries old||new and the card splits it at the
 * stored PIN's length, so an old PIN of another length could pass as a prefix ("12345678" for
 * "123456" would set "78123456"). The host never relies on that split: VERIFY compares the
 * whole PIN (a card that refuses an impossible length does so without spending a try), and
 * the change runs in the same transaction, with the PIN that was just verified.
 */
enum md_rv
ksp_change_pin(struct ksp_card *kc, const uint8_t *old_pin, size_t old_len, const uint8_t *new_pin,
	       size_t new_len)
{
	uint32_t tries = MD_VALUE_UNKNOWN;
	bool user_was_in, admin_was_in;
	enum md_rv rv;

	if (!kc || !old_pin || !new_pin || !old_len || !new_len)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	rv = md_card_begin(kc->md);
	if (rv != MD_OK) {
		check_reset(kc, rv);
		return rv;
	}
	user_was_in = kc->user_in;
	admin_was_in = kc->admin_in;
	rv = md_authenticate_ex(kc->md, MD_ROLE_USER, 0, old_pin, old_len, NULL, NULL, &tries);
	check_reset(kc, rv);
	note_tries(kc, rv, tries);
	if (rv == MD_OK) {
		kc->user_in = true;
		tries = MD_VALUE_UNKNOWN;
		rv = md_change_authenticator_ex(kc->md, MD_PIN_CHANGE_CHANGEPIN, MD_ROLE_USER,
						old_pin, old_len, MD_ROLE_USER, new_pin, new_len, 0,
						&tries);
		check_reset(kc, rv);
		note_tries(kc, rv, tries);
	}
	if (rv == MD_OK)
		rv = pin_changed(kc);
	change_logout(kc, user_was_in, admin_was_in);
	md_card_end(kc->md, false);
	return rv;
}

/* The same rule for the admin key: authenticated with the old key first, then changed. */
enum md_rv
ksp_change_admin_key(struct ksp_card *kc, const uint8_t *old_key, size_t old_len,
		     const uint8_t *new_key, size_t new_len)
{
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	uint32_t tries = MD_VALUE_UNKNOWN;
	bool user_was_in, admin_was_in;
	enum md_rv rv;

	if (!kc || !old_key || !new_key || !old_len || !new_len || new_len > 64)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	rv = md_card_begin(kc->md);
	if (rv != MD_OK)
		return rv;
	user_was_in = kc->user_in;
	admin_was_in = kc->admin_in;
	rv = admin_auth(kc, old_key, old_len);
	if (rv == MD_OK) {
		kc->admin_in = true;
		rv = admin_response(kc, old_key, old_len, &resp, &resp_len);
	}
	if (rv == MD_OK)
		rv = md_change_authenticator(kc->md, "admin", resp, resp_len, new_key, new_len, 0,
					     kc->admin_pin_type == MD_PIN_CHALLENGE_RESPONSE
						     ? MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE
						     : MD_AUTHENTICATE_PIN_PIN,
					     &tries);
	check_reset(kc, rv);
	if (rv == MD_OK)
		rv = bump_cardcf(kc, KSP_C_PIN);
	if (rv == MD_OK && kc->admin_key) {
		memset(kc->admin_key, 0, ADMIN_KEY_LEN);
		memcpy(kc->admin_key, new_key, new_len < ADMIN_KEY_LEN ? new_len : ADMIN_KEY_LEN);
	}
	save_cache(kc);
	change_logout(kc, user_was_in, admin_was_in);
	md_card_end(kc->md, false);
	mdp_secure_free(resp, resp_len);
	return rv;
}

static enum md_rv
unblock_inlock(struct ksp_card *kc, const uint8_t *key, size_t key_len, const uint8_t *new_pin,
	       size_t new_len)
{
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	enum md_rv rv;

	/*
	 * cardcf is bumped while the admin is authenticated: resetting the
	 * retry counter ends the admin authentication (spec/gids.md §7.1) and
	 * cardcf is not writable by everyone.
	 */
	rv = admin_auth(kc, key, key_len);
	if (rv == MD_OK)
		rv = bump_cardcf(kc, KSP_C_PIN);
	if (rv == MD_OK)
		rv = admin_response(kc, key, key_len, &resp, &resp_len);
	if (rv == MD_OK)
		rv = md_unblock_pin(kc->md, "user", resp, resp_len, new_pin, new_len, 0,
				    kc->admin_pin_type == MD_PIN_CHALLENGE_RESPONSE
					    ? MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE
					    : MD_AUTHENTICATE_PIN_PIN);
	check_reset(kc, rv);
	mdp_secure_free(resp, resp_len);
	if (rv != MD_OK)
		return rv;
	kc->blocked = false;
	kc->tries_left = kc->tries_max;
	return MD_OK;
}

enum md_rv
ksp_unblock_pin(struct ksp_card *kc, const uint8_t *admin_key, size_t key_len,
		const uint8_t *new_pin, size_t new_len)
{
	enum md_rv rv;

	if (!kc || !admin_key || !key_len || !new_pin || !new_len)
		return MD_E_INVALID_PARAMETER;
	rv = ensure_view(kc);
	if (rv != MD_OK)
		return rv;
	rv = md_card_begin(kc->md);
	if (rv != MD_OK)
		return rv;
	rv = unblock_inlock(kc, admin_key, key_len, new_pin, new_len);
	save_cache(kc);
	md_card_end(kc->md, false);
	return rv;
}

enum md_rv
ksp_init_pin(struct ksp_card *kc, const uint8_t *new_pin, size_t new_len)
{
	if (!kc || !new_pin || !new_len)
		return MD_E_INVALID_PARAMETER;
	if (!kc->admin_in || !kc->admin_key)
		return MD_W_SECURITY_VIOLATION;
	return ksp_unblock_pin(kc, kc->admin_key, ADMIN_KEY_LEN, new_pin, new_len);
}

enum md_rv
ksp_reinit(struct ksp_card *kc, const uint8_t *admin_key, size_t key_len, const uint8_t *new_pin,
	   size_t new_len)
{
	const struct ksp_cache_entry *ls;
	uint8_t *recs = NULL;
	size_t count = 0, i, pos;
	char **names = NULL;
	size_t nnames = 0;
	const char *nm;
	enum md_rv rv;

	if (!kc || !admin_key || !key_len || (!new_pin && new_len))
		return MD_E_INVALID_PARAMETER;
	rv = change_begin(kc);
	if (rv != MD_OK)
		return rv;
	rv = admin_auth(kc, admin_key, key_len);
	if (rv != MD_OK)
		goto out;
	rv = bump_cardcf(kc, KSP_C_CONTAINERS | KSP_C_FILES);
	if (rv != MD_OK)
		goto out;
	for (i = 0; i < kc->nconts; i++) {
		rv = md_delete_container(kc->md, kc->conts[i].index, 0);
		if (rv != MD_OK)
			goto out;
	}
	kc->view_ok = false;
	ksp_cache_drop(&kc->cache, KSP_C_CONTAINERS);
	/* Every certificate file in mscp, and mdp11's directory with its files. */
	for (int pass = 0; pass < 2; pass++) {
		const char *dir = pass == 0 ? MSCP : APPDIR;

		bool had_dir;

		rv = load_listing(kc, dir, &ls);
		if (rv != MD_OK)
			goto out;
		had_dir = !ls->absent; /* ls goes when the first file is deleted */
		pos = 0;
		while ((nm = next_name(ls, &pos))) {
			uint8_t idx;
			bool sig;
			char **grown;

			if (pass == 0 && !ksp_cert_file_parse(nm, &idx, &sig))
				continue;
			grown = realloc(names, (nnames + 1) * sizeof(*names));
			if (!grown || !(grown[nnames] = strdup(nm))) {
				names = grown ? grown : names;
				rv = MD_E_NO_MEMORY;
				goto out;
			}
			names = grown;
			nnames++;
		}
		for (i = 0; i < nnames; i++) {
			rv = delete_file(kc, dir, names[i]);
			if (rv != MD_OK)
				goto out;
			free(names[i]);
		}
		free(names);
		names = NULL;
		nnames = 0;
		if (pass == 1 && had_dir) {
			rv = md_delete_directory(kc->md, APPDIR);
			if (rv != MD_OK && rv != MD_E_DIR_NOT_FOUND)
				goto out;
			ksp_cache_drop_tag(&kc->cache, "ls:" APPDIR);
		}
	}
	/*
	 * Records are zeroed, not removed: the GIDS keymap keeps one record per
	 * cmapfile record (spec/gids.md §5.6) and OpenSC checks the two agree.
	 */
	rv = cmap_get(kc, 0, &recs, &count);
	if (rv != MD_OK)
		goto out;
	memset(recs, 0, count * KSP_CMAP_RECORD);
	rv = cmap_put(kc, recs, count);
	if (rv != MD_OK)
		goto out;
	if (new_pin) {
		rv = unblock_inlock(kc, admin_key, key_len, new_pin, new_len);
		if (rv != MD_OK)
			goto out;
	}
	log_info("card re-personalised%s", new_pin ? " with a new PIN" : "");
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(recs);
	ksp_cache_drop_tag(&kc->cache, "free");
	kc->view_ok = false;
	if (md_deauthenticate_ex(kc->md, MD_PIN_SET_ALL_ROLES, 0) != MD_OK) {
		/* No log out on this card: end our transaction with a reset and take a new one. */
		md_card_end(kc->md, true);
		md_card_begin(kc->md);
	}
	kc->user_in = kc->admin_in = false;
	mdp_secure_free(kc->admin_key, ADMIN_KEY_LEN);
	kc->admin_key = NULL;
	drop_private(kc);
	return change_end(kc, rv);
}
