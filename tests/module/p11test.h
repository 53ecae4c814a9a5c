/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers of the module tests: load the built mdp11.so, make a virtual card, log in. */
#ifndef MDP11_TESTS_MODULE_P11TEST_H
#define MDP11_TESTS_MODULE_P11TEST_H

#include <stdbool.h>
#include <stddef.h>

#include <CUnit/CUnit.h>

#include "pkcs11/pkcs11-3.h"

#define TEST_PIN "123456"
#define TEST_ADMIN_HEX "0102030405060708090a0b0c0d0e0f101112131415161718"

extern CK_FUNCTION_LIST *p11;
extern CK_SLOT_ID test_slot;

/*
 * Load the module (MDP11_TEST_MODULE or the built .libs/mdp11.so), create a fresh virtual
 * card in a temporary directory (PIN TEST_PIN, admin key TEST_ADMIN_HEX) and point
 * MDP11_VCARD at it, with a configuration file that turns PC/SC off. Returns 0 on success.
 */
int p11test_setup(void);
/* The same with the card's parameters (PIV: .type = VCARD_TYPE_PIV; unset fields: as above). */
struct vcard_init_params;
int p11test_setup_card(const struct vcard_init_params *card);
void p11test_teardown(void);
/*
 * MDP11_TEST_PCSC=1: the card is not embedded but served to pcscd by the calling script
 * (same PIN, admin key and 3 PIN tries); the module uses PC/SC.
 */
bool p11test_pcsc(void);
/* The state file of the test card. */
const char *p11test_card_path(void);
/* Path of the loaded module. */
const char *p11test_module_path(void);
/*
 * For a suite's init function (outside any test: no CUnit assertions): the card's PIN key
 * derivation at its cheapest (MDP11_VCARD_KDF_COST=4, for suites that log in often),
 * p11test_setup, p11test_init, and a read-write session logged in as user; CK_INVALID_HANDLE
 * on failure.
 */
CK_SESSION_HANDLE p11test_suite_session(void);
/* Initialize and find the one slot; open a session (rw or ro), log in as user if asked. */
CK_RV p11test_init(void);
CK_SESSION_HANDLE p11test_open(bool rw, bool login);
/* Generate a key pair; ok false: return the CK_RV only. */
CK_RV p11test_gen_rsa(CK_SESSION_HANDLE s, CK_ULONG bits, bool exchange, const char *id,
		      CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
CK_RV p11test_gen_ec(CK_SESSION_HANDLE s, const char *curve_oid_hex, bool derive, const char *id,
		     CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
/* Attribute as fresh memory (free()), NULL on failure. */
void *p11test_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t, CK_ULONG *len);
/* Number of objects matching a one-attribute template, or all with t CK_UNAVAILABLE_INFORMATION. */
CK_ULONG p11test_count(CK_SESSION_HANDLE s, CK_ATTRIBUTE_TYPE t, CK_ULONG v);

/* The key's public key as OpenSSL sees it (from CKA_PUBLIC_KEY_INFO); NULL on failure. */
struct evp_pkey_st *p11test_pkey(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h);
/* The hash of a hash-and-sign mechanism (or of CKM_SHA_1/CKM_SHA256); NULL: none. */
const struct evp_md_st *p11test_md(CK_MECHANISM_TYPE m);
/* Check a signature with OpenSSL alone (what a relying party does); EC: r||s. */
bool p11test_ossl_verify(struct evp_pkey_st *k, CK_MECHANISM_TYPE m, const CK_BYTE *data,
			 size_t len, const CK_BYTE *sig, size_t sig_len);
/* Sign (one-shot or multi-part), check with OpenSSL and C_Verify, and that a flipped bit fails. */
void p11test_sign_check(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub,
			struct evp_pkey_st *k, CK_MECHANISM *m, const CK_BYTE *data, CK_ULONG len,
			bool multi);

/* A big-number parameter of an OpenSSL key, big-endian (free()); NULL on failure. */
CK_BYTE *p11test_bn(struct evp_pkey_st *k, const char *name, CK_ULONG *len);
/* A certificate (DER, OPENSSL_free()) for pub with subject CN=cn, signed by a throw-away key. */
unsigned char *p11test_cert(struct evp_pkey_st *pub, const char *cn, int *len);

/* ECDH P-256 with the card's key priv against a fresh OpenSSL key: the same secret. */
void p11test_derive_check(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv);

#endif
