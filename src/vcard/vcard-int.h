/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal types of the virtual card (GIDS and PIV), shared by its source files. */
#ifndef MDP11_VCARD_VCARD_INT_H
#define MDP11_VCARD_VCARD_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "common/bytes.h"
#include "common/error.h"
#include "vcard/vcard.h"

/* Status words (spec/gids.md §11). */
#define SW_OK 0x9000
#define SW_MEMORY_FAILURE 0x6581
#define SW_WRONG_LENGTH 0x6700
#define SW_SM_UNSUPPORTED 0x6882
#define SW_CHAIN_UNSUPPORTED 0x6884
#define SW_CHAIN_BROKEN 0x6900
#define SW_NOT_BER_TLV 0x6981
#define SW_SECURITY 0x6982
#define SW_PIN_BLOCKED 0x6983
#define SW_DATA_INVALID 0x6984
#define SW_CONDITIONS 0x6985
#define SW_NOT_ALLOWED 0x6986
#define SW_WRONG_DATA 0x6A80
#define SW_FUNC_UNSUPPORTED 0x6A81
#define SW_FILE_NOT_FOUND 0x6A82
#define SW_NO_MEMORY 0x6A84
#define SW_WRONG_P1P2 0x6A86
#define SW_REF_NOT_FOUND 0x6A88
#define SW_FILE_EXISTS 0x6A89
#define SW_INS_UNSUPPORTED 0x6D00
#define SW_CLA_UNSUPPORTED 0x6E00
#define SW_PIN_WRONG(n) (0x63C0 | ((n)&0x0f))

/* File descriptor bytes (tag 82). */
#define VC_DESC_EF 0x39
#define VC_DESC_KEY 0x18

/* Life cycle of the application and of each file (§7.4). */
#define VC_LCS_CREATION 1
#define VC_LCS_OPERATIONAL 5

/* Key material kinds held by a key file (import tag 83, §8.5, §9). */
#define VC_KEY_NONE 0
#define VC_KEY_SYM 1
#define VC_KEY_RSA 2
#define VC_KEY_EC 3

/* Access-mode bits of tag 8C (§7.4). */
#define VC_AM_DELETE 0x40
#define VC_AM_TERMINATE 0x20
#define VC_AM_ACTIVATE 0x10
#define VC_AM_GENERATE 0x08 /* key file; EF: deactivate */
#define VC_AM_MSE 0x04	    /* key file */
#define VC_AM_PUT 0x02	    /* EF: PUT DATA; key file: PUT KEY */
#define VC_AM_GET 0x01	    /* EF: GET DATA; key file: read public key */

/* Limits; beyond them the card answers 6A84 (§11). */
#define VC_MAX_FILES 192
#define VC_MAX_KEY_FILES 127
#define VC_MAX_DO_LEN 65535
#define VC_MAX_DOS_PER_EF 1024
#define VC_MAX_EF_BYTES (384u * 1024u)
#define VC_MAX_CHAIN (80u * 1024u)
#define VC_PIN_MIN 4
#define VC_PIN_MAX 16
#define VC_DEFAULT_TRIES 3

#define VC_CK_LEN 32   /* card key: AES-256 */
#define VC_WRAP_LEN 60 /* 12-byte nonce || 32-byte ciphertext || 16-byte tag */
#define VC_SALT_LEN 16
#define VC_UUID_LEN 16
#define VC_KDF_DEFAULT_COST 15 /* scrypt N = 2^15, r = 8, p = 1 */
#define VC_KDF_MAX_COST 20
#define VC_KDF_MEMORY_COST 4  /* in-memory cards: never written, so cheapest */
#define VC_FORMAT_V1 1	      /* unsealed (before the seal existed): read and written back */
#define VC_FORMAT_V2 2	      /* sealed: what new cards and resealed cards are */
#define VC_SYM_MAX 32	      /* symmetric keys in key files: 1..32 bytes */
#define VC_SEALED_OVERHEAD 28 /* what vc_gcm_seal adds: 12-byte nonce, 16-byte tag */

