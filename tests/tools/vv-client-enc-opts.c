// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * vv-client --encode: the native encoder client. Like the decoder client it
 * is the vhost-user front-end and the guest driver at once; it feeds raw
 * frames (a packed I420 or NV12 file) to the daemon's encoder device
 * (vhost-user-video --device encoder) and writes what comes back: an Annex-B
 * stream for H.264/HEVC, an IVF file for VP8/VP9 (frame headers carry the
 * packets' timestamps, in microseconds: the IVF time base is 1/1000000).
 *
 *   vv-client --socket PATH --encode --codec h264|hevc|vp8|vp9 --input FRAMES.yuv
 *             --width W --height H [--format yuv420|nv12] [--fps N] [--frames N]
 *             [--bitrate BPS] [--bitrate-mode cbr|vbr] [--peak BPS]
 *             [--profile NAME] [--level NAME] [--gop N] [--force-key N[,N...]]
 *             [--set-bitrate-at FRAME:BPS]... [--prepend-headers 0|1] --output OUT
 *             [--streams N] [--scatter] [--layout single|per-plane] [--regions N]
 *             [--stride BYTES] [--out-buffer-size BYTES] [--in-flight N]
 *             [--drain-at FRAME] [--latency] [--latency-log FILE] [--timeout MS]
 *
 * Frame numbers count from 0. Every frame must come back as one packet
 * carrying its timestamp and exactly one of IFRAME/PFRAME/BFRAME, and the
 * stream must end with EOS after STREAM_DRAIN; then one line per stream:
 *   stream 1: frames=60 bytes=123456 keyframes=0,30 fps=412.3 too_small=0 drains=1
 * Keyframes are checked against what was asked: frame 0, every --force-key
 * frame, and with --gop N exactly every N frames from the previous keyframe
 * (a keyframe right after a --drain-at drain is allowed). An OUTPUT buffer the
 * device finds too small (ERR, size 0: the packet is kept) makes the client
 * give bigger ones (too_small counts those answers). Stream k > 1 writes
 * OUT.k. --in-flight N: frames queued at once (1: queue one, wait for its
 * packet). --latency-log: microseconds from queueing each frame to its
 * packet, one line per frame (stream 1 first). --latency: one more line,
 *   latency: frames=60 in_flight=1 p50=2.104 ms p99=3.020 ms max=3.311 ms
 * the same times' nearest-rank percentiles over every stream's frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vv_client.h"
#include "vv_client_enc.h"

struct eopts o = {
	.raw_format = VIRTIO_VIDEO_FORMAT_YUV420,
	.fps = 30,
	.bitrate = -1, .mode = -1, .peak = -1, .profile = -1, .level = -1, .gop = -1, .prepend = -1,
	.drain_at = -1,
	.streams = 1,
	.in_flight = 1,
	.regions = 1,
	.timeout_ms = 20000,
};

const uint8_t *input;
size_t frame_bytes;
uint32_t nframes;

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vv-client: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- names ------------------------------------------------------------------ */

struct name { const char *name; uint32_t value; };

static const struct name profiles[] = {
	{ "h264:baseline", VIRTIO_VIDEO_PROFILE_H264_BASELINE },
	{ "h264:main", VIRTIO_VIDEO_PROFILE_H264_MAIN },
	{ "h264:extended", VIRTIO_VIDEO_PROFILE_H264_EXTENDED },
	{ "h264:high", VIRTIO_VIDEO_PROFILE_H264_HIGH },
	{ "h264:high10", VIRTIO_VIDEO_PROFILE_H264_HIGH10PROFILE },
	{ "h264:high422", VIRTIO_VIDEO_PROFILE_H264_HIGH422PROFILE },
	{ "h264:high444", VIRTIO_VIDEO_PROFILE_H264_HIGH444PREDICTIVEPROFILE },
	{ "h264:scalable-baseline", VIRTIO_VIDEO_PROFILE_H264_SCALABLEBASELINE },
	{ "h264:scalable-high", VIRTIO_VIDEO_PROFILE_H264_SCALABLEHIGH },
	{ "h264:stereo-high", VIRTIO_VIDEO_PROFILE_H264_STEREOHIGH },
	{ "h264:multiview-high", VIRTIO_VIDEO_PROFILE_H264_MULTIVIEWHIGH },
	{ "hevc:main", VIRTIO_VIDEO_PROFILE_HEVC_MAIN },
	{ "hevc:main10", VIRTIO_VIDEO_PROFILE_HEVC_MAIN10 },
	{ "hevc:main-still-picture", VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE },
	{ "vp8:0", VIRTIO_VIDEO_PROFILE_VP8_PROFILE0 }, { "vp8:1", VIRTIO_VIDEO_PROFILE_VP8_PROFILE1 },
	{ "vp8:2", VIRTIO_VIDEO_PROFILE_VP8_PROFILE2 }, { "vp8:3", VIRTIO_VIDEO_PROFILE_VP8_PROFILE3 },
	{ "vp9:0", VIRTIO_VIDEO_PROFILE_VP9_PROFILE0 }, { "vp9:1", VIRTIO_VIDEO_PROFILE_VP9_PROFILE1 },
	{ "vp9:2", VIRTIO_VIDEO_PROFILE_VP9_PROFILE2 }, { "vp9:3", VIRTIO_VIDEO_PROFILE_VP9_PROFILE3 },
};

static const char *const level_names[] = { "1.0", "1.1", "1.2", "1.3", "2.0", "2.1", "2.2", "3.0",
					   "3.1", "3.2", "4.0", "4.1", "4.2", "5.0", "5.1" };

static uint32_t parse_profile(const char *arg)
{
	char key[64];

	snprintf(key, sizeof(key), "%s:%s", o.codec, arg);
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (!strcmp(profiles[i].name, key))
			return profiles[i].value;
	die("unknown %s profile '%s' (h264: baseline main extended high high10 high422 high444 "
	    "scalable-baseline scalable-high stereo-high multiview-high; hevc: main main10 "
	    "main-still-picture; vp8, vp9: 0 1 2 3)", o.codec, arg);
}

static uint32_t parse_level(const char *arg)
{
	char full[16];

	if (strcmp(o.codec, "h264"))
		die("--level is for h264 (VIRTIO_VIDEO_LEVEL_H264_*)");
	/* "4" is "4.0" */
	snprintf(full, sizeof(full), strchr(arg, '.') ? "%s" : "%s.0", arg);
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcmp(level_names[i], full))
			return VIRTIO_VIDEO_LEVEL_H264_MIN + (uint32_t)i;
	die("unknown H.264 level '%s' (1.0 ... 5.1)", arg);
}

