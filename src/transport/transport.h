/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One APDU transport interface over PC/SC readers and the in-process virtual card. */
#ifndef MDP11_TRANSPORT_TRANSPORT_H
#define MDP11_TRANSPORT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/*
 * A transport is one card in one reader. The card layer sends raw APDUs
 * through mdp_transport_transmit() (or the framing helpers of apdu.h, which
 * it should prefer) and brackets every multi-APDU operation with
 * mdp_transport_begin() / mdp_transport_end().
 *
 * Events are reported as errors of the call that meets them:
 *   MDP_ERR_CARD_RESET    the card was reset by someone else (or a reconnect
 *                         happened): the transport has already reconnected,
 *                         the card's security state and selected application
 *                         are lost. Reported once; the next call works.
 *   MDP_ERR_CARD_REMOVED  the card was removed while we used it.
 *   MDP_ERR_NO_CARD       there is no card in the reader.
 *   MDP_ERR_NO_SERVICE    the PC/SC service is unreachable (after one attempt to
 *                         re-establish the context).
 *   MDP_ERR_TRANSPORT     any other link failure.
 *
 * A transport is not thread-safe; the caller serialises (a lock per slot).
 * Transactions nest: only the outermost begin/end reach the card.
 *
 * Every APDU is traced at debug level in the log area "transport". The data
 * field of commands that carry secrets is blanked in the trace: VERIFY (20),
 * CHANGE REFERENCE DATA (24), RESET RETRY COUNTER (2C), GENERAL AUTHENTICATE
 * (87) and PUT DATA on 3FFF (key import), including their chained chunks;
 * the response data of GENERAL AUTHENTICATE (ECDH secret, admin cryptogram)
 * and of PSO DECIPHER (plaintext), with the GET RESPONSE that continue them,
 * is blanked too.
 */

/* What to do with the card when a transaction ends or on reconnect. */
enum mdp_disposition {
	MDP_LEAVE_CARD = 0, /* keep the card state (login survives) */
	MDP_RESET_CARD = 1, /* warm reset: security state cleared */
};

#define MDP_ATR_MAX 33

struct mdp_transport_status {
	bool present; /* a card is in the reader */
	bool changed; /* the card was removed/reset/replaced since the last status call */
	uint8_t atr[MDP_ATR_MAX];
	size_t atr_len;
};

struct mdp_transport;

/*
 * Operations of one link. transmit receives one complete short or extended
 * APDU and writes the response (data + SW1 SW2) into resp (capacity *resp_len
 * on entry, length written on return). Any op may be NULL where the link has
 * nothing to do (begin/end/reconnect), except transmit and status.
 */
struct mdp_transport_ops {
	const char *kind; /* "pcsc", "embedded", "script" */
	enum mdp_err (*transmit)(void *priv, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
				 size_t *resp_len);
	enum mdp_err (*begin)(void *priv);
	enum mdp_err (*end)(void *priv, enum mdp_disposition disp);
	enum mdp_err (*reconnect)(void *priv, enum mdp_disposition disp);
	enum mdp_err (*status)(void *priv, struct mdp_transport_status *st);
	void (*free)(void *priv);
	/* optional: see mdp_transport_mark() */
	enum mdp_err (*mark)(void *priv, uint64_t *mark);
};

/*
 * Wrap a link. name is copied (reader name or label). On success the
 * transport owns priv (ops->free is called by mdp_transport_free); on
 * failure the caller still owns it.
 */
enum mdp_err mdp_transport_new(const struct mdp_transport_ops *ops, void *priv, const char *name,
			       struct mdp_transport **out);
void mdp_transport_free(struct mdp_transport *t);
/* The priv pointer of a transport made with these ops (NULL otherwise): for link implementations.
 */
void *mdp_transport_priv(struct mdp_transport *t, const struct mdp_transport_ops *ops);

/*
 * Send one APDU exactly as given (no framing). resp must hold cap bytes;
 * 258 bytes suffice for short APDUs (MDP_APDU_SHORT_RESPONSE). The APDU is
 * traced with secrets blanked. Counts the APDU in the statistics.
 */
#define MDP_APDU_SHORT_RESPONSE 258
enum mdp_err mdp_transport_transmit(struct mdp_transport *t, const uint8_t *apdu, size_t apdu_len,
				    uint8_t *resp, size_t cap, size_t *resp_len);

/* Begin an exclusive transaction (nesting counted). */
enum mdp_err mdp_transport_begin(struct mdp_transport *t);
/* End it; disp applies when the outermost transaction ends. */
enum mdp_err mdp_transport_end(struct mdp_transport *t, enum mdp_disposition disp);
/* Reconnect (after a reset or to reset the card on purpose: MDP_RESET_CARD). */
enum mdp_err mdp_transport_reconnect(struct mdp_transport *t, enum mdp_disposition disp);
/* Presence, change since the last call, and ATR. */
enum mdp_err mdp_transport_status(struct mdp_transport *t, struct mdp_transport_status *st);
/*
 * Change mark: a value that moves whenever someone else (another process or connection, a reset
 * or removal) may have changed the card since the previous call. Equal marks at two moments prove
 * that only this transport's own commands touched the card in between, so a host need not re-read
 * what it already knows (the cardcf freshness counters). Taken inside a transaction, a mark also
 * covers the rest of it. MDP_ERR_UNSUPPORTED when the link cannot tell (PC/SC: other
 * applications' transactions are invisible).
 */
