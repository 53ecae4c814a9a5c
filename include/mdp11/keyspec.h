/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Minidriver key specs and CAPI algorithm ids: the one set every layer and every card module uses.
 */
#ifndef MDP11_KEYSPEC_H
#define MDP11_KEYSPEC_H

/*
 * Installed with the card-module interface (mdp11/card-module.h includes it): the key_spec
 * fields of that interface carry these values, and inside mdp11 the BLOB translator, the card
 * modules, the host role and the PKCS#11 module use the same names. It depends on nothing.
 */

/* Key specs of CardCreateContainer (spec/minidriver.md §4.2), AT_KEYEXCHANGE ... AT_ECDHE_P521. */
enum mdp_key_spec {
	MDP_AT_NONE = 0,
	MDP_AT_KEYEXCHANGE = 1, /* RSA, sign + decrypt */
	MDP_AT_SIGNATURE = 2,	/* RSA, sign only */
	MDP_AT_ECDSA_P256 = 3,
	MDP_AT_ECDSA_P384 = 4,
	MDP_AT_ECDSA_P521 = 5,
	MDP_AT_ECDHE_P256 = 6,
	MDP_AT_ECDHE_P384 = 7,
	MDP_AT_ECDHE_P521 = 8,
};

#define MDP_KEY_SPEC_IS_RSA(s) ((s) == MDP_AT_KEYEXCHANGE || (s) == MDP_AT_SIGNATURE)
#define MDP_KEY_SPEC_IS_ECDSA(s) ((s) >= MDP_AT_ECDSA_P256 && (s) <= MDP_AT_ECDSA_P521)
#define MDP_KEY_SPEC_IS_ECDH(s) ((s) >= MDP_AT_ECDHE_P256 && (s) <= MDP_AT_ECDHE_P521)
#define MDP_KEY_SPEC_IS_EC(s) (MDP_KEY_SPEC_IS_ECDSA(s) || MDP_KEY_SPEC_IS_ECDH(s))
/* Whether the key spec sits in the signature slot of a container (else the exchange slot). */
#define MDP_KEY_SPEC_IS_SIG_SLOT(s) ((s) == MDP_AT_SIGNATURE || MDP_KEY_SPEC_IS_ECDSA(s))

/* CAPI ALG_IDs (spec/blobs.md §1.1). */
#define MDP_CALG_RSA_SIGN 0x00002400u
#define MDP_CALG_RSA_KEYX 0x0000A400u
#define MDP_CALG_MD5 0x00008003u
#define MDP_CALG_SHA1 0x00008004u
#define MDP_CALG_RIPEMD160 0x00008007u
#define MDP_CALG_SSL3_SHAMD5 0x00008008u
#define MDP_CALG_SHA_256 0x0000800Cu
#define MDP_CALG_SHA_384 0x0000800Du
#define MDP_CALG_SHA_512 0x0000800Eu

#endif
