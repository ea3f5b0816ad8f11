/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging to stderr, one line per message, with a level prefix. */
#ifndef VV_LOG_H
#define VV_LOG_H

enum vv_log_level { VV_LOG_ERROR, VV_LOG_WARN, VV_LOG_INFO, VV_LOG_DEBUG };

extern enum vv_log_level vv_log_level;

void vv_log(enum vv_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) vv_log(VV_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) vv_log(VV_LOG_WARN, __VA_ARGS__)
#define log_info(...) vv_log(VV_LOG_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { \
		if (vv_log_level >= VV_LOG_DEBUG) \
			vv_log(VV_LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