static uint32_t parse_u32(const char *arg, const char *what, uint32_t min)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || v > UINT32_MAX || v < min)
		die("%s: '%s' is not a number >= %u (32 bits)", what, arg, min);
	return (uint32_t)v;
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(void) __attribute__((noreturn));

static void usage(void)
{
	fprintf(stderr,
		"usage: vv-client --socket PATH --encode --codec h264|hevc|vp8|vp9 --input FRAMES.yuv\n"
		"        --width W --height H [--format yuv420|nv12] [--fps N] [--frames N]\n"
		"        [--bitrate BPS] [--bitrate-mode cbr|vbr] [--peak BPS]\n"
		"        [--profile NAME] [--level NAME] [--gop N] [--force-key N[,N...]]\n"
		"        [--set-bitrate-at FRAME:BPS]... [--prepend-headers 0|1] --output OUT\n"
		"        [--streams N] [--scatter] [--layout single|per-plane] [--regions N]\n"
		"        [--stride BYTES] [--out-buffer-size BYTES] [--in-flight N]\n"
		"        [--drain-at FRAME] [--latency] [--latency-log FILE] [--timeout MS]\n"
		"  FRAMES.yuv: packed frames in --format (I420 or NV12), W x H each.\n");
	exit(2);
}

static void parse_list(char *arg, uint32_t *list, unsigned int *n, const char *what)
{
	for (char *t = strtok(arg, ","); t; t = strtok(NULL, ",")) {
		if (*n == MAX_LIST)
			die("%s: more than %d entries", what, MAX_LIST);
		list[(*n)++] = parse_u32(t, what, 0);
	}
}

