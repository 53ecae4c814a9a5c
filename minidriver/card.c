/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host side of the minidriver interface: context life cycle and the checked Card* wrappers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "common/bytes.h"
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/card-int.h"
#include "transport/apdu.h"

const char *
md_rv_name(enum md_rv rv)
{
	switch (rv) {
#define N(x)    \
	case x: \
		return #x
		N(MD_OK);
		N(MD_ERROR_FILE_EXISTS);
		N(MD_ERROR_INSUFFICIENT_BUFFER);
		N(MD_ERROR_DIR_NOT_EMPTY);
		N(MD_ERROR_REVISION_MISMATCH);
		N(MD_F_INTERNAL_ERROR);
		N(MD_E_CANCELLED);
		N(MD_E_INVALID_HANDLE);
		N(MD_E_INVALID_PARAMETER);
		N(MD_E_NO_MEMORY);
		N(MD_E_INSUFFICIENT_BUFFER);
		N(MD_E_TIMEOUT);
		N(MD_E_SHARING_VIOLATION);
		N(MD_E_NO_SMARTCARD);
		N(MD_E_UNKNOWN_CARD);
		N(MD_F_COMM_ERROR);
		N(MD_E_NOT_TRANSACTED);
		N(MD_E_NO_SERVICE);
		N(MD_E_UNEXPECTED);
		N(MD_E_UNSUPPORTED_FEATURE);
		N(MD_E_DIR_NOT_FOUND);
		N(MD_E_FILE_NOT_FOUND);
		N(MD_E_NO_ACCESS);
		N(MD_E_WRITE_TOO_MANY);
		N(MD_E_INVALID_CHV);
		N(MD_E_COMM_DATA_LOST);
		N(MD_E_NO_KEY_CONTAINER);
		N(MD_E_READ_ONLY_CARD);
		N(MD_W_UNRESPONSIVE_CARD);
		N(MD_W_RESET_CARD);
		N(MD_W_REMOVED_CARD);
		N(MD_W_SECURITY_VIOLATION);
		N(MD_W_WRONG_CHV);
		N(MD_W_CHV_BLOCKED);
		N(MD_W_CANCELLED_BY_USER);
		N(MD_W_CARD_NOT_AUTHENTICATED);
#undef N
	}
	return "MD_UNKNOWN";
}

enum md_rv
md_rv_from_err(enum mdp_err err)
{
	switch (err) {
	case MDP_OK:
		return MD_OK;
	case MDP_ERR_NOMEM:
		return MD_E_NO_MEMORY;
	case MDP_ERR_ARGS:
		return MD_E_INVALID_PARAMETER;
	case MDP_ERR_BUFFER_TOO_SMALL:
		return MD_E_INSUFFICIENT_BUFFER;
	case MDP_ERR_UNSUPPORTED:
		return MD_E_UNSUPPORTED_FEATURE;
	case MDP_ERR_NOT_FOUND:
		return MD_E_FILE_NOT_FOUND;
	case MDP_ERR_EXISTS:
		return MD_ERROR_FILE_EXISTS;
	case MDP_ERR_NO_SERVICE:
		return MD_E_NO_SERVICE;
	case MDP_ERR_NO_CARD:
		return MD_E_NO_SMARTCARD;
	case MDP_ERR_CARD_REMOVED:
		return MD_W_REMOVED_CARD;
	case MDP_ERR_CARD_RESET:
		return MD_W_RESET_CARD;
	case MDP_ERR_TIMEOUT:
		return MD_E_TIMEOUT;
	case MDP_ERR_BUSY:
		return MD_E_SHARING_VIOLATION;
	case MDP_ERR_TRANSPORT:
	case MDP_ERR_IO:
		return MD_F_COMM_ERROR;
	case MDP_ERR_FORMAT:
	case MDP_ERR_TRUNCATED:
	case MDP_ERR_OVERFLOW:
		return MD_E_COMM_DATA_LOST;
	case MDP_ERR_SEAL:
		/* a virtual card without its seal refuses what needs its secrets */
		return MD_E_NO_ACCESS;
	default:
		return MD_E_UNEXPECTED;
	}
}

/* ---- host callbacks offered to modules ---- */

static struct md_host_data *
hd(const struct md_card *card)
{
	return card->host_data;
}

static enum md_rv
host_transmit(struct md_card *card, const uint8_t *apdu, size_t apdu_len, uint8_t *resp, size_t cap,
	      size_t *resp_len)
{
	enum mdp_err e;

	e = mdp_transport_transmit(hd(card)->transport, apdu, apdu_len, resp, cap, resp_len);
	if (e == MDP_ERR_CARD_RESET)
		card->resets++;
	return md_rv_from_err(e);
}

