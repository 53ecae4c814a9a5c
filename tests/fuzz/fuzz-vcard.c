/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: a hostile host sends any APDU sequence to an in-memory virtual card. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vcard/vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one flag byte, then APDUs, each as a 2-byte big-endian length and
 * that many bytes (a length beyond the input takes what is left).
 * Flags: bit 0 log the PIN in first, bit 1 start from a blank card (creation
 * state), bit 2 give the card an EC P-256 key in B081 first, bit 3 reset the
 * card after every 8 APDUs, bit 4 a PIV card instead of GIDS (then bit 1
 * means: the management key is authenticated first, and bit 2: P-256 keys in
 * 9A and 9E).
 */
static const uint8_t admin_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
				      5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

static const uint8_t verify_apdu[] = {0x00, 0x20, 0x00, 0x80, 0x04, '1', '2', '3', '4'};
static const uint8_t create_ec[] = {
	0x00, 0xE0, 0x00, 0x00, 0x28, 0x62, 0x26, 0x82, 0x01, 0x18, 0x83, 0x02, 0xB0, 0x81, 0x8C,
	0x05, 0x8F, 0x10, 0x10, 0x10, 0x00, 0xA5, 0x16, 0xB6, 0x09, 0x80, 0x01, 0x1C, 0x83, 0x01,
	0x81, 0x95, 0x01, 0x40, 0xA6, 0x09, 0x80, 0x01, 0x0C, 0x83, 0x01, 0x81, 0x95, 0x01, 0x40};
static const uint8_t activate[] = {0x00, 0x44, 0x00, 0x00};
static const uint8_t gen_ec[] = {0x00, 0x47, 0x00, 0x00, 0x08, 0xAC, 0x06,
				 0x80, 0x01, 0x0C, 0x83, 0x01, 0x81};
static const uint8_t select_aid[] = {0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00,
				     0x03, 0x97, 0x42, 0x54, 0x46, 0x59, 0x00};

static const uint8_t piv_select[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08};
static const uint8_t piv_verify[] = {0x00, 0x20, 0x00, 0x80, 0x08, '1', '2',
				     '3',  '4',	 '5',  '6',  0xFF, 0xFF};
static const uint8_t piv_gen_9a[] = {0x00, 0x47, 0x00, 0x9A, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x11};
static const uint8_t piv_gen_9e[] = {0x00, 0x47, 0x00, 0x9E, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x11};

static uint16_t
send_apdu_r(struct vcard *vc, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *rl)
{
	memset(resp + VCARD_MAX_RESPONSE, 0xA5, 16);
	if (vcard_transmit(vc, apdu, len, resp, rl) != MDP_OK)
		abort(); /* an in-memory card has no file to fail */
	if (*rl < 2 || *rl > VCARD_MAX_RESPONSE || resp[VCARD_MAX_RESPONSE] != 0xA5)
		abort();
	return (uint16_t)(resp[*rl - 2] << 8 | resp[*rl - 1]);
}

static uint16_t
send_apdu(struct vcard *vc, const uint8_t *apdu, size_t len)
{
	uint8_t resp[VCARD_MAX_RESPONSE + 16];
	size_t rl = 0;

	return send_apdu_r(vc, apdu, len, resp, &rl);
}

/* PIV: external authentication with the default 3DES management key. */
static void
piv_mgm_auth(struct vcard *vc)
{
	static const uint8_t chal[] = {0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x81, 0x00};
	uint8_t resp[VCARD_MAX_RESPONSE + 16],
		rsp[17] = {0x00, 0x87, 0x03, 0x9B, 0x0C, 0x7C, 0x0A, 0x82, 0x08};
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	size_t rl = 0;
	int n = 0;

	if (!ctx || send_apdu_r(vc, chal, sizeof(chal), resp, &rl) != 0x9000 || rl != 14 ||
	    EVP_EncryptInit_ex2(ctx, EVP_des_ede3_ecb(), admin_key, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, rsp + 9, &n, resp + 4, 8) != 1 || n != 8 ||
	    send_apdu(vc, rsp, sizeof(rsp)) != 0x9000)
		abort(); /* the setup itself must work */
	EVP_CIPHER_CTX_free(ctx);
}

static struct vcard *
open_piv(uint8_t flags)
{
	struct vcard_init_params p;
	struct vcard *vc = NULL;

	memset(&p, 0, sizeof(p));
	p.type = VCARD_TYPE_PIV;
	if (vcard_open(NULL, &p, &vc) != MDP_OK)
		return NULL;
	if (flags & 4) {
		piv_mgm_auth(vc);
		if (send_apdu(vc, piv_gen_9a, sizeof(piv_gen_9a)) != 0x9000 ||
		    send_apdu(vc, piv_gen_9e, sizeof(piv_gen_9e)) != 0x9000)
			abort();
		vcard_reset(vc);
	}
	if (flags & 2)
		piv_mgm_auth(vc);
	if (flags & 1)
		send_apdu(vc, piv_verify, sizeof(piv_verify));
	return vc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vcard_init_params p = {.pin = "1234", .admin_key = admin_key};
	struct vcard *vc = NULL;
	struct vcard_info info;
	uint8_t flags;
	size_t pos = 1;
	unsigned count = 0;

	if (size < 1)
		return 0;
	flags = data[0];
	if (flags & 0x10) {
		vc = open_piv(flags);
		if (!vc)
			return 0;
	} else if (vcard_open(NULL, (flags & 2) ? NULL : &p, &vc) != MDP_OK) {
		return 0;
	}
	if ((flags & 4) && !(flags & 0x12)) {
		send_apdu(vc, verify_apdu, sizeof(verify_apdu));
		send_apdu(vc, create_ec, sizeof(create_ec));
		send_apdu(vc, activate, sizeof(activate));
		if (send_apdu(vc, gen_ec, sizeof(gen_ec)) != 0x9000)
			abort(); /* the setup itself must work */
		send_apdu(vc, (const uint8_t *)"\x00\x20\x00\x82", 4);
	}
	if ((flags & 1) && !(flags & 0x10))
		send_apdu(vc, verify_apdu, sizeof(verify_apdu));
	while (pos + 2 <= size) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];

		pos += 2;
		if (len > size - pos)
			len = size - pos;
		send_apdu(vc, data + pos, len);
		pos += len;
		if ((flags & 8) && ++count % 8 == 0)
			vcard_reset(vc);
	}
	/* Whatever happened, the card is still the same kind of card with a sane state. */
	if (flags & 0x10) {
		/* (the first may only end a chain the input left open: 6900) */
		if (send_apdu(vc, piv_select, sizeof(piv_select)) != 0x9000 &&
		    send_apdu(vc, piv_select, sizeof(piv_select)) != 0x9000)
			abort();
	} else {
		send_apdu(vc, select_aid, sizeof(select_aid));
	}
	if (vcard_get_info(vc, &info) != MDP_OK || info.pin_tries_left > info.pin_tries_max ||
	    info.puk_tries_left > info.puk_tries_max ||
	    info.type != ((flags & 0x10) ? VCARD_TYPE_PIV : VCARD_TYPE_GIDS))
		abort();
	vcard_free(vc);
	return 0;
}
