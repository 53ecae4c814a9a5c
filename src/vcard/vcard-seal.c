/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The seal of a virtual card: the secret outside the card file (a key file, or a secret sealed
 * by a TPM) that every secret in the file is sealed by; seal-only sealing, items, symmetric keys
 * of key files, the PIN KDF with its per-process cache, and resealing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/bytes.h"
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

#define SEAL_KEY_LEN 32
#define KEY_CHECK_LEN 16
#define KEYFILE_HEADER "mdp11 virtual card seal key 1\n"
#define ITEMS_INFO "mdp11 vcard seal 2"

static bool seal_id(const struct vc_state *st, uint8_t id[32]);

/* ---- seal specifications ---- */

enum mdp_err
vc_seal_parse(const char *spec, uint8_t *kind, char **arg)
{
	const char *colon;
	size_t n;

	*arg = NULL;
	if (!spec)
		return MDP_ERR_ARGS;
	colon = strchr(spec, ':');
	n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (n == 7 && !strncmp(spec, "keyfile", 7))
		*kind = VC_SEAL_KEYFILE;
	else if (n == 3 && !strncmp(spec, "tpm", 3))
		*kind = VC_SEAL_TPM;
	else
		return mdp_err_reason(MDP_ERR_ARGS,
				      "seal \"%s\": expected tpm[:TCTI] or keyfile[:PATH]", spec);
	if (colon) {
		if (!colon[1])
			return mdp_err_reason(MDP_ERR_ARGS, "seal \"%s\": nothing after the colon",
					      spec);
		*arg = strdup(colon + 1);
		if (!*arg)
			return MDP_ERR_NOMEM;
	}
	return MDP_OK;
}

static const char *
kind_name(uint8_t kind)
{
	switch (kind) {
	case VC_SEAL_NONE:
		return "none";
	case VC_SEAL_KEYFILE:
		return "keyfile";
	case VC_SEAL_TPM:
		return "tpm";
	default:
		return "memory";
	}
}

static char *
join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

/* The user's data directory for key files: $XDG_DATA_HOME/mdp11/vcard-seal, else under HOME. */
static enum mdp_err
data_dir(char **out)
{
	const char *x = secure_getenv("XDG_DATA_HOME");
	const char *home = secure_getenv("HOME");
	struct passwd *pw;
	char buf[PATH_MAX];

	if (x && x[0] == '/') {
		snprintf(buf, sizeof(buf), "%s/mdp11/vcard-seal", x);
	} else {
		if (!home || home[0] != '/') {
			pw = getpwuid(geteuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || home[0] != '/')
			return mdp_err_reason(MDP_ERR_CONFIG,
					      "no home directory for the key file: give the seal "
					      "as keyfile:PATH");
		snprintf(buf, sizeof(buf), "%s/.local/share/mdp11/vcard-seal", home);
	}
	*out = strdup(buf);
	return *out ? MDP_OK : MDP_ERR_NOMEM;
}

/* mkdir -p, new directories 0700. */
static enum mdp_err
make_dirs(const char *dir)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n >= sizeof(buf))
		return mdp_err_reason(MDP_ERR_ARGS, "%s: path too long", dir);
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return mdp_err_reason(MDP_ERR_IO, "%s: %s", buf, strerror(errno));
		if (i < n)
			buf[i] = '/';
	}
	return MDP_OK;
}

/* ---- key files ---- */

