/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mdp11 card-module interface: a C rendering of the smart card minidriver v7 model. */
#ifndef MDP11_CARD_MODULE_H
#define MDP11_CARD_MODULE_H

/*
 * A card module turns minidriver operations (containers by index, files,
 * PINs, sign / decrypt / ECDH) into APDUs for one kind of card. mdp11's own
 * GIDS module implements this interface, and so can an external plugin:
 * a shared object that exports one function,
 *
 *     enum md_rv md_card_acquire_context_v1(struct md_card *card, unsigned flags);
 *
 * (symbol name MD_CARD_MODULE_ENTRY). mdp11 loads a plugin named in its
 * configuration ([card_module "name"] with atr, atr_mask and module = the
 * plugin's path), checks
 * that the exported MD_CARD_MODULE_INTERFACE_SYMBOL variable (an unsigned
 * int) equals MD_CARD_MODULE_INTERFACE_VERSION, fills the host half of the
 * struct md_card and calls the entry point, exactly like CardAcquireContext:
 *
 *  - card->version holds the CARD_DATA version the host wants
 *    (MD_CARD_DATA_VERSION_*). A module whose minimum is higher returns
 *    MD_ERROR_REVISION_MISMATCH; otherwise it writes back
 *    min(requested, highest supported) (md_negotiate_version() in the host
 *    library does this for mdp11's own modules).
 *  - It identifies the card (card->atr, APDUs through card->host), returns
 *    MD_E_UNKNOWN_CARD if the card is not its own, allocates its private data
 *    in card->module and sets card->ops to its operation table (a table
 *    with static storage duration; operations a module does not implement
 *    are NULL and the host answers MD_E_UNSUPPORTED_FEATURE for them).
 *  - flags: only MD_ACQUIRE_NO_CARD_MODE is defined; anything else is
 *    MD_E_INVALID_PARAMETER.
 *
 * Memory: every buffer a module hands to the host through a pointer-to-
 * pointer out-parameter is allocated with malloc() and freed by the host
 * with free() (after wiping, when it can hold a secret). Strings are
 * NUL-terminated ASCII (file and directory names up to 8 characters,
 * compared case-insensitively, lower case preferred). All binary structures
 * the minidriver specification keeps as little-endian DWORD arrays (cmapfile
 * records, cardcf) stay in that byte format inside files; the C structs
 * below are native.
 *
 * The host validates the arguments the specification constrains (versions,
 * flags, key specs, NULL pointers) before calling a module operation, so a
 * module may rely on them; mdp11's host functions are md_*() in
 * minidriver/card.h (not installed).
 *
 * Threads: the host serialises all calls on one struct md_card and holds a
 * card transaction around every operation except delete_context.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdp11/keyspec.h"

#define MD_CARD_MODULE_INTERFACE_VERSION 1u
#define MD_CARD_MODULE_ENTRY "md_card_acquire_context_v1"
#define MD_CARD_MODULE_INTERFACE_SYMBOL "md_card_module_interface_version"

/*
 * Result codes: the SCARD_* / Win32 values of the minidriver specification
 * (spec/minidriver.md §7). MD_OK is success.
 */
