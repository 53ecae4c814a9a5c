/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* APDU-level tests of the virtual GIDS card (spec/gids.md §13). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/bytes.h"
#include "common/log.h"
#include "tests/unit/testutil.h"
#include "tests/unit/vcard-testlib.h"
#include "vcard/vcard.h"

static const uint8_t admin_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
				      5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t serial[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
				   0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

static struct vcard *
new_card(void)
{
	struct vcard_init_params p = {.pin = "123456",
				      .admin_key = admin_key,
				      .serial = serial,
				      .serial_len = sizeof(serial)};
	struct vcard *vc = NULL;

	CU_ASSERT_EQUAL_FATAL(vcard_open(NULL, &p, &vc), MDP_OK);
	return vc;
}

/* ---- transport, detection, probes ---- */

static void
test_select_and_probes(void)
{
	struct vcard *vc = new_card();
	struct rapdu r;
	static const uint8_t fci[] = {0x61, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x97, 0x42,
				      0x54, 0x46, 0x59, 0x02, 0x01, 0x73, 0x03, 0x40, 0x01, 0xC0};

	/* §4.2: the OpenSC match, truncated AID, P2=00 → FCI */
	CU_ASSERT_EQUAL(tx(vc, "00A4040009A0000003974254465900", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, sizeof(fci));
	CU_ASSERT_MEM_EQUAL(r.data, fci, sizeof(fci));
	/* gids-tool's no-response form */
	CU_ASSERT_EQUAL(tx(vc, "00A4040C09A00000039742544659", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 0);
	/* full AID */
	CU_ASSERT_EQUAL(tx(vc, "00A404000BA00000039742544659020100", &r), 0x9000);
	/* FCP and FMD forms */
	CU_ASSERT_EQUAL(tx(vc, "00A4040409A0000003974254465900", &r), 0x9000);
	CU_ASSERT_EQUAL(r.data[0], 0x62);
	CU_ASSERT_EQUAL(tx(vc, "00A4040809A0000003974254465900", &r), 0x9000);
	CU_ASSERT_EQUAL(r.data[0], 0x64);
	/* Windows: SELECT 3FFF */
	CU_ASSERT_EQUAL(tx(vc, "00A4000C023FFF", &r), 0x9000);
	CU_ASSERT_EQUAL(r.len, 0);
	CU_ASSERT_EQUAL(tx(vc, "00A4000C02A012", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4000C02A0FF", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00A40000023F0000", &r), 0x6A82);

	/* §4.1 probes of other drivers */
	CU_ASSERT_EQUAL(tx(vc, "00A4040006A0000000010100", &r), 0x6A82); /* muscle */
	CU_ASSERT_EQUAL(tx(vc, "00A404000BE82B0601040181C31F020100", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00A4040009A0000003080000100000", &r), 0x6A82); /* PIV */
	CU_ASSERT_EQUAL(tx(vc, "00A4040007A000000079010000", &r), 0x6A82);     /* CAC */
	CU_ASSERT_EQUAL(tx(vc, "00A4040005A00000039700", &r), 0x6A82);	       /* too short */
	CU_ASSERT_EQUAL(tx(vc, "00CADF3005", &r), 0x6D00);		       /* setcos */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF035C017E00", &r), 0x6A88);	       /* PIV */
	CU_ASSERT_EQUAL(tx(vc, "80CA9F7F00", &r), 0x6E00);
	CU_ASSERT_EQUAL(tx(vc, "B0A4000C023FFF", &r), 0x6E00);
	CU_ASSERT_EQUAL(tx(vc, "0CCB3FFF045C027F7100", &r), 0x6882);
	CU_ASSERT_EQUAL(tx(vc, "0084000008", &r), 0x6D00);
	/* §4.3 PKCS#15 probes */
	CU_ASSERT_EQUAL(tx(vc, "00A40800022F0000", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00A4080C025015", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00A4080002503100", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00A40800045015494600", &r), 0x6A82);
	/* bad P1/P2, bad lengths */
	CU_ASSERT_EQUAL(tx(vc, "00A4041009A00000039742544659", &r), 0x6A86);
	CU_ASSERT_EQUAL(tx(vc, "00A4", &r), 0x6700);
	CU_ASSERT_EQUAL(tx(vc, "00A4040C05A0000003", &r), 0x6700);
	CU_ASSERT_EQUAL(tx(vc, "00A4040C0000", &r), 0x6700);
	/* still GIDS after all the probes */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	vcard_free(vc);
}

static void
test_atr_and_reset(void)
{
	struct vcard *vc = new_card();
	uint8_t atr[33];
	static const uint8_t def[5] = {0x3B, 0x80, 0x80, 0x01, 0x01};
	static const uint8_t other[4] = {0x3B, 0x00, 0x11, 0x22};
	struct rapdu r;

	CU_ASSERT_EQUAL(vcard_atr(vc, atr, sizeof(atr)), 5);
	CU_ASSERT_MEM_EQUAL(atr, def, 5);
	CU_ASSERT_EQUAL(vcard_atr(vc, atr, 3), 0);
	CU_ASSERT_EQUAL(vcard_set_atr(vc, other, sizeof(other)), MDP_OK);
	CU_ASSERT_EQUAL(vcard_set_atr(vc, other, 1), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL(vcard_atr(vc, atr, sizeof(atr)), 4);
	CU_ASSERT_MEM_EQUAL(atr, other, 4);
	/* reset: PIN state gone, application still selected */
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00200080", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00A4000C02A010", &r), 0x9000);
	vcard_reset(vc);
	CU_ASSERT_EQUAL(tx(vc, "00200080", &r), 0x63C3);
	CU_ASSERT_EQUAL(tx(vc, "00CB000000", &r), 0x6A80);
	CU_ASSERT_EQUAL(tx(vc, "00CB0000045C027F7100", &r), 0x9000);
	CU_ASSERT_EQUAL(vcard_transmit(NULL, (const uint8_t *)"", 0, r.data, &r.len), MDP_ERR_ARGS);
	vcard_free(vc);
	vcard_free(NULL);
}

/* ---- data objects ---- */

static void
test_initialized_layout(void)
{
	struct vcard *vc = new_card();
	struct rapdu r;
	struct vcard_info info;
	uint8_t *mf = NULL;
	size_t mf_len = 0;
	static const uint8_t rec1[28] = {0,    0,    0,	  0,   0,    0,	   0, 0, 0, 'c',
					 'a',  'r',  'd', 'i', 'd',  0,	   0, 0, 0, 0,
					 0x20, 0xDF, 0,	  0,   0x12, 0xA0, 0, 0};

	/* §4.4: masterfile, cmapfile, cardid, 7F71, 7F73 */
	CU_ASSERT_EQUAL(xfer(vc, "00CBA000045C02DF1F00", &mf, &mf_len), 0x9000);
	CU_ASSERT_EQUAL(mf_len, 4 + 141);
	if (mf_len == 4 + 141) {
		CU_ASSERT_EQUAL(mf[0], 0xDF);
		CU_ASSERT_EQUAL(mf[1], 0x1F);
		CU_ASSERT_EQUAL(mf[2], 0x81);
		CU_ASSERT_EQUAL(mf[3], 141);
		CU_ASSERT_EQUAL(mf[4], 0x01);
		CU_ASSERT_MEM_EQUAL(mf + 4 + 1, "mscp", 5);
		CU_ASSERT_MEM_EQUAL(mf + 4 + 1 + 28, rec1, 28);
	}
	free(mf);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2300", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2300");
	CU_ASSERT_EQUAL(tx(vc, "00CBA012045C02DF2000", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2010101112131415161718191A1B1C1D1E1F");
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2200", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2206000000000000");
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2100", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF21086D73637000000000");
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701039301 03");
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7200", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7300", &r), 0x6A88);
	/* the keymap is absent while the cmapfile is empty (§5.6) */
	CU_ASSERT_EQUAL(tx(vc, "00CBA000045C02DF2000", &r), 0x6A88);
	/* all DOs of an EF (5C 00) */
	CU_ASSERT_EQUAL(tx(vc, "00CBA010025C0000", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF21086D73637000000000DF2206000000000000DF2300");

	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(info.initialized);
	CU_ASSERT_EQUAL(info.cardid_len, 16);
	CU_ASSERT_MEM_EQUAL(info.cardid, serial, 16);
	CU_ASSERT_EQUAL(info.pin_tries_left, 3);
	CU_ASSERT_EQUAL(info.pin_tries_max, 3);
	CU_ASSERT_EQUAL(info.key_files, 0);
	CU_ASSERT_EQUAL(info.data_objects, 5);
	CU_ASSERT_EQUAL(info.format_version, 2);
	CU_ASSERT(info.sealed);
	CU_ASSERT_STRING_EQUAL(info.seal, "memory");
	CU_ASSERT_EQUAL(info.type, VCARD_TYPE_GIDS);
	CU_ASSERT_EQUAL(vcard_get_info(vc, NULL), MDP_ERR_ARGS);
	vcard_free(vc);
}

static void
test_get_data_errors(void)
{
	struct vcard *vc = new_card();
	struct rapdu r;

	CU_ASSERT_EQUAL(tx(vc, "00CBA0FF045C02DF1F00", &r), 0x6A82); /* unknown EF */
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF3000", &r), 0x6A88); /* absent DO */
	CU_ASSERT_EQUAL(tx(vc, "00CBA011045C02DF2000", &r), 0x6982); /* never readable */
	CU_ASSERT_EQUAL(tx(vc, "00CBA013045C02DF2000", &r), 0x6982); /* PIN first */
	CU_ASSERT_EQUAL(tx(vc, "00CBA014045C02DF2000", &r), 0x6982); /* admin only */
	CU_ASSERT_EQUAL(tx(vc, "00CBB080045C02DF2000", &r), 0x6981); /* key file */
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045D02DF2000", &r), 0x6A80); /* not a tag list */
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C03DF20", &r), 0x6A80);   /* truncated TLV */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C02DF2000", &r), 0x6A88);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF025C0000", &r), 0x6A88);
	/* the PIN opens A013 */
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA013045C02DF2000", &r), 0x6A88);
	CU_ASSERT_EQUAL(tx(vc, "00CBA014045C02DF2000", &r), 0x6982);
	CU_ASSERT_EQUAL(tx(vc, "00CBA011045C02DF2000", &r), 0x6982);
	vcard_free(vc);
}

static void
test_put_data(void)
{
	struct vcard *vc = new_card();
	struct rapdu r;
	struct vcard_info info;

	/* PUT needs the PIN once operational (A010: 30) */
	CU_ASSERT_EQUAL(tx(vc, "00DBA01005DF2402AABB", &r), 0x6982);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01005DF2402AABB", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2400", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2402AABB");
	/* replace with a different size */
	CU_ASSERT_EQUAL(tx(vc, "00DBA01006DF2403010203", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2400", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2403010203");
	/* empty write: stays present and empty; a second empty write deletes (§6) */
	CU_ASSERT_EQUAL(tx(vc, "00DBA01003DF2400", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2400", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2400");
	CU_ASSERT_EQUAL(tx(vc, "00DBA01003DF2400", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2400", &r), 0x6A88);
	/* a new empty DO is present */
	CU_ASSERT_EQUAL(tx(vc, "00DBA01003DF2500", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2500", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2500");
	/* two TLVs in one command */
	CU_ASSERT_EQUAL(tx(vc, "00DBA01008DF2601AADF2701BB", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2700", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2701BB");
	CU_ASSERT_EQUAL(tx(vc, "00DBA01008DF2601AADF2601BB", &r), 0x6A80); /* same tag twice */
	/* errors */
	CU_ASSERT_EQUAL(tx(vc, "00DBA0FF05DF2402AABB", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00DBB08005DF2402AABB", &r), 0x6981);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01005DF2405AABB", &r), 0x6A80); /* ends short */
	CU_ASSERT_EQUAL(tx(vc, "00DBA012050F2402AABB", &r), 0x6982); /* A012: admin only */
	CU_ASSERT_EQUAL(tx(vc, "00DBA010", &r), 0x6700);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01105DF2402AABB", &r), 0x9000); /* A011 write-only */
	CU_ASSERT_EQUAL(tx(vc, "00CBA011045C02DF2400", &r), 0x6982);
	/* a DO larger than 64 KiB is refused with 6A84 */
	{
		size_t n = 70000, i;
		uint8_t *big = calloc(1, n + 8);
		uint16_t sw = 0;

		big[0] = 0xDF;
		big[1] = 0x30;
		big[2] = 0x83;
		big[3] = (uint8_t)(n >> 16);
		big[4] = (uint8_t)(n >> 8);
		big[5] = (uint8_t)n;
		for (i = 0; i < n + 6; i += 255) {
			size_t chunk = n + 6 - i < 255 ? n + 6 - i : 255;

			sw = tx_chunk(vc, i + chunk < n + 6 ? 0x10 : 0x00, 0xDB, 0xA0, 0x10,
				      big + i, chunk, -1, &r);
			if (sw != 0x9000)
				break;
		}
		CU_ASSERT_EQUAL(sw, 0x6A84);
		free(big);
	}
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.data_objects, 5 + 3 + 1);
	/* an EF holds at most 384 KiB: the sixth 64 KiB DO does not fit */
	{
		size_t n = 65535, k;
		uint8_t *big = calloc(1, n + 5), *out = NULL;
		size_t out_len = 0;
		uint16_t sw = 0;

		big[0] = 0xDF;
		big[2] = 0x82;
		big[3] = 0xFF;
		big[4] = 0xFF;
		for (k = 0; k < 8; k++) {
			big[1] = (uint8_t)(0x40 + k);
			sw = xfer_bytes(vc, 0xDB, 0xA0, 0x10, big, n + 5, &out, &out_len);
			free(out);
			if (sw != 0x9000)
				break;
		}
		CU_ASSERT_EQUAL(sw, 0x6A84);
		CU_ASSERT_EQUAL(k, 5);
		CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF4400", &r), 0x6100);
		CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF4500", &r), 0x6A88);
		free(big);
	}
	vcard_free(vc);
}

static void
test_chaining_and_get_response(void)
{
	struct vcard *vc = new_card();
	struct rapdu r;
	uint8_t tlv[1004], *back = NULL;
	size_t i, back_len = 0, got = 0;
	uint16_t sw;

	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x9000);
	tlv[0] = 0xDF;
	tlv[1] = 0x24;
	tlv[2] = 0x82;
	tlv[3] = 0x03;
	tlv[4] = 0xE7;
	for (i = 5; i < sizeof(tlv); i++)
		tlv[i] = (uint8_t)i;
	/* 1004 bytes in 240-byte chunks (Windows) */
	for (i = 0; i < 1005 - 1; i += 240) {
		size_t chunk = 1004 - i < 240 ? 1004 - i : 240;

		sw = tx_chunk(vc, i + chunk < 1004 ? 0x10 : 0x00, 0xDB, 0xA0, 0x10, tlv + i, chunk,
			      -1, &r);
		CU_ASSERT_EQUAL(sw, 0x9000);
		CU_ASSERT_EQUAL(r.len, 0);
	}
	/* read back with Le=00: 256 + 61xx ... */
	CU_ASSERT_EQUAL(xfer(vc, "00CBA010045C02DF2400", &back, &back_len), 0x9000);
	CU_ASSERT_EQUAL(back_len, 1004);
	CU_ASSERT(back_len == 1004 && memcmp(back, tlv, 1004) == 0);
	free(back);
	/* never more than Le: Le=10 then GET RESPONSE with various Le */
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2410", &r), 0x6100);
	CU_ASSERT_EQUAL(r.len, 16);
	CU_ASSERT_MEM_EQUAL(r.data, tlv, 16);
	got = 16;
	CU_ASSERT_EQUAL(tx(vc, "00C0000005", &r), 0x6100);
	CU_ASSERT_EQUAL(r.len, 5);
	CU_ASSERT_MEM_EQUAL(r.data, tlv + got, 5);
	got += 5;
	CU_ASSERT_EQUAL(tx(vc, "00C0000100", &r), 0x6A86);
	for (i = 0; i < 8 && got < 1004; i++) {
		sw = tx(vc, "00C0000000", &r);
		CU_ASSERT(r.len <= 256);
		CU_ASSERT_MEM_EQUAL(r.data, tlv + got, r.len);
		got += r.len;
		if (sw == 0x9000)
			break;
		CU_ASSERT_EQUAL(sw & 0xFF00, 0x6100);
		CU_ASSERT_EQUAL(sw & 0xFF, 1004 - got > 255 ? 0 : 1004 - got);
	}
	CU_ASSERT_EQUAL(got, 1004);
	CU_ASSERT_EQUAL(tx(vc, "00C0000000", &r), 0x6985); /* nothing pending */
	/* a new command discards what was pending */
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2410", &r), 0x6100);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00C0000000", &r), 0x6985);
	/* case 3 GET DATA: data waits for GET RESPONSE */
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F71", &r), 0x6109);
	CU_ASSERT_EQUAL(r.len, 0);
	CU_ASSERT_EQUAL(tx(vc, "00C0000009", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701039301 03");

	/* chaining refused for other INS, broken by a different command */
	CU_ASSERT_EQUAL(tx(vc, "1020008006313233343536", &r), 0x6884);
	CU_ASSERT_EQUAL(tx(vc, "10DBA01003DF2801", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2800", &r), 0x6900);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2800", &r), 0x6A88); /* chain gone */
	CU_ASSERT_EQUAL(tx(vc, "10DBA01003DF2801", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01101AA", &r), 0x6900); /* other P1P2 */
	CU_ASSERT_EQUAL(tx(vc, "10DBA01003DF2801", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00DBA01001AA", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA010045C02DF2800", &r), 0x9000);
	CU_ASSERT_HEX(r, "DF2801AA");
	vcard_free(vc);
}

/* ---- PIN ---- */

static void
test_pin(void)
{
	struct vcard *vc = new_card();
	struct rapdu r;
	struct vcard_info info;

	CU_ASSERT_EQUAL(tx(vc, "00200080", &r), 0x63C3);
	/* impossible lengths: no try spent */
	CU_ASSERT_EQUAL(tx(vc, "0020008003313233", &r), 0x63C3);
	CU_ASSERT_EQUAL(tx(vc, "00200080113132333435363738393031323334353637", &r), 0x63C3);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343537", &r), 0x63C2);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701029301 03");
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701039301 03");
	CU_ASSERT_EQUAL(tx(vc, "00200080", &r), 0x9000);
	/* logout */
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00200080", &r), 0x63C3);
	CU_ASSERT_EQUAL(tx(vc, "0020008106313233343536", &r), 0x6A88);
	CU_ASSERT_EQUAL(tx(vc, "0020018006313233343536", &r), 0x6A86);
	/* change: old || new split by the stored length; stays verified */
	CU_ASSERT_EQUAL(tx(vc, "0024008009313233343536616263", &r), 0x6700);
	CU_ASSERT_EQUAL(tx(vc, "0024008017313233343536616263646566676869707172737475767778", &r),
			0x6700);
	CU_ASSERT_EQUAL(tx(vc, "002400800B3132333435376162636465", &r), 0x63C2);
	CU_ASSERT_EQUAL(tx(vc, "002400800B3132333435366162636465", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00200080", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00200082", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x63C2);
	CU_ASSERT_EQUAL(tx(vc, "00200080056162636465", &r), 0x9000);
	/* set-PIN form is for creation state only */
	CU_ASSERT_EQUAL(tx(vc, "0024018006313233343536", &r), 0x6986);
	CU_ASSERT_EQUAL(tx(vc, "0024008106313233343536", &r), 0x6A88);
	/* lock out */
	CU_ASSERT_EQUAL(tx(vc, "00200080056162636400", &r), 0x63C2);
	CU_ASSERT_EQUAL(tx(vc, "00200080056162636400", &r), 0x63C1);
	CU_ASSERT_EQUAL(tx(vc, "00200080056162636400", &r), 0x63C0);
	CU_ASSERT_EQUAL(tx(vc, "00200080056162636465", &r), 0x6983);
	CU_ASSERT_EQUAL(tx(vc, "00200080", &r), 0x6983);
	CU_ASSERT_EQUAL(tx(vc, "002400800A61626364653132333435", &r), 0x6983);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x9000);
	CU_ASSERT_HEX(r, "7F71069701009301 03");
	vcard_reset(vc);
	CU_ASSERT_EQUAL(tx(vc, "00200080056162636465", &r), 0x6983);
	/* no PUK */
	CU_ASSERT_EQUAL(tx(vc, "002C008006313233343536", &r), 0x6A88);
	/* unblock needs the admin */
	CU_ASSERT_EQUAL(tx(vc, "002C028006313233343536", &r), 0x6982);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.pin_tries_left, 0);
	vcard_free(vc);
}

static void
test_open_params(void)
{
	struct vcard *vc = NULL;
	struct vcard_init_params p = {.pin = "123", .admin_key = admin_key};
	struct vcard_info info;
	struct rapdu r;

	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.pin = "12345678901234567";
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.pin = "1234";
	p.admin_key = NULL;
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.admin_key = admin_key;
	p.pin_tries = 16;
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.pin_tries = 5;
	p.serial = serial;
	p.serial_len = 17;
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, &vc), MDP_ERR_ARGS);
	p.serial = NULL;
	CU_ASSERT_EQUAL(vcard_open(NULL, &p, NULL), MDP_ERR_ARGS);
	CU_ASSERT_EQUAL_FATAL(vcard_open(NULL, &p, &vc), MDP_OK);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT_EQUAL(info.pin_tries_max, 5);
	CU_ASSERT_EQUAL(info.cardid_len, 16); /* random serial */
	CU_ASSERT_EQUAL(tx(vc, "00200080", &r), 0x63C5);
	vcard_free(vc);
	/* a blank card: creation state, no masterfile (gids-tool checks this) */
	CU_ASSERT_EQUAL_FATAL(vcard_open(NULL, NULL, &vc), MDP_OK);
	CU_ASSERT_EQUAL(vcard_get_info(vc, &info), MDP_OK);
	CU_ASSERT(!info.initialized);
	CU_ASSERT_EQUAL(tx(vc, "00A4040009A0000003974254465900", &r), 0x9000);
	CU_ASSERT_EQUAL(tx(vc, "00CBA000045C02DF1F00", &r), 0x6A82);
	CU_ASSERT_EQUAL(tx(vc, "00CB3FFF045C027F7100", &r), 0x6A88);
	CU_ASSERT_EQUAL(tx(vc, "0020008006313233343536", &r), 0x6A88);
	vcard_free(vc);
}

static CU_TestInfo transport_tests[] = {
	{"select and foreign probes", test_select_and_probes},
	{"ATR and reset", test_atr_and_reset},
	{"chaining and GET RESPONSE", test_chaining_and_get_response},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo data_tests[] = {
	{"initialized card layout", test_initialized_layout},
	{"GET DATA errors and ACLs", test_get_data_errors},
	{"PUT DATA semantics", test_put_data},
	{"open parameters, blank card", test_open_params},
	CU_TEST_INFO_NULL,
};

static CU_TestInfo pin_tests[] = {
	{"verify, change, lockout", test_pin},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"transport", NULL, NULL, NULL, NULL, transport_tests},
	{"data objects", NULL, NULL, NULL, NULL, data_tests},
	{"pin", NULL, NULL, NULL, NULL, pin_tests},
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	mdp_log_init_env(); /* MDP11_DEBUG=debug:vcard traces every APDU header and SW */
	return test_run("test-vcard", suites);
}
