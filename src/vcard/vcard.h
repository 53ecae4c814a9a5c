/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual smart card (GIDS or PIV): an APDU engine over a persistent state file. */
#ifndef MDP11_VCARD_VCARD_H
#define MDP11_VCARD_VCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/*
 * The card knows nothing of the host: it speaks ISO 7816-4 APDUs of one card
 * edge, chosen at creation — GIDS (spec/gids.md §13) or a YubiKey-compatible
 * PIV applet (spec/piv.md §10, docs/vcard-piv.md) — and keeps its state in one file (or only in
 * memory when opened with path NULL: tests and fuzzing). One struct vcard is one card in one
 * reader; it is not thread-safe (the caller serialises, as a reader does). Several processes may
 * open the same state file: every change is made under a file lock on the freshest state, and a
 * change by another process is picked up before the next APDU.
 */
struct vcard;

#define VCARD_MAX_RESPONSE 258 /* 256 data bytes + SW1 SW2 */
/* An answer to an extended Le of 00 00 (PIV): 65536 data bytes + SW1 SW2 (vcard_transmit_cap). */
#define VCARD_MAX_EXT_RESPONSE 65538
#define VCARD_ADMIN_KEY_LEN 24

/* The card edge a card speaks (recorded in its state file). */
enum vcard_type {
	VCARD_TYPE_GIDS = 0,
	VCARD_TYPE_PIV = 1,
};

/*
 * Parameters of a new card (vcard_create, vcard_open(NULL, ...)). Zero fields take the
 * defaults; type 0 is GIDS, so older callers are unchanged. GIDS: with pin NULL the card is
 * blank (creation state); with pin it is initialized (mdp11-vcard create --pin ...). seal and
 * kdf_cost apply to every card. vcard_open of a state file uses seal only: where the card's
 * seal is, when not where the file says (its kind must match the file's).
 *
 * PIV (type VCARD_TYPE_PIV): every field is optional. PIN 123456 and PUK
 * 12345678 (6..8 bytes, no FF byte), management key 0102030405060708 x 3
 * (admin_key, admin_key_len 16/24/32 bytes for the algorithm mgm_alg: 03
 * 3DES, 08/0A/0C AES-128/192/256; default 03 below version 5.7, 0A from
 * 5.7 on, as a YubiKey), 3 PIN and 3 PUK tries (1..255), version 5.4.3,
 * a random 8-digit serial. serial/serial_len are not used.
 */
struct vcard_init_params {
	const char *pin;	  /* user PIN, 4..16 bytes (PIV: 6..8) */
	const uint8_t *admin_key; /* 24-byte 3DES admin key (PIV: the management key) */
	const uint8_t *serial;	  /* cardid, 16 bytes; NULL: random */
	size_t serial_len;	  /* 1..16 */
	unsigned pin_tries;	  /* 0: default 3 */
	/*
	 * "tpm[:TCTI]" or "keyfile[:PATH]" (docs/vcard.md). NULL: MDP11_VCARD_SEAL, else the TPM
	 * when one answers at device:/dev/tpmrm0, else a key file in the user's data directory.
	 */
	const char *seal;
	unsigned kdf_cost; /* log2 of the scrypt N of the PIN KDF, 1..20; 0: MDP11_VCARD_KDF_COST,
			      else 15 */

	enum vcard_type type;
	size_t admin_key_len; /* PIV: 16, 24 or 32; 0: 24 */
	uint8_t mgm_alg;      /* PIV: 03, 08, 0A, 0C; 0: the version's default */
	const char *puk;      /* PIV: 6..8 bytes; NULL: 12345678 */
	unsigned puk_tries;   /* PIV: 1..255; 0: default 3 */
	uint32_t piv_serial;  /* PIV: GET SERIAL; 0: random */
	uint8_t version[3];   /* PIV: GET VERSION (major minor patch); 0.0.0: 5.4.3 */
};

/*
 * Create a new state file: blank (params NULL, or params->pin NULL), in creation state, waiting
 * for gids-tool --initialize (or our own initialisation); or initialized as gids-tool
 * --initialize leaves a card: EFs A000..A014, admin key B080, masterfile, cardapps, cardcf, empty
 * cmapfile, cardid, application operational. Its secrets are sealed by the seal params choose
 * (a key file is created if missing). Fails with MDP_ERR_EXISTS if path exists. path NULL is
 * not allowed here.
 */
enum mdp_err vcard_create(const char *path, const struct vcard_init_params *params);

/*
 * Open a card. path NULL: a fresh in-memory card (blank, or initialized when params->pin is
 * given) that is never saved. A damaged or foreign state file is refused with MDP_ERR_STATE and
 * a reason in mdp_err_last(). The seal is not needed to open: without it the card's public
 * objects can be read, and what needs its secrets (PIN and admin authentication, key
 * operations) fails with MDP_ERR_SEAL from vcard_transmit (the card answers 6985) and a reason
 * naming the seal. An unsealed card (format 1) opens with a warning in the log.
 */
enum mdp_err vcard_open(const char *path, const struct vcard_init_params *params,
			struct vcard **out);
void vcard_free(struct vcard *vc);

/*
 * Seal the card's secrets by a new seal (spec as vcard_init_params.seal; NULL: the default),
 * under the card's lock, without losing a key: an unsealed (format 1) card becomes format 2.
 * Needs the current seal. Other handles of the card pick the change up at their next command.
 */
enum mdp_err vcard_reseal(struct vcard *vc, const char *seal);

/* Is the card's seal available now? MDP_OK, or MDP_ERR_SEAL with the reason. */
enum mdp_err vcard_seal_check(struct vcard *vc);

