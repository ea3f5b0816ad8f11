// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * vv-dec-direct: the baseline of the decode latency benchmark (scripts/bench,
 * section latency). It dlopen()s a codec plugin (vv-ffmpeg.so,
 * vv-gstreamer.so) and drives its decoder through host/codec.h exactly as
 * the daemon does, without the daemon: one access unit in flight, its
 * picture written in the device's default layout, then the next one.
 *
 *   vv-dec-direct --plugin SO --codec h264|hevc|vp8|vp9 --input FILE
 *                 [--opt KEY=VALUE]... [--threads N] [--format yuv420|nv12]
 *                 [--wait MS] [--output OUT.yuv]
 *
 * The access units are read as vv-client reads them (libavformat: raw
 * H.264/HEVC, IVF). Latency of one frame: decode() of its access unit to
 * the end of write() of its picture into memory of the negotiated layout
 * (host/frame_layout.h defaults), the event fd polled for asynchronous
 * plugins, as vv-client --latency times RESOURCE_QUEUE to the CAPTURE
 * buffer's answer. --opt and --threads are the daemon's --backend-opt and
 * --threads. Prints
 *   direct: frames=300 in_flight=1 p50=2.950 ms p99=4.010 ms max=9.200 ms md5=...
 * (md5: of every picture as I420, as vv-client --stats and ref_md5 compute
 * it). Exits 1 if an access unit gives no picture within --wait ms (default
 * 2000: the plugin holds it until more input, not one frame in flight), a
 * picture carries another access unit's timestamp, or the drain at the end
 * finds one more picture.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavformat/avformat.h>
#include <libavutil/md5.h>

#include "../../host/codec.h"
#include "../../host/frame_layout.h"
#include "virtio_video.h"
#include "vv_lat.h"

struct au {
	uint8_t *data;
	size_t size;
	uint64_t ts;
};

static const struct vv_decoder_ops *ops;
static struct vv_decoder *dec;
static uint32_t format = VIRTIO_VIDEO_FORMAT_YUV420;
static uint8_t *pic_buf, *i420;
static size_t pic_buf_size;
static struct AVMD5 *md5;
static FILE *out;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vv-dec-direct: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}


static long parse_num(const char *s, const char *what, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > max)
		die("%s: bad number '%s' (0..%ld)", what, s, max);
	return v;
}

static struct au *load(const char *path, const char *codec, size_t *count)
{
	const char *fmt = !strcmp(codec, "h264") ? "h264" : !strcmp(codec, "hevc") ? "hevc" : "ivf";
	AVFormatContext *fc = NULL;
	AVPacket *pkt = av_packet_alloc();
	struct au *a = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (!pkt)
		die("out of memory");
	r = avformat_open_input(&fc, path, av_find_input_format(fmt), NULL);
	if (r < 0)
		die("cannot open %s as %s: %s", path, fmt, av_err2str(r));
	while ((r = av_read_frame(fc, pkt)) >= 0) {
		if (pkt->stream_index == 0 && pkt->size > 0) {
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				a = realloc(a, cap * sizeof(*a));
				if (!a)
					die("out of memory");
			}
			a[n].data = malloc((size_t)pkt->size);
			if (!a[n].data)
				die("out of memory");
			memcpy(a[n].data, pkt->data, (size_t)pkt->size);
			a[n].size = (size_t)pkt->size;
			/* vv-client's timestamps for a raw stream: 1000 * i + 7 */
			a[n].ts = 1000ull * n + 7;
			n++;
		}
		av_packet_unref(pkt);
	}
	if (r != AVERROR_EOF)
		die("%s: read error: %s", path, av_err2str(r));
	avformat_close_input(&fc);
	av_packet_free(&pkt);
	if (!n)
		die("%s: no access unit", path);
	*count = n;
	return a;
}