enum md_rv {
	MD_OK = 0,
	MD_ERROR_FILE_EXISTS = 80,
	MD_ERROR_INSUFFICIENT_BUFFER = 122,
	MD_ERROR_DIR_NOT_EMPTY = 145,
	MD_ERROR_REVISION_MISMATCH = 1306,
	MD_F_INTERNAL_ERROR = 0x80100001u,
	MD_E_CANCELLED = 0x80100002u,
	MD_E_INVALID_HANDLE = 0x80100003u,
	MD_E_INVALID_PARAMETER = 0x80100004u,
	MD_E_NO_MEMORY = 0x80100006u,
	MD_E_INSUFFICIENT_BUFFER = 0x80100008u,
	MD_E_TIMEOUT = 0x8010000Au,
	MD_E_SHARING_VIOLATION = 0x8010000Bu,
	MD_E_NO_SMARTCARD = 0x8010000Cu,
	MD_E_UNKNOWN_CARD = 0x8010000Du,
	MD_F_COMM_ERROR = 0x80100013u,
	MD_E_NOT_TRANSACTED = 0x80100016u,
	MD_E_NO_SERVICE = 0x8010001Du,
	MD_E_UNEXPECTED = 0x8010001Fu,
	MD_E_UNSUPPORTED_FEATURE = 0x80100022u,
	MD_E_DIR_NOT_FOUND = 0x80100023u,
	MD_E_FILE_NOT_FOUND = 0x80100024u,
	MD_E_NO_ACCESS = 0x80100027u,
	MD_E_WRITE_TOO_MANY = 0x80100028u,
	MD_E_INVALID_CHV = 0x8010002Au,
	MD_E_COMM_DATA_LOST = 0x8010002Fu,
	MD_E_NO_KEY_CONTAINER = 0x80100030u,
	MD_E_READ_ONLY_CARD = 0x80100034u,
	MD_W_UNRESPONSIVE_CARD = 0x80100066u,
	MD_W_RESET_CARD = 0x80100068u,
	MD_W_REMOVED_CARD = 0x80100069u,
	MD_W_SECURITY_VIOLATION = 0x8010006Au,
	MD_W_WRONG_CHV = 0x8010006Bu,
	MD_W_CHV_BLOCKED = 0x8010006Cu,
	MD_W_CANCELLED_BY_USER = 0x8010006Eu,
	MD_W_CARD_NOT_AUTHENTICATED = 0x8010006Fu,
};

/* CARD_DATA versions (§2). */
#define MD_CARD_DATA_VERSION_FOUR 4u
#define MD_CARD_DATA_VERSION_FIVE 5u
#define MD_CARD_DATA_VERSION_SIX 6u
#define MD_CARD_DATA_VERSION_SEVEN 7u
#define MD_CARD_DATA_CURRENT_VERSION 7u

/* acquire flags */
#define MD_ACQUIRE_NO_CARD_MODE \
	0x1u /* CARD_SECURE_KEY_INJECTION_NO_CARD_MODE: not supported by mdp11 */

/* Key specs (the key_spec fields): enum mdp_key_spec, MDP_AT_KEYEXCHANGE ... MDP_AT_ECDHE_P521,
 * and CALG_* hash ids (hash_alg) come from mdp11/keyspec.h. */

/* create_container flags (§4.2) */
#define MD_CREATE_KEY_GEN 0x1u
#define MD_CREATE_KEY_IMPORT 0x2u

/* PINs and roles (§6.1) */
#define MD_ROLE_EVERYONE 0u
#define MD_ROLE_USER 1u
#define MD_ROLE_ADMIN 2u
#define MD_MAX_PINS 8u
#define MD_PIN_SET(id) (1u << (id))
#define MD_PIN_SET_NONE 0x00u
#define MD_PIN_SET_ALL_ROLES 0xFFu

/* authenticate_ex flags */
#define MD_AUTH_GENERATE_SESSION_PIN 0x10000000u
#define MD_AUTH_SESSION_PIN 0x20000000u
#define MD_PIN_SILENT_CONTEXT 0x00000040u
/* change_authenticator_ex flags */
#define MD_PIN_CHANGE_UNBLOCK 0x01u
#define MD_PIN_CHANGE_CHANGEPIN 0x02u
/* legacy unblock / change authenticator flags */
#define MD_AUTHENTICATE_PIN_CHALLENGE_RESPONSE 0x1u
#define MD_AUTHENTICATE_PIN_PIN 0x2u

/* signing / decrypt flags and padding types (§4.5; not the BCRYPT_PAD_* values) */
#define MD_PADDING_INFO_PRESENT 0x40000000u
#define MD_BUFFER_SIZE_ONLY 0x20000000u
#define MD_RETURN_KEY_HANDLE 0x01000000u
#define MD_KDF_USE_SECRET_AS_HMAC_KEY 0x1u
#define MD_PADDING_NONE 0x1u
#define MD_PADDING_PKCS1 0x2u
#define MD_PADDING_PSS 0x4u
#define MD_PADDING_OAEP 0x8u