static void map_input(void)
{
	uint32_t cw = (o.width + 1) / 2, ch = (o.height + 1) / 2;
	struct stat st;
	int fd = open(o.input, O_RDONLY | O_CLOEXEC);

	frame_bytes = (size_t)o.width * o.height + 2 * (size_t)cw * ch;
	if (fd < 0 || fstat(fd, &st))
		die("open %s: %s", o.input, strerror(errno));
	if (st.st_size < (off_t)frame_bytes || st.st_size % frame_bytes)
		die("%s: %lld bytes is not a whole number of %ux%u %s frames (%zu bytes each)", o.input,
		    (long long)st.st_size, o.width, o.height,
		    o.raw_format == VIRTIO_VIDEO_FORMAT_NV12 ? "NV12" : "I420", frame_bytes);
	if (!o.frames || o.frames > st.st_size / frame_bytes)
		nframes = (uint32_t)(st.st_size / frame_bytes);
	else
		nframes = o.frames;
	input = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (input == MAP_FAILED)
		die("mmap %s: %s", o.input, strerror(errno));
	close(fd);
}

int vv_client_encode(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", 1, 0, 's' }, { "encode", 0, 0, 'E' }, { "codec", 1, 0, 'c' },
		{ "input", 1, 0, 'i' }, { "output", 1, 0, 'o' }, { "width", 1, 0, 'W' },
		{ "height", 1, 0, 'H' }, { "format", 1, 0, 'f' }, { "fps", 1, 0, 'r' },
		{ "frames", 1, 0, 'F' }, { "bitrate", 1, 0, 'b' }, { "bitrate-mode", 1, 0, 'm' },
		{ "peak", 1, 0, 'p' }, { "profile", 1, 0, 'P' }, { "level", 1, 0, 'L' },
		{ "gop", 1, 0, 'g' }, { "force-key", 1, 0, 'k' }, { "set-bitrate-at", 1, 0, 'B' },
		{ "prepend-headers", 1, 0, 'h' }, { "streams", 1, 0, 'n' }, { "scatter", 0, 0, 'S' },
		{ "layout", 1, 0, 'l' }, { "regions", 1, 0, 'R' }, { "stride", 1, 0, 'a' },
		{ "out-buffer-size", 1, 0, 'O' }, { "in-flight", 1, 0, 'q' }, { "drain-at", 1, 0, 'd' },
		{ "latency", 0, 0, 'Y' }, { "latency-log", 1, 0, 'T' }, { "timeout", 1, 0, 't' },
		{ "help", 0, 0, '?' },
		{ 0, 0, 0, 0 },
	};
	const char *profile = NULL, *level = NULL;
	char *colon;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'E': break;
		case 'c': o.codec = optarg; break;
		case 'i': o.input = optarg; break;
		case 'o': o.output = optarg; break;
		case 'W': o.width = parse_u32(optarg, "--width", 1); break;
		case 'H': o.height = parse_u32(optarg, "--height", 1); break;
		case 'f':
			o.raw_format = !strcmp(optarg, "nv12")	 ? VIRTIO_VIDEO_FORMAT_NV12 :
				       !strcmp(optarg, "yuv420") ? VIRTIO_VIDEO_FORMAT_YUV420 : 0;
			if (!o.raw_format)
				die("--format: yuv420 or nv12, not '%s'", optarg);
			break;
		case 'r': o.fps = parse_u32(optarg, "--fps", 1); break;
		case 'F': o.frames = parse_u32(optarg, "--frames", 1); break;
		case 'b': o.bitrate = parse_u32(optarg, "--bitrate", 0); break;
		case 'm':
			if (strcmp(optarg, "cbr") && strcmp(optarg, "vbr"))
				die("--bitrate-mode: cbr or vbr, not '%s'", optarg);
			o.mode = !strcmp(optarg, "cbr") ? VIRTIO_VIDEO_BITRATE_MODE_CBR :
							  VIRTIO_VIDEO_BITRATE_MODE_VBR;
			break;
		case 'p': o.peak = parse_u32(optarg, "--peak", 0); break;
		case 'P': profile = optarg; break;
		case 'L': level = optarg; break;
		case 'g': o.gop = parse_u32(optarg, "--gop", 0); break;
		case 'k': parse_list(optarg, o.force, &o.n_force, "--force-key"); break;
		case 'B':
			colon = strchr(optarg, ':');
			if (!colon || o.n_rate == MAX_LIST)
				die("--set-bitrate-at wants FRAME:BPS, not '%s'", optarg);
			*colon = 0;
			o.rate_frame[o.n_rate] = parse_u32(optarg, "--set-bitrate-at frame", 0);
			o.rate_bps[o.n_rate++] = parse_u32(colon + 1, "--set-bitrate-at bitrate", 0);
			break;
		case 'h':
			if (strcmp(optarg, "0") && strcmp(optarg, "1"))
				die("--prepend-headers: 0 or 1, not '%s'", optarg);
			o.prepend = optarg[0] == '1';
			break;
		case 'n': o.streams = (int)parse_u32(optarg, "--streams", 1); break;
		case 'S': o.scatter = true; break;
		case 'l':
			if (strcmp(optarg, "single") && strcmp(optarg, "per-plane"))
				die("--layout: single or per-plane, not '%s'", optarg);
			o.per_plane = !strcmp(optarg, "per-plane");
			break;
		case 'R': o.regions = (int)parse_u32(optarg, "--regions", 1); break;
		case 'a': o.stride = parse_u32(optarg, "--stride", 1); break;
		case 'O': o.out_buffer_size = parse_u32(optarg, "--out-buffer-size", 1); break;
		case 'q': o.in_flight = (int)parse_u32(optarg, "--in-flight", 1); break;
		case 'd': o.drain_at = parse_u32(optarg, "--drain-at", 1); break;
		case 'Y': o.latency = true; break;
		case 'T': o.latency_log = optarg; break;
		case 't': o.timeout_ms = (int)parse_u32(optarg, "--timeout", 1); break;
		default: usage();
		}
	}
	if (optind < argc || !o.socket || !o.codec || !o.input || !o.output || !o.width || !o.height)
		usage();
	o.coded_format = !strcmp(o.codec, "h264") ? VIRTIO_VIDEO_FORMAT_H264 :
			 !strcmp(o.codec, "hevc") ? VIRTIO_VIDEO_FORMAT_HEVC :
			 !strcmp(o.codec, "vp8")  ? VIRTIO_VIDEO_FORMAT_VP8 :
			 !strcmp(o.codec, "vp9")  ? VIRTIO_VIDEO_FORMAT_VP9 : 0;
	if (!o.coded_format)
		die("--codec: h264, hevc, vp8 or vp9, not '%s'", o.codec);
	if (profile)
		o.profile = parse_profile(profile);
	if (level)
		o.level = parse_level(level);
	if (o.streams > 64 || o.regions > 4 || o.in_flight > MAX_RES - 2 || o.fps > 1000000)
		die("--streams at most 64, --regions 4, --in-flight %d, --fps 1000000", MAX_RES - 2);
	if (o.stride && o.raw_format == VIRTIO_VIDEO_FORMAT_YUV420 && o.stride % 2)
		die("--stride: even for yuv420 (the chroma planes get half)");
	map_input();
	if (o.drain_at >= (int64_t)nframes)
		die("--drain-at %lld: the input has %u frames", (long long)o.drain_at, nframes);

	return enc_run();
}
