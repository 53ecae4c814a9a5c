/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The minidriver interface, host side: acquire a card module for a card and call its operations. */
#ifndef MDP11_MINIDRIVER_CARD_H
#define MDP11_MINIDRIVER_CARD_H

/*
 * The interface types (enum md_rv, struct md_card, struct md_card_ops, the
 * versioned structures and constants) live in the installed header
 * mdp11/card-module.h, because external card modules implement them too.
 * This header adds what the host (ksp/ksp.c, tools, tests) calls:
 *
 *  - md_card_acquire() picks the card module through the registry (GIDS by
 *    AID probe, configured ATR bindings, plugins), negotiates the CARD_DATA
 *    version and returns the context; md_card_delete() ends it.
 *  - md_*() wrappers, one per Card* function of the v7 specification. Each
 *    checks what the specification constrains (structure versions, flags,
 *    key specs, pointers, negotiated version), takes a card transaction for
 *    the call (transactions nest: a host may hold one over several calls
 *    with md_card_begin/md_card_end), calls the module, and converts a card
 *    reset seen during the call into MD_W_RESET_CARD (once; the caller's
 *    login state is gone and it retries after re-authenticating).
 *
 * Memory returned through pointer-to-pointer parameters is malloc'ed; the
 * caller frees it (free(), or mdp_secure_free() for secrets such as derived
 * keys and session PINs). Container info blobs: md_container_info_clear().
 */

#include "common/error.h"
#include "mdp11/keyspec.h"
#include "mdp11/card-module.h"
#include "transport/transport.h"

struct mdp_config;
struct md_registry;

/* "MD_E_INVALID_PARAMETER", ...; "MD_UNKNOWN" for other values. Never NULL. */
const char *md_rv_name(enum md_rv rv);
/* The md_rv for a src/ layer error (transport events become MD_W_RESET_CARD, MD_W_REMOVED_CARD,
 * ...). */
enum md_rv md_rv_from_err(enum mdp_err err);

/* ---- registry (minidriver/registry.c) ---- */

/*
 * Card-module selection from the configuration: every section
 *   [card_module "name"]
 *   atr = 3B:80:80:01:01        (hex, separators ':' ' ' optional)
 *   atr_mask = FF:FF:FF:FF:FF   (optional; default all FF)
 *   module = gids | piv | <path of a plugin .so>
 * binds cards whose ATR matches to a module. Cards that match no entry go to
 * the PIV module when their ATR names a YubiKey, else are probed for GIDS
 * (SELECT of the GIDS AID), then for PIV. cfg may be NULL (built-in modules).
 * MD_E_INVALID_PARAMETER (reason in mdp_err_last()) for a bad entry.
 */
enum md_rv md_registry_new(const struct mdp_config *cfg, struct md_registry **out);
void md_registry_free(struct md_registry *reg);
/*
 * Bind an ATR pattern to a module by hand (tests, tools): module "gids", "piv" or a
 * plugin path. The plugin is loaded and its interface version checked here
 * (MD_E_UNKNOWN_CARD with a reason when it cannot be used).
 */
enum md_rv md_registry_add(struct md_registry *reg, const char *name, const uint8_t *atr,
			   const uint8_t *mask, size_t atr_len, const char *module);

/* ---- context ---- */

/*
 * CardAcquireContext through the registry (reg NULL: built-in modules only).
 * version: the CARD_DATA version wanted (MD_CARD_DATA_CURRENT_VERSION);
 * MD_ERROR_REVISION_MISMATCH when below what the module supports. flags: 0
 * (MD_ACQUIRE_NO_CARD_MODE is not supported: MD_E_UNSUPPORTED_FEATURE;
 * other bits: MD_E_INVALID_PARAMETER). MD_E_UNKNOWN_CARD when no module takes
 * the card, MD_E_NO_SMARTCARD when the reader is empty. The transport is
 * borrowed and must outlive the context.
 */
enum md_rv md_card_acquire(struct md_registry *reg, struct mdp_transport *t, uint32_t version,
			   unsigned flags, struct md_card **out);
