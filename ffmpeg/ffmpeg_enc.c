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
 * one of two copies and is left for later).
 *
 * Hardware encoders (the plugin's hwaccel= and device= options, the device
 * of ffmpeg_hw.c): hwaccel=cuda (or auto finding CUDA) encodes H.264 and
 * HEVC with h264_nvenc/hevc_nvenc from system-memory NV12 frames, on the
 * CUDA device when libavutil opened one (else NVENC tries its own);
 * hwaccel=vaapi (or auto finding VA-API) encodes H.264, HEVC, VP8 and VP9
 * with *_vaapi from NV12 surfaces of a frames context on the VA-API device,
 * uploaded with av_hwframe_transfer_data. A codec without such an encoder,
 * a missing device, or a hardware encoder that does not open for a stream
 * (checked at every open: NVENC limits sessions) encodes in software, and
 * the log says so.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/opt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/codec_profiles.h"
#include "../host/frame_layout.h"
#include "../include/virtio_video.h"
#include "ffmpeg_enc.h"
#include "ffmpeg_hw.h"

/* Frames in flight inside one encoder: timestamps waiting for their packet. */
#define TS_RING 64

/* Which encoder serves a stream. */
enum enc_kind { ENC_SOFTWARE, ENC_NVENC, ENC_VAAPI };

struct enc_codec {
	uint32_t format;
	const char *encoder;	/* the software encoder (libavcodec name) */
	const char *nvenc, *vaapi;	/* hardware ones, NULL: none */
};

static const struct enc_codec enc_codecs[] = {
	{ VIRTIO_VIDEO_FORMAT_H264, "libx264", "h264_nvenc", "h264_vaapi" },
	{ VIRTIO_VIDEO_FORMAT_HEVC, "libx265", "hevc_nvenc", "hevc_vaapi" },
	{ VIRTIO_VIDEO_FORMAT_VP8, "libvpx", NULL, "vp8_vaapi" },
	{ VIRTIO_VIDEO_FORMAT_VP9, "libvpx-vp9", NULL, "vp9_vaapi" },
};
#define NUM_ENC (sizeof(enc_codecs) / sizeof(enc_codecs[0]))

static char enc_impl[NUM_ENC][160];
static int enc_threads;
/* The hardware encoder each codec tries first (NULL: software only). */
static enum enc_kind enc_hw_kind;
static const char *enc_hw[NUM_ENC];
static const char *enc_device;	/* device=, for NVENC without a CUDA device */

struct vv_encoder {
	const struct enc_codec *codec;
	const char *name;		/* the open encoder's libavcodec name */
	enum enc_kind kind;
	struct vv_encoder_config config;
	AVCodecContext *ctx;
	AVFrame *frame;			/* software: I420; hardware: NV12 */
	AVFrame *hw_frame;		/* VA-API: the surface it is uploaded to */
	AVPacket *pkt;
	int64_t next_pts;
	uint64_t ts[TS_RING];		/* timestamp of pts % TS_RING */
	bool flushed, drained_told;
	/* Parameter sets only once (no PREPEND_SPSPPS_TO_IDR): extradata before packet 1. */
	bool headers_once, headers_sent;
};

static const char *kind_name(enum enc_kind k)
{
	return k == ENC_NVENC ? "NVENC" : k == ENC_VAAPI ? "VA-API" : "software";
}

/*
 * hwaccel (NULL: none) against the device ffmpeg_hw.c opened: which
 * hardware encoder each codec tries, logged with what serves it otherwise.
 */
