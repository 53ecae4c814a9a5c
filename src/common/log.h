/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One log module for all layers: levels and areas, off by default. */
#ifndef MDP11_COMMON_LOG_H
#define MDP11_COMMON_LOG_H

#include <stddef.h>
#include <stdint.h>

enum mdp_log_level {
	MDP_LOG_NONE = 0,
	MDP_LOG_ERROR = 1,
	MDP_LOG_WARN = 2,
	MDP_LOG_INFO = 3,
	MDP_LOG_DEBUG = 4, /* includes the APDU trace (secrets blanked) */
	MDP_LOG_TRACE = 5, /* every C_* call in and out */
};

/* Areas are bits so that a debug setting can pick several. */
enum mdp_log_area {
	MDP_AREA_COMMON = 1u << 0,
	MDP_AREA_BLOB = 1u << 1,
	MDP_AREA_VCARD = 1u << 2,
	MDP_AREA_TRANSPORT = 1u << 3,
	MDP_AREA_CARD = 1u << 4,
	MDP_AREA_KSP = 1u << 5,
	MDP_AREA_PKCS11 = 1u << 6,
	MDP_AREA_TOOL = 1u << 7,
	MDP_AREA_ALL = 0xffu,
};

/*
 * Configure logging. spec is "LEVEL" or "LEVEL:area,area" (areas: common,
 * blob, vcard, transport, card, ksp, pkcs11, tool, all), LEVEL a number 0-5
 * or a name (error, warn, info, debug, trace). path NULL or "" logs to stderr.
 * Returns 0, -1 when spec cannot be parsed, -2 when path cannot be opened for
 * appending (errno says why); logging is unchanged on failure.
 * The MDP11_DEBUG environment variable, read by mdp_log_init_env(), uses the
 * same syntax and wins over the configuration file.
 */
int mdp_log_configure(const char *spec, const char *path);
/* Apply MDP11_DEBUG and MDP11_DEBUG_FILE if set. */
void mdp_log_init_env(void);
/* Close the log file (if any) and turn logging off. */
void mdp_log_shutdown(void);
/* Is a message of this level and area wanted? (cheap: check before formatting) */
int mdp_log_enabled(enum mdp_log_level level, unsigned area);

void mdp_log_msg(enum mdp_log_level level, unsigned area, const char *file, int line,
		 const char *func, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Hex dump of data under a heading; only for non-secret data. */
void mdp_log_hex(enum mdp_log_level level, unsigned area, const char *file, int line,
		 const char *func, const char *label, const uint8_t *data, size_t len);

/* Each .c file defines MDP_LOG_AREA before including this header. */
#ifndef MDP_LOG_AREA
#define MDP_LOG_AREA MDP_AREA_COMMON
#endif

#define MDP_LOG_AT(lvl, ...)                                                           \
	do {                                                                           \
		if (mdp_log_enabled((lvl), MDP_LOG_AREA))                              \
			mdp_log_msg((lvl), MDP_LOG_AREA, __FILE__, __LINE__, __func__, \
				    __VA_ARGS__);                                      \
	} while (0)

#define log_error(...) MDP_LOG_AT(MDP_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) MDP_LOG_AT(MDP_LOG_WARN, __VA_ARGS__)
#define log_info(...) MDP_LOG_AT(MDP_LOG_INFO, __VA_ARGS__)
#define log_debug(...) MDP_LOG_AT(MDP_LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) MDP_LOG_AT(MDP_LOG_TRACE, __VA_ARGS__)
#define log_hex(lvl, label, data, len)                                                          \
	do {                                                                                    \
		if (mdp_log_enabled((lvl), MDP_LOG_AREA))                                       \
			mdp_log_hex((lvl), MDP_LOG_AREA, __FILE__, __LINE__, __func__, (label), \
				    (data), (len));                                             \
	} while (0)

#endif
