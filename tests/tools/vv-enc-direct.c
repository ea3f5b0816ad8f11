// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * vv-enc-direct: the baseline of the encode latency benchmark (scripts/bench,
 * section encode). It calls the libavcodec encoder the FFmpeg plugin uses,
 * with the plugin's settings (ffmpeg/ffmpeg_enc.c open_context: no
 * B-frames, no lookahead, the same presets and rate control), directly on
 * the host, one frame in flight: send a frame, receive its packet, then the
 * next frame.
 *
 *   vv-enc-direct --codec h264|hevc|vp8|vp9 --input FRAMES.nv12 --width W
 *                 --height H [--bitrate BPS] [--fps N] [--threads N]
 *
 * The NV12 frames are split into I420 AVFrames before the clock starts, so
 * each figure is the encoder's own time: avcodec_send_frame() to the
 * packet out of avcodec_receive_packet(). Prints
 *   direct: frames=30 fps=312.4 p50=2.950 ms p99=4.010 ms max=4.200 ms
 * (fps: frames / the sum of those times). Exits 1 if a frame gives no packet
 * at once (the encoder buffered it: not one frame in flight).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vv_lat.h"

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vv-enc-direct: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}


static long parse_num(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 1000000000)
		die("%s: bad number '%s'", what, s);
	return v;
}

/*
 * ffmpeg_enc.c open_context() with the device's defaults: VBR, the peak
 * twice the bitrate (host/video_enc.c), no GOP size, profile or level.
 */
