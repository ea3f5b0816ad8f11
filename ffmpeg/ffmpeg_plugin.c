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
 *
 * mode=async (the default) makes the plugin asynchronous (codec.h event_fd):
 * each decoder has a worker thread that runs the parser and
 * avcodec_send_packet/receive_frame. decode() copies the buffer into the
 * worker's input queue (bounded: while 32 buffers or 32 MiB wait there it
 * returns VV_CODEC_AGAIN) and returns; pictures, errors found late
 * and the end of a drain go to an output list and the decoder's eventfd is
 * signalled. reset() drops the queued input, stops the worker between two
 * packets, has it flush the codec and the parser, and drops what it made,
 * before it returns. mode=sync decodes inside decode()/flush(), as before.
 *
 * Backpressure, both modes: the codec is fed only while fewer than
 * MAX_HELD_PICTURES decoded pictures wait for receive(). The async worker
 * waits for room; in sync mode the rest of the buffer is kept (a padded
 * copy) and decoded from receive() as pictures are taken, and decode()
 * answers VV_CODEC_AGAIN until it is consumed. One small buffer of many
 * skipped 1080p frames thus holds a few frames, not all of them.
 *
 * input=au says every bitstream buffer holds one whole access unit (V4L2's
 * H264/HEVC "one access unit per buffer" contract, a low-latency client):
 * the parser then ends the picture at the end of the buffer
 * (PARSER_FLAG_COMPLETE_FRAMES) instead of holding it until the next
 * picture's first bytes arrive, and the codec is opened with
 * AV_CODEC_FLAG_LOW_DELAY (slice threads, not frame threads, which hold
 * thread_count - 1 pictures), so one buffer in flight gives its picture.
 * input=stream (the default) takes arbitrary chunks of a byte stream.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../host/codec.h"
#include "../host/codec_profiles.h"
#include "../host/frame_layout.h"
#include "../include/virtio_video.h"
#include "ffmpeg_enc.h"
#include "ffmpeg_hw.h"

/* What receive() hands out next: a picture (frame) or a status (no frame). */
struct out_entry {
	AVFrame *frame;
	int status;		/* VV_CODEC_DRAINED or a vv_codec_status */
};

/* One queued bitstream buffer (async); eos: flush() */
struct in_item {
	struct in_item *next;
	int64_t timestamp;
	bool eos;
	size_t size;
	uint8_t data[];
};

struct vv_decoder {
	AVCodecContext *ctx;
	AVCodecParserContext *parser;
	enum AVCodecID codec_id;
	AVPacket *pkt;
	struct out_entry *out;	/* decoded, not yet taken: FIFO (async: under lock) */
	unsigned int first, count, cap;
	bool drained;		/* flushed to EOF: reset before new input */
	bool drain_report;	/* receive() owes VV_CODEC_DRAINED */
	bool hw_logged;		/* the stream's decode path was logged */
	int64_t last_timestamp;	/* of the latest bitstream buffer */
	enum AVPixelFormat hw_format;	/* AV_PIX_FMT_NONE: software decode */
	struct SwsContext *sws;

	/* mode=async; everything above the codec state belongs to the worker */
	bool async;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t work;	/* worker: input, a reset or quit */
	pthread_cond_t done;	/* decode(): room; reset(): acknowledged */
	struct in_item *in_head, *in_tail;
	unsigned int in_count;
	size_t in_bytes;
	unsigned int reset_req, reset_ack;	/* reset() asked / the worker did it */
	atomic_bool abort;	/* a reset waits: stop the current buffer */
	bool quit;
	int efd;		/* eventfd: readable while receive() may return something */
	uint32_t info_width, info_height;	/* stream_info(), under lock */
	int parsed_width, parsed_height;	/* the worker's last published size */
	pthread_cond_t room;	/* worker: a picture was taken, a reset or quit */
	bool refused;		/* decode() answered VV_CODEC_AGAIN: signal room */

