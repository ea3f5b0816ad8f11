// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vv-plugin-test: drives a codec plugin (vv-NAME.so) directly, without the
 * daemon: the calls of codec.h in the daemon's order, the event fd polled
 * for asynchronous plugins. Writes every picture in display order to
 * --output (YUV formats as I420, RGB formats as they are).
 *
 *   vv-plugin-test --plugin build/plugins/vv-gstreamer.so --codec h264 \
 *       --input clip.h264 --output out.yuv [--format yuv420|yvu420|nv12|bgra|argb]
 *       [--chunk N] [--opt KEY=VALUE]... [--reset-after N] [--drain-after N]
 *       [--stride-align N]
 *
 * H.264/HEVC are fed in --chunk N byte pieces (default 4096), VP8/VP9 (IVF)
 * one frame per buffer. --reset-after N: reset() after N buffers, then the
 * whole input again (the pictures before the reset are not written);
 * --drain-after N: flush() after N buffers, wait for DRAINED, then the rest
 * (with --again: the whole input again, the pictures of the drain dropped).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../host/codec.h"
#include "../include/virtio_video.h"

static const struct vv_codec_ops *plugin;
static const struct vv_decoder_ops *ops;
static struct vv_decoder *dec;
static FILE *out;
static uint32_t format = VIRTIO_VIDEO_FORMAT_YUV420;
static unsigned int stride_align = 1, pictures, errors;
static bool discard;		/* pictures before a reset are dropped */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vv-plugin-test: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint32_t align(uint32_t v)
{
	return (v + stride_align - 1) / stride_align * stride_align;
}

static void put_picture(struct vv_picture *pic)
{
	uint32_t w = pic->width, h = pic->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
	struct vv_plane planes[3];
	unsigned int n;
	uint8_t *buf;
	size_t size;
	int ret;

	switch (format) {
	case VIRTIO_VIDEO_FORMAT_NV12:
		n = 2;
		planes[0].stride = align(w);
		planes[1].stride = align(2 * cw);
		planes[0].size = (size_t)planes[0].stride * h;
		planes[1].size = (size_t)planes[1].stride * ch;
		break;
	case VIRTIO_VIDEO_FORMAT_BGRA8888:
	case VIRTIO_VIDEO_FORMAT_ARGB8888:
		n = 1;
		planes[0].stride = align(4 * w);
		planes[0].size = (size_t)planes[0].stride * h;
		break;
	default:
		n = 3;
		planes[0].stride = align(w);
		planes[1].stride = planes[2].stride = align(cw);
		planes[0].size = (size_t)planes[0].stride * h;
		planes[1].size = planes[2].size = (size_t)planes[1].stride * ch;
	}
	size = 0;
	for (unsigned int i = 0; i < n; i++)
		size += planes[i].size;
	buf = malloc(size);
	if (!buf)
		die("out of memory");
	memset(buf, 0x5a, size);
	size = 0;
	for (unsigned int i = 0; i < n; i++) {
		planes[i].data = buf + size;
		size += planes[i].size;
	}
	ret = ops->write(dec, pic, format, planes, n);
	if (ret < 0)
		die("write: %d", ret);
	if (!discard) {
		const struct vv_plane *u = &planes[1], *v = &planes[2];

		if (format == VIRTIO_VIDEO_FORMAT_YVU420) {
			u = &planes[2];
			v = &planes[1];
		}
		if (n == 1) {
			for (uint32_t y = 0; y < h; y++)
				fwrite(planes[0].data + (size_t)y * planes[0].stride, 4, w, out);
		} else {
			for (uint32_t y = 0; y < h; y++)
				fwrite(planes[0].data + (size_t)y * planes[0].stride, 1, w, out);
		}
		if (n == 3) {
			for (uint32_t y = 0; y < ch; y++)
				fwrite(u->data + (size_t)y * u->stride, 1, cw, out);
			for (uint32_t y = 0; y < ch; y++)
				fwrite(v->data + (size_t)y * v->stride, 1, cw, out);
		} else if (n == 2) {
			for (int c = 0; c < 2; c++)
				for (uint32_t y = 0; y < ch; y++)
					for (uint32_t x = 0; x < cw; x++)
						fputc(planes[1].data[(size_t)y * planes[1].stride +
								     2 * x + (unsigned int)c], out);
		}
		pictures++;
	}
	free(buf);
}