static enum md_rv
host_exchange(struct md_card *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
	      const uint8_t *data, size_t lc, int le, bool chain, uint8_t **resp, size_t *resp_len,
	      uint16_t *sw)
{
	struct mdp_apdu a = {.cla = cla,
			     .ins = ins,
			     .p1 = p1,
			     .p2 = p2,
			     .data = data,
			     .lc = lc,
			     .le = le,
			     .chain = chain};
	struct mdp_buf b;
	enum mdp_err e;

	if (!resp || !resp_len || !sw)
		return MD_E_INVALID_PARAMETER;
	buf_init_secret(&b);
	e = md_card_exchange(card, &a, &b, sw);
	if (e != MDP_OK) {
		buf_free(&b);
		return md_rv_from_err(e);
	}
	*resp_len = b.len;
	*resp = b.len ? buf_steal(&b, resp_len) : NULL;
	buf_free(&b);
	return MD_OK;
}

static enum md_rv
host_cache_add(struct md_card *card, const char *tag, const uint8_t *data, size_t len)
{
	if (!hd(card)->cache.add)
		return MD_E_UNSUPPORTED_FEATURE;
	return hd(card)->cache.add(card->cache_context, tag, data, len);
}

static enum md_rv
host_cache_lookup(struct md_card *card, const char *tag, uint8_t **data, size_t *len)
{
	if (!hd(card)->cache.lookup)
		return MD_E_FILE_NOT_FOUND;
	return hd(card)->cache.lookup(card->cache_context, tag, data, len);
}

static enum md_rv
host_cache_delete(struct md_card *card, const char *tag)
{
	if (!hd(card)->cache.del)
		return MD_OK;
	return hd(card)->cache.del(card->cache_context, tag);
}

static void
host_log(struct md_card *card, int level, const char *msg)
{
	if (level < MDP_LOG_ERROR || level > MDP_LOG_DEBUG)
		level = MDP_LOG_DEBUG;
	MDP_LOG_AT((enum mdp_log_level)level, "%s: %s", card->card_name, msg);
}

static const struct md_host host_callbacks = {
	.transmit = host_transmit,
	.exchange = host_exchange,
	.cache_add = host_cache_add,
	.cache_lookup = host_cache_lookup,
	.cache_delete = host_cache_delete,
	.log = host_log,
};

enum mdp_err
md_card_exchange(struct md_card *card, const struct mdp_apdu *a, struct mdp_buf *resp, uint16_t *sw)
{
	enum mdp_err e;

	e = mdp_apdu_exchange(hd(card)->transport, a, resp, sw);
	if (e == MDP_ERR_CARD_RESET)
		card->resets++;
	return e;
}

/* ---- context ---- */

enum md_rv
md_negotiate_version(struct md_card *card, uint32_t min, uint32_t max)
{
	if (!card)
		return MD_E_INVALID_PARAMETER;
	if (card->version < min)
		return MD_ERROR_REVISION_MISMATCH;
	if (card->version > max)
		card->version = max;
	return MD_OK;
}

enum md_rv
md_card_acquire(struct md_registry *reg, struct mdp_transport *t, uint32_t version, unsigned flags,
		struct md_card **out)
{
	struct md_card *card = NULL;
	struct md_host_data *h = NULL;
	struct mdp_transport_status st;
	void *plugin = NULL;
	enum mdp_err e;
	enum md_rv rv;
	bool locked = false;

	if (!t || !out)
		return MD_E_INVALID_PARAMETER;
	if (flags & ~MD_ACQUIRE_NO_CARD_MODE)
		return MD_E_INVALID_PARAMETER;
	if (flags & MD_ACQUIRE_NO_CARD_MODE)
		return MD_E_UNSUPPORTED_FEATURE;
	e = mdp_transport_status(t, &st);
	if (e != MDP_OK)
		return md_rv_from_err(e);
	if (!st.present)
		return MD_E_NO_SMARTCARD;
	card = calloc(1, sizeof(*card));
	h = calloc(1, sizeof(*h));
	if (!card || !h) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	h->transport = t;
	card->struct_size = sizeof(*card);
	card->version = version;
	memcpy(card->atr, st.atr, st.atr_len);
	card->atr_len = st.atr_len;
	card->host = &host_callbacks;
	card->host_data = h;
	e = mdp_transport_begin(t);
	if (e != MDP_OK && e != MDP_ERR_CARD_RESET) {
		rv = md_rv_from_err(e);
		goto out;
	}
	locked = true;
	rv = md_registry_acquire(reg, card, flags, &plugin);
	if (rv != MD_OK)
		goto out;
	h->plugin = plugin;
	plugin = NULL;
	snprintf(h->name, sizeof(h->name), "%s", card->card_name);
	log_debug("card module %s acquired, CARD_DATA version %u", card->card_name,
		  (unsigned)card->version);
	*out = card;
	card = NULL;
	h = NULL;
out:
	if (locked)
		mdp_transport_end(t, MDP_LEAVE_CARD);
	if (plugin)
		md_registry_unload(plugin);
	free(h);
	free(card);
	return rv;
}