/* File system (§5) */
enum md_file_access {
	MD_AC_INVALID = 0,
	MD_AC_EVERYONE_READ_USER_WRITE = 1,
	MD_AC_USER_WRITE_EXECUTE = 2,
	MD_AC_EVERYONE_READ_ADMIN_WRITE = 3,
	MD_AC_UNKNOWN = 4,
	MD_AC_USER_READ_WRITE = 5,
	MD_AC_ADMIN_READ_WRITE = 6,
};
enum md_dir_access {
	MD_DIR_AC_INVALID = 0,
	MD_DIR_AC_USER_CREATE_DELETE = 1,
	MD_DIR_AC_ADMIN_CREATE_DELETE = 2,
};
#define MD_MAX_NAME 8

/* Versioned structures: version 0 is taken as 1 (§2). */
#define MD_CAPABILITIES_VERSION 1u
#define MD_CONTAINER_INFO_VERSION 1u
#define MD_FILE_INFO_VERSION 1u
#define MD_FREE_SPACE_VERSION 1u
#define MD_KEY_SIZES_VERSION 1u
#define MD_SIGNING_INFO_VERSION 2u
#define MD_RSA_DECRYPT_INFO_VERSION 2u
#define MD_DH_AGREEMENT_INFO_VERSION 2u
#define MD_DERIVE_KEY_VERSION 2u
#define MD_PIN_INFO_VERSION 6u
#define MD_PIN_TRIES_VERSION 1u
#define MD_VALUE_UNKNOWN 0xFFFFFFFFu

struct md_capabilities {
	uint32_t version;
	uint32_t certificate_compression; /* the module compresses certificates itself */
	uint32_t key_gen;		  /* on-card key generation */
};

/* Public keys as blobs (§4.4): RSA PUBLICKEYBLOB, EC BCRYPT_ECCPUBLIC_BLOB. Free with
 * md_container_info_clear(). */
struct md_container_info {
	uint32_t version;
	uint32_t reserved;
	uint8_t *sig_public_key;
	size_t sig_public_key_len;
	uint8_t *kx_public_key;
	size_t kx_public_key_len;
};

struct md_file_info {
	uint32_t version;
	uint32_t size;
	uint32_t access; /* enum md_file_access */
};

struct md_pin_tries {
	uint32_t version;
	uint32_t left; /* tries left; 0: blocked */
	uint32_t max;  /* the retry limit, MD_VALUE_UNKNOWN when the card does not say */
};

struct md_free_space {
	uint32_t version;
	uint32_t bytes_available; /* MD_VALUE_UNKNOWN when not known */
	uint32_t containers_available;
	uint32_t max_containers;
};

struct md_key_sizes {
	uint32_t version;
	uint32_t minimum;
	uint32_t default_bits;
	uint32_t maximum;
	uint32_t increment;
};

/*
 * BCRYPT_PKCS1_PADDING_INFO / BCRYPT_PSS_PADDING_INFO / BCRYPT_OAEP_PADDING_INFO in one:
 * alg_id is the CNG hash name ("SHA256"; NULL: no DigestInfo / default), salt_len for PSS,
 * label for OAEP.
 */
struct md_padding_info {
	const char *alg_id;
	uint32_t salt_len;
	const uint8_t *label;
	size_t label_len;
};

/*
 * CARD_SIGNING_INFO (§4.5). data is the hash (the host hashes). Without
 * MD_PADDING_INFO_PRESENT: PKCS#1 v1.5 with the DigestInfo of hash_alg (a CALG_*
 * value; 0 = no DigestInfo, CALG_SSL3_SHAMD5 = 36 raw bytes). The signature is
 * malloc'ed: RSA little-endian (byte-reversed), ECDSA r || s big-endian.
 */
struct md_signing_info {
	uint32_t version;
	uint8_t container_index;
	uint32_t key_spec;
	uint32_t flags; /* MD_PADDING_INFO_PRESENT | MD_BUFFER_SIZE_ONLY */
	uint32_t hash_alg;
	const uint8_t *data;
	size_t data_len;
	uint8_t *signature;			    /* out */
	size_t signature_len;			    /* out */
	const struct md_padding_info *padding_info; /* v2, with MD_PADDING_INFO_PRESENT */
	uint32_t padding_type;			    /* v2: MD_PADDING_NONE / PKCS1 / PSS */
};

