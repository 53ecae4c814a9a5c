/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secure memory helpers built on OpenSSL's cleanse. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"

void *
mdp_zalloc(size_t len)
{
	return calloc(1, len ? len : 1);
}

void
mdp_wipe(void *p, size_t len)
{
	if (p && len)
		OPENSSL_cleanse(p, len);
}

void
mdp_secure_free(void *p, size_t len)
{
	if (!p)
		return;
	mdp_wipe(p, len);
	free(p);
}

void *
mdp_memdup(const void *p, size_t len)
{
	void *q;

	if (!p)
		return NULL;
	q = malloc(len ? len : 1);
	if (q && len)
		memcpy(q, p, len);
	return q;
}

int
mdp_memeq_ct(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len);
}