/* Seal kinds (the state file's seal record, docs/vcard.md). */
#define VC_SEAL_NONE 0	  /* format 1: the file holds its secrets in clear */
#define VC_SEAL_KEYFILE 1 /* a random key in a file of its own */
#define VC_SEAL_TPM 2	  /* a secret sealed by a TPM 2.0 */
#define VC_SEAL_MEMORY 3  /* in-memory cards: a random secret of the handle, never written */

/* Item ids: four characters. */
#define VC_ITEM(a, b, c, d)                                            \
	((uint32_t)(uint8_t)(a) << 24 | (uint32_t)(uint8_t)(b) << 16 | \
	 (uint32_t)(uint8_t)(c) << 8 | (uint32_t)(uint8_t)(d))
#define VC_ITEM_PIN VC_ITEM('P', 'I', 'N', 'W') /* the card key wrapped under the PIN's KDF */
#define VC_ITEM_PUK VC_ITEM('P', 'U', 'K', 'W') /* PIV: the same under the PUK's */
#define VC_ITEM_CK VC_ITEM('C', 'A', 'R', 'D')	/* the card key, sealed by the seal alone */
#define VC_ITEM_DK VC_ITEM('D', 'E', 'V', 'K')	/* PIV: the device key (PIN policy never) */
#define VC_MAX_ITEMS 64
#define VC_MAX_ITEM_LEN 8192

struct vc_do {
	uint32_t tag;
	uint8_t *val;
	size_t len;
};

struct vc_file {
	uint16_t fid;
	uint8_t desc; /* VC_DESC_* */
	uint8_t lcs;  /* VC_LCS_* */
	uint8_t acl[8];
	size_t acl_len; /* raw value of tag 8C; 0 = no rules */

	/* BER-TLV EF */
	struct vc_do *dos;
	size_t n_dos;

	/* key file */
	uint8_t *crt; /* raw value of tag A5 */
	size_t crt_len;
	uint8_t key_type; /* VC_KEY_* */
	uint8_t alg;	  /* mechanism id: 02, 06..09, 0C..0E */
	uint8_t *sym;	  /* symmetric key (GIDS admin key) as stored: sealed (vc_sym_get) */
	size_t sym_len;
	uint8_t *pub; /* SubjectPublicKeyInfo DER */
	size_t pub_len;
	uint8_t *priv; /* sealed private key: under the card key (PIV: or the device key) */
	size_t priv_len;

	EVP_PKEY *cache; /* volatile: the unsealed private key */
};

/*
 * PIV (docs/vcard-piv.md): the data objects are the DOs of one EF, the key slots 9A..95 and the
 * management key 9B are key files B0xx (slot = low byte). A slot's key file keeps its PIN policy,
 * touch policy and origin in the bytes of crt (VC_PIV_ATTR_*).
 */
#define VC_PIV_OBJ_FID 0x5F00
#define VC_PIV_ATTR_PIN 0    /* PIN policy: 01 never, 02 once, 03 always */
#define VC_PIV_ATTR_TOUCH 1  /* touch policy: 01 never, 02 always, 03 cached (stored only) */
#define VC_PIV_ATTR_ORIGIN 2 /* 01 generated, 02 imported */
#define VC_PIV_ATTR_LEN 3
#define VC_PIV_DEFAULT_PIN 0x01 /* vc_piv_state.flags: the value is still the factory default */
#define VC_PIV_DEFAULT_PUK 0x02
#define VC_PIV_DEFAULT_MGM 0x04

/* What a PIV card keeps beyond the GIDS record: the PUK, serial, version. */
struct vc_piv_state {
	uint8_t puk_max; /* 1..255 */
	uint8_t puk_left;
	uint8_t puk_salt[VC_SALT_LEN];
	/* the PUK wrap of the card key: item PUKW */
	uint32_t serial;
	uint8_t version[3];
	uint8_t flags; /* VC_PIV_DEFAULT_* */
};

/* The seal record of a state file: how its secrets are sealed. */
struct vc_seal_rec {
	uint8_t kind;  /* VC_SEAL_* */
	char *spec;    /* "keyfile:/abs/path", "tpm:TCTI"; NULL for none and memory */
	uint8_t *data; /* keyfile: key check (16); tpm: TPM object; memory: the secret (32) */
	size_t data_len;
};

