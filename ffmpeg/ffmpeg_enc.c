// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FFmpeg plugin's encoder (codec.h, struct vv_encoder_ops): libx264,
 * libx265, libvpx (VP8) and libvpx-vp9 through libavcodec, synchronous and
 * low-latency: no B-frames, no lookahead, one packet out per frame in, so
 * receive() has the frame's packet as soon as encode() returns.
 *
 * A frame's planes are guest memory valid only during encode(): they are
 * copied into an AVFrame of libavcodec's (one copy; the encoders copy their
 * input again inside, so pointing the AVFrame at guest memory would save
 * one of two copies and is left for later). Hardware encoders are not wired
 * up yet: the software encoders serve every hwaccel setting.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/frame_layout.h"
#include "../include/virtio_video.h"
#include "ffmpeg_enc.h"

/* Frames in flight inside one encoder: timestamps waiting for their packet. */
#define TS_RING 64

struct enc_codec {
	uint32_t format;
	const char *encoder;	/* libavcodec encoder name */
};

static const struct enc_codec enc_codecs[] = {
	{ VIRTIO_VIDEO_FORMAT_H264, "libx264" },
	{ VIRTIO_VIDEO_FORMAT_HEVC, "libx265" },
	{ VIRTIO_VIDEO_FORMAT_VP8, "libvpx" },
	{ VIRTIO_VIDEO_FORMAT_VP9, "libvpx-vp9" },
};
#define NUM_ENC (sizeof(enc_codecs) / sizeof(enc_codecs[0]))

static char enc_impl[NUM_ENC][96];
static int enc_threads;

struct vv_encoder {
	const struct enc_codec *codec;
	struct vv_encoder_config config;
	AVCodecContext *ctx;
	AVFrame *frame;
	AVPacket *pkt;
	int64_t next_pts;
	uint64_t ts[TS_RING];		/* timestamp of pts % TS_RING */
	bool flushed, drained_told;
	/* Parameter sets only once (no PREPEND_SPSPPS_TO_IDR): extradata before packet 1. */
	bool headers_once, headers_sent;
};

int ff_encoder_init(const char *hwaccel, const char *device, int threads)
{
	(void)device;
	enc_threads = threads;
	for (size_t i = 0; i < NUM_ENC; i++)
		snprintf(enc_impl[i], sizeof(enc_impl[i]), "libavcodec %s (software%s)",
			 enc_codecs[i].encoder,
			 hwaccel && strcmp(hwaccel, "none") ? "; no hardware encoder wired up" : "");
	if (hwaccel && strcmp(hwaccel, "none"))
		fprintf(stderr, "vv-ffmpeg: hwaccel=%s: encoding in software (hardware encoders "
			"are not wired up)\n", hwaccel);
	return 0;
}

void ff_encoder_fini(void)
{
}

