/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual PIV card in its state file: round trip, sealing, hostile files (docs/vcard-piv.md).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/bytes.h"
#include "common/ossl.h"
#include "tests/unit/testutil.h"
#include "tests/unit/vcard-testlib.h"
#include "vcard/vcard-int.h"
#include "vcard/vcard.h"

static char *dir;
static const uint8_t aes128[16] = {0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87,
				   0x98, 0xA9, 0xBA, 0xCB, 0xDC, 0xED, 0xFE, 0x0F};

static char *
path_of(const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* A PIV card file sealed by the key file <name>.key, cheap KDF, not the factory secrets. */
static char *
new_piv_file(const char *name)
{
	char *path = path_of(name), seal[600], key[520];
	struct vcard_init_params p;

	snprintf(key, sizeof(key), "%s.key", path);
	snprintf(seal, sizeof(seal), "keyfile:%s", key);
	unlink(path);
	unlink(key);
	memset(&p, 0, sizeof(p));
	p.type = VCARD_TYPE_PIV;
	p.pin = "24681357";
	p.puk = "11223344";
	p.pin_tries = 5;
	p.puk_tries = 6;
	p.admin_key = aes128;
	p.admin_key_len = sizeof(aes128);
	p.mgm_alg = 0x08;
	p.piv_serial = 87654321;
	p.kdf_cost = 4;
	p.seal = seal;
	CU_ASSERT_EQUAL_FATAL(vcard_create(path, &p), MDP_OK);
	return path;
}

static struct vcard *
open_file(const char *path)
{
	struct vcard *vc = NULL;

	CU_ASSERT_EQUAL_FATAL(vcard_open(path, NULL, &vc), MDP_OK);
	return vc;
}

static uint16_t
verify(struct vcard *vc, const char *pin)
{
	struct rapdu r;
	uint8_t b[8];

	memset(b, 0xFF, sizeof(b));
	memcpy(b, pin, strlen(pin));
	return tx_chunk(vc, 0x00, 0x20, 0x00, 0x80, b, 8, -1, &r);
}

/* External authentication with the AES-128 management key. */
static uint16_t
mgm_auth(struct vcard *vc)
{
	struct rapdu r;
	uint8_t apdu[20] = {0x7C, 0x12, 0x82, 0x10};
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	uint16_t sw;

	sw = tx(vc, "0087089B047C028100", &r);
	if (sw != 0x9000 || r.len != 20) {
		EVP_CIPHER_CTX_free(ctx);
		return sw ? sw : 1;
	}
	CU_ASSERT(ctx && EVP_EncryptInit_ex2(ctx, EVP_aes_128_ecb(), aes128, NULL, NULL) == 1 &&
		  EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
		  EVP_EncryptUpdate(ctx, apdu + 4, &n, r.data + 4, 16) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return tx_chunk(vc, 0x00, 0x87, 0x08, 0x9B, apdu, sizeof(apdu), -1, &r);
}

/* ECDSA with slot's P-256 key, checked with pub. */
static bool
ec_signs(struct vcard *vc, uint8_t slot, EVP_PKEY *pub)
{
	uint8_t cmd[40] = {0x7C, 0x24, 0x82, 0x00, 0x81, 0x20}, *out = NULL;
	size_t n = 0;
	struct mdp_cursor cur, tpl, sig;
	uint32_t tag;
	EVP_PKEY_CTX *ctx = NULL;
	bool ok = false;

	RAND_bytes(cmd + 6, 32);
	if (xfer_bytes(vc, 0x87, 0x11, slot, cmd, sizeof(cmd) - 2, &out, &n) != 0x9000)
		goto out;
	cur_init(&cur, out, n);
	if (tlv_read(&cur, &tag, &tpl) != MDP_OK || tlv_find(tpl.p, tpl.len, 0x82, &sig) != MDP_OK)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
	     EVP_PKEY_verify(ctx, sig.p, sig.len, cmd + 6, 32) == 1;
out:
	EVP_PKEY_CTX_free(ctx);
	free(out);
	return ok;
}

/* The public key of a slot through GET METADATA tag 04 (P-256). */
static EVP_PKEY *
slot_public(struct vcard *vc, uint8_t slot)
{
	char hex[16];
	uint8_t *out = NULL;
	size_t n = 0;
	struct mdp_cursor pk, pt;
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pub = NULL;

	snprintf(hex, sizeof(hex), "00F700%02X00", slot);
	if (xfer(vc, hex, &out, &n) != 0x9000 || tlv_find(out, n, 0x04, &pk) != MDP_OK ||
	    tlv_find(pk.p, pk.len, 0x86, &pt) != MDP_OK)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
	params[1] =
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt.p, pt.len);
	params[2] = OSSL_PARAM_construct_end();
	ctx = mdp_pkey_ctx_new(EVP_PKEY_EC);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pub = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	free(out);
	return pub;
}

/* A command refused for the missing seal: MDP_ERR_SEAL and its SW (0 when it was not refused). */
static uint16_t
sealed_sw(struct vcard *vc, const char *hex)
{
	uint8_t apdu[300], resp[VCARD_MAX_RESPONSE];
	size_t rl = 0;
	long n = mdp_hex_decode(hex, apdu, sizeof(apdu));

	if (n < 0 || vcard_transmit(vc, apdu, (size_t)n, resp, &rl) != MDP_ERR_SEAL || rl < 2)
		return 0;
	return (uint16_t)(resp[rl - 2] << 8 | resp[rl - 1]);
}

static void
test_round_trip(void)
{
	char *path = new_piv_file("rt.card"), *other;
	struct vcard *vc = open_file(path), *vc2 = NULL;
	EVP_PKEY *ec = mdp_pkey_keygen_ec("P-256"), *p9e = NULL, *p9a = NULL;
	struct vcard_info info;
	struct mdp_buf b;
	struct rapdu r;
	uint8_t *out = NULL;
	size_t n = 0;
	BIGNUM *d = NULL;
	uint8_t scalar[32];

	CU_ASSERT_FATAL(ec != NULL);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(info.type == VCARD_TYPE_PIV && info.sealed && info.format_version == 2);
	CU_ASSERT(info.piv_serial == 87654321 && info.mgm_alg == 0x08 && info.pin_tries_max == 5 &&
		  info.puk_tries_max == 6 && info.kdf_cost == 4);
	CU_ASSERT(!info.pin_default && !info.puk_default && !info.mgm_default);
	CU_ASSERT_EQUAL(info.cardid_len, 16);

	/* keys: 9E generated (PIN never), 9A generated (PIN once), 9D imported (known scalar) */
	CU_ASSERT_EQUAL(mgm_auth(vc), 0x9000);
	CU_ASSERT_EQUAL(xfer(vc, "0047009E05AC03800111", &out, &n), 0x9000);
	free(out);
	CU_ASSERT_EQUAL(xfer(vc, "0047009A0BAC09800111AA0102AB0103", &out, &n), 0x9000);
	free(out);
	CU_ASSERT_FATAL(EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1);
	CU_ASSERT_FATAL(BN_bn2binpad(d, scalar, 32) == 32);
	BN_clear_free(d);
	buf_init(&b);
	buf_put_tlv(&b, 0x06, scalar, 32);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xFE, 0x11, 0x9D, b.data, b.len, &out, &n), 0x9000);
	buf_free(&b);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF095C035FFF1053020102", &r), 0x9000);
	CU_ASSERT_EQUAL(verify(vc, "00000000"), 0x63C4);
	p9e = slot_public(vc, 0x9E);
	p9a = slot_public(vc, 0x9A);
	CU_ASSERT_FATAL(p9e && p9a);
	vcard_free(vc);

	/* the file holds no secret: PIN, PUK, management key, the imported scalar */
	CU_ASSERT(!test_file_has(path, (const uint8_t *)"24681357", 8));
	CU_ASSERT(!test_file_has(path, (const uint8_t *)"11223344", 8));
	CU_ASSERT(!test_file_has(path, aes128, sizeof(aes128)));
	CU_ASSERT(!test_file_has(path, scalar, sizeof(scalar)));

	/* everything is back after a reopen: counters, objects, keys and their policies */
	vc = open_file(path);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.pin_tries_left, 4);
	CU_ASSERT(info.n_slots == 3 && info.slots[0] == 0x9A && info.slots[2] == 0x9E);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FFF10", &r), 0x9000);
	CU_ASSERT_HEX(r, "53020102");
	CU_ASSERT_EQUAL(tx(vc, "00F7009A00", &r), 0x9000);
	CU_ASSERT(r.len > 10 && r.data[2] == 0x11 && r.data[5] == 0x02 && r.data[6] == 0x03 &&
		  r.data[9] == 0x01);
	CU_ASSERT(ec_signs(vc, 0x9E, p9e)); /* no PIN: the device key from the seal */
	CU_ASSERT(!ec_signs(vc, 0x9A, p9a));
	CU_ASSERT_EQUAL(verify(vc, "24681357"), 0x9000);
	CU_ASSERT(ec_signs(vc, 0x9A, p9a));
	CU_ASSERT(ec_signs(vc, 0x9D, ec));

	/* a second handle on the file sees the first's changes */
	CU_ASSERT_EQUAL(vcard_open(path, NULL, &vc2), MDP_OK);
	CU_ASSERT_EQUAL(mgm_auth(vc), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF095C035FFF1153020304", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc2, "00CB3FFF055C035FFF11", &r), 0x9000);
	CU_ASSERT_HEX(r, "53020304");
	vcard_free(vc2);

	/* PUK and RESET survive a reopen too */
	CU_ASSERT_EQUAL(tx(vc, "002C0080103131323233333434 3133353739313133", &r), 0x9000);
	vcard_free(vc);
	vc = open_file(path);
	CU_ASSERT_EQUAL(verify(vc, "13579113"), 0x9000);
	vcard_free(vc);

	/* a copy of the file is the same card (same seal) */
	other = path_of("rt-copy.card");
	{
		size_t len = 0;
		uint8_t *data = test_read_file(path, &len);
		FILE *f = fopen(other, "wb");

		CU_ASSERT_FATAL(data && f);
		CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
		fclose(f);
		free(data);
	}
	vc = open_file(other);
	CU_ASSERT(ec_signs(vc, 0x9E, p9e));
	vcard_free(vc);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(p9e);
	EVP_PKEY_free(p9a);
	free(other);
	free(path);
}

