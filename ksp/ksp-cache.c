/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host role's store of public card data, keyed by tag, with cardcf freshness classes and a disk
 * copy. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#define MDP_LOG_AREA MDP_AREA_KSP
#include "common/log.h"
#include "common/secmem.h"
#include "ksp/ksp-int.h"

void
ksp_cache_init(struct ksp_cache *c)
{
	memset(c, 0, sizeof(*c));
}

static void
entry_clear(struct ksp_cache_entry *e)
{
	free(e->tag);
	if (e->classes & KSP_C_PRIVATE)
		mdp_secure_free(e->data, e->len);
	else
		free(e->data);
	memset(e, 0, sizeof(*e));
}

void
ksp_cache_clear(struct ksp_cache *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		entry_clear(c->e[i]);
		free(c->e[i]);
	}
	free(c->e);
	memset(c, 0, sizeof(*c));
}

static struct ksp_cache_entry *
find(const struct ksp_cache *c, const char *tag)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->e[i]->tag, tag) == 0)
			return c->e[i];
	return NULL;
}

const struct ksp_cache_entry *
ksp_cache_get(const struct ksp_cache *c, const char *tag)
{
	return find(c, tag);
}

bool
ksp_cache_put(struct ksp_cache *c, const char *tag, unsigned classes, bool absent,
	      const uint8_t *data, size_t len)
{
	struct ksp_cache_entry ne, *e;

	memset(&ne, 0, sizeof(ne));
	ne.tag = strdup(tag);
	ne.classes = classes;
	ne.absent = absent;
	if (!absent) {
		ne.data = mdp_memdup(data ? data : (const uint8_t *)"", len);
		ne.len = len;
	}
	if (!ne.tag || (!absent && !ne.data)) {
		entry_clear(&ne);
		return false;
	}
	e = find(c, tag);
	if (!e) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 16;
			struct ksp_cache_entry **grown = realloc(c->e, cap * sizeof(*grown));

			if (!grown) {
				entry_clear(&ne);
				return false;
			}
			c->e = grown;
			c->cap = cap;
		}
		e = calloc(1, sizeof(*e));
		if (!e) {
			entry_clear(&ne);
			return false;
		}
		c->e[c->n++] = e;
	} else {
		entry_clear(e);
	}
	*e = ne;
	if (!(classes & KSP_C_PRIVATE))
		c->dirty = true;
	return true;
}

static void
remove_at(struct ksp_cache *c, size_t i)
{
	if (!(c->e[i]->classes & KSP_C_PRIVATE))
		c->dirty = true;
	entry_clear(c->e[i]);
	free(c->e[i]);
	c->e[i] = c->e[c->n - 1];
	c->n--;
}

void
ksp_cache_drop_tag(struct ksp_cache *c, const char *tag)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (strcmp(c->e[i]->tag, tag) == 0) {
			remove_at(c, i);
			return;
		}
	}
}

void
ksp_cache_drop(struct ksp_cache *c, unsigned mask)
{
	size_t i = 0;

	while (i < c->n) {
		if (c->e[i]->classes & mask)
			remove_at(c, i);
		else
			i++;
	}
}

unsigned
ksp_cardcf_diff(const uint8_t a[6], const uint8_t b[6])
{
	unsigned d = 0;

	if (a[1] != b[1])
		d |= KSP_C_PIN;
	if (a[2] != b[2] || a[3] != b[3])
		d |= KSP_C_CONTAINERS;
	if (a[4] != b[4] || a[5] != b[5])
		d |= KSP_C_FILES;
	return d;
}

static void
bump16(uint8_t *p)
{
	uint16_t v = (uint16_t)(p[0] | p[1] << 8);

	v++;
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)(v >> 8);
}

void
ksp_cardcf_bump(uint8_t cf[6], unsigned classes)
{
	if (classes & KSP_C_PIN)
		cf[1]++;
	if (classes & KSP_C_CONTAINERS)
		bump16(cf + 2);
	if (classes & KSP_C_FILES)
		bump16(cf + 4);
}

/*
 * File layout (all integers little-endian):
 *   "mdp11kc" 0x01           magic and version
 *   u8 cardid length, cardid
 *   6 bytes cardcf
 *   u32 entry count, then per entry:
 *     u8 tag length, tag, u8 classes, u8 absent, u32 data length, data
 *   32 bytes SHA-256 of everything above
 */
static const uint8_t magic[8] = {'m', 'd', 'p', '1', '1', 'k', 'c', 0x01};

static char *
cache_path(const char *dir, const uint8_t *cardid, size_t cardid_len, const char *suffix)
{
	char *hex = mdp_hex_encode(cardid, cardid_len), *path = NULL;
	size_t n;

	if (!hex)
		return NULL;
	n = strlen(dir) + strlen(hex) + strlen(suffix) + 8;
	path = malloc(n);
	if (path)
		snprintf(path, n, "%s/%s.cache%s", dir, hex, suffix);
	free(hex);
	return path;
}