	/* mode=sync: the part of the last buffer not decoded yet (padded) */
	uint8_t *rest;
	size_t rest_cap, rest_off, rest_len;
	int64_t rest_ts;
	bool flush_pending;	/* flush() came while rest was left */
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
static bool async_mode = true;
/* input=au: one whole access unit per buffer (no waiting for the next one) */
static bool input_au;
/* async: input a decoder queues before decode() waits for its worker */
#define MAX_QUEUED_BUFFERS 32
static size_t max_queued_bytes = 32u << 20;	/* codec.h max_input_bytes */
/* Decoded pictures not yet received before the codec is fed no more. */
#define MAX_HELD_PICTURES 8
/* async: workers inside a buffer now, and the most at once (logged at fini) */
static atomic_int busy_now, busy_max;
static atomic_uint async_decoders;
/* caps.impl[] of each coded format (indexes of coded_formats). */
static char impl_text[NUM_CODED][160];

/* The codec's hwaccel pixel format on the open device, or AV_PIX_FMT_NONE. */
static enum AVPixelFormat hw_pix_fmt(const AVCodec *codec)
{
	for (int i = 0; ff_hw_device; i++) {
		const AVCodecHWConfig *config = avcodec_get_hw_config(codec, i);

		if (!config)
			break;
		if ((config->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
		    config->device_type == ff_hw_type)
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
				 av_hwdevice_get_type_name(ff_hw_type));
		else if (ff_hw_device)
			snprintf(impl_text[i], sizeof(impl_text[i]),
				 "libavcodec %s, software (no %s hwaccel for this codec)", name,
				 av_hwdevice_get_type_name(ff_hw_type));
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
	if (options->max_input_bytes)
		max_queued_bytes = options->max_input_bytes;
	av_log_set_level(AV_LOG_ERROR);
	for (unsigned int i = 0; i < options->num_backend_opts; i++) {
		const char *opt = options->backend_opts[i];

		if (!strncmp(opt, "hwaccel=", 8)) {
			hwaccel = opt + 8;
		} else if (!strncmp(opt, "device=", 7) && opt[7]) {
			device = opt + 7;
		} else if (!strcmp(opt, "mode=async") || !strcmp(opt, "mode=sync")) {
			async_mode = !strcmp(opt, "mode=async");
		} else if (!strcmp(opt, "input=au") || !strcmp(opt, "input=stream")) {
			input_au = !strcmp(opt, "input=au");
		} else {
			fprintf(stderr, "vv-ffmpeg: unknown option '%s' (known: hwaccel=auto|none|"
				"cuda|vaapi|vdpau|drm|qsv, device=PATH, mode=async|sync, "
				"input=stream|au)\n", opt);
			return -1;
		}
	}
	if (ff_hw_open(hwaccel, device) < 0)
		return -1;
	if (hwaccel && !strcmp(hwaccel, "none"))
		hwaccel = NULL;
	/* The daemon's log tells which path decodes. */
	if (ff_hw_device)
		fprintf(stderr, "vv-ffmpeg: hardware decoding with %s\n",
			av_hwdevice_get_type_name(ff_hw_type));
	else if (hwaccel)
		fprintf(stderr, "vv-ffmpeg: no usable %s device: software decoding\n", hwaccel);
	describe_codecs(hwaccel);
	return ff_encoder_init(hwaccel, device, options->threads);
}

static void ff_fini(void)
{
	if (atomic_load(&async_decoders))
		fprintf(stderr, "vv-ffmpeg: asynchronous decoding: %u decoder(s), at most %d "
			"decoding at once\n", atomic_load(&async_decoders), atomic_load(&busy_max));
	ff_encoder_fini();
	ff_hw_close();
}

static void ff_get_caps(struct vv_codec_caps *caps)
{
	struct vv_codec_role_caps *dec = &caps->decoder;

	memset(caps, 0, sizeof(*caps));
	for (size_t i = 0; i < NUM_CODED && dec->num_coded < VV_CODEC_MAX_FORMATS; i++) {
		struct vv_codec_format *f = &dec->coded[dec->num_coded];

		if (!avcodec_find_decoder(coded_formats[i].id))
			continue;
		*f = (struct vv_codec_format){
			.format = coded_formats[i].format,
			.impl = impl_text[i][0] ? impl_text[i] : NULL,
			.min_width = 16, .max_width = 4096, .min_height = 16, .max_height = 4096,
			.min_fps = 1, .max_fps = 120,
		};
		/*
		 * The profiles the decoder takes and write() can serve: 8-bit 4:2:0
		 * (High 10, 4:2:2, Main 10, VP9 profiles 1-3 decode to formats we
		 * do not write).
		 */
		vv_codec_profiles(f, VV_PROFILES_H264_EXTENDED | VV_PROFILES_HEVC_STILL |
				     VV_PROFILES_VP8_ALL);
		dec->num_coded++;
	}
	dec->raw[dec->num_raw++] = VIRTIO_VIDEO_FORMAT_NV12;
	dec->raw[dec->num_raw++] = VIRTIO_VIDEO_FORMAT_YUV420;
	dec->raw[dec->num_raw++] = VIRTIO_VIDEO_FORMAT_YVU420;
	dec->raw[dec->num_raw++] = VIRTIO_VIDEO_FORMAT_BGRA8888;
	dec->raw[dec->num_raw++] = VIRTIO_VIDEO_FORMAT_ARGB8888;
	ff_encoder_caps(&caps->encoder);
}

static void out_clear(struct vv_decoder *d)
{
	while (d->count) {
		av_frame_free(&d->out[d->first].frame);
		d->first = (d->first + 1) % d->cap;
		d->count--;
	}
}

static bool out_push(struct vv_decoder *d, AVFrame *f, int status)
{
	if (d->count == d->cap) {
		unsigned int cap = d->cap ? d->cap * 2 : 16;
		struct out_entry *n = calloc(cap, sizeof(*n));

		if (!n)
			return false;
		for (unsigned int i = 0; i < d->count; i++)
			n[i] = d->out[(d->first + i) % d->cap];
		free(d->out);
		d->out = n;
		d->cap = cap;
		d->first = 0;
	}
	d->out[(d->first + d->count) % d->cap] = (struct out_entry){ f, status };
	d->count++;
	return true;
}

static void signal_event(struct vv_decoder *d)
{
	uint64_t one = 1;

	if (write(d->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("vv-ffmpeg: eventfd");
}

static void clear_event(struct vv_decoder *d)
{
	uint64_t n;

	if (read(d->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		perror("vv-ffmpeg: eventfd");
}

/* Worker: true while no reset() waits (caller holds the lock). */
static bool current(const struct vv_decoder *d)
{
	return d->reset_req == d->reset_ack;
}

/*
 * Worker: a status for receive(), after the pictures made before it. Repeated
 * INVALID_DATA not yet taken is one report ("input since the last call").
 */
static void report_status(struct vv_decoder *d, int status)
{
	bool ok = true;

	pthread_mutex_lock(&d->lock);
	if (current(d) && !(status == VV_CODEC_ERR_INVALID_DATA && d->count &&
			    d->out[(d->first + d->count - 1) % d->cap].status == status)) {
		ok = out_push(d, NULL, status);
		signal_event(d);
	}
	pthread_mutex_unlock(&d->lock);
	if (!ok)
		fprintf(stderr, "vv-ffmpeg: out of memory for a decoder status\n");
}

static AVFrame *download(AVFrame *f);

/* A decoded frame: into the FIFO (sync), or to receive() through the lock. */
static bool emit_frame(struct vv_decoder *d, AVFrame *f)
{
	bool ok = true;

	if (!d->async)
		return out_push(d, f, 1);
	/* Hardware surfaces go back to the decoder's pool right away. */
	if (f->format == d->hw_format && d->hw_format != AV_PIX_FMT_NONE) {
		f = download(f);
		if (!f)
			return false;
	}
	pthread_mutex_lock(&d->lock);
	/* Backpressure: no more decoding while receive() has enough to take. */
	while (current(d) && !d->quit && d->count >= MAX_HELD_PICTURES)
		pthread_cond_wait(&d->room, &d->lock);
	if (current(d) && !d->quit) {
		ok = out_push(d, f, 1);
		if (ok) {
			f = NULL;
			signal_event(d);
		}
	}
	pthread_mutex_unlock(&d->lock);
	av_frame_free(&f);
	return ok;
}

/* Worker: the parser found the stream's size; stream_info() may tell it. */
static void publish_info(struct vv_decoder *d)
{
	AVCodecParserContext *p = d->parser;

	if (!d->async || !p || (p->width == d->parsed_width && p->height == d->parsed_height))
		return;
	d->parsed_width = p->width;
	d->parsed_height = p->height;
	pthread_mutex_lock(&d->lock);
	if (current(d)) {
		d->info_width = p->width > 0 && p->height > 0 ? (uint32_t)p->width : 0;
		d->info_height = p->width > 0 && p->height > 0 ? (uint32_t)p->height : 0;
		signal_event(d);
	}
	pthread_mutex_unlock(&d->lock);
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
					ctx->codec->name, av_hwdevice_get_type_name(ff_hw_type));
			return *f;
		}
	}
	/* The hardware cannot do this stream (profile, size): software. */
	fprintf(stderr, "vv-ffmpeg: %s stream: %s refused it (%dx%d %s): software fallback\n",
		ctx->codec->name, av_hwdevice_get_type_name(ff_hw_type), ctx->coded_width,
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
	d->ctx->hw_device_ctx = av_buffer_ref(ff_hw_device);
	d->ctx->opaque = d;
	d->ctx->get_format = pick_format;
}

static AVCodecParserContext *new_parser(enum AVCodecID id)
{
	AVCodecParserContext *p = av_parser_init(id);

	if (p && input_au)
		p->flags |= PARSER_FLAG_COMPLETE_FRAMES;
	return p;
}

static int open_codec(struct vv_decoder *d)
{
	const AVCodec *codec = avcodec_find_decoder(d->codec_id);

	if (!codec)
		return VV_CODEC_ERR_UNSUPPORTED;
	d->ctx = avcodec_alloc_context3(codec);
	d->parser = new_parser(d->codec_id);
	if (!d->ctx || !d->parser)
		return VV_CODEC_ERR_NOMEM;
	d->ctx->thread_count = thread_count;
	if (input_au)
		d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	d->hw_format = AV_PIX_FMT_NONE;
	if (ff_hw_device)
		use_hw_device(d, codec);
	if (avcodec_open2(d->ctx, codec, NULL) < 0)
		return VV_CODEC_ERR_UNSUPPORTED;
	return VV_CODEC_OK;
}

static void in_clear(struct vv_decoder *d)
{
	while (d->in_head) {
		struct in_item *i = d->in_head;

		d->in_head = i->next;
		free(i);
	}
	d->in_tail = NULL;
	d->in_count = 0;
	d->in_bytes = 0;
}

static void ff_decoder_destroy(struct vv_decoder *d)
{
	if (!d)
		return;
	if (d->thread_started) {
		pthread_mutex_lock(&d->lock);
		d->quit = true;
		atomic_store(&d->abort, true);
		pthread_cond_signal(&d->work);
		pthread_cond_broadcast(&d->room);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->thread, NULL);
	}
	if (d->async) {
		in_clear(d);
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->work);
		pthread_cond_destroy(&d->done);
		pthread_cond_destroy(&d->room);
		if (d->efd >= 0)
			close(d->efd);
	}
	out_clear(d);
	free(d->out);
	av_parser_close(d->parser);
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	free(d->rest);
	sws_freeContext(d->sws);
	free(d);
}

static void *worker(void *arg);

/* mode=async: the lock, the eventfd and the worker thread. */
static int start_worker(struct vv_decoder *d)
{
	d->efd = -1;
	if (pthread_mutex_init(&d->lock, NULL))
		return VV_CODEC_ERR_NOMEM;
	if (pthread_cond_init(&d->work, NULL)) {
		pthread_mutex_destroy(&d->lock);
		return VV_CODEC_ERR_NOMEM;
	}
	if (pthread_cond_init(&d->done, NULL)) {
		pthread_cond_destroy(&d->work);
		pthread_mutex_destroy(&d->lock);
		return VV_CODEC_ERR_NOMEM;
	}
	if (pthread_cond_init(&d->room, NULL)) {
		pthread_cond_destroy(&d->done);
		pthread_cond_destroy(&d->work);
		pthread_mutex_destroy(&d->lock);
		return VV_CODEC_ERR_NOMEM;
	}
	d->async = true;
	d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->efd < 0)
		return VV_CODEC_ERR_NOMEM;
	if (pthread_create(&d->thread, NULL, worker, d))
		return VV_CODEC_ERR_NOMEM;
	d->thread_started = true;
	atomic_fetch_add(&async_decoders, 1);
	return VV_CODEC_OK;
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
		if (ret == VV_CODEC_OK && async_mode)
			ret = start_worker(d);
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
		if (!emit_frame(d, f))
			return VV_CODEC_ERR_NOMEM;
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
	d->parser = new_parser(d->codec_id);
	d->drained = false;
	d->drain_report = false;
	d->parsed_width = d->parsed_height = 0;
}

/*
 * Parses and decodes size bytes; *consumed says how many were taken (sync
 * mode stops early while MAX_HELD_PICTURES wait for receive()).
 */
static int parse_chunk(struct vv_decoder *d, const uint8_t *data, int size, int64_t ts,
		       int *consumed)
{
	int status = VV_CODEC_OK, total = size;

	*consumed = 0;
	do {
		uint8_t *out;
		int out_size, used, ret;

		if (atomic_load_explicit(&d->abort, memory_order_relaxed))
			return VV_CODEC_OK;	/* async: a reset() waits */
		if (!d->async && size > 0 && d->count >= MAX_HELD_PICTURES)
			return status;	/* sync: receive() goes on from here */
		used = av_parser_parse2(d->parser, d->ctx, &out, &out_size, data, size, ts, ts, 0);
		if (used < 0 || (used == 0 && !out_size && size > 0)) {
			*consumed = total;	/* the rest of the chunk is skipped */
			return VV_CODEC_ERR_INVALID_DATA;
		}
		publish_info(d);
		data += used;
		size -= used;
		*consumed = total - size;
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
 * Parses and decodes one contiguous, padded bitstream buffer (sync: the
 * buffer's copy; async: the worker's item); *consumed falls short of left
 * when sync mode holds MAX_HELD_PICTURES or a reset() waits.
 */
static int decode_bytes(struct vv_decoder *d, const uint8_t *p, size_t left, uint64_t timestamp,
			size_t *consumed)
{
	int status = VV_CODEC_OK;

	*consumed = 0;
	if (d->drained)
		restart(d);
	if (!d->parser)
		return VV_CODEC_ERR_NOMEM;
	if (!left)
		return VV_CODEC_OK;
	d->last_timestamp = (int64_t)timestamp;
	while (left) {
		int chunk = left > (1u << 30) ? 1 << 30 : (int)left, used;
		int ret = parse_chunk(d, p, chunk, (int64_t)timestamp, &used);

		if (ret == VV_CODEC_ERR_NOMEM)
			return ret;
		if (ret < 0)
			status = ret;
		*consumed += (size_t)used;
		if (used < chunk)
			return status;
		p += chunk;
		left -= (size_t)chunk;
	}
	return status;
}

/* The codec to end of stream: every picture out (sync: flush(); async: worker). */
static int drain_codec(struct vv_decoder *d)
{
	int ret;

	if (d->drained)
		return VV_CODEC_OK;
	if (d->parser) {
		int used;

		ret = parse_chunk(d, NULL, 0, AV_NOPTS_VALUE, &used);
		if (ret == VV_CODEC_ERR_NOMEM)
			return ret;
	}
	ret = send_packet(d, NULL);
	d->drained = true;
	return ret == VV_CODEC_ERR_NOMEM ? ret : VV_CODEC_OK;
}

static void busy(bool enter)
{
	int n, max;

	if (!enter) {
		atomic_fetch_sub(&busy_now, 1);
		return;
	}
	n = atomic_fetch_add(&busy_now, 1) + 1;
	max = atomic_load(&busy_max);
	while (n > max && !atomic_compare_exchange_weak(&busy_max, &max, n))
		;
}

/*
 * The decoder's thread (mode=async): takes queued buffers in order and
 * decodes them; a reset() request is served between buffers (the current
 * one stops at its next packet), quit ends the thread.
 */
static void *worker(void *arg)
{
	struct vv_decoder *d = arg;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct in_item *item;
		size_t used;
		int ret;

		if (!current(d)) {
			pthread_mutex_unlock(&d->lock);
			restart(d);
			atomic_store(&d->abort, false);
			pthread_mutex_lock(&d->lock);
			d->reset_ack = d->reset_req;
			pthread_cond_broadcast(&d->done);
			continue;
		}
		if (d->quit)
			break;
		item = d->in_head;
		if (!item) {
			pthread_cond_wait(&d->work, &d->lock);
			continue;
		}
		d->in_head = item->next;
		if (!d->in_head)
			d->in_tail = NULL;
		d->in_count--;
		d->in_bytes -= item->size;
		pthread_cond_broadcast(&d->done);

		/* decode() was turned away for want of room: it may come again. */
		if (d->refused) {
			d->refused = false;
			signal_event(d);
		}
		pthread_mutex_unlock(&d->lock);

		busy(true);
		ret = item->eos ? drain_codec(d) :
		      decode_bytes(d, item->data, item->size, (uint64_t)item->timestamp, &used);
		busy(false);
		if (ret < 0)
			report_status(d, ret);
		if (item->eos && ret != VV_CODEC_ERR_NOMEM)
			report_status(d, VV_CODEC_DRAINED);
		free(item);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* async: hands a buffer (or the end of stream) to the worker. */
static int queue_input(struct vv_decoder *d, const struct iovec *iov, unsigned int iovcnt,
		       uint64_t timestamp, bool eos)
{
	size_t total = 0, off = 0;
	struct in_item *item;

	for (unsigned int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (!eos && !total)
		return VV_CODEC_OK;
	/*
	 * Bounded: while the queue is full the daemon keeps the buffer and
	 * comes back when the worker took one (it signals the eventfd). Only
	 * the daemon's thread adds items, so the room found here stays.
	 */
	pthread_mutex_lock(&d->lock);
	if (!eos && d->in_count && (d->in_count >= MAX_QUEUED_BUFFERS ||
				    d->in_bytes + total > max_queued_bytes)) {
		d->refused = true;
		pthread_mutex_unlock(&d->lock);
		return VV_CODEC_AGAIN;
	}
	pthread_mutex_unlock(&d->lock);
	/* libavcodec's parsers read AV_INPUT_BUFFER_PADDING_SIZE past the end. */
	item = malloc(sizeof(*item) + total + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!item)
		return VV_CODEC_ERR_NOMEM;
	memset(item->data + total, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	item->next = NULL;
	item->timestamp = (int64_t)timestamp;
	item->eos = eos;
	item->size = total;
	for (unsigned int i = 0; i < iovcnt; i++) {
		memcpy(item->data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	pthread_mutex_lock(&d->lock);
	if (d->in_tail)
		d->in_tail->next = item;
	else
		d->in_head = item;
	d->in_tail = item;
	d->in_count++;
	d->in_bytes += total;
	pthread_cond_signal(&d->work);
	pthread_mutex_unlock(&d->lock);
	return VV_CODEC_OK;
}

/*
 * sync: decodes what is left of the last buffer while fewer than
 * MAX_HELD_PICTURES wait, then a flush() that came meanwhile.
 */
static int sync_continue(struct vv_decoder *d)
{
	int ret = VV_CODEC_OK;
	size_t used;

	if (d->rest_off < d->rest_len) {
		ret = decode_bytes(d, d->rest + d->rest_off, d->rest_len - d->rest_off,
				   (uint64_t)d->rest_ts, &used);
		d->rest_off = ret == VV_CODEC_ERR_NOMEM ? d->rest_len : d->rest_off + used;
	}
	if (d->rest_off < d->rest_len)
		return ret;
	d->rest_off = d->rest_len = 0;
	if (d->flush_pending && ret != VV_CODEC_ERR_NOMEM) {
		d->flush_pending = false;
		if (drain_codec(d) == VV_CODEC_ERR_NOMEM)
			ret = VV_CODEC_ERR_NOMEM;
	}
	return ret;
}

static int ff_decode(struct vv_decoder *d, const struct iovec *iov, unsigned int iovcnt,
		     uint64_t timestamp)
{
	size_t size = 0, off = 0;

	if (d->async)
		return queue_input(d, iov, iovcnt, timestamp, false);
	/* The last buffer is not all decoded: receive() goes on with it first. */
	if (d->rest_len || d->flush_pending)
		return VV_CODEC_AGAIN;
	for (unsigned int i = 0; i < iovcnt; i++)
		size += iov[i].iov_len;
	if (!size)
		return decode_bytes(d, NULL, 0, timestamp, &off);
	/*
	 * A copy, padded as libavcodec's parsers want (they read past the
	 * end): guest memory may change under the parser, and the part not
	 * decoded yet stays here until receive() made room.
	 */
	if (size + AV_INPUT_BUFFER_PADDING_SIZE > d->rest_cap) {
		uint8_t *r = realloc(d->rest, size + AV_INPUT_BUFFER_PADDING_SIZE);

		if (!r)
			return VV_CODEC_ERR_NOMEM;
		d->rest = r;
		d->rest_cap = size + AV_INPUT_BUFFER_PADDING_SIZE;
	}
	for (unsigned int i = 0; i < iovcnt; i++) {
		memcpy(d->rest + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	memset(d->rest + size, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	d->rest_off = 0;
	d->rest_len = size;
	d->rest_ts = (int64_t)timestamp;
	return sync_continue(d);
}

static int ff_flush(struct vv_decoder *d)
{
	if (d->async)
		return queue_input(d, NULL, 0, 0, true);
	d->drain_report = true;
	if (d->rest_len) {
		d->flush_pending = true;
		return VV_CODEC_OK;
	}
	return drain_codec(d);
}

static void ff_reset(struct vv_decoder *d)
{
	if (!d->async) {
		out_clear(d);
		restart(d);
		d->rest_off = d->rest_len = 0;
		d->flush_pending = false;
		return;
	}
	pthread_mutex_lock(&d->lock);
	in_clear(d);
	d->reset_req++;
	atomic_store(&d->abort, true);
	pthread_cond_signal(&d->work);
	pthread_cond_broadcast(&d->room);
	while (!current(d))
		pthread_cond_wait(&d->done, &d->lock);
	out_clear(d);
	d->info_width = d->info_height = 0;
	pthread_mutex_unlock(&d->lock);
	clear_event(d);
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

/* async: the next entry of the output list, or none (0). */
static int take_async(struct vv_decoder *d, struct out_entry *e)
{
	bool more;

	/* Cleared before looking, so a picture pushed meanwhile signals again. */
	clear_event(d);
	pthread_mutex_lock(&d->lock);
	if (!d->count) {
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	*e = d->out[d->first];
	d->first = (d->first + 1) % d->cap;
	d->count--;
	more = d->count > 0;
	pthread_cond_signal(&d->room);
	pthread_mutex_unlock(&d->lock);
	/* The daemon may stop before the list is empty: readable for the rest. */
	if (more)
		signal_event(d);
	return 1;
}

static int ff_receive(struct vv_decoder *d, struct vv_picture *pic)
{
	struct out_entry e;
	AVFrame *f;

	if (d->async) {
		if (!take_async(d, &e))
			return 0;
		if (!e.frame)
			return e.status;
	} else {
		/* Synchronous: the rest of the last buffer decodes as room is made. */
		while (!d->count) {
			int ret;

			if (!d->rest_len && !d->flush_pending) {
				/* After flush() every picture came out. */
				if (!d->drain_report)
					return 0;
				d->drain_report = false;
				return VV_CODEC_DRAINED;
			}
			ret = sync_continue(d);
			if (ret < 0 && !d->count)
				return ret;
		}
		e = d->out[d->first];
		d->first = (d->first + 1) % d->cap;
		d->count--;
	}
	f = e.frame;
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

/* Every plane of the format holds a w x h picture (frame_layout.h's rules). */
static bool planes_fit(const struct vv_plane *planes, unsigned int num_planes, uint32_t format,
		       uint32_t w, uint32_t h)
{
	if (num_planes != vv_layout_num_planes(format))
		return false;
	for (unsigned int i = 0; i < num_planes; i++)
		if (!vv_layout_plane_fits(&planes[i], format, i, w, h))
			return false;
	return true;
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

		if (!planes_fit(planes, num_planes, format, w, h))
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
		if (!planes_fit(planes, num_planes, format, w, h))
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
		if (!planes_fit(planes, num_planes, format, w, h))
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
	if (d->async) {
		int known;

		pthread_mutex_lock(&d->lock);
		known = d->info_width && d->info_height;
		if (known) {
			*width = d->info_width;
			*height = d->info_height;
		}
		pthread_mutex_unlock(&d->lock);
		return known;
	}
	if (!d->parser || d->parser->width <= 0 || d->parser->height <= 0)
		return 0;
	*width = (uint32_t)d->parser->width;
	*height = (uint32_t)d->parser->height;
	return 1;
}

/* mode=async: the worker's eventfd; mode=sync: none (synchronous plugin). */
static int ff_event_fd(struct vv_decoder *d)
{
	return d->async ? d->efd : -1;
}

static const struct vv_decoder_ops ff_decoder_ops = {
	.create = ff_decoder_create,
	.destroy = ff_decoder_destroy,
	.decode = ff_decode,
	.flush = ff_flush,
	.reset = ff_reset,
	.receive = ff_receive,
	.write = ff_write,
	.release = ff_release,
	.stream_info = ff_stream_info,
	.event_fd = ff_event_fd,
};

__attribute__((visibility("default"))) const struct vv_codec_ops vv_codec_plugin = {
	.abi_version = VV_CODEC_ABI_VERSION,
	.name = "ffmpeg",
	.init = ff_init,
	.fini = ff_fini,
	.get_caps = ff_get_caps,
	.decoder = &ff_decoder_ops,
	.encoder = &ff_encoder_ops,
};