/* Takes what the plugin has; returns true once DRAINED was seen. */
static bool collect(void)
{
	struct vv_picture pic;
	int ret;

	for (;;) {
		ret = ops->receive(dec, &pic);
		if (ret == 1) {
			put_picture(&pic);
			ops->release(dec, &pic);
			continue;
		}
		if (ret == VV_CODEC_DRAINED)
			return true;
		if (ret == VV_CODEC_ERR_INVALID_DATA) {
			errors++;
			continue;
		}
		if (ret < 0)
			die("receive: %d", ret);
		return false;
	}
}

/* Waits (up to ms) for the event fd, then collects. */
static bool wait_collect(int ms)
{
	int fd = ops->event_fd ? ops->event_fd(dec) : -1;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (fd >= 0 && poll(&p, 1, ms) < 0)
		die("poll");
	return collect();
}

static void drain(void)
{
	struct timespec t0, t;

	if (ops->flush(dec) < 0)
		die("flush");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (wait_collect(1000))
			return;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20)
			die("no DRAINED after 20 s");
	}
}

struct buffer {
	const uint8_t *data;
	size_t size;
};

static struct buffer *split(const uint8_t *data, size_t size, bool ivf, size_t chunk,
			    unsigned int *count)
{
	struct buffer *b = NULL;
	unsigned int n = 0, cap = 0;
	size_t off = ivf ? 32 : 0;

	if (ivf && (size < 32 || memcmp(data, "DKIF", 4)))
		die("not an IVF file");
	while (off < size) {
		size_t len;

		if (ivf) {
			if (off + 12 > size)
				break;
			len = (size_t)data[off] | (size_t)data[off + 1] << 8 |
			      (size_t)data[off + 2] << 16 | (size_t)data[off + 3] << 24;
			off += 12;
			if (len > size - off)
				break;
		} else {
			len = size - off < chunk ? size - off : chunk;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			b = realloc(b, cap * sizeof(*b));
			if (!b)
				die("out of memory");
		}
		b[n].data = data + off;
		b[n].size = len;
		n++;
		off += len;
	}
	*count = n;
	return b;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "plugin", required_argument, NULL, 'p' },
		{ "codec", required_argument, NULL, 'c' },
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "chunk", required_argument, NULL, 'k' },
		{ "opt", required_argument, NULL, 'O' },
		{ "reset-after", required_argument, NULL, 'r' },
		{ "drain-after", required_argument, NULL, 'd' },
		{ "stride-align", required_argument, NULL, 'a' },
		{ "threads", required_argument, NULL, 't' },
		{ "again", no_argument, NULL, 'A' },
		{ 0 },
	};
	const char *plugin_path = NULL, *codec = NULL, *input = NULL, *output = NULL;
	const char *bopts[16];
	struct vv_codec_options options = { .backend_opts = bopts };
	struct vv_codec_caps caps;
	unsigned int reset_after = 0, drain_after = 0, count;
	bool again = false;
	size_t chunk = 4096, size = 0, cap = 0;
	uint32_t coded;
	uint8_t *data = NULL;
	struct buffer *bufs;
	void *handle;
	FILE *in;
	int opt;

	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (opt) {
		case 'p': plugin_path = optarg; break;
		case 'c': codec = optarg; break;
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case 'k': chunk = strtoul(optarg, NULL, 0); break;
		case 'r': reset_after = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'd': drain_after = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'a': stride_align = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 't': options.threads = atoi(optarg); break;
		case 'A': again = true; break;
		case 'O':
			if (options.num_backend_opts == 16)
				die("too many --opt");
			bopts[options.num_backend_opts++] = optarg;
			break;
		case 'f':
			format = !strcmp(optarg, "nv12") ? VIRTIO_VIDEO_FORMAT_NV12 :
				 !strcmp(optarg, "yvu420") ? VIRTIO_VIDEO_FORMAT_YVU420 :
				 !strcmp(optarg, "bgra") ? VIRTIO_VIDEO_FORMAT_BGRA8888 :
				 !strcmp(optarg, "argb") ? VIRTIO_VIDEO_FORMAT_ARGB8888 :
							   VIRTIO_VIDEO_FORMAT_YUV420;
			break;
		default:
			return 2;
		}
	}
	if (!plugin_path || !codec || !input || !output || !chunk || !stride_align)
		die("usage: --plugin SO --codec C --input F --output O [options]");
	coded = !strcmp(codec, "h264") ? VIRTIO_VIDEO_FORMAT_H264 :
		!strcmp(codec, "hevc") ? VIRTIO_VIDEO_FORMAT_HEVC :
		!strcmp(codec, "vp8") ? VIRTIO_VIDEO_FORMAT_VP8 : VIRTIO_VIDEO_FORMAT_VP9;
	in = fopen(input, "rb");
	if (!in)
		die("cannot open %s", input);
	for (;;) {
		if (size == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			data = realloc(data, cap);
			if (!data)
				die("out of memory");
		}
		size_t got = fread(data + size, 1, cap - size, in);

		if (!got)
			break;
		size += got;
	}
	fclose(in);
	bufs = split(data, size, coded == VIRTIO_VIDEO_FORMAT_VP8 ||
		     coded == VIRTIO_VIDEO_FORMAT_VP9, chunk, &count);

	handle = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		die("%s", dlerror());
	plugin = dlsym(handle, VV_CODEC_PLUGIN_SYMBOL);
	if (!plugin || plugin->abi_version != VV_CODEC_ABI_VERSION)
		die("%s: not an ABI %d plugin", plugin_path, VV_CODEC_ABI_VERSION);
	if (plugin->init(&options) < 0)
		die("init failed");
	plugin->get_caps(&caps);
	if (!plugin->decoder)
		die("the plugin does not decode");
	for (unsigned int i = 0; i < caps.decoder.num_coded; i++)
		fprintf(stderr, "coded 0x%x: %s\n", caps.decoder.coded[i].format,
			caps.decoder.coded[i].impl ? caps.decoder.coded[i].impl : "-");
	ops = plugin->decoder;
	if (ops->create(coded, &dec) < 0)
		die("decoder_create");
	out = fopen(output, "wb");
	if (!out)
		die("cannot create %s", output);

	discard = reset_after > 0 || (drain_after && again);
	for (unsigned int i = 0; i < count; i++) {
		struct iovec iov = { (void *)bufs[i].data, bufs[i].size };
		int ret;

		if (reset_after && i == reset_after) {
			ops->reset(dec);
			reset_after = 0;
			discard = false;
			i = (unsigned int)-1;
			continue;
		}
		ret = ops->decode(dec, &iov, 1, 1000ull * i + 7);
		/* No room in the plugin: take its pictures, then the same buffer again. */
		while (ret == VV_CODEC_AGAIN) {
			wait_collect(100);
			ret = ops->decode(dec, &iov, 1, 1000ull * i + 7);
		}
		if (ret == VV_CODEC_ERR_INVALID_DATA)
			errors++;
		else if (ret < 0)
			die("decode: %d", ret);
		wait_collect(0);
		if (drain_after && i + 1 == drain_after) {
			drain();
			if (again) {
				/* the pictures so far are dropped, the input comes again */
				drain_after = 0;
				discard = false;
				i = (unsigned int)-1;
			}
		}
	}
	drain();
	fprintf(stderr, "vv-plugin-test: %u pictures, %u errors\n", pictures, errors);
	ops->destroy(dec);
	plugin->fini();
	fclose(out);
	free(bufs);
	free(data);
	dlclose(handle);
	return 0;
}
