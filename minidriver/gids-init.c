/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Personalisation of a blank GIDS card: PIN, EFs, admin key, minidriver files (spec/gids.md §10.1).
 */
#include "config.h"

#include <string.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "common/bytes.h"
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/gids-init.h"
#include "transport/apdu.h"

static const uint8_t gids_aid[] = {0xA0, 0x00, 0x00, 0x03, 0x97, 0x42, 0x54, 0x46, 0x59};

/* The BER-TLV EFs of an initialised card and their PUT DATA / GET DATA conditions (§2.2). */
static const struct {
	uint16_t fid;
	uint8_t put, get;
} gids_efs[] = {
	{0xA000, 0x30, 0x00}, /* UserCreateDeleteDirAc */
	{0xA010, 0x30, 0x00}, /* EveryoneReadUserWriteAc */
	{0xA011, 0x30, 0xFF}, /* UserWriteExecuteAc */
	{0xA012, 0x20, 0x00}, /* EveryoneReadAdminWriteAc */
	{0xA013, 0x30, 0x30}, /* UserReadWriteAc */
	{0xA014, 0x20, 0x20}, /* AdminReadWriteAc */
};

/* The admin key file B080: MSE always, PUT KEY admin, public part never; usage: 3DES auth. */
static const uint8_t admin_key_fcp[] = {
	0x62, 0x1A, 0x82, 0x01, 0x18, 0x83, 0x02, 0xB0, 0x80, 0x8C, 0x04, 0x87, 0x00, 0x20,
	0xFF, 0xA5, 0x0B, 0xA4, 0x09, 0x80, 0x01, 0x02, 0x83, 0x01, 0x80, 0x95, 0x01, 0xC0,
};

/* One masterfile record (§5.1): directory, file, DO tag, EF. */
static void
mf_record(struct mdp_buf *b, const char *dir, const char *file, uint16_t tag, uint16_t fid)
{
	char name[9];

	memset(name, 0, sizeof(name));
	strncpy(name, dir, sizeof(name) - 1);
	buf_put_bytes(b, name, 9);
	memset(name, 0, sizeof(name));
	strncpy(name, file, sizeof(name) - 1);
	buf_put_bytes(b, name, 9);
	buf_put_zeros(b, 2);
	buf_put_le32(b, tag);
	buf_put_le32(b, fid);
}

/* Send a command; anything but 9000 is MDP_ERR_STATE naming the step. */
static enum mdp_err
cmd(struct mdp_transport *t, const char *step, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t lc, int le, bool chain)
{
	struct mdp_apdu a = {cla, ins, p1, p2, data, lc, le, chain};
	uint16_t sw = 0;
	enum mdp_err rv;

	rv = mdp_apdu_exchange(t, &a, NULL, &sw);
	if (rv != MDP_OK)
		return rv;
	if (!MDP_SW_IS_OK(sw))
		return mdp_err_reason(MDP_ERR_STATE,
				      "card initialisation: %s refused with %04X (%s)", step, sw,
				      mdp_sw_str(sw));
	return MDP_OK;
}

/* PUT DATA of one DO: tag, BER length, value, chained when longer than a short APDU. */
static enum mdp_err
put_do(struct mdp_transport *t, const char *step, uint16_t fid, uint16_t tag, const uint8_t *v,
       size_t len, bool secret)
{
	struct mdp_buf b;
	enum mdp_err rv;

	if (secret)
		buf_init_secret(&b);
	else
		buf_init(&b);
	buf_put_tlv(&b, tag, v, len);
	if (b.bad) {
		buf_free(&b);
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	}
	rv = cmd(t, step, 0x00, 0xDB, (uint8_t)(fid >> 8), (uint8_t)fid, b.data, b.len,
		 MDP_APDU_NO_LE, true);
	buf_free(&b);
	return rv;
}

static enum mdp_err
select_app(struct mdp_transport *t, uint16_t *sw)
{
	struct mdp_apdu a = {0x00, 0xA4, 0x04, 0x00, gids_aid, sizeof(gids_aid), 256, false};

	return mdp_apdu_exchange(t, &a, NULL, sw);
}