/*
 * CARD_RSA_DECRYPT_INFO v2 (§4.6): data is the ciphertext, little-endian, exactly
 * the modulus length; replaced in place by the result (little-endian) and
 * data_len updated. PKCS1 and OAEP padding are removed by the module.
 */
struct md_rsa_decrypt_info {
	uint32_t version;
	uint8_t container_index;
	uint32_t key_spec;
	uint8_t *data;
	size_t data_len;
	const struct md_padding_info *padding_info; /* OAEP: hash name and label */
	uint32_t padding_type;
};

/* CARD_DH_AGREEMENT_INFO v2 (§4.7): the peer key as BCRYPT_ECCPUBLIC_BLOB (ECK1/3/5). */
struct md_dh_agreement_info {
	uint32_t version;
	uint8_t container_index;
	uint32_t flags;
	const uint8_t *public_key;
	size_t public_key_len;
	uint8_t secret_agreement_index; /* out */
};

/* KDF parameters (NCryptBuffer): type KDF_* values; hash names are ASCII strings. */
#define MD_KDF_HASH_ALGORITHM 0u
#define MD_KDF_SECRET_PREPEND 1u
#define MD_KDF_SECRET_APPEND 2u
#define MD_KDF_HMAC_KEY 3u
#define MD_KDF_TLS_PRF_LABEL 4u
#define MD_KDF_TLS_PRF_SEED 5u
#define MD_KDF_SECRET_HANDLE 6u
#define MD_KDF_TLS_PRF_PROTOCOL 7u
#define MD_KDF_ALGORITHMID 8u
#define MD_KDF_PARTYUINFO 9u
#define MD_KDF_PARTYVINFO 10u
#define MD_KDF_SUPPPUBINFO 11u
#define MD_KDF_SUPPPRIVINFO 12u

struct md_kdf_param {
	uint32_t type;
	const void *data;
	size_t len;
};

/* KDF names (CNG) */
#define MD_KDF_HASH "HASH"
#define MD_KDF_HMAC "HMAC"
#define MD_KDF_TRUNCATE "TRUNCATE" /* raw secret, little-endian */
#define MD_KDF_SP800_56A_CONCAT "SP800_56A_CONCAT"

/* CARD_DERIVE_KEY (§4.7). derived_key is malloc'ed (secret: wipe before free). */
struct md_derive_key {
	uint32_t version;
	uint32_t flags; /* MD_BUFFER_SIZE_ONLY, MD_KDF_USE_SECRET_AS_HMAC_KEY */
	const char *kdf;
	uint8_t secret_agreement_index;
	const struct md_kdf_param *params;
	size_t param_count;
	uint8_t *derived_key;	/* out */
	size_t derived_key_len; /* out */
	const char *alg_id;	/* v2: unused by mdp11 modules */
	uint32_t key_len; /* v2: wanted length in bytes for SP800_56A_CONCAT (0: hash length) */
};

/* PIN_INFO (§6.2) */
enum md_secret_type {
	MD_PIN_ALPHANUMERIC = 0,
	MD_PIN_EXTERNAL = 1,
	MD_PIN_CHALLENGE_RESPONSE = 2,
	MD_PIN_EMPTY = 3,
};
enum md_secret_purpose {
	MD_PURPOSE_AUTHENTICATION = 0,
	MD_PURPOSE_DIGITAL_SIGNATURE = 1,
	MD_PURPOSE_ENCRYPTION = 2,
	MD_PURPOSE_NON_REPUDIATION = 3,
	MD_PURPOSE_ADMINISTRATOR = 4,
	MD_PURPOSE_PRIMARY_CARD = 5,
	MD_PURPOSE_UNBLOCK_ONLY = 6,
};
enum md_pin_cache_type {
	MD_PIN_CACHE_NORMAL = 0,
	MD_PIN_CACHE_TIMED = 1,
	MD_PIN_CACHE_NONE = 2,
	MD_PIN_CACHE_ALWAYS_PROMPT = 3,
};
struct md_pin_info {
	uint32_t version;
	uint32_t pin_type;	     /* enum md_secret_type */
	uint32_t purpose;	     /* enum md_secret_purpose */
	uint32_t change_permission;  /* PIN_SET */
	uint32_t unblock_permission; /* PIN_SET */
	struct {
		uint32_t version;
		uint32_t type; /* enum md_pin_cache_type */
		uint32_t info;
	} cache_policy;
	uint32_t flags;
};

