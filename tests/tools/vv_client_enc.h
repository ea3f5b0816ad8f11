/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * Inside vv-client --encode: the options (vv-client-enc-opts.c parses them
 * and maps the input) and the run against the device (vv-client-enc.c).
 */
#ifndef VV_CLIENT_ENC_H
#define VV_CLIENT_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_video.h"

#define MAX_LIST 256	/* --force-key, --set-bitrate-at entries */
#define MAX_RES 32	/* resources per queue */

struct eopts {
	const char *socket, *codec, *input, *output, *latency_log;
	uint32_t coded_format, raw_format;
	uint32_t width, height, fps, frames;
	int64_t bitrate, mode, peak, profile, level, gop, prepend; /* -1: not set */
	uint32_t force[MAX_LIST];
	unsigned int n_force;
	uint32_t rate_frame[MAX_LIST], rate_bps[MAX_LIST];
	unsigned int n_rate;
	int64_t drain_at;
	int streams, in_flight, regions, timeout_ms;
	bool scatter, per_plane, latency;
	uint32_t stride, out_buffer_size;
};

extern struct eopts o;
extern const uint8_t *input;	/* the mmap()ed frames */
extern size_t frame_bytes;	/* of one packed frame in the input file */
extern uint32_t nframes;

void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Connects, encodes every stream, prints their lines; exits on any error. */
int enc_run(void);

#endif /* VV_CLIENT_ENC_H */
