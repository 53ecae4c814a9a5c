/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the GIDS card module shared by its files (card-gids.c, gids-fs.c, gids-keys.c,
 * gids-auth.c, gids-crypto.c). */
#ifndef MDP11_MINIDRIVER_GIDS_INT_H
#define MDP11_MINIDRIVER_GIDS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "minidriver/agreement.h"
#include "minidriver/card-int.h"

/* ---- constants (spec/gids.md §2) ---- */

#define GIDS_EF_UCDD 0xA000u /* UserCreateDeleteDirAc: masterfile, keymap */
#define GIDS_EF_ERUW 0xA010u /* EveryoneReadUserWriteAc */
#define GIDS_EF_UWE 0xA011u  /* UserWriteExecuteAc */
#define GIDS_EF_ERAW 0xA012u /* EveryoneReadAdminWriteAc */
#define GIDS_EF_URW 0xA013u  /* UserReadWriteAc */
#define GIDS_EF_ARW 0xA014u  /* AdminReadWriteAc */
#define GIDS_DO_MASTERFILE 0xDF1Fu
#define GIDS_DO_KEYMAP 0xDF20u
#define GIDS_DO_FIRST_FREE 0xDF21u
#define GIDS_DO_LAST 0xDFFEu

#define GIDS_MF_RECORD 28
#define GIDS_CMAP_RECORD 86
#define GIDS_KEYMAP_RECORD 12
#define GIDS_MAX_CONTAINERS 127 /* key references 0x81..0xFF */
#define GIDS_CHALLENGE_LEN 40

#define GIDS_KEYTYPE_KX 0x9A
#define GIDS_KEYTYPE_SIG 0x9C

/* Algorithm ids (§2.4, §9). */
static inline uint8_t
alg_for_rsa_bits(unsigned bits)
{
	switch (bits) {
	case 1024:
		return 0x06;
	case 2048:
		return 0x07;
	case 3072:
		return 0x08;
	case 4096:
		return 0x09;
	default:
		return 0;
	}
}

static inline unsigned
bits_for_alg(uint8_t alg)
{
	static const unsigned t[] = {[0x06] = 1024, [0x07] = 2048, [0x08] = 3072, [0x09] = 4096,
				     [0x0C] = 256,  [0x0D] = 384,  [0x0E] = 521};

	return alg < sizeof(t) / sizeof(t[0]) ? t[alg] : 0;
}

static inline uint8_t
alg_for_ec_spec(uint32_t spec)
{
	switch (spec) {
	case MDP_AT_ECDSA_P256:
	case MDP_AT_ECDHE_P256:
		return 0x0C;
	case MDP_AT_ECDSA_P384:
	case MDP_AT_ECDHE_P384:
		return 0x0D;
	default:
		return 0x0E;
	}
}

static inline size_t
ec_field_len(unsigned bits)
{
	return (bits + 7) / 8;
}

/* ---- module state ---- */

/* What one container holds (from the keymap, or the cmapfile as a fallback). */
struct key_desc {
	bool present;
	uint32_t spec; /* MDP_AT_* of the key */
	unsigned bits;
	uint8_t alg; /* GIDS algorithm id */
};

struct gids {
	uint32_t resets_seen;
	bool selected;
	uint32_t authenticated; /* PIN_SET */
	/* caches, dropped when cardcf says so */
	uint8_t *mf;
	size_t mf_len;
	bool mf_valid;
	uint8_t *cmap;
	size_t cmap_len;
	bool cmap_valid;
	uint8_t *keymap;
	size_t keymap_len;
	bool keymap_valid; /* false also when the card has none */
	bool keymap_absent;
	uint8_t cardcf[6];
	bool cardcf_valid;
	uint8_t cardid[32];
	size_t cardid_len;
	uint8_t *pub[GIDS_MAX_CONTAINERS]; /* public key blobs */
	size_t pub_len[GIDS_MAX_CONTAINERS];
	/* the security environment last set in this card session */
	bool mse_valid;
	uint8_t mse_crt, mse_alg, mse_kid;
	/* admin challenge in progress */
	uint8_t challenge[GIDS_CHALLENGE_LEN];
	bool challenge_valid;
	struct md_agreements agreements;
};

/* The module's state of a context. */
static inline struct gids *
G(struct md_card *card)
{
	return card->module;
}

/* ---- shared by the GIDS files ---- */

/* Map a status word to a result (operations refine where the spec asks). */
enum md_rv gids_sw_rv(uint16_t sw);

/*
 * One command: resp (may be NULL) receives the data. Transport events end
 * the operation; a reset also forgets the card session.
 */
