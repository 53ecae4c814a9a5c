/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a card handle keeps between commands, in per-process locked memory: the items key of its
 * seal (so the key file is read, or the TPM asked, once) and the PIN KDF result of the last PIN
 * proved right (so a repeated login costs no scrypt).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

/*
 * One mapping for the process, made at the first use: locked (mlock: never swapped), left out
 * of core dumps (MADV_DONTDUMP) and wiped in a forked child (MADV_WIPEONFORK, and a
 * pthread_atfork handler that clears it for kernels without that flag), so a child never holds
 * its parent's keys. A slot belongs to a handle by a random token: after a fork (the child's
 * region is zero) or once the slot is reused, an old handle's token no longer matches and it
 * simply finds nothing kept. The PIN result is bound to the PIN by HMAC-SHA256 under a random
 * per-process key (also in the region): a different PIN never matches, and the PIN itself is
 * not stored.
 */
#define KEEP_SLOTS 63

struct keep_slot {
	uint64_t token; /* 0: free */
	bool key_ok;
	uint8_t key_id[32];
	uint8_t key[VC_CK_LEN];
	bool pin_ok;
	uint8_t pin_uuid[VC_UUID_LEN];
	uint8_t pin_salt[VC_SALT_LEN];
	unsigned pin_cost;
	uint8_t pin_tag[32];
	uint8_t pin_kdf[VC_CK_LEN];
};

struct keep_region {
	bool hkey_ok;
	uint8_t hkey[32]; /* the per-process HMAC key */
	struct keep_slot slot[KEEP_SLOTS];
};

static pthread_mutex_t keep_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t keep_once = PTHREAD_ONCE_INIT;
static struct keep_region *region;
static size_t region_len;

static void
keep_atfork_child(void)
{
	pthread_mutex_init(&keep_mu, NULL);
	if (region)
		OPENSSL_cleanse(region, sizeof(*region));
}

static void
keep_init(void)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (page <= 0)
		page = 4096;
	region_len = (sizeof(struct keep_region) + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_warn("no memory for the card handles' keys: nothing is kept between commands");
		return;
	}
#ifdef MADV_WIPEONFORK
	if (madvise(p, region_len, MADV_WIPEONFORK) != 0)
		log_debug("MADV_WIPEONFORK refused: the fork handler wipes the kept keys");
#endif
#ifdef MADV_DONTDUMP
	madvise(p, region_len, MADV_DONTDUMP);
#endif
	if (mlock(p, region_len) != 0)
		log_info("cannot lock the memory of kept card keys (RLIMIT_MEMLOCK): it may be "
			 "swapped");
	region = p;
	pthread_atfork(NULL, NULL, keep_atfork_child);
}

static struct keep_slot *
slot_of(unsigned slot, uint64_t token)
{
	if (!region || token == 0 || slot == 0 || slot > KEEP_SLOTS)
		return NULL;
	if (region->slot[slot - 1].token != token)
		return NULL;
	return &region->slot[slot - 1];
}

void
vc_keep_new(unsigned *slot, uint64_t *token)
{
	uint64_t t = 0;
	unsigned i;

	*slot = 0;
	*token = 0;
	pthread_once(&keep_once, keep_init);
	if (!region)
		return;
	while (t == 0) {
		if (RAND_bytes((uint8_t *)&t, sizeof(t)) != 1)
			return;
	}
	pthread_mutex_lock(&keep_mu);
	for (i = 0; i < KEEP_SLOTS; i++) {
		if (region->slot[i].token == 0) {
			OPENSSL_cleanse(&region->slot[i], sizeof(region->slot[i]));
			region->slot[i].token = t;
			*slot = i + 1;
			*token = t;
			break;
		}
	}
	pthread_mutex_unlock(&keep_mu);
	if (!*token)
		log_info("all %d slots for kept card keys in use: this handle keeps none",
			 KEEP_SLOTS);
}

void
vc_keep_free(unsigned slot, uint64_t token)
{
	struct keep_slot *s;

	pthread_mutex_lock(&keep_mu);
	s = slot_of(slot, token);
	if (s)
		OPENSSL_cleanse(s, sizeof(*s));
	pthread_mutex_unlock(&keep_mu);
}