int ff_encoder_init(const char *hwaccel, const char *device, int threads)
{
	bool cuda = ff_hw_device && ff_hw_type == AV_HWDEVICE_TYPE_CUDA;
	bool vaapi = ff_hw_device && ff_hw_type == AV_HWDEVICE_TYPE_VAAPI;
	const char *why = NULL;	/* why there is no hardware encoder at all */

	enc_threads = threads;
	enc_device = device;
	enc_hw_kind = ENC_SOFTWARE;
	if (hwaccel && (!strcmp(hwaccel, "cuda") || (!strcmp(hwaccel, "auto") && cuda)))
		enc_hw_kind = ENC_NVENC;	/* without a CUDA device NVENC still tries its own */
	else if (hwaccel && (!strcmp(hwaccel, "vaapi") || (!strcmp(hwaccel, "auto") && vaapi)))
		enc_hw_kind = vaapi ? ENC_VAAPI : ENC_SOFTWARE;
	if (hwaccel && enc_hw_kind == ENC_SOFTWARE)
		why = !strcmp(hwaccel, "vaapi") ? "no VA-API device" :
		      !strcmp(hwaccel, "auto") && !ff_hw_device ? "no CUDA or VA-API device" :
		      "no hardware encoders for this hwaccel";
	for (size_t i = 0; i < NUM_ENC; i++) {
		const struct enc_codec *c = &enc_codecs[i];
		const char *hw = enc_hw_kind == ENC_NVENC ? c->nvenc :
				 enc_hw_kind == ENC_VAAPI ? c->vaapi : NULL;

		enc_hw[i] = hw && avcodec_find_encoder_by_name(hw) ? hw : NULL;
		if (enc_hw[i])
			snprintf(enc_impl[i], sizeof(enc_impl[i]),
				 "libavcodec %s (%s), software fallback %s", hw,
				 kind_name(enc_hw_kind), c->encoder);
		else if (hwaccel)
			snprintf(enc_impl[i], sizeof(enc_impl[i]),
				 "libavcodec %s (software; hwaccel %s: %s)", c->encoder, hwaccel,
				 why ? why : hw ? "this libavcodec has no encoder for it" :
				 "no hardware encoder of this codec");
		else
			snprintf(enc_impl[i], sizeof(enc_impl[i]), "libavcodec %s (software)",
				 c->encoder);
		if (hwaccel)
			fprintf(stderr, "vv-ffmpeg: encoder: %s\n", enc_impl[i]);
	}
	if (why)
		fprintf(stderr, "vv-ffmpeg: hwaccel=%s: %s: encoding in software\n", hwaccel, why);
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
		vv_codec_profiles(f, VV_PROFILES_VP8_ALL);
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
	av_frame_free(&e->hw_frame);
	av_packet_free(&e->pkt);
}

