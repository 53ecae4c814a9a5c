/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secret agreements and CardDeriveKey's KDFs, for card modules whose card returns the raw ECDH
 * secret. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "common/bytes.h"
#include "common/hash.h"
#include "common/secmem.h"
#include "minidriver/agreement.h"

bool
md_agreement_room(const struct md_agreements *t)
{
	size_t i;

	for (i = 0; i < MD_MAX_AGREEMENTS; i++)
		if (!t->a[i].used)
			return true;
	return false;
}

enum md_rv
md_agreement_add(struct md_agreements *t, const uint8_t *secret, size_t len, uint8_t *index)
{
	size_t i;

	for (i = 0; i < MD_MAX_AGREEMENTS && t->a[i].used; i++)
		;
	if (i == MD_MAX_AGREEMENTS)
		return MD_E_NO_MEMORY;
	t->a[i].secret = mdp_memdup(secret, len);
	if (!t->a[i].secret)
		return MD_E_NO_MEMORY;
	t->a[i].len = len;
	t->a[i].used = true;
	*index = (uint8_t)i;
	return MD_OK;
}

enum md_rv
md_agreement_destroy(struct md_agreements *t, uint8_t index)
{
	if (index >= MD_MAX_AGREEMENTS || !t->a[index].used)
		return MD_E_INVALID_PARAMETER;
	mdp_secure_free(t->a[index].secret, t->a[index].len);
	t->a[index].secret = NULL;
	t->a[index].len = 0;
	t->a[index].used = false;
	return MD_OK;
}

void
md_agreement_clear(struct md_agreements *t)
{
	size_t i;

	for (i = 0; i < MD_MAX_AGREEMENTS; i++)
		md_agreement_destroy(t, (uint8_t)i);
}

static const struct md_kdf_param *
kdf_param(const struct md_derive_key *dk, uint32_t type)
{
	size_t i;

	for (i = 0; i < dk->param_count; i++)
		if (dk->params[i].type == type)
			return &dk->params[i];
	return NULL;
}

/* A hash name parameter: ASCII, with or without its terminating NUL. */
static const EVP_MD *
kdf_hash(const struct md_derive_key *dk, bool *bad)
{
	const struct md_kdf_param *p = kdf_param(dk, MD_KDF_HASH_ALGORITHM);
	char name[16];
	size_t n;

	*bad = false;
	if (!p)
		return EVP_sha1();
	n = p->len;
	if (n && ((const char *)p->data)[n - 1] == '\0')
		n--;
	if (!p->data || n == 0 || n >= sizeof(name)) {
		*bad = true;
		return NULL;
	}
	memcpy(name, p->data, n);
	name[n] = '\0';
	return mdp_hash_md(mdp_hash_by_name(name));
}

