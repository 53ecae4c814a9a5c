/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal interfaces of the PKCS#11 module: global state, locks, slots, sessions, objects. */
#ifndef MDP11_PKCS11_MODULE_H
#define MDP11_PKCS11_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "pkcs11/pkcs11-3.h"
#include "common/error.h"
#include "ksp/ksp.h"

/*
 * Locking (docs/pkcs11.md "Threads"): one module mutex guards the tables (slot list, session
 * handle table); one mutex per slot guards the card, the token's object view and the state of
 * every session of that slot. Order: module, then slot; a thread holding a slot lock never
 * takes the module lock. Slots live until C_Finalize, so a slot pointer stays valid.
 */

/* ---- lock.c: mutexes that honour the C_Initialize locking arguments ---- */
struct mod_mutex;
/* Choose the mutex implementation from the C_Initialize arguments (NULL = no arguments). */
void lock_configure(const CK_C_INITIALIZE_ARGS *args);
CK_RV lock_new(struct mod_mutex **out);
void lock_free(struct mod_mutex *m);
void lock_take(struct mod_mutex *m);
void lock_release(struct mod_mutex *m);

/* ---- rv.c: CK_RV names and the error map (spec/minidriver.md §10.4) ---- */
const char *ckr_name(CK_RV rv);
/* The one map to CK_RV, pure: from the host layer (enum ksp_rv) and from src/ (enum mdp_err:
 * the BLOB translator, the configuration). Side effects on the slot: slot_result_slocked(). */
enum ksp_rv;
CK_RV ckr_from_ksp(enum ksp_rv rv);
CK_RV ckr_from_mdp(enum mdp_err err);

/*
 * ---- refuse.c: why a call was refused ----
 * p11_refuse records the reason for the refusal about to be returned (never a secret) and
 * returns rv; every entry point starts with p11_call_begin() (forget an older reason) and ends
 * with p11_call_result(), which logs the result at level 5 and a refusal with its reason (or
 * what the code means): a refused template or operation at level 2, a call refused because of
 * the caller's state (not logged in, no card, no such session) at level 3.
 */
CK_RV p11_refuse(CK_RV rv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void p11_call_begin(void);
/* "CKA_LABEL" for the common attributes, else "attribute 0x..." (per-thread buffer). */
const char *p11_attr_name(CK_ATTRIBUTE_TYPE type);
void p11_call_result(const char *fn, CK_RV rv);

/* ---- settings.c: mdp11.conf and the environment ---- */
struct settings_vcard {
	char *label;
	char *path;
	char *seal; /* [vcard "label"] seal: where its seal is; NULL: the file's (docs/vcard.md) */
};

/* Errors and warnings (on standard error, or debug_file) unless the configuration says less. */
#define SETTINGS_DEBUG_DEFAULT 2

struct settings {
	int debug; /* 0..5, config "debug" (MDP11_DEBUG wins) */
	char *debug_file;
	bool pcsc;	       /* use PC/SC readers at all */
	char **reader_include; /* fnmatch patterns; none = every reader */
	size_t n_reader_include;
	char **reader_exclude;
	size_t n_reader_exclude;
	struct settings_vcard *vcards;
	size_t n_vcards;
	char *token_label;	  /* label override for every token, or NULL */
	bool ecdh_public_objects; /* [token]: ECDH keys get a token public key object */
	int cache_mode;		  /* SETTINGS_CACHE_* */
	char *cache_dir;
	unsigned rsa_min_bits, rsa_max_bits, rsa_default_bits;
	bool allow_import_exchange, allow_import_signature, allow_import_ecdsa, allow_import_ecdhe;
	struct mdp_config *cfg; /* kept for the card-module registry */
};

enum { SETTINGS_CACHE_MEMORY = 1, SETTINGS_CACHE_PERSISTENT = 2 };

/*
 * Read the configuration (MDP11_CONF or the installed path; a missing file means defaults)
 * and MDP11_VCARD. An invalid file is CKR_GENERAL_ERROR with the reason printed on stderr.
 */
CK_RV settings_load(struct settings *s);
void settings_clear(struct settings *s);
bool settings_reader_wanted(const struct settings *s, const char *reader);
/* The [vcard "label"] seal of the card at path, or NULL (docs/vcard.md, "Seal"). */
const char *settings_vcard_seal(const struct settings *s, const char *path);

/* ---- attr.c: template helpers ---- */
/*
 * The one way to read a caller's template (C_CreateObject, C_GenerateKeyPair, C_DeriveKey,
 * C_FindObjectsInit, C_SetAttributeValue): no code reads pValue / ulValueLen of a template
 * entry directly. attr_value checks one entry: a NULL pValue with a length, a length of
 * CK_UNAVAILABLE_INFORMATION or beyond any card object, a CK_BBOOL or CK_ULONG attribute of
 * another size (or a CK_BBOOL neither TRUE nor FALSE) are CKR_ATTRIBUTE_VALUE_INVALID;
 * otherwise *p (NULL when empty) and *len are set. attr_check_template checks every entry
 * (CKR_ARGUMENTS_BAD for a NULL template with entries): the entry points call it first, so a
 * malformed template is refused whole, before anything is changed.
 */
CK_RV attr_value(const CK_ATTRIBUTE *a, const void **p, size_t *len);
CK_RV attr_check_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n);
bool attr_has(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type);
/* By type: CKR_OK with the checked value; CKR_TEMPLATE_INCOMPLETE when absent (callers with
 * defaults test attr_has first); CKR_ATTRIBUTE_VALUE_INVALID when malformed. */