enum md_rv
md_card_delete(struct md_card *card)
{
	enum md_rv rv = MD_OK;
	struct md_host_data *h;

	if (!card)
		return MD_OK;
	h = card->host_data;
	if (card->ops && card->ops->delete_context)
		rv = card->ops->delete_context(card);
	if (h && h->plugin)
		md_registry_unload(h->plugin);
	free(h);
	free(card);
	return rv;
}

struct mdp_transport *
md_card_transport(struct md_card *card)
{
	return card && card->host_data ? hd(card)->transport : NULL;
}

const char *
md_card_name(const struct md_card *card)
{
	return card ? card->card_name : "";
}

void
md_card_set_cache(struct md_card *card, const struct md_cache_callbacks *cb, void *ctx)
{
	if (!card)
		return;
	if (cb)
		hd(card)->cache = *cb;
	else
		memset(&hd(card)->cache, 0, sizeof(hd(card)->cache));
	card->cache_context = ctx;
}

enum md_rv
md_card_begin(struct md_card *card)
{
	enum mdp_err e;

	if (!card)
		return MD_E_INVALID_PARAMETER;
	e = mdp_transport_begin(hd(card)->transport);
	if (e == MDP_ERR_CARD_RESET) {
		/* we hold the transaction; the caller learns that its login state is gone */
		card->resets++;
		return MD_W_RESET_CARD;
	}
	return md_rv_from_err(e);
}

enum md_rv
md_card_end(struct md_card *card, bool reset)
{
	if (!card)
		return MD_E_INVALID_PARAMETER;
	if (reset)
		card->resets++;
	return md_rv_from_err(
		mdp_transport_end(hd(card)->transport, reset ? MDP_RESET_CARD : MDP_LEAVE_CARD));
}

bool
md_card_mark(struct md_card *card, uint64_t *mark)
{
	if (!card || !card->host_data || !mark)
		return false;
	return mdp_transport_mark(hd(card)->transport, mark) == MDP_OK;
}

/*
 * Every wrapper: check, enter a transaction, call, leave. A reset seen when
 * the transaction starts ends the call with MD_W_RESET_CARD before the
 * module runs: whatever the caller authenticated is gone.
 */
static enum md_rv
enter(struct md_card *card)
{
	enum md_rv rv = md_card_begin(card);

	if (rv == MD_W_RESET_CARD)
		mdp_transport_end(hd(card)->transport, MDP_LEAVE_CARD);
	return rv;
}

static enum md_rv
leave(struct md_card *card, enum md_rv rv)
{
	mdp_transport_end(hd(card)->transport, MDP_LEAVE_CARD);
	if (rv != MD_OK)
		log_debug("%s", md_rv_name(rv));
	return rv;
}

#define CALL(card, op, ...) \
	((card)->ops->op ? (card)->ops->op((card), __VA_ARGS__) : MD_E_UNSUPPORTED_FEATURE)

static bool
valid_card(const struct md_card *card)
{
	return card && card->ops && card->host_data;
}

/* Structure version rule (§2): 0 counts as 1; above current is a mismatch. */
static enum md_rv
check_version(uint32_t *v, uint32_t current)
{
	if (*v == 0)
		*v = 1;
	return *v > current ? MD_ERROR_REVISION_MISMATCH : MD_OK;
}

static bool
known_key_spec(uint32_t spec)
{
	return spec >= MDP_AT_KEYEXCHANGE && spec <= MDP_AT_ECDHE_P521;
}

static bool
valid_name(const char *s, bool may_be_null)
{
	size_t n;

	if (!s)
		return may_be_null;
	n = strlen(s);
	return n >= 1 && n <= MD_MAX_NAME && !strchr(s, '/') && !strchr(s, '\\');
}