enum md_rv
md_agreement_derive(struct md_agreements *t, struct md_derive_key *dk)
{
	const struct md_agreement *a;
	const struct md_kdf_param *pre, *app;
	const EVP_MD *md = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0, i;
	bool bad = false;
	enum md_rv rv = MD_OK;

	if (!t || !dk || dk->secret_agreement_index >= MD_MAX_AGREEMENTS ||
	    !t->a[dk->secret_agreement_index].used)
		return MD_E_INVALID_PARAMETER;
	a = &t->a[dk->secret_agreement_index];
	pre = kdf_param(dk, MD_KDF_SECRET_PREPEND);
	app = kdf_param(dk, MD_KDF_SECRET_APPEND);

	if (strcmp(dk->kdf, MD_KDF_TRUNCATE) == 0) {
		/* the raw secret, little-endian as CNG returns it */
		out_len = a->len;
		if (!(dk->flags & MD_BUFFER_SIZE_ONLY)) {
			out = malloc(out_len);
			if (!out)
				return MD_E_NO_MEMORY;
			for (i = 0; i < out_len; i++)
				out[i] = a->secret[out_len - 1 - i];
		}
	} else if (strcmp(dk->kdf, MD_KDF_HASH) == 0 || strcmp(dk->kdf, MD_KDF_HMAC) == 0) {
		bool hmac = strcmp(dk->kdf, MD_KDF_HMAC) == 0;
		unsigned hl = 0;

		md = kdf_hash(dk, &bad);
		if (bad)
			return MD_E_INVALID_PARAMETER;
		if (!md)
			return MD_E_UNSUPPORTED_FEATURE;
		out_len = (size_t)EVP_MD_get_size(md);
		if (!(dk->flags & MD_BUFFER_SIZE_ONLY)) {
			out = malloc(out_len);
			if (!out)
				return MD_E_NO_MEMORY;
			if (!hmac) {
				EVP_MD_CTX *c = EVP_MD_CTX_new();

				if (!c || EVP_DigestInit_ex(c, md, NULL) != 1 ||
				    (pre && EVP_DigestUpdate(c, pre->data, pre->len) != 1) ||
				    EVP_DigestUpdate(c, a->secret, a->len) != 1 ||
				    (app && EVP_DigestUpdate(c, app->data, app->len) != 1) ||
				    EVP_DigestFinal_ex(c, out, &hl) != 1)
					rv = MD_E_UNEXPECTED;
				EVP_MD_CTX_free(c);
			} else {
				const struct md_kdf_param *key = kdf_param(dk, MD_KDF_HMAC_KEY);
				const void *kp = key ? key->data : NULL;
				size_t kl = key ? key->len : 0;
				EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
				EVP_MAC_CTX *mc = mac ? EVP_MAC_CTX_new(mac) : NULL;
				OSSL_PARAM prm[2];
				size_t ol = 0;

				if (dk->flags & MD_KDF_USE_SECRET_AS_HMAC_KEY) {
					kp = a->secret;
					kl = a->len;
				}
				prm[0] = OSSL_PARAM_construct_utf8_string(
					OSSL_MAC_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0);
				prm[1] = OSSL_PARAM_construct_end();
				if (!mc ||
				    EVP_MAC_init(mc, kp ? kp : (const void *)"", kl, prm) != 1 ||
				    (pre && EVP_MAC_update(mc, pre->data, pre->len) != 1) ||
				    EVP_MAC_update(mc, a->secret, a->len) != 1 ||
				    (app && EVP_MAC_update(mc, app->data, app->len) != 1) ||
				    EVP_MAC_final(mc, out, &ol, out_len) != 1)
					rv = MD_E_UNEXPECTED;
				EVP_MAC_CTX_free(mc);
				EVP_MAC_free(mac);
			}
		}
	} else if (strcmp(dk->kdf, MD_KDF_SP800_56A_CONCAT) == 0) {
		/* single-step KDF (NIST SP 800-56A): OtherInfo = AlgorithmID || PartyU || PartyV ||
		 * SuppPub || SuppPriv */
		static const uint32_t parts[] = {MD_KDF_ALGORITHMID, MD_KDF_PARTYUINFO,
						 MD_KDF_PARTYVINFO, MD_KDF_SUPPPUBINFO,
						 MD_KDF_SUPPPRIVINFO};
		struct mdp_buf info;

		md = kdf_hash(dk, &bad);
		if (bad)
			return MD_E_INVALID_PARAMETER;
		if (!md)
			return MD_E_UNSUPPORTED_FEATURE;
		if (!kdf_param(dk, MD_KDF_ALGORITHMID) || !kdf_param(dk, MD_KDF_PARTYUINFO) ||
		    !kdf_param(dk, MD_KDF_PARTYVINFO))
			return MD_E_INVALID_PARAMETER;
		out_len =
			dk->version >= 2 && dk->key_len ? dk->key_len : (size_t)EVP_MD_get_size(md);
		if (out_len > 1024)
			return MD_E_INVALID_PARAMETER;
		if (!(dk->flags & MD_BUFFER_SIZE_ONLY)) {
			EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
			EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
			OSSL_PARAM prm[4];

			buf_init(&info);
			for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
				const struct md_kdf_param *p = kdf_param(dk, parts[i]);

				if (p)
					buf_put_bytes(&info, p->data, p->len);
			}
			out = malloc(out_len);
			prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
								  (char *)EVP_MD_get0_name(md), 0);
			prm[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, a->secret,
								   a->len);
			prm[2] = OSSL_PARAM_construct_octet_string(
				OSSL_KDF_PARAM_INFO, info.data ? info.data : (uint8_t *)"",
				info.len);
			prm[3] = OSSL_PARAM_construct_end();
			if (!out || info.bad || !kc || EVP_KDF_derive(kc, out, out_len, prm) != 1)
				rv = out ? MD_E_UNEXPECTED : MD_E_NO_MEMORY;
			EVP_KDF_CTX_free(kc);
			EVP_KDF_free(kdf);
			buf_free(&info);
		}
	} else {
		/* TLS_PRF and others: not offered */
		return MD_E_UNSUPPORTED_FEATURE;
	}
	if (rv != MD_OK) {
		if (out)
			mdp_secure_free(out, out_len);
		return rv;
	}
	dk->derived_key = out;
	dk->derived_key_len = out_len;
	return MD_OK;
}