CK_RV attr_get(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, const void **p,
	       size_t *len);
CK_RV attr_get_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_BBOOL *out);
CK_RV attr_get_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *out);
/* A string attribute as a fresh NUL-terminated copy (free()); a NUL inside is refused. */
CK_RV attr_get_string(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, char **out);
/* Whether the attribute is a CK_BBOOL TRUE / a CK_BBOOL FALSE (absent: false for both). */
bool attr_is_true(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type);
bool attr_is_false(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type);
/*
 * Write one value into a C_GetAttributeValue template entry with the size-query rules:
 * pValue NULL -> length only; too small -> CK_UNAVAILABLE_INFORMATION and
 * CKR_BUFFER_TOO_SMALL; else copy.
 */
CK_RV attr_put(CK_ATTRIBUTE *a, const void *value, size_t len);
/* Blank-padded copy into a fixed PKCS#11 string field. */
void attr_pad(CK_UTF8CHAR *dst, size_t dstlen, const char *src);

/* ---- module.c: global state ---- */
struct slot;
struct session;

/* Allocate a fresh object handle (never 0, never reused in this process). */
CK_OBJECT_HANDLE module_new_handle(void);

struct mdp_buf; /* common/bytes.h */

/* ---- the object and session model ---- */

enum obj_kind {
	OBJ_PRIVATE_KEY,
	OBJ_PUBLIC_KEY,
	OBJ_CERTIFICATE,
	OBJ_DATA,
	OBJ_SECRET, /* session object: an ECDH-derived secret */
};

/*
 * One object of a token. Token objects are views of the ksp container map: identity
 * (kind, index, kslot) or (OBJ_DATA, num) keeps the same handle across refreshes.
 */
struct object {
	CK_OBJECT_HANDLE handle;
	enum obj_kind kind;
	uint8_t index;	     /* container index */
	enum ksp_slot kslot; /* key slot of the container */
	unsigned num;	     /* data object number */
	bool seen;	     /* mark-and-sweep during a view rebuild */
	/* session objects only */
	CK_SESSION_HANDLE owner;
	uint8_t *secret;
	size_t secret_len;
	char *label;
	uint8_t *id;
	size_t id_len;
	CK_BBOOL sensitive, extractable;
};

enum op_kind { OP_NONE, OP_SIGN, OP_VERIFY, OP_ENCRYPT, OP_DECRYPT, OP_DIGEST, OP_COUNT };