void ff_encoder_caps(struct vv_codec_role_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	for (size_t i = 0; i < NUM_ENC; i++) {
		struct vv_codec_format *f = &caps->coded[caps->num_coded];

		if (!avcodec_find_encoder_by_name(enc_codecs[i].encoder))
			continue;
		*f = (struct vv_codec_format){
			.format = enc_codecs[i].format, .impl = enc_impl[i],
			.min_width = 16, .max_width = 4096, .min_height = 16, .max_height = 4096,
			.min_fps = 1, .max_fps = 120,
		};
		/* x264 and x265 encode 4:2:0 at even sizes only. */
		if (f->format == VIRTIO_VIDEO_FORMAT_H264 || f->format == VIRTIO_VIDEO_FORMAT_HEVC)
			f->width_step = f->height_step = 2;
		switch (f->format) {
		case VIRTIO_VIDEO_FORMAT_H264:
			f->profiles[f->num_profiles++] = VIRTIO_VIDEO_PROFILE_H264_BASELINE;
			f->profiles[f->num_profiles++] = VIRTIO_VIDEO_PROFILE_H264_MAIN;
			f->profiles[f->num_profiles++] = VIRTIO_VIDEO_PROFILE_H264_HIGH;
			for (uint32_t l = VIRTIO_VIDEO_LEVEL_H264_MIN; l <= VIRTIO_VIDEO_LEVEL_H264_MAX; l++)
				f->levels[f->num_levels++] = l;
			break;
		case VIRTIO_VIDEO_FORMAT_HEVC:
			f->profiles[f->num_profiles++] = VIRTIO_VIDEO_PROFILE_HEVC_MAIN;
			break;
		case VIRTIO_VIDEO_FORMAT_VP8:
			for (uint32_t p = VIRTIO_VIDEO_PROFILE_VP8_MIN; p <= VIRTIO_VIDEO_PROFILE_VP8_MAX; p++)
				f->profiles[f->num_profiles++] = p;
			break;
		case VIRTIO_VIDEO_FORMAT_VP9:
			f->profiles[f->num_profiles++] = VIRTIO_VIDEO_PROFILE_VP9_PROFILE0;
			break;
		}
		caps->num_coded++;
	}
	caps->raw[caps->num_raw++] = VIRTIO_VIDEO_FORMAT_NV12;
	caps->raw[caps->num_raw++] = VIRTIO_VIDEO_FORMAT_YUV420;
}

static const char *x264_profile(uint32_t profile)
{
	switch (profile) {
	case VIRTIO_VIDEO_PROFILE_H264_BASELINE:
		return "baseline";
	case VIRTIO_VIDEO_PROFILE_H264_MAIN:
		return "main";
	case VIRTIO_VIDEO_PROFILE_H264_HIGH:
		return "high";
	default:
		return NULL;
	}
}

/* VIRTIO_VIDEO_LEVEL_H264_1_0 .. 5_1 as level_idc (10 .. 51). */
static int h264_level_idc(uint32_t level)
{
	static const int idc[] = { 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51 };

	if (level < VIRTIO_VIDEO_LEVEL_H264_MIN || level > VIRTIO_VIDEO_LEVEL_H264_MAX)
		return FF_LEVEL_UNKNOWN;
	return idc[level - VIRTIO_VIDEO_LEVEL_H264_MIN];
}

/* Rate control: CBR holds a small buffer at the target, VBR caps at the peak. */
static void set_rate(AVCodecContext *ctx, const struct vv_encoder_config *c)
{
	ctx->bit_rate = c->bitrate;
	if (c->rate_control == VV_RC_CBR) {
		ctx->rc_max_rate = c->bitrate;
		ctx->rc_min_rate = c->bitrate;
		ctx->rc_buffer_size = (int)(c->bitrate / 2);
	} else {
		ctx->rc_max_rate = c->bitrate_peak;
		ctx->rc_min_rate = 0;
		ctx->rc_buffer_size = (int)c->bitrate_peak;
	}
}

static void encoder_free(struct vv_encoder *e)
{
	avcodec_free_context(&e->ctx);
	av_frame_free(&e->frame);
	av_packet_free(&e->pkt);
}