enum md_rv
md_query_capabilities(struct md_card *card, struct md_capabilities *caps)
{
	struct md_capabilities c;
	enum md_rv rv;

	if (!valid_card(card) || !caps)
		return MD_E_INVALID_PARAMETER;
	c = *caps;
	rv = check_version(&c.version, MD_CAPABILITIES_VERSION);
	if (rv != MD_OK)
		return rv;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	rv = leave(card, CALL(card, query_capabilities, &c));
	if (rv == MD_OK)
		*caps = c;
	return rv;
}

enum md_rv
md_delete_container(struct md_card *card, uint8_t index, uint32_t reserved)
{
	enum md_rv rv;

	if (!valid_card(card) || reserved != 0)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, delete_container, index, reserved));
}

enum md_rv
md_create_container_ex(struct md_card *card, uint8_t index, uint32_t flags, uint32_t key_spec,
		       uint32_t key_size, const uint8_t *key_data, size_t key_data_len,
		       uint32_t pin_id)
{
	enum md_rv rv;

	if (!valid_card(card))
		return MD_E_INVALID_PARAMETER;
	if (flags != MD_CREATE_KEY_GEN && flags != MD_CREATE_KEY_IMPORT)
		return MD_E_INVALID_PARAMETER;
	if (!known_key_spec(key_spec))
		return MD_E_INVALID_PARAMETER;
	/* ECC key generation: the curve is in the key spec, dwKeySize must be 0 (§4.2). */
	if (flags == MD_CREATE_KEY_GEN && MDP_KEY_SPEC_IS_EC(key_spec) && key_size != 0)
		return MD_E_INVALID_PARAMETER;
	if (flags == MD_CREATE_KEY_GEN && MDP_KEY_SPEC_IS_RSA(key_spec) && key_size == 0)
		return MD_E_INVALID_PARAMETER;
	if (flags == MD_CREATE_KEY_IMPORT && (!key_data || key_data_len == 0))
		return MD_E_INVALID_PARAMETER;
	if (pin_id == MD_ROLE_EVERYONE || pin_id >= MD_MAX_PINS)
		return MD_E_INVALID_PARAMETER;
	/* A key owned by the administrator cannot be created (OpenSC, §4.2). */
	if (pin_id == MD_ROLE_ADMIN)
		return MD_W_SECURITY_VIOLATION;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, create_container, index, flags, key_spec, key_size, key_data,
				key_data_len, pin_id));
}

enum md_rv
md_create_container(struct md_card *card, uint8_t index, uint32_t flags, uint32_t key_spec,
		    uint32_t key_size, const uint8_t *key_data, size_t key_data_len)
{
	return md_create_container_ex(card, index, flags, key_spec, key_size, key_data,
				      key_data_len, MD_ROLE_USER);
}

enum md_rv
md_get_container_info(struct md_card *card, uint8_t index, uint32_t flags,
		      struct md_container_info *info)
{
	struct md_container_info ci;
	enum md_rv rv;

	if (!valid_card(card) || !info || flags != 0)
		return MD_E_INVALID_PARAMETER;
	memset(&ci, 0, sizeof(ci));
	ci.version = info->version;
	rv = check_version(&ci.version, MD_CONTAINER_INFO_VERSION);
	if (rv != MD_OK)
		return rv;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	rv = leave(card, CALL(card, get_container_info, index, flags, &ci));
	if (rv == MD_OK)
		*info = ci;
	else
		md_container_info_clear(&ci);
	return rv;
}

void
md_container_info_clear(struct md_container_info *info)
{
	if (!info)
		return;
	free(info->sig_public_key);
	free(info->kx_public_key);
	info->sig_public_key = NULL;
	info->kx_public_key = NULL;
	info->sig_public_key_len = 0;
	info->kx_public_key_len = 0;
}

static int
user_to_pin_id(const char *user)
{
	if (!user)
		return -1;
	if (strcmp(user, "user") == 0)
		return MD_ROLE_USER;
	if (strcmp(user, "admin") == 0)
		return MD_ROLE_ADMIN;
	if (strcmp(user, "anonymous") == 0)
		return MD_ROLE_EVERYONE;
	return -1;
}

enum md_rv
md_authenticate_ex(struct md_card *card, uint32_t pin_id, uint32_t flags, const uint8_t *pin,
		   size_t pin_len, uint8_t **session_pin, size_t *session_pin_len,
		   uint32_t *tries_left)
{
	const uint32_t known =
		MD_AUTH_GENERATE_SESSION_PIN | MD_AUTH_SESSION_PIN | MD_PIN_SILENT_CONTEXT;
	enum md_rv rv;

	if (!valid_card(card) || pin_id >= MD_MAX_PINS || pin_id == MD_ROLE_EVERYONE)
		return MD_E_INVALID_PARAMETER;
	if (flags & ~known)
		return MD_E_INVALID_PARAMETER;
	if ((flags & MD_AUTH_GENERATE_SESSION_PIN) && (flags & MD_AUTH_SESSION_PIN))
		return MD_E_INVALID_PARAMETER;
	if ((flags & MD_AUTH_GENERATE_SESSION_PIN) && (!session_pin || !session_pin_len))
		return MD_E_INVALID_PARAMETER;
	if (!pin && pin_len)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, authenticate_ex, pin_id, flags, pin, pin_len, session_pin,
				session_pin_len, tries_left));
}

