// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/* Nearest-rank latency percentiles (vv_lat.h). */
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "vv_lat.h"

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The smallest value with at least pct % of the values at or below it. */
static int64_t rank(const int64_t *sorted, size_t n, unsigned int pct)
{
	return sorted[(n * pct + 99) / 100 - 1];
}

int vv_lat_summary(const int64_t *v, size_t n, double per_ms, struct vv_lat *out)
{
	int64_t *s;

	memset(out, 0, sizeof(*out));
	if (!n || !(s = malloc(n * sizeof(*s))))
		return -1;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_i64);
	out->n = n;
	out->p50 = rank(s, n, 50) / per_ms;
	out->p99 = rank(s, n, 99) / per_ms;
	out->max = s[n - 1] / per_ms;
	free(s);
	return 0;
}

int64_t vv_lat_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}
