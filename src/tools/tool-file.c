/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-tool's file input and output: whole files into wiped memory, atomic replacement. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secmem.h"
#include "tools/tool.h"

enum mdp_err
tool_file_read_fd(int fd, const char *name, uint8_t **out, size_t *len)
{
	uint8_t *p = NULL;
	size_t n = 0;
	ssize_t r;

	p = mdp_zalloc(TOOL_INPUT_ALLOC);
	if (p == NULL)
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	while (n <= TOOL_MAX_FILE) {
		r = read(fd, p + n, TOOL_MAX_FILE + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			mdp_secure_free(p, TOOL_INPUT_ALLOC);
			return mdp_err_reason(MDP_ERR_IO, "%s: %s", name, strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > TOOL_MAX_FILE) {
		mdp_secure_free(p, TOOL_INPUT_ALLOC);
		return mdp_err_reason(MDP_ERR_OVERFLOW, "%s: larger than %d bytes", name,
				      TOOL_MAX_FILE);
	}
	*out = p;
	*len = n;
	return MDP_OK;
}

enum mdp_err
tool_file_write(const char *path, const uint8_t *data, size_t len, bool private_data)
{
	enum mdp_err rv = MDP_OK;
	size_t plen = strlen(path);
	char *tmp = NULL;
	int fd = -1;
	size_t off = 0;
	ssize_t w;
	mode_t mask;
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return mdp_err_reason(MDP_ERR_IO, "%s: %s", path, strerror(EISDIR));
	tmp = malloc(plen + sizeof(".tmpXXXXXX"));
	if (tmp == NULL)
		return mdp_err_reason(MDP_ERR_NOMEM, "out of memory");
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmpXXXXXX", sizeof(".tmpXXXXXX"));
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		rv = mdp_err_reason(MDP_ERR_IO, "%s: cannot create a temporary file: %s", path,
				    strerror(errno));
		free(tmp);
		return rv;
	}
	if (!private_data) {
		mask = umask(0);
		umask(mask);
		if (fchmod(fd, 0644 & ~mask) != 0) {
			rv = mdp_err_reason(MDP_ERR_IO, "%s: chmod: %s", tmp, strerror(errno));
			goto out;
		}
	}
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rv = mdp_err_reason(MDP_ERR_IO, "%s: write failed: %s", path,
					    strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		rv = mdp_err_reason(MDP_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rv = mdp_err_reason(MDP_ERR_IO, "%s: close failed: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rv = mdp_err_reason(MDP_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rv != MDP_OK)
		unlink(tmp);
	free(tmp);
	return rv;
}
