/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* APDU-level tests of the virtual PIV card (spec/piv.md §10, docs/vcard-piv.md). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/bytes.h"
#include "common/ossl.h"
#include "tests/unit/testutil.h"
#include "tests/unit/vcard-testlib.h"
#include "vcard/vcard.h"

static const uint8_t mgm3des[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
				    5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

static struct vcard *
piv_card_v(uint8_t major, uint8_t minor)
{
	struct vcard_init_params p;
	struct vcard *vc = NULL;

	memset(&p, 0, sizeof(p));
	p.type = VCARD_TYPE_PIV;
	p.piv_serial = 12345678;
	p.version[0] = major;
	p.version[1] = minor;
	CU_ASSERT_EQUAL_FATAL(vcard_open(NULL, &p, &vc), MDP_OK);
	return vc;
}

static struct vcard *
piv_card(void)
{
	return piv_card_v(0, 0);
}

/* One block of the management key's cipher. */
static void
mgm_ecb(uint8_t alg, const uint8_t *key, bool enc, const uint8_t *in, uint8_t *out)
{
	const EVP_CIPHER *c = alg == 0x03   ? EVP_des_ede3_ecb()
			      : alg == 0x08 ? EVP_aes_128_ecb()
			      : alg == 0x0A ? EVP_aes_192_ecb()
					    : EVP_aes_256_ecb();
	size_t bs = alg == 0x03 ? 8 : 16;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, f = 0;

	CU_ASSERT_FATAL(ctx != NULL);
	CU_ASSERT(EVP_CipherInit_ex2(ctx, c, key, NULL, enc, NULL) == 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	CU_ASSERT(EVP_CipherUpdate(ctx, out, &n, in, (int)bs) == 1);
	CU_ASSERT(EVP_CipherFinal_ex(ctx, out + n, &f) == 1);
	EVP_CIPHER_CTX_free(ctx);
}

/* Mutual authentication with the management key as libykpiv 2.2.0 sends it; returns the SW. */
static uint16_t
mgm_mutual(struct vcard *vc, uint8_t alg, const uint8_t *key)
{
	struct rapdu r;
	uint8_t apdu[64], witness[16], chal[16], want[16];
	size_t bs = alg == 0x03 ? 8 : 16, n = 0;
	uint16_t sw;

	sw = tx_chunk(vc, 0x00, 0x87, alg, 0x9B, (const uint8_t *)"\x7C\x02\x80\x00", 4, -1, &r);
	if (sw != 0x9000)
		return sw;
	CU_ASSERT_EQUAL_FATAL(r.len, 4 + bs);
	CU_ASSERT(r.data[0] == 0x7C && r.data[2] == 0x80 && r.data[3] == bs);
	mgm_ecb(alg, key, false, r.data + 4, witness);
	RAND_bytes(chal, (int)bs);
	apdu[n++] = 0x7C;
	apdu[n++] = (uint8_t)(4 + 2 * bs);
	apdu[n++] = 0x80;
	apdu[n++] = (uint8_t)bs;
	memcpy(apdu + n, witness, bs);
	n += bs;
	apdu[n++] = 0x81;
	apdu[n++] = (uint8_t)bs;
	memcpy(apdu + n, chal, bs);
	n += bs;
	sw = tx_chunk(vc, 0x00, 0x87, alg, 0x9B, apdu, n, -1, &r);
	if (sw != 0x9000)
		return sw;
	mgm_ecb(alg, key, true, chal, want);
	CU_ASSERT_EQUAL(r.len, 4 + bs);
	CU_ASSERT(r.len == 4 + bs && r.data[2] == 0x82 && memcmp(r.data + 4, want, bs) == 0);
	return sw;
}

static uint16_t
verify_pin(struct vcard *vc, const char *pin)
{
	struct rapdu r;
	uint8_t b[8];

	memset(b, 0xFF, sizeof(b));
	memcpy(b, pin, strlen(pin));
	return tx_chunk(vc, 0x00, 0x20, 0x00, 0x80, b, 8, -1, &r);
}

/* ---- selection, probes, framing ---- */

static void
test_select(void)
{
	struct vcard *vc = piv_card();
	struct rapdu r;
	uint8_t atr[40];
	size_t n;

	/* YubiKey 5 ATR by default */
	n = vcard_atr(vc, atr, sizeof(atr));
	CU_ASSERT_EQUAL(n, 23);
	CU_ASSERT(n == 23 && atr[0] == 0x3B && memcmp(atr + 15, "YubiKey", 7) == 0);
	/* PIV selected after reset: OpenSC's first APDU is a GET DATA of the discovery object */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF035C017E00", &r), 0x9000);
	CU_ASSERT_HEX(r, "7E124F0BA0000003080000100001005F2F024000");
	/* libykpiv's 5-byte RID, OpenSC's 9 bytes, the full AID */
	CU_ASSERT_EQUAL(tx(vc, "00A4040005A000000308", &r), 0x9000);
	CU_ASSERT_HEX(r, "6111 4F0600001000010079074F05A000000308");
	CU_ASSERT_EQUAL(tx(vc, "00A4040009A0000003080000100000", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 19);
	CU_ASSERT_EQUAL(tx(vc, "00A404000BA000000308000010000100", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4040C05A000000308", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 0);
	/* other drivers' probes fail */
	CU_ASSERT_EQUAL(tx(vc, "00A4040004A0000003", &r), 0x6A82);		   /* too short */
	CU_ASSERT_EQUAL(tx(vc, "00A404000CA00000030800001000010000", &r), 0x6A82); /* too long */
	CU_ASSERT_EQUAL(tx(vc, "00A4040009A0000003974254465900", &r), 0x6A82);	   /* GIDS */
	CU_ASSERT_EQUAL(tx(vc, "00A4040006A0000000010100", &r), 0x6A82);	   /* muscle */
	CU_ASSERT_EQUAL(tx(vc, "00A4040007A000000079010000", &r), 0x6A82);	   /* CAC */
	CU_ASSERT_EQUAL(tx(vc, "00A40000023F0000", &r), 0x6A82);		   /* MF */
	CU_ASSERT_EQUAL(tx(vc, "00A4080C023F00", &r), 0x6A82);			   /* path */
	CU_ASSERT_EQUAL(tx(vc, "00A4040205A000000308", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "00CADF3005", &r), 0x6D00);
	CU_ASSERT_EQUAL(tx(vc, "80CA9F7F00", &r), 0x6E00);
	CU_ASSERT_EQUAL(tx(vc, "0CCB3FFF035C017E", &r), 0x6882);
	CU_ASSERT_EQUAL(tx(vc, "00F99A0000", &r), 0x6D00); /* ATTEST: no attestation key */
	/* a failed SELECT keeps PIV selected */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF035C017E", &r), 0x9000);
	vcard_free(vc);
}

static void
test_yubikey_applets(void)
{
	struct vcard *vc = piv_card();
	struct rapdu r;

	CU_ASSERT_EQUAL(tx(vc, "00FD000000", &r), 0x9000);
	CU_ASSERT_HEX(r, "050403");
	CU_ASSERT_EQUAL(tx(vc, "00F8000000", &r), 0x9000);
	CU_ASSERT_HEX(r, "00BC614E"); /* 12345678 */
	/* a PIN verified, then the management applet selected: PIV state is gone (§3) */
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4040005A000000308", &r), 0x9000); /* re-select: kept */
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4040008A000000527471117", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF035C017E", &r), 0x6D00); /* not PIV now */
	CU_ASSERT_EQUAL(tx(vc, "00A4040005A000000308", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x63C3);
	/* the OTP applet's serial command (libykpiv below version 5) */
	CU_ASSERT_EQUAL(tx(vc, "00A4040008A0000005272001 01", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0001100000", &r), 0x9000);
	CU_ASSERT_HEX(r, "00BC614E");
	CU_ASSERT_EQUAL(tx(vc, "00FD000000", &r), 0x6D00);
	CU_ASSERT_EQUAL(tx(vc, "00A4040005A000000308", &r), 0x9000);
	/* a reset selects PIV and forgets the PIN */
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	vcard_reset(vc);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x63C3);
	vcard_free(vc);

	/* a 4.3 card has no GET SERIAL and no GET METADATA */
	vc = piv_card_v(4, 3);
	CU_ASSERT_EQUAL(tx(vc, "00FD000000", &r), 0x9000);
	CU_ASSERT_HEX(r, "040300");
	CU_ASSERT_EQUAL(tx(vc, "00F8000000", &r), 0x6D00);
	CU_ASSERT_EQUAL(tx(vc, "00F7008000", &r), 0x6D00);
	vcard_free(vc);
}

/* ---- data objects ---- */

static void
test_objects(void)
{
	struct vcard *vc = piv_card();
	struct rapdu r;
	struct mdp_cursor guid;
	uint8_t *data = NULL, *obj = NULL, cmd[3200];
	size_t len = 0, i;
	static const uint8_t zero[16] = {0};

	/* CHUID with a random non-zero GUID, read with libykpiv's no-Le form */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FC102", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 61);
	CU_ASSERT(r.data[0] == 0x53 && r.data[1] == 0x3B && r.data[2] == 0x30);
	CU_ASSERT_EQUAL_FATAL(tlv_find(r.data + 2, 59, 0x34, &guid), MDP_OK);
	CU_ASSERT(guid.len == 16 && memcmp(guid.p, zero, 16) != 0);
	/* OpenSC: an 8-byte length probe, the rest announced */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FC10208", &r), 0x6135);
	CU_ASSERT_EQUAL(r.len, 8);
	CU_ASSERT_EQUAL(tx(vc, "00C0000035", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 53);
	/* CCC: the 51-byte YubiKey template */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FC107", &r), 0x9000);
	CU_ASSERT(r.len == 53 && r.data[1] == 0x33 && r.data[2] == 0xF0 && r.data[10] == 0x02);
	/* absent objects, bad requests */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FC105", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FFF10", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F61", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFE055C035FC102", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035EC102", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C025FC1", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF065C035FC10200", &r), 0x6A80); /* trailing byte */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF035D017E", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF00", &r), 0x6A80);

	/* PUT DATA needs the management key */
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF095C035FFF1053020102", &r), 0x6982);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF095C035FFF1053020102", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FFF10", &r), 0x9000);
	CU_ASSERT_HEX(r, "53020102");
	/* a 3000-byte certificate object, chained in, read back through GET RESPONSE */
	len = 0;
	memcpy(cmd, "\x5C\x03\x5F\xC1\x05\x53\x82\x0B\xB8", 9);
	for (i = 0; i < 3000; i++)
		cmd[9 + i] = (uint8_t)i;
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xDB, 0x3F, 0xFF, cmd, 3009, &data, &len), 0x9000);
	free(data);
	CU_ASSERT_EQUAL(xfer(vc, "00CB3FFF055C035FC105", &obj, &len), 0x9000);
	CU_ASSERT(len == 3004 && obj && memcmp(obj, cmd + 5, 3004) == 0);
	free(obj);
	obj = NULL;
	/* too large for one object: 3064 bytes of value */
	memcpy(cmd, "\x5C\x03\x5F\xC1\x0A\x53\x82\x0B\xF8", 9);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xDB, 0x3F, 0xFF, cmd, 9 + 3064, &data, &len), 0x6A84);
	free(data);
	/* fixed and unsupported objects; malformed writes */
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF075C017E53020102", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF085C027F6153020102", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF095C035FFF1054020102", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF0A5C035FFF105302010200", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF095C035FFF1053030102", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FFF10", &r), 0x9000); /* unchanged */
	CU_ASSERT_HEX(r, "53020102");
	/* 53 00 deletes */
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF075C035FFF105300", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FFF10", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF075C035FFF105300", &r), 0x9000);
	/* Printed is readable after VERIFY only; an absent one is "not found" either way */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FC109", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF0A5C035FC10953038801AA", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FC109", &r), 0x6982);
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF055C035FC109", &r), 0x9000);
	CU_ASSERT_HEX(r, "53038801AA");
	vcard_free(vc);
}

