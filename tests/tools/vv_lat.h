/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * Per-frame latency figures of the low-latency tools (vv-client --latency in
 * both roles, vv-enc-direct, vv-dec-direct): nearest-rank percentiles, so
 * p50 and p99 are latencies some frame really had.
 */
#ifndef VV_LAT_H
#define VV_LAT_H

#include <stddef.h>
#include <stdint.h>

struct vv_lat {
	size_t n;
	double p50, p99, max;	/* milliseconds */
};

/*
 * The figures of n latencies v (left unchanged), each in units of which
 * per_ms make one millisecond (1e3: microseconds, 1e6: nanoseconds).
 * Returns -1 (out is zeroed) when n is 0 or memory runs out.
 */
int vv_lat_summary(const int64_t *v, size_t n, double per_ms, struct vv_lat *out);

/* CLOCK_MONOTONIC in nanoseconds: the clock every latency is taken on. */
int64_t vv_lat_now_ns(void);

#endif /* VV_LAT_H */
