// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libavcodec codec plugin. Bitstream buffers go through the codec's parser
 * first, so whole access units and arbitrary chunks of a byte stream decode
 * the same. Decoding uses libavcodec's frame threading; a decoded picture is
 * copied once, into the guest's buffer, in the negotiated layout.
 *
 * Options (--backend-opt): hwaccel=auto|none|cuda|vaapi|vdpau|drm|qsv and
 * device=STRING (the device libavutil opens: a DRM node such as
 * /dev/dri/renderD128 for vaapi and drm, a GPU index for cuda). A hardware
 * device that cannot be opened, a codec without a hwaccel for it, or a
 * stream the hardware refuses (get_format) decode in software, and the log
 * says so. Hardware frames come back with av_hwframe_transfer_data, then the
 * usual single write into the guest's planes.
 */
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/codec.h"
#include "../include/virtio_video.h"

struct vv_decoder {
	AVCodecContext *ctx;
	AVCodecParserContext *parser;
	enum AVCodecID codec_id;
	AVPacket *pkt;
	AVFrame **frames;	/* decoded, not yet taken: FIFO */
	unsigned int first, count, cap;
	bool drained;		/* flushed to EOF: reset before new input */
	bool drain_report;	/* receive() owes VV_CODEC_DRAINED */
	bool hw_logged;		/* the stream's decode path was logged */
	int64_t last_timestamp;	/* of the latest bitstream buffer */
	uint8_t *gather;	/* a scattered buffer made contiguous */
	size_t gather_size;
	enum AVPixelFormat hw_format;	/* AV_PIX_FMT_NONE: software decode */
	struct SwsContext *sws;
};

static const struct {
	uint32_t format;
	enum AVCodecID id;
} coded_formats[] = {
	{ VIRTIO_VIDEO_FORMAT_H264, AV_CODEC_ID_H264 },
	{ VIRTIO_VIDEO_FORMAT_HEVC, AV_CODEC_ID_HEVC },
	{ VIRTIO_VIDEO_FORMAT_VP8, AV_CODEC_ID_VP8 },
	{ VIRTIO_VIDEO_FORMAT_VP9, AV_CODEC_ID_VP9 },
};

#define NUM_CODED (sizeof(coded_formats) / sizeof(coded_formats[0]))

static int thread_count;
/* The hardware device every decoder shares, NULL for software decode. */
static AVBufferRef *hw_device;
static enum AVHWDeviceType hw_type = AV_HWDEVICE_TYPE_NONE;
/* caps.impl[] of each coded format (indexes of coded_formats). */
static char impl_text[NUM_CODED][160];

/* The hwaccel names we take, in the order "auto" tries them (decoding APIs). */
static const struct {
	const char *name;
	enum AVHWDeviceType type;
} hw_types[] = {
	{ "cuda", AV_HWDEVICE_TYPE_CUDA },
	{ "vaapi", AV_HWDEVICE_TYPE_VAAPI },
	{ "qsv", AV_HWDEVICE_TYPE_QSV },
	{ "vdpau", AV_HWDEVICE_TYPE_VDPAU },
	{ "drm", AV_HWDEVICE_TYPE_DRM },
};

static bool open_hw_device(enum AVHWDeviceType type, const char *device)
{
	char reason[128];
	int ret = av_hwdevice_ctx_create(&hw_device, type, device, NULL, 0);

	if (ret >= 0) {
		hw_type = type;
		return true;
	}
	av_strerror(ret, reason, sizeof(reason));
	fprintf(stderr, "vv-ffmpeg: cannot open %s device%s%s: %s\n",
		av_hwdevice_get_type_name(type), device ? " " : "", device ? device : "", reason);
	return false;
}