static void
test_object_store_limit(void)
{
	struct vcard *vc = piv_card();
	uint8_t cmd[3100], *out = NULL;
	size_t len = 0, n = 0;
	uint16_t sw = 0x9000;

	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x9000);
	memset(cmd, 0x42, sizeof(cmd));
	memcpy(cmd, "\x5C\x03\x5F\xFF\x20\x53\x82\x0B\xF7", 9);
	/* 3063-byte objects until the 51200-byte store is full */
	while (n < 40 && sw == 0x9000) {
		cmd[4] = (uint8_t)(0x20 + n++);
		sw = xfer_bytes(vc, 0xDB, 0x3F, 0xFF, cmd, 9 + 3063, &out, &len);
		free(out);
		out = NULL;
	}
	CU_ASSERT_EQUAL(sw, 0x6A84);
	CU_ASSERT_EQUAL(n, 17); /* CHUID + CCC + 16 x 3063 < 51200 < + 17 x 3063 */
	vcard_free(vc);
}

/* ---- PIN and PUK ---- */

static uint16_t
change(struct vcard *vc, uint8_t ins, uint8_t p2, const char *a, const char *b)
{
	struct rapdu r;
	uint8_t d[16];

	memset(d, 0xFF, sizeof(d));
	memcpy(d, a, strlen(a));
	memcpy(d + 8, b, strlen(b));
	return tx_chunk(vc, 0x00, ins, 0x00, p2, d, 16, -1, &r);
}

