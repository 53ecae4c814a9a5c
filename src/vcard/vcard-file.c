/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The virtual card's state file on disk: loading, reloading, atomic saves, the card lock. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define MDP_LOG_AREA MDP_AREA_VCARD
#include "common/log.h"
#include "common/secmem.h"
#include "vcard/vcard-int.h"

#define MAX_STATE_FILE (64u * 1024u * 1024u)
#define STATE_BAD(...) mdp_err_reason(MDP_ERR_STATE, "state file: " __VA_ARGS__)

static void
file_id_of(const struct stat *sb, struct vc_file_id *id)
{
	id->dev = sb->st_dev;
	id->ino = sb->st_ino;
	id->size = sb->st_size;
	id->mtime_ns = (long long)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
	id->ctime_ns = (long long)sb->st_ctim.tv_sec * 1000000000LL + sb->st_ctim.tv_nsec;
	id->valid = true;
}

static bool
file_id_eq(const struct vc_file_id *a, const struct vc_file_id *b)
{
	return a->valid && b->valid && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

/* Move the volatile key caches of unchanged keys from old to new. */
static void
keep_caches(struct vc_state *old, struct vc_state *nw)
{
	size_t i;

	for (i = 0; i < nw->n_files; i++) {
		struct vc_file *f = &nw->files[i];
		struct vc_file *o = vc_find_file(old, f->fid);

		if (!o || !o->cache || o->desc != VC_DESC_KEY || o->priv_len != f->priv_len ||
		    !f->priv || memcmp(o->priv, f->priv, f->priv_len) != 0)
			continue;
		f->cache = o->cache;
		o->cache = NULL;
	}
}

enum mdp_err
vc_load(struct vcard *vc)
{
	struct vc_state st;
	struct vc_file_id id;
	struct stat sb;
	uint8_t *data = NULL;
	size_t len = 0, got = 0;
	enum mdp_err err;
	int fd = -1;

	memset(&st, 0, sizeof(st));
	fd = open(vc->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return mdp_err_reason(MDP_ERR_NOT_FOUND, "%s: no such card", vc->path);
		return mdp_err_reason(MDP_ERR_IO, "%s: %s", vc->path, strerror(errno));
	}
	if (fstat(fd, &sb) != 0) {
		err = mdp_err_reason(MDP_ERR_IO, "%s: %s", vc->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)MAX_STATE_FILE) {
		err = STATE_BAD("%s is not a plausible card file", vc->path);
		goto out;
	}
	len = (size_t)sb.st_size;
	data = malloc(len ? len : 1);
	if (!data) {
		err = MDP_ERR_NOMEM;
		goto out;
	}
	while (got < len) {
		ssize_t r = read(fd, data + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = mdp_err_reason(MDP_ERR_IO, "%s: short read", vc->path);
			goto out;
		}
		got += (size_t)r;
	}
	err = vc_state_decode(data, len, &st);
	if (err)
		goto out;
	file_id_of(&sb, &id);
	if (memcmp(st.uuid, vc->st.uuid, VC_UUID_LEN) != 0) {
		/* A different card: nothing of the old security state applies. */
		vc_drop_secrets(vc);
		vc->pin_ok = false;
		vc->admin_ok = false;
	} else {
		keep_caches(&vc->st, &st);
	}
	vc_state_free(&vc->st);
	vc->st = st;
	if (vc->loaded)
		vc->reloads++; /* not the first load: someone else's change (or a roll-back) */
	vc->loaded = true;
	vc->seen = id;
	if (vc->st.seal.kind == VC_SEAL_NONE)
		vc_notice(&vc->warned,
			  "warning: the virtual card %s is not sealed (format 1): whoever copies "
			  "the file gets every key on it; convert it with 'mdp11-vcard reseal %s'",
			  vc->path, vc->path);
	memset(&st, 0, sizeof(st));
	err = MDP_OK;
out:
	if (fd >= 0)
		close(fd);
	mdp_secure_free(data, len ? len : 1);
	return err;
}

enum mdp_err
vc_refresh(struct vcard *vc)
{
	struct stat sb;
	struct vc_file_id id;

	if (!vc->path)
		return MDP_OK;
	if (stat(vc->path, &sb) != 0) {
		if (errno == ENOENT)
			return mdp_err_reason(MDP_ERR_NOT_FOUND, "%s: card file vanished",
					      vc->path);
		return mdp_err_reason(MDP_ERR_IO, "%s: %s", vc->path, strerror(errno));
	}
	file_id_of(&sb, &id);
	if (file_id_eq(&id, &vc->seen))
		return MDP_OK;
	log_debug("state file changed, reloading");
	return vc_load(vc);
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	d = malloc((size_t)(slash - path) + 1);
	if (!d)
		return NULL;
	memcpy(d, path, (size_t)(slash - path));
	d[slash - path] = '\0';
	return d;
}

static enum mdp_err
fsync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd;
	enum mdp_err err = MDP_OK;

	if (!dir)
		return MDP_ERR_NOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		err = mdp_err_reason(MDP_ERR_IO, "%s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

/* Write data to a fresh temporary file next to path; returns its name. */
static enum mdp_err
write_temp(const char *path, const uint8_t *data, size_t len, char **tmp_out)
{
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	size_t done = 0;
	int fd;

	if (!tmp)
		return MDP_ERR_NOMEM;
	snprintf(tmp, n, "%s.tmpXXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		enum mdp_err e = mdp_err_reason(MDP_ERR_IO, "%s: %s", tmp, strerror(errno));

		free(tmp);
		return e;
	}
	if (fchmod(fd, 0600) != 0)
		goto fail;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		done += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	*tmp_out = tmp;
	return MDP_OK;
fail : {
	enum mdp_err e = mdp_err_reason(MDP_ERR_IO, "%s: %s", tmp, strerror(errno));

	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return e;
}
}

/*
 * Remove temporary files a killed writer left next to path. Called with the
 * card lock held: every writer of an existing card holds it while its
 * temporary file exists, so any "<name>.tmpXXXXXX" seen now is stale.
 */
static void
remove_stale_temps(const char *path)
{
	char *dir = dir_of(path);
	const char *base = strrchr(path, '/');
	size_t blen;
	struct dirent *e;
	DIR *d;

	base = base ? base + 1 : path;
	blen = strlen(base);
	if (!dir)
		return;
	d = opendir(dir);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (strlen(e->d_name) == blen + 10 && !strncmp(e->d_name, base, blen) &&
			    !strncmp(e->d_name + blen, ".tmp", 4) &&
			    unlinkat(dirfd(d), e->d_name, 0) == 0)
				log_info("removed a stale temporary file %s/%s", dir, e->d_name);
		}
		closedir(d);
	}
	free(dir);
}