/* A secret of the card without a home in a file record (vc_item_put). */
struct vc_item {
	uint32_t id;
	uint8_t *blob; /* sealed (seal kind none: the value itself) */
	size_t len;
};

/* Everything that survives a power cycle (the state file). */
struct vc_state {
	uint32_t format; /* VC_FORMAT_V1 or _V2: what the file is written as */
	uint8_t type;	 /* enum vcard_type */
	struct vc_piv_state piv;
	uint8_t uuid[VC_UUID_LEN];
	uint64_t generation;
	struct vc_seal_rec seal;
	struct vc_item *items;
	size_t n_items;

	/* GIDS */
	uint8_t app_lcs;
	bool pin_set; /* then item PINW: the card key wrapped under the PIN KDF */
	uint8_t pin_len;
	uint8_t pin_max;
	uint8_t pin_left;
	uint8_t kdf_cost;
	uint8_t pin_salt[VC_SALT_LEN];
	bool ck_open;  /* the card key is free to use (creation state, no PIN): item CARD */
	bool ck_admin; /* admin authentication reaches the card key: item CARD */
	struct vc_file *files;
	size_t n_files;
};

enum vc_mse_op {
	VC_MSE_NONE = 0,
	VC_MSE_SIGN = 0xB6,
	VC_MSE_DECIPHER = 0xB8,
	VC_MSE_AGREE = 0xA6,
	VC_MSE_AUTH = 0xA4,
};

struct vc_file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	long long mtime_ns;
	long long ctime_ns;
	bool valid;
};

/*
 * Logical channels (ISO 7816-4 §5.4.2, CLA bits 0-1, MANAGE CHANNEL): channel 0's registers are
 * the fields of struct vcard below; channels 1..3 keep theirs here and are swapped in for each of
 * their commands. The security status (PIN, admin, card key) is shared by all channels, as ISO
 * allows; selection, security environment, chaining and pending response are per channel.
 */
#define VC_CHANNELS 4
struct vc_chan {
	bool open;
	uint16_t cur_fid;
	enum vc_mse_op mse;
	uint8_t mse_alg;
	uint8_t mse_kid;
	int auth_stage;
	uint8_t auth_r1[16];
	uint8_t auth_r2[16];
	bool chaining;
	uint8_t chain_ins, chain_p1, chain_p2;
	struct mdp_buf chain;
	uint8_t *pend;
	size_t pend_len;
	size_t pend_pos;
};

/*
 * A signature whose private-key work runs after the engine's lock is dropped (vcard_transmit),
 * so that two channels sign at the same time: the key (a reference), the input and the form.
 */
#define SW_DEFERRED 0x0001 /* internal: never sent */
struct vc_job {
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *ctx; /* a signing context of this key kept by the channel, or NULL */
	uint64_t secrets;  /* the card's secrets generation then */
	bool ec;
	int pad;  /* RSA: RSA_PKCS1_PADDING or RSA_NO_PADDING */
	bool piv; /* PIV form: the result in 7C{82 ..}, ECDSA as DER (GIDS: bare, r||s) */
	uint8_t in[512];
	size_t in_len;
	size_t ne;     /* Le of the command (0: none): the rest waits for GET RESPONSE */
	unsigned chan; /* its channel, and the card's reset count then */
	uint64_t resets;
};

struct vcard {
	pthread_mutex_t mu; /* one command at a time (channels may be used from several threads) */
	bool defer_ok;	    /* vcard_transmit can run a deferred signature */
	size_t ne_max;	    /* answer bytes the caller's buffer takes at once (256..65536) */
	struct vc_job job;
	struct vc_chan chans[VC_CHANNELS]; /* [0] unused: channel 0 is in the fields below */
	uint64_t resets;		   /* vcard_reset calls (channels closed) */
	unsigned cur_chan;		   /* the channel of the command being processed */
	/* per channel, the signing context of its last deferred signature (reused for the next) */
	struct {
		EVP_PKEY *pkey; /* a reference */
		EVP_PKEY_CTX *ctx;
		bool ec;
		int pad;
	} sctx[VC_CHANNELS];
	uint64_t secrets; /* vc_drop_secrets calls: a kept signing context older than that is
			     dropped */