struct op {
	bool active;
	CK_MECHANISM_TYPE mech;
	CK_OBJECT_HANDLE key;
	struct ksp_padding pad; /* card operations */
	uint8_t *oaep_label;	/* owned copy of the OAEP source data */
	const EVP_MD *md;	/* hash-then-operate mechanisms and digests */
	EVP_MD_CTX *mdctx;	/* running hash (multi-part) */
	uint8_t *acc;		/* multi-part data of single-shot mechanisms */
	size_t acc_len;
	bool multi;	 /* an Update was seen */
	EVP_PKEY *pub;	 /* verify / encrypt in software */
	size_t out_len;	 /* signature / output size for the size query */
	bool context_ok; /* C_Login(CKU_CONTEXT_SPECIFIC) gave the PIN for this operation */
};

struct session {
	CK_SESSION_HANDLE handle;
	struct slot *slot;
	unsigned long gen; /* slot generation at open: a mismatch means the card went away */
	CK_FLAGS flags;
	struct op op[OP_COUNT];
	CK_OBJECT_HANDLE *found; /* C_FindObjects results */
	size_t nfound, found_pos;
	bool finding;
	bool busy;   /* a call signs on a logical channel without the slot lock (crypto.c) */
	bool closed; /* closed meanwhile: freed when that call leaves */
};

struct slot {
	CK_SLOT_ID id;
	char *name;	  /* reader name, or virtual card label */
	char *vcard_path; /* NULL for a PC/SC reader */
	struct mod_mutex *lock;
	bool attached;	       /* reader present (always for virtual cards) */
	unsigned long gen;     /* bumped whenever the card goes away */
	bool unrecognized;     /* verdict for the current insertion */
	char *problem;	       /* why the card cannot be used (slot description), or NULL */
	bool event;	       /* pending for C_WaitForSlotEvent */
	struct ksp_link *link; /* the way to the card (reader or card file), while connected */
	struct ksp_card *kc;
	bool info_valid;
	struct ksp_token_info info;
	CK_USER_TYPE login; /* CKU_USER, CKU_SO, or LOGIN_NONE */
	bool pin_failed;    /* a wrong user PIN since the last good one (PIN_COUNT_LOW) */
	struct session **sessions;
	size_t nsessions;
	struct object *objs;
	size_t nobjs;
	bool view_valid;
};
#define LOGIN_NONE ((CK_USER_TYPE)-1)

/* For C_WaitForSlotEvent, which runs without the module lock: module_wait_enter() registers a
 * waiter (false when not initialised); C_Finalize waits until every waiter has left. */
bool module_running(void);
bool module_wait_enter(void);
void module_wait_leave(void);
void module_lock(void);
void module_unlock(void);

/* The module-wide settings (valid between C_Initialize and C_Finalize). */
const struct settings *module_settings(void);

/* ---- slot.c (module lock: _inlock; slot lock: _slocked) ---- */
CK_RV slot_table_init_inlock(void);
void slot_table_free_inlock(void);
/* In a fork child: drop the parent's tables without releasing anything (its card handles
 * and PC/SC connections belong to the parent). */