static void
test_pin_puk(void)
{
	struct vcard *vc = piv_card();
	struct vcard_info info;
	struct rapdu r;

	/* status: OpenSC's case 1 and libykpiv's P3=00 */
	CU_ASSERT_EQUAL(tx(vc, "00200080", &r), 0x63C3);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x63C3);
	CU_ASSERT_EQUAL(verify_pin(vc, "654321"), 0x63C2);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x6A80); /* unpadded: no try */
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x63C2);
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00200080", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x9000);
	/* P1 FF: reset the PIN status (SP 800-73-4) */
	CU_ASSERT_EQUAL(tx(vc, "0020FF80", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x63C3);
	CU_ASSERT_EQUAL(tx(vc, "00200081", &r), 0x6A88);
	CU_ASSERT_EQUAL(tx(vc, "00200180", &r), 0x6A86);
	/* ykcs11 blocks the PIN with 8 x FF: a wrong PIN like any other */
	CU_ASSERT_EQUAL(tx(vc, "0020008008FFFFFFFFFFFFFFFF", &r), 0x63C2);

	/* CHANGE REFERENCE DATA: PIN and PUK; the old value is compared first */
	CU_ASSERT_EQUAL(change(vc, 0x24, 0x80, "000000", "12"), 0x63C1);
	CU_ASSERT_EQUAL(change(vc, 0x24, 0x80, "123456", "12"), 0x6985); /* new one too short */
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x9000);		 /* but the PIN was right */
	CU_ASSERT_EQUAL(change(vc, 0x24, 0x80, "000000", "87654321"), 0x63C2);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x63C2);
	CU_ASSERT_EQUAL(change(vc, 0x24, 0x80, "123456", "87654321"), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x9000); /* proven by the change */
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x63C2);
	CU_ASSERT_EQUAL(verify_pin(vc, "87654321"), 0x9000);
	CU_ASSERT_EQUAL(change(vc, 0x24, 0x81, "12345678", "11223344"), 0x9000);
	CU_ASSERT_EQUAL(change(vc, 0x24, 0x82, "12345678", "11223344"), 0x6A88);
	CU_ASSERT_EQUAL(tx(vc, "002400800812345678FFFFFFFF", &r), 0x6A80);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(!info.pin_default && !info.puk_default && info.mgm_default);

	/* block the PIN, unblock with the PUK */
	vcard_reset(vc);
	CU_ASSERT_EQUAL(verify_pin(vc, "000000"), 0x63C2);
	CU_ASSERT_EQUAL(verify_pin(vc, "000000"), 0x63C1);
	CU_ASSERT_EQUAL(verify_pin(vc, "000000"), 0x63C0);
	CU_ASSERT_EQUAL(verify_pin(vc, "87654321"), 0x6983);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x6983);
	CU_ASSERT_EQUAL(change(vc, 0x2C, 0x80, "12345678", "999999"), 0x63C2); /* old PUK */
	CU_ASSERT_EQUAL(change(vc, 0x2C, 0x80, "00000000", "9"), 0x63C1);
	CU_ASSERT_EQUAL(change(vc, 0x2C, 0x81, "11223344", "999999"), 0x6A88);
	CU_ASSERT_EQUAL(change(vc, 0x2C, 0x80, "11223344", "999999"), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x63C3); /* unblocked, not verified */
	CU_ASSERT_EQUAL(verify_pin(vc, "999999"), 0x9000);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.puk_tries_left, 3);

	/* block the PUK too (ykcs11's 16 x FF), then RESET */
	CU_ASSERT_EQUAL(tx(vc, "00FB0000", &r), 0x6985);
	CU_ASSERT_EQUAL(tx(vc, "002C008010FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", &r), 0x63C2);
	CU_ASSERT_EQUAL(tx(vc, "002C008010FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", &r), 0x63C1);
	CU_ASSERT_EQUAL(tx(vc, "002C008010FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", &r), 0x63C0);
	CU_ASSERT_EQUAL(change(vc, 0x2C, 0x80, "11223344", "123456"), 0x6983);
	CU_ASSERT_EQUAL(tx(vc, "00FB0000", &r), 0x6985); /* the PIN is not blocked */
	CU_ASSERT_EQUAL(verify_pin(vc, "000000"), 0x63C2);
	CU_ASSERT_EQUAL(verify_pin(vc, "000000"), 0x63C1);
	CU_ASSERT_EQUAL(verify_pin(vc, "000000"), 0x63C0);
	CU_ASSERT_EQUAL(tx(vc, "00FB0000", &r), 0x9000);
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x9000);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(info.pin_default && info.puk_default && info.mgm_default);
	CU_ASSERT_EQUAL(info.piv_serial, 12345678);

	/* SET PIN RETRIES: management key and PIN; PIN and PUK back to the defaults */
	CU_ASSERT_EQUAL(change(vc, 0x24, 0x80, "123456", "13572468"), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00FA0000", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "00FA0506", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00F7008000", &r), 0x9000);
	CU_ASSERT_HEX(r, "0101FF 050101 06020505");
	CU_ASSERT_EQUAL(tx(vc, "00F7008100", &r), 0x9000);
	CU_ASSERT_HEX(r, "0101FF 050101 06020606");
	vcard_reset(vc);
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00FA0506", &r), 0x6982); /* no management key */
	vcard_free(vc);
}

/* ---- the management key ---- */