	/* persistence */
	char *path;
	char *lock_path;
	int lock_fd;
	bool locked;
	unsigned held; /* vcard_lock depth: the lock stays taken between APDUs */
	struct vc_file_id seen;
	uint64_t commits; /* changes made by this handle (vcard_changes) */
	uint64_t reloads; /* changes by others picked up from the state file */
	bool loaded;	  /* the state file was loaded once */
	bool swept;	  /* stale temporary files were looked for */
	bool dirty;
	enum mdp_err io_err; /* the failure of this APDU that vcard_transmit returns (save, seal) */

	struct vc_state st;

	/* the seal */
	char *seal_override; /* where the seal is, if not where the file says (config, env) */
	bool override_env;   /* it came from MDP11_VCARD_SEAL: it applies to cards of its kind */
	unsigned keep;	     /* this handle's slot of locked memory (vcard-keep.c), or 0 */
	uint64_t keep_token;
	bool warned;	  /* the unsealed-card warning was given */
	bool seal_warned; /* the missing-seal notice was given */

	/* volatile security state */
	bool pin_ok;
	bool admin_ok; /* GIDS admin key / PIV management key authenticated */
	bool ck_ok;
	uint8_t ck[VC_CK_LEN];
	/* PIV: the card's device key seals the keys usable without any PIN (PIN policy never) */
	bool dk_ok;
	uint8_t dk[VC_CK_LEN];
	/* PIV "PIN always": armed by a VERIFY, good for the very next command only */
	bool pin_always;
	bool pin_always_now;
	uint16_t cur_fid; /* 0x3FFF: the application */
	enum vc_mse_op mse;
	uint8_t mse_alg;
	uint8_t mse_kid;
	int auth_stage; /* 0 none, 1 mutual challenge sent, 2 external challenge sent */
	uint8_t auth_r1[16];
	uint8_t auth_r2[16];

	/* command chaining */
	bool chaining;
	uint8_t chain_ins, chain_p1, chain_p2;
	struct mdp_buf chain;

	/* pending response for GET RESPONSE */
	uint8_t *pend;
	size_t pend_len;
	size_t pend_pos;

	uint8_t atr[33];
	size_t atr_len;
};

/*
 * Run a deferred signature into out (SW_OK or an error SW), making j->ctx when it has none;
 * vc_job_clear wipes and releases. vc_sctx_drop releases a channel's kept signing context.
 */
uint16_t vc_job_run(struct vc_job *j, struct mdp_buf *out);
void vc_job_clear(struct vc_job *j);
void vc_sctx_drop(struct vcard *vc, unsigned chan);

/* One parsed command (after chaining). */
struct vc_cmd {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;
	bool has_le;
	size_t ne; /* 1..65536 when has_le, cut to what the caller's buffer takes (ne_max) */
};

/*
 * The card edge behind the framing of vcard.c (CLA, channels, chaining, GET RESPONSE): chosen by
 * the card's type.
 */
struct vc_applet {
	uint16_t (*dispatch)(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out);
	bool (*chainable)(uint8_t ins);
	bool (*mutating)(uint8_t ins); /* needs the state file's lock */
	size_t max_data;	       /* command data after chaining; beyond: 6A84 */
	bool extended;		       /* extended-length APDUs accepted */
	size_t ne_absent; /* answer bytes sent at once by a command without Le (the rest: 61xx) */
};
extern const struct vc_applet vc_piv_applet;

/* vcard.c: the engine */
/* Save now (before a PIN comparison); 0 or SW_MEMORY_FAILURE. */
uint16_t vc_commit(struct vcard *vc);
/*
 * Save now without syncing the directory: for the try counter restored after a PIN proved
 * right, whose loss in an OS crash costs the user one try, nothing more. 0 or SW_MEMORY_FAILURE.
 */
