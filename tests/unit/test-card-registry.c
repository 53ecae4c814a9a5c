/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Registry, plugin loading, version negotiation and the host-side argument rules of
 * minidriver/card.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/conf.h"
#include "minidriver/card.h"
#include "tests/mock/mock-transport.h"
#include "tests/unit/testutil.h"

/* The scripted card of tests/plugin/scripted-card.c. */
struct scard {
	uint8_t files[4][255];
	size_t len[4];
	unsigned apdus;
};

static enum mdp_err
scripted(void *ctx, const uint8_t *apdu, size_t len, uint8_t *r, size_t *rlen)
{
	struct scard *c = ctx;
	size_t n = 0;
	uint16_t sw = 0x6D00;

	c->apdus++;
	if (apdu[1] == 0xA4 && len >= 11 && apdu[4] == 6 && memcmp(apdu + 5, "\xF0mdp11", 6) == 0)
		sw = 0x9000;
	else if (apdu[1] == 0xA4)
		sw = 0x6A82;
	else if (apdu[1] == 0xB0 && apdu[3] >= 1 && apdu[3] <= 3) {
		memcpy(r, c->files[apdu[3]], c->len[apdu[3]]);
		n = c->len[apdu[3]];
		sw = 0x9000;
	} else if (apdu[1] == 0xD6 && apdu[3] >= 1 && apdu[3] <= 3) {
		c->len[apdu[3]] = len > 4 ? apdu[4] : 0;
		memcpy(c->files[apdu[3]], apdu + 5, c->len[apdu[3]]);
		sw = 0x9000;
	}
	r[n++] = (uint8_t)(sw >> 8);
	r[n++] = (uint8_t)sw;
	*rlen = n;
	return MDP_OK;
}

static const uint8_t atr[5] = {0x3B, 0x80, 0x80, 0x01, 0x01}; /* what the mock reports */