bool
vc_keep_key_get(unsigned slot, uint64_t token, const uint8_t id[32], uint8_t key[VC_CK_LEN])
{
	struct keep_slot *s = slot_of(slot, token);

	if (!s || !s->key_ok || CRYPTO_memcmp(s->key_id, id, 32) != 0)
		return false;
	memcpy(key, s->key, VC_CK_LEN);
	return true;
}

void
vc_keep_key_set(unsigned slot, uint64_t token, const uint8_t id[32], const uint8_t key[VC_CK_LEN])
{
	struct keep_slot *s = slot_of(slot, token);

	if (!s)
		return;
	memcpy(s->key_id, id, 32);
	memcpy(s->key, key, VC_CK_LEN);
	s->key_ok = true;
}

void
vc_keep_key_drop(unsigned slot, uint64_t token)
{
	struct keep_slot *s = slot_of(slot, token);

	if (!s)
		return;
	s->key_ok = false;
	OPENSSL_cleanse(s->key, sizeof(s->key));
	OPENSSL_cleanse(s->key_id, sizeof(s->key_id));
}

/* HMAC-SHA256(process key, uuid || salt || cost || PIN). */
static bool
pin_tag(const uint8_t uuid[VC_UUID_LEN], const uint8_t salt[VC_SALT_LEN], unsigned cost,
	const uint8_t *pin, size_t len, uint8_t tag[32])
{
	uint8_t msg[VC_UUID_LEN + VC_SALT_LEN + 1 + VC_PIN_MAX];
	unsigned int n = 0;
	bool ok;

	if (len > VC_PIN_MAX)
		return false;
	pthread_mutex_lock(&keep_mu);
	if (!region->hkey_ok)
		region->hkey_ok = RAND_bytes(region->hkey, sizeof(region->hkey)) == 1;
	memcpy(msg, uuid, VC_UUID_LEN);
	memcpy(msg + VC_UUID_LEN, salt, VC_SALT_LEN);
	msg[VC_UUID_LEN + VC_SALT_LEN] = (uint8_t)cost;
	memcpy(msg + VC_UUID_LEN + VC_SALT_LEN + 1, pin, len);
	ok = region->hkey_ok &&
	     HMAC(EVP_sha256(), region->hkey, sizeof(region->hkey), msg,
		  VC_UUID_LEN + VC_SALT_LEN + 1 + len, tag, &n) != NULL &&
	     n == 32;
	pthread_mutex_unlock(&keep_mu);
	OPENSSL_cleanse(msg, sizeof(msg));
	return ok;
}

bool
vc_keep_pin_get(unsigned slot, uint64_t token, const uint8_t uuid[VC_UUID_LEN],
		const uint8_t salt[VC_SALT_LEN], unsigned cost, const uint8_t *pin, size_t len,
		uint8_t kdf[VC_CK_LEN])
{
	struct keep_slot *s = slot_of(slot, token);
	uint8_t tag[32];
	bool hit;

	if (!s || !s->pin_ok || s->pin_cost != cost || memcmp(s->pin_uuid, uuid, VC_UUID_LEN) ||
	    memcmp(s->pin_salt, salt, VC_SALT_LEN))
		return false;
	if (!pin_tag(uuid, salt, cost, pin, len, tag))
		return false;
	hit = CRYPTO_memcmp(tag, s->pin_tag, sizeof(tag)) == 0;
	if (hit)
		memcpy(kdf, s->pin_kdf, VC_CK_LEN);
	OPENSSL_cleanse(tag, sizeof(tag));
	return hit;
}

void
vc_keep_pin_set(unsigned slot, uint64_t token, const uint8_t uuid[VC_UUID_LEN],
		const uint8_t salt[VC_SALT_LEN], unsigned cost, const uint8_t *pin, size_t len,
		const uint8_t kdf[VC_CK_LEN])
{
	struct keep_slot *s = slot_of(slot, token);

	if (!s)
		return;
	s->pin_ok = false;
	if (!pin_tag(uuid, salt, cost, pin, len, s->pin_tag))
		return;
	memcpy(s->pin_uuid, uuid, VC_UUID_LEN);
	memcpy(s->pin_salt, salt, VC_SALT_LEN);
	s->pin_cost = cost;
	memcpy(s->pin_kdf, kdf, VC_CK_LEN);
	s->pin_ok = true;
}