static AVCodecContext *open_encoder(const char *codec_name, int w, int h, long bitrate, int fps,
				    int threads)
{
	const char *name = !strcmp(codec_name, "h264") ? "libx264" :
			   !strcmp(codec_name, "hevc") ? "libx265" :
			   !strcmp(codec_name, "vp8")  ? "libvpx" :
			   !strcmp(codec_name, "vp9")  ? "libvpx-vp9" : NULL;
	const AVCodec *codec;
	AVCodecContext *ctx;
	AVDictionary *opts = NULL;
	int ret;

	if (!name)
		die("--codec: h264, hevc, vp8 or vp9, not '%s'", codec_name);
	codec = avcodec_find_encoder_by_name(name);
	if (!codec)
		die("this libavcodec has no %s", name);
	ctx = avcodec_alloc_context3(codec);
	if (!ctx)
		die("out of memory");
	ctx->width = w;
	ctx->height = h;
	ctx->pix_fmt = AV_PIX_FMT_YUV420P;
	ctx->time_base = (AVRational){ 1, fps };
	ctx->framerate = (AVRational){ fps, 1 };
	ctx->max_b_frames = 0;
	ctx->thread_count = threads;
	ctx->bit_rate = bitrate;
	ctx->rc_max_rate = 2 * bitrate;
	ctx->rc_buffer_size = (int)(2 * bitrate);
	if (!strcmp(name, "libx264")) {
		av_dict_set(&opts, "preset", "superfast", 0);
		av_dict_set(&opts, "tune", "zerolatency", 0);
		av_dict_set(&opts, "forced-idr", "1", 0);
	} else if (!strcmp(name, "libx265")) {
		av_dict_set(&opts, "preset", "ultrafast", 0);
		av_dict_set(&opts, "tune", "zerolatency", 0);
		av_dict_set(&opts, "forced-idr", "1", 0);
		av_dict_set(&opts, "x265-params", "log-level=error", 0);
	} else {
		av_dict_set(&opts, "deadline", "realtime", 0);
		av_dict_set(&opts, "lag-in-frames", "0", 0);
		av_dict_set(&opts, "cpu-used", "8", 0);
		if (!strcmp(name, "libvpx-vp9"))
			av_dict_set(&opts, "row-mt", "1", 0);
	}
	ret = avcodec_open2(ctx, codec, &opts);
	av_dict_free(&opts);
	if (ret < 0)
		die("%s refused %dx%d at %ld bit/s (%d)", name, w, h, bitrate, ret);
	return ctx;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "codec", 1, 0, 'c' }, { "input", 1, 0, 'i' }, { "width", 1, 0, 'W' },
		{ "height", 1, 0, 'H' }, { "bitrate", 1, 0, 'b' }, { "fps", 1, 0, 'r' },
		{ "threads", 1, 0, 't' }, { 0, 0, 0, 0 },
	};
	const char *codec = NULL, *path = NULL;
	long w = 0, h = 0, bitrate = 4000000, fps = 30, threads = 0;
	size_t frame_bytes, n, i;
	AVCodecContext *ctx;
	AVFrame **frames;
	AVPacket *pkt;
	const uint8_t *in;
	int64_t *lat, total = 0;
	struct vv_lat st;
	struct stat sb;
	int c, fd;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c': codec = optarg; break;
		case 'i': path = optarg; break;
		case 'W': w = parse_num(optarg, "--width"); break;
		case 'H': h = parse_num(optarg, "--height"); break;
		case 'b': bitrate = parse_num(optarg, "--bitrate"); break;
		case 'r': fps = parse_num(optarg, "--fps"); break;
		case 't': threads = parse_num(optarg, "--threads"); break;
		default:
			fprintf(stderr, "usage: vv-enc-direct --codec h264|hevc|vp8|vp9 --input "
				"FRAMES.nv12 --width W --height H [--bitrate BPS] [--fps N] "
				"[--threads N]\n");
			return 2;
		}
	}
	if (!codec || !path || w < 16 || h < 16 || w > 8192 || h > 8192 || w % 2 || h % 2 ||
	    !bitrate || !fps || threads > 64)
		die("--codec, --input, --width and --height (even, 16..8192) are needed");
	frame_bytes = (size_t)w * (size_t)h * 3 / 2;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb))
		die("open %s: %s", path, strerror(errno));
	if (sb.st_size < (off_t)frame_bytes || sb.st_size % (off_t)frame_bytes)
		die("%s is not a whole number of %ldx%ld NV12 frames", path, w, h);
	n = (size_t)sb.st_size / frame_bytes;
	in = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (in == MAP_FAILED)
		die("mmap %s: %s", path, strerror(errno));
	close(fd);

	av_log_set_level(AV_LOG_ERROR);
	ctx = open_encoder(codec, (int)w, (int)h, bitrate, (int)fps, (int)threads);
	frames = calloc(n, sizeof(*frames));
	lat = calloc(n, sizeof(*lat));
	pkt = av_packet_alloc();
	if (!frames || !lat || !pkt)
		die("out of memory");
	/* Every frame ready in I420 before the clock starts. */
	for (i = 0; i < n; i++) {
		const uint8_t *y = in + i * frame_bytes, *uv = y + (size_t)w * (size_t)h;
		AVFrame *f = av_frame_alloc();

		if (!f)
			die("out of memory");
		f->format = AV_PIX_FMT_YUV420P;
		f->width = (int)w;
		f->height = (int)h;
		if (av_frame_get_buffer(f, 0) < 0)
			die("out of memory");
		for (long r = 0; r < h; r++)
			memcpy(f->data[0] + r * f->linesize[0], y + r * w, (size_t)w);
		for (long r = 0; r < h / 2; r++)
			for (long x = 0; x < w / 2; x++) {
				f->data[1][r * f->linesize[1] + x] = uv[r * w + 2 * x];
				f->data[2][r * f->linesize[2] + x] = uv[r * w + 2 * x + 1];
			}
		f->pts = (int64_t)i;
		frames[i] = f;
	}
	for (i = 0; i < n; i++) {
		int64_t t0 = vv_lat_now_ns();
		int ret = avcodec_send_frame(ctx, frames[i]);

		if (ret < 0)
			die("frame %zu: send_frame failed (%d)", i, ret);
		ret = avcodec_receive_packet(ctx, pkt);
		if (ret == AVERROR(EAGAIN))
			die("frame %zu: no packet at once (the encoder buffers frames)", i);
		if (ret < 0)
			die("frame %zu: receive_packet failed (%d)", i, ret);
		lat[i] = vv_lat_now_ns() - t0;
		total += lat[i];
		av_packet_unref(pkt);
	}
	if (vv_lat_summary(lat, n, 1e6, &st))
		die("out of memory");
	printf("direct: frames=%zu fps=%.1f p50=%.3f ms p99=%.3f ms max=%.3f ms\n", n,
	       total > 0 ? n / (total / 1e9) : 0.0, st.p50, st.p99, st.max);
	for (i = 0; i < n; i++)
		av_frame_free(&frames[i]);
	free(frames);
	free(lat);
	av_packet_free(&pkt);
	avcodec_free_context(&ctx);
	return 0;
}