/* write() of the picture into one buffer of the device's default layout. */
static void write_picture(const struct vv_picture *pic, struct vv_layout *l)
{
	struct vv_plane planes[VV_LAYOUT_MAX_PLANES];
	size_t total = 0;
	int ret;

	if (!vv_layout_compute(format, pic->width, pic->height, NULL, l))
		die("picture of %ux%u: no layout", pic->width, pic->height);
	for (unsigned int i = 0; i < l->num_planes; i++)
		total += l->plane_size[i];
	if (total > pic_buf_size) {
		free(pic_buf);
		pic_buf = malloc(total);
		i420 = malloc(total + 2 * (size_t)pic->width);
		if (!pic_buf || !i420)
			die("out of memory");
		pic_buf_size = total;
	}
	total = 0;
	for (unsigned int i = 0; i < l->num_planes; i++) {
		planes[i].data = pic_buf + total;
		planes[i].stride = l->stride[i];
		planes[i].size = l->plane_size[i];
		total += l->plane_size[i];
	}
	ret = ops->write(dec, pic, format, planes, l->num_planes);
	if (ret < 0)
		die("write: %d", ret);
}

/* The picture in pic_buf (layout l) as I420, into the MD5 and --output. */
static void account_picture(uint32_t w, uint32_t h, const struct vv_layout *l)
{
	uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
	size_t need = (size_t)w * h + 2 * (size_t)cw * ch, at = 0;
	const uint8_t *p = pic_buf;

	for (uint32_t y = 0; y < h; y++, at += w)
		memcpy(i420 + at, p + (size_t)y * l->stride[0], w);
	p += l->plane_size[0];
	if (format == VIRTIO_VIDEO_FORMAT_NV12) {
		for (uint32_t y = 0; y < ch; y++)
			for (uint32_t x = 0; x < cw; x++) {
				i420[at + (size_t)y * cw + x] = p[(size_t)y * l->stride[1] + 2 * x];
				i420[at + (size_t)cw * ch + (size_t)y * cw + x] =
					p[(size_t)y * l->stride[1] + 2 * x + 1];
			}
	} else {
		for (int k = 0; k < 2; k++) {
			for (uint32_t y = 0; y < ch; y++, at += cw)
				memcpy(i420 + at, p + (size_t)y * l->stride[1 + k], cw);
			p += l->plane_size[1 + k];
		}
	}
	av_md5_update(md5, i420, need);
	if (out && fwrite(i420, 1, need, out) != need)
		die("write output: %s", strerror(errno));
}

/*
 * receive() until one picture comes, waiting on the event fd of an
 * asynchronous plugin for up to wait_ms in all; 1: picture, 0: none in
 * time, VV_CODEC_DRAINED.
 */