static int open_context(struct vv_encoder *e)
{
	const struct vv_encoder_config *c = &e->config;
	const AVCodec *codec = avcodec_find_encoder_by_name(e->codec->encoder);
	AVDictionary *opts = NULL;
	char params[64];
	int ret;

	if (!codec)
		return VV_CODEC_ERR_UNSUPPORTED;
	e->ctx = avcodec_alloc_context3(codec);
	e->frame = av_frame_alloc();
	e->pkt = av_packet_alloc();
	if (!e->ctx || !e->frame || !e->pkt)
		return VV_CODEC_ERR_NOMEM;
	e->ctx->width = (int)c->width;
	e->ctx->height = (int)c->height;
	e->ctx->pix_fmt = AV_PIX_FMT_YUV420P;
	e->ctx->time_base = (AVRational){ (int)(c->fps_den ? c->fps_den : 1),
					  (int)(c->fps_num ? c->fps_num : 30) };
	e->ctx->framerate = (AVRational){ e->ctx->time_base.den, e->ctx->time_base.num };
	e->ctx->max_b_frames = 0;
	e->ctx->thread_count = enc_threads ? enc_threads : 0;
	if (c->gop_size) {
		e->ctx->gop_size = (int)c->gop_size;
		e->ctx->keyint_min = (int)c->gop_size;
	}
	set_rate(e->ctx, c);
	switch (c->coded_format) {
	case VIRTIO_VIDEO_FORMAT_H264:
		av_dict_set(&opts, "preset", "superfast", 0);
		av_dict_set(&opts, "tune", "zerolatency", 0);
		av_dict_set(&opts, "forced-idr", "1", 0);
		if (x264_profile(c->profile))
			av_dict_set(&opts, "profile", x264_profile(c->profile), 0);
		if (c->level)
			e->ctx->level = h264_level_idc(c->level);
		/* No nal-hrd=cbr: with HRD signalling x264 will not reconfigure the rate. */
		if (c->gop_size)
			av_dict_set(&opts, "x264-params", "scenecut=0", 0);
		break;
	case VIRTIO_VIDEO_FORMAT_HEVC:
		av_dict_set(&opts, "preset", "ultrafast", 0);
		av_dict_set(&opts, "tune", "zerolatency", 0);
		av_dict_set(&opts, "forced-idr", "1", 0);
		snprintf(params, sizeof(params), "log-level=error%s", c->gop_size ? ":scenecut=0" : "");
		av_dict_set(&opts, "x265-params", params, 0);
		break;
	default:	/* libvpx, libvpx-vp9 */
		av_dict_set(&opts, "deadline", "realtime", 0);
		av_dict_set(&opts, "lag-in-frames", "0", 0);
		av_dict_set(&opts, "cpu-used", "8", 0);
		if (c->coded_format == VIRTIO_VIDEO_FORMAT_VP9)
			av_dict_set(&opts, "row-mt", "1", 0);
		if (c->profile)
			e->ctx->profile = (int)(c->profile - (c->coded_format == VIRTIO_VIDEO_FORMAT_VP8 ?
							    VIRTIO_VIDEO_PROFILE_VP8_MIN :
							    VIRTIO_VIDEO_PROFILE_VP9_MIN));
		if (c->rate_control == VV_RC_CBR) {
			/* libvpx CBR wants min == max == target and a buffer in ms. */
			e->ctx->rc_buffer_size = (int)c->bitrate;
		}
		break;
	}
	/*
	 * libx264/libx265 repeat the parameter sets before every IDR unless
	 * they go to extradata (GLOBAL_HEADER); then the first packet gets them.
	 */
	e->headers_once = !c->prepend_headers && (c->coded_format == VIRTIO_VIDEO_FORMAT_H264 ||
						  c->coded_format == VIRTIO_VIDEO_FORMAT_HEVC);
	e->headers_sent = false;
	if (e->headers_once)
		e->ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	ret = avcodec_open2(e->ctx, codec, &opts);
	av_dict_free(&opts);
	if (ret < 0) {
		char err[128];

		av_strerror(ret, err, sizeof(err));
		fprintf(stderr, "vv-ffmpeg: %s refused %ux%u at %u bit/s: %s\n", e->codec->encoder,
			c->width, c->height, c->bitrate, err);
		return VV_CODEC_ERR_UNSUPPORTED;
	}
	e->frame->format = AV_PIX_FMT_YUV420P;
	e->frame->width = e->ctx->width;
	e->frame->height = e->ctx->height;
	if (av_frame_get_buffer(e->frame, 0) < 0)
		return VV_CODEC_ERR_NOMEM;
	return VV_CODEC_OK;
}