void slot_table_forget(void);
CK_RV slot_list_inlock(CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count);
struct slot *slot_lookup_inlock(CK_SLOT_ID id);
CK_RV slot_info_slocked(struct slot *s, CK_SLOT_INFO *info);
/* Make sure a recognised card is there and the view is fresh (cheap when nothing changed). */
CK_RV slot_token_slocked(struct slot *s);
/* Only: is the card that was there still there (no APDU)? */
CK_RV slot_present_slocked(struct slot *s);
CK_RV slot_token_info_slocked(struct slot *s, CK_TOKEN_INFO *info);
CK_RV slot_mechanisms_slocked(struct slot *s, CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV slot_mechanism_info_slocked(struct slot *s, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);
CK_RV slot_init_token_slocked(struct slot *s, const uint8_t *so_pin, size_t so_len,
			      const char *label);
/* Blocks without any lock held (C_WaitForSlotEvent). */
CK_RV slot_wait_event(CK_FLAGS flags, CK_SLOT_ID *slot);
/* Wake a blocked C_WaitForSlotEvent (C_Finalize). */
void slot_cancel_wait(void);
/* An error of the host layer: its side effects on the slot (card gone, login lost), then its
 * CK_RV from ckr_from_ksp(). */
CK_RV slot_result_slocked(struct slot *s, enum ksp_rv rv);
/* The card went away: end sessions (CKR_DEVICE_REMOVED), drop login and objects. */
void slot_card_gone_slocked(struct slot *s);
/*
 * Decode an SO PIN into the admin key: 32, 48 or 64 hex digits, else 16, 24 or 32 bytes as they
 * are (GIDS: a 24-byte 3DES key; PIV: the management key, docs/piv.md).
 */
#define SLOT_ADMIN_KEY_MAX 32
CK_RV slot_admin_key(const uint8_t *pin, size_t len, uint8_t key[SLOT_ADMIN_KEY_MAX],
		     size_t *key_len);

/* ---- session.c ---- */
CK_RV session_open_inlock(struct slot *slot, CK_FLAGS flags, CK_SESSION_HANDLE *out);
CK_RV session_close_inlock(struct session *s);
CK_RV session_close_all_inlock(struct slot *slot);
void session_table_free_inlock(void);
void session_table_forget(void);
struct session *session_lookup_inlock(CK_SESSION_HANDLE h);
void session_free(struct session *s);
void session_op_clear(struct op *op);
CK_RV session_info_slocked(struct session *s, CK_SESSION_INFO *info);
CK_RV session_login_slocked(struct session *s, CK_USER_TYPE type, const uint8_t *pin, size_t len);
CK_RV session_logout_slocked(struct session *s);
CK_RV session_init_pin_slocked(struct session *s, const uint8_t *pin, size_t len);
CK_RV session_set_pin_slocked(struct session *s, const uint8_t *old_pin, size_t old_len,
			      const uint8_t *new_pin, size_t new_len);
bool session_is_rw(const struct session *s);
/* A change to the token: a read-write session (CKR_SESSION_READ_ONLY) of the logged-in user, or
 * of the SO where the card lets its admin write (PIV) (else CKR_USER_NOT_LOGGED_IN). */
CK_RV session_check_writable_slocked(struct session *se);

/* ---- object.c (the view, attribute values, search), object-change.c (changes) ---- */
/* Rebuild the object view from the ksp container map (after a refresh that changed it). */
/* Shared by object.c and object-change.c: a new entry of the slot's object table (NULL: out of
 * memory), an entry's session data freed, the data object of a number, one attribute's value into b
 * (CKR_ATTRIBUTE_TYPE_INVALID / CKR_ATTRIBUTE_SENSITIVE), a (checked) template matched byte for
 * byte. */
struct object *object_add_slocked(struct slot *s);
void object_clear(struct object *o);
const struct ksp_data_object *object_data(struct slot *s, unsigned num);
CK_RV object_attr(struct slot *s, const struct object *o, CK_ATTRIBUTE_TYPE type,
		  struct mdp_buf *b);
bool object_matches(struct slot *s, const struct object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV object_view_rebuild_slocked(struct slot *s);
void object_view_clear_slocked(struct slot *s);
/* Drop the session objects of one session. */
void object_session_gone_slocked(struct slot *s, CK_SESSION_HANDLE h);
/* The object behind a handle, visible to this session; NULL when not. */
struct object *object_lookup_slocked(struct session *se, CK_OBJECT_HANDLE h);
bool object_is_private(const struct slot *s, const struct object *o);
const struct ksp_key *object_key(struct slot *s, const struct object *o);
CK_RV object_get_attrs_slocked(struct session *se, struct object *o, CK_ATTRIBUTE *tmpl,
			       CK_ULONG n);
CK_RV object_set_attrs_slocked(struct session *se, struct object *o, CK_ATTRIBUTE *tmpl,
			       CK_ULONG n);
CK_RV object_find_init_slocked(struct session *se, const CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV object_create_slocked(struct session *se, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
			    CK_OBJECT_HANDLE *out);
CK_RV object_destroy_slocked(struct session *se, struct object *o);
/* Handle of the object with this identity (after a rebuild), 0 if none. */
CK_OBJECT_HANDLE object_handle_for(struct slot *s, enum obj_kind kind, uint8_t index,
				   enum ksp_slot kslot);
/* The session public key object C_GenerateKeyPair returns for an ECDH key pair (an ECDH key
 * has no token public key object; docs/pkcs11.md "ECDH keys"). */
CK_RV object_add_public_slocked(struct session *se, uint8_t index, enum ksp_slot kslot,
				CK_OBJECT_HANDLE *out);
CK_RV object_add_secret_slocked(struct session *se, uint8_t *secret, size_t len,
				const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out);

/* ---- keygen.c ---- */
CK_RV keygen_pair_slocked(struct session *se, const CK_MECHANISM *mech, const CK_ATTRIBUTE *pub,
			  CK_ULONG npub, const CK_ATTRIBUTE *priv, CK_ULONG npriv,
			  CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv);
CK_RV keygen_import_slocked(struct session *se, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
			    CK_OBJECT_HANDLE *out);
/* Curve key spec (ECDSA flavour) from CKA_EC_PARAMS: OID or printable name. */
CK_RV keygen_curve_from_params(const uint8_t *p, size_t len, enum mdp_key_spec *ecdsa_spec);

/* ---- crypto.c: mechanisms ---- */
CK_RV crypto_init_slocked(struct session *se, enum op_kind kind, const CK_MECHANISM *mech,
			  CK_OBJECT_HANDLE key);
CK_RV crypto_oneshot_slocked(struct session *se, enum op_kind kind, const uint8_t *in, size_t len,
			     uint8_t *out, CK_ULONG *out_len);
/* C_Login(CKU_CONTEXT_SPECIFIC) for the session's active signature or decryption. */
CK_RV crypto_context_login_slocked(struct session *se, const uint8_t *pin, size_t len);
CK_RV crypto_update_slocked(struct session *se, enum op_kind kind, const uint8_t *in, size_t len);
CK_RV crypto_final_slocked(struct session *se, enum op_kind kind, uint8_t *out, CK_ULONG *out_len);
/* Verify: the signature is an input. */
CK_RV crypto_verify_slocked(struct session *se, const uint8_t *data, size_t len, bool oneshot,
			    const uint8_t *sig, size_t sig_len);
CK_RV crypto_derive_slocked(struct session *se, const CK_MECHANISM *mech, CK_OBJECT_HANDLE base,
			    const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out);
/* Mechanism table queries used by slot.c. */
CK_RV crypto_mechanism_list(const struct ksp_token_info *ti, CK_MECHANISM_TYPE *list,
			    CK_ULONG *count);
CK_RV crypto_mechanism_info(const struct ksp_token_info *ti, CK_MECHANISM_TYPE type,
			    CK_MECHANISM_INFO *info);

/* ---- module.c: entering the module (every C_* function goes through these) ---- */

/*
 * A call in flight counts itself in (false: the module is not initialised) and out again;
 * C_Finalize waits until the calls inside have left (docs/pkcs11.md, Threads).
 */
bool module_call_enter(void);
void module_call_leave(void);
/* The slot of a slot ID, its lock taken (and the call counted in); leave releases both. */
CK_RV module_enter_slot(CK_SLOT_ID id, struct slot **out);
void module_leave_slot(struct slot *s);
/*
 * The session of a handle, its slot's lock taken, the card checked: _session also brings the
 * view up to date (one APDU at most), _session_light only checks that the card is still there
 * (calls that continue an operation). leave frees a session closed meanwhile.
 */
CK_RV module_enter_session(CK_SESSION_HANDLE h, struct session **out);
CK_RV module_enter_session_light(CK_SESSION_HANDLE h, struct session **out);
void module_leave_session(struct session *se);
/* A function mdp11 recognises but does not offer: the session checked, then answer. */
CK_RV module_unsupported(const char *name, CK_SESSION_HANDLE h, CK_RV answer);

/* The trace of every C_* call, in and out (the result with its reason: refuse.c). */
#define TRACE_IN(...)                   \
	do {                            \
		p11_call_begin();       \
		log_trace(__VA_ARGS__); \
	} while (0)
#define TRACE_OUT(name, rv) p11_call_result(name, rv)

/* ---- module-slot.c, module-object.c, module-crypto.c: the C_* functions ---- */
/* (the function lists are in module.c; each is hidden like everything but the three exports) */

/* slots, tokens, sessions, login (module-slot.c) */
CK_RV mdp_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount);
CK_RV mdp_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo);
CK_RV mdp_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo);
CK_RV mdp_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved);
CK_RV mdp_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
			     CK_ULONG_PTR pulCount);
