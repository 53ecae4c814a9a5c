/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PIV helpers for scripted cards: the SELECT answer, and the operations only PIV has. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "tests/mock/piv-ops.h"

/* The YubiKey's application property template (shared/spec/piv.md §2.1). */
static const uint8_t piv_apt[] = {0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
				  0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08};

bool
mock_piv_select(const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen)
{
	size_t n = 0;

	if (len < 10 || apdu[1] != 0xA4 || apdu[2] != 0x04)
		return false;
	if (memcmp(apdu + 5, "\xA0\x00\x00\x03\x08", 5) == 0) {
		memcpy(r, piv_apt, sizeof(piv_apt));
		n = sizeof(piv_apt);
		r[n++] = 0x90;
		r[n++] = 0x00;
	} else if (memcmp(apdu + 5, "\xA0\x00\x00\x03\x97", 5) == 0) {
		r[n++] = 0x6A;
		r[n++] = 0x82;
	} else {
		return false;
	}
	*rlen = n;
	return true;
}

void
mock_piv_admin_login(struct md_card *card)
{
	static const uint8_t key24[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
					  5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t *ch = NULL, *resp = NULL;
	size_t cl = 0, rl = 0;

	if (md_get_challenge(card, &ch, &cl) == MD_OK &&
	    md_admin_response_3des(key24, ch, cl, &resp, &rl) == MD_OK)
		(void)md_authenticate_challenge(card, resp, rl, NULL);
	free(ch);
	free(resp);
}

void
mock_piv_run_extra(struct md_card *card, mock_op_hook hook, void *ctx)
{
	static const uint8_t key24[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
					  5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t cf[6] = {1, 0, 5, 0, 7, 0}, rec[3 * 86], hash[32] = {9}, ct[128] = {3};
	uint8_t *p = NULL, prop[64], e = 1;
	size_t n = 0;
	uint32_t tries = 0;
	struct md_padding_info pss = {.alg_id = "SHA256", .salt_len = 32};
	struct md_padding_info oaep = {.alg_id = "SHA256"};
	struct md_signing_info si = {.version = 2,
				     .container_index = 1,
				     .key_spec = MDP_AT_ECDSA_P256,
				     .data = hash,
				     .data_len = sizeof(hash)};
	struct md_rsa_decrypt_info di = {.version = 2,
					 .container_index = 2,
					 .key_spec = MDP_AT_KEYEXCHANGE,
					 .data = ct,
					 .data_len = sizeof(ct),
					 .padding_info = &oaep,
					 .padding_type = MD_PADDING_OAEP};

#define OP(call)                          \
	do {                              \
		if (hook)                 \
			hook(ctx, true);  \
		(void)(call);             \
		if (hook)                 \
			hook(ctx, false); \
	} while (0)

	/* the records of what mock_card_run_all made: an ECDSA key at 1, an RSA-1024 import at 2 */
	memset(rec, 0, sizeof(rec));
	rec[86] = 'e';
	rec[86 + 80] = 0x03;
	rec[86 + 82] = 0x00;
	rec[86 + 83] = 0x01;
	rec[2 * 86] = 'r';
	rec[2 * 86 + 80] = 0x01;
	rec[2 * 86 + 84] = 0x00;
	rec[2 * 86 + 85] = 0x04;
	OP(mock_piv_admin_login(card));
	OP(md_write_file(card, NULL, "cardcf", 0, cf, sizeof(cf)));
	OP(md_write_file(card, "mscp", "cmapfile", 0, rec, sizeof(rec)));
	OP(md_read_file(card, "mdp11", "keyattr", 0, &p, &n));
	free(p);
	p = NULL;
	OP(md_create_file(card, "mdp11", "keyattr", 0, MD_AC_EVERYONE_READ_USER_WRITE));
	OP(md_write_file(card, "mdp11", "keyattr", 0, rec, sizeof(rec)));
	OP(md_create_file(card, "mscp", "kxc02", 0, MD_AC_EVERYONE_READ_USER_WRITE));
	OP(md_write_file(card, "mscp", "kxc02", 0, rec, sizeof(rec)));
	OP(md_enum_files(card, "mdp11", (char **)&p, &n, 0));
	free(p);
	p = NULL;
	OP(md_read_file(card, "mscp", "msroots", 0, &p, &n));
	free(p);
	p = NULL;
	OP(md_write_file(card, "mscp", "msroots", 0, rec, sizeof(rec)));
	OP(md_authenticate_ex(card, 4, 0, (const uint8_t *)"123456", 6, NULL, NULL, &tries));
	OP(md_sign_data(card, &si));
	free(si.signature);
	si.signature = NULL;
	si.container_index = 2;
	si.key_spec = MDP_AT_KEYEXCHANGE;
	si.flags = MD_PADDING_INFO_PRESENT;
	si.padding_type = MD_PADDING_PSS;
	si.padding_info = &pss;
	OP(md_sign_data(card, &si));
	free(si.signature);
	OP(md_rsa_decrypt(card, &di));
	OP(md_change_authenticator_ex(card, MD_PIN_CHANGE_UNBLOCK, 3, (const uint8_t *)"12345678",
				      8, 1, (const uint8_t *)"123456", 6, 0, &tries));
	OP(md_authenticate_ex(card, MD_ROLE_ADMIN, 0, key24, sizeof(key24), NULL, NULL, &tries));
	OP(md_change_authenticator_ex(card, MD_PIN_CHANGE_CHANGEPIN, 2, key24, sizeof(key24), 2,
				      key24, sizeof(key24), 0, &tries));
	OP(md_get_container_property(card, 1, MD_CCP_ASSOCIATED_ECDH_KEY, prop, sizeof(prop), &n,
				     0));
	OP(md_set_container_property(card, 1, MD_CCP_ASSOCIATED_ECDH_KEY, &e, 1, 0));
	OP(md_get_property(card, MD_CP_CARD_SERIAL_NO, prop, sizeof(prop), &n, 0));
	OP(md_get_property(card, MD_CP_CARD_READ_ONLY, prop, sizeof(prop), &n, 0));
	OP(md_delete_file(card, "mdp11", "keyattr", 0));
	OP(md_deauthenticate_ex(card, MD_PIN_SET_ALL_ROLES, 0));
#undef OP
}