enum md_rv
md_authenticate_pin(struct md_card *card, const char *user, const uint8_t *pin, size_t pin_len,
		    uint32_t *tries_left)
{
	int id = user_to_pin_id(user);

	if (id <= 0 || !pin || !pin_len)
		return MD_E_INVALID_PARAMETER;
	return md_authenticate_ex(card, (uint32_t)id, 0, pin, pin_len, NULL, NULL, tries_left);
}

enum md_rv
md_get_challenge_ex(struct md_card *card, uint32_t pin_id, uint8_t **challenge, size_t *len,
		    uint32_t flags)
{
	enum md_rv rv;

	if (!valid_card(card) || !challenge || !len || flags != 0 || pin_id >= MD_MAX_PINS)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, get_challenge_ex, pin_id, challenge, len, flags));
}

enum md_rv
md_get_challenge(struct md_card *card, uint8_t **challenge, size_t *len)
{
	return md_get_challenge_ex(card, MD_ROLE_ADMIN, challenge, len, 0);
}

enum md_rv
md_authenticate_challenge(struct md_card *card, const uint8_t *response, size_t len,
			  uint32_t *tries_left)
{
	if (!response || !len)
		return MD_E_INVALID_PARAMETER;
	return md_authenticate_ex(card, MD_ROLE_ADMIN, 0, response, len, NULL, NULL, tries_left);
}

enum md_rv
md_change_authenticator_ex(struct md_card *card, uint32_t flags, uint32_t auth_pin_id,
			   const uint8_t *auth, size_t auth_len, uint32_t target_pin_id,
			   const uint8_t *target, size_t target_len, uint32_t retry_count,
			   uint32_t *tries_left)
{
	uint32_t op = flags & ~MD_PIN_SILENT_CONTEXT;
	enum md_rv rv;

	if (!valid_card(card))
		return MD_E_INVALID_PARAMETER;
	/* exactly one of UNBLOCK / CHANGEPIN, optionally with the silent flag */
	if (op != MD_PIN_CHANGE_UNBLOCK && op != MD_PIN_CHANGE_CHANGEPIN)
		return MD_E_INVALID_PARAMETER;
	if (auth_pin_id >= MD_MAX_PINS || target_pin_id >= MD_MAX_PINS ||
	    auth_pin_id == MD_ROLE_EVERYONE || target_pin_id == MD_ROLE_EVERYONE)
		return MD_E_INVALID_PARAMETER;
	if (op == MD_PIN_CHANGE_UNBLOCK && auth_pin_id == target_pin_id)
		return MD_E_INVALID_PARAMETER;
	if (op == MD_PIN_CHANGE_CHANGEPIN && auth_pin_id != target_pin_id)
		return MD_E_INVALID_PARAMETER;
	if (!auth || !auth_len || !target || !target_len)
		return MD_E_INVALID_PARAMETER;
	/* cRetryCount must be 0 for the Ex function (§6.3) */
	if (retry_count != 0)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, change_authenticator_ex, flags, auth_pin_id, auth, auth_len,
				target_pin_id, target, target_len, retry_count, tries_left));
}

enum md_rv
md_unblock_pin(struct md_card *card, const char *user, const uint8_t *auth, size_t auth_len,
	       const uint8_t *new_pin, size_t new_pin_len, uint32_t retry_count, uint32_t flags)
{
	if (user_to_pin_id(user) != MD_ROLE_USER)
		return MD_E_INVALID_PARAMETER;
	if (flags != MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE && flags != MD_AUTHENTICATE_PIN_PIN)
		return MD_E_INVALID_PARAMETER;
	/* A new retry limit cannot be set on GIDS-like cards; 0 keeps the current one. */
	if (retry_count != 0)
		return MD_E_UNSUPPORTED_FEATURE;
	return md_change_authenticator_ex(card, MD_PIN_CHANGE_UNBLOCK, MD_ROLE_ADMIN, auth,
					  auth_len, MD_ROLE_USER, new_pin, new_pin_len, 0, NULL);
}

