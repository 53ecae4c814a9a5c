/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secrets for mdp11-tool: PINs and admin keys from a file, the environment or the terminal (no
 * echo). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "tools/tool.h"

#define SECRET_MAX 256
#define SECRET_BUF (SECRET_MAX + 2) /* every secret buffer: wiped whole on free */

/* Keep the first line of p (without \r\n); returns its length. */
static size_t
first_line(char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] == '\n' || p[i] == '\r')
			break;
	mdp_wipe(p + i, len - i);
	return i;
}

static enum mdp_err
read_secret_file(const char *path, char **out, size_t *out_len, bool raw)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mdp_err_reason(errno == ENOENT ? MDP_ERR_NOT_FOUND : MDP_ERR_IO, "%s: %s",
				      path, strerror(errno));
	buf = mdp_zalloc(SECRET_BUF);
	if (buf == NULL) {
		close(fd);
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	}
	while (len < SECRET_MAX + 1) {
		r = read(fd, buf + len, SECRET_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			mdp_secure_free(buf, SECRET_BUF);
			return mdp_err_reason(MDP_ERR_IO, "%s: %s", path, strerror(errno));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!raw)
		len = first_line(buf, len);
	if (len > SECRET_MAX) {
		mdp_secure_free(buf, SECRET_BUF);
		return mdp_err_reason(MDP_ERR_FORMAT, "%s: the secret is longer than %d bytes",
				      path, SECRET_MAX);
	}
	*out = buf;
	*out_len = len;
	return MDP_OK;
}

/* Prompt on the terminal and read one line without echo. */
static enum mdp_err
read_tty(const char *prompt, char **out, size_t *out_len)
{
	struct termios old, quiet;
	char *buf = NULL;
	size_t len = 0;
	bool restore = false;
	enum mdp_err rv = MDP_OK;
	ssize_t r;
	char c;
	int fd;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return mdp_err_reason(MDP_ERR_NOT_FOUND, "no terminal to ask for the %s", prompt);
	buf = mdp_zalloc(SECRET_BUF);
	if (buf == NULL) {
		close(fd);
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	}
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHOE | ECHOK | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = true;
	}
	if (dprintf(fd, "%s: ", prompt) < 0) {
		rv = mdp_err_reason(MDP_ERR_IO, "cannot write to the terminal");
		goto out;
	}
	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n' || c == '\r')
			break;
		if (len >= SECRET_MAX) {
			rv = mdp_err_reason(MDP_ERR_FORMAT, "the %s is longer than %d bytes",
					    prompt, SECRET_MAX);
			goto out;
		}
		buf[len++] = c;
	}
	(void)!write(fd, "\n", 1);
out:
	mdp_wipe(&c, sizeof(c)); /* the last character read, on the stack */
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	if (rv != MDP_OK) {
		mdp_secure_free(buf, SECRET_BUF);
		return rv;
	}
	*out = buf;
	*out_len = len;
	return MDP_OK;
}

/* The secret as given (raw bytes for a file when raw), in a buffer of SECRET_BUF bytes. */
static enum mdp_err
secret_get(const struct tool_secret_src *src, const char *prompt, bool confirm, bool raw,
	   char **out, size_t *len)
{
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	char again[128];
	enum mdp_err rv;
	const char *v;

	if (src->file)
		return read_secret_file(src->file, out, len, raw);
	if (src->env || src->insecure) {
		v = src->env ? getenv(src->env) : src->insecure;
		if (v == NULL)
			return mdp_err_reason(MDP_ERR_NOT_FOUND,
					      "the environment variable %s (%s) is not set",
					      src->env, prompt);
		alen = strlen(v);
		if (alen > SECRET_MAX)
			return mdp_err_reason(MDP_ERR_FORMAT, "the %s is longer than %d bytes",
					      prompt, SECRET_MAX);
		a = mdp_zalloc(SECRET_BUF);
		if (a == NULL)
			return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
		memcpy(a, v, alen);
		*out = a;
		*len = alen;
		return MDP_OK;
	}
	rv = read_tty(prompt, &a, &alen);
	if (rv != MDP_OK || !confirm)
		goto done;
	snprintf(again, sizeof(again), "%s (again)", prompt);
	rv = read_tty(again, &b, &blen);
	if (rv != MDP_OK)
		goto done;
	if (alen != blen || mdp_memeq_ct(a, b, alen) != 0)
		rv = mdp_err_reason(MDP_ERR_ARGS, "the two entries of the %s differ", prompt);
done:
	if (b)
		mdp_secure_free(b, SECRET_BUF);
	if (rv != MDP_OK) {
		if (a)
			mdp_secure_free(a, SECRET_BUF);
		return rv;
	}
	*out = a;
	*len = alen;
	return MDP_OK;
}