static enum mdp_err
keyfile_read(const char *path, uint8_t key[SEAL_KEY_LEN])
{
	char buf[sizeof(KEYFILE_HEADER) + 2 * SEAL_KEY_LEN + 8];
	struct stat sb;
	ssize_t n;
	size_t hl = strlen(KEYFILE_HEADER);
	enum mdp_err err = MDP_OK;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return mdp_err_reason(MDP_ERR_SEAL, "the card's key file %s cannot be read: %s",
				      path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return mdp_err_reason(MDP_ERR_SEAL, "the card's key file %s is not a regular file",
				      path);
	}
	if (sb.st_mode & 077) {
		close(fd);
		return mdp_err_reason(MDP_ERR_SEAL,
				      "the card's key file %s is open to other users (mode %04o): "
				      "chmod 600 it",
				      path, (unsigned)(sb.st_mode & 07777));
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return mdp_err_reason(MDP_ERR_SEAL, "the card's key file %s cannot be read: %s",
				      path, strerror(errno));
	buf[n] = '\0';
	if ((size_t)n != hl + 2 * SEAL_KEY_LEN + 1 || memcmp(buf, KEYFILE_HEADER, hl) != 0 ||
	    buf[n - 1] != '\n')
		err = mdp_err_reason(MDP_ERR_SEAL, "%s is not an mdp11 virtual card key file",
				     path);
	if (!err) {
		buf[n - 1] = '\0';
		if (mdp_hex_decode(buf + hl, key, SEAL_KEY_LEN) != SEAL_KEY_LEN)
			err = mdp_err_reason(MDP_ERR_SEAL,
					     "%s is not an mdp11 virtual card key file", path);
	}
	mdp_wipe(buf, sizeof(buf));
	return err;
}

/* A new key file (0600, never over an existing one), written and synced. */
static enum mdp_err
keyfile_create(const char *path, uint8_t key[SEAL_KEY_LEN])
{
	char buf[sizeof(KEYFILE_HEADER) + 2 * SEAL_KEY_LEN + 8];
	char *hex = NULL;
	size_t len, done = 0;
	enum mdp_err err = MDP_OK;
	int fd;

	if (RAND_bytes(key, SEAL_KEY_LEN) != 1)
		return MDP_ERR_CRYPTO;
	hex = mdp_hex_encode(key, SEAL_KEY_LEN);
	if (!hex)
		return MDP_ERR_NOMEM;
	len = (size_t)snprintf(buf, sizeof(buf), "%s%s\n", KEYFILE_HEADER, hex);
	mdp_secure_free(hex, 2 * SEAL_KEY_LEN + 1);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		mdp_wipe(buf, sizeof(buf));
		return mdp_err_reason(MDP_ERR_IO, "cannot create the key file %s: %s", path,
				      strerror(errno));
	}
	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (done != len || fsync(fd) != 0)
		err = mdp_err_reason(MDP_ERR_IO, "cannot write the key file %s: %s", path,
				     strerror(errno));
	if (close(fd) != 0 && !err)
		err = mdp_err_reason(MDP_ERR_IO, "cannot write the key file %s: %s", path,
				     strerror(errno));
	mdp_wipe(buf, sizeof(buf));
	if (err)
		unlink(path);
	return err;
}

/* The check value a card records for its key file: which key file belongs to it. */
static bool
key_check(const uint8_t key[SEAL_KEY_LEN], const uint8_t uuid[VC_UUID_LEN],
	  uint8_t out[KEY_CHECK_LEN])
{
	static const char label[] = "mdp11 vcard key check";
	uint8_t msg[sizeof(label) - 1 + VC_UUID_LEN], md[32];
	unsigned int n = 0;
	bool ok;

	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, uuid, VC_UUID_LEN);
	ok = HMAC(EVP_sha256(), key, SEAL_KEY_LEN, msg, sizeof(msg), md, &n) != NULL && n == 32;
	memcpy(out, md, KEY_CHECK_LEN);
	mdp_wipe(md, sizeof(md));
	return ok;
}

/* ---- making a seal ---- */