enum md_rv
md_change_authenticator(struct md_card *card, const char *user, const uint8_t *cur, size_t cur_len,
			const uint8_t *new_auth, size_t new_len, uint32_t retry_count,
			uint32_t flags, uint32_t *tries_left)
{
	int id = user_to_pin_id(user);

	if (id <= 0)
		return MD_E_INVALID_PARAMETER;
	if (flags != MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE && flags != MD_AUTHENTICATE_PIN_PIN)
		return MD_E_INVALID_PARAMETER;
	if (retry_count != 0)
		return MD_E_UNSUPPORTED_FEATURE;
	return md_change_authenticator_ex(card, MD_PIN_CHANGE_CHANGEPIN, (uint32_t)id, cur, cur_len,
					  (uint32_t)id, new_auth, new_len, 0, tries_left);
}

enum md_rv
md_deauthenticate_ex(struct md_card *card, uint32_t pin_set, uint32_t flags)
{
	enum md_rv rv;

	if (!valid_card(card) || flags != 0 || pin_set == 0)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, deauthenticate_ex, pin_set, flags));
}

enum md_rv
md_deauthenticate(struct md_card *card, const char *user, uint32_t flags)
{
	int id = user_to_pin_id(user);

	if (id <= 0)
		return MD_E_INVALID_PARAMETER;
	return md_deauthenticate_ex(card, MD_PIN_SET((uint32_t)id), flags);
}

enum md_rv
md_admin_response_3des(const uint8_t key[24], const uint8_t *challenge, size_t len,
		       uint8_t **response, size_t *response_len)
{
	static const uint8_t iv[8] = {0};
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *out = NULL;
	int n = 0, m = 0;
	enum md_rv rv = MD_E_UNEXPECTED;

	if (!key || !challenge || !len || len % 8 || len > 4096 || !response || !response_len)
		return MD_E_INVALID_PARAMETER;
	out = malloc(len + 8);
	ctx = EVP_CIPHER_CTX_new();
	if (!out || !ctx) {
		rv = MD_E_NO_MEMORY;
		goto out;
	}
	if (EVP_EncryptInit_ex(ctx, EVP_des_ede3_cbc(), NULL, key, iv) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n, challenge, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + n, &m) != 1 || (size_t)(n + m) != len)
		goto out;
	*response = out;
	*response_len = len;
	out = NULL;
	rv = MD_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	mdp_secure_free(out, len + 8);
	return rv;
}

enum md_rv
md_create_directory(struct md_card *card, const char *dir, enum md_dir_access access)
{
	enum md_rv rv;

	if (!valid_card(card) || !valid_name(dir, false))
		return MD_E_INVALID_PARAMETER;
	if (access != MD_DIR_AC_USER_CREATE_DELETE && access != MD_DIR_AC_ADMIN_CREATE_DELETE)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, create_directory, dir, access));
}

enum md_rv
md_delete_directory(struct md_card *card, const char *dir)
{
	enum md_rv rv;

	if (!valid_card(card) || !valid_name(dir, false))
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, delete_directory, dir));
}

enum md_rv
md_create_file(struct md_card *card, const char *dir, const char *file, uint32_t initial_size,
	       enum md_file_access access)
{
	enum md_rv rv;

	if (!valid_card(card) || !valid_name(dir, true) || !valid_name(file, false))
		return MD_E_INVALID_PARAMETER;
	if (access == MD_AC_INVALID || access == MD_AC_UNKNOWN || access > MD_AC_ADMIN_READ_WRITE)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, create_file, dir, file, initial_size, access));
}

enum md_rv
md_read_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
	     uint8_t **data, size_t *len)
{
	enum md_rv rv;

	if (!valid_card(card) || !valid_name(dir, true) || !valid_name(file, false) || flags ||
	    !data || !len)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, read_file, dir, file, flags, data, len));
}

enum md_rv
md_write_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
	      const uint8_t *data, size_t len)
{
	enum md_rv rv;

	if (!valid_card(card) || !valid_name(dir, true) || !valid_name(file, false) || flags ||
	    (!data && len))
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, write_file, dir, file, flags, data, len));
}

enum md_rv
md_delete_file(struct md_card *card, const char *dir, const char *file, uint32_t flags)
{
	enum md_rv rv;

	if (!valid_card(card) || !valid_name(dir, true) || !valid_name(file, false) || flags)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, delete_file, dir, file, flags));
}