enum mdp_err
vc_save(struct vcard *vc)
{
	return vc_save_sync(vc, true);
}

enum mdp_err
vc_save_sync(struct vcard *vc, bool dir_sync)
{
	struct mdp_buf b;
	struct stat sb;
	char *tmp = NULL;
	enum mdp_err err;

	if (!vc->path) {
		vc->dirty = false;
		vc->commits++;
		return MDP_OK;
	}
	if (vc->locked && !vc->swept) {
		/* once per handle: a killed writer's temporary file is rare */
		remove_stale_temps(vc->path);
		vc->swept = true;
	}
	vc->st.generation++;
	err = vc_state_encode(&vc->st, &b);
	if (err)
		return err;
	err = write_temp(vc->path, b.data, b.len, &tmp);
	buf_free(&b);
	if (err)
		return err;
	if (rename(tmp, vc->path) != 0) {
		err = mdp_err_reason(MDP_ERR_IO, "%s: %s", vc->path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return err;
	}
	free(tmp);
	err = dir_sync ? fsync_dir(vc->path) : MDP_OK;
	if (err)
		return err;
	if (stat(vc->path, &sb) == 0)
		file_id_of(&sb, &vc->seen);
	else
		vc->seen.valid = false;
	vc->dirty = false;
	vc->commits++;
	return MDP_OK;
}

enum mdp_err
vc_write_new(const char *path, const struct vc_state *st)
{
	struct mdp_buf b;
	char *tmp = NULL;
	enum mdp_err err;

	err = vc_state_encode(st, &b);
	if (err)
		return err;
	err = write_temp(path, b.data, b.len, &tmp);
	buf_free(&b);
	if (err)
		return err;
	/* link() refuses an existing name atomically: never overwrite a card. */
	if (link(tmp, path) != 0) {
		if (errno == EEXIST)
			err = mdp_err_reason(MDP_ERR_EXISTS, "%s already exists", path);
		else
			err = mdp_err_reason(MDP_ERR_IO, "%s: %s", path, strerror(errno));
	}
	unlink(tmp);
	free(tmp);
	if (err)
		return err;
	return fsync_dir(path);
}

enum mdp_err
vc_lock(struct vcard *vc)
{
	if (!vc->path || vc->locked)
		return MDP_OK;
	if (vc->lock_fd < 0) {
		vc->lock_fd = open(vc->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (vc->lock_fd < 0)
			return mdp_err_reason(MDP_ERR_IO, "%s: %s", vc->lock_path, strerror(errno));
	}
	while (flock(vc->lock_fd, LOCK_EX) != 0) {
		if (errno != EINTR)
			return mdp_err_reason(MDP_ERR_IO, "%s: lock: %s", vc->lock_path,
					      strerror(errno));
	}
	vc->locked = true;
	return MDP_OK;
}

void
vc_unlock(struct vcard *vc)
{
	if (!vc->locked)
		return;
	flock(vc->lock_fd, LOCK_UN);
	vc->locked = false;
}
