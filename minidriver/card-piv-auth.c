/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PIV card module's authentication: the management key (mutual authentication, the
 * PIN-protected key, SET MANAGEMENT KEY), the PIN and the PUK. */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/card-piv.h"
#include "transport/apdu.h"

static const uint8_t default_mgmt_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
					     5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
/* YubiKey management application: selecting it drops the PIV security state (§3). */
static const uint8_t yk_mgmt_aid[] = {0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17};

/* ---- the management key (§4.7, §5.6, §6.3) ---- */

static const EVP_CIPHER *
mgmt_cipher(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_3DES:
		return EVP_des_ede3_ecb();
	case PIV_ALG_AES128:
		return EVP_aes_128_ecb();
	case PIV_ALG_AES192:
		return EVP_aes_192_ecb();
	case PIV_ALG_AES256:
		return EVP_aes_256_ecb();
	default:
		return NULL;
	}
}

/* One block of ECB with the management key (no padding). */
static bool
mgmt_block(uint8_t alg, const uint8_t *key, const uint8_t *in, uint8_t *out, bool enc)
{
	const EVP_CIPHER *c = mgmt_cipher(alg);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	size_t bl = piv_mgmt_block(alg);
	int n = 0, f = 0;
	bool ok;

	ok = c && ctx && EVP_CipherInit_ex(ctx, c, NULL, key, NULL, enc ? 1 : 0) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_CipherUpdate(ctx, out, &n, in, (int)bl) == 1 &&
	     EVP_CipherFinal_ex(ctx, out + n, &f) == 1 && (size_t)(n + f) == bl;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/*
 * PIV mutual authentication with the management key (§4.7): the card sends a witness encrypted
 * under the key, the host returns it decrypted with its own challenge, and the card proves the
 * key by encrypting that challenge. MD_E_INVALID_PARAMETER when the card does not take this
 * algorithm, MD_W_WRONG_CHV for a wrong key, MD_E_COMM_DATA_LOST when the card's proof fails.
 */
static enum md_rv
mgmt_mutual(struct md_card *card, uint8_t alg, const uint8_t *key)
{
	static const uint8_t step1[] = {0x7C, 0x02, 0x80, 0x00};
	size_t bl = piv_mgmt_block(alg);
	uint8_t w[16], ch[16], expect[16];
	struct mdp_buf r, req;
	struct mdp_cursor e;
	uint16_t sw = 0;
	size_t m;
	enum md_rv rv;

	buf_init(&r);
	buf_init_secret(&req);
	rv = piv_xfer(card, 0x87, alg, PIV_SLOT_MGMT, step1, sizeof(step1), 256, &r, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		rv = (sw == 0x6A80 || sw == 0x6A86) ? MD_E_INVALID_PARAMETER : piv_sw_rv(sw);
		goto out;
	}
	if (piv_ga_response(r.data, r.len, 0x80, &e) != MDP_OK || cur_left(&e) != bl) {
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	if (!mgmt_block(alg, key, e.p + e.pos, w, false) || RAND_bytes(ch, (int)bl) != 1 ||
	    !mgmt_block(alg, key, ch, expect, true)) {
		rv = MD_E_UNEXPECTED;
		goto out;
	}
	m = buf_tlv_open(&req, 0x7C);
	buf_put_tlv(&req, 0x80, w, bl);
	buf_put_tlv(&req, 0x81, ch, bl);
	buf_put_tlv(&req, 0x82, NULL, 0);
	buf_tlv_close(&req, m);
	buf_free(&r);
	buf_init(&r);
	rv = req.bad ? MD_E_NO_MEMORY
		     : piv_xfer(card, 0x87, alg, PIV_SLOT_MGMT, req.data, req.len, 256, &r, &sw);
	if (rv != MD_OK)
		goto out;
	if (!MDP_SW_IS_OK(sw)) {
		rv = sw == 0x6982 ? MD_W_WRONG_CHV : piv_sw_rv(sw);
		goto out;
	}
	if (piv_ga_response(r.data, r.len, 0x82, &e) != MDP_OK || cur_left(&e) != bl ||
	    CRYPTO_memcmp(e.p + e.pos, expect, bl) != 0) {
		log_warn("PIV: the card did not prove the management key");
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	piv_of(card)->authenticated |= MD_PIN_SET(MD_ROLE_ADMIN);
	piv_of(card)->mgmt_alg = alg;
out:
	mdp_wipe(w, sizeof(w));
	mdp_wipe(ch, sizeof(ch));
	mdp_wipe(expect, sizeof(expect));
	buf_free(&r);
	buf_free(&req);
	return rv;
}

/*
 * The algorithms a management key of len bytes may be for, most likely first: the card says
 * (GET METADATA 9B, 5.3+) or a length decides; 24 bytes are 3DES before 5.7 and AES-192 from
 * 5.7 on (the factory defaults, §2.5), the other one is tried second.
 */
static size_t
mgmt_candidates(struct md_card *card, size_t len, uint8_t out[2])
{
	struct piv *p = piv_of(card);
	struct piv_metadata md;
	struct mdp_buf b;
	size_t n = 0;

	if (p->mgmt_alg && piv_mgmt_key_len(p->mgmt_alg) == len) {
		out[0] = p->mgmt_alg;
		return 1;
	}
	buf_init(&b);
	if (piv_get_metadata(card, PIV_SLOT_MGMT, &b, &md) == MD_OK && piv_mgmt_block(md.alg)) {
		p->mgmt_alg = md.alg;
		buf_free(&b);
		if (piv_mgmt_key_len(md.alg) != len)
			return 0;
		out[0] = md.alg;
		return 1;
	}
	buf_free(&b);
	if (len == 16)
		out[n++] = PIV_ALG_AES128;
	else if (len == 32)
		out[n++] = PIV_ALG_AES256;
	else if (len == 24 && piv_version_at_least(card, 5, 7, 0)) {
		out[n++] = PIV_ALG_AES192;
		out[n++] = PIV_ALG_3DES;
	} else if (len == 24) {
		out[n++] = PIV_ALG_3DES;
		out[n++] = PIV_ALG_AES192;
	}
	return n;
}

static enum md_rv
mgmt_authenticate(struct md_card *card, const uint8_t *key, size_t len)
{
	uint8_t algs[2];
	size_t n = mgmt_candidates(card, len, algs), i;
	enum md_rv rv = MD_E_INVALID_CHV;

	if (n == 0)
		return piv_refuse(MD_E_INVALID_CHV,
				  "a management key of %zu bytes does not suit "
				  "the card (3DES 24, AES 16, 24 or 32 bytes)",
				  len);
	for (i = 0; i < n; i++) {
		rv = mgmt_mutual(card, algs[i], key);
		if (rv != MD_E_INVALID_PARAMETER)
			break;
	}
	if (rv == MD_E_INVALID_PARAMETER)
		rv = MD_W_WRONG_CHV; /* no algorithm of that key length is the card's */
	return rv;
}

/* The PIN-protected management key (§5.6): with the PIN verified, from Printed. */
static enum md_rv
protected_mgmt_key(struct md_card *card, bool *tried)
{
	struct piv *p = piv_of(card);
	struct mdp_buf a, pr;
	struct mdp_cursor k;
	struct piv_admin_data ad;
	enum md_rv rv;

	*tried = false;
	buf_init(&a);
	buf_init_secret(&pr);
	if (!p->admin_data_known) {
		rv = piv_get_object(card, PIV_OBJ_ADMIN_DATA, &a);
		if (rv == MD_E_FILE_NOT_FOUND ||
		    (rv == MD_OK && piv_admin_data_parse(a.data, a.len, &p->admin_data) != MDP_OK))
			memset(&p->admin_data, 0, sizeof(p->admin_data));
		else if (rv != MD_OK)
			goto out;
		p->admin_data_known = true;
	}
	ad = p->admin_data;
	rv = MD_OK;
	if (!(ad.flags & PIV_ADMIN_MGMT_PROTECTED)) {
		if (ad.has_salt)
			piv_refuse(MD_OK, "the card's management key is PIN-derived (deprecated): "
					  "log in as SO with the key");
		goto out;
	}
	*tried = true;
	rv = piv_get_object(card, PIV_OBJ_PRINTED, &pr);
	if (rv != MD_OK)
		goto out;
	if (piv_printed_mgmt_key(pr.data, pr.len, &k) != MDP_OK) {
		rv = piv_refuse(MD_W_SECURITY_VIOLATION, "ADMIN DATA says PIN-protected management "
							 "key, but Printed holds none");
		goto out;
	}
	rv = mgmt_authenticate(card, k.p + k.pos, cur_left(&k));
	if (rv == MD_OK)
		log_debug("PIV: PIN-protected management key used");
out:
	buf_free(&a);
	buf_free(&pr);
	return rv;
}

enum md_rv
piv_need_admin(struct md_card *card)
{
	struct piv *p = piv_of(card);
	bool tried = false;
	enum md_rv rv;

	if (p->authenticated & MD_PIN_SET(MD_ROLE_ADMIN))
		return MD_OK;
	rv = piv_load_chuid(card);
	if (rv != MD_OK)
		return rv;
	if (p->ch.signed_by_issuer)
		return piv_refuse(MD_E_READ_ONLY_CARD, "the CHUID carries its issuer's signature: "
						       "mdp11 does not change issued PIV cards");
	if (p->authenticated & MD_PIN_SET(MD_ROLE_USER)) {
		rv = protected_mgmt_key(card, &tried);
		if (tried || rv != MD_OK)
			return rv;
	}
	if (!p->default_key_failed) {
		rv = mgmt_authenticate(card, default_mgmt_key, sizeof(default_mgmt_key));
		if (rv == MD_OK) {
			log_info("PIV: the card uses the factory default management key");
			return MD_OK;
		}
		/* a wrong key, or a key of another length than the card's algorithm wants */
		if (rv != MD_W_WRONG_CHV && rv != MD_E_INVALID_CHV)
			return rv;
		p->default_key_failed = true;
	}
	return piv_refuse(MD_W_SECURITY_VIOLATION,
			  "changing this PIV card needs its management key: log in as SO with it "
			  "(hex), or set the card up with a PIN-protected management key");
}

/* ---- PINs and roles (docs/piv.md "PINs and roles") ---- */

static enum md_rv
pin_result(uint16_t sw, uint32_t *tries_left)
{
	if ((sw & 0xFFF0) == 0x63C0 && tries_left)
		*tries_left = sw & 0x0F;
	if (sw == 0x6983 && tries_left)
		*tries_left = 0;
	return piv_sw_rv(sw);
}

static enum md_rv
verify(struct md_card *card, uint8_t ref, const uint8_t *pin, size_t len, uint32_t *tries_left)
{
	uint8_t blk[8];
	uint16_t sw = 0;
	enum md_rv rv;

	if (!piv_pin_block(pin, len, blk))
		return piv_refuse(MD_E_INVALID_CHV, "a PIV PIN has 1 to 8 characters (%zu given)",
				  len);
	rv = piv_xfer(card, 0x20, 0x00, ref, blk, 8, MDP_APDU_NO_LE, NULL, &sw);
	mdp_wipe(blk, sizeof(blk));
	if (rv != MD_OK)
		return rv;
	return pin_result(sw, tries_left);
}

enum md_rv
piv_authenticate_ex(struct md_card *card, uint32_t pin_id, uint32_t flags, const uint8_t *pin,
		    size_t len, uint8_t **session_pin, size_t *session_pin_len,
		    uint32_t *tries_left)
{
	struct piv *p = piv_of(card);
	enum md_rv rv;

	if (flags & (MD_AUTH_GENERATE_SESSION_PIN | MD_AUTH_SESSION_PIN))
		return piv_refuse(MD_E_UNSUPPORTED_FEATURE, "PIV has no session PINs");
	if (flags & ~MD_PIN_SILENT_CONTEXT)
		return MD_E_INVALID_PARAMETER;
	rv = piv_sync(card);
	if (rv != MD_OK)
		return rv;
	switch (pin_id) {
	case MD_ROLE_USER:
		if (!pin)
			return MD_E_INVALID_PARAMETER; /* no PIN pad */
		rv = verify(card, PIV_REF_PIN, pin, len, tries_left);
		if (rv == MD_OK)
			p->authenticated |= MD_PIN_SET(MD_ROLE_USER);
		else if (rv == MD_W_WRONG_CHV || rv == MD_W_CHV_BLOCKED)
			p->authenticated &= ~MD_PIN_SET(MD_ROLE_USER);
		return rv;
	case MD_ROLE_ADMIN: {
		uint8_t alg = p->challenge_alg;

		p->challenge_alg = 0;
		if (!pin)
			return MD_E_INVALID_PARAMETER;
		if (alg && len == piv_mgmt_block(alg)) {
			/* the response to get_challenge_ex: external authentication step 2 */
			struct mdp_buf req;
			uint16_t sw = 0;

			buf_init_secret(&req);
			{
				size_t m = buf_tlv_open(&req, 0x7C);

				buf_put_tlv(&req, 0x82, pin, len);
				buf_tlv_close(&req, m);
			}
			rv = req.bad ? MD_E_NO_MEMORY
				     : piv_xfer(card, 0x87, alg, PIV_SLOT_MGMT, req.data, req.len,
						MDP_APDU_NO_LE, NULL, &sw);
			buf_free(&req);
			p->mgmt_alg = alg;
			if (rv == MD_OK && !MDP_SW_IS_OK(sw))
				rv = sw == 0x6982 ? MD_W_WRONG_CHV : piv_sw_rv(sw);
		} else {
			rv = mgmt_authenticate(card, pin, len);
		}
		if (rv == MD_OK)
			p->authenticated |= MD_PIN_SET(MD_ROLE_ADMIN);
		if (tries_left && rv == MD_W_WRONG_CHV)
			*tries_left =
				MD_VALUE_UNKNOWN; /* the management key has no retry counter */
		return rv;
	}
	case PIV_PIN_ID_CONSENT:
		/* checked now (a wrong PIN is told at once), sent again right before the operation
		 */
		if (!pin)
			return MD_E_INVALID_PARAMETER;
		rv = verify(card, PIV_REF_PIN, pin, len, tries_left);
		if (rv == MD_OK) {
			piv_pin_block(pin, len, p->oneshot_pin);
			p->oneshot_valid = true;
			p->authenticated |= MD_PIN_SET(MD_ROLE_USER);
		}
		return rv;
	case PIV_PIN_ID_PUK:
		return piv_refuse(MD_E_UNSUPPORTED_FEATURE,
				  "the PIV PUK cannot be verified on its own: it unblocks the PIN");
	default:
		return MD_E_INVALID_PARAMETER;
	}
}

/*
 * The retry counter of the PIN (PIN ids 1 and 4) or the PUK (3), mdp11's MD_CP_MDP11_PIN_TRIES:
 * GET METADATA 80/81 on a YubiKey 5.3+ (tries left and total), else for the PIN an empty VERIFY
 * (63Cx: x left; 6983: blocked; 90 00: verified, so the counter is full: reported as 15, the
 * most a 63Cx can say, with the maximum unknown). The PUK has no other way to be asked.
 */
enum md_rv
piv_pin_tries(struct md_card *card, uint32_t pin_id, struct md_pin_tries *pt)
{
	struct piv_metadata md;
	struct mdp_buf b;
	uint8_t ref = pin_id == PIV_PIN_ID_PUK ? PIV_REF_PUK : PIV_REF_PIN;
	uint16_t sw = 0;
	enum md_rv rv;

	if (pin_id != MD_ROLE_USER && pin_id != PIV_PIN_ID_CONSENT && pin_id != PIV_PIN_ID_PUK)
		return MD_E_INVALID_PARAMETER; /* the management key has no counter */
	rv = piv_sync(card);
	if (rv != MD_OK)
		return rv;
	pt->version = MD_PIN_TRIES_VERSION;
	buf_init(&b);
	rv = piv_get_metadata(card, ref, &b, &md);
	buf_free(&b);
	if (rv == MD_OK && md.retries_left >= 0) {
		pt->left = (uint32_t)md.retries_left;
		pt->max = md.retries_total >= 0 ? (uint32_t)md.retries_total : MD_VALUE_UNKNOWN;
		return MD_OK;
	}
	if (rv != MD_OK && rv != MD_E_UNSUPPORTED_FEATURE && rv != MD_E_NO_KEY_CONTAINER)
		return rv;
	if (ref == PIV_REF_PUK)
		return MD_E_UNSUPPORTED_FEATURE;
	rv = piv_xfer(card, 0x20, 0x00, PIV_REF_PIN, NULL, 0, MDP_APDU_NO_LE, NULL, &sw);
	if (rv != MD_OK)
		return rv;
	pt->max = MD_VALUE_UNKNOWN;
	if ((sw & 0xFFF0) == 0x63C0)
		pt->left = sw & 0x0F;
	else if (sw == 0x6983)
		pt->left = 0;
	else if (MDP_SW_IS_OK(sw))
		pt->left = 15;
	else
		return MD_E_UNSUPPORTED_FEATURE;
	return MD_OK;
}

/* CardGetChallengeEx for ROLE_ADMIN: step 1 of external authentication with the key (§4.7). */
enum md_rv
piv_get_challenge_ex(struct md_card *card, uint32_t pin_id, uint8_t **challenge, size_t *len,
		     uint32_t flags)
{
	static const uint8_t step1[] = {0x7C, 0x02, 0x81, 0x00};
	struct piv *p = piv_of(card);
	struct mdp_buf r, md_answer;
	struct mdp_cursor c;
	struct piv_metadata md;
	uint16_t sw = 0;
	uint8_t alg;
	enum md_rv rv;

	if (pin_id != MD_ROLE_ADMIN)
		return piv_refuse(MD_E_UNSUPPORTED_FEATURE,
				  "PIV challenges only the management key");
	rv = piv_sync(card);
	if (rv != MD_OK)
		return rv;
	alg = p->mgmt_alg;
	if (!alg) {
		buf_init(&md_answer);
		if (piv_get_metadata(card, PIV_SLOT_MGMT, &md_answer, &md) == MD_OK &&
		    piv_mgmt_block(md.alg))
			alg = md.alg;
		buf_free(&md_answer);
	}
	if (!alg)
		alg = piv_version_at_least(card, 5, 7, 0) ? PIV_ALG_AES192 : PIV_ALG_3DES;
	buf_init(&r);
	rv = piv_xfer(card, 0x87, alg, PIV_SLOT_MGMT, step1, sizeof(step1), 256, &r, &sw);
	if (rv == MD_OK && !MDP_SW_IS_OK(sw))
		rv = piv_sw_rv(sw);
	if (rv == MD_OK && (piv_ga_response(r.data, r.len, 0x81, &c) != MDP_OK ||
			    cur_left(&c) != piv_mgmt_block(alg)))
		rv = MD_E_COMM_DATA_LOST;
	if (rv == MD_OK) {
		*challenge = mdp_memdup(c.p + c.pos, cur_left(&c));
		*len = cur_left(&c);
		if (!*challenge)
			rv = MD_E_NO_MEMORY;
		else
			p->challenge_alg = alg;
	}
	buf_free(&r);
	return rv;
}

/*
 * CardDeauthenticateEx: a YubiKey drops the PIV security state when another application is
 * selected (§3); other cards cannot log out, and the host then resets the card.
 */
enum md_rv
piv_deauthenticate_ex(struct md_card *card, uint32_t pin_set, uint32_t flags)
{
	struct piv *p = piv_of(card);
	uint16_t sw = 0;
	enum md_rv rv;

	if (flags != 0)
		return MD_E_INVALID_PARAMETER;
	mdp_wipe(p->oneshot_pin, sizeof(p->oneshot_pin));
	p->oneshot_valid = false;
	if (!(p->authenticated & pin_set))
		return MD_OK;
	if (!piv_version_at_least(card, 4, 0, 0))
		return MD_E_UNSUPPORTED_FEATURE;
	rv = piv_xfer(card, 0xA4, 0x04, 0x00, yk_mgmt_aid, sizeof(yk_mgmt_aid), MDP_APDU_NO_LE,
		      NULL, &sw);
	if (rv != MD_OK)
		return rv;
	p->selected = false;
	if (!MDP_SW_IS_OK(sw))
		return MD_E_UNSUPPORTED_FEATURE;
	/* every PIN of the card session is gone, not only those of pin_set */
	p->authenticated = 0;
	p->challenge_alg = 0;
	return piv_sync(card);
}

/* SET MANAGEMENT KEY (§6.3), keeping a PIN-protected key's copy in Printed current (§5.6). */
static enum md_rv
set_mgmt_key(struct md_card *card, const uint8_t *key, size_t len)
{
	struct piv *p = piv_of(card);
	struct mdp_buf d, pr;
	uint8_t alg;
	uint16_t sw = 0;
	bool protect;
	enum md_rv rv;

	if (len == 16)
		alg = PIV_ALG_AES128;
	else if (len == 32)
		alg = PIV_ALG_AES256;
	else if (len == 24)
		alg = p->mgmt_alg == PIV_ALG_AES192 ? PIV_ALG_AES192 : PIV_ALG_3DES;
	else
		return piv_refuse(MD_E_INVALID_CHV, "a new management key has 16, 24 or 32 bytes");
	if (alg != PIV_ALG_3DES && !piv_version_at_least(card, 5, 4, 2))
		return piv_refuse(MD_E_UNSUPPORTED_FEATURE,
				  "AES management keys need a YubiKey 5.4.2 or later");
	if (!p->admin_data_known) {
		bool tried = false;

		/* reads ADMIN DATA (and nothing else while the PIN is not verified) */
		uint32_t saved = p->authenticated;

		p->authenticated &= ~MD_PIN_SET(MD_ROLE_USER);
		rv = protected_mgmt_key(card, &tried);
		p->authenticated = saved;
		if (rv != MD_OK)
			return rv;
	}
	protect = (p->admin_data.flags & PIV_ADMIN_MGMT_PROTECTED) != 0;
	if (protect && !(p->authenticated & MD_PIN_SET(MD_ROLE_USER)))
		return piv_refuse(
			MD_W_SECURITY_VIOLATION,
			"the management key is PIN-protected: verify the PIN too, so that "
			"its copy on the card follows the change");
	buf_init_secret(&d);
	buf_init_secret(&pr);
	buf_put_u8(&d, alg);
	buf_put_u8(&d, PIV_SLOT_MGMT);
	buf_put_u8(&d, (uint8_t)len);
	buf_put_bytes(&d, key, len);
	rv = d.bad ? MD_E_NO_MEMORY
		   : piv_xfer(card, 0xFF, 0xFF, 0xFF, d.data, d.len, MDP_APDU_NO_LE, NULL, &sw);
	if (rv == MD_OK && !MDP_SW_IS_OK(sw))
		rv = piv_sw_rv(sw);
	if (rv != MD_OK)
		goto out;
	p->mgmt_alg = alg;
	if (protect) {
		size_t m = buf_tlv_open(&pr, 0x88);

		buf_put_tlv(&pr, 0x89, key, len);
		buf_tlv_close(&pr, m);
		rv = pr.bad ? MD_E_NO_MEMORY
			    : piv_put_object(card, PIV_OBJ_PRINTED, pr.data, pr.len);
		if (rv != MD_OK)
			log_error("PIV: management key changed, but its PIN-protected copy was not "
				  "updated (%s)",
				  md_rv_name(rv));
	}
out:
	buf_free(&d);
	buf_free(&pr);
	return rv;
}

enum md_rv
piv_change_authenticator_ex(struct md_card *card, uint32_t flags, uint32_t auth_id,
			    const uint8_t *auth, size_t auth_len, uint32_t target_id,
			    const uint8_t *target, size_t target_len, uint32_t retry_count,
			    uint32_t *tries_left)
{
	struct piv *p = piv_of(card);
	uint8_t blk[16];
	uint16_t sw = 0;
	uint8_t ins, ref;
	enum md_rv rv;

	if (!auth || !target)
		return MD_E_INVALID_PARAMETER;
	rv = piv_sync(card);
	if (rv != MD_OK)
		return rv;
	if ((flags & MD_PIN_CHANGE_CHANGEPIN) && auth_id == MD_ROLE_ADMIN) {
		rv = mgmt_authenticate(card, auth, auth_len);
		if (rv == MD_OK)
			p->authenticated |= MD_PIN_SET(MD_ROLE_ADMIN);
		else
			return rv;
		return set_mgmt_key(card, target, target_len);
	}
	if ((flags & MD_PIN_CHANGE_UNBLOCK) && auth_id == MD_ROLE_ADMIN)
		return piv_refuse(
			MD_E_UNSUPPORTED_FEATURE,
			"a PIV PIN is unblocked with the PUK, not with the management key "
			"(mdp11-tool pin unblock --puk)");
	if (flags & MD_PIN_CHANGE_CHANGEPIN) {
		/* CHANGE REFERENCE DATA of the PIN (80) or the PUK (81), old || new (§4.5) */
		if (auth_id != MD_ROLE_USER && auth_id != PIV_PIN_ID_PUK)
			return MD_E_INVALID_PARAMETER;
		ins = 0x24;
		ref = auth_id == MD_ROLE_USER ? PIV_REF_PIN : PIV_REF_PUK;
	} else {
		/* RESET RETRY COUNTER: PUK || new PIN (§4.6) */
		if (auth_id != PIV_PIN_ID_PUK || target_id != MD_ROLE_USER)
			return MD_E_INVALID_PARAMETER;
		ins = 0x2C;
		ref = PIV_REF_PIN;
	}
	if (target_len < 6 || target_len > 8)
		return piv_refuse(MD_E_INVALID_CHV, "a new PIV %s has 6 to 8 characters",
				  target_id == PIV_PIN_ID_PUK ? "PUK" : "PIN");
	if (!piv_pin_block(auth, auth_len, blk) || !piv_pin_block(target, target_len, blk + 8)) {
		mdp_wipe(blk, sizeof(blk));
		return piv_refuse(MD_E_INVALID_CHV, "a PIV PIN or PUK has 1 to 8 characters");
	}
	rv = piv_xfer(card, ins, 0x00, ref, blk, sizeof(blk), MDP_APDU_NO_LE, NULL, &sw);
	mdp_wipe(blk, sizeof(blk));
	if (rv != MD_OK)
		return rv;
	return pin_result(sw, tries_left);
}
