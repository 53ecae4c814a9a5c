/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vpcd wire protocol: message framing, connection to pcscd's vpcd reader, serve loop. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MDP_LOG_AREA MDP_AREA_TOOL
#include "common/log.h"
#include "common/secmem.h"
#include "tools/vpcd.h"

#define CONNECT_TIMEOUT_MS 5000

enum mdp_err
vpcd_decoder_init(struct vpcd_decoder *d)
{
	if (!d)
		return mdp_err_reason(MDP_ERR_ARGS, "no decoder");
	memset(d, 0, sizeof(*d));
	d->msg = mdp_zalloc(VPCD_MAX_MSG);
	if (!d->msg)
		return MDP_ERR_NOMEM;
	return MDP_OK;
}

void
vpcd_decoder_free(struct vpcd_decoder *d)
{
	if (!d)
		return;
	mdp_secure_free(d->msg, VPCD_MAX_MSG);
	memset(d, 0, sizeof(*d));
}

enum mdp_err
vpcd_decoder_feed(struct vpcd_decoder *d, const uint8_t *in, size_t len, size_t *used)
{
	size_t off = 0;
	size_t n;

	if (!d || !d->msg || (!in && len) || !used)
		return mdp_err_reason(MDP_ERR_ARGS, "bad decoder call");
	while (off < len && !d->complete) {
		if (d->hdr_have < 2) {
			d->hdr[d->hdr_have++] = in[off++];
			if (d->hdr_have < 2)
				continue;
			d->want = ((size_t)d->hdr[0] << 8) | d->hdr[1];
			d->have = 0;
			if (d->want == 0) {
				*used = off;
				return mdp_err_reason(MDP_ERR_FORMAT,
						      "vpcd sent a zero-length message");
			}
			continue;
		}
		n = d->want - d->have;
		if (n > len - off)
			n = len - off;
		memcpy(d->msg + d->have, in + off, n);
		d->have += n;
		off += n;
		if (d->have == d->want)
			d->complete = true;
	}
	*used = off;
	return MDP_OK;
}

void
vpcd_decoder_next(struct vpcd_decoder *d)
{
	if (!d || !d->msg)
		return;
	mdp_wipe(d->msg, d->want);
	d->hdr_have = 0;
	d->want = 0;
	d->have = 0;
	d->complete = false;
}

enum mdp_err
vpcd_frame(const uint8_t *payload, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	if ((!payload && len) || !out || !out_len)
		return mdp_err_reason(MDP_ERR_ARGS, "bad frame call");
	if (len > VPCD_MAX_MSG)
		return mdp_err_reason(MDP_ERR_OVERFLOW, "message of %zu bytes exceeds vpcd's %u",
				      len, VPCD_MAX_MSG);
	if (cap < len + 2)
		return MDP_ERR_BUFFER_TOO_SMALL;
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	if (len)
		memmove(out + 2, payload, len);
	*out_len = len + 2;
	return MDP_OK;
}

static enum mdp_err
parse_port(const char *s, uint16_t *port)
{
	char *end = NULL;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return mdp_err_reason(MDP_ERR_FORMAT, "bad port \"%s\"", s);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return mdp_err_reason(MDP_ERR_FORMAT, "bad port \"%s\" (1..65535)", s);
	*port = (uint16_t)v;
	return MDP_OK;
}

enum mdp_err
vpcd_parse_endpoint(const char *s, char *host, size_t cap, uint16_t *port)
{
	const char *h = NULL;
	const char *p = NULL;
	size_t hlen = 0;
	uint16_t pv = VPCD_DEFAULT_PORT;
	enum mdp_err rv;

	if (!s || !host || !cap || !port)
		return mdp_err_reason(MDP_ERR_ARGS, "bad endpoint call");
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close == s + 1)
			return mdp_err_reason(MDP_ERR_FORMAT, "bad address \"%s\"", s);
		h = s + 1;
		hlen = (size_t)(close - h);
		if (close[1] == ':')
			p = close + 2;
		else if (close[1])
			return mdp_err_reason(MDP_ERR_FORMAT, "bad address \"%s\"", s);
	} else {
		const char *colon = strchr(s, ':');

		if (colon && strchr(colon + 1, ':'))
			return mdp_err_reason(MDP_ERR_FORMAT,
					      "bad address \"%s\" (write IPv6 as [ADDR]:PORT)", s);
		h = s;
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			p = colon + 1;
	}
	if (p) {
		rv = parse_port(p, &pv);
		if (rv != MDP_OK)
			return rv;
	}
	if (hlen == 0) {
		h = VPCD_DEFAULT_HOST;
		hlen = strlen(h);
	}
	if (hlen >= cap)
		return mdp_err_reason(MDP_ERR_OVERFLOW, "host name too long");
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = pv;
	return MDP_OK;
}