static void
test_plugin(void)
{
	struct scard c = {.len = {0, 16, 6, 0}};
	struct mdp_transport *t = NULL;
	struct md_registry *reg = NULL;
	struct md_card *card = NULL;
	struct md_capabilities caps = {0};
	struct md_signing_info si = {0};
	uint8_t *data = NULL, hash[20] = {0};
	size_t n = 0;
	char *names = NULL;

	memset(c.files[1], 0xC1, 16);
	CU_ASSERT_EQUAL_FATAL(mock_transport_new(scripted, &c, NULL, &t), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(md_registry_new(NULL, &reg), MD_OK);
	CU_ASSERT_EQUAL(md_registry_add(reg, "script", atr, NULL, sizeof(atr), TEST_PLUGIN), MD_OK);
	CU_ASSERT_EQUAL_FATAL(md_card_acquire(reg, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card),
			      MD_OK);
	CU_ASSERT_STRING_EQUAL(md_card_name(card), "script");
	/* the plugin is a v6 module: the negotiated version is min(7, 6) */
	CU_ASSERT_EQUAL(card->version, MD_CARD_DATA_VERSION_SIX);
	CU_ASSERT_EQUAL(md_query_capabilities(card, &caps), MD_OK);
	CU_ASSERT_EQUAL(caps.version, 1);
	CU_ASSERT_EQUAL(md_read_file(card, NULL, "cardid", 0, &data, &n), MD_OK);
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT(data && data[0] == 0xC1);
	free(data);
	CU_ASSERT_EQUAL(md_write_file(card, "mscp", "cmapfile", 0, (const uint8_t *)"abc", 3),
			MD_OK);
	CU_ASSERT_EQUAL(c.len[3], 3);
	CU_ASSERT_EQUAL(md_read_file(card, "nodir", "x", 0, &data, &n), MD_E_DIR_NOT_FOUND);
	CU_ASSERT_EQUAL(md_enum_files(card, NULL, &names, &n, 0), MD_OK);
	CU_ASSERT(n == 15 && names && strcmp(names, "cardid") == 0);
	free(names);
	/* operations the module leaves out are unsupported */
	si.data = hash;
	si.data_len = sizeof(hash);
	si.key_spec = MDP_AT_KEYEXCHANGE;
	CU_ASSERT_EQUAL(md_sign_data(card, &si), MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_EQUAL(md_card_delete(card), MD_OK);

	/* a module that does not go below v6 refuses a v4 host */
	card = NULL;
	CU_ASSERT_EQUAL(md_card_acquire(reg, t, MD_CARD_DATA_VERSION_FOUR, 0, &card),
			MD_ERROR_REVISION_MISMATCH);
	CU_ASSERT_PTR_NULL(card);
	md_registry_free(reg);
	mdp_transport_free(t);
}

static void
test_plugin_version(void)
{
	struct md_registry *reg = NULL;

	CU_ASSERT_EQUAL_FATAL(md_registry_new(NULL, &reg), MD_OK);
	CU_ASSERT_EQUAL(md_registry_add(reg, "future", atr, NULL, sizeof(atr), TEST_PLUGIN_V2),
			MD_E_UNKNOWN_CARD);
	CU_ASSERT_PTR_NOT_NULL(strstr(mdp_err_last(), "interface version 2"));
	CU_ASSERT_EQUAL(
		md_registry_add(reg, "missing", atr, NULL, sizeof(atr), "/nonexistent/plugin.so"),
		MD_E_UNKNOWN_CARD);
	CU_ASSERT_EQUAL(md_registry_add(reg, "short", atr, NULL, 1, "gids"),
			MD_E_INVALID_PARAMETER);
	md_registry_free(reg);
}

static void
test_config(void)
{
	char text[512];
	struct mdp_config *cfg = NULL;
	struct md_registry *reg = NULL;
	struct scard c = {0};
	struct mdp_transport *t = NULL;
	struct md_card *card = NULL;
	static const char bad[] = "[card_module \"x\"]\natr = 3B:80\n";
	static const char other[] = "[card_module \"x\"]\natr = 3B:11:22\nmodule = gids\n";

	/* the mask lets the last two ATR bytes vary */
	snprintf(text, sizeof(text),
		 "[card_module \"script\"]\natr = 3B:80:80:FF:FF\natr_mask = FF:FF:FF:00:00\n"
		 "module = %s\n",
		 TEST_PLUGIN);
	CU_ASSERT_EQUAL_FATAL(mdp_config_parse(text, strlen(text), "test", &cfg), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(md_registry_new(cfg, &reg), MD_OK);
	CU_ASSERT_EQUAL_FATAL(mock_transport_new(scripted, &c, NULL, &t), MDP_OK);
	CU_ASSERT_EQUAL(md_card_acquire(reg, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card), MD_OK);
	CU_ASSERT_STRING_EQUAL(md_card_name(card), "script");
	md_card_delete(card);
	md_registry_free(reg);
	mdp_config_free(cfg);

	/* a byte inside the mask differs: no match, so the GIDS probe, which this card refuses */
	snprintf(text, sizeof(text),
		 "[card_module \"script\"]\natr = 3B:80:80:FF:FF\natr_mask = FF:FF:FF:FF:00\n"
		 "module = %s\n",
		 TEST_PLUGIN);
	CU_ASSERT_EQUAL_FATAL(mdp_config_parse(text, strlen(text), "test", &cfg), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(md_registry_new(cfg, &reg), MD_OK);
	card = NULL;
	CU_ASSERT_EQUAL(md_card_acquire(reg, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card),
			MD_E_UNKNOWN_CARD);
	CU_ASSERT_PTR_NULL(card);
	md_registry_free(reg);
	mdp_config_free(cfg);

	/* no binding matches: the GIDS probe, which this card refuses */
	card = NULL;
	CU_ASSERT_EQUAL_FATAL(mdp_config_parse(other, strlen(other), "test", &cfg), MDP_OK);
	CU_ASSERT_EQUAL_FATAL(md_registry_new(cfg, &reg), MD_OK);
	CU_ASSERT_EQUAL(md_card_acquire(reg, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card),
			MD_E_UNKNOWN_CARD);
	CU_ASSERT_PTR_NULL(card);
	md_registry_free(reg);
	mdp_config_free(cfg);

	/* a binding without a module is a configuration error */
	CU_ASSERT_EQUAL_FATAL(mdp_config_parse(bad, strlen(bad), "test", &cfg), MDP_OK);
	reg = NULL;
	CU_ASSERT_EQUAL(md_registry_new(cfg, &reg), MD_E_INVALID_PARAMETER);
	CU_ASSERT_PTR_NULL(reg);
	mdp_config_free(cfg);
	mdp_transport_free(t);
}

static void
test_acquire_args(void)
{
	struct scard c = {0};
	struct mdp_transport *t = NULL;
	struct md_card *card = NULL;

	CU_ASSERT_EQUAL_FATAL(mock_transport_new(scripted, &c, NULL, &t), MDP_OK);
	CU_ASSERT_EQUAL(md_card_acquire(NULL, t, 7, 0x2, &card), MD_E_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(md_card_acquire(NULL, t, 7, MD_ACQUIRE_NO_CARD_MODE, &card),
			MD_E_UNSUPPORTED_FEATURE);
	CU_ASSERT_EQUAL(md_card_acquire(NULL, NULL, 7, 0, &card), MD_E_INVALID_PARAMETER);
	CU_ASSERT_PTR_NULL(card);
	CU_ASSERT_EQUAL(md_card_delete(NULL), MD_OK);
	mdp_transport_free(t);
}

static void
test_names(void)
{
	CU_ASSERT_STRING_EQUAL(md_rv_name(MD_E_INVALID_PARAMETER), "MD_E_INVALID_PARAMETER");
	CU_ASSERT_STRING_EQUAL(md_rv_name(MD_ERROR_REVISION_MISMATCH),
			       "MD_ERROR_REVISION_MISMATCH");
	CU_ASSERT_STRING_EQUAL(md_rv_name((enum md_rv)0x12345), "MD_UNKNOWN");
	CU_ASSERT_EQUAL(MD_E_NO_KEY_CONTAINER, 0x80100030u);
	CU_ASSERT_EQUAL(MD_E_INSUFFICIENT_BUFFER, 0x80100008u);
	CU_ASSERT_EQUAL(md_rv_from_err(MDP_ERR_CARD_RESET), MD_W_RESET_CARD);
	CU_ASSERT_EQUAL(md_rv_from_err(MDP_ERR_CARD_REMOVED), MD_W_REMOVED_CARD);
	CU_ASSERT_EQUAL(md_rv_from_err(MDP_ERR_NO_CARD), MD_E_NO_SMARTCARD);
	CU_ASSERT_EQUAL(md_rv_from_err(MDP_ERR_FORMAT), MD_E_COMM_DATA_LOST);
	CU_ASSERT_EQUAL(md_rv_from_err(MDP_ERR_SEAL), MD_E_NO_ACCESS);
}

/* The admin response is 3DES-CBC with a zero IV over the whole challenge. */
static void
test_admin_response(void)
{
	uint8_t key[24], ch[40], *resp = NULL, back[48], iv[8] = {0};
	size_t n = 0;
	int l1 = 0, l2 = 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	size_t i;

	for (i = 0; i < 24; i++)
		key[i] = (uint8_t)(i * 11 + 1);
	for (i = 0; i < 40; i++)
		ch[i] = (uint8_t)i;
	CU_ASSERT_EQUAL_FATAL(md_admin_response_3des(key, ch, sizeof(ch), &resp, &n), MD_OK);
	CU_ASSERT_EQUAL(n, 40);
	CU_ASSERT(memcmp(resp, ch, 40) != 0);
	CU_ASSERT_EQUAL(EVP_DecryptInit_ex(ctx, EVP_des_ede3_cbc(), NULL, key, iv), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	CU_ASSERT_EQUAL(EVP_DecryptUpdate(ctx, back, &l1, resp, 40), 1);
	CU_ASSERT_EQUAL(EVP_DecryptFinal_ex(ctx, back + l1, &l2), 1);
	CU_ASSERT_EQUAL(l1 + l2, 40);
	CU_ASSERT_MEM_EQUAL(back, ch, 40);
	EVP_CIPHER_CTX_free(ctx);
	free(resp);
	CU_ASSERT_EQUAL(md_admin_response_3des(key, ch, 12, &resp, &n), MD_E_INVALID_PARAMETER);
}

static CU_TestInfo tests[] = {
	{"plugin card module", test_plugin},
	{"plugin interface version", test_plugin_version},
	{"ATR bindings from the configuration", test_config},
	{"acquire arguments", test_acquire_args},
	{"result names", test_names},
	{"admin response", test_admin_response},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"registry", NULL, NULL, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-card-registry", suites);
}