uint16_t vc_commit_lazy(struct vcard *vc);
/* A notice on standard error (vcard_set_notices), once per flag. */
void vc_notice(bool *given, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* vcard-fs.c: access rules, the initial card, file system commands */
struct vc_file *vc_find_file(struct vc_state *st, uint16_t fid);
struct vc_do *vc_find_do(struct vc_file *f, uint32_t tag);
/* Store one DO (replace; an empty value over an empty DO deletes it); SW_OK or 6581. */
uint16_t vc_store_do(struct vc_file *f, uint32_t tag, const uint8_t *val, size_t len);
enum mdp_err vc_add_file(struct vc_state *st, uint16_t fid, uint8_t desc, const uint8_t *acl,
			 size_t acl_len, struct vc_file **out);
bool vc_acl_ok(const struct vcard *vc, const struct vc_file *f, uint8_t bit);
/* The PIN, admin key, serial and tries of an initialized card, checked. */
enum mdp_err vc_check_init_params(const struct vcard_init_params *params);
/*
 * The initial GIDS card into vc->st, whose uuid, seal and KDF cost are set: blank (no PIN:
 * creation state, the card key free) or as gids-tool --initialize leaves it. Its secrets are
 * sealed.
 */
enum mdp_err vc_build_card(struct vcard *vc, const struct vcard_init_params *params);
uint16_t vc_cmd_select(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out);
uint16_t vc_cmd_get_data(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out);
uint16_t vc_cmd_put_data(struct vcard *vc, const struct vc_cmd *c);
uint16_t vc_cmd_create(struct vcard *vc, const struct vc_cmd *c);
uint16_t vc_cmd_activate(struct vcard *vc, const struct vc_cmd *c);
uint16_t vc_cmd_delete(struct vcard *vc, const struct vc_cmd *c);

/* vcard-auth.c: security state, PIN, admin key */
void vc_drop_secrets(struct vcard *vc);
/*
 * The card key for a key operation: SW_OK when it is known (PIN or admin verified) or free to
 * use (creation state: then unsealed now), SW_SECURITY when it needs an authentication, or the
 * SW of a missing seal (vc_seal_failed).
 */
uint16_t vc_need_ck(struct vcard *vc);
/* Seal the card key (vc->ck) into item CARD, for the admin path (and the creation state). */
enum mdp_err vc_ck_to_seal(struct vcard *vc);
/* The card key from item CARD (after an admin or management key authentication). */
uint16_t vc_ck_from_seal(struct vcard *vc);
/* PIV: the device key (vc->dk) from item DEVK: SW_OK or the SW of a missing seal. */
uint16_t vc_need_dk(struct vcard *vc);
/* The SW for a secret that could not be unsealed: a missing seal (6985), or a damaged state. */
uint16_t vc_unseal_failed(struct vcard *vc, enum mdp_err err);
/* Item id, which must hold exactly len bytes, into out: SW_OK or vc_unseal_failed's SW. */
uint16_t vc_item_fixed(struct vcard *vc, uint32_t id, uint8_t *out, size_t len);
/* Log out: PIN and admin state and every secret forgotten. */
void vc_logout(struct vcard *vc);
uint16_t vc_cmd_verify(struct vcard *vc, const struct vc_cmd *c);
uint16_t vc_cmd_change_ref(struct vcard *vc, const struct vc_cmd *c);
uint16_t vc_cmd_reset_retry(struct vcard *vc, const struct vc_cmd *c);
uint16_t vc_admin_auth(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out);
/*
 * The admin (GIDS admin key, PIV management key) proved itself: admin state, and the card key
 * through item CARD, sealed by the seal alone for this path (docs/vcard.md, "Seal").
 */
void vc_admin_granted(struct vcard *vc);
/* PUT DATA of a new admin key into B080: sealed, and the admin path reaches the card key. */
uint16_t vc_import_admin_key(struct vcard *vc, struct vc_file *f, const uint8_t *key, size_t len);

/* vcard-keys.c */
/* Key file B0kid, or NULL. */
struct vc_file *vc_key_file(struct vcard *vc, uint8_t kid);
/*
 * Seal pkey into key file f under key (the card key when NULL), recording type and alg; extra is
 * bound into the additional data (PIV: the PIN policy). vc_key_open unseals it (cached).
 */
uint16_t vc_key_seal(struct vcard *vc, struct vc_file *f, EVP_PKEY *pkey, uint8_t type, uint8_t alg,
		     const uint8_t *key, uint8_t extra);
uint16_t vc_key_open(struct vcard *vc, struct vc_file *f, const uint8_t *key, uint8_t extra,
		     EVP_PKEY **out);
/*
 * A key pair of type (EVP_PKEY_RSA, EVP_PKEY_EC) from the parameters in bld, refused (NULL)
 * unless its parts make one key (EVP_PKEY_pairwise_check): imported keys never sign garbage.
 */
EVP_PKEY *vc_pkey_from_bld(OSSL_PARAM_BLD *bld, int type);
/* The 7F49 public key template of a key file. */
uint16_t vc_put_public(const struct vc_file *f, struct mdp_buf *out);
/* Hand a checked signature to vcard_transmit (false: run it now with vc_job_run). */
bool vc_defer(struct vcard *vc, const struct vc_cmd *c, const uint8_t *in, size_t in_len,
	      EVP_PKEY *pkey, bool ec, int pad, bool piv);
/* ECDH with a peer point 04||X||Y (validated); secret is the field size. */
uint16_t vc_ecdh_derive(EVP_PKEY *pkey, const uint8_t *pt, size_t pt_len, uint8_t *secret,
			size_t *secret_len);
uint16_t vc_cmd_mse(struct vcard *vc, const struct vc_cmd *c);
uint16_t vc_cmd_generate(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out);
uint16_t vc_cmd_pso(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out);
uint16_t vc_cmd_ecdh(struct vcard *vc, const struct vc_cmd *c, struct mdp_buf *out);
uint16_t vc_get_public(struct vcard *vc, const uint8_t *data, size_t len, struct mdp_buf *out);
uint16_t vc_put_key(struct vcard *vc, const uint8_t *data, size_t len);
void vc_file_clear_key(struct vc_file *f);

/* piv.c (the PIV applet; its own internals are in piv-int.h) */
extern const uint8_t vc_piv_atr[23];
/* The initial PIV card into vc->st, whose uuid, seal and KDF cost are set; secrets sealed. */
enum mdp_err vc_piv_build(struct vcard *vc, const struct vcard_init_params *params);
void vc_piv_info(struct vcard *vc, struct vcard_info *info);
/* The parameters of a new PIV card, checked (MDP_ERR_ARGS with a reason). */
enum mdp_err vc_piv_check_params(const struct vcard_init_params *params);
/* piv-state.c: the PIV section of a format 2 state file */
void vc_piv_encode(const struct vc_state *st, struct mdp_buf *b);
enum mdp_err vc_piv_decode(struct mdp_cursor *c, struct vc_state *st);

/* vcard-state.c: the state file's encoding (format 1 and 2) */
void vc_state_free(struct vc_state *st);
void vc_file_free(struct vc_file *f);
enum mdp_err vc_state_encode(const struct vc_state *st, struct mdp_buf *out);
enum mdp_err vc_state_decode(const uint8_t *p, size_t len, struct vc_state *st);
/* The file records of a card-type section (format 2), for any card type. */
void vc_encode_files(const struct vc_state *st, struct mdp_buf *b);
enum mdp_err vc_decode_files(struct mdp_cursor *c, struct vc_state *st);

/* vcard-file.c: loading, atomic saves, locks */
enum mdp_err vc_load(struct vcard *vc);
enum mdp_err vc_save(struct vcard *vc);
/*
 * The same; without dir_sync the directory is not synced after the rename (the file's content
 * still is before it): an OS crash may then bring the previous state back. Only for a change
 * whose loss is harmless (vc_commit_lazy).
 */
enum mdp_err vc_save_sync(struct vcard *vc, bool dir_sync);
enum mdp_err vc_refresh(struct vcard *vc);
enum mdp_err vc_lock(struct vcard *vc);
void vc_unlock(struct vcard *vc);
enum mdp_err vc_write_new(const char *path, const struct vc_state *st);

/* vcard-crypt.c */
/* AES-256-GCM with a random nonce: out = nonce || ciphertext || tag. */
enum mdp_err vc_gcm_seal(const uint8_t key[VC_CK_LEN], const uint8_t *aad, size_t aad_len,
			 const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);
enum mdp_err vc_gcm_open(const uint8_t key[VC_CK_LEN], const uint8_t *aad, size_t aad_len,
			 const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);
/*
 * Whole blocks through a block cipher without padding (the admin and management keys'
 * challenge-response: GIDS 3DES-CBC with a zero IV, PIV 3DES/AES-ECB with iv NULL).
 */
bool vc_cipher_raw(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *iv, bool enc,
		   const uint8_t *in, size_t len, uint8_t *out);
/* scrypt(pin, salt, N = 2^cost, r = 8, p = 1), 32 bytes. */
enum mdp_err vc_scrypt(const uint8_t *pin, size_t pin_len, const uint8_t salt[VC_SALT_LEN],
		       unsigned cost, uint8_t key[VC_CK_LEN]);
/* HKDF-SHA256, 32 bytes. */
enum mdp_err vc_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
		     const char *info, uint8_t key[VC_CK_LEN]);