/* CardDeleteContext and free; NULL is a no-op. Never assumes the card is still there. */
enum md_rv md_card_delete(struct md_card *card);
/* The transport of a context (built-in modules use it for their APDUs). */
struct mdp_transport *md_card_transport(struct md_card *card);
/* Module name ("GIDS" or the configured name). */
const char *md_card_name(const struct md_card *card);
/*
 * Version negotiation for modules (§2): with the requested version in
 * card->version, MD_ERROR_REVISION_MISMATCH when it is below min, else
 * card->version = min(requested, max).
 */
enum md_rv md_negotiate_version(struct md_card *card, uint32_t min, uint32_t max);

/* Host cache callbacks (pfnCspCache*File); any may be NULL. ctx is passed back as
 * card->cache_context. */
struct md_cache_callbacks {
	enum md_rv (*add)(void *ctx, const char *tag, const uint8_t *data, size_t len);
	enum md_rv (*lookup)(void *ctx, const char *tag, uint8_t **data, size_t *len);
	enum md_rv (*del)(void *ctx, const char *tag);
};
void md_card_set_cache(struct md_card *card, const struct md_cache_callbacks *cb, void *ctx);

/* An explicit transaction over several calls (nests with the per-call ones). */
enum md_rv md_card_begin(struct md_card *card);
/* reset true: end with a card reset (logs everyone out: the fallback of CardDeauthenticate). */
enum md_rv md_card_end(struct md_card *card, bool reset);

/*
 * The transport's change mark (mdp_transport_mark): true and *mark when the link can tell that
 * nobody else touched the card between two marks, false when it cannot (PC/SC).
 */
bool md_card_mark(struct md_card *card, uint64_t *mark);

/*
 * For built-in modules: one command with framing (apdu.h) through the
 * context's transport; a reset seen here increments card->resets and is
 * returned as MDP_ERR_CARD_RESET.
 */
struct mdp_apdu;
struct mdp_buf;
enum mdp_err md_card_exchange(struct md_card *card, const struct mdp_apdu *a, struct mdp_buf *resp,
			      uint16_t *sw);

/* ---- Card* operations ---- */

enum md_rv md_query_capabilities(struct md_card *card, struct md_capabilities *caps);
/* CardDeleteContainer: reserved must be 0. Empty or invalid index: success (v7 text). */
enum md_rv md_delete_container(struct md_card *card, uint8_t index, uint32_t reserved);
/* CardCreateContainer (PIN ROLE_USER) and CardCreateContainerEx. */
enum md_rv md_create_container(struct md_card *card, uint8_t index, uint32_t flags,
			       uint32_t key_spec, uint32_t key_size, const uint8_t *key_data,
			       size_t key_data_len);
enum md_rv md_create_container_ex(struct md_card *card, uint8_t index, uint32_t flags,
				  uint32_t key_spec, uint32_t key_size, const uint8_t *key_data,
				  size_t key_data_len, uint32_t pin_id);
enum md_rv md_get_container_info(struct md_card *card, uint8_t index, uint32_t flags,
				 struct md_container_info *info);
/* Free the blobs of a container info (keeps version). */
void md_container_info_clear(struct md_container_info *info);

/* CardAuthenticatePin: user "user" (or "admin" for a PIN-type admin); tries_left may be NULL. */
enum md_rv md_authenticate_pin(struct md_card *card, const char *user, const uint8_t *pin,
			       size_t pin_len, uint32_t *tries_left);
enum md_rv md_authenticate_ex(struct md_card *card, uint32_t pin_id, uint32_t flags,
			      const uint8_t *pin, size_t pin_len, uint8_t **session_pin,
			      size_t *session_pin_len, uint32_t *tries_left);
/* CardGetChallenge / CardAuthenticateChallenge: the admin (ROLE_ADMIN) challenge/response. */
enum md_rv md_get_challenge(struct md_card *card, uint8_t **challenge, size_t *len);
enum md_rv md_get_challenge_ex(struct md_card *card, uint32_t pin_id, uint8_t **challenge,
			       size_t *len, uint32_t flags);
