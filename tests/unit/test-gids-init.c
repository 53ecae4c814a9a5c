/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the GIDS personalisation helpers against an in-memory virtual card. */
#include "config.h"

#include <string.h>

#include "minidriver/card.h"
#include "minidriver/gids-init.h"
#include "ksp/ksp.h"
#include "testutil.h"
#include "transport/apdu.h"
#include "transport/transport.h"
#include "vcard/vcard.h"

static const uint8_t admin_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
				      5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t cardid[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				   0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};

static void
test_initialize_blank(void)
{
	struct mdp_transport *t = NULL;
	struct md_card *card = NULL;
	struct ksp_card *kc = NULL;
	struct ksp_policy pol;
	struct ksp_token_info info;
	enum gids_state st = GIDS_STATE_NOT_GIDS;
	int left = -1, max = -1;

	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(NULL, NULL, &t), MDP_OK);
	CU_ASSERT_EQUAL(gids_probe(t, &st), MDP_OK);
	CU_ASSERT_EQUAL(st, GIDS_STATE_BLANK);
	/* PIN length outside 4..16: refused before any APDU. */
	CU_ASSERT_EQUAL(gids_initialize(t, (const uint8_t *)"123", 3, admin_key, cardid),
			MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(
		gids_initialize(t, (const uint8_t *)"12345678901234567", 17, admin_key, cardid),
		MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(gids_probe(t, &st), MDP_OK);
	CU_ASSERT_EQUAL(st, GIDS_STATE_BLANK);

	CU_ASSERT_EQUAL_FATAL(gids_initialize(t, (const uint8_t *)"123456", 6, admin_key, cardid),
			      MDP_OK);
	CU_ASSERT_EQUAL(gids_probe(t, &st), MDP_OK);
	CU_ASSERT_EQUAL(st, GIDS_STATE_INITIALIZED);
	CU_ASSERT_EQUAL(gids_pin_status(t, &left, &max), MDP_OK);
	CU_ASSERT_EQUAL(left, 3);
	CU_ASSERT_EQUAL(max, 3);
	/* A second personalisation is refused. */
	CU_ASSERT_EQUAL(gids_initialize(t, (const uint8_t *)"123456", 6, admin_key, cardid),
			MDP_ERR_STATE);

	/* The card layers open it, with the cardid written, and the PIN and admin key work. */
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card),
			      MD_OK);
	ksp_policy_default(&pol);
	CU_ASSERT_EQUAL_FATAL(ksp_card_open(card, &pol, &kc), KSP_OK);
	CU_ASSERT_EQUAL(ksp_token_info(kc, &info), KSP_OK);
	CU_ASSERT(memcmp(info.cardid, cardid, 16) == 0);
	CU_ASSERT_EQUAL(ksp_login_user(kc, (const uint8_t *)"000000", 6), KSP_E_PIN_INCORRECT);
	CU_ASSERT_EQUAL(gids_pin_status(t, &left, &max), MDP_OK);
	CU_ASSERT_EQUAL(left, 2);
	CU_ASSERT_EQUAL(ksp_login_user(kc, (const uint8_t *)"123456", 6), KSP_OK);
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	CU_ASSERT_EQUAL(ksp_login_admin(kc, admin_key, sizeof(admin_key)), KSP_OK);
	CU_ASSERT_EQUAL(ksp_logout(kc), KSP_OK);
	ksp_card_free(kc);
	mdp_transport_free(t);
}

static void
test_probe_initialized(void)
{
	struct mdp_transport *t = NULL;
	enum gids_state st = GIDS_STATE_NOT_GIDS;
	struct vcard_init_params p;
	int left = -1, max = -1;

	memset(&p, 0, sizeof(p));
	p.pin = "123456";
	p.admin_key = admin_key;
	p.pin_tries = 5;
	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(NULL, &p, &t), MDP_OK);
	CU_ASSERT_EQUAL(gids_probe(t, &st), MDP_OK);
	CU_ASSERT_EQUAL(st, GIDS_STATE_INITIALIZED);
	CU_ASSERT_EQUAL(gids_pin_status(t, &left, &max), MDP_OK);
	CU_ASSERT_EQUAL(left, 5);
	CU_ASSERT_EQUAL(max, 5);
	CU_ASSERT_EQUAL(gids_initialize(t, (const uint8_t *)"123456", 6, admin_key, cardid),
			MDP_ERR_STATE);
	mdp_transport_free(t);
}

/* Send one APDU the way a personalisation does; the status word must be 9000. */
static void
send_ok(struct mdp_transport *t, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
	size_t len)
{
	struct mdp_apdu a = {0x00, ins, p1, p2, data, len, MDP_APDU_NO_LE, false};
	uint16_t sw = 0;

	CU_ASSERT_EQUAL_FATAL(mdp_apdu_exchange(t, &a, NULL, &sw), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(sw, 0x9000);
}

/*
 * An interrupted personalisation (EF A000 created, no masterfile yet) is told apart from a
 * blank card and refused: it cannot be personalised again without a factory reset.
 */
static void
test_probe_partial(void)
{
	static const uint8_t a000_fcp[] = {0x62, 0x0C, 0x82, 0x01, 0x39, 0x83, 0x02,
					   0xA0, 0x00, 0x8C, 0x03, 0x03, 0x30, 0x00};
	struct mdp_transport *t = NULL;
	enum gids_state st = GIDS_STATE_NOT_GIDS;

	CU_ASSERT_EQUAL_FATAL(mdp_transport_embedded_new(NULL, NULL, &t), MDP_OK);
	CU_ASSERT_EQUAL(gids_probe(t, &st), MDP_OK);
	CU_ASSERT_EQUAL(st, GIDS_STATE_BLANK);
	send_ok(t, 0xA4, 0x04, 0x00,
		(const uint8_t[]){0xA0, 0x00, 0x00, 0x03, 0x97, 0x42, 0x54, 0x46, 0x59}, 9);
	send_ok(t, 0x24, 0x01, 0x80, (const uint8_t *)"123456", 6);
	send_ok(t, 0xE0, 0x00, 0x00, a000_fcp, sizeof(a000_fcp));
	send_ok(t, 0x44, 0x00, 0x00, NULL, 0);
	CU_ASSERT_EQUAL(gids_probe(t, &st), MDP_OK);
	CU_ASSERT_EQUAL(st, GIDS_STATE_PARTIAL);
	CU_ASSERT_EQUAL(gids_initialize(t, (const uint8_t *)"123456", 6, admin_key, cardid),
			MDP_ERR_STATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "half initialised"));
	mdp_transport_free(t);
}

static CU_TestInfo gids_tests[] = {
	{"initialise a blank card", test_initialize_blank},
	{"probe an initialised card", test_probe_initialized},
	{"an interrupted personalisation is refused", test_probe_partial},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"gids-init", NULL, NULL, NULL, NULL, gids_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-gids-init", suites);
}