static int
send_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Frame and send one message; the frame buffer is wiped (responses may hold plaintext). */
static int
send_msg(int fd, const uint8_t *payload, size_t len, uint8_t *frame, size_t cap)
{
	size_t flen = 0;
	int rc;

	if (vpcd_frame(payload, len, frame, cap, &flen) != MDP_OK)
		return -1;
	rc = send_all(fd, frame, flen);
	mdp_wipe(frame, flen);
	return rc;
}

/* Act on one complete message; -1 when the answer could not be sent. */
static int
handle_msg(int fd, const struct vpcd_card_ops *ops, const uint8_t *msg, size_t len, uint8_t *resp,
	   size_t resp_cap, uint8_t *frame, size_t frame_cap)
{
	size_t rlen = 0;
	enum mdp_err rv;
	int rc;

	if (len == 1) {
		switch (msg[0]) {
		case VPCD_CTRL_OFF:
		case VPCD_CTRL_ON:
		case VPCD_CTRL_RESET:
			log_debug("vpcd control %u", msg[0]);
			ops->power(ops->ctx, msg[0]);
			return 0;
		case VPCD_CTRL_ATR:
			rlen = ops->atr(ops->ctx, resp, resp_cap);
			return send_msg(fd, resp, rlen, frame, frame_cap);
		default:
			log_warn("vpcd sent unknown control code %u, ignored", msg[0]);
			return 0;
		}
	}
	rv = ops->transmit(ops->ctx, msg, len, resp, resp_cap, &rlen);
	if (rv != MDP_OK) {
		log_warn("card: %s", mdp_err_last());
		if (rlen < 2 || rlen > resp_cap) {
			resp[0] = 0x6f;
			resp[1] = 0x00;
			rlen = 2;
		}
	}
	rc = send_msg(fd, resp, rlen, frame, frame_cap);
	mdp_wipe(resp, rlen);
	return rc;
}

enum vpcd_end
vpcd_serve_fd(int fd, const struct vpcd_card_ops *ops, volatile sig_atomic_t *stop,
	      const sigset_t *waitmask)
{
	struct vpcd_decoder dec = {0};
	uint8_t *resp = NULL;
	uint8_t *frame = NULL;
	uint8_t rbuf[4096];
	enum vpcd_end end = VPCD_END_IO;
	int quickack = 1;

	if (vpcd_decoder_init(&dec) != MDP_OK)
		goto out;
	resp = mdp_zalloc(VPCD_MAX_MSG);
	frame = mdp_zalloc(VPCD_MAX_MSG + 2);
	if (!resp || !frame)
		goto out;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;
		size_t off = 0;

		if (*stop) {
			end = VPCD_END_STOP;
			goto out;
		}
		if (ppoll(&pfd, 1, NULL, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		n = read(fd, rbuf, sizeof(rbuf));
		/*
		 * vpcd writes the length and the APDU with two send() calls: with
		 * Nagle on its side and a delayed ACK on ours, every APDU would
		 * wait ~40 ms. Quick ACK mode (reset by the kernel) is renewed
		 * after each read. Not a TCP socket (tests): harmless failure.
		 */
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &quickack, sizeof(quickack));
		if (n == 0) {
			end = VPCD_END_CLOSED;
			goto out;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET)
				end = VPCD_END_CLOSED;
			goto out;
		}
		while (off < (size_t)n) {
			size_t used = 0;

			if (vpcd_decoder_feed(&dec, rbuf + off, (size_t)n - off, &used) != MDP_OK) {
				log_warn("%s", mdp_err_last());
				end = VPCD_END_PROTOCOL;
				goto out;
			}
			off += used;
			if (!dec.complete)
				continue;
			if (handle_msg(fd, ops, dec.msg, dec.want, resp, VPCD_MAX_MSG, frame,
				       VPCD_MAX_MSG + 2) < 0)
				goto out;
			vpcd_decoder_next(&dec);
		}
		mdp_wipe(rbuf, sizeof(rbuf));
	}