/* The key file path of a new card: given (made absolute), or in the data directory. */
static enum mdp_err
keyfile_path(const char *arg, const struct vc_state *st, const char *card_path, char **out)
{
	char cwd[PATH_MAX], name[PATH_MAX + 256], *dir = NULL;
	const char *base;
	enum mdp_err err;

	if (arg) {
		if (arg[0] == '/') {
			*out = strdup(arg);
		} else {
			if (!getcwd(cwd, sizeof(cwd)))
				return mdp_err_reason(MDP_ERR_IO, "getcwd: %s", strerror(errno));
			if (strlen(cwd) + 1 + strlen(arg) >= sizeof(name))
				return mdp_err_reason(MDP_ERR_ARGS, "%s: path too long", arg);
			*out = malloc(strlen(cwd) + strlen(arg) + 2);
			if (*out)
				sprintf(*out, "%s/%s", cwd, arg);
		}
		return *out ? MDP_OK : MDP_ERR_NOMEM;
	}
	err = data_dir(&dir);
	if (err)
		return err;
	err = make_dirs(dir);
	if (!err) {
		base = card_path ? strrchr(card_path, '/') : NULL;
		base = base ? base + 1 : card_path ? card_path : "card";
		snprintf(name, sizeof(name), "%s/%.200s.%02x%02x%02x%02x.key", dir, base,
			 st->uuid[0], st->uuid[1], st->uuid[2], st->uuid[3]);
		*out = strdup(name);
		if (!*out)
			err = MDP_ERR_NOMEM;
	}
	free(dir);
	return err;
}

static enum mdp_err
items_key(const uint8_t *secret, size_t len, const uint8_t uuid[VC_UUID_LEN],
	  uint8_t key[VC_CK_LEN])
{
	return vc_hkdf(secret, len, uuid, VC_UUID_LEN, ITEMS_INFO, key);
}

static void
seal_rec_clear(struct vc_seal_rec *r)
{
	free(r->spec);
	mdp_secure_free(r->data, r->data_len);
	memset(r, 0, sizeof(*r));
}

enum mdp_err
vc_seal_new(struct vcard *vc, const char *spec, const char *card_path, uint8_t key[VC_CK_LEN],
	    char **created)
{
	struct vc_state *st = &vc->st;
	struct vc_seal_rec rec;
	struct stat sb;
	uint8_t id[32];
	uint8_t secret[SEAL_KEY_LEN];
	char *arg = NULL, *path = NULL;
	uint8_t kind = 0;
	enum mdp_err err;

	*created = NULL;
	memset(&rec, 0, sizeof(rec));
	if (!spec)
		spec = secure_getenv("MDP11_VCARD_SEAL");
	if (spec && *spec) {
		err = vc_seal_parse(spec, &kind, &arg);
		if (err)
			return err;
	} else {
		kind = vc_tpm_usable(NULL) ? VC_SEAL_TPM : VC_SEAL_KEYFILE;
	}
	rec.kind = kind;
	if (kind == VC_SEAL_KEYFILE) {
		err = keyfile_path(arg, st, card_path, &path);
		if (err)
			goto out;
		if (lstat(path, &sb) != 0 && errno == ENOENT) {
			err = keyfile_create(path, secret);
			if (!err) {
				*created = path;
				log_info("created the key file %s", path);
			}
		} else {
			err = keyfile_read(path, secret);
		}
		if (err)
			goto out;
		rec.data_len = KEY_CHECK_LEN;
		rec.data = malloc(KEY_CHECK_LEN);
		rec.spec = join("keyfile:", path);
		if (!rec.data || !rec.spec) {
			err = MDP_ERR_NOMEM;
			goto out;
		}
		if (!key_check(secret, st->uuid, rec.data)) {
			err = MDP_ERR_CRYPTO;
			goto out;
		}
	} else {
		if (RAND_bytes(secret, sizeof(secret)) != 1) {
			err = MDP_ERR_CRYPTO;
			goto out;
		}
		err = vc_tpm_seal(arg, secret, sizeof(secret), &rec.data, &rec.data_len);
		if (err)
			goto out;
		rec.spec = join("tpm:", arg ? arg : "device:/dev/tpmrm0");
		if (!rec.spec) {
			err = MDP_ERR_NOMEM;
			goto out;
		}
	}
	err = items_key(secret, sizeof(secret), st->uuid, key);
	if (err)
		goto out;
	seal_rec_clear(&st->seal);
	st->seal = rec;
	memset(&rec, 0, sizeof(rec));
	if (seal_id(st, id))
		vc_keep_key_set(vc->keep, vc->keep_token, id, key);
out:
	if (err && *created) {
		unlink(*created);
		*created = NULL;
	}
	if (path != *created)
		free(path);
	free(arg);
	seal_rec_clear(&rec);
	mdp_wipe(secret, sizeof(secret));
	return err;
}