/* The codec's hwaccel pixel format on the open device, or AV_PIX_FMT_NONE. */
static enum AVPixelFormat hw_pix_fmt(const AVCodec *codec)
{
	for (int i = 0; hw_device; i++) {
		const AVCodecHWConfig *config = avcodec_get_hw_config(codec, i);

		if (!config)
			break;
		if ((config->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
		    config->device_type == hw_type)
			return config->pix_fmt;
	}
	return AV_PIX_FMT_NONE;
}

/* What serves each codec, for the daemon's log and --print-capabilities. */
static void describe_codecs(const char *wanted)
{
	for (size_t i = 0; i < NUM_CODED; i++) {
		const AVCodec *codec = avcodec_find_decoder(coded_formats[i].id);
		const char *name = codec ? codec->name : "?";

		if (!codec)
			snprintf(impl_text[i], sizeof(impl_text[i]), "not available");
		else if (hw_pix_fmt(codec) != AV_PIX_FMT_NONE)
			snprintf(impl_text[i], sizeof(impl_text[i]),
				 "libavcodec %s, hwaccel %s (software fallback)", name,
				 av_hwdevice_get_type_name(hw_type));
		else if (hw_device)
			snprintf(impl_text[i], sizeof(impl_text[i]),
				 "libavcodec %s, software (no %s hwaccel for this codec)", name,
				 av_hwdevice_get_type_name(hw_type));
		else if (wanted)
			snprintf(impl_text[i], sizeof(impl_text[i]),
				 "libavcodec %s, software (hwaccel %s unavailable)", name, wanted);
		else
			snprintf(impl_text[i], sizeof(impl_text[i]), "libavcodec %s, software", name);
	}
}

static int ff_init(const struct vv_codec_options *options)
{
	const char *hwaccel = options->hwaccel, *device = NULL;

	thread_count = options->threads;
	av_log_set_level(AV_LOG_ERROR);
	for (unsigned int i = 0; i < options->num_backend_opts; i++) {
		const char *opt = options->backend_opts[i];

		if (!strncmp(opt, "hwaccel=", 8)) {
			hwaccel = opt + 8;
		} else if (!strncmp(opt, "device=", 7) && opt[7]) {
			device = opt + 7;
		} else {
			fprintf(stderr, "vv-ffmpeg: unknown option '%s' (known: hwaccel=auto|none|"
				"cuda|vaapi|vdpau|drm|qsv, device=PATH)\n", opt);
			return -1;
		}
	}
	if (hwaccel && strcmp(hwaccel, "none") && strcmp(hwaccel, "auto")) {
		size_t i;

		for (i = 0; i < sizeof(hw_types) / sizeof(hw_types[0]); i++)
			if (!strcmp(hwaccel, hw_types[i].name))
				break;
		if (i == sizeof(hw_types) / sizeof(hw_types[0])) {
			fprintf(stderr, "vv-ffmpeg: unknown hwaccel '%s' (known: auto, none, cuda, "
				"vaapi, vdpau, drm, qsv)\n", hwaccel);
			return -1;
		}
		if (av_hwdevice_find_type_by_name(hwaccel) == AV_HWDEVICE_TYPE_NONE)
			fprintf(stderr, "vv-ffmpeg: this libavutil has no %s support\n", hwaccel);
		else
			open_hw_device(hw_types[i].type, device);
	} else if (hwaccel && !strcmp(hwaccel, "auto")) {
		/* drm is no decoding API of its own: not tried. */
		for (size_t i = 0; i < sizeof(hw_types) / sizeof(hw_types[0]) - 1 && !hw_device; i++)
			if (av_hwdevice_find_type_by_name(hw_types[i].name) != AV_HWDEVICE_TYPE_NONE)
				open_hw_device(hw_types[i].type, device);
	} else if (device) {
		fprintf(stderr, "vv-ffmpeg: device=%s without a hwaccel: ignored\n", device);
	}
	if (hwaccel && !strcmp(hwaccel, "none"))
		hwaccel = NULL;
	/* The daemon's log tells which path decodes. */
	if (hw_device)
		fprintf(stderr, "vv-ffmpeg: hardware decoding with %s\n",
			av_hwdevice_get_type_name(hw_type));
	else if (hwaccel)
		fprintf(stderr, "vv-ffmpeg: no usable %s device: software decoding\n", hwaccel);
	describe_codecs(hwaccel);
	return 0;
}

static void ff_fini(void)
{
	av_buffer_unref(&hw_device);
	hw_type = AV_HWDEVICE_TYPE_NONE;
}

static void ff_get_caps(struct vv_codec_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	for (size_t i = 0; i < NUM_CODED; i++) {
		if (!avcodec_find_decoder(coded_formats[i].id))
			continue;
		caps->impl[caps->num_coded] = impl_text[i][0] ? impl_text[i] : NULL;
		caps->coded[caps->num_coded++] = coded_formats[i].format;
	}
	caps->raw[caps->num_raw++] = VIRTIO_VIDEO_FORMAT_NV12;
	caps->raw[caps->num_raw++] = VIRTIO_VIDEO_FORMAT_YUV420;
	caps->raw[caps->num_raw++] = VIRTIO_VIDEO_FORMAT_YVU420;
	caps->raw[caps->num_raw++] = VIRTIO_VIDEO_FORMAT_BGRA8888;
	caps->raw[caps->num_raw++] = VIRTIO_VIDEO_FORMAT_ARGB8888;
	caps->min_width = 16;
	caps->min_height = 16;
	caps->max_width = 4096;
	caps->max_height = 4096;
}

static void frames_clear(struct vv_decoder *d)
{
	while (d->count) {
		av_frame_free(&d->frames[d->first]);
		d->first = (d->first + 1) % d->cap;
		d->count--;
	}
}

static bool frames_push(struct vv_decoder *d, AVFrame *f)
{
	if (d->count == d->cap) {
		unsigned int cap = d->cap ? d->cap * 2 : 16;
		AVFrame **n = calloc(cap, sizeof(*n));

		if (!n)
			return false;
		for (unsigned int i = 0; i < d->count; i++)
			n[i] = d->frames[(d->first + i) % d->cap];
		free(d->frames);
		d->frames = n;
		d->cap = cap;
		d->first = 0;
	}
	d->frames[(d->first + d->count) % d->cap] = f;
	d->count++;
	return true;
}

/*
 * libavcodec offers the hardware format when its hwaccel can take the
 * stream; when setting that up fails it asks again without it.
 */
static enum AVPixelFormat pick_format(AVCodecContext *ctx, const enum AVPixelFormat *formats)
{
	struct vv_decoder *d = ctx->opaque;
	bool logged = d->hw_logged;