/* Card properties (§4.11): names as ASCII strings. */
#define MD_CP_CARD_FREE_SPACE "Free Space"     /* struct md_free_space */
#define MD_CP_CARD_CAPABILITIES "Capabilities" /* struct md_capabilities */
#define MD_CP_CARD_KEYSIZES "Key Sizes"	       /* struct md_key_sizes, flags = key spec */
#define MD_CP_CARD_READ_ONLY "Read Only Mode"  /* uint32_t bool */
#define MD_CP_CARD_CACHE_MODE "Cache Mode"     /* uint32_t */
#define MD_CP_SUPPORTS_WIN_X509_ENROLLMENT "Supports Windows x.509 Enrollment" /* uint32_t bool */
#define MD_CP_CARD_GUID "Card Identifier"				       /* bytes of cardid */
#define MD_CP_CARD_SERIAL_NO "Card Serial Number"			       /* bytes */
#define MD_CP_CARD_PIN_INFO "PIN Information" /* struct md_pin_info, flags = PIN id */
#define MD_CP_CARD_LIST_PINS "PIN List"	      /* uint32_t PIN_SET */
#define MD_CP_CARD_AUTHENTICATED_STATE "Authenticated State" /* uint32_t PIN_SET */
#define MD_CP_CARD_PIN_STRENGTH_VERIFY "PIN Strength Verify" /* uint32_t, flags = PIN id */
#define MD_CP_CARD_PIN_STRENGTH_CHANGE "PIN Strength Change"
#define MD_CP_CARD_PIN_STRENGTH_UNBLOCK "PIN Strength Unblock"
#define MD_CP_PARENT_WINDOW "Parent Window"	      /* set only */
#define MD_CP_PIN_CONTEXT_STRING "PIN Context String" /* set only */
#define MD_CP_KEY_IMPORT_SUPPORT "Key Import Support" /* uint32_t mask */
#define MD_CP_ENUM_ALGORITHMS "Algorithms"
#define MD_CP_PADDING_SCHEMES "Padding Schemes"
#define MD_CP_CHAINING_MODES "Chaining Modes"
/*
 * mdp11's extension (the minidriver specification has no such property): the retry counter of
 * a PIN as the card keeps it now (struct md_pin_tries, flags = PIN id). The host reads it when
 * the card may have been used by someone else since it last knew the counter, so that every
 * process shows the PIN state (PKCS#11 CKF_USER_PIN_COUNT_LOW / _FINAL_TRY / _LOCKED). A module
 * that cannot tell answers MD_E_UNSUPPORTED_FEATURE; the host then knows only what its own
 * authentications were told.
 */
#define MD_CP_MDP11_PIN_TRIES "mdp11 PIN Tries"
/*
 * mdp11's extension for container properties: the card's own reference of the container's key
 * (uint8_t; a PIV key slot such as 9A or 82). Tools show it beside the container index. A module
 * whose keys have no such reference answers MD_E_INVALID_PARAMETER, as for any unknown property.
 */
#define MD_CCP_MDP11_KEY_REFERENCE "mdp11 Key Reference"

#define MD_CP_CACHE_MODE_GLOBAL_CACHE 1u
#define MD_CP_CACHE_MODE_SESSION_ONLY 2u
#define MD_CP_CACHE_MODE_NO_CACHE 3u
#define MD_PIN_STRENGTH_PLAINTEXT 0x1u
#define MD_PIN_STRENGTH_SESSION_PIN 0x2u
#define MD_KEY_IMPORT_PLAIN_TEXT 0x1u
#define MD_KEY_IMPORT_RSA_KEYEST 0x2u
#define MD_KEY_IMPORT_ECC_KEYEST 0x4u
#define MD_KEY_IMPORT_SHARED_SYMMETRIC 0x8u