/* ---- the seal of an open card ---- */

/* Which seal a kept key belongs to: the card and its seal record. */
static bool
seal_id(const struct vc_state *st, uint8_t id[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	bool ok;

	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, st->uuid, VC_UUID_LEN) == 1 &&
	     EVP_DigestUpdate(md, &st->seal.kind, 1) == 1 &&
	     (!st->seal.data_len || EVP_DigestUpdate(md, st->seal.data, st->seal.data_len) == 1) &&
	     EVP_DigestFinal_ex(md, id, &n) == 1 && n == 32;
	EVP_MD_CTX_free(md);
	return ok;
}

bool
vc_seal_override_applies(const struct vcard *vc)
{
	uint8_t kind = 0;
	char *arg = NULL;

	if (!vc->seal_override)
		return false;
	if (!vc->override_env)
		return true;
	if (vc_seal_parse(vc->seal_override, &kind, &arg) != MDP_OK)
		return true; /* a bad setting: say so at use */
	free(arg);
	return kind == vc->st.seal.kind;
}

/* Where the seal is: the override when it applies (its kind must match), else the file's. */
static enum mdp_err
seal_where(const struct vcard *vc, char **arg)
{
	const char *rec = vc->st.seal.spec;
	uint8_t kind = 0;
	enum mdp_err err;

	*arg = NULL;
	if (vc_seal_override_applies(vc)) {
		err = vc_seal_parse(vc->seal_override, &kind, arg);
		if (err)
			return mdp_err_reason(MDP_ERR_SEAL, "%s", mdp_err_last());
		if (kind != vc->st.seal.kind) {
			free(*arg);
			*arg = NULL;
			return mdp_err_reason(MDP_ERR_SEAL,
					      "the card is sealed by %s, but its seal setting says "
					      "\"%s\"",
					      rec ? rec : kind_name(vc->st.seal.kind),
					      vc->seal_override);
		}
		if (*arg)
			return MDP_OK;
	}
	if (rec && strchr(rec, ':')) {
		*arg = strdup(strchr(rec, ':') + 1);
		if (!*arg)
			return MDP_ERR_NOMEM;
	}
	return MDP_OK;
}

static enum mdp_err
unseal_secret(struct vcard *vc, uint8_t secret[SEAL_KEY_LEN])
{
	const struct vc_seal_rec *r = &vc->st.seal;
	uint8_t check[KEY_CHECK_LEN];
	char *arg = NULL;
	size_t len = 0;
	enum mdp_err err;

	switch (r->kind) {
	case VC_SEAL_MEMORY:
		if (r->data_len != SEAL_KEY_LEN)
			return MDP_ERR_INTERNAL;
		memcpy(secret, r->data, SEAL_KEY_LEN);
		return MDP_OK;
	case VC_SEAL_KEYFILE:
	case VC_SEAL_TPM:
		break;
	default:
		return mdp_err_reason(MDP_ERR_INTERNAL, "an unsealed card has no seal key");
	}
	err = seal_where(vc, &arg);
	if (err)
		return err;
	if (r->kind == VC_SEAL_KEYFILE) {
		if (!arg) {
			err = mdp_err_reason(MDP_ERR_STATE,
					     "state file: the key file is not named");
			goto out;
		}
		err = keyfile_read(arg, secret);
		if (err)
			goto out;
		if (r->data_len != KEY_CHECK_LEN || !key_check(secret, vc->st.uuid, check) ||
		    CRYPTO_memcmp(check, r->data, KEY_CHECK_LEN) != 0) {
			err = mdp_err_reason(MDP_ERR_SEAL,
					     "the key file %s is not this card's seal (wrong key "
					     "file)",
					     arg);
			mdp_wipe(secret, SEAL_KEY_LEN);
		}
	} else {
		err = vc_tpm_unseal(arg, r->data, r->data_len, secret, SEAL_KEY_LEN, &len);
		if (!err && len != SEAL_KEY_LEN) {
			err = mdp_err_reason(MDP_ERR_STATE, "state file: the TPM seal holds a bad "
							    "secret");
			mdp_wipe(secret, SEAL_KEY_LEN);
		}
	}
out:
	free(arg);
	return err;
}