enum md_rv
md_enum_files(struct md_card *card, const char *dir, char **names, size_t *len, uint32_t flags)
{
	enum md_rv rv;

	if (names)
		*names = NULL;
	if (!valid_card(card) || !valid_name(dir, true) || !names || !len || flags)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, enum_files, dir, names, len, flags));
}

enum md_rv
md_get_file_info(struct md_card *card, const char *dir, const char *file, struct md_file_info *info)
{
	struct md_file_info fi;
	enum md_rv rv;

	if (!valid_card(card) || !valid_name(dir, true) || !valid_name(file, false) || !info)
		return MD_E_INVALID_PARAMETER;
	fi = *info;
	rv = check_version(&fi.version, MD_FILE_INFO_VERSION);
	if (rv != MD_OK)
		return rv;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	rv = leave(card, CALL(card, get_file_info, dir, file, &fi));
	if (rv == MD_OK)
		*info = fi;
	return rv;
}

enum md_rv
md_query_free_space(struct md_card *card, uint32_t flags, struct md_free_space *info)
{
	struct md_free_space fs;
	enum md_rv rv;

	if (!valid_card(card) || !info || flags)
		return MD_E_INVALID_PARAMETER;
	fs = *info;
	rv = check_version(&fs.version, MD_FREE_SPACE_VERSION);
	if (rv != MD_OK)
		return rv;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	rv = leave(card, CALL(card, query_free_space, flags, &fs));
	if (rv == MD_OK)
		*info = fs;
	return rv;
}

enum md_rv
md_query_key_sizes(struct md_card *card, uint32_t key_spec, uint32_t flags,
		   struct md_key_sizes *sizes)
{
	struct md_key_sizes ks;
	enum md_rv rv;

	if (!valid_card(card) || !sizes || flags || !known_key_spec(key_spec))
		return MD_E_INVALID_PARAMETER;
	ks = *sizes;
	rv = check_version(&ks.version, MD_KEY_SIZES_VERSION);
	if (rv != MD_OK)
		return rv;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	rv = leave(card, CALL(card, query_key_sizes, key_spec, flags, &ks));
	if (rv == MD_OK)
		*sizes = ks;
	return rv;
}

enum md_rv
md_sign_data(struct md_card *card, struct md_signing_info *info)
{
	enum md_rv rv;

	if (!valid_card(card) || !info || !info->data || !info->data_len)
		return MD_E_INVALID_PARAMETER;
	if (info->version == 0)
		info->version = 1;
	if (info->version > MD_SIGNING_INFO_VERSION)
		return MD_ERROR_REVISION_MISMATCH;
	if (info->flags & ~(MD_PADDING_INFO_PRESENT | MD_BUFFER_SIZE_ONLY))
		return MD_E_INVALID_PARAMETER;
	if (!known_key_spec(info->key_spec))
		return MD_E_INVALID_PARAMETER;
	if (info->flags & MD_PADDING_INFO_PRESENT) {
		/* padding info exists from structure version 2 on */
		if (info->version < 2)
			return MD_ERROR_REVISION_MISMATCH;
		if (info->padding_type != MD_PADDING_NONE &&
		    info->padding_type != MD_PADDING_PKCS1 && info->padding_type != MD_PADDING_PSS)
			return MD_E_INVALID_PARAMETER;
		if (info->padding_type == MD_PADDING_PSS &&
		    (!info->padding_info || !info->padding_info->alg_id))
			return MD_E_INVALID_PARAMETER;
		if (MDP_KEY_SPEC_IS_EC(info->key_spec) && info->padding_type != MD_PADDING_NONE)
			return MD_E_INVALID_PARAMETER;
	}
	info->signature = NULL;
	info->signature_len = 0;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, sign_data, info));
}

enum md_rv
md_rsa_decrypt(struct md_card *card, struct md_rsa_decrypt_info *info)
{
	enum md_rv rv;

	if (!valid_card(card) || !info || !info->data || !info->data_len)
		return MD_E_INVALID_PARAMETER;
	if (info->version == 0)
		info->version = 1;
	if (info->version > MD_RSA_DECRYPT_INFO_VERSION)
		return MD_ERROR_REVISION_MISMATCH;
	/* with CARD_DATA v7 the v1 structure (host-side unpadding) is a mismatch (§2) */
	if (card->version >= MD_CARD_DATA_VERSION_SEVEN && info->version < 2)
		return MD_ERROR_REVISION_MISMATCH;
	if (!MDP_KEY_SPEC_IS_RSA(info->key_spec))
		return MD_E_INVALID_PARAMETER;
	/* the v1 structure has no padding fields: the module returns the raw block (§4.6) */
	if (info->version < 2) {
		info->padding_type = MD_PADDING_NONE;
		info->padding_info = NULL;
	}
	if (info->version >= 2 && info->padding_type != MD_PADDING_NONE &&
	    info->padding_type != MD_PADDING_PKCS1 && info->padding_type != MD_PADDING_OAEP)
		return MD_E_INVALID_PARAMETER;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, rsa_decrypt, info));
}