/* Container properties */
#define MD_CCP_CONTAINER_INFO "Container Info"		 /* struct md_container_info (get only) */
#define MD_CCP_PIN_IDENTIFIER "PIN Identifier"		 /* uint32_t PIN id */
#define MD_CCP_ASSOCIATED_ECDH_KEY "Associated ECDH Key" /* uint8_t container index */

struct md_card;

/*
 * The operations of a card module (the CARD_DATA function table). The host
 * has checked the arguments (see the top of this file). Names follow the
 * Card* functions; legacy variants (CardAuthenticatePin, CardUnblockPin,
 * CardChangeAuthenticator, CardDeauthenticate, CardGetChallenge,
 * CardAuthenticateChallenge, CardCreateContainer) are provided by the host
 * on top of the *_ex operations.
 */
struct md_card_ops {
	enum md_rv (*delete_context)(struct md_card *card);
	enum md_rv (*query_capabilities)(struct md_card *card, struct md_capabilities *caps);
	enum md_rv (*delete_container)(struct md_card *card, uint8_t index, uint32_t reserved);
	/* CardCreateContainerEx: flags MD_CREATE_KEY_GEN or _IMPORT; key_data is the import blob.
	 */
	enum md_rv (*create_container)(struct md_card *card, uint8_t index, uint32_t flags,
				       uint32_t key_spec, uint32_t key_size,
				       const uint8_t *key_data, size_t key_data_len,
				       uint32_t pin_id);
	enum md_rv (*get_container_info)(struct md_card *card, uint8_t index, uint32_t flags,
					 struct md_container_info *info);
	/*
	 * CardAuthenticateEx. For a challenge/response PIN (PIN_INFO type
	 * MD_PIN_CHALLENGE_RESPONSE) pin is the response to the last
	 * get_challenge_ex of that PIN. tries_left may be NULL.
	 */
	enum md_rv (*authenticate_ex)(struct md_card *card, uint32_t pin_id, uint32_t flags,
				      const uint8_t *pin, size_t pin_len, uint8_t **session_pin,
				      size_t *session_pin_len, uint32_t *tries_left);
	enum md_rv (*get_challenge_ex)(struct md_card *card, uint32_t pin_id, uint8_t **challenge,
				       size_t *challenge_len, uint32_t flags);
	enum md_rv (*deauthenticate_ex)(struct md_card *card, uint32_t pin_set, uint32_t flags);
	enum md_rv (*change_authenticator_ex)(struct md_card *card, uint32_t flags,
					      uint32_t auth_pin_id, const uint8_t *auth,
					      size_t auth_len, uint32_t target_pin_id,
					      const uint8_t *target, size_t target_len,
					      uint32_t retry_count, uint32_t *tries_left);
	enum md_rv (*create_directory)(struct md_card *card, const char *dir,
				       enum md_dir_access access);
	enum md_rv (*delete_directory)(struct md_card *card, const char *dir);
	/* dir NULL = root */
	enum md_rv (*create_file)(struct md_card *card, const char *dir, const char *file,
				  uint32_t initial_size, enum md_file_access access);
	enum md_rv (*read_file)(struct md_card *card, const char *dir, const char *file,
				uint32_t flags, uint8_t **data, size_t *len);
	enum md_rv (*write_file)(struct md_card *card, const char *dir, const char *file,
				 uint32_t flags, const uint8_t *data, size_t len);
	enum md_rv (*delete_file)(struct md_card *card, const char *dir, const char *file,
				  uint32_t flags);
	/* names: multi-string ("a\0b\0\0"), len counts every NUL */
	enum md_rv (*enum_files)(struct md_card *card, const char *dir, char **names, size_t *len,
				 uint32_t flags);
	enum md_rv (*get_file_info)(struct md_card *card, const char *dir, const char *file,
				    struct md_file_info *info);
	enum md_rv (*query_free_space)(struct md_card *card, uint32_t flags,
				       struct md_free_space *info);
	enum md_rv (*query_key_sizes)(struct md_card *card, uint32_t key_spec, uint32_t flags,
				      struct md_key_sizes *sizes);
	enum md_rv (*sign_data)(struct md_card *card, struct md_signing_info *info);
	enum md_rv (*rsa_decrypt)(struct md_card *card, struct md_rsa_decrypt_info *info);
	enum md_rv (*construct_dh_agreement)(struct md_card *card,
					     struct md_dh_agreement_info *info);
	enum md_rv (*derive_key)(struct md_card *card, struct md_derive_key *info);
	enum md_rv (*destroy_dh_agreement)(struct md_card *card, uint8_t index, uint32_t flags);
	/* Properties: data of cap bytes; *len = size written, or needed with
	 * MD_ERROR_INSUFFICIENT_BUFFER. */
	enum md_rv (*get_property)(struct md_card *card, const char *name, void *data, size_t cap,
				   size_t *len, uint32_t flags);
	enum md_rv (*set_property)(struct md_card *card, const char *name, const void *data,
				   size_t len, uint32_t flags);
	enum md_rv (*get_container_property)(struct md_card *card, uint8_t index, const char *name,
					     void *data, size_t cap, size_t *len, uint32_t flags);
	enum md_rv (*set_container_property)(struct md_card *card, uint8_t index, const char *name,
					     const void *data, size_t len, uint32_t flags);
};