enum mdp_err
vc_seal_key(struct vcard *vc, uint8_t key[VC_CK_LEN])
{
	uint8_t id[32], secret[SEAL_KEY_LEN];
	enum mdp_err err;

	if (!seal_id(&vc->st, id))
		return MDP_ERR_CRYPTO;
	if (vc_keep_key_get(vc->keep, vc->keep_token, id, key))
		return MDP_OK;
	err = unseal_secret(vc, secret);
	if (!err)
		err = items_key(secret, sizeof(secret), vc->st.uuid, key);
	mdp_wipe(secret, sizeof(secret));
	if (!err)
		vc_keep_key_set(vc->keep, vc->keep_token, id, key);
	return err;
}

void
vc_seal_forget(struct vcard *vc)
{
	vc_keep_key_drop(vc->keep, vc->keep_token);
}

uint16_t
vc_seal_failed(struct vcard *vc)
{
	char reason[256];

	/* the notice must not replace the reason the caller reports */
	snprintf(reason, sizeof(reason), "%s", mdp_err_last());
	log_error("the card's seal is not available: %s", reason);
	vc_notice(&vc->seal_warned,
		  "the virtual card %s cannot open its secrets (PIN check, keys, admin key): %s",
		  vc->path ? vc->path : "(memory)", reason);
	mdp_err_reason(MDP_ERR_SEAL, "%s", reason);
	vc->io_err = MDP_ERR_SEAL;
	return SW_CONDITIONS;
}

/* ---- seal-only sealing, items, symmetric keys ---- */

/* With the items key known (or the seal kind none: the value itself). */
static enum mdp_err
seal_with(const struct vc_state *st, const uint8_t *key, const char *label, const uint8_t *in,
	  size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t aad[80];
	size_t al;

	if (!key) {
		*out = len ? mdp_memdup(in, len) : mdp_zalloc(1);
		*out_len = len;
		return *out ? MDP_OK : MDP_ERR_NOMEM;
	}
	al = vc_aad(st, label, aad, sizeof(aad));
	return vc_gcm_seal(key, aad, al, in, len, out, out_len);
}

static enum mdp_err
unseal_with(const struct vc_state *st, const uint8_t *key, const char *label, const uint8_t *in,
	    size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t aad[80];
	size_t al;
	enum mdp_err err;

	if (!key) {
		*out = len ? mdp_memdup(in, len) : mdp_zalloc(1);
		*out_len = len;
		return *out ? MDP_OK : MDP_ERR_NOMEM;
	}
	al = vc_aad(st, label, aad, sizeof(aad));
	err = vc_gcm_open(key, aad, al, in, len, out, out_len);
	if (err == MDP_ERR_CRYPTO || err == MDP_ERR_FORMAT)
		return mdp_err_reason(MDP_ERR_STATE,
				      "state file: the sealed %s does not open with the card's "
				      "seal (damaged)",
				      label);
	return err;
}

