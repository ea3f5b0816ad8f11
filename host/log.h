/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging to stderr, one line per message, with a level prefix.
 *
 * Errors and warnings are rate-limited per call site: a guest or front-end
 * that repeats a bad command must not fill the disk or the journal. Each
 * site has a token bucket (VV_LOG_BURST lines at once, then VV_LOG_RATE per
 * second); what it drops is counted and said in one line before the site's
 * next message: "N more like the next one suppressed". Info and debug lines
 * are not limited (debug is opt-in with -v).
 */
#ifndef VV_LOG_H
#define VV_LOG_H

enum vv_log_level { VV_LOG_ERROR, VV_LOG_WARN, VV_LOG_INFO, VV_LOG_DEBUG };

#define VV_LOG_BURST 10
#define VV_LOG_RATE 2

extern enum vv_log_level vv_log_level;

/* One call site's bucket (static, zero-initialised). */
struct vv_log_site {
	double tokens;
	long long last_ms;	/* 0: never logged */
	unsigned long long suppressed;
};

void vv_log(enum vv_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vv_log_limited(struct vv_log_site *site, enum vv_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define vv_log_site_(level, ...) \
	do { \
		static struct vv_log_site vv_site_; \
		vv_log_limited(&vv_site_, level, __VA_ARGS__); \
	} while (0)
#define log_error(...) vv_log_site_(VV_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) vv_log_site_(VV_LOG_WARN, __VA_ARGS__)
#define log_info(...) vv_log(VV_LOG_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { \
		if (vv_log_level >= VV_LOG_DEBUG) \
			vv_log(VV_LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