static int next_picture(struct vv_picture *pic, int wait_ms)
{
	int64_t end = vv_lat_now_ns() + (int64_t)wait_ms * 1000000;
	int fd = ops->event_fd ? ops->event_fd(dec) : -1;

	for (;;) {
		int ret = ops->receive(dec, pic), left;
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (ret == 1 || ret == VV_CODEC_DRAINED)
			return ret;
		if (ret < 0)
			die("receive: %d", ret);
		left = (int)((end - vv_lat_now_ns()) / 1000000);
		if (fd < 0 || left <= 0)
			return 0;
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "plugin", 1, 0, 'p' }, { "codec", 1, 0, 'c' },   { "input", 1, 0, 'i' },
		{ "opt", 1, 0, 'O' },	 { "threads", 1, 0, 't' }, { "format", 1, 0, 'f' },
		{ "wait", 1, 0, 'w' },	 { "output", 1, 0, 'o' },  { 0, 0, 0, 0 },
	};
	const char *plugin_path = NULL, *codec = NULL, *input = NULL, *output = NULL;
	const char *bopts[16];
	struct vv_codec_options options = { .backend_opts = bopts };
	const struct vv_codec_ops *plugin;
	struct vv_codec_caps caps;
	uint32_t coded;
	long wait_ms = 2000;
	struct vv_lat st;
	struct au *aus;
	size_t n, i;
	int64_t *lat;
	uint8_t digest[16];
	void *handle;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p': plugin_path = optarg; break;
		case 'c': codec = optarg; break;
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case 't': options.threads = (int)parse_num(optarg, "--threads", 64); break;
		case 'w': wait_ms = parse_num(optarg, "--wait", 600000); break;
		case 'O':
			if (options.num_backend_opts == 16)
				die("too many --opt");
			bopts[options.num_backend_opts++] = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "nv12"))
				format = VIRTIO_VIDEO_FORMAT_NV12;
			else if (!strcmp(optarg, "yuv420"))
				format = VIRTIO_VIDEO_FORMAT_YUV420;
			else
				die("--format: yuv420 or nv12, not '%s'", optarg);
			break;
		default:
			fprintf(stderr, "usage: vv-dec-direct --plugin SO --codec h264|hevc|vp8|vp9 "
				"--input FILE [--opt KEY=VALUE]... [--threads N] "
				"[--format yuv420|nv12] [--wait MS] [--output OUT.yuv]\n");
			return 2;
		}
	}
	if (!plugin_path || !codec || !input)
		die("--plugin, --codec and --input are needed");
	coded = !strcmp(codec, "h264") ? VIRTIO_VIDEO_FORMAT_H264 :
		!strcmp(codec, "hevc") ? VIRTIO_VIDEO_FORMAT_HEVC :
		!strcmp(codec, "vp8")  ? VIRTIO_VIDEO_FORMAT_VP8 :
		!strcmp(codec, "vp9")  ? VIRTIO_VIDEO_FORMAT_VP9 : 0;
	if (!coded)
		die("--codec: h264, hevc, vp8 or vp9, not '%s'", codec);
	aus = load(input, codec, &n);
	lat = calloc(n, sizeof(*lat));
	md5 = av_md5_alloc();
	if (!lat || !md5)
		die("out of memory");
	av_md5_init(md5);
	if (output && !(out = fopen(output, "wb")))
		die("open %s: %s", output, strerror(errno));

	handle = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		die("%s", dlerror());
	plugin = dlsym(handle, VV_CODEC_PLUGIN_SYMBOL);
	if (!plugin || plugin->abi_version != VV_CODEC_ABI_VERSION || !plugin->decoder)
		die("%s: not an ABI %d decoder plugin", plugin_path, VV_CODEC_ABI_VERSION);
	if (plugin->init(&options) < 0)
		die("%s: init refused the options", plugin_path);
	plugin->get_caps(&caps);
	ops = plugin->decoder;
	if (ops->create(coded, &dec) < 0)
		die("%s: cannot create a %s decoder", plugin_path, codec);

	for (i = 0; i < n; i++) {
		struct iovec iov = { aus[i].data, aus[i].size };
		struct vv_picture pic;
		struct vv_layout l;
		int64_t t0 = vv_lat_now_ns();

		ret = ops->decode(dec, &iov, 1, aus[i].ts);
		if (ret < 0)
			die("AU %zu: decode: %d", i, ret);
		ret = next_picture(&pic, (int)wait_ms);
		if (ret != 1)
			die("AU %zu: no picture within %ld ms (the decoder holds it until more input: "
			    "not one frame in flight)", i, wait_ms);
		if (pic.timestamp != aus[i].ts)
			die("AU %zu: the picture has timestamp %llu, expected %llu", i,
			    (unsigned long long)pic.timestamp, (unsigned long long)aus[i].ts);
		write_picture(&pic, &l);
		lat[i] = vv_lat_now_ns() - t0;
		account_picture(pic.width, pic.height, &l);
		ops->release(dec, &pic);
	}
	if (ops->flush(dec) < 0)
		die("flush failed");
	for (;;) {
		struct vv_picture pic;

		ret = next_picture(&pic, (int)wait_ms);
		if (ret == VV_CODEC_DRAINED)
			break;
		if (ret == 1)
			die("the drain gave one more picture (timestamp %llu) than access units",
			    (unsigned long long)pic.timestamp);
		die("no end of the drain within %ld ms", wait_ms);
	}
	ops->destroy(dec);
	plugin->fini();
	if (out && fclose(out))
		die("close %s: %s", output, strerror(errno));
	av_md5_final(md5, digest);
	if (vv_lat_summary(lat, n, 1e6, &st))
		die("out of memory");
	printf("direct: frames=%zu in_flight=1 p50=%.3f ms p99=%.3f ms max=%.3f ms md5=", st.n,
	       st.p50, st.p99, st.max);
	for (i = 0; i < 16; i++)
		printf("%02x", digest[i]);
	printf("\n");
	for (i = 0; i < n; i++)
		free(aus[i].data);
	free(aus);
	free(lat);
	free(pic_buf);
	free(i420);
	av_free(md5);
	dlclose(handle);
	return 0;
}