/* libx264, libx265, libvpx, libvpx-vp9: low latency, the config's controls. */
static void software_options(struct vv_encoder *e, AVDictionary **opts)
{
	const struct vv_encoder_config *c = &e->config;
	char params[64];

	e->ctx->thread_count = enc_threads ? enc_threads : 0;
	if (c->gop_size)
		e->ctx->keyint_min = (int)c->gop_size;
	switch (c->coded_format) {
	case VIRTIO_VIDEO_FORMAT_H264:
		av_dict_set(opts, "preset", "superfast", 0);
		av_dict_set(opts, "tune", "zerolatency", 0);
		av_dict_set(opts, "forced-idr", "1", 0);
		if (x264_profile(c->profile))
			av_dict_set(opts, "profile", x264_profile(c->profile), 0);
		if (c->level)
			e->ctx->level = h264_level_idc(c->level);
		/* No nal-hrd=cbr: with HRD signalling x264 will not reconfigure the rate. */
		if (c->gop_size)
			av_dict_set(opts, "x264-params", "scenecut=0", 0);
		break;
	case VIRTIO_VIDEO_FORMAT_HEVC:
		av_dict_set(opts, "preset", "ultrafast", 0);
		av_dict_set(opts, "tune", "zerolatency", 0);
		av_dict_set(opts, "forced-idr", "1", 0);
		snprintf(params, sizeof(params), "log-level=error%s", c->gop_size ? ":scenecut=0" : "");
		av_dict_set(opts, "x265-params", params, 0);
		break;
	default:	/* libvpx, libvpx-vp9 */
		av_dict_set(opts, "deadline", "realtime", 0);
		av_dict_set(opts, "lag-in-frames", "0", 0);
		av_dict_set(opts, "cpu-used", "8", 0);
		if (c->coded_format == VIRTIO_VIDEO_FORMAT_VP9)
			av_dict_set(opts, "row-mt", "1", 0);
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
}

/*
 * h264_nvenc, hevc_nvenc (FFmpeg 5.1 nvenc.c): low latency (no reordering,
 * each packet out with its frame), CBR or VBR with the peak as maxrate,
 * a forced keyframe an IDR, the H.264 profile and level by name.
 */
static int nvenc_options(struct vv_encoder *e, AVDictionary **opts)
{
	const struct vv_encoder_config *c = &e->config;
	char level[24];
	int idc;

	av_dict_set(opts, "preset", "p2", 0);
	av_dict_set(opts, "tune", "ll", 0);
	av_dict_set(opts, "zerolatency", "1", 0);
	av_dict_set(opts, "delay", "0", 0);
	av_dict_set(opts, "rc-lookahead", "0", 0);
	av_dict_set(opts, "forced-idr", "1", 0);
	av_dict_set(opts, "rc", c->rate_control == VV_RC_CBR ? "cbr" : "vbr", 0);
	if (c->coded_format == VIRTIO_VIDEO_FORMAT_H264) {
		if (x264_profile(c->profile))
			av_dict_set(opts, "profile", x264_profile(c->profile), 0);
		idc = c->level ? h264_level_idc(c->level) : FF_LEVEL_UNKNOWN;
		if (idc != FF_LEVEL_UNKNOWN) {
			snprintf(level, sizeof(level), "%d.%d", idc / 10, idc % 10);
			av_dict_set(opts, "level", level, 0);
		}
	} else {
		av_dict_set(opts, "profile", "main", 0);
	}
	/* On libavutil's CUDA device when there is one (device=), else NVENC's own choice. */
	if (ff_hw_device && ff_hw_type == AV_HWDEVICE_TYPE_CUDA) {
		e->ctx->hw_device_ctx = av_buffer_ref(ff_hw_device);
		if (!e->ctx->hw_device_ctx)
			return VV_CODEC_ERR_NOMEM;
	} else if (enc_device && enc_device[strspn(enc_device, "0123456789")] == 0) {
		av_dict_set(opts, "gpu", enc_device, 0);
	}
	return VV_CODEC_OK;
}

/*
 * h264_vaapi, hevc_vaapi, vp8_vaapi, vp9_vaapi (FFmpeg 5.1 vaapi_encode):
 * NV12 surfaces of a frames context on the VA-API device; one frame in
 * flight (async_depth 1) so each packet comes out with its frame; CBR or
 * VBR; profile and level through the context (Baseline as Constrained
 * Baseline, which VA-API encodes); a frame marked I is an IDR.
 */
static int vaapi_options(struct vv_encoder *e, AVDictionary **opts)
{
	const struct vv_encoder_config *c = &e->config;

	av_dict_set(opts, "rc_mode", c->rate_control == VV_RC_CBR ? "CBR" : "VBR", 0);
	av_dict_set(opts, "async_depth", "1", 0);
	switch (c->coded_format) {
	case VIRTIO_VIDEO_FORMAT_H264:
		e->ctx->profile = c->profile == VIRTIO_VIDEO_PROFILE_H264_BASELINE ?
					  FF_PROFILE_H264_CONSTRAINED_BASELINE :
				  c->profile == VIRTIO_VIDEO_PROFILE_H264_MAIN ? FF_PROFILE_H264_MAIN :
				  c->profile == VIRTIO_VIDEO_PROFILE_H264_HIGH ? FF_PROFILE_H264_HIGH :
										 FF_PROFILE_UNKNOWN;
		if (c->level)
			e->ctx->level = h264_level_idc(c->level);
		break;
	case VIRTIO_VIDEO_FORMAT_HEVC:
		e->ctx->profile = FF_PROFILE_HEVC_MAIN;
		break;
	case VIRTIO_VIDEO_FORMAT_VP9:
		e->ctx->profile = FF_PROFILE_VP9_0;
		break;
	}
	e->ctx->pix_fmt = AV_PIX_FMT_VAAPI;
	e->ctx->hw_frames_ctx = ff_hw_frames(AV_PIX_FMT_VAAPI, AV_PIX_FMT_NV12, e->ctx->width,
					     e->ctx->height, 8);
	if (!e->ctx->hw_frames_ctx)
		return VV_CODEC_ERR_UNSUPPORTED;
	e->hw_frame = av_frame_alloc();
	return e->hw_frame ? VV_CODEC_OK : VV_CODEC_ERR_NOMEM;
}

/* Opens encoder NAME of kind KIND for e->config; on failure why (for the log). */
static int try_open(struct vv_encoder *e, const char *name, enum enc_kind kind, char *why,
		    size_t why_size)
{
	const struct vv_encoder_config *c = &e->config;
	const AVCodec *codec = avcodec_find_encoder_by_name(name);
	AVDictionary *opts = NULL;
	int ret = VV_CODEC_OK;

	snprintf(why, why_size, "out of memory");
	if (!codec) {
		snprintf(why, why_size, "not in this libavcodec");
		return VV_CODEC_ERR_UNSUPPORTED;
	}
	e->name = name;
	e->kind = kind;
	e->ctx = avcodec_alloc_context3(codec);
	e->frame = av_frame_alloc();
	e->pkt = av_packet_alloc();
	if (!e->ctx || !e->frame || !e->pkt)
		return VV_CODEC_ERR_NOMEM;
	e->ctx->width = (int)c->width;
	e->ctx->height = (int)c->height;
	e->ctx->pix_fmt = kind == ENC_SOFTWARE ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_NV12;
	e->ctx->time_base = (AVRational){ (int)(c->fps_den ? c->fps_den : 1),
					  (int)(c->fps_num ? c->fps_num : 30) };
	e->ctx->framerate = (AVRational){ e->ctx->time_base.den, e->ctx->time_base.num };
	e->ctx->max_b_frames = 0;
	if (c->gop_size)
		e->ctx->gop_size = (int)c->gop_size;
	set_rate(e->ctx, c);
	if (kind == ENC_NVENC)
		ret = nvenc_options(e, &opts);
	else if (kind == ENC_VAAPI)
		ret = vaapi_options(e, &opts);
	else
		software_options(e, &opts);
	/*
	 * The H.264/HEVC encoders repeat the parameter sets before every IDR
	 * unless they go to extradata (GLOBAL_HEADER); then the first packet
	 * gets them.
	 */
	e->headers_once = !c->prepend_headers && (c->coded_format == VIRTIO_VIDEO_FORMAT_H264 ||
						  c->coded_format == VIRTIO_VIDEO_FORMAT_HEVC);
	e->headers_sent = false;
	if (e->headers_once)
		e->ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if (ret == VV_CODEC_OK)
		ret = avcodec_open2(e->ctx, codec, &opts);
	else
		snprintf(why, why_size, "no %s frames", kind_name(kind));
	av_dict_free(&opts);
	if (ret < 0) {
		if (ret != VV_CODEC_ERR_UNSUPPORTED && ret != VV_CODEC_ERR_NOMEM)
			av_strerror(ret, why, why_size);
		return VV_CODEC_ERR_UNSUPPORTED;
	}
	e->frame->format = kind == ENC_SOFTWARE ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_NV12;
	e->frame->width = e->ctx->width;
	e->frame->height = e->ctx->height;
	if (av_frame_get_buffer(e->frame, 0) < 0)
		return VV_CODEC_ERR_NOMEM;
	return VV_CODEC_OK;
}

/* The codec's hardware encoder first where there is one, else (or if it fails) software. */
static int open_context(struct vv_encoder *e)
{
	const struct vv_encoder_config *c = &e->config;
	const char *hw = enc_hw[e->codec - enc_codecs];
	char why[128];
	int ret;

	if (hw) {
		ret = try_open(e, hw, enc_hw_kind, why, sizeof(why));
		if (ret == VV_CODEC_OK) {
			fprintf(stderr, "vv-ffmpeg: %s: encoding %ux%u on %s\n", hw, c->width,
				c->height, kind_name(enc_hw_kind));
			return ret;
		}
		fprintf(stderr, "vv-ffmpeg: %s did not open for %ux%u (%s): software fallback, %s\n",
			hw, c->width, c->height, why, e->codec->encoder);
		encoder_free(e);
	}
	ret = try_open(e, e->codec->encoder, ENC_SOFTWARE, why, sizeof(why));
	if (ret < 0)
		fprintf(stderr, "vv-ffmpeg: %s refused %ux%u at %u bit/s: %s\n", e->codec->encoder,
			c->width, c->height, c->bitrate, why);
	return ret;
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
 * frames; everything else (the hardware encoders too) is a new encoder,
 * which the device makes. In VBR (x264's ABR) a new bitrate is a new
 * encoder too: ABR aims at the average over the whole stream so far and
 * would take many seconds to follow (600 -> 150 kbit/s: no change in the
 * next second).
 */
static int ff_enc_reconfigure(struct vv_encoder *e, const struct vv_encoder_config *c)
{
	if (e->kind != ENC_SOFTWARE || c->coded_format != VIRTIO_VIDEO_FORMAT_H264 ||
	    c->gop_size != e->config.gop_size ||
	    c->fps_num != e->config.fps_num || c->fps_den != e->config.fps_den ||
	    c->rate_control != e->config.rate_control ||
	    (c->rate_control != VV_RC_CBR && c->bitrate != e->config.bitrate))
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

/*
 * The guest's planes into the encoder's frame: I420 for the software
 * encoders (NV12 chroma split), NV12 for the hardware ones (I420 chroma
 * interleaved).
 */
static int load_frame(struct vv_encoder *e, const struct vv_frame *f)
{
	uint32_t w = f->width, h = f->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
	AVFrame *dst = e->frame;
	bool nv12_in = f->format == VIRTIO_VIDEO_FORMAT_NV12;

	if (f->num_planes != vv_layout_num_planes(f->format) || w != e->config.width ||
	    h != e->config.height)
		return VV_CODEC_ERR_INVALID_DATA;
	for (unsigned int i = 0; i < f->num_planes; i++)
		if (!vv_layout_plane_fits(&f->planes[i], f->format, i, w, h))
			return VV_CODEC_ERR_INVALID_DATA;
	if (av_frame_make_writable(dst) < 0)
		return VV_CODEC_ERR_NOMEM;
	copy_rows(dst->data[0], dst->linesize[0], f->planes[0].data, f->planes[0].stride, w, h);
	if (dst->format == AV_PIX_FMT_NV12 && nv12_in) {
		copy_rows(dst->data[1], dst->linesize[1], f->planes[1].data, f->planes[1].stride,
			  2 * cw, ch);
		return VV_CODEC_OK;
	}
	if (dst->format == AV_PIX_FMT_YUV420P && !nv12_in) {
		copy_rows(dst->data[1], dst->linesize[1], f->planes[1].data, f->planes[1].stride, cw, ch);
		copy_rows(dst->data[2], dst->linesize[2], f->planes[2].data, f->planes[2].stride, cw, ch);
		return VV_CODEC_OK;
	}
	for (uint32_t y = 0; y < ch; y++) {
		if (nv12_in) {
			const uint8_t *uv = f->planes[1].data + (size_t)y * f->planes[1].stride;
			uint8_t *u = dst->data[1] + (ptrdiff_t)y * dst->linesize[1];
			uint8_t *v = dst->data[2] + (ptrdiff_t)y * dst->linesize[2];

			for (uint32_t x = 0; x < cw; x++) {
				u[x] = uv[2 * x];
				v[x] = uv[2 * x + 1];
			}
		} else {
			const uint8_t *u = f->planes[1].data + (size_t)y * f->planes[1].stride;
			const uint8_t *v = f->planes[2].data + (size_t)y * f->planes[2].stride;
			uint8_t *uv = dst->data[1] + (ptrdiff_t)y * dst->linesize[1];

			for (uint32_t x = 0; x < cw; x++) {
				uv[2 * x] = u[x];
				uv[2 * x + 1] = v[x];
			}
		}
	}
	return VV_CODEC_OK;
}

/* VA-API: the loaded frame into a surface of the encoder's frames context. */
static AVFrame *upload_frame(struct vv_encoder *e)
{
	int ret;

	av_frame_unref(e->hw_frame);
	ret = av_hwframe_get_buffer(e->ctx->hw_frames_ctx, e->hw_frame, 0);
	if (ret >= 0)
		ret = av_hwframe_transfer_data(e->hw_frame, e->frame, 0);
	if (ret < 0) {
		fprintf(stderr, "vv-ffmpeg: %s: frame upload failed (%d)\n", e->name, ret);
		return NULL;
	}
	e->hw_frame->pts = e->frame->pts;
	e->hw_frame->pict_type = e->frame->pict_type;
	return e->hw_frame;
}

static int ff_enc_encode(struct vv_encoder *e, const struct vv_frame *f)
{
	AVFrame *in;
	int ret;

	if (e->flushed)
		return VV_CODEC_ERR_UNSUPPORTED;
	ret = load_frame(e, f);
	if (ret < 0)
		return ret;
	e->frame->pts = e->next_pts++;
	e->frame->pict_type = f->force_keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	e->ts[e->frame->pts % TS_RING] = f->timestamp;
	in = e->kind == ENC_VAAPI ? upload_frame(e) : e->frame;
	if (!in)
		return VV_CODEC_ERR_UNSUPPORTED;
	ret = avcodec_send_frame(e->ctx, in);
	if (ret < 0) {
		fprintf(stderr, "vv-ffmpeg: %s: send_frame failed (%d)\n", e->name, ret);
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