bool
ksp_cache_save(const struct ksp_cache *c, const char *dir, const uint8_t *cardid, size_t cardid_len,
	       const uint8_t cardcf[6])
{
	struct mdp_buf b;
	uint8_t digest[SHA256_DIGEST_LENGTH];
	char *path = NULL, *tmp = NULL;
	uint32_t count = 0;
	size_t i, off = 0;
	bool ok = false;
	int fd = -1;

	buf_init(&b);
	if (!dir || cardid_len == 0 || cardid_len > 255)
		goto out;
	for (i = 0; i < c->n; i++)
		if (!(c->e[i]->classes & KSP_C_PRIVATE) && strlen(c->e[i]->tag) <= 255)
			count++;
	buf_put_bytes(&b, magic, sizeof(magic));
	buf_put_u8(&b, (uint8_t)cardid_len);
	buf_put_bytes(&b, cardid, cardid_len);
	buf_put_bytes(&b, cardcf, 6);
	buf_put_le32(&b, count);
	for (i = 0; i < c->n; i++) {
		const struct ksp_cache_entry *e = c->e[i];
		size_t tl = strlen(e->tag);

		if ((e->classes & KSP_C_PRIVATE) || tl > 255)
			continue;
		buf_put_u8(&b, (uint8_t)tl);
		buf_put_bytes(&b, e->tag, tl);
		buf_put_u8(&b, (uint8_t)e->classes);
		buf_put_u8(&b, e->absent ? 1 : 0);
		buf_put_le32(&b, (uint32_t)e->len);
		buf_put_bytes(&b, e->data, e->len);
	}
	if (b.bad)
		goto out;
	SHA256(b.data, b.len, digest);
	buf_put_bytes(&b, digest, sizeof(digest));
	if (b.bad)
		goto out;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_warn("cache directory %s: %s", dir, strerror(errno));
		goto out;
	}
	path = cache_path(dir, cardid, cardid_len, "");
	tmp = cache_path(dir, cardid, cardid_len, ".XXXXXX");
	if (!path || !tmp)
		goto out;
	fd = mkstemp(tmp);
	if (fd < 0) {
		log_warn("cache file %s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	while (off < b.len) {
		ssize_t w = write(fd, b.data + off, b.len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	if (!ok && tmp)
		unlink(tmp);
	if (!ok && path)
		log_warn("could not write the cache file %s", path);
	free(path);
	free(tmp);
	buf_free(&b);
	return ok;
}

bool
ksp_cache_load(struct ksp_cache *c, const char *dir, const uint8_t *cardid, size_t cardid_len,
	       uint8_t cardcf[6])
{
	struct ksp_cache fresh;
	struct mdp_cursor cur;
	uint8_t digest[SHA256_DIGEST_LENGTH], cf[6];
	uint8_t *data = NULL;
	const uint8_t *p;
	char *path = NULL;
	size_t len = 0, cap = 0;
	uint32_t count, i;
	bool ok = false;
	int fd = -1;

	ksp_cache_init(&fresh);
	if (!dir || cardid_len == 0)
		goto out;
	path = cache_path(dir, cardid, cardid_len, "");
	if (!path)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	for (;;) {
		ssize_t r;

		if (len == cap) {
			uint8_t *grown;

			cap = cap ? 2 * cap : 4096;
			if (cap > (64u << 20))
				goto out;
			grown = realloc(data, cap);
			if (!grown)
				goto out;
			data = grown;
		}
		r = read(fd, data + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len < sizeof(magic) + SHA256_DIGEST_LENGTH)
		goto out;
	SHA256(data, len - SHA256_DIGEST_LENGTH, digest);
	if (memcmp(digest, data + len - SHA256_DIGEST_LENGTH, SHA256_DIGEST_LENGTH) != 0)
		goto out;
	cur_init(&cur, data, len - SHA256_DIGEST_LENGTH);
	p = cur_get_bytes(&cur, sizeof(magic));
	if (!p || memcmp(p, magic, sizeof(magic)) != 0)
		goto out;
	if (cur_get_u8(&cur) != cardid_len)
		goto out;
	p = cur_get_bytes(&cur, cardid_len);
	if (!p || memcmp(p, cardid, cardid_len) != 0)
		goto out;
	p = cur_get_bytes(&cur, 6);
	if (!p)
		goto out;
	memcpy(cf, p, 6);
	count = cur_get_le32(&cur);
	if (cur.bad)
		goto out;
	for (i = 0; i < count; i++) {
		char tag[256];
		uint8_t tl = cur_get_u8(&cur), classes, absent;
		const uint8_t *t = cur_get_bytes(&cur, tl), *d;
		uint32_t dl;

		classes = cur_get_u8(&cur);
		absent = cur_get_u8(&cur);
		dl = cur_get_le32(&cur);
		d = cur_get_bytes(&cur, dl);
		if (cur.bad || !t || tl == 0 || memchr(t, 0, tl) || (classes & KSP_C_PRIVATE) ||
		    absent > 1)
			goto out;
		memcpy(tag, t, tl);
		tag[tl] = '\0';
		if (!ksp_cache_put(&fresh, tag, classes, absent != 0, d, dl))
			goto out;
	}
	if (cur_left(&cur) != 0)
		goto out;
	ksp_cache_clear(c);
	*c = fresh;
	c->dirty = false;
	ksp_cache_init(&fresh);
	memcpy(cardcf, cf, 6);
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	if (!ok && path && data)
		log_info("ignoring the cache file %s (damaged or of another card)", path);
	ksp_cache_clear(&fresh);
	free(data);
	free(path);
	return ok;
}