/* Additional data of a sealed value: uuid || label (cut to cap); returns its length. */
size_t vc_aad(const struct vc_state *st, const char *label, uint8_t *aad, size_t cap);
/* Wrap / unwrap the card key (VC_WRAP_LEN bytes) under a derived key; AAD = uuid || label. */
enum mdp_err vc_wrap_ck(const struct vc_state *st, const uint8_t kek[VC_CK_LEN], const char *label,
			const uint8_t ck[VC_CK_LEN], uint8_t wrap[VC_WRAP_LEN]);
enum mdp_err vc_unwrap_ck(const struct vc_state *st, const uint8_t kek[VC_CK_LEN],
			  const char *label, const uint8_t wrap[VC_WRAP_LEN],
			  uint8_t ck[VC_CK_LEN]);

/* vcard-seal.c: the seal (docs/vcard.md, "Seal") */
/*
 * Parse "keyfile[:PATH]" or "tpm[:TCTI]": kind and argument (NULL when absent; free()).
 * MDP_ERR_ARGS with a reason for anything else.
 */
enum mdp_err vc_seal_parse(const char *spec, uint8_t *kind, char **arg);
/*
 * A new seal for vc's card (uuid set): the record into vc->st.seal, the items key into key (and
 * the handle's locked memory). spec NULL: MDP11_VCARD_SEAL, else the TPM (device:/dev/tpmrm0)
 * when one answers, else a key file in the user's data directory named after card_path.
 * *created names a key file made now (free(); the caller removes it if the card is not
 * written), or NULL.
 */