enum mdp_err
tool_secret_read(const struct tool_secret_src *src, const char *prompt, bool confirm, char **out,
		 size_t *len)
{
	char *s = NULL, *copy = NULL;
	size_t n = 0;
	enum mdp_err rv;

	rv = secret_get(src, prompt, confirm, false, &s, &n);
	if (rv != MDP_OK)
		return rv;
	/* Hand out a buffer of exactly n + 1 bytes, as documented. */
	copy = mdp_zalloc(n + 1);
	if (copy == NULL) {
		mdp_secure_free(s, SECRET_BUF);
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	}
	memcpy(copy, s, n);
	mdp_secure_free(s, SECRET_BUF);
	*out = copy;
	*len = n;
	return MDP_OK;
}

enum mdp_err
tool_pin_read(const struct tool_secret_src *src, const char *prompt, bool confirm, char **out,
	      size_t *len)
{
	char *s = NULL;
	size_t n = 0;
	enum mdp_err rv;

	rv = tool_secret_read(src, prompt, confirm, &s, &n);
	if (rv != MDP_OK)
		return rv;
	if (n == 0) {
		mdp_secure_free(s, 1);
		if (src->file)
			return mdp_err_reason(MDP_ERR_FORMAT, "%s: the %s is empty", src->file,
					      prompt);
		if (src->env)
			return mdp_err_reason(MDP_ERR_FORMAT, "the %s in %s is empty", prompt,
					      src->env);
		return mdp_err_reason(MDP_ERR_FORMAT, "the %s is empty", prompt);
	}
	*out = s;
	*len = n;
	return MDP_OK;
}

enum mdp_err
tool_key_read(const struct tool_secret_src *src, const char *prompt, bool confirm, uint8_t *key,
	      size_t len)
{
	char *s = NULL;
	size_t n = 0;
	uint8_t tmp[32];
	enum mdp_err rv;

	if (len < 1 || len > sizeof(tmp))
		return mdp_err_reason(MDP_ERR_ARGS, "bad key length %zu", len);
	rv = secret_get(src, prompt, confirm, src->file != NULL, &s, &n);
	if (rv != MDP_OK)
		return rv;
	if (src->file && n == len) {
		memcpy(tmp, s, len); /* raw bytes */
	} else {
		if (src->file)
			n = first_line(s, n);
		if (!tool_hex_decode(s, tmp, len)) {
			mdp_secure_free(s, SECRET_BUF);
			mdp_wipe(tmp, sizeof(tmp));
			return mdp_err_reason(MDP_ERR_FORMAT,
					      "the %s must be %zu hex digits (%zu bytes)%s", prompt,
					      2 * len, len,
					      src->file ? " or a file of as many raw bytes" : "");
		}
	}
	memcpy(key, tmp, len);
	mdp_wipe(tmp, sizeof(tmp));
	mdp_secure_free(s, SECRET_BUF);
	return MDP_OK;
}

enum mdp_err
tool_admin_key_read(const struct tool_secret_src *src, const char *prompt, bool confirm,
		    uint8_t key[24])
{
	return tool_key_read(src, prompt, confirm, key, 24);
}

bool
tool_hex_decode_var(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;
	int hi = -1, d;

	for (; *s; s++) {
		if (*s == ':' || *s == ' ' || *s == '-')
			continue;
		d = mdp_hex_digit((unsigned char)*s);
		if (d < 0)
			return false;
		if (hi < 0) {
			hi = d;
			continue;
		}
		if (n >= cap)
			return false;
		out[n++] = (uint8_t)(hi << 4 | d);
		hi = -1;
	}
	*len = n;
	return hi < 0 && n > 0;
}

bool
tool_hex_decode(const char *s, uint8_t *out, size_t len)
{
	size_t n = 0;

	return tool_hex_decode_var(s, out, len, &n) && n == len;
}
