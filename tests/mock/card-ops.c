/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives every operation of a card module, for hostile-card tests and the card fuzz target. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "tests/mock/card-ops.h"

/* The FCI of the GIDS application (spec/gids.md, SELECT): AID and the application template. */
static const uint8_t gids_fci[] = {0x61, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x97, 0x42,
				   0x54, 0x46, 0x59, 0x02, 0x01, 0x73, 0x03, 0x40, 0x01, 0xC0};

bool
mock_gids_select(const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen)
{
	size_t n = 0;

	if (len < 4 || apdu[1] != 0xA4 || apdu[2] != 0x04)
		return false;
	if (apdu[3] == 0x00) {
		memcpy(r, gids_fci, sizeof(gids_fci));
		n = sizeof(gids_fci);
	}
	r[n++] = 0x90;
	r[n++] = 0x00;
	*rlen = n;
	return true;
}

void
mock_card_run_all(struct md_card *card, const uint8_t *rsa_blob, size_t rsa_len,
		  const uint8_t *peer, size_t peer_len, mock_op_hook hook, void *ctx)
{
	uint8_t hash[32] = {1, 2, 3}, ct[128] = {5}, *p = NULL;
	size_t n = 0, i;
	char *names = NULL;
	struct md_container_info ci = {0};
	struct md_file_info fi = {0};
	struct md_free_space fs = {0};
	struct md_signing_info si = {.version = 2,
				     .key_spec = MDP_AT_KEYEXCHANGE,
				     .hash_alg = MDP_CALG_SHA_256,
				     .data = hash,
				     .data_len = sizeof(hash)};
	struct md_rsa_decrypt_info di = {.version = 2,
					 .key_spec = MDP_AT_KEYEXCHANGE,
					 .data = ct,
					 .data_len = sizeof(ct),
					 .padding_type = MD_PADDING_PKCS1};
	struct md_dh_agreement_info ai = {
		.version = 2, .public_key = peer, .public_key_len = peer_len};
	uint8_t prop[64];
	uint32_t tries = 0;
	uint8_t resp[40] = {0};
	enum md_rv agreed = MD_E_UNEXPECTED;

#define OP(call)                          \
	do {                              \
		if (hook)                 \
			hook(ctx, true);  \
		(void)(call);             \
		if (hook)                 \
			hook(ctx, false); \
	} while (0)

	OP(md_read_file(card, NULL, "cardid", 0, &p, &n));
	free(p);
	p = NULL;
	OP(md_read_file(card, NULL, "cardcf", 0, &p, &n));
	free(p);
	p = NULL;
	OP(md_read_file(card, "mscp", "cmapfile", 0, &p, &n));
	free(p);
	p = NULL;
	OP(md_read_file(card, "mscp", "kxc00", 0, &p, &n));
	free(p);
	p = NULL;
	OP(md_enum_files(card, "mscp", &names, &n, 0));
	free(names);
	names = NULL;
	OP(md_get_file_info(card, "mscp", "kxc00", &fi));
	OP(md_create_file(card, "mscp", "kxc01", 0, MD_AC_EVERYONE_READ_USER_WRITE));
	OP(md_write_file(card, "mscp", "ksc01", 0, hash, sizeof(hash)));
	OP(md_delete_file(card, "mscp", "kxc00", 0));
	OP(md_create_directory(card, "mdp11", MD_DIR_AC_USER_CREATE_DELETE));
	OP(md_delete_directory(card, "mdp11"));
	for (i = 0; i < 3; i++) {
		OP(md_get_container_info(card, (uint8_t)i, 0, &ci));
		md_container_info_clear(&ci);
	}
	OP(md_create_container(card, 0, MD_CREATE_KEY_GEN, MDP_AT_KEYEXCHANGE, 2048, NULL, 0));
	OP(md_create_container(card, 1, MD_CREATE_KEY_GEN, MDP_AT_ECDSA_P256, 0, NULL, 0));
	OP(md_create_container(card, 2, MD_CREATE_KEY_IMPORT, MDP_AT_KEYEXCHANGE, 0, rsa_blob,
			       rsa_len));
	OP(md_delete_container(card, 0, 0));
	OP(md_sign_data(card, &si));
	free(si.signature);
	si.signature = NULL;
	OP(md_rsa_decrypt(card, &di));
	OP(agreed = md_construct_dh_agreement(card, &ai));
	if (agreed == MD_OK) {
		struct md_derive_key dk = {.version = 2,
					   .kdf = MD_KDF_TRUNCATE,
					   .secret_agreement_index = ai.secret_agreement_index};

		OP(md_derive_key(card, &dk));
		if (dk.derived_key)
			mdp_secure_free(dk.derived_key, dk.derived_key_len);
		OP(md_destroy_dh_agreement(card, ai.secret_agreement_index, 0));
	}
	OP(md_authenticate_pin(card, "user", (const uint8_t *)"1234", 4, &tries));
	OP(md_get_challenge(card, &p, &n));
	free(p);
	p = NULL;
	OP(md_authenticate_challenge(card, resp, sizeof(resp), &tries));
	OP(md_change_authenticator(card, "user", (const uint8_t *)"1234", 4,
				   (const uint8_t *)"5678", 4, 0, MD_AUTHENTICATE_PIN_PIN, &tries));
	OP(md_deauthenticate_ex(card, MD_PIN_SET(MD_ROLE_USER), 0));
	OP(md_query_free_space(card, 0, &fs));
	OP(md_get_property(card, MD_CP_CARD_GUID, prop, sizeof(prop), &n, 0));
	OP(md_get_property(card, MD_CP_CARD_FREE_SPACE, prop, sizeof(prop), &n, 0));
	OP(md_get_container_property(card, 0, MD_CCP_PIN_IDENTIFIER, prop, sizeof(prop), &n, 0));
#undef OP
}
