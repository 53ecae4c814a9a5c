/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual GIDS card: an APDU engine over a persistent state file. */
#ifndef MDP11_VCARD_VCARD_H
#define MDP11_VCARD_VCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/*
 * The card knows nothing of the host: it speaks ISO 7816-4 / GIDS APDUs
 * (spec/gids.md §13) and keeps its state in one file (or only in memory
 * when opened with path NULL: tests and fuzzing). One struct vcard is one
 * card in one reader; it is not thread-safe (the caller serialises, as a
 * reader does). Several processes may open the same state file: every
 * change is made under a file lock on the freshest state, and a change by
 * another process is picked up before the next APDU.
 */
struct vcard;

#define VCARD_MAX_RESPONSE 258 /* 256 data bytes + SW1 SW2 */
#define VCARD_ADMIN_KEY_LEN 24

/* The applet a card carries (recorded in its state file). */
enum vcard_type {
	VCARD_TYPE_GIDS = 0,
	VCARD_TYPE_PIV = 1, /* reserved for the PIV applet */
};

/*
 * Parameters of a new card (vcard_create, vcard_open(NULL, ...)). With pin NULL the card is
 * blank (creation state); with pin it is initialized (mdp11-vcard create --pin ...). seal and
 * kdf_cost apply to both. vcard_open of a state file uses seal only: where the card's seal is,
 * when not where the file says (its kind must match the file's).
 */
struct vcard_init_params {
	const char *pin;	  /* user PIN, 4..16 bytes */
	const uint8_t *admin_key; /* 24-byte 3DES admin key */
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

/* Power cycle: security state cleared, GIDS application selected. */
void vcard_reset(struct vcard *vc);
/* The ATR (3B 80 80 01 01 unless set); returns its length. */
size_t vcard_atr(const struct vcard *vc, uint8_t *atr, size_t cap);
enum mdp_err vcard_set_atr(struct vcard *vc, const uint8_t *atr, size_t len);

/*
 * One APDU in, one response (data + SW1 SW2) out. resp must hold
 * VCARD_MAX_RESPONSE bytes. Card-level errors are status words, not error
 * returns: the return value is MDP_ERR_* only for a broken call (bad
 * arguments) or a state file that cannot be written (the card then answers
 * 6581 "memory failure" and keeps the previous state).
 */
enum mdp_err vcard_transmit(struct vcard *vc, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
			    size_t *resp_len);

/*
 * Logical channels: commands with CLA bits 0-1 = N go to channel N, opened by MANAGE CHANNEL
 * (00 70 00 00 01) and closed by 00 70 80 0N or a reset. Each channel has its own selection and
 * security environment; the security status is shared. Commands of different channels may come
 * from different threads: the engine serialises them, but runs the private-key work of a
 * signature outside its lock, so two signatures proceed at the same time.
 *
 * vcard_resets counts vcard_reset calls. vcard_transmit_since refuses (MDP_ERR_CARD_RESET) a
 * command when the card was reset after resets was read: a channel opened before a reset is
 * gone and its number may since belong to someone else.
 */
uint64_t vcard_resets(struct vcard *vc);
enum mdp_err vcard_transmit_since(struct vcard *vc, uint64_t resets, const uint8_t *apdu,
				  size_t apdu_len, uint8_t *resp, size_t *resp_len);

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
	bool initialized; /* application operational */
	uint8_t cardid[32];
	size_t cardid_len;
	unsigned pin_tries_left;
	unsigned pin_tries_max;
	unsigned key_files;	 /* key files B081.. present */
	unsigned data_objects;	 /* DOs stored in all EFs */
	uint32_t format_version; /* 1: unsealed (reseal it), 2: sealed */
	unsigned kdf_cost;	 /* log2 of the scrypt N that derives the PIN key */
	enum vcard_type type;
	bool sealed;	     /* false: format 1, the file alone yields every secret */
	char seal[512];	     /* the seal in use: "keyfile:PATH", "tpm:TCTI", "none", "memory" */
	char seal_file[512]; /* the seal the file records, when the one in use differs, else "" */
};
enum mdp_err vcard_get_info(struct vcard *vc, struct vcard_info *info);

#endif