static void
test_mgm(void)
{
	struct vcard *vc = piv_card();
	struct rapdu r;
	uint8_t enc[16], apdu[40], aes[32];
	size_t i;

	/* external (single) authentication */
	CU_ASSERT_EQUAL(tx(vc, "008703 9B047C028100", &r), 0x9000);
	CU_ASSERT_EQUAL_FATAL(r.len, 12);
	CU_ASSERT(r.data[0] == 0x7C && r.data[1] == 0x0A && r.data[2] == 0x81);
	mgm_ecb(0x03, mgm3des, true, r.data + 4, enc);
	memcpy(apdu, "\x7C\x0A\x82\x08", 4);
	memcpy(apdu + 4, enc, 8);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0x87, 0x03, 0x9B, apdu, 12, -1, &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 0);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF095C035FFF1053020102", &r), 0x9000);
	/* the same response again: no challenge pending */
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0x87, 0x03, 0x9B, apdu, 12, -1, &r), 0x6A80);
	/* a wrong response ends the management state */
	vcard_reset(vc);
	CU_ASSERT_EQUAL(tx(vc, "0087039B047C028100", &r), 0x9000);
	memset(apdu + 4, 0, 8);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0x87, 0x03, 0x9B, apdu, 12, -1, &r), 0x6982);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF095C035FFF1053020102", &r), 0x6982);
	/* mutual with a wrong witness */
	CU_ASSERT_EQUAL(tx(vc, "0087039B047C028000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0087039B167C1480080000000000000000810811223344556677 88", &r),
			0x6982);
	/* the yesdk form with 82 00, and OpenSC's random numbers with P1 00 */
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0087009B047C02810000", &r), 0x9000);
	CU_ASSERT(r.len == 12 && r.data[2] == 0x81);
	CU_ASSERT_EQUAL(tx(vc, "0087089B047C028100", &r), 0x6A80); /* not the key's algorithm */
	CU_ASSERT_EQUAL(tx(vc, "0087039B047D028100", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "0087039B067C04810082 00", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "0087039B00", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00F7009B00", &r), 0x9000);
	CU_ASSERT_HEX(r, "010103 02020001 050101");

	/* SET MANAGEMENT KEY to AES-256 (touch always), then back to 3DES */
	for (i = 0; i < sizeof(aes); i++)
		aes[i] = (uint8_t)(0xA0 + i);
	memcpy(apdu, "\x0C\x9B\x20", 3);
	memcpy(apdu + 3, aes, 32);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0xFF, 0xFF, 0xFE, apdu, 35, -1, &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00F7009B00", &r), 0x9000);
	CU_ASSERT_HEX(r, "01010C 02020002 050100");
	vcard_reset(vc);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x6A80);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x0C, aes), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DB3FFF095C035FFF1053020102", &r), 0x9000);
	/* bad forms */
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0xFF, 0xFE, 0xFF, apdu, 35, -1, &r), 0x6A86);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0xFF, 0xFF, 0xFF, apdu, 34, -1, &r), 0x6A80);
	memcpy(apdu, "\x03\x9B\x18", 3);
	memcpy(apdu + 3, mgm3des, 24);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0xFF, 0xFF, 0xFF, apdu, 26, -1, &r), 0x6A80);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0xFF, 0xFF, 0xFF, apdu, 27, -1, &r), 0x9000);
	vcard_reset(vc);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0xFF, 0xFF, 0xFF, apdu, 27, -1, &r), 0x6982);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x9000);
	vcard_free(vc);

	/* AES management keys need 5.4; a 5.7 card starts with AES-192 */
	vc = piv_card_v(5, 2);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x9000);
	memcpy(apdu, "\x08\x9B\x10", 3);
	memcpy(apdu + 3, aes, 16);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0xFF, 0xFF, 0xFF, apdu, 19, -1, &r), 0x6A80);
	vcard_free(vc);
	vc = piv_card_v(5, 7);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x0A, mgm3des), 0x9000);
	memcpy(apdu, "\x08\x9B\x10", 3);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0, 0xFF, 0xFF, 0xFF, apdu, 19, -1, &r), 0x9000);
	vcard_reset(vc);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x08, aes), 0x9000);
	/* P1 00 with an AES key (OpenSC's random numbers): a 16-byte challenge (UNSURE point 6) */
	CU_ASSERT_EQUAL(tx(vc, "0087009B047C02810000", &r), 0x9000);
	CU_ASSERT(r.len == 20 && r.data[2] == 0x81 && r.data[3] == 16);
	vcard_free(vc);
}

/* ---- keys ---- */

