/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secure memory helpers: every secret is wiped before its memory is released. */
#ifndef MDP11_COMMON_SECMEM_H
#define MDP11_COMMON_SECMEM_H

#include <stddef.h>

/* Zeroed allocation; NULL on failure. */
void *mdp_zalloc(size_t len);
/* Wipe len bytes (OPENSSL_cleanse: not optimised away). NULL is a no-op. */
void mdp_wipe(void *p, size_t len);
/* Wipe then free. NULL is a no-op. */
void mdp_secure_free(void *p, size_t len);
/* Copy of len bytes in fresh memory; NULL on failure (or when p is NULL). */
void *mdp_memdup(const void *p, size_t len);
/* Constant-time comparison: 0 when equal. */
int mdp_memeq_ct(const void *a, const void *b, size_t len);

#endif