enum md_rv gids_xfer(struct md_card *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
		     const uint8_t *data, size_t lc, int le, struct mdp_buf *resp, uint16_t *sw);

/*
 * Called first by every operation: catch up with resets the host saw
 * (security state and selection are gone) and select the application.
 */
enum md_rv gids_sync(struct md_card *card);

/* GET DATA of a DO in an EF; *present false when the DO does not exist (6A88). */
enum md_rv gids_get_do(struct md_card *card, uint16_t fid, uint16_t tag, struct mdp_buf *value,
		       bool *present);

/* PUT DATA of a DO in an EF. */
enum md_rv gids_put_do(struct md_card *card, uint16_t fid, uint16_t tag, const uint8_t *data,
		       size_t len);

void gids_drop_file_caches(struct gids *g);

/* Forget what cardcf says changed: the file caches (masterfile, cmapfile) / the container
 * caches (keymap, public keys, cmapfile). */
void gids_drop_container_caches(struct gids *g);

/* Forget an admin challenge in progress. */
void gids_wipe_challenge(struct gids *g);

/* Read mscp/cmapfile into the cache (once per cardcf). */
enum md_rv gids_load_cmap(struct md_card *card);

/* Records in the keymap (0 when the card has none). */
size_t gids_keymap_count(const struct gids *g);

/*
 * What container index holds: the keymap (kept by this module when it
 * creates keys, and by OpenSC and Windows) says it right after
 * create_container, before the host has written the cmapfile record; the
 * cmapfile is the fallback for cards without a usable keymap.
 */
enum md_rv gids_describe(struct md_card *card, uint8_t index, struct key_desc *kd);

/* Write keymap record index (and grow or shrink to count records when count is not 0). */
enum md_rv gids_keymap_update(struct md_card *card, uint8_t index, const struct key_desc *kd,
			      size_t min_count);

/* ---- Card* operations (gids_ops in card-gids.c) ---- */

enum md_rv gids_read_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
			  uint8_t **data, size_t *len);
enum md_rv gids_write_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
			   const uint8_t *data, size_t len);
enum md_rv gids_create_file(struct md_card *card, const char *dir, const char *file, uint32_t size,
			    enum md_file_access ac);
enum md_rv gids_delete_file(struct md_card *card, const char *dir, const char *file,
			    uint32_t flags);
enum md_rv gids_create_directory(struct md_card *card, const char *dir, enum md_dir_access ac);
enum md_rv gids_delete_directory(struct md_card *card, const char *dir);
enum md_rv gids_enum_files(struct md_card *card, const char *dir, char **names, size_t *len,
			   uint32_t flags);
enum md_rv gids_get_file_info(struct md_card *card, const char *dir, const char *file,
			      struct md_file_info *fi);
enum md_rv gids_get_container_info(struct md_card *card, uint8_t index, uint32_t flags,
				   struct md_container_info *ci);
enum md_rv gids_create_container(struct md_card *card, uint8_t index, uint32_t flags, uint32_t spec,
				 uint32_t size, const uint8_t *data, size_t len, uint32_t pin_id);
enum md_rv gids_delete_container(struct md_card *card, uint8_t index, uint32_t reserved);
enum md_rv gids_authenticate_ex(struct md_card *card, uint32_t pin_id, uint32_t flags,
				const uint8_t *pin, size_t pin_len, uint8_t **session_pin,
				size_t *session_pin_len, uint32_t *tries_left);
enum md_rv gids_get_challenge_ex(struct md_card *card, uint32_t pin_id, uint8_t **challenge,
				 size_t *len, uint32_t flags);
enum md_rv gids_deauthenticate_ex(struct md_card *card, uint32_t pin_set, uint32_t flags);
/* The user PIN's retry counter (MD_CP_MDP11_PIN_TRIES): GET DATA of the PIN status DO 7F71. */
enum md_rv gids_pin_tries(struct md_card *card, struct md_pin_tries *pt);
enum md_rv gids_change_authenticator_ex(struct md_card *card, uint32_t flags, uint32_t auth_id,
					const uint8_t *auth, size_t auth_len, uint32_t target_id,
					const uint8_t *target, size_t target_len, uint32_t retry,
					uint32_t *tries_left);
enum md_rv gids_sign_data(struct md_card *card, struct md_signing_info *si);
enum md_rv gids_rsa_decrypt(struct md_card *card, struct md_rsa_decrypt_info *di);
enum md_rv gids_construct_dh_agreement(struct md_card *card, struct md_dh_agreement_info *ai);
enum md_rv gids_derive_key(struct md_card *card, struct md_derive_key *dk);
enum md_rv gids_destroy_dh_agreement(struct md_card *card, uint8_t index, uint32_t flags);

#endif