enum md_rv md_authenticate_challenge(struct md_card *card, const uint8_t *response, size_t len,
				     uint32_t *tries_left);
/* CardUnblockPin: user must be "user"; flags MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE or _PIN. */
enum md_rv md_unblock_pin(struct md_card *card, const char *user, const uint8_t *auth,
			  size_t auth_len, const uint8_t *new_pin, size_t new_pin_len,
			  uint32_t retry_count, uint32_t flags);
/* CardChangeAuthenticator: change the user PIN ("user", flags _PIN) or the admin key ("admin",
 * flags _CHALLENGE_RESPONSE). */
enum md_rv md_change_authenticator(struct md_card *card, const char *user, const uint8_t *cur,
				   size_t cur_len, const uint8_t *new_auth, size_t new_len,
				   uint32_t retry_count, uint32_t flags, uint32_t *tries_left);
enum md_rv md_change_authenticator_ex(struct md_card *card, uint32_t flags, uint32_t auth_pin_id,
				      const uint8_t *auth, size_t auth_len, uint32_t target_pin_id,
				      const uint8_t *target, size_t target_len,
				      uint32_t retry_count, uint32_t *tries_left);
enum md_rv md_deauthenticate(struct md_card *card, const char *user, uint32_t flags);
enum md_rv md_deauthenticate_ex(struct md_card *card, uint32_t pin_set, uint32_t flags);

/*
 * The response a 3DES admin key gives to a challenge from md_get_challenge()
 * (3DES-CBC, zero IV, over the whole challenge: spec/gids.md §7.3 and
 * docs/minidriver.md). key is 24 bytes; *response is malloc'ed.
 */
enum md_rv md_admin_response_3des(const uint8_t key[24], const uint8_t *challenge, size_t len,
				  uint8_t **response, size_t *response_len);

enum md_rv md_create_directory(struct md_card *card, const char *dir, enum md_dir_access access);
enum md_rv md_delete_directory(struct md_card *card, const char *dir);
enum md_rv md_create_file(struct md_card *card, const char *dir, const char *file,
			  uint32_t initial_size, enum md_file_access access);
enum md_rv md_read_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
			uint8_t **data, size_t *len);
enum md_rv md_write_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
			 const uint8_t *data, size_t len);
enum md_rv md_delete_file(struct md_card *card, const char *dir, const char *file, uint32_t flags);
enum md_rv md_enum_files(struct md_card *card, const char *dir, char **names, size_t *len,
			 uint32_t flags);
enum md_rv md_get_file_info(struct md_card *card, const char *dir, const char *file,
			    struct md_file_info *info);
enum md_rv md_query_free_space(struct md_card *card, uint32_t flags, struct md_free_space *info);
enum md_rv md_query_key_sizes(struct md_card *card, uint32_t key_spec, uint32_t flags,
			      struct md_key_sizes *sizes);

enum md_rv md_sign_data(struct md_card *card, struct md_signing_info *info);
enum md_rv md_rsa_decrypt(struct md_card *card, struct md_rsa_decrypt_info *info);
enum md_rv md_construct_dh_agreement(struct md_card *card, struct md_dh_agreement_info *info);
enum md_rv md_derive_key(struct md_card *card, struct md_derive_key *info);
enum md_rv md_destroy_dh_agreement(struct md_card *card, uint8_t index, uint32_t flags);

enum md_rv md_get_property(struct md_card *card, const char *name, void *data, size_t cap,
			   size_t *len, uint32_t flags);
enum md_rv md_set_property(struct md_card *card, const char *name, const void *data, size_t len,
			   uint32_t flags);
enum md_rv md_get_container_property(struct md_card *card, uint8_t index, const char *name,
				     void *data, size_t cap, size_t *len, uint32_t flags);
enum md_rv md_set_container_property(struct md_card *card, uint8_t index, const char *name,
				     const void *data, size_t len, uint32_t flags);

#endif