enum mdp_err vc_seal_new(struct vcard *vc, const char *spec, const char *card_path,
			 uint8_t key[VC_CK_LEN], char **created);
/* The items key of the card's seal, from the handle's locked memory or unsealed now. */
enum mdp_err vc_seal_key(struct vcard *vc, uint8_t key[VC_CK_LEN]);
/*
 * A missing seal during a command: record it as the APDU's failure (vcard_transmit returns
 * MDP_ERR_SEAL, the reason stays in mdp_err_last()) and return the SW to answer (6985).
 */
uint16_t vc_seal_failed(struct vcard *vc);
/*
 * Does the handle's seal override apply to its card? A per-card override always does (a kind
 * that does not match is then an error at use); MDP11_VCARD_SEAL only to cards of its kind.
 */
bool vc_seal_override_applies(const struct vcard *vc);
/* Forget the handle's copy of the seal key (the seal changed). */
void vc_seal_forget(struct vcard *vc);
/*
 * Seal-only sealing: AES-256-GCM under the items key, AAD = uuid || label. For secrets the card
 * needs without a user secret (GIDS admin key, PIV management key and PIN-never keys). Seal kind
 * none: the value itself. MDP_ERR_SEAL (reason names the seal) when the seal is unavailable.
 */
enum mdp_err vc_seal_data(struct vcard *vc, const char *label, const uint8_t *in, size_t len,
			  uint8_t **out, size_t *out_len);