static EVP_PKEY *
pub_from_7f49(const uint8_t *p, size_t len, const char *curve)
{
	struct mdp_cursor cur, tpl, a, b;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint32_t tag;

	cur_init(&cur, p, len);
	if (!bld || tlv_read(&cur, &tag, &tpl) != MDP_OK || tag != 0x7F49 || cur_left(&cur))
		goto out;
	if (curve) {
		if (tlv_find(tpl.p, tpl.len, 0x86, &a) != MDP_OK ||
		    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, a.p, a.len))
			goto out;
	} else {
		if (tlv_find(tpl.p, tpl.len, 0x81, &a) != MDP_OK ||
		    tlv_find(tpl.p, tpl.len, 0x82, &b) != MDP_OK)
			goto out;
		n = BN_bin2bn(a.p, (int)a.len, NULL);
		e = BN_bin2bn(b.p, (int)b.len, NULL);
		if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = mdp_pkey_ctx_new(curve ? EVP_PKEY_EC : EVP_PKEY_RSA);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* GENERAL AUTHENTICATE 7C{82 00, tag L in}; the 82 value in *out. */
static uint16_t
ga(struct vcard *vc, uint8_t alg, uint8_t slot, uint8_t tag, const uint8_t *in, size_t len,
   uint8_t **out, size_t *out_len)
{
	struct mdp_buf b;
	struct mdp_cursor cur, tpl, v;
	uint8_t *resp = NULL;
	size_t rl = 0, m;
	uint32_t t;
	uint16_t sw;

	buf_init(&b);
	m = buf_tlv_open(&b, 0x7C);
	buf_put_tlv(&b, 0x82, NULL, 0);
	buf_put_tlv(&b, tag, in, len);
	buf_tlv_close(&b, m);
	sw = xfer_bytes(vc, 0x87, alg, slot, b.data, b.len, &resp, &rl);
	buf_free(&b);
	*out = NULL;
	*out_len = 0;
	if (sw == 0x9000) {
		cur_init(&cur, resp, rl);
		CU_ASSERT(tlv_read(&cur, &t, &tpl) == MDP_OK && t == 0x7C && !cur_left(&cur));
		CU_ASSERT_FATAL(tlv_find(tpl.p, tpl.len, 0x82, &v) == MDP_OK);
		*out = malloc(v.len ? v.len : 1);
		memcpy(*out, v.p, v.len);
		*out_len = v.len;
	}
	free(resp);
	return sw;
}

/* PKCS#1 v1.5 type 1 block of a SHA-256 DigestInfo, built by the host as libykpiv does. */
static void
pkcs1_block(const uint8_t *msg, size_t mlen, uint8_t *blk, size_t k)
{
	static const uint8_t di[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
				       0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
	unsigned int hl = 0;

	blk[0] = 0x00;
	blk[1] = 0x01;
	memset(blk + 2, 0xFF, k - 3 - 19 - 32);
	blk[k - 52] = 0x00;
	memcpy(blk + k - 51, di, 19);
	EVP_Digest(msg, mlen, blk + k - 32, &hl, EVP_sha256(), NULL);
}

static int
verify_sig(EVP_PKEY *pub, bool rsa, const uint8_t *msg, size_t mlen, const uint8_t *sig,
	   size_t slen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ok = md && EVP_DigestVerifyInit(md, &pc, EVP_sha256(), NULL, pub) == 1 &&
		 (!rsa || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1) &&
		 EVP_DigestVerify(md, sig, slen, msg, mlen) == 1;

	EVP_MD_CTX_free(md);
	return ok;
}

static EVP_PKEY *
generate(struct vcard *vc, uint8_t slot, uint8_t alg, const char *curve, const char *extra)
{
	char hex[64];
	uint8_t *out = NULL;
	size_t len = 0;
	EVP_PKEY *pub = NULL;
	uint16_t sw;

	snprintf(hex, sizeof(hex), "0047 00%02X %02X AC%02X 8001%02X %s", slot,
		 (unsigned)(5 + strlen(extra) / 2), (unsigned)(3 + strlen(extra) / 2), alg, extra);
	sw = xfer(vc, hex, &out, &len);
	CU_ASSERT_EQUAL(sw, 0x9000);
	if (sw == 0x9000) {
		if (curve) /* one-byte lengths, as libykpiv 2.2.0 parses them (§4.8) */
			CU_ASSERT(out[3] == 0x86 && out[4] == (curve[2] == '2' ? 65 : 97));
		pub = pub_from_7f49(out, len, curve);
		CU_ASSERT(pub != NULL);
	}
	free(out);
	return pub;
}

static void
sign_check(struct vcard *vc, EVP_PKEY *pub, uint8_t alg, uint8_t slot, uint16_t want)
{
	static const uint8_t msg[] = "to be signed";
	uint8_t blk[512], *sig = NULL, h[64];
	unsigned int hl = 0;
	size_t k, slen = 0;
	bool rsa = EVP_PKEY_is_a(pub, "RSA");
	uint16_t sw;

	if (rsa) {
		k = (size_t)EVP_PKEY_get_size(pub);
		pkcs1_block(msg, sizeof(msg), blk, k);
		sw = ga(vc, alg, slot, 0x81, blk, k, &sig, &slen);
	} else {
		EVP_Digest(msg, sizeof(msg), h, &hl, EVP_sha256(), NULL);
		sw = ga(vc, alg, slot, 0x81, h, hl, &sig, &slen);
	}
	CU_ASSERT_EQUAL(sw, want);
	if (sw == 0x9000)
		CU_ASSERT(verify_sig(pub, rsa, msg, sizeof(msg), sig, slen));
	free(sig);
}

static void
test_generate_sign(void)
{
	struct vcard *vc = piv_card();
	struct rapdu r;
	EVP_PKEY *p256, *p384, *rsa, *rsa2;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t ct[256], *dec = NULL, *z = NULL;
	size_t ctl = sizeof(ct), dl = 0, zl = 0;
	static const uint8_t secret[] = "session key";

	/* the management key first */
	CU_ASSERT_EQUAL(tx(vc, "0047009A05AC03800111", &r), 0x6982);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0047009B05AC03800111", &r), 0x6B00); /* not a key slot */
	CU_ASSERT_EQUAL(tx(vc, "004700F905AC03800111", &r), 0x6B00);
	CU_ASSERT_EQUAL(tx(vc, "0047009A05AC03800105", &r), 0x6A80);	    /* RSA 3072 needs 5.7 */
	CU_ASSERT_EQUAL(tx(vc, "0047009A05AC038001E0", &r), 0x6A80);	    /* Ed25519 */
	CU_ASSERT_EQUAL(tx(vc, "0047009A08AC068001 11AA0104", &r), 0x6A80); /* match-once */
	CU_ASSERT_EQUAL(tx(vc, "0047019A05AC03800111", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "0047009A05AD03800111", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "0047009A03AC0180", &r), 0x6A80);

	p256 = generate(vc, 0x9A, 0x11, "P-256", "");
	p384 = generate(vc, 0x9D, 0x14, "P-384", "AB0102");
	rsa = generate(vc, 0x9C, 0x07, NULL, "");
	rsa2 = generate(vc, 0x9E, 0x06, NULL, "");
	CU_ASSERT_FATAL(p256 && p384 && rsa && rsa2);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(rsa), 2048);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(rsa2), 1024);
	CU_ASSERT_EQUAL(tx(vc, "00F7009D00", &r), 0x9000);
	CU_ASSERT_FATAL(r.len > 14);
	CU_ASSERT(r.data[0] == 0x01 && r.data[2] == 0x14 && r.data[3] == 0x02 &&
		  r.data[5] == 0x02 && r.data[6] == 0x02 && r.data[9] == 0x01 &&
		  r.data[10] == 0x04 && r.data[11] == 0x63 && r.data[12] == 0x86);
	CU_ASSERT_EQUAL(tx(vc, "00F7008200", &r), 0x6A88); /* empty slot */
	CU_ASSERT_EQUAL(tx(vc, "00F7000100", &r), 0x6A88);

	/* 9E: PIN never */
	sign_check(vc, rsa2, 0x06, 0x9E, 0x9000);
	/* 9A: PIN once */
	sign_check(vc, p256, 0x11, 0x9A, 0x6982);
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	sign_check(vc, p256, 0x11, 0x9A, 0x9000);
	sign_check(vc, p256, 0x11, 0x9A, 0x9000);
	/* 9C: PIN always, for the very next command only */
	sign_check(vc, rsa, 0x07, 0x9C, 0x6982);
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	sign_check(vc, rsa, 0x07, 0x9C, 0x9000);
	sign_check(vc, rsa, 0x07, 0x9C, 0x6982);
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF035C017E", &r), 0x9000); /* libykpiv's de-authentication */
	sign_check(vc, rsa, 0x07, 0x9C, 0x6982);
	/* the wrong algorithm for the key, empty slots */
	sign_check(vc, p256, 0x14, 0x9A, 0x6A80);
	sign_check(vc, p256, 0x11, 0x82, 0x6A88);
	sign_check(vc, p256, 0x11, 0x9B, 0x6A80);

	/* RSA decryption: the raw block comes back, the host unpads */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, rsa, NULL);
	CU_ASSERT_FATAL(ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
			EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
			EVP_PKEY_encrypt(ctx, ct, &ctl, secret, sizeof(secret)) == 1);
	EVP_PKEY_CTX_free(ctx);
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	CU_ASSERT_EQUAL(ga(vc, 0x07, 0x9C, 0x81, ct, ctl, &dec, &dl), 0x9000);
	CU_ASSERT(dl == 256 && dec[0] == 0 && dec[1] == 2 &&
		  memcmp(dec + 256 - sizeof(secret), secret, sizeof(secret)) == 0);
	free(dec);
	/* a block of the wrong length, a value above the modulus */
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	CU_ASSERT_EQUAL(ga(vc, 0x07, 0x9C, 0x81, ct, 255, &dec, &dl), 0x6A80);
	memset(ct, 0xFF, sizeof(ct));
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	CU_ASSERT_EQUAL(ga(vc, 0x07, 0x9C, 0x81, ct, 256, &dec, &dl), 0x6A80);

	/* ECDH with tag 85: the X coordinate of the shared point */
	{
		EVP_PKEY *eph = mdp_pkey_keygen_ec("P-384");
		uint8_t pt[97], want[48];
		size_t ptl = 0, wl = sizeof(want);

		CU_ASSERT_FATAL(eph != NULL);
		CU_ASSERT(EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, pt,
							  sizeof(pt), &ptl) == 1);
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL);
		CU_ASSERT(ctx && EVP_PKEY_derive_init(ctx) == 1 &&
			  EVP_PKEY_derive_set_peer(ctx, p384) == 1 &&
			  EVP_PKEY_derive(ctx, want, &wl) == 1);
		EVP_PKEY_CTX_free(ctx);
		CU_ASSERT_EQUAL(ga(vc, 0x14, 0x9D, 0x85, pt, ptl, &z, &zl), 0x9000);
		CU_ASSERT(zl == 48 && memcmp(z, want, 48) == 0);
		free(z);
		pt[50] ^= 1; /* off the curve */
		CU_ASSERT_EQUAL(ga(vc, 0x14, 0x9D, 0x85, pt, ptl, &z, &zl), 0x6A80);
		CU_ASSERT_EQUAL(ga(vc, 0x14, 0x9D, 0x85, pt, 65, &z, &zl), 0x6A80);
		CU_ASSERT_EQUAL(ga(vc, 0x07, 0x9C, 0x85, pt, 65, &z, &zl), 0x6A80); /* RSA */
		EVP_PKEY_free(eph);
	}
	/* malformed templates */
	CU_ASSERT_EQUAL(tx(vc, "0087119A067C0481020102", &r), 0x6A80);	       /* no 82 */
	CU_ASSERT_EQUAL(tx(vc, "0087119A087C06820081020102", &r), 0x9000);     /* short hash */
	CU_ASSERT_EQUAL(tx(vc, "0087119A0A7C088200810201028500", &r), 0x6A80); /* 81 and 85 */
	CU_ASSERT_EQUAL(tx(vc, "0087119A047C028200", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "0087119A087C0682018181 0101", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "0087119A097C06820081020102FF", &r), 0x6A80); /* trailing */
	CU_ASSERT_EQUAL(tx(vc, "0087119A087C07820081030102", &r), 0x6A80);   /* truncated */

	/* a hash longer than the field: its leftmost bits are signed (UNSURE point 5) */
	{
		uint8_t h[64], *sig = NULL;
		size_t sl = 0;
		EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new_from_pkey(NULL, p256, NULL);

		RAND_bytes(h, sizeof(h));
		CU_ASSERT_EQUAL(ga(vc, 0x11, 0x9A, 0x81, h, sizeof(h), &sig, &sl), 0x9000);
		CU_ASSERT(vctx && EVP_PKEY_verify_init(vctx) == 1 &&
			  EVP_PKEY_verify(vctx, sig, sl, h, 32) == 1);
		free(sig);
		EVP_PKEY_CTX_free(vctx);
		CU_ASSERT_EQUAL(ga(vc, 0x11, 0x9A, 0x81, h, 0, &sig, &sl), 0x6A80);
		memset(ct, 0, 65);
		CU_ASSERT_EQUAL(ga(vc, 0x11, 0x9A, 0x81, ct, 65, &sig, &sl), 0x6A80);
	}

	/* a new key replaces the old one */
	EVP_PKEY_free(p256);
	p256 = generate(vc, 0x9A, 0x11, "P-256", "AA0101");
	vcard_reset(vc);
	sign_check(vc, p256, 0x11, 0x9A, 0x9000); /* now PIN never */

	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa2);
	vcard_free(vc);
}