enum mdp_err
vc_seal_data(struct vcard *vc, const char *label, const uint8_t *in, size_t len, uint8_t **out,
	     size_t *out_len)
{
	uint8_t key[VC_CK_LEN];
	enum mdp_err err;

	if (vc->st.seal.kind == VC_SEAL_NONE)
		return seal_with(&vc->st, NULL, label, in, len, out, out_len);
	err = vc_seal_key(vc, key);
	if (!err)
		err = seal_with(&vc->st, key, label, in, len, out, out_len);
	mdp_wipe(key, sizeof(key));
	return err;
}

enum mdp_err
vc_unseal_data(struct vcard *vc, const char *label, const uint8_t *in, size_t len, uint8_t **out,
	       size_t *out_len)
{
	uint8_t key[VC_CK_LEN];
	enum mdp_err err;

	if (vc->st.seal.kind == VC_SEAL_NONE)
		return unseal_with(&vc->st, NULL, label, in, len, out, out_len);
	err = vc_seal_key(vc, key);
	if (!err)
		err = unseal_with(&vc->st, key, label, in, len, out, out_len);
	mdp_wipe(key, sizeof(key));
	return err;
}

static void
item_label(uint32_t id, char label[16])
{
	snprintf(label, 16, "item %08x", (unsigned)id);
}

struct vc_item *
vc_item_find(const struct vc_state *st, uint32_t id)
{
	size_t i;

	for (i = 0; i < st->n_items; i++) {
		if (st->items[i].id == id)
			return &st->items[i];
	}
	return NULL;
}

bool
vc_item_has(const struct vc_state *st, uint32_t id)
{
	return vc_item_find(st, id) != NULL;
}

void
vc_item_del(struct vc_state *st, uint32_t id)
{
	struct vc_item *it = vc_item_find(st, id);
	size_t idx;

	if (!it)
		return;
	mdp_secure_free(it->blob, it->len);
	idx = (size_t)(it - st->items);
	memmove(it, it + 1, (st->n_items - idx - 1) * sizeof(*it));
	st->n_items--;
}

/* Store an already sealed blob (taken over) as item id. */
static enum mdp_err
item_store(struct vc_state *st, uint32_t id, uint8_t *blob, size_t len)
{
	struct vc_item *it = vc_item_find(st, id), *items;

	if (!it) {
		if (st->n_items >= VC_MAX_ITEMS) {
			mdp_secure_free(blob, len);
			return mdp_err_reason(MDP_ERR_OVERFLOW, "too many sealed items");
		}
		items = realloc(st->items, (st->n_items + 1) * sizeof(*items));
		if (!items) {
			mdp_secure_free(blob, len);
			return MDP_ERR_NOMEM;
		}
		st->items = items;
		it = &items[st->n_items++];
		it->id = id;
	} else {
		mdp_secure_free(it->blob, it->len);
	}
	it->blob = blob;
	it->len = len;
	return MDP_OK;
}

enum mdp_err
vc_item_put(struct vcard *vc, uint32_t id, const uint8_t *val, size_t len)
{
	uint8_t *blob = NULL;
	size_t bl = 0;
	char label[16];
	enum mdp_err err;

	if (len > VC_MAX_ITEM_LEN - VC_SEALED_OVERHEAD)
		return MDP_ERR_OVERFLOW;
	item_label(id, label);
	err = vc_seal_data(vc, label, val, len, &blob, &bl);
	if (err)
		return err;
	return item_store(&vc->st, id, blob, bl);
}

enum mdp_err
vc_item_get(struct vcard *vc, uint32_t id, uint8_t **val, size_t *len)
{
	const struct vc_item *it = vc_item_find(&vc->st, id);
	char label[16];

	if (!it)
		return MDP_ERR_NOT_FOUND;
	item_label(id, label);
	return vc_unseal_data(vc, label, it->blob, it->len, val, len);
}

static void
sym_label(uint16_t fid, char label[16])
{
	snprintf(label, 16, "sym %04X", (unsigned)fid);
}