out:
	mdp_wipe(rbuf, sizeof(rbuf));
	vpcd_decoder_free(&dec);
	mdp_secure_free(resp, VPCD_MAX_MSG);
	mdp_secure_free(frame, VPCD_MAX_MSG + 2);
	return end;
}

static enum mdp_err
connect_one(const struct addrinfo *ai, int *out)
{
	struct pollfd pfd = {0};
	int fd = -1;
	int one = 1;
	int err = 0;
	int flags;
	socklen_t elen = sizeof(err);
	enum mdp_err rv = MDP_ERR_TRANSPORT;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		goto out;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto out;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, CONNECT_TIMEOUT_MS) <= 0) {
			err = ETIMEDOUT;
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err)
			goto out;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		err = errno;
		goto out;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = fd;
	fd = -1;
	rv = MDP_OK;
out:
	if (rv != MDP_OK)
		mdp_err_reason(rv, "%s", strerror(err ? err : errno));
	if (fd >= 0)
		close(fd);
	return rv;
}

enum mdp_err
vpcd_connect(const char *host, uint16_t port, int *fd)
{
	struct addrinfo hints = {0};
	struct addrinfo *res = NULL;
	struct addrinfo *ai;
	char portstr[8];
	enum mdp_err rv = MDP_ERR_TRANSPORT;
	int gai;

	if (!host || !fd)
		return mdp_err_reason(MDP_ERR_ARGS, "bad connect call");
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai != 0)
		return mdp_err_reason(MDP_ERR_TRANSPORT, "cannot resolve %s: %s", host,
				      gai_strerror(gai));
	for (ai = res; ai; ai = ai->ai_next) {
		rv = connect_one(ai, fd);
		if (rv == MDP_OK)
			break;
	}
	if (rv != MDP_OK) {
		char why[128];

		snprintf(why, sizeof(why), "%s", mdp_err_last());
		mdp_err_reason(rv, "cannot connect to vpcd at %s:%u: %s", host, (unsigned)port,
			       why);
	}
	freeaddrinfo(res);
	return rv;
}

/* Sleep ms milliseconds, waking early (returning) when a signal sets *stop. */
static void
pause_ms(unsigned ms, volatile sig_atomic_t *stop, const sigset_t *waitmask)
{
	struct timespec end;
	struct timespec now;
	struct timespec left;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (!*stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			return;
		if (ppoll(NULL, 0, &left, waitmask) == 0)
			return;
	}
}

enum mdp_err
vpcd_run(const char *host, uint16_t port, const struct vpcd_card_ops *ops,
	 volatile sig_atomic_t *stop, const sigset_t *waitmask, unsigned max_delay_ms,
	 unsigned connect_tries)
{
	unsigned delay = 100;
	unsigned failures = 0;
	bool reported = false;

	if (!host || !ops || !stop)
		return mdp_err_reason(MDP_ERR_ARGS, "bad run call");
	while (!*stop) {
		enum vpcd_end end;
		int fd = -1;

		if (vpcd_connect(host, port, &fd) != MDP_OK) {
			failures++;
			if (connect_tries && failures >= connect_tries)
				return MDP_ERR_TRANSPORT;
			if (!reported)
				log_warn("%s; retrying", mdp_err_last());
			reported = true;
			pause_ms(delay, stop, waitmask);
			delay = delay * 2 > max_delay_ms ? max_delay_ms : delay * 2;
			continue;
		}
		log_info("connected to vpcd at %s:%u", host, (unsigned)port);
		failures = 0;
		delay = 100;
		reported = false;
		end = vpcd_serve_fd(fd, ops, stop, waitmask);
		close(fd);
		/* The reader is gone: whatever comes next is a fresh power-up. */
		ops->power(ops->ctx, VPCD_CTRL_OFF);
		switch (end) {
		case VPCD_END_STOP:
			break;
		case VPCD_END_CLOSED:
			log_info("vpcd closed the connection; reconnecting");
			break;
		case VPCD_END_PROTOCOL:
			log_warn("protocol error from vpcd; reconnecting");
			break;
		case VPCD_END_IO:
			log_warn("connection to vpcd failed; reconnecting");
			break;
		}
		if (end != VPCD_END_STOP)
			pause_ms(delay, stop, waitmask);
	}
	return MDP_OK;
}