static void
test_without_seal(void)
{
	char *path = new_piv_file("ns.card"), key[600], moved[610];
	struct vcard *vc = open_file(path);
	struct vcard_info info;
	struct rapdu r;
	uint8_t *out = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL(mgm_auth(vc), 0x9000);
	CU_ASSERT_EQUAL(xfer(vc, "0047009E05AC03800111", &out, &n), 0x9000);
	free(out);
	vcard_free(vc);
	snprintf(key, sizeof(key), "%s.key", path);
	snprintf(moved, sizeof(moved), "%s.away", key);
	CU_ASSERT_FATAL(rename(key, moved) == 0);

	/* public data only: what a chip shows without its PIN */
	vc = open_file(path);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.pin_tries_left, 5);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FC102", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00F7009E00", &r), 0x9000);
	/* the secrets' commands fail naming the seal: vcard_transmit says MDP_ERR_SEAL, 6985 */
	CU_ASSERT_EQUAL(sealed_sw(vc, "0020008008323436383133353737"), 0x6985);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x63C5); /* no try spent */
	CU_ASSERT_EQUAL(
		sealed_sw(vc, "0087119E267C2482008120"
			      "0000000000000000000000000000000000000000000000000000000000000000"),
		0x6985);
	CU_ASSERT_EQUAL(sealed_sw(vc, "0087089B047C028100"), 0x6985);
	CU_ASSERT(strstr(mdp_err_last(), "key file") != NULL);
	vcard_free(vc);
	CU_ASSERT_FATAL(rename(moved, key) == 0);
	vc = open_file(path);
	CU_ASSERT_EQUAL(verify(vc, "24681357"), 0x9000);

	/* resealed by another key file: PIN, PUK, management key and the PIN-never key go along */
	{
		char seal[620];
		EVP_PKEY *pub = slot_public(vc, 0x9E);
		struct rapdu rr;

		snprintf(seal, sizeof(seal), "keyfile:%s.other", key);
		CU_ASSERT_EQUAL(vcard_reseal(vc, seal), MDP_OK);
		vcard_free(vc);
		CU_ASSERT_FATAL(unlink(key) == 0); /* the old key file is of no use any more */
		vc = open_file(path);
		CU_ASSERT(pub && ec_signs(vc, 0x9E, pub));
		CU_ASSERT_EQUAL(verify(vc, "24681357"), 0x9000);
		CU_ASSERT_EQUAL(mgm_auth(vc), 0x9000);
		CU_ASSERT_EQUAL(tx(vc, "002C0080103131323233333434 3133353739313133", &rr), 0x9000);
		EVP_PKEY_free(pub);
	}
	vcard_free(vc);
	free(path);
}

