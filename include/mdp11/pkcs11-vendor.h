/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11's vendor-defined PKCS#11 attributes: container index, key spec, overwrite, default flag. */
#ifndef MDP11_PKCS11_VENDOR_H
#define MDP11_PKCS11_VENDOR_H

/*
 * All mdp11 vendor attributes are CKA_VENDOR_DEFINED | 0x4D445000 | n ("MDP" in ASCII, then
 * a small number), so they cannot collide with another vendor's range by accident.
 * See docs/pkcs11.md "Vendor attributes".
 */
#define CKA_MDP11_BASE (0x80000000UL | 0x4D445000UL)

/*
 * CK_ULONG, keys and certificates: the cmapfile record index of the container (0..254).
 * Read-only on existing objects; in a C_GenerateKeyPair or C_CreateObject template it asks
 * for that container (absent: the first free record).
 */
#define CKA_MDP11_CONTAINER_INDEX (CKA_MDP11_BASE + 1)

/*
 * CK_ULONG, keys and certificates: the minidriver key spec (AT_KEYEXCHANGE 1, AT_SIGNATURE 2,
 * AT_ECDSA_P256/384/521 3..5, AT_ECDHE_P256/384/521 6..8). In a template it overrides the
 * choice made from CKA_DECRYPT/CKA_UNWRAP/CKA_DERIVE (it must agree with the key type).
 */
#define CKA_MDP11_KEY_SPEC (CKA_MDP11_BASE + 2)

/*
 * CK_BBOOL, templates only: replace an existing key with the same CKA_ID or in the same
 * container slot (Windows' NCRYPT_OVERWRITE_KEY_FLAG), or the certificate a key already has.
 * Without it such a request fails with CKR_ATTRIBUTE_VALUE_INVALID.
 */
#define CKA_MDP11_OVERWRITE (CKA_MDP11_BASE + 3)

/* CK_BBOOL, keys and certificates, read-only: the container is the card's default container. */
#define CKA_MDP11_DEFAULT_CONTAINER (CKA_MDP11_BASE + 4)

/* UTF-8 string, keys and certificates, read-only: the container name in cmapfile. */
#define CKA_MDP11_CONTAINER_NAME (CKA_MDP11_BASE + 5)

#endif