static void
test_rsa_57(void)
{
	struct vcard *vc = piv_card_v(5, 7);
	EVP_PKEY *rsa;

	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x0A, mgm3des), 0x9000);
	rsa = generate(vc, 0x82, 0x05, NULL, "AA0101");
	CU_ASSERT_FATAL(rsa != NULL);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(rsa), 3072);
	sign_check(vc, rsa, 0x05, 0x82, 0x9000);
	EVP_PKEY_free(rsa);
	vcard_free(vc);
}

/* Left-padded BIGNUM parameter of a key as an IMPORT element. */
static void
put_elem(struct mdp_buf *b, uint8_t tag, EVP_PKEY *k, const char *name, size_t len)
{
	BIGNUM *bn = NULL;
	uint8_t v[256];

	CU_ASSERT_FATAL(EVP_PKEY_get_bn_param(k, name, &bn) == 1);
	CU_ASSERT_FATAL(BN_bn2binpad(bn, v, (int)len) == (int)len);
	buf_put_tlv(b, tag, v, len);
	BN_clear_free(bn);
}

static uint16_t
import_rsa(struct vcard *vc, uint8_t alg, uint8_t slot, EVP_PKEY *k, int corrupt)
{
	static const char *const names[5] = {
		OSSL_PKEY_PARAM_RSA_FACTOR1,	  OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1,	  OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	size_t half = (size_t)EVP_PKEY_get_size(k) / 2, i, n = 0;
	struct mdp_buf b;
	uint8_t *out = NULL;
	uint16_t sw;

	buf_init(&b);
	for (i = 0; i < 5; i++)
		put_elem(&b, (uint8_t)(i + 1), k, names[i], half);
	if (corrupt == 1)
		b.data[3 + half + 3 + half + 3 + 5] ^= 0x10; /* dP */
	if (corrupt == 2)
		b.len -= 3 + half; /* qInv missing */
	buf_put_bytes(&b, "\xAA\x01\x02", 3);
	sw = xfer_bytes(vc, 0xFE, alg, slot, b.data, b.len, &out, &n);
	free(out);
	buf_free(&b);
	return sw;
}

static void
test_import(void)
{
	struct vcard *vc = piv_card();
	EVP_PKEY *rsa = mdp_pkey_keygen_rsa(2048), *ec = mdp_pkey_keygen_ec("P-256");
	EVP_PKEY *e3 = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	struct mdp_buf b;
	struct rapdu r;
	uint8_t *out = NULL;
	size_t n = 0;
	unsigned int e = 3;
	OSSL_PARAM params[3];

	CU_ASSERT_FATAL(rsa && ec);
	CU_ASSERT_EQUAL(import_rsa(vc, 0x07, 0x9D, rsa, 0), 0x6982);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x9000);
	CU_ASSERT_EQUAL(import_rsa(vc, 0x07, 0x9B, rsa, 0), 0x6B00);
	CU_ASSERT_EQUAL(import_rsa(vc, 0x06, 0x9D, rsa, 0), 0x6A80); /* elements too long */
	CU_ASSERT_EQUAL(import_rsa(vc, 0x07, 0x9D, rsa, 1), 0x6A80);
	CU_ASSERT_EQUAL(import_rsa(vc, 0x07, 0x9D, rsa, 2), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00F7009D00", &r), 0x6A88); /* nothing was installed */
	CU_ASSERT_EQUAL(import_rsa(vc, 0x07, 0x9D, rsa, 0), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00F7009D00", &r), 0x6117); /* 279 bytes */
	CU_ASSERT(r.data[5] == 0x02 && r.data[9] == 0x02); /* PIN once, imported */
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	sign_check(vc, rsa, 0x07, 0x9D, 0x9000);

	/* e = 3: refused (only 65537, docs/vcard-piv.md) */
	ctx = mdp_pkey_ctx_new(EVP_PKEY_RSA);
	params[0] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_E, &e);
	params[1] = OSSL_PARAM_construct_end();
	CU_ASSERT(ctx && EVP_PKEY_keygen_init(ctx) == 1 &&
		  EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 1024) == 1 &&
		  EVP_PKEY_CTX_set_params(ctx, params) == 1 && EVP_PKEY_keygen(ctx, &e3) == 1);
	EVP_PKEY_CTX_free(ctx);
	CU_ASSERT_EQUAL(import_rsa(vc, 0x06, 0x82, e3, 0), 0x6A80);
	EVP_PKEY_free(e3);

	/* EC P-256 into 9E, PIN never by default; a short scalar is left-padded */
	buf_init(&b);
	put_elem(&b, 0x06, ec, OSSL_PKEY_PARAM_PRIV_KEY, 32);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xFE, 0x11, 0x9E, b.data, b.len, &out, &n), 0x9000);
	free(out);
	vcard_reset(vc);
	sign_check(vc, ec, 0x11, 0x9E, 0x9000);
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x9000);
	/* an RSA tag for an EC key, a scalar of 33 bytes, zero, twice */
	CU_ASSERT_EQUAL(tx(vc, "00FE119E030101AA", &r), 0x6A80);
	memset(b.data + 2, 0, 32);
	CU_ASSERT_EQUAL(xfer_bytes(vc, 0xFE, 0x11, 0x9E, b.data, b.len, &out, &n), 0x6A80);
	free(out);
	CU_ASSERT_EQUAL(tx(vc, "00FE119E06060100060101", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00FE119E00", &r), 0x6A80);
	buf_free(&b);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	vcard_free(vc);
}

/* ---- framing: extended APDUs, chaining, Le, channels ---- */

static void
test_framing(void)
{
	struct vcard *vc = piv_card();
	struct rapdu r;
	uint8_t apdu[4000];
	size_t i;

	/* extended case 2 and 4: the answer still comes in ≤ 256-byte pieces */
	CU_ASSERT_EQUAL(tx(vc, "00FD00000000 00", &r), 0x9000);
	CU_ASSERT_HEX(r, "050403");
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF000005 5C035FC102 0000", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 61);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF000005 5C035FC102", &r), 0x9000); /* case 3E */
	CU_ASSERT_EQUAL(r.len, 61);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF000005 5C035FC102 0008", &r), 0x6135);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF000000", &r), 0x6A80); /* case 2E: no tag list */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF0000055C035FC1", &r), 0x6700);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF00", &r), 0x6A80); /* short: Le 256, no data */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF0000", &r), 0x6700);
	/* an extended command above the 3072-byte buffer */
	memset(apdu, 0, sizeof(apdu));
	memcpy(apdu, "\x00\xDB\x3F\xFF\x00\x0C\x01", 7);
	CU_ASSERT_EQUAL(tx_raw(vc, apdu, 7 + 0x0C01, &r), 0x6A84);
	/* chaining: only for PUT DATA, GENERAL AUTHENTICATE and IMPORT */
	CU_ASSERT_EQUAL(tx(vc, "10CB3FFF035C017E", &r), 0x6884);
	CU_ASSERT_EQUAL(tx(vc, "10DB3FFF025C03", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF035C017E", &r), 0x6900); /* broken chain */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF035C017E", &r), 0x9000);
	/* chained data above 3072 bytes */
	for (i = 0; i < 13; i++)
		CU_ASSERT_EQUAL(tx_chunk(vc, 0x10, 0xDB, 0x3F, 0xFF, apdu, 240, -1, &r),
				i < 12 ? 0x9000 : 0x6A84);
	/* GET RESPONSE without anything pending, with wrong P1P2 */
	CU_ASSERT_EQUAL(tx(vc, "00C0000000", &r), 0x6985);
	CU_ASSERT_EQUAL(tx(vc, "00C0010000", &r), 0x6A86);
	/* too short */
	CU_ASSERT_EQUAL(tx(vc, "00CB3F", &r), 0x6700);
	/* a logical channel has PIV selected and shares the PIN status */
	CU_ASSERT_EQUAL(tx(vc, "0070000001", &r), 0x9000);
	CU_ASSERT_HEX(r, "01");
	CU_ASSERT_EQUAL(verify_pin(vc, "123456"), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0120008000", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "01CB3FFF035C017E", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "01A4040008A000000527471117", &r), 0x9000); /* logs out */
	CU_ASSERT_EQUAL(tx(vc, "0020008000", &r), 0x63C3);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF035C017E", &r), 0x9000); /* channel 0 still PIV */
	vcard_free(vc);
}

