/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the virtual PIV card shared by piv.c and piv-keys.c (docs/vcard-piv.md). */
#ifndef MDP11_VCARD_PIV_INT_H
#define MDP11_VCARD_PIV_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "vcard/vcard-int.h"

/*
 * The application a channel has selected lives in its cur_fid register (a PIV card has no
 * files): PIV, or one of the two YubiKey applets libykpiv selects (spec/piv.md §2.1, §3).
 */
#define PIV_APP_PIV 0x3FFF
#define PIV_APP_MGMT 0x0001
#define PIV_APP_OTP 0x0002

#define PIV_SLOT_MGM 0x9B
#define PIV_OBJ_MAX 3063     /* value of one object (YubiKey CB_OBJ_MAX, §5.5) */
#define PIV_STORE_MAX 51200u /* all objects together (a YubiKey 5's store, §5.5) */
#define PIV_CMD_MAX 3072u    /* one command after chaining (YubiKey CB_BUF_MAX, §3) */
#define PIV_BLOCK 8	     /* PIN and PUK: 6..8 bytes padded with FF */

#define SW_INCORRECT_SLOT 0x6B00 /* YubiKey's answer to GENERATE/IMPORT into a non-key slot */

/* PIN policies (tag AA) and touch policies (tag AB), spec/piv.md §2.6. */
#define PIV_PIN_NEVER 0x01
#define PIV_PIN_ONCE 0x02
#define PIV_PIN_ALWAYS 0x03
#define PIV_TOUCH_NEVER 0x01
#define PIV_ORIGIN_GENERATED 0x01
#define PIV_ORIGIN_IMPORTED 0x02

/* An asymmetric algorithm of the card (§2.4). */
struct piv_alg {
	uint8_t id;
	uint8_t type; /* VC_KEY_RSA / VC_KEY_EC */
	unsigned bits;
	const char *curve;
	uint8_t since[2]; /* first version that offers it */
};
/* The algorithm id if the card's version offers it, else NULL. */
const struct piv_alg *piv_alg_find(const struct vc_state *st, uint8_t id);

/* 9A 9C 9D 9E 82..95: the slots that hold an asymmetric key. */
extern const uint8_t piv_key_slots[24];
bool piv_key_slot(uint8_t slot);
/* The key file of a slot (key slots and 9B), NULL for any other reference. */
struct vc_file *piv_slot(struct vcard *vc, uint8_t slot);
/* The card reports at least this version (GET VERSION). */
bool piv_version_ge(const struct vc_state *st, uint8_t major, uint8_t minor);
/* Management key algorithm: key length (0 when unknown) and cipher block size. */
size_t piv_mgm_key_len(uint8_t alg, size_t *block);
/* The factory management key for an algorithm (0102030405060708 repeated). */
void piv_mgm_default(uint8_t *key, size_t len);
/* The factory default management key algorithm for a version (3DES below 5.7, AES-192 from). */
uint8_t piv_mgm_default_alg(const uint8_t version[3]);

/* piv-keys.c: GENERAL AUTHENTICATE, GENERATE, IMPORT, SET MANAGEMENT KEY, GET METADATA */
uint16_t piv_cmd_general_auth(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out);
uint16_t piv_cmd_generate(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out);
uint16_t piv_cmd_import(struct vcard *vc, const struct vc_cmd *c);
uint16_t piv_cmd_set_mgm(struct vcard *vc, const struct vc_cmd *c);
uint16_t piv_cmd_metadata(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out);

#endif