enum md_rv
md_construct_dh_agreement(struct md_card *card, struct md_dh_agreement_info *info)
{
	enum md_rv rv;

	if (!valid_card(card) || !info || !info->public_key || !info->public_key_len)
		return MD_E_INVALID_PARAMETER;
	/* v1 is obsolete and must not be implemented (§2) */
	if (info->version != MD_DH_AGREEMENT_INFO_VERSION)
		return MD_ERROR_REVISION_MISMATCH;
	if (info->flags != 0)
		return MD_E_INVALID_PARAMETER;
	if (card->version < MD_CARD_DATA_VERSION_FIVE)
		return MD_E_UNSUPPORTED_FEATURE;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, construct_dh_agreement, info));
}

enum md_rv
md_derive_key(struct md_card *card, struct md_derive_key *info)
{
	const uint32_t known =
		MD_BUFFER_SIZE_ONLY | MD_KDF_USE_SECRET_AS_HMAC_KEY | MD_RETURN_KEY_HANDLE;
	enum md_rv rv;

	if (!valid_card(card) || !info || !info->kdf || (info->param_count && !info->params))
		return MD_E_INVALID_PARAMETER;
	if (info->version == 0)
		info->version = 1;
	if (info->version > MD_DERIVE_KEY_VERSION)
		return MD_ERROR_REVISION_MISMATCH;
	if (info->flags & ~known)
		return MD_E_INVALID_PARAMETER;
	/* symmetric key handles are not offered (no secure key injection) */
	if (info->flags & MD_RETURN_KEY_HANDLE)
		return MD_E_UNSUPPORTED_FEATURE;
	if (card->version < MD_CARD_DATA_VERSION_FIVE)
		return MD_E_UNSUPPORTED_FEATURE;
	info->derived_key = NULL;
	info->derived_key_len = 0;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, derive_key, info));
}

enum md_rv
md_destroy_dh_agreement(struct md_card *card, uint8_t index, uint32_t flags)
{
	enum md_rv rv;

	if (!valid_card(card) || flags)
		return MD_E_INVALID_PARAMETER;
	if (card->version < MD_CARD_DATA_VERSION_FIVE)
		return MD_E_UNSUPPORTED_FEATURE;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, destroy_dh_agreement, index, flags));
}

enum md_rv
md_get_property(struct md_card *card, const char *name, void *data, size_t cap, size_t *len,
		uint32_t flags)
{
	enum md_rv rv;

	if (!valid_card(card) || !name || !len || (!data && cap))
		return MD_E_INVALID_PARAMETER;
	if (card->version < MD_CARD_DATA_VERSION_SIX)
		return MD_E_UNSUPPORTED_FEATURE;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, get_property, name, data, cap, len, flags));
}

enum md_rv
md_set_property(struct md_card *card, const char *name, const void *data, size_t len,
		uint32_t flags)
{
	enum md_rv rv;

	if (!valid_card(card) || !name || (!data && len))
		return MD_E_INVALID_PARAMETER;
	if (card->version < MD_CARD_DATA_VERSION_SIX)
		return MD_E_UNSUPPORTED_FEATURE;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, set_property, name, data, len, flags));
}

enum md_rv
md_get_container_property(struct md_card *card, uint8_t index, const char *name, void *data,
			  size_t cap, size_t *len, uint32_t flags)
{
	enum md_rv rv;

	if (!valid_card(card) || !name || !len || (!data && cap) || flags)
		return MD_E_INVALID_PARAMETER;
	if (card->version < MD_CARD_DATA_VERSION_SIX)
		return MD_E_UNSUPPORTED_FEATURE;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, get_container_property, index, name, data, cap, len, flags));
}

enum md_rv
md_set_container_property(struct md_card *card, uint8_t index, const char *name, const void *data,
			  size_t len, uint32_t flags)
{
	enum md_rv rv;

	if (!valid_card(card) || !name || (!data && len) || flags)
		return MD_E_INVALID_PARAMETER;
	if (card->version < MD_CARD_DATA_VERSION_SIX)
		return MD_E_UNSUPPORTED_FEATURE;
	rv = enter(card);
	if (rv != MD_OK)
		return rv;
	return leave(card, CALL(card, set_container_property, index, name, data, len, flags));
}
