/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual card's cryptography at rest: AES-256-GCM sealing, the PIN KDF, HKDF, card-key wraps.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/secmem.h"
#include "vcard/vcard-int.h"

enum mdp_err
vc_gcm_seal(const uint8_t key[VC_CK_LEN], const uint8_t *aad, size_t aad_len, const uint8_t *in,
	    size_t in_len, uint8_t **out, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	size_t total = 12 + in_len + 16;
	int n = 0, fin = 0;
	enum mdp_err err = MDP_ERR_CRYPTO;

	if (in_len > INT_MAX - 64 || aad_len > INT_MAX)
		return MDP_ERR_OVERFLOW;
	buf = malloc(total);
	ctx = EVP_CIPHER_CTX_new();
	if (!buf || !ctx) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	if (RAND_bytes(buf, 12) != 1 ||
	    EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, buf, NULL) != 1 ||
	    (aad_len && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
	    EVP_EncryptUpdate(ctx, buf + 12, &n, in, (int)in_len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + 12 + n, &fin) != 1 || (size_t)(n + fin) != in_len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, buf + 12 + in_len) != 1)
		goto out;
	*out = buf;
	*out_len = total;
	buf = NULL;
	err = MDP_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	mdp_secure_free(buf, total);
	return err;
}

enum mdp_err
vc_gcm_open(const uint8_t key[VC_CK_LEN], const uint8_t *aad, size_t aad_len, const uint8_t *in,
	    size_t in_len, uint8_t **out, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	uint8_t tag[16];
	size_t plen;
	int n = 0, fin = 0;
	enum mdp_err err = MDP_ERR_CRYPTO;

	if (in_len < 28 || in_len > INT_MAX || aad_len > INT_MAX)
		return MDP_ERR_FORMAT;
	plen = in_len - 28;
	buf = mdp_zalloc(plen ? plen : 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!buf || !ctx) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	memcpy(tag, in + in_len - 16, 16);
	if (EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, in, NULL) != 1 ||
	    (aad_len && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
	    EVP_DecryptUpdate(ctx, buf, &n, in + 12, (int)plen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, buf + n, &fin) != 1 || (size_t)(n + fin) != plen)
		goto out;
	*out = buf;
	*out_len = plen;
	buf = NULL;
	err = MDP_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	mdp_secure_free(buf, plen ? plen : 1);
	return err;
}

enum mdp_err
vc_scrypt(const uint8_t *pin, size_t pin_len, const uint8_t salt[VC_SALT_LEN], unsigned cost,
	  uint8_t key[VC_CK_LEN])
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[7];
	uint64_t n = (uint64_t)1 << cost;
	uint32_t r = 8, p = 1;
	uint64_t maxmem = (uint64_t)128 * r * n + (uint64_t)64 * 1024 * 1024;
	enum mdp_err err = MDP_ERR_CRYPTO;

	if (cost < 1 || cost > VC_KDF_MAX_COST)
		return MDP_ERR_ARGS;
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL);
	if (!kdf)
		goto out;
	ctx = EVP_KDF_CTX_new(kdf);
	if (!ctx)
		goto out;
	params[0] =
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pin, pin_len);
	params[1] =
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, VC_SALT_LEN);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, key, VC_CK_LEN, params) != 1)
		goto out;
	err = MDP_OK;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return err;
}

enum mdp_err
vc_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len, const char *info,
	uint8_t key[VC_CK_LEN])
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[5];
	enum mdp_err err = MDP_ERR_CRYPTO;

	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (!kdf)
		goto out;
	ctx = EVP_KDF_CTX_new(kdf);
	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	params[3] =
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, key, VC_CK_LEN, params) != 1)
		goto out;
	err = MDP_OK;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return err;
}

size_t
vc_aad(const struct vc_state *st, const char *label, uint8_t *aad, size_t cap)
{
	size_t l = strlen(label);

	if (l > cap - VC_UUID_LEN)
		l = cap - VC_UUID_LEN;
	memcpy(aad, st->uuid, VC_UUID_LEN);
	memcpy(aad + VC_UUID_LEN, label, l);
	return VC_UUID_LEN + l;
}

enum mdp_err
vc_wrap_ck(const struct vc_state *st, const uint8_t kek[VC_CK_LEN], const char *label,
	   const uint8_t ck[VC_CK_LEN], uint8_t wrap[VC_WRAP_LEN])
{
	uint8_t aad[64];
	uint8_t *w = NULL;
	size_t wl = 0, al = vc_aad(st, label, aad, sizeof(aad));
	enum mdp_err err;

	err = vc_gcm_seal(kek, aad, al, ck, VC_CK_LEN, &w, &wl);
	if (err)
		return err;
	if (wl != VC_WRAP_LEN) {
		free(w);
		return MDP_ERR_INTERNAL;
	}
	memcpy(wrap, w, VC_WRAP_LEN);
	free(w);
	return MDP_OK;
}

enum mdp_err
vc_unwrap_ck(const struct vc_state *st, const uint8_t kek[VC_CK_LEN], const char *label,
	     const uint8_t wrap[VC_WRAP_LEN], uint8_t ck[VC_CK_LEN])
{
	uint8_t aad[64];
	uint8_t *p = NULL;
	size_t pl = 0, al = vc_aad(st, label, aad, sizeof(aad));
	enum mdp_err err;

	err = vc_gcm_open(kek, aad, al, wrap, VC_WRAP_LEN, &p, &pl);
	if (err)
		return err;
	if (pl != VC_CK_LEN) {
		mdp_secure_free(p, pl);
		return MDP_ERR_STATE;
	}
	memcpy(ck, p, VC_CK_LEN);
	mdp_secure_free(p, pl);
	return MDP_OK;
}

bool
vc_cipher_raw(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *iv, bool enc,
	      const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok;

	ok = cipher && ctx && len <= INT_MAX &&
	     EVP_CipherInit_ex2(ctx, cipher, key, iv, enc ? 1 : 0, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 &&
	     EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && (size_t)(n + fin) == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}