/*
 * An RSA-2048 signature answer (264 bytes) without Le: 256 bytes, then 61 08 (§4.7); with an
 * extended Le of 00 00, all at once.
 */
static void
test_long_answer(void)
{
	struct vcard *vc = piv_card();
	struct rapdu r;
	uint8_t cmd[300];
	EVP_PKEY *rsa;

	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x03, mgm3des), 0x9000);
	rsa = generate(vc, 0x9E, 0x07, NULL, "");
	CU_ASSERT_FATAL(rsa != NULL);
	memcpy(cmd, "\x7C\x82\x01\x06\x82\x00\x81\x82\x01\x00", 10);
	pkcs1_block((const uint8_t *)"x", 1, cmd + 10, 256);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x10, 0x87, 0x07, 0x9E, cmd, 255, -1, &r), 0x9000);
	CU_ASSERT_EQUAL(tx_chunk(vc, 0x00, 0x87, 0x07, 0x9E, cmd + 255, 11, -1, &r), 0x6108);
	CU_ASSERT_EQUAL(r.len, 256);
	CU_ASSERT(r.data[0] == 0x7C && r.data[1] == 0x82 && r.data[4] == 0x82);
	CU_ASSERT_EQUAL(tx(vc, "00C0000000", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 8);

	/*
	 * The same as one extended APDU (Le 00 00): all 264 bytes at once for a caller with room
	 * for them (vcard_transmit_cap); vcard_transmit still answers 256 and 61 08.
	 */
	{
		uint8_t ext[7 + 266 + 2], *big = malloc(VCARD_MAX_EXT_RESPONSE);
		size_t n = 0;

		CU_ASSERT_FATAL(big != NULL);
		memcpy(ext, "\x00\x87\x07\x9E\x00\x01\x0A", 7);
		memcpy(ext + 7, cmd, 266);
		ext[7 + 266] = ext[7 + 266 + 1] = 0x00;
		CU_ASSERT_EQUAL(
			vcard_transmit_cap(vc, ext, sizeof(ext), big, VCARD_MAX_EXT_RESPONSE, &n),
			MDP_OK);
		CU_ASSERT(n == 264 + 2 && big[264] == 0x90 && big[265] == 0x00);
		CU_ASSERT(big[0] == 0x7C && big[1] == 0x82 && big[4] == 0x82);
		/* Le 01 00: 256 bytes and 61 08, as a short Le of 00 */
		ext[7 + 266] = 0x01;
		CU_ASSERT_EQUAL(
			vcard_transmit_cap(vc, ext, sizeof(ext), big, VCARD_MAX_EXT_RESPONSE, &n),
			MDP_OK);
		CU_ASSERT(n == 256 + 2 && big[256] == 0x61 && big[257] == 0x08);
		ext[7 + 266] = 0x00;
		CU_ASSERT_EQUAL(vcard_transmit(vc, ext, sizeof(ext), big, &n), MDP_OK);
		CU_ASSERT(n == 256 + 2 && big[256] == 0x61 && big[257] == 0x08);
		/* a buffer smaller than a short answer is refused */
		CU_ASSERT_EQUAL(
			vcard_transmit_cap(vc, ext, sizeof(ext), big, VCARD_MAX_RESPONSE - 1, &n),
			MDP_ERR_ARGS);
		free(big);
	}
	EVP_PKEY_free(rsa);
	vcard_free(vc);
}