/* A file whose PIV section was changed by hand (checksum made right) is refused whole. */
static void
mutate_and_check(const char *path, int what)
{
	char *bad = path_of("bad.card");
	struct vc_state st;
	struct mdp_buf b;
	struct vcard *vc = NULL;
	uint8_t *data;
	size_t len = 0;
	FILE *f;

	data = test_read_file(path, &len);
	CU_ASSERT_FATAL(data != NULL);
	memset(&st, 0, sizeof(st));
	CU_ASSERT_EQUAL_FATAL(vc_state_decode(data, len, &st), MDP_OK);
	free(data);
	switch (what) {
	case 0: /* an extra file */
		CU_ASSERT_EQUAL(
			vc_add_file(&st, 0xA000, VC_DESC_EF, NULL, 0, &(struct vc_file *){0}),
			MDP_OK);
		break;
	case 1: /* a slot with a PIN policy out of range */
		vc_find_file(&st, 0xB09E)->crt[VC_PIV_ATTR_PIN] = 0x07;
		break;
	case 2: /* the PUK's sealed wrap gone */
		vc_item_del(&st, VC_ITEM_PUK);
		break;
	case 3: /* more tries left than allowed */
		st.piv.puk_left = (uint8_t)(st.piv.puk_max + 1);
		break;
	case 4: /* the discovery object stored */
		CU_ASSERT_EQUAL(vc_store_do(vc_find_file(&st, VC_PIV_OBJ_FID), 0x7E,
					    (const uint8_t *)"\x01", 1),
				SW_OK);
		break;
	case 5: /* a version without PIV on a YubiKey */
		st.piv.version[0] = 3;
		break;
	case 6: /* the management key is not a symmetric key */
		vc_find_file(&st, 0xB09B)->key_type = VC_KEY_NONE;
		break;
	case 7: /* RSA 3072 on a 5.4 card */
		vc_find_file(&st, 0xB09E)->alg = 0x05;
		break;
	default:
		break;
	}
	CU_ASSERT_EQUAL_FATAL(vc_state_encode(&st, &b), MDP_OK);
	vc_state_free(&st);
	unlink(bad);
	f = fopen(bad, "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	buf_free(&b);
	CU_ASSERT_EQUAL(vcard_open(bad, NULL, &vc), what < 0 ? MDP_OK : MDP_ERR_STATE);
	if (what >= 0)
		CU_ASSERT(strncmp(mdp_err_last(), "state file:", 11) == 0);
	vcard_free(vc);
	free(bad);
}

static void
test_hostile_files(void)
{
	char *path = new_piv_file("hostile.card");
	struct vcard *vc = open_file(path);
	uint8_t *out = NULL;
	size_t n = 0;
	int i;

	CU_ASSERT_EQUAL(mgm_auth(vc), 0x9000);
	CU_ASSERT_EQUAL(xfer(vc, "0047009E05AC03800111", &out, &n), 0x9000);
	free(out);
	vcard_free(vc);
	mutate_and_check(path, -1); /* unchanged: the re-encoded file loads */
	for (i = 0; i <= 7; i++)
		mutate_and_check(path, i);
	free(path);
}

static int
setup(void)
{
	vcard_set_notices(false); /* the missing seal is what one test is about */
	dir = test_tmpdir();
	return dir ? 0 : 1;
}

static int
teardown(void)
{
	test_rmtree(dir);
	free(dir);
	return 0;
}

static CU_TestInfo state_tests[] = {
	{"round trip: counters, objects, keys, policies, two handles", test_round_trip},
	{"without its seal: public data only; resealed", test_without_seal},
	{"hand-made PIV sections refused", test_hostile_files},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"piv state file", setup, teardown, NULL, NULL, state_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-vcard-piv-state", suites);
}