enum mdp_err mdp_transport_mark(struct mdp_transport *t, uint64_t *mark);
/* Reader name or label; never NULL. */
const char *mdp_transport_name(const struct mdp_transport *t);
/* "pcsc", "embedded", ...; never NULL. */
const char *mdp_transport_kind(const struct mdp_transport *t);

/* Number of APDUs sent since creation or the last reset of the counter (benchmarks, tests). */
unsigned long mdp_transport_apdu_count(const struct mdp_transport *t);
void mdp_transport_reset_count(struct mdp_transport *t);

/*
 * Optional observer of every exchange (tests record writes with it). The
 * callback sees the real APDU and response, not the blanked trace.
 */
typedef void (*mdp_transport_observer)(void *ctx, const uint8_t *apdu, size_t apdu_len,
				       const uint8_t *resp, size_t resp_len);
void mdp_transport_set_observer(struct mdp_transport *t, mdp_transport_observer cb, void *ctx);

/* ---- embedded: the virtual card in this process ---- */

struct vcard_init_params;
struct vcard;

/*
 * Open the virtual card of state file state_path (it must exist), or, with
 * state_path NULL, a fresh in-memory card (initialized with params when
 * given, blank otherwise). Transactions are a process-local lock; the card
 * engine locks its state file for every change itself. A state file this
 * process cannot read, or cannot write (the file, or new files beside it), is
 * refused with MDP_ERR_IO and a reason "card file not readable: ..." / "card
 * file not writable: ..."; a missing one with MDP_ERR_NOT_FOUND.
 */
enum mdp_err mdp_transport_embedded_new(const char *state_path,
					const struct vcard_init_params *params,
					struct mdp_transport **out);
/*
 * The same for a state file whose seal is not where the file says (seal: "keyfile:PATH" or
 * "tpm:TCTI" of the same kind, the [vcard "label"] seal setting; NULL: the file's, or
 * MDP11_VCARD_SEAL). docs/vcard.md, "Seal".
 */
enum mdp_err mdp_transport_embedded_open(const char *state_path, const char *seal,
					 struct mdp_transport **out);
/* The card behind an embedded transport (NULL for other kinds); tests drive it directly. */
struct vcard *mdp_transport_embedded_vcard(struct mdp_transport *t);
/*
 * Simulate another process resetting the card: the card is power cycled and
 * the next transmit reports MDP_ERR_CARD_RESET once. With removed true the
 * card disappears instead (MDP_ERR_CARD_REMOVED, then MDP_ERR_NO_CARD) until
 * called again with removed false (reinsertion).
 */
enum mdp_err mdp_transport_embedded_event(struct mdp_transport *t, bool removed);

/*
 * Open a logical channel of the embedded card behind t (MANAGE CHANNEL, sent through t, so the
 * caller must own t at that moment): a transport of its own whose commands carry the channel in
 * CLA. It shares the card's security status (a PIN verified on any channel counts on all) but
 * has its own selection and security environment, and its commands run beside those of t and
 * of other channels from other threads: two signatures compute at the same time. It has no
 * transactions and never locks the state file: use it for commands that need neither (MSE +
 * PSO). A reset of the card closes it (its commands then fail with MDP_ERR_CARD_RESET). It keeps
 * the card alive after t is freed; mdp_transport_free closes it. MDP_ERR_UNSUPPORTED for other
 * kinds of transport, MDP_ERR_BUSY when the card's three channels are taken.
 */
enum mdp_err mdp_transport_embedded_channel(struct mdp_transport *t, struct mdp_transport **out);

/* ---- pcsc: pcsc-lite ---- */

/*
 * Names of the PC/SC readers present (each a malloc'ed string; free the
 * list with mdp_pcsc_free_readers). No reader is not an error: count 0.
 * MDP_ERR_NO_SERVICE when pcscd cannot be reached.
 */
enum mdp_err mdp_pcsc_list_readers(char ***readers, size_t *count);
void mdp_pcsc_free_readers(char **readers, size_t count);

/*
 * Connect to the card in reader (shared mode, T=0 or T=1). MDP_ERR_NO_CARD
 * when the reader is empty, MDP_ERR_NOT_FOUND when the reader is unknown.
 */
enum mdp_err mdp_transport_pcsc_new(const char *reader, struct mdp_transport **out);

/*
 * Waiting for reader and card changes (C_WaitForSlotEvent). A monitor has
 * its own PC/SC context so that mdp_pcsc_monitor_cancel() can be called
 * from another thread while mdp_pcsc_monitor_wait() blocks.
 */
struct mdp_pcsc_monitor;

struct mdp_pcsc_event {
	char reader[128]; /* reader whose state changed ("" when the reader list changed) */
	bool present;	  /* card present after the change */
};

enum mdp_err mdp_pcsc_monitor_new(struct mdp_pcsc_monitor **out);
/*
 * Block until a reader appears or disappears or a card is inserted or
 * removed, up to timeout_ms (negative: forever). MDP_ERR_TIMEOUT when
 * nothing happened, MDP_ERR_BUSY when cancelled. The first call only
 * records the current state when nothing differs from it.
 */
enum mdp_err mdp_pcsc_monitor_wait(struct mdp_pcsc_monitor *m, int timeout_ms,
				   struct mdp_pcsc_event *ev);
/* Wake a blocked wait (thread-safe). */
void mdp_pcsc_monitor_cancel(struct mdp_pcsc_monitor *m);
void mdp_pcsc_monitor_free(struct mdp_pcsc_monitor *m);

#endif