static void
test_info_params(void)
{
	struct vcard_init_params p;
	struct vcard_info info;
	struct vcard *vc = NULL;
	struct rapdu r;
	static const uint8_t aes[16] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

	memset(&p, 0, sizeof(p));
	p.type = VCARD_TYPE_PIV;
	p.pin = "24681357";
	p.puk = "11111111";
	p.pin_tries = 5;
	p.puk_tries = 200;
	p.admin_key = aes;
	p.admin_key_len = 16;
	p.mgm_alg = 0x08;
	CU_ASSERT_EQUAL_FATAL(vcard_open(NULL, &p, &vc), MDP_OK);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.type, VCARD_TYPE_PIV);
	CU_ASSERT_EQUAL(info.pin_tries_max, 5);
	CU_ASSERT_EQUAL(info.puk_tries_max, 200);
	CU_ASSERT_EQUAL(info.mgm_alg, 0x08);
	CU_ASSERT(!info.pin_default && !info.puk_default && !info.mgm_default);
	CU_ASSERT(info.piv_serial >= 10000000 && info.piv_serial <= 99999999);
	CU_ASSERT_EQUAL(info.cardid_len, 16);
	CU_ASSERT_EQUAL(info.n_slots, 0);
	CU_ASSERT_EQUAL(info.data_objects, 2);
	CU_ASSERT_EQUAL(verify_pin(vc, "24681357"), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00F7008100", &r), 0x9000);
	CU_ASSERT_HEX(r, "0101FF 050100 0602C8C8");
	CU_ASSERT_EQUAL(mgm_mutual(vc, 0x08, aes), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0047009A05AC03800111", &r), 0x9000);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(info.n_slots == 1 && info.slots[0] == 0x9A && info.slot_algs[0] == 0x11);
	vcard_free(vc);

	/* bad parameters */
	p.admin_key_len = 24;
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.admin_key_len = 16;
	p.pin = "12345";
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.pin = "123456789";
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.pin = NULL;
	p.puk_tries = 256;
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.puk_tries = 0;
	p.mgm_alg = 0x04;
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.mgm_alg = 0x08;
	p.version[0] = 5;
	p.version[1] = 2;
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.version[0] = 3;
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.type = (enum vcard_type)7;
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	/* refused before anything is made, a state file too */
	memset(&p, 0, sizeof(p));
	p.type = VCARD_TYPE_PIV;
	p.puk = "12345";
	p.seal = "keyfile:/nonexistent/dir/key";
	CU_ASSERT_EQUAL(vcard_create("/nonexistent/piv.card", &p), MDP_ERR_ARGS);
	CU_ASSERT(strstr(mdp_err_last(), "PUK") != NULL);
}

static CU_TestInfo card_tests[] = {
	{"SELECT, probes, ATR", test_select},
	{"version, serial, YubiKey applets", test_yubikey_applets},
	{"data objects: read, write, delete, protected", test_objects},
	{"data objects: the store's limit", test_object_store_limit},
	{"PIN, PUK, unblock, RESET, SET PIN RETRIES", test_pin_puk},
	{"management key: mutual, external, AES, SET MANAGEMENT KEY", test_mgm},
	{"parameters and vcard_get_info", test_info_params},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo key_tests[] = {
	{"GENERATE, sign, decrypt, ECDH, PIN policies", test_generate_sign},
	{"RSA 3072 on a 5.7 card", test_rsa_57},
	{"IMPORT RSA and EC", test_import},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo framing_tests[] = {
	{"extended APDUs, chaining, GET RESPONSE, channels", test_framing},
	{"answer longer than 256 bytes: without Le, extended Le", test_long_answer},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"card", NULL, NULL, NULL, NULL, card_tests},
	{"keys", NULL, NULL, NULL, NULL, key_tests},
	{"framing", NULL, NULL, NULL, NULL, framing_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	return test_run("test-vcard-piv", suites);
}