enum mdp_err
gids_probe(struct mdp_transport *t, enum gids_state *state)
{
	static const uint8_t get_mf[] = {0x5C, 0x02, 0xDF, 0x1F};
	struct mdp_apdu a = {0x00, 0xCB, 0xA0, 0x00, get_mf, sizeof(get_mf), 256, false};
	uint16_t sw = 0;
	enum mdp_err rv;

	rv = select_app(t, &sw);
	if (rv != MDP_OK)
		return rv;
	if (!MDP_SW_IS_OK(sw)) {
		*state = GIDS_STATE_NOT_GIDS;
		return MDP_OK;
	}
	rv = mdp_apdu_exchange(t, &a, NULL, &sw);
	if (rv != MDP_OK)
		return rv;
	if (MDP_SW_IS_OK(sw))
		*state = GIDS_STATE_INITIALIZED;
	else if (sw == 0x6A82)
		*state = GIDS_STATE_BLANK;
	else
		*state = GIDS_STATE_PARTIAL;
	log_debug("GIDS probe: masterfile answer %04X", sw);
	return MDP_OK;
}

enum mdp_err
gids_pin_status(struct mdp_transport *t, int *tries_left, int *tries_max)
{
	static const uint8_t get_pin[] = {0x5C, 0x02, 0x7F, 0x71};
	struct mdp_apdu a = {0x00, 0xCB, 0x3F, 0xFF, get_pin, sizeof(get_pin), 256, false};
	struct mdp_cursor v, t97;
	struct mdp_buf b;
	uint16_t sw = 0;
	enum mdp_err rv;
	int left = -1, max = -1;

	buf_init(&b);
	rv = mdp_apdu_exchange(t, &a, &b, &sw);
	if (rv != MDP_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw) || tlv_find(b.data, b.len, 0x7F71, &v) != MDP_OK) {
		rv = mdp_err_reason(MDP_ERR_NOT_FOUND, "no PIN status DO (answer %04X)", sw);
		goto out;
	}
	if (tlv_find(v.p, v.len, 0x97, &t97) == MDP_OK ||
	    tlv_find(v.p, v.len, 0x9F17, &t97) == MDP_OK) {
		if (t97.len == 1)
			left = t97.p[0];
	}
	if (tlv_find(v.p, v.len, 0x93, &t97) == MDP_OK && t97.len == 1)
		max = t97.p[0];
	if (left < 0) {
		rv = mdp_err_reason(MDP_ERR_NOT_FOUND, "PIN status DO without a retry counter");
		goto out;
	}
	*tries_left = left;
	*tries_max = max;
out:
	buf_free(&b);
	return rv;
}