CK_RV mdp_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
			     CK_MECHANISM_INFO_PTR pInfo);
CK_RV mdp_C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
		      CK_UTF8CHAR_PTR pLabel);
CK_RV mdp_C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen);
CK_RV mdp_C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
		   CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen);
CK_RV mdp_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
			CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession);
CK_RV mdp_C_CloseSession(CK_SESSION_HANDLE hSession);
CK_RV mdp_C_CloseAllSessions(CK_SLOT_ID slotID);
CK_RV mdp_C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo);
CK_RV mdp_C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			      CK_ULONG_PTR pulOperationStateLen);
CK_RV mdp_C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			      CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
			      CK_OBJECT_HANDLE hAuthenticationKey);
CK_RV mdp_C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		  CK_ULONG ulPinLen);
CK_RV mdp_C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		      CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen);
CK_RV mdp_C_Logout(CK_SESSION_HANDLE hSession);

/* objects (module-object.c) */
CK_RV mdp_C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
			 CK_OBJECT_HANDLE_PTR phObject);
CK_RV mdp_C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
		       CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
		       CK_OBJECT_HANDLE_PTR phNewObject);
CK_RV mdp_C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject);
CK_RV mdp_C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			  CK_ULONG_PTR pulSize);
CK_RV mdp_C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			      CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount);
CK_RV mdp_C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			      CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount);
CK_RV mdp_C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
			    CK_ULONG ulCount);