enum mdp_err vc_unseal_data(struct vcard *vc, const char *label, const uint8_t *in, size_t len,
			    uint8_t **out, size_t *out_len);
/* Items: id, sealed value in st->items. get: MDP_ERR_NOT_FOUND when absent; free with
 * mdp_secure_free. */
enum mdp_err vc_item_put(struct vcard *vc, uint32_t id, const uint8_t *val, size_t len);
enum mdp_err vc_item_get(struct vcard *vc, uint32_t id, uint8_t **val, size_t *len);
bool vc_item_has(const struct vc_state *st, uint32_t id);
struct vc_item *vc_item_find(const struct vc_state *st, uint32_t id); /* NULL when absent */
void vc_item_del(struct vc_state *st, uint32_t id);
/* The symmetric key of a key file (key: VC_SYM_MAX bytes), sealed in f->sym. */
enum mdp_err vc_sym_get(struct vcard *vc, const struct vc_file *f, uint8_t key[VC_SYM_MAX],
			size_t *len);
enum mdp_err vc_sym_set(struct vcard *vc, struct vc_file *f, const uint8_t *key, size_t len);
/*
 * The PIN KDF (vc_scrypt) of this handle, or its cached result when the same PIN was proved
 * right with this salt and cost before (vcard-keep.c). vc_pin_kdf_keep caches after a success.
 */
enum mdp_err vc_pin_kdf(struct vcard *vc, const uint8_t *pin, size_t len,
			const uint8_t salt[VC_SALT_LEN], unsigned cost, uint8_t out[VC_CK_LEN]);
void vc_pin_kdf_keep(struct vcard *vc, const uint8_t *pin, size_t len,
		     const uint8_t salt[VC_SALT_LEN], unsigned cost, const uint8_t kdf[VC_CK_LEN]);

/* vcard-tpm.c: the TPM seal through tpm2-tss (ESAPI, tctildr) */
/* Does a TPM answer at tcti (NULL: device:/dev/tpmrm0)? Quiet: for choosing the default seal. */
bool vc_tpm_usable(const char *tcti);
/* Seal secret into a new object under the owner hierarchy's storage key: *out = the object. */
enum mdp_err vc_tpm_seal(const char *tcti, const uint8_t *secret, size_t len, uint8_t **out,
			 size_t *out_len);
/* Unseal it (secret: cap bytes). */
enum mdp_err vc_tpm_unseal(const char *tcti, const uint8_t *obj, size_t obj_len, uint8_t *secret,
			   size_t cap, size_t *len);

/* vcard-keep.c: per-process locked memory for what a handle keeps between commands */
/* A slot for a handle (token != 0), or token 0 when none is free (nothing is kept then). */
void vc_keep_new(unsigned *slot, uint64_t *token);
void vc_keep_free(unsigned slot, uint64_t token);
bool vc_keep_key_get(unsigned slot, uint64_t token, const uint8_t id[32], uint8_t key[VC_CK_LEN]);
void vc_keep_key_set(unsigned slot, uint64_t token, const uint8_t id[32],
		     const uint8_t key[VC_CK_LEN]);
void vc_keep_key_drop(unsigned slot, uint64_t token);
bool vc_keep_pin_get(unsigned slot, uint64_t token, const uint8_t uuid[VC_UUID_LEN],
		     const uint8_t salt[VC_SALT_LEN], unsigned cost, const uint8_t *pin, size_t len,
		     uint8_t kdf[VC_CK_LEN]);
void vc_keep_pin_set(unsigned slot, uint64_t token, const uint8_t uuid[VC_UUID_LEN],
		     const uint8_t salt[VC_SALT_LEN], unsigned cost, const uint8_t *pin, size_t len,
		     const uint8_t kdf[VC_CK_LEN]);

#endif
