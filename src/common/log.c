/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Log module: levels, areas, stderr or a file, file:line:function on every line. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static struct {
	int level;
	unsigned areas;
	FILE *file; /* NULL = stderr */
	pthread_mutex_t lock;
} log_state = {MDP_LOG_NONE, MDP_AREA_ALL, NULL, PTHREAD_MUTEX_INITIALIZER};

static const char *const level_names[] = {"none", "error", "warn", "info", "debug", "trace"};

/*
 * fork(): the forking thread holds the lock across the fork, so that no other thread of the
 * parent is half-way through a line; parent and child (which has only the forking thread)
 * release it.
 */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
atfork_prepare(void)
{
	pthread_mutex_lock(&log_state.lock);
}

static void
atfork_parent(void)
{
	pthread_mutex_unlock(&log_state.lock);
}

static void
atfork_child(void)
{
	pthread_mutex_unlock(&log_state.lock); /* the forking thread took it in prepare */
}

static void
register_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static const struct {
	const char *name;
	unsigned bit;
} area_names[] = {
	{"common", MDP_AREA_COMMON},	   {"blob", MDP_AREA_BLOB}, {"vcard", MDP_AREA_VCARD},
	{"transport", MDP_AREA_TRANSPORT}, {"card", MDP_AREA_CARD}, {"ksp", MDP_AREA_KSP},
	{"pkcs11", MDP_AREA_PKCS11},	   {"tool", MDP_AREA_TOOL}, {"all", MDP_AREA_ALL},
};

static int
parse_level(const char *s, size_t n)
{
	char *end;
	long v;
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strlen(level_names[i]) == n && strncasecmp(s, level_names[i], n) == 0)
			return (int)i;
	if (n == 0 || n > 2)
		return -1;
	v = strtol(s, &end, 10);
	if ((size_t)(end - s) != n || v < 0)
		return -1;
	return v > MDP_LOG_TRACE ? MDP_LOG_TRACE : (int)v;
}

static int
parse_areas(const char *s, unsigned *out)
{
	unsigned mask = 0;

	while (*s) {
		size_t n = strcspn(s, ",");
		size_t i;
		int found = 0;

		for (i = 0; i < sizeof(area_names) / sizeof(area_names[0]); i++) {
			if (strlen(area_names[i].name) == n &&
			    strncasecmp(s, area_names[i].name, n) == 0) {
				mask |= area_names[i].bit;
				found = 1;
			}
		}
		if (!found)
			return -1;
		s += n;
		if (*s == ',')
			s++;
	}
	*out = mask ? mask : MDP_AREA_ALL;
	return 0;
}

int
mdp_log_configure(const char *spec, const char *path)
{
	const char *colon;
	int level;
	unsigned areas = MDP_AREA_ALL;
	FILE *f = NULL;

	if (!spec)
		return -1;
	colon = strchr(spec, ':');
	level = parse_level(spec, colon ? (size_t)(colon - spec) : strlen(spec));
	if (level < 0)
		return -1;
	if (colon && parse_areas(colon + 1, &areas) < 0)
		return -1;
	pthread_once(&atfork_once, register_atfork);
	if (path && *path) {
		f = fopen(path, "ae");
		if (!f)
			return -2;
		setvbuf(f, NULL, _IOLBF, 0);
	}
	pthread_mutex_lock(&log_state.lock);
	if (log_state.file)
		fclose(log_state.file);
	log_state.file = f;
	log_state.level = level;
	log_state.areas = areas;
	pthread_mutex_unlock(&log_state.lock);
	return 0;
}

void
mdp_log_init_env(void)
{
	const char *spec = getenv("MDP11_DEBUG");
	const char *path = getenv("MDP11_DEBUG_FILE");

	int rc;

	if (!spec || !*spec)
		return;
	rc = mdp_log_configure(spec, path);
	if (rc == -1) {
		fprintf(stderr, "mdp11: ignoring MDP11_DEBUG=\"%s\": expected LEVEL[:area,...]\n",
			spec);
	} else if (rc == -2) {
		/* The level is right, the file is not: say which, and log to stderr instead. */
		fprintf(stderr,
			"mdp11: MDP11_DEBUG_FILE=\"%s\": cannot open: %s; logging to "
			"standard error\n",
			path, strerror(errno));
		mdp_log_configure(spec, NULL);
	}
}

void
mdp_log_shutdown(void)
{
	pthread_mutex_lock(&log_state.lock);
	if (log_state.file)
		fclose(log_state.file);
	log_state.file = NULL;
	log_state.level = MDP_LOG_NONE;
	pthread_mutex_unlock(&log_state.lock);
}

int
mdp_log_enabled(enum mdp_log_level level, unsigned area)
{
	return (int)level <= log_state.level && (log_state.areas & area);
}

static const char *
area_name(unsigned area)
{
	size_t i;

	for (i = 0; i < sizeof(area_names) / sizeof(area_names[0]); i++)
		if (area_names[i].bit == area)
			return area_names[i].name;
	return "?";
}

static void
log_prefix(FILE *out, enum mdp_log_level level, unsigned area, const char *file, int line,
	   const char *func)
{
	struct timespec ts;
	const char *base = strrchr(file, '/');

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(out, "mdp11[%ld] %ld.%03ld %s %s %s:%d:%s: ", (long)getpid(), (long)ts.tv_sec,
		ts.tv_nsec / 1000000, level_names[level], area_name(area), base ? base + 1 : file,
		line, func);
}

void
mdp_log_msg(enum mdp_log_level level, unsigned area, const char *file, int line, const char *func,
	    const char *fmt, ...)
{
	va_list ap;
	FILE *out;

	pthread_mutex_lock(&log_state.lock);
	out = log_state.file ? log_state.file : stderr;
	log_prefix(out, level, area, file, line, func);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	pthread_mutex_unlock(&log_state.lock);
}

void
mdp_log_hex(enum mdp_log_level level, unsigned area, const char *file, int line, const char *func,
	    const char *label, const uint8_t *data, size_t len)
{
	FILE *out;
	size_t i;

	pthread_mutex_lock(&log_state.lock);
	out = log_state.file ? log_state.file : stderr;
	log_prefix(out, level, area, file, line, func);
	fprintf(out, "%s (%zu bytes):", label, len);
	for (i = 0; i < len; i++)
		fprintf(out, "%s%02x", (i % 32) ? " " : "\n    ", data[i]);
	fputc('\n', out);
	pthread_mutex_unlock(&log_state.lock);
}