enum mdp_err
vc_sym_get(struct vcard *vc, const struct vc_file *f, uint8_t key[VC_SYM_MAX], size_t *len)
{
	uint8_t *p = NULL;
	size_t pl = 0;
	char label[16];
	enum mdp_err err;

	if (!f->sym)
		return MDP_ERR_NOT_FOUND;
	sym_label(f->fid, label);
	err = vc_unseal_data(vc, label, f->sym, f->sym_len, &p, &pl);
	if (err)
		return err;
	if (pl < 1 || pl > VC_SYM_MAX) {
		mdp_secure_free(p, pl);
		return mdp_err_reason(MDP_ERR_STATE, "state file: key file %04X: bad symmetric key",
				      f->fid);
	}
	memcpy(key, p, pl);
	*len = pl;
	mdp_secure_free(p, pl);
	return MDP_OK;
}

enum mdp_err
vc_sym_set(struct vcard *vc, struct vc_file *f, const uint8_t *key, size_t len)
{
	uint8_t *blob = NULL;
	size_t bl = 0;
	char label[16];
	enum mdp_err err;

	if (len < 1 || len > VC_SYM_MAX)
		return MDP_ERR_ARGS;
	sym_label(f->fid, label);
	err = vc_seal_data(vc, label, key, len, &blob, &bl);
	if (err)
		return err;
	mdp_secure_free(f->sym, f->sym_len);
	f->sym = blob;
	f->sym_len = bl;
	return MDP_OK;
}

/* ---- the PIN KDF ---- */

enum mdp_err
vc_pin_kdf(struct vcard *vc, const uint8_t *pin, size_t len, const uint8_t salt[VC_SALT_LEN],
	   unsigned cost, uint8_t out[VC_CK_LEN])
{
	if (vc_keep_pin_get(vc->keep, vc->keep_token, vc->st.uuid, salt, cost, pin, len, out)) {
		log_debug("PIN KDF: the result kept for this PIN");
		return MDP_OK;
	}
	return vc_scrypt(pin, len, salt, cost, out);
}

void
vc_pin_kdf_keep(struct vcard *vc, const uint8_t *pin, size_t len, const uint8_t salt[VC_SALT_LEN],
		unsigned cost, const uint8_t kdf[VC_CK_LEN])
{
	vc_keep_pin_set(vc->keep, vc->keep_token, vc->st.uuid, salt, cost, pin, len, kdf);
}

/* ---- resealing ---- */

/* Everything sealed by the seal, in clear (secure memory), to seal again. */
struct plain {
	uint8_t *p;
	size_t len;
};

static void
plains_free(struct plain *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		mdp_secure_free(v[i].p, v[i].len);
	free(v);
}

/* Unseal every item and symmetric key of vc's state (with the current seal). */
static enum mdp_err
reseal_collect(struct vcard *vc, struct plain **out, size_t *count)
{
	struct vc_state *st = &vc->st;
	struct plain *v;
	size_t i, n = 0, total = st->n_items + st->n_files;
	char label[16];
	enum mdp_err err = MDP_OK;

	v = calloc(total ? total : 1, sizeof(*v));
	if (!v)
		return MDP_ERR_NOMEM;
	for (i = 0; !err && i < st->n_items; i++) {
		item_label(st->items[i].id, label);
		err = vc_unseal_data(vc, label, st->items[i].blob, st->items[i].len, &v[n].p,
				     &v[n].len);
		n += !err;
	}
	for (i = 0; !err && i < st->n_files; i++) {
		const struct vc_file *f = &st->files[i];

		if (f->sym) {
			sym_label(f->fid, label);
			err = vc_unseal_data(vc, label, f->sym, f->sym_len, &v[n].p, &v[n].len);
			n += !err;
		}
	}
	if (err) {
		plains_free(v, n);
		return err;
	}
	*out = v;
	*count = n;
	return MDP_OK;
}