CK_RV mdp_C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
			CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount);
CK_RV mdp_C_FindObjectsFinal(CK_SESSION_HANDLE hSession);

/* cryptographic functions, keys, random (module-crypto.c) */
CK_RV mdp_C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			CK_OBJECT_HANDLE hKey);
CK_RV mdp_C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		    CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen);
CK_RV mdp_C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
			  CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen);
CK_RV mdp_C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
			 CK_ULONG_PTR pulLastEncryptedPartLen);
CK_RV mdp_C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			CK_OBJECT_HANDLE hKey);
CK_RV mdp_C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
		    CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen);
CK_RV mdp_C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
			  CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen);
CK_RV mdp_C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
			 CK_ULONG_PTR pulLastPartLen);
CK_RV mdp_C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism);
CK_RV mdp_C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		   CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen);
CK_RV mdp_C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen);
CK_RV mdp_C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey);
CK_RV mdp_C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen);
CK_RV mdp_C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		     CK_OBJECT_HANDLE hKey);
CK_RV mdp_C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		 CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen);
CK_RV mdp_C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen);
CK_RV mdp_C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
		      CK_ULONG_PTR pulSignatureLen);
CK_RV mdp_C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			    CK_OBJECT_HANDLE hKey);
CK_RV mdp_C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
			CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen);
CK_RV mdp_C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		       CK_OBJECT_HANDLE hKey);
CK_RV mdp_C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		   CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen);
CK_RV mdp_C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen);
CK_RV mdp_C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
			CK_ULONG ulSignatureLen);
CK_RV mdp_C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			      CK_OBJECT_HANDLE hKey);
CK_RV mdp_C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
			  CK_ULONG ulSignatureLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen);
CK_RV mdp_C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
				CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen);
CK_RV mdp_C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
				CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
				CK_ULONG_PTR pulPartLen);
CK_RV mdp_C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
			      CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen);
CK_RV mdp_C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
				CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
				CK_ULONG_PTR pulPartLen);
CK_RV mdp_C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey);
CK_RV mdp_C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			    CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
			    CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
			    CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey,
			    CK_OBJECT_HANDLE_PTR phPrivateKey);
CK_RV mdp_C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		    CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
		    CK_ULONG_PTR pulWrappedKeyLen);
CK_RV mdp_C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		      CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
		      CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
		      CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey);
CK_RV mdp_C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		      CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
		      CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey);
CK_RV mdp_C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen);
CK_RV mdp_C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData,
			   CK_ULONG ulRandomLen);
CK_RV mdp_C_GetFunctionStatus(CK_SESSION_HANDLE hSession);
CK_RV mdp_C_CancelFunction(CK_SESSION_HANDLE hSession);

#endif