static int ff_enc_create(const struct vv_encoder_config *config, struct vv_encoder **out)
{
	struct vv_encoder *e;
	int ret;

	*out = NULL;
	if (config->raw_format != VIRTIO_VIDEO_FORMAT_NV12 &&
	    config->raw_format != VIRTIO_VIDEO_FORMAT_YUV420)
		return VV_CODEC_ERR_UNSUPPORTED;
	if (!config->width || !config->height || config->width > 4096 || config->height > 4096 ||
	    !config->bitrate)
		return VV_CODEC_ERR_UNSUPPORTED;
	e = calloc(1, sizeof(*e));
	if (!e)
		return VV_CODEC_ERR_NOMEM;
	for (size_t i = 0; i < NUM_ENC; i++)
		if (enc_codecs[i].format == config->coded_format)
			e->codec = &enc_codecs[i];
	e->config = *config;
	ret = e->codec ? open_context(e) : VV_CODEC_ERR_UNSUPPORTED;
	if (ret < 0) {
		encoder_free(e);
		free(e);
		return ret;
	}
	*out = e;
	return VV_CODEC_OK;
}

static void ff_enc_destroy(struct vv_encoder *e)
{
	if (!e)
		return;
	encoder_free(e);
	free(e);
}

/*
 * libx264 (FFmpeg 5.1 reconfig_encoder) takes new rate settings between
 * frames; everything else is a new encoder, which the device makes.
 */
static int ff_enc_reconfigure(struct vv_encoder *e, const struct vv_encoder_config *c)
{
	if (c->coded_format != VIRTIO_VIDEO_FORMAT_H264 || c->gop_size != e->config.gop_size ||
	    c->fps_num != e->config.fps_num || c->fps_den != e->config.fps_den ||
	    c->rate_control != e->config.rate_control)
		return VV_CODEC_ERR_UNSUPPORTED;
	set_rate(e->ctx, c);
	e->config = *c;
	return VV_CODEC_OK;
}

static void copy_rows(uint8_t *dst, int dst_stride, const uint8_t *src, uint32_t src_stride,
		      uint32_t bytes, uint32_t rows)
{
	for (uint32_t y = 0; y < rows; y++)
		memcpy(dst + (ptrdiff_t)y * dst_stride, src + (size_t)y * src_stride, bytes);
}

/* The guest's planes into the encoder's I420 frame (NV12 chroma split). */
static int load_frame(struct vv_encoder *e, const struct vv_frame *f)
{
	uint32_t w = f->width, h = f->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
	AVFrame *dst = e->frame;

	if (f->num_planes != vv_layout_num_planes(f->format) || w != e->config.width ||
	    h != e->config.height)
		return VV_CODEC_ERR_INVALID_DATA;
	for (unsigned int i = 0; i < f->num_planes; i++)
		if (!vv_layout_plane_fits(&f->planes[i], f->format, i, w, h))
			return VV_CODEC_ERR_INVALID_DATA;
	if (av_frame_make_writable(dst) < 0)
		return VV_CODEC_ERR_NOMEM;
	copy_rows(dst->data[0], dst->linesize[0], f->planes[0].data, f->planes[0].stride, w, h);
	if (f->format == VIRTIO_VIDEO_FORMAT_YUV420) {
		copy_rows(dst->data[1], dst->linesize[1], f->planes[1].data, f->planes[1].stride, cw, ch);
		copy_rows(dst->data[2], dst->linesize[2], f->planes[2].data, f->planes[2].stride, cw, ch);
		return VV_CODEC_OK;
	}
	for (uint32_t y = 0; y < ch; y++) {
		const uint8_t *uv = f->planes[1].data + (size_t)y * f->planes[1].stride;
		uint8_t *u = dst->data[1] + (ptrdiff_t)y * dst->linesize[1];
		uint8_t *v = dst->data[2] + (ptrdiff_t)y * dst->linesize[2];

		for (uint32_t x = 0; x < cw; x++) {
			u[x] = uv[2 * x];
			v[x] = uv[2 * x + 1];
		}
	}
	return VV_CODEC_OK;
}