/*
 * What the host offers a module (the CARD_DATA host callbacks). Modules
 * reach the card only through these. All may be used from the acquire entry
 * point on; the cache callbacks may be NULL.
 */
struct md_host {
	/* One raw APDU; resp holds cap bytes; *resp_len = response length including SW1 SW2. */
	enum md_rv (*transmit)(struct md_card *card, const uint8_t *apdu, size_t apdu_len,
			       uint8_t *resp, size_t cap, size_t *resp_len);
	/*
	 * One command with ISO 7816 framing done by the host: chaining when chain is set
	 * and lc > 255, GET RESPONSE, 6Cxx. le: -1 none, 1..256. *resp (malloc'ed, may be
	 * NULL when empty) receives the data, *sw the status word.
	 */
	enum md_rv (*exchange)(struct md_card *card, uint8_t cla, uint8_t ins, uint8_t p1,
			       uint8_t p2, const uint8_t *data, size_t lc, int le, bool chain,
			       uint8_t **resp, size_t *resp_len, uint16_t *sw);
	/* Persistent public-data cache keyed by tag (pfnCspCache*File); NULL when absent. */
	enum md_rv (*cache_add)(struct md_card *card, const char *tag, const uint8_t *data,
				size_t len);
	enum md_rv (*cache_lookup)(struct md_card *card, const char *tag, uint8_t **data,
				   size_t *len);
	enum md_rv (*cache_delete)(struct md_card *card, const char *tag);
	/* A log line from the module (level 1 error .. 4 debug); never pass secrets. */
	void (*log)(struct md_card *card, int level, const char *msg);
};

/* The card context (the CARD_DATA role). */
struct md_card {
	uint32_t struct_size; /* sizeof(struct md_card) as the host built it */
	uint32_t version;     /* in: wanted CARD_DATA version; out: negotiated */
	uint8_t atr[33];
	size_t atr_len;
	char card_name[64];	       /* registered card name ("GIDS", a plugin's name) */
	const struct md_host *host;    /* host callbacks */
	void *host_data;	       /* the host's, not for modules */
	void *cache_context;	       /* the host's cache context */
	const struct md_card_ops *ops; /* set by the module */
	void *module;		       /* the module's private data */
	/*
	 * Incremented by the host whenever it saw the card reset (by another
	 * application, a reconnect, a PC/SC service restart). A module keeps its
	 * own copy: when they differ, the card's security state and selected
	 * application are gone (re-select, forget who is authenticated).
	 */
	uint32_t resets;
	void *reserved[8];
};

/* Entry point type of a plugin. */
typedef enum md_rv (*md_card_acquire_fn)(struct md_card *card, unsigned flags);

/*
 * What a plugin defines and exports (visibility default):
 *   const unsigned md_card_module_interface_version = MD_CARD_MODULE_INTERFACE_VERSION;
 *   enum md_rv md_card_acquire_context_v1(struct md_card *card, unsigned flags) { ... }
 */
extern const unsigned md_card_module_interface_version;
enum md_rv md_card_acquire_context_v1(struct md_card *card, unsigned flags);

#endif