/* Seal them again under key, in the order reseal_collect took them. */
static enum mdp_err
reseal_apply(struct vc_state *st, const uint8_t key[VC_CK_LEN], const struct plain *v)
{
	size_t i, n = 0;
	uint8_t *b;
	size_t bl;
	char label[16];
	enum mdp_err err;

	for (i = 0; i < st->n_items; i++, n++) {
		item_label(st->items[i].id, label);
		err = seal_with(st, key, label, v[n].p, v[n].len, &b, &bl);
		if (err)
			return err;
		mdp_secure_free(st->items[i].blob, st->items[i].len);
		st->items[i].blob = b;
		st->items[i].len = bl;
	}
	for (i = 0; i < st->n_files; i++) {
		struct vc_file *f = &st->files[i];

		if (f->sym) {
			sym_label(f->fid, label);
			err = seal_with(st, key, label, v[n].p, v[n].len, &b, &bl);
			if (err)
				return err;
			mdp_secure_free(f->sym, f->sym_len);
			f->sym = b;
			f->sym_len = bl;
			n++;
		}
	}
	return MDP_OK;
}

static enum mdp_err
reseal_locked(struct vcard *vc, const char *spec)
{
	struct plain *v = NULL;
	struct vc_seal_rec old;
	uint8_t key[VC_CK_LEN];
	char *created = NULL, *spec_new = NULL;
	uint64_t gen;
	size_t n = 0;
	enum mdp_err err;

	err = vc_refresh(vc);
	if (err)
		return err;
	if (vc->st.seal.kind == VC_SEAL_MEMORY)
		return mdp_err_reason(MDP_ERR_ARGS, "an in-memory card has no seal to change");
	err = reseal_collect(vc, &v, &n);
	if (err)
		return err;
	old = vc->st.seal;
	memset(&vc->st.seal, 0, sizeof(vc->st.seal));
	err = vc_seal_new(vc, spec, vc->path, key, &created);
	if (err) {
		vc->st.seal = old;
		goto out;
	}
	err = reseal_apply(&vc->st, key, v);
	if (!err) {
		vc->st.format = VC_FORMAT_V2;
		err = vc_save(vc);
	}
	spec_new = vc->st.seal.spec ? strdup(vc->st.seal.spec) : NULL;
	gen = vc->st.generation; /* what the save wrote, or tried to */
	if (err) {
		/* Load the file again: the old card, or the new one if the rename went through. */
		vc->seen.valid = false;
		vc_seal_forget(vc);
		if (vc_refresh(vc) != MDP_OK)
			log_error("cannot reload the card state: %s", mdp_err_last());
		if (vc->st.generation == gen && vc->st.seal.spec && spec_new &&
		    !strcmp(vc->st.seal.spec, spec_new)) {
			log_info("the resealed card was written after all");
			err = MDP_OK;
		} else if (created) {
			unlink(created);
		}
	}
	seal_rec_clear(&old);
	if (!err)
		log_info("card resealed by %s", vc->st.seal.spec);
out:
	mdp_wipe(key, sizeof(key));
	plains_free(v, n);
	free(created);
	free(spec_new);
	return err;
}

enum mdp_err
vcard_reseal(struct vcard *vc, const char *seal)
{
	enum mdp_err err;

	if (!vc)
		return MDP_ERR_ARGS;
	if (!vc->path)
		return mdp_err_reason(MDP_ERR_ARGS, "an in-memory card has no seal to change");
	pthread_mutex_lock(&vc->mu);
	err = vc_lock(vc);
	if (!err) {
		err = reseal_locked(vc, seal);
		vc_unlock(vc);
	}
	pthread_mutex_unlock(&vc->mu);
	return err;
}

enum mdp_err
vcard_seal_check(struct vcard *vc)
{
	uint8_t key[VC_CK_LEN];
	enum mdp_err err;

	if (!vc)
		return MDP_ERR_ARGS;
	pthread_mutex_lock(&vc->mu);
	err = vc_refresh(vc);
	if (!err && vc->st.seal.kind != VC_SEAL_NONE)
		err = vc_seal_key(vc, key);
	pthread_mutex_unlock(&vc->mu);
	mdp_wipe(key, sizeof(key));
	return err;
}