	d->hw_logged = true;
	for (const enum AVPixelFormat *f = formats; *f != AV_PIX_FMT_NONE; f++) {
		if (*f == d->hw_format) {
			if (!logged)
				fprintf(stderr, "vv-ffmpeg: %s stream: decoding on %s\n",
					ctx->codec->name, av_hwdevice_get_type_name(hw_type));
			return *f;
		}
	}
	/* The hardware cannot do this stream (profile, size): software. */
	fprintf(stderr, "vv-ffmpeg: %s stream: %s refused it (%dx%d %s): software fallback\n",
		ctx->codec->name, av_hwdevice_get_type_name(hw_type), ctx->coded_width,
		ctx->coded_height, av_get_pix_fmt_name(ctx->sw_pix_fmt) ?
		av_get_pix_fmt_name(ctx->sw_pix_fmt) : "?");
	return avcodec_default_get_format(ctx, formats);
}

/* Decodes on the shared hardware device when the codec supports it. */
static void use_hw_device(struct vv_decoder *d, const AVCodec *codec)
{
	d->hw_format = hw_pix_fmt(codec);
	if (d->hw_format == AV_PIX_FMT_NONE)
		return;
	d->ctx->hw_device_ctx = av_buffer_ref(hw_device);
	d->ctx->opaque = d;
	d->ctx->get_format = pick_format;
}

static int open_codec(struct vv_decoder *d)
{
	const AVCodec *codec = avcodec_find_decoder(d->codec_id);

	if (!codec)
		return VV_CODEC_ERR_UNSUPPORTED;
	d->ctx = avcodec_alloc_context3(codec);
	d->parser = av_parser_init(d->codec_id);
	if (!d->ctx || !d->parser)
		return VV_CODEC_ERR_NOMEM;
	d->ctx->thread_count = thread_count;
	d->hw_format = AV_PIX_FMT_NONE;
	if (hw_device)
		use_hw_device(d, codec);
	if (avcodec_open2(d->ctx, codec, NULL) < 0)
		return VV_CODEC_ERR_UNSUPPORTED;
	return VV_CODEC_OK;
}

static void ff_decoder_destroy(struct vv_decoder *d)
{
	if (!d)
		return;
	frames_clear(d);
	free(d->frames);
	av_parser_close(d->parser);
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	free(d->gather);
	sws_freeContext(d->sws);
	free(d);
}

static int ff_decoder_create(uint32_t coded_format, struct vv_decoder **out)
{
	struct vv_decoder *d;
	int ret = VV_CODEC_ERR_UNSUPPORTED;

	for (size_t i = 0; i < sizeof(coded_formats) / sizeof(coded_formats[0]); i++) {
		if (coded_formats[i].format != coded_format)
			continue;
		d = calloc(1, sizeof(*d));
		if (!d)
			return VV_CODEC_ERR_NOMEM;
		d->codec_id = coded_formats[i].id;
		d->pkt = av_packet_alloc();
		ret = d->pkt ? open_codec(d) : VV_CODEC_ERR_NOMEM;
		if (ret < 0) {
			ff_decoder_destroy(d);
			return ret;
		}
		*out = d;
		return VV_CODEC_OK;
	}
	return ret;
}

/* Moves every frame the codec has ready into our FIFO. */
static int receive_all(struct vv_decoder *d)
{
	int status = VV_CODEC_OK;

	for (;;) {
		AVFrame *f = av_frame_alloc();
		int ret;

		if (!f)
			return VV_CODEC_ERR_NOMEM;
		ret = avcodec_receive_frame(d->ctx, f);
		if (ret < 0) {
			av_frame_free(&f);
			if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
				return status;
			if (ret == AVERROR(ENOMEM))
				return VV_CODEC_ERR_NOMEM;
			/* A broken picture; later ones may be fine. */
			status = VV_CODEC_ERR_INVALID_DATA;
			continue;
		}
		if (!frames_push(d, f)) {
			av_frame_free(&f);
			return VV_CODEC_ERR_NOMEM;
		}
	}
}

/* Sends one parsed packet (NULL: end of stream), collecting output as needed. */
static int send_packet(struct vv_decoder *d, AVPacket *pkt)
{
	int status = VV_CODEC_OK;

	for (;;) {
		int ret = avcodec_send_packet(d->ctx, pkt);
		int got = receive_all(d);

		if (got == VV_CODEC_ERR_NOMEM)
			return got;
		if (got < 0)
			status = got;
		if (ret == AVERROR(EAGAIN))
			continue;	/* output drained above; try again */
		if (ret == AVERROR(ENOMEM))
			return VV_CODEC_ERR_NOMEM;
		if (ret < 0 && ret != AVERROR_EOF)
			status = VV_CODEC_ERR_INVALID_DATA;
		return status;
	}
}

static void restart(struct vv_decoder *d)
{
	avcodec_flush_buffers(d->ctx);
	av_parser_close(d->parser);
	d->parser = av_parser_init(d->codec_id);
	d->drained = false;
	d->drain_report = false;
}

static int parse_chunk(struct vv_decoder *d, const uint8_t *data, int size, int64_t ts)
{
	int status = VV_CODEC_OK;

	do {
		uint8_t *out;
		int out_size, used, ret;

		used = av_parser_parse2(d->parser, d->ctx, &out, &out_size, data, size, ts, ts, 0);
		if (used < 0 || (used == 0 && !out_size && size > 0))
			return VV_CODEC_ERR_INVALID_DATA;
		data += used;
		size -= used;
		if (out_size) {
			d->pkt->data = out;
			d->pkt->size = out_size;
			/*
			 * A picture that starts inside a chunk that an earlier
			 * picture started in gets no timestamp from the parser:
			 * it takes the latest one (chunked byte streams only).
			 */
			d->pkt->pts = d->parser->pts != AV_NOPTS_VALUE ? d->parser->pts :
				      d->last_timestamp;
			d->pkt->dts = AV_NOPTS_VALUE;
			d->pkt->flags = d->parser->key_frame == 1 ? AV_PKT_FLAG_KEY : 0;
			ret = send_packet(d, d->pkt);
			if (ret == VV_CODEC_ERR_NOMEM)
				return ret;
			if (ret < 0)
				status = ret;
		}
		/* A flush call (size 0) parses once; data calls until consumed. */
	} while (size > 0);
	return status;
}

/*
 * Parsers of frame-based codecs (VP8, VP9) take each call as one whole frame,
 * so a buffer scattered over several iovecs is made contiguous first.
 */
static const uint8_t *contiguous(struct vv_decoder *d, const struct iovec *iov,
				 unsigned int iovcnt, size_t *size)
{
	size_t total = 0, off = 0;

	for (unsigned int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	*size = total;
	if (iovcnt == 1)
		return iov[0].iov_base;
	if (total > d->gather_size) {
		uint8_t *g = realloc(d->gather, total);

		if (!g)
			return NULL;
		d->gather = g;
		d->gather_size = total;
	}
	for (unsigned int i = 0; i < iovcnt; i++) {
		memcpy(d->gather + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	return d->gather;
}

static int ff_decode(struct vv_decoder *d, const struct iovec *iov, unsigned int iovcnt,
		     uint64_t timestamp)
{
	int status = VV_CODEC_OK;
	const uint8_t *p;
	size_t left;

	if (d->drained)
		restart(d);
	if (!d->parser)
		return VV_CODEC_ERR_NOMEM;
	if (!iovcnt)
		return VV_CODEC_OK;
	p = contiguous(d, iov, iovcnt, &left);
	if (!p)
		return VV_CODEC_ERR_NOMEM;
	d->last_timestamp = (int64_t)timestamp;
	while (left) {
		int chunk = left > (1u << 30) ? 1 << 30 : (int)left;
		int ret = parse_chunk(d, p, chunk, (int64_t)timestamp);

		if (ret == VV_CODEC_ERR_NOMEM)
			return ret;
		if (ret < 0)
			status = ret;
		p += chunk;
		left -= (size_t)chunk;
	}
	return status;
}

static int ff_flush(struct vv_decoder *d)
{
	int ret;

	d->drain_report = true;
	if (d->drained)
		return VV_CODEC_OK;
	if (d->parser) {
		ret = parse_chunk(d, NULL, 0, AV_NOPTS_VALUE);
		if (ret == VV_CODEC_ERR_NOMEM)
			return ret;
	}
	ret = send_packet(d, NULL);
	d->drained = true;
	return ret == VV_CODEC_ERR_NOMEM ? ret : VV_CODEC_OK;
}

static void ff_reset(struct vv_decoder *d)
{
	frames_clear(d);
	restart(d);
}

static bool supported_pixfmt(int format)
{
	return format == AV_PIX_FMT_YUV420P || format == AV_PIX_FMT_YUVJ420P ||
	       format == AV_PIX_FMT_NV12;
}

/* A hardware frame comes back to memory; one copy, done by the driver. */
static AVFrame *download(AVFrame *f)
{
	AVFrame *sw = av_frame_alloc();

	if (!sw || av_hwframe_transfer_data(sw, f, 0) < 0) {
		av_frame_free(&sw);
		av_frame_free(&f);
		return NULL;
	}
	av_frame_copy_props(sw, f);
	av_frame_free(&f);
	return sw;
}

static int ff_receive(struct vv_decoder *d, struct vv_picture *pic)
{
	AVFrame *f;

	if (!d->count) {
		/* Synchronous: after flush() every picture came out above. */
		if (!d->drain_report)
			return 0;
		d->drain_report = false;
		return VV_CODEC_DRAINED;
	}
	f = d->frames[d->first];
	d->first = (d->first + 1) % d->cap;
	d->count--;
	if (f->format == d->hw_format && d->hw_format != AV_PIX_FMT_NONE) {
		f = download(f);
		if (!f)
			return VV_CODEC_ERR_NOMEM;
	}
	if (!supported_pixfmt(f->format) || f->width <= 0 || f->height <= 0) {
		av_frame_free(&f);
		return VV_CODEC_ERR_UNSUPPORTED;
	}
	pic->width = (uint32_t)f->width;
	pic->height = (uint32_t)f->height;
	pic->timestamp = (uint64_t)f->pts;
	pic->priv = f;
	return 1;
}

static void ff_release(struct vv_decoder *d, struct vv_picture *pic)
{
	AVFrame *f = pic->priv;

	(void)d;
	av_frame_free(&f);
	pic->priv = NULL;
}

static void copy_plane(uint8_t *dst, uint32_t dst_stride, const uint8_t *src, int src_stride,
		       uint32_t row_bytes, uint32_t rows)
{
	for (uint32_t y = 0; y < rows; y++)
		memcpy(dst + (size_t)y * dst_stride, src + (ptrdiff_t)y * src_stride, row_bytes);
}

static void interleave_uv(uint8_t *dst, uint32_t dst_stride, const AVFrame *f,
			  uint32_t cw, uint32_t ch)
{
	for (uint32_t y = 0; y < ch; y++) {
		const uint8_t *u = f->data[1] + (ptrdiff_t)y * f->linesize[1];
		const uint8_t *v = f->data[2] + (ptrdiff_t)y * f->linesize[2];
		uint8_t *row = dst + (size_t)y * dst_stride;

		for (uint32_t x = 0; x < cw; x++) {
			row[2 * x] = u[x];
			row[2 * x + 1] = v[x];
		}
	}
}

/* Splits an NV12 frame's chroma into the planes u and v (hardware output). */
static void deinterleave_uv(uint8_t *u, uint32_t u_stride, uint8_t *v, uint32_t v_stride,
			    const AVFrame *f, uint32_t cw, uint32_t ch)
{
	for (uint32_t y = 0; y < ch; y++) {
		const uint8_t *uv = f->data[1] + (ptrdiff_t)y * f->linesize[1];
		uint8_t *urow = u + (size_t)y * u_stride, *vrow = v + (size_t)y * v_stride;

		for (uint32_t x = 0; x < cw; x++) {
			urow[x] = uv[2 * x];
			vrow[x] = uv[2 * x + 1];
		}
	}
}

static bool plane_fits(const struct vv_plane *p, uint32_t row_bytes, uint32_t rows)
{
	return p->stride >= row_bytes && (uint64_t)p->stride * rows <= p->size;
}

static int write_rgb(struct vv_decoder *d, const AVFrame *f, enum AVPixelFormat fmt,
		     const struct vv_plane *plane)
{
	uint8_t *dst[4] = { plane->data };
	int dst_stride[4] = { (int)plane->stride };

	d->sws = sws_getCachedContext(d->sws, f->width, f->height, f->format, f->width,
				      f->height, fmt, SWS_BILINEAR | SWS_ACCURATE_RND, NULL,
				      NULL, NULL);
	if (!d->sws)
		return VV_CODEC_ERR_NOMEM;
	sws_scale(d->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst,
		  dst_stride);
	return VV_CODEC_OK;
}

static int ff_write(struct vv_decoder *d, const struct vv_picture *pic, uint32_t format,
		    const struct vv_plane *planes, unsigned int num_planes)
{
	const AVFrame *f = pic->priv;
	uint32_t w = (uint32_t)f->width, h = (uint32_t)f->height;
	uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2;

	switch (format) {
	case VIRTIO_VIDEO_FORMAT_YUV420:
	case VIRTIO_VIDEO_FORMAT_YVU420: {
		int u = format == VIRTIO_VIDEO_FORMAT_YUV420 ? 1 : 2;

		if (num_planes != 3 || !plane_fits(&planes[0], w, h) ||
		    !plane_fits(&planes[1], cw, ch) || !plane_fits(&planes[2], cw, ch))
			return VV_CODEC_ERR_INVALID_DATA;
		copy_plane(planes[0].data, planes[0].stride, f->data[0], f->linesize[0], w, h);
		if (f->format == AV_PIX_FMT_NV12) {
			deinterleave_uv(planes[u].data, planes[u].stride, planes[3 - u].data,
					planes[3 - u].stride, f, cw, ch);
			return VV_CODEC_OK;
		}
		copy_plane(planes[1].data, planes[1].stride, f->data[u], f->linesize[u], cw, ch);
		copy_plane(planes[2].data, planes[2].stride, f->data[3 - u], f->linesize[3 - u],
			   cw, ch);
		return VV_CODEC_OK;
	}
	case VIRTIO_VIDEO_FORMAT_NV12:
		if (num_planes != 2 || !plane_fits(&planes[0], w, h) ||
		    !plane_fits(&planes[1], 2 * cw, ch))
			return VV_CODEC_ERR_INVALID_DATA;
		copy_plane(planes[0].data, planes[0].stride, f->data[0], f->linesize[0], w, h);
		if (f->format == AV_PIX_FMT_NV12)
			copy_plane(planes[1].data, planes[1].stride, f->data[1], f->linesize[1],
				   2 * cw, ch);
		else
			interleave_uv(planes[1].data, planes[1].stride, f, cw, ch);
		return VV_CODEC_OK;
	case VIRTIO_VIDEO_FORMAT_BGRA8888:
	case VIRTIO_VIDEO_FORMAT_ARGB8888:
		if (num_planes != 1 || !plane_fits(&planes[0], 4 * w, h))
			return VV_CODEC_ERR_INVALID_DATA;
		return write_rgb(d, f, format == VIRTIO_VIDEO_FORMAT_BGRA8888 ?
				 AV_PIX_FMT_BGRA : AV_PIX_FMT_ARGB, &planes[0]);
	default:
		return VV_CODEC_ERR_UNSUPPORTED;
	}
}

/* The parsers of H.264, HEVC and VP8 read the size from the headers. */
static int ff_stream_info(struct vv_decoder *d, uint32_t *width, uint32_t *height)
{
	if (!d->parser || d->parser->width <= 0 || d->parser->height <= 0)
		return 0;
	*width = (uint32_t)d->parser->width;
	*height = (uint32_t)d->parser->height;
	return 1;
}

__attribute__((visibility("default"))) const struct vv_codec_ops vv_codec_plugin = {
	.abi_version = VV_CODEC_ABI_VERSION,
	.name = "ffmpeg",
	.init = ff_init,
	.fini = ff_fini,
	.get_caps = ff_get_caps,
	.decoder_create = ff_decoder_create,
	.decoder_destroy = ff_decoder_destroy,
	.decode = ff_decode,
	.flush = ff_flush,
	.reset = ff_reset,
	.receive = ff_receive,
	.write = ff_write,
	.release = ff_release,
	.stream_info = ff_stream_info,
};