static int ff_enc_encode(struct vv_encoder *e, const struct vv_frame *f)
{
	int ret;

	if (e->flushed)
		return VV_CODEC_ERR_UNSUPPORTED;
	ret = load_frame(e, f);
	if (ret < 0)
		return ret;
	e->frame->pts = e->next_pts++;
	e->frame->pict_type = f->force_keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	e->ts[e->frame->pts % TS_RING] = f->timestamp;
	ret = avcodec_send_frame(e->ctx, e->frame);
	if (ret < 0) {
		fprintf(stderr, "vv-ffmpeg: %s: send_frame failed (%d)\n", e->codec->encoder, ret);
		return VV_CODEC_ERR_UNSUPPORTED;
	}
	return VV_CODEC_OK;
}

static int ff_enc_flush(struct vv_encoder *e)
{
	if (e->flushed)
		return VV_CODEC_ERR_UNSUPPORTED;
	e->flushed = true;
	return avcodec_send_frame(e->ctx, NULL) < 0 ? VV_CODEC_ERR_UNSUPPORTED : VV_CODEC_OK;
}

static void ff_enc_reset(struct vv_encoder *e)
{
	struct vv_encoder_config c = e->config;

	encoder_free(e);
	memset(e->ts, 0, sizeof(e->ts));
	e->next_pts = 0;
	e->flushed = false;
	e->drained_told = false;
	e->config = c;
	if (open_context(e) < 0)
		fprintf(stderr, "vv-ffmpeg: %s: cannot reopen after reset\n", e->codec->encoder);
}

static int ff_enc_receive(struct vv_encoder *e, struct vv_packet *p)
{
	AVPacket *pkt;
	int ret;

	if (!e->ctx)
		return VV_CODEC_ERR_UNSUPPORTED;
	ret = avcodec_receive_packet(e->ctx, e->pkt);
	if (ret == AVERROR(EAGAIN))
		return 0;
	if (ret == AVERROR_EOF) {
		if (e->drained_told)
			return 0;
		e->drained_told = true;
		return VV_CODEC_DRAINED;
	}
	if (ret < 0)
		return VV_CODEC_ERR_UNSUPPORTED;
	pkt = av_packet_alloc();
	if (!pkt) {
		av_packet_unref(e->pkt);
		return VV_CODEC_ERR_NOMEM;
	}
	av_packet_move_ref(pkt, e->pkt);
	if (e->headers_once && !e->headers_sent && e->ctx->extradata_size > 0) {
		int size = pkt->size;

		if (av_grow_packet(pkt, e->ctx->extradata_size) < 0) {
			av_packet_free(&pkt);
			return VV_CODEC_ERR_NOMEM;
		}
		memmove(pkt->data + e->ctx->extradata_size, pkt->data, (size_t)size);
		memcpy(pkt->data, e->ctx->extradata, (size_t)e->ctx->extradata_size);
	}
	e->headers_sent = true;
	*p = (struct vv_packet){
		.data = pkt->data, .size = (size_t)pkt->size,
		.timestamp = e->ts[(uint64_t)pkt->pts % TS_RING],
		.type = (pkt->flags & AV_PKT_FLAG_KEY) ? VV_PACKET_KEY : VV_PACKET_P,
		.priv = pkt,
	};
	return 1;
}

static void ff_enc_release(struct vv_encoder *e, struct vv_packet *p)
{
	AVPacket *pkt = p->priv;

	(void)e;
	av_packet_free(&pkt);
	p->priv = NULL;
}

const struct vv_encoder_ops ff_encoder_ops = {
	.create = ff_enc_create,
	.destroy = ff_enc_destroy,
	.reconfigure = ff_enc_reconfigure,
	.encode = ff_enc_encode,
	.flush = ff_enc_flush,
	.reset = ff_enc_reset,
	.receive = ff_enc_receive,
	.release = ff_enc_release,
};