/*
 * Notices on standard error, once per card handle: a card that is not sealed (format 1), and a
 * card whose seal is missing when something needs it. On by default, so that a user of any
 * application that loads the module learns why a login fails; programs that report the
 * errors themselves (mdp11-tool, mdp11-vcard) turn them off. Process-wide.
 */
void vcard_set_notices(bool on);

/* Power cycle: security state cleared, the card's application (GIDS or PIV) selected. */
void vcard_reset(struct vcard *vc);
/*
 * The ATR unless set: GIDS 3B 80 80 01 01; PIV the YubiKey 5 ATR (T=1; spec/piv.md §3). Returns
 * its length.
 */
size_t vcard_atr(const struct vcard *vc, uint8_t *atr, size_t cap);
enum mdp_err vcard_set_atr(struct vcard *vc, const uint8_t *atr, size_t len);

/*
 * One APDU in, one response (data + SW1 SW2) out. resp must hold
 * VCARD_MAX_RESPONSE bytes. Card-level errors are status words, not error
 * returns: the return value is MDP_ERR_* only for a broken call (bad
 * arguments), a state file that cannot be written (the card then answers
 * 6581 "memory failure" and keeps the previous state), or a command that
 * needs the card's seal when it is not available (MDP_ERR_SEAL, the reason in
 * mdp_err_last(); the card answers 6985 and changes nothing).
 */
enum mdp_err vcard_transmit(struct vcard *vc, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
			    size_t *resp_len);
/*
 * The same with a response buffer of cap bytes (VCARD_MAX_RESPONSE..VCARD_MAX_EXT_RESPONSE): an
 * extended Le (a card edge that takes extended APDUs: PIV) is honoured up to cap - 2 bytes, the
 * rest waits for GET RESPONSE (61xx). vcard_transmit answers at most 256 bytes at once, whatever
 * the Le. MDP_ERR_ARGS for a smaller cap.
 */
enum mdp_err vcard_transmit_cap(struct vcard *vc, const uint8_t *apdu, size_t apdu_len,
				uint8_t *resp, size_t cap, size_t *resp_len);

/*
 * Logical channels: commands with CLA bits 0-1 = N go to channel N, opened by MANAGE CHANNEL
 * (00 70 00 00 01) and closed by 00 70 80 0N or a reset. Each channel has its own selection and
 * security environment; the security status is shared. Commands of different channels may come
 * from different threads: the engine serialises them, but runs the private-key work of a
 * signature outside its lock, so two signatures proceed at the same time.
 *
 * vcard_resets counts vcard_reset calls. vcard_transmit_since refuses (MDP_ERR_CARD_RESET) a
 * command when the card was reset after resets was read: a channel opened before a reset is
 * gone and its number may since belong to someone else. Its cap is vcard_transmit_cap's.
 */
uint64_t vcard_resets(struct vcard *vc);
enum mdp_err vcard_transmit_since(struct vcard *vc, uint64_t resets, const uint8_t *apdu,
				  size_t apdu_len, uint8_t *resp, size_t cap, size_t *resp_len);

/*
 * Hold the state file's lock over several APDUs (a reader transaction, so
 * that a host's read-modify-write of a file is not interleaved with another
 * process's). Other processes' changes wait until the matching
 * vcard_unlock; their reads go on. Nests. A no-op for in-memory cards.
 * MDP_ERR_IO when the lock file cannot be opened or locked.
 */
enum mdp_err vcard_lock(struct vcard *vc);
void vcard_unlock(struct vcard *vc);

/*
 * Change counters of this handle: commits are the commands that changed the card's state through
 * it; reloads are the changes made by others (other handles or processes on the same state file)
 * that it picked up. With check the state file is looked at first (a stat; a change is loaded
 * now). Equal counters at two moments mean the card's persistent state did not change in between.
 * MDP_ERR_NOT_FOUND / MDP_ERR_IO / MDP_ERR_STATE when the file cannot be looked at or loaded.
 */
struct vcard_changes {
	uint64_t commits;
	uint64_t reloads;
};
enum mdp_err vcard_changes(struct vcard *vc, bool check, struct vcard_changes *out);

/* Summary for mdp11-vcard info (public facts only). */
struct vcard_info {
	enum vcard_type type;
	bool initialized;   /* application operational */
	uint8_t cardid[32]; /* PIV: the CHUID GUID (empty without a CHUID) */
	size_t cardid_len;
	unsigned pin_tries_left;
	unsigned pin_tries_max;
	unsigned key_files;	 /* key files B081.. present (PIV: key slots holding a key) */
	unsigned data_objects;	 /* DOs stored in all EFs (PIV: data objects stored) */
	uint32_t format_version; /* 1: unsealed (reseal it), 2: sealed */
	unsigned kdf_cost;	 /* log2 of the scrypt N that derives the PIN key */
	bool sealed;		 /* false: format 1, the file alone yields every secret */
	char seal[512];		 /* the seal in use: "keyfile:PATH", "tpm:TCTI", "none", "memory" */
	char seal_file[512]; /* the seal the file records, when the one in use differs, else "" */

	/* PIV only */
	unsigned puk_tries_left;
	unsigned puk_tries_max;
	uint32_t piv_serial;
	uint8_t version[3];
	uint8_t mgm_alg;       /* 03, 08, 0A, 0C */
	bool pin_default;      /* still 123456 */
	bool puk_default;      /* still 12345678 */
	bool mgm_default;      /* still 0102030405060708 x 3 */
	uint8_t slots[24];     /* key slots holding a key, in the order 9A 9C 9D 9E 82..95 */
	uint8_t slot_algs[24]; /* their algorithm ids */
	size_t n_slots;
};
enum mdp_err vcard_get_info(struct vcard *vc, struct vcard_info *info);

#endif
