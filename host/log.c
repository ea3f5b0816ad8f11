// SPDX-License-Identifier: GPL-2.0-or-later
#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

enum vv_log_level vv_log_level = VV_LOG_INFO;

static const char *const names[] = { "error", "warn", "info", "debug" };

static void emit(enum vv_log_level level, const struct timespec *ts, const char *line)
{
	/* One write per line so concurrent writers do not interleave. */
	fprintf(stderr, "[%5lld.%03ld] vhost-user-video %s: %s\n", (long long)ts->tv_sec,
		ts->tv_nsec / 1000000, names[level], line);
}

static void vlog(enum vv_log_level level, const struct timespec *ts, const char *fmt,
		 va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	emit(level, ts, line);
}

void vv_log(enum vv_log_level level, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	if (level > vv_log_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	va_start(ap, fmt);
	vlog(level, &ts, fmt, ap);
	va_end(ap);
}

void vv_log_limited(struct vv_log_site *site, enum vv_log_level level, const char *fmt, ...)
{
	struct timespec ts;
	long long now;
	va_list ap;

	if (level > vv_log_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (!site->last_ms) {
		site->tokens = VV_LOG_BURST;
	} else {
		site->tokens += (double)(now - site->last_ms) * VV_LOG_RATE / 1000.0;
		if (site->tokens > VV_LOG_BURST)
			site->tokens = VV_LOG_BURST;
	}
	site->last_ms = now ? now : 1;
	if (site->tokens < 1) {
		site->suppressed++;
		return;
	}
	site->tokens -= 1;
	if (site->suppressed) {
		char line[96];

		snprintf(line, sizeof(line), "%llu more like the next one suppressed",
			 site->suppressed);
		emit(level, &ts, line);
		site->suppressed = 0;
	}
	va_start(ap, fmt);
	vlog(level, &ts, fmt, ap);
	va_end(ap);
}