enum mdp_err
gids_initialize(struct mdp_transport *t, const uint8_t *pin, size_t pin_len,
		const uint8_t admin_key[24], const uint8_t cardid[16])
{
	static const uint8_t cardapps[8] = {'m', 's', 'c', 'p', 0, 0, 0, 0};
	static const uint8_t cardcf[6] = {0};
	static const uint8_t select_app_fid[] = {0x3F, 0xFF};
	static const uint8_t admin_trailer[] = {0x88, 0x03, 0xB0, 0x73, 0xDC};
	struct mdp_buf mf, key;
	uint8_t fcp[14];
	enum gids_state state = GIDS_STATE_NOT_GIDS;
	enum mdp_err rv;
	size_t i, mark, inner;

	buf_init(&mf);
	buf_init_secret(&key);
	if (t == NULL || pin == NULL || admin_key == NULL || cardid == NULL || pin_len < 4 ||
	    pin_len > 16) {
		rv = mdp_err_reason(MDP_ERR_ARGS, "a GIDS PIN has 4 to 16 bytes");
		goto out_nt;
	}
	rv = mdp_transport_begin(t);
	if (rv != MDP_OK)
		goto out_nt;
	rv = gids_probe(t, &state);
	if (rv != MDP_OK)
		goto out;
	if (state != GIDS_STATE_BLANK) {
		rv = mdp_err_reason(
			MDP_ERR_STATE, "%s",
			state == GIDS_STATE_NOT_GIDS ? "not a GIDS card"
			: state == GIDS_STATE_INITIALIZED
				? "the card is already initialised"
				: "the card is half initialised (EF A000 without masterfile): "
				  "it cannot be personalised again");
		goto out;
	}
	log_info("initialising a blank GIDS card");
	rv = cmd(t, "SET PIN", 0x00, 0x24, 0x01, 0x80, pin, pin_len, MDP_APDU_NO_LE, false);
	if (rv != MDP_OK)
		goto out;
	for (i = 0; i < sizeof(gids_efs) / sizeof(gids_efs[0]); i++) {
		uint8_t f[] = {0x62,
			       0x0C,
			       0x82,
			       0x01,
			       0x39,
			       0x83,
			       0x02,
			       (uint8_t)(gids_efs[i].fid >> 8),
			       (uint8_t)gids_efs[i].fid,
			       0x8C,
			       0x03,
			       0x03,
			       gids_efs[i].put,
			       gids_efs[i].get};

		memcpy(fcp, f, sizeof(fcp));
		rv = cmd(t, "CREATE FILE (EF)", 0x00, 0xE0, 0x00, 0x00, fcp, sizeof(fcp),
			 MDP_APDU_NO_LE, false);
		if (rv == MDP_OK)
			rv = cmd(t, "ACTIVATE FILE (EF)", 0x00, 0x44, 0x00, 0x00, NULL, 0,
				 MDP_APDU_NO_LE, false);
		if (rv != MDP_OK)
			goto out;
	}
	rv = cmd(t, "CREATE FILE (admin key)", 0x00, 0xE0, 0x00, 0x00, admin_key_fcp,
		 sizeof(admin_key_fcp), MDP_APDU_NO_LE, false);
	if (rv == MDP_OK)
		rv = cmd(t, "ACTIVATE FILE (admin key)", 0x00, 0x44, 0x00, 0x00, NULL, 0,
			 MDP_APDU_NO_LE, false);
	if (rv != MDP_OK)
		goto out;

	/* 70 { 84 01 80, A5 { 87 18 <key>, 88 03 B0 73 DC } } (§8.5) */
	mark = buf_tlv_open(&key, 0x70);
	buf_put_tlv(&key, 0x84, (const uint8_t[]){0x80}, 1);
	inner = buf_tlv_open(&key, 0xA5);
	buf_put_tlv(&key, 0x87, admin_key, 24);
	buf_put_bytes(&key, admin_trailer, sizeof(admin_trailer));
	buf_tlv_close(&key, inner);
	buf_tlv_close(&key, mark);
	if (key.bad) {
		rv = mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
		goto out;
	}
	rv = cmd(t, "PUT DATA (admin key)", 0x00, 0xDB, 0x3F, 0xFF, key.data, key.len,
		 MDP_APDU_NO_LE, true);
	if (rv != MDP_OK)
		goto out;

	buf_put_u8(&mf, 0x01);
	mf_record(&mf, "mscp", "", 0, 0xA000);
	mf_record(&mf, "", "cardid", 0xDF20, 0xA012);
	mf_record(&mf, "", "cardapps", 0xDF21, 0xA010);
	mf_record(&mf, "", "cardcf", 0xDF22, 0xA010);
	mf_record(&mf, "mscp", "cmapfile", 0xDF23, 0xA010);
	if (mf.bad) {
		rv = mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
		goto out;
	}
	rv = put_do(t, "PUT DATA (masterfile)", 0xA000, 0xDF1F, mf.data, mf.len, false);
	if (rv == MDP_OK)
		rv = put_do(t, "PUT DATA (cardapps)", 0xA010, 0xDF21, cardapps, sizeof(cardapps),
			    false);
	if (rv == MDP_OK)
		rv = put_do(t, "PUT DATA (cardcf)", 0xA010, 0xDF22, cardcf, sizeof(cardcf), false);
	if (rv == MDP_OK)
		rv = put_do(t, "PUT DATA (cmapfile)", 0xA010, 0xDF23, cardcf, 0, false);
	if (rv == MDP_OK)
		rv = put_do(t, "PUT DATA (cardid)", 0xA012, 0xDF20, cardid, 16, false);
	if (rv != MDP_OK)
		goto out;
	rv = cmd(t, "SELECT 3FFF", 0x00, 0xA4, 0x00, 0x0C, select_app_fid, sizeof(select_app_fid),
		 MDP_APDU_NO_LE, false);
	if (rv == MDP_OK)
		rv = cmd(t, "ACTIVATE FILE (application)", 0x00, 0x44, 0x00, 0x00, NULL, 0,
			 MDP_APDU_NO_LE, false);
	if (rv == MDP_OK)
		log_info("GIDS card initialised");
out:
	/* Leave nobody authenticated: the card is reset when the transaction ends. */
	mdp_transport_end(t, rv == MDP_OK ? MDP_RESET_CARD : MDP_LEAVE_CARD);
out_nt:
	buf_free(&key);
	buf_free(&mf);
	return rv;
}
