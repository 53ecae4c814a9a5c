/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vpcd wire protocol (vsmartcard's virtual reader in pcscd): framing and the serve loop. */
#ifndef MDP11_TOOLS_VPCD_H
#define MDP11_TOOLS_VPCD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/*
 * vpcd (the pcscd driver of vsmartcard-vpcd) listens on a TCP port (the
 * CHANNELID of its reader.conf entry); the card connects to it. Both sides
 * send messages made of a 2-byte big-endian length and that many bytes.
 * A 1-byte message from vpcd is a control code; anything longer is a
 * command APDU, answered by one message holding the response APDU. Of the
 * control codes only VPCD_CTRL_ATR is answered (with the ATR). A zero
 * length is not part of the protocol and is refused.
 */
#define VPCD_CTRL_OFF 0
#define VPCD_CTRL_ON 1
#define VPCD_CTRL_RESET 2
#define VPCD_CTRL_ATR 4

#define VPCD_MAX_MSG 0xffffu
#define VPCD_DEFAULT_HOST "127.0.0.1"
#define VPCD_DEFAULT_PORT 35963

/*
 * Incremental decoder: bytes arrive from the socket in pieces of any size
 * (a length header may be split across reads). The payload buffer may hold
 * a PIN, so it is wiped once a message has been handled (vpcd_decoder_next)
 * and when the decoder is freed.
 */
struct vpcd_decoder {
	uint8_t hdr[2];
	size_t hdr_have;
	size_t want;   /* payload length announced by the header */
	size_t have;   /* payload bytes received */
	bool complete; /* a whole message is in msg[0..want) */
	uint8_t *msg;  /* VPCD_MAX_MSG bytes */
};

enum mdp_err vpcd_decoder_init(struct vpcd_decoder *d);
void vpcd_decoder_free(struct vpcd_decoder *d);
/*
 * Consume bytes from in until a message is complete or the input is used
 * up; *used tells how many were taken (the rest belongs to the next
 * message). Fails with MDP_ERR_FORMAT on a zero length header. Feeding a
 * decoder that holds a complete message takes nothing.
 */
enum mdp_err vpcd_decoder_feed(struct vpcd_decoder *d, const uint8_t *in, size_t len, size_t *used);
/* Wipe the complete message and get ready for the next one. */
void vpcd_decoder_next(struct vpcd_decoder *d);

/* Frame payload into out (len + 2 bytes); MDP_ERR_OVERFLOW beyond VPCD_MAX_MSG. */
enum mdp_err vpcd_frame(const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
			size_t *out_len);

/*
 * "HOST:PORT", "[V6ADDR]:PORT", "HOST" (default port) or ":PORT" (default
 * host). host must hold cap bytes. MDP_ERR_FORMAT with a reason when bad.
 */
enum mdp_err vpcd_parse_endpoint(const char *s, char *host, size_t cap, uint16_t *port);

/* What the serve loop drives: the card behind the reader. */
struct vpcd_card_ops {
	/* The ATR into atr (cap bytes); returns its length. */
	size_t (*atr)(void *ctx, uint8_t *atr, size_t cap);
	/* Power off, power on or reset (VPCD_CTRL_*): the card loses its security state. */
	void (*power)(void *ctx, int ctrl);
	/*
	 * One APDU in, response out (resp holds cap bytes, cap >= 2). A failure
	 * that still produced a response (*resp_len > 0) is logged and the
	 * response sent; without a response the reader gets 6F00.
	 */
	enum mdp_err (*transmit)(void *ctx, const uint8_t *apdu, size_t len, uint8_t *resp,
				 size_t cap, size_t *resp_len);
	void *ctx;
};

/* Why a connection ended. */
enum vpcd_end {
	VPCD_END_STOP,	   /* *stop became non-zero */
	VPCD_END_CLOSED,   /* vpcd closed the connection (pcscd stopped) */
	VPCD_END_PROTOCOL, /* vpcd sent something outside the protocol */
	VPCD_END_IO,	   /* socket error */
};

/*
 * Serve one established connection until it ends. Signals that should stop
 * the loop must be blocked by the caller: they are only let through while
 * waiting for input (ppoll), so a message is always handled completely
 * and the card's state file is never left half-written by the loop.
 */
enum vpcd_end vpcd_serve_fd(int fd, const struct vpcd_card_ops *ops, volatile sig_atomic_t *stop,
			    const sigset_t *waitmask);

/* A TCP connection to host:port (TCP_NODELAY, close-on-exec). */
enum mdp_err vpcd_connect(const char *host, uint16_t port, int *fd);

/*
 * Connect, serve, and reconnect with a growing delay (100 ms doubling up to
 * max_delay_ms) whenever vpcd goes away, until *stop. Returns MDP_OK when
 * stopped; MDP_ERR_TRANSPORT when connect_tries (0: unlimited) attempts in
 * a row have failed.
 */
enum mdp_err vpcd_run(const char *host, uint16_t port, const struct vpcd_card_ops *ops,
		      volatile sig_atomic_t *stop, const sigset_t *waitmask, unsigned max_delay_ms,
		      unsigned connect_tries);

#endif
