// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * GStreamer codec plugin (vv-gstreamer.so). One pipeline per stream:
 *
 *   appsrc ! PARSER ! DECODER ! appsink (video/x-raw, I420 | YV12 | NV12)
 *
 * PARSER is h264parse, h265parse or vp9parse (VP8 has none); DECODER is the
 * highest-ranked installed video decoder that takes the codec's caps and
 * reaches PLAYING, or the element named by --backend-opt decoder=.
 *
 * Asynchronous (codec.h, ABI 6): decode() copies the bitstream into a
 * GstBuffer (PTS = timestamp) and pushes it (VV_CODEC_AGAIN while appsrc
 * holds 32 buffers or 32 MiB: need-data signals the eventfd); the streaming thread decodes;
 * appsink callbacks, caps and bus messages signal an eventfd and receive()
 * pulls what is there without blocking. flush() is EOS (receive() says
 * VV_CODEC_DRAINED once EOS reached appsink), reset() a flush (FLUSH_START +
 * FLUSH_STOP from appsrc through the whole pipeline: queued bitstream and
 * pictures dropped, EOS cleared, parameter sets kept).
 *
 * Options (--backend-opt):
 *   decoder=ELEMENT         use ELEMENT for every codec whose caps it takes
 *   decoder=CODEC:ELEMENT   ... for one codec (h264, hevc, vp8, vp9)
 *   encoder=[CODEC:]ELEMENT the same for the encoder (gst_enc.c)
 *   input=au|stream         au: every H.264/HEVC buffer is one whole access
 *                           unit (appsrc caps alignment=au, so the parser
 *                           ends it at the buffer's end; avdec_* slice
 *                           threads, not frame threads): one buffer in
 *                           flight gives its picture. stream (default):
 *                           arbitrary byte-stream chunks.
 * An unknown key, element or codec is refused at init().
 */
#define _GNU_SOURCE
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <errno.h>
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
#include "gst_common.h"

/* Pictures appsink holds before the streaming thread waits for receive(). */
#define SINK_MAX_BUFFERS 8
/* Bitstream appsrc holds before decode() answers VV_CODEC_AGAIN. */
#define SRC_MAX_BUFFERS 32
static size_t src_max_bytes = 32u << 20;	/* codec.h max_input_bytes */

#define NUM_CODECS GS_NUM_CODECS

static bool decoder_takes(GstElementFactory *f, const struct gs_codec *c);

/* Per codec: the decoders to try, best first. */
static struct gs_choice dec_list[NUM_CODECS];
static const struct gs_role dec_role = {
	.key = "decoder", .verb = "decode", .type = GST_ELEMENT_FACTORY_TYPE_DECODER,
	.takes = decoder_takes, .choice = dec_list,
};

static bool gst_ready;
/* names the reference timestamp meta that carries the guest's timestamp */
static GstCaps *ts_caps;

struct vv_decoder {
	const struct gs_codec *codec;
	GstElement *pipeline, *src, *parser, *dec, *sink;
	int efd;

	GMutex lock;		/* what the streaming threads report: */
	unsigned int warnings;	/* corrupt input since the last receive() */
	bool stopped;		/* an error stopped the stream: restart */
	bool fatal;		/* ... and it cannot go on (format, negotiation) */
	bool eos;		/* EOS reached appsink */
	bool refused;		/* decode() said VV_CODEC_AGAIN: need-data signals */
	uint32_t info_width, info_height;	/* from the parser's caps */
	struct ts_entry {
		uint64_t offset, timestamp;
	} *ts;			/* input buffers not yet all parsed: FIFO */
	unsigned int ts_first, ts_count, ts_cap;

	/* daemon thread only */
	bool pushed;		/* bitstream since the last (re)start */
	bool eos_sent;		/* EOS pushed: restart before new input */
	bool drain_owed;	/* receive() owes VV_CODEC_DRAINED */
	bool fatal_logged;
	uint32_t vp8_width, vp8_height;
	uint64_t in_offset;	/* bytes fed so far (GST_BUFFER_OFFSET) */

	/* write(): the cached RGB converter and what it was made for */
	GstVideoConverter *conv;
	GstVideoInfo conv_in, conv_out;
};

/* ---- options and decoder choice ---- */

static bool decoder_takes(GstElementFactory *f, const struct gs_codec *c)
{
	GstCaps *caps = gst_caps_from_string(c->dec_caps);
	GstCaps *raw = gst_caps_from_string("video/x-raw");
	bool ok = gst_element_factory_can_sink_any_caps(f, caps) &&
		  gst_element_factory_can_src_any_caps(f, raw);

	gst_caps_unref(caps);
	gst_caps_unref(raw);
	return ok;
}

static void gs_fini(void);
/* input=au: one whole access unit per H.264/HEVC buffer */
static bool input_au;

static int gs_init(const struct vv_codec_options *options)
{
	GError *err = NULL;

	gs_threads = options->threads;
	if (options->max_input_bytes)
		src_max_bytes = options->max_input_bytes;
	if (options->hwaccel && strcmp(options->hwaccel, "none") &&
	    strcmp(options->hwaccel, "auto")) {
		fprintf(stderr, TAG "hwaccel=%s: not a GStreamer option; pick a hardware decoder "
			"with decoder=ELEMENT (e.g. vah264dec, nvh264dec)\n", options->hwaccel);
		return -1;
	}
	if (!gst_init_check(NULL, NULL, &err)) {
		fprintf(stderr, TAG "cannot initialise GStreamer: %s\n",
			err ? err->message : "unknown error");
		g_clear_error(&err);
		return -1;
	}
	gst_ready = true;
	ts_caps = gst_caps_new_empty_simple("timestamp/x-virtio-video");
	for (unsigned int i = 0; i < options->num_backend_opts; i++) {
		const char *opt = options->backend_opts[i];

		if (!strncmp(opt, "decoder=", 8)) {
			if (gs_choice_option(&dec_role, opt + 8) < 0)
				goto fail;
		} else if (!strncmp(opt, "encoder=", 8)) {
			if (gs_choice_option(&gs_enc_role, opt + 8) < 0)
				goto fail;
		} else if (!strcmp(opt, "input=au") || !strcmp(opt, "input=stream")) {
			input_au = !strcmp(opt, "input=au");
		} else if (!strncmp(opt, "hwaccel=", 8) &&
			   (!strcmp(opt + 8, "none") || !strcmp(opt + 8, "auto"))) {
			/* ranks already put hardware codecs first */
		} else {
			fprintf(stderr, TAG "unknown option '%s' (known: decoder=[CODEC:]ELEMENT, "
				"encoder=[CODEC:]ELEMENT, CODEC one of h264, hevc, vp8, vp9, "
				"input=stream|au)\n", opt);
			goto fail;
		}
	}
	gs_choice_init(&dec_role);
	gs_choice_init(&gs_enc_role);
	return 0;
fail:
	gs_fini();
	return -1;
}

static void gs_fini(void)
{
	gs_choice_fini(&dec_role);
	gs_choice_fini(&gs_enc_role);
	/*
	 * gst_deinit() would make a later gst_init() fail; the daemon calls
	 * fini() once, at exit, so it is safe and lets LeakSanitizer see
	 * GStreamer's registry freed.
	 */
	if (ts_caps)
		gst_caps_unref(ts_caps);
	ts_caps = NULL;
	if (gst_ready)
		gst_deinit();
	gst_ready = false;
}

static void gs_get_caps(struct vv_codec_caps *caps)
{
	struct vv_codec_role_caps *dec = &caps->decoder;

	memset(caps, 0, sizeof(*caps));
	for (unsigned int i = 0; i < NUM_CODECS && dec->num_coded < VV_CODEC_MAX_FORMATS; i++) {
		struct vv_codec_format *f = &dec->coded[dec->num_coded];

		if (!dec_list[i].impl[0])
			continue;
		*f = (struct vv_codec_format){
			.format = gs_codecs[i].format, .impl = dec_list[i].impl,
			.min_width = 16, .max_width = 4096, .min_height = 16, .max_height = 4096,
			.min_fps = 1, .max_fps = 120,
		};
		/* The 8-bit 4:2:0 profiles write() serves, and H.264's levels. */
		vv_codec_profiles(f, VV_PROFILES_VP8_ALL);
		dec->num_coded++;
	}
	dec->raw[dec->num_raw++] = VIRTIO_VIDEO_FORMAT_NV12;
	dec->raw[dec->num_raw++] = VIRTIO_VIDEO_FORMAT_YUV420;
	dec->raw[dec->num_raw++] = VIRTIO_VIDEO_FORMAT_YVU420;
	dec->raw[dec->num_raw++] = VIRTIO_VIDEO_FORMAT_BGRA8888;
	dec->raw[dec->num_raw++] = VIRTIO_VIDEO_FORMAT_ARGB8888;
	gs_encoder_caps(&caps->encoder);
}

/* ---- events from the streaming threads ---- */

static void signal_event(struct vv_decoder *d)
{
	gs_signal_event(d->efd);
}

static void clear_event(struct vv_decoder *d)
{
	gs_clear_event(d->efd);
}

static GstFlowReturn on_new_sample(GstAppSink *sink, gpointer data)
{
	(void)sink;
	signal_event(data);
	return GST_FLOW_OK;
}

static void on_eos(GstAppSink *sink, gpointer data)
{
	struct vv_decoder *d = data;

	(void)sink;
	g_mutex_lock(&d->lock);
	d->eos = true;
	g_mutex_unlock(&d->lock);
	signal_event(d);
}

static GstBusSyncReply on_message(GstBus *bus, GstMessage *msg, gpointer data)
{
	struct vv_decoder *d = data;
	GError *err = NULL;
	gchar *debug = NULL;
	bool fatal;

	(void)bus;
	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_ERROR:
		gst_message_parse_error(msg, &err, &debug);
		fatal = gs_fatal_error(err, debug);
		g_mutex_lock(&d->lock);
		/* the first error of a stop says why (the source's follows) */
		if (!d->stopped) {
			d->stopped = true;
			d->fatal = fatal;
			d->warnings += !fatal;	/* receive() reports it once */
			fprintf(stderr, TAG "%s: %s error from %s: %s (%s)\n", d->codec->name,
				fatal ? "fatal" : "stream", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
				err->message, debug ? debug : "");
		} else if (fatal && !d->fatal) {
			d->fatal = true;
		}
		g_mutex_unlock(&d->lock);
		signal_event(d);
		break;
	case GST_MESSAGE_WARNING:
		gst_message_parse_warning(msg, &err, &debug);
		g_mutex_lock(&d->lock);
		d->warnings++;
		g_mutex_unlock(&d->lock);
		signal_event(d);
		break;
	default:
		break;
	}
	g_clear_error(&err);
	g_free(debug);
	/* nobody reads this bus: nothing piles up (GST_BUS_DROP: ours to unref) */
	gst_message_unref(msg);
	return GST_BUS_DROP;
}

/* The parser's caps carry the stream's size before any picture. */
static GstPadProbeReturn on_parser_event(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
	struct vv_decoder *d = data;
	const GstStructure *s;
	GstCaps *caps;
	gint w = 0, h = 0;

	(void)pad;
	if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS)
		return GST_PAD_PROBE_OK;
	gst_event_parse_caps(ev, &caps);
	s = gst_caps_get_structure(caps, 0);
	if (s && gst_structure_get_int(s, "width", &w) && gst_structure_get_int(s, "height", &h) &&
	    w > 0 && h > 0) {
		g_mutex_lock(&d->lock);
		d->info_width = (uint32_t)w;
		d->info_height = (uint32_t)h;
		g_mutex_unlock(&d->lock);
		signal_event(d);
	}
	return GST_PAD_PROBE_OK;
}

/* ---- timestamps (with a parser) ---- */

static bool ts_table_add(struct vv_decoder *d, uint64_t offset, uint64_t timestamp)
{
	bool ok = true;

	g_mutex_lock(&d->lock);
	if (d->ts_count == d->ts_cap) {
		unsigned int cap = d->ts_cap ? d->ts_cap * 2 : 64;
		struct ts_entry *n = calloc(cap, sizeof(*n));

		if (n) {
			for (unsigned int i = 0; i < d->ts_count; i++)
				n[i] = d->ts[(d->ts_first + i) % d->ts_cap];
			free(d->ts);
			d->ts = n;
			d->ts_cap = cap;
			d->ts_first = 0;
		} else {
			ok = false;
		}
	}
	if (ok) {
		d->ts[(d->ts_first + d->ts_count) % d->ts_cap] =
			(struct ts_entry){ .offset = offset, .timestamp = timestamp };
		d->ts_count++;
	}
	g_mutex_unlock(&d->lock);
	return ok;
}

/*
 * The timestamp of the input buffer a parsed frame started in, from the
 * frame's byte offset (baseparse keeps upstream offsets). A start code's
 * leading zero may still sit at the end of the previous buffer (a 4-byte
 * 00 00 00 01 after a split into 3-byte ones), so the byte 3 into the frame
 * decides. Buffers before it are done with: frames come in stream order.
 */
static bool ts_table_find(struct vv_decoder *d, uint64_t offset, uint64_t *timestamp)
{
	bool found = false;

	g_mutex_lock(&d->lock);
	while (d->ts_count) {
		const struct ts_entry *e = &d->ts[d->ts_first];
		const struct ts_entry *next = d->ts_count > 1 ?
			&d->ts[(d->ts_first + 1) % d->ts_cap] : NULL;

		if (next && next->offset <= offset + 3) {
			d->ts_first = (d->ts_first + 1) % d->ts_cap;
			d->ts_count--;
			continue;
		}
		if (e->offset <= offset + 3) {
			*timestamp = e->timestamp;
			found = true;
		}
		break;
	}
	g_mutex_unlock(&d->lock);
	return found;
}

static gboolean drop_ts_meta(GstBuffer *buf, GstMeta **meta, gpointer data)
{
	(void)buf;
	(void)data;
	if ((*meta)->info->api == GST_REFERENCE_TIMESTAMP_META_API_TYPE &&
	    gst_caps_is_equal(((GstReferenceTimestampMeta *)*meta)->reference, ts_caps))
		*meta = NULL;
	return TRUE;
}

static GstPadProbeReturn on_parsed(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	struct vv_decoder *d = data;
	uint64_t ts;

	(void)pad;
	if (!GST_BUFFER_OFFSET_IS_VALID(buf) || !ts_table_find(d, GST_BUFFER_OFFSET(buf), &ts))
		return GST_PAD_PROBE_OK;
	buf = gst_buffer_make_writable(buf);
	gst_buffer_foreach_meta(buf, drop_ts_meta, NULL);
	gst_buffer_add_reference_timestamp_meta(buf, ts_caps, ts, GST_CLOCK_TIME_NONE);
	GST_PAD_PROBE_INFO_DATA(info) = buf;
	return GST_PAD_PROBE_OK;
}

/* ---- pipelines ---- */

/* appsrc's queue ran dry: a decode() turned away may come again. */
static void on_need_data(GstAppSrc *src, guint length, gpointer data)
{
	struct vv_decoder *d = data;
	bool refused;

	(void)src;
	(void)length;
	g_mutex_lock(&d->lock);
	refused = d->refused;
	d->refused = false;
	g_mutex_unlock(&d->lock);
	if (refused)
		signal_event(d);
}

static gboolean on_seek_data(GstAppSrc *src, guint64 offset, gpointer data)
{
	(void)src;
	(void)offset;
	(void)data;
	return TRUE;	/* the bitstream goes on from the next decode() */
}

static void pipeline_free(struct vv_decoder *d)
{
	if (!d->pipeline)
		return;
	gst_element_set_state(d->pipeline, GST_STATE_NULL);
	gst_object_unref(d->pipeline);
	d->pipeline = d->src = d->parser = d->dec = d->sink = NULL;
}

static bool pipeline_build(struct vv_decoder *d, GstElementFactory *factory)
{
	const struct gs_codec *c = d->codec;
	GstAppSinkCallbacks cb = { .eos = on_eos, .new_sample = on_new_sample };
	GstAppSrcCallbacks src_cb = { .need_data = on_need_data, .seek_data = on_seek_data };
	GstCaps *caps;
	GstPad *pad;

	d->pipeline = gst_pipeline_new(NULL);
	if (d->pipeline)
		gst_object_ref_sink(d->pipeline);
	d->src = gst_element_factory_make("appsrc", NULL);
	d->parser = c->parser ? gst_element_factory_make(c->parser, NULL) : NULL;
	d->dec = gst_element_factory_create(factory, NULL);
	d->sink = gst_element_factory_make("appsink", NULL);
	if (!d->pipeline || !d->src || (c->parser && !d->parser) || !d->dec || !d->sink) {
		if (d->src)
			gst_object_unref(gst_object_ref_sink(d->src));
		if (d->parser)
			gst_object_unref(gst_object_ref_sink(d->parser));
		if (d->dec)
			gst_object_unref(gst_object_ref_sink(d->dec));
		if (d->sink)
			gst_object_unref(gst_object_ref_sink(d->sink));
		if (d->pipeline)
			gst_object_unref(d->pipeline);
		d->pipeline = d->src = d->parser = d->dec = d->sink = NULL;
		return false;
	}
	gst_bin_add_many(GST_BIN(d->pipeline), d->src, d->dec, d->sink, NULL);
	if (d->parser)
		gst_bin_add(GST_BIN(d->pipeline), d->parser);

	/* Never blocks decode(): it answers VV_CODEC_AGAIN when appsrc is full. */
	caps = gst_caps_from_string(c->stream_caps);
	if (input_au && (c->format == VIRTIO_VIDEO_FORMAT_H264 || c->format == VIRTIO_VIDEO_FORMAT_HEVC))
		gst_caps_set_simple(caps, "alignment", G_TYPE_STRING, "au", NULL);
	g_object_set(d->src, "caps", caps, "format", GST_FORMAT_TIME, "is-live", FALSE,
		     "block", FALSE, "max-bytes", (guint64)0, "emit-signals", FALSE, NULL);
	gst_caps_unref(caps);
	/* seekable: reset() seeks (appsrc forgets its EOS only then) */
	gst_app_src_set_stream_type(GST_APP_SRC(d->src), GST_APP_STREAM_TYPE_SEEKABLE);
	gst_app_src_set_callbacks(GST_APP_SRC(d->src), &src_cb, d, NULL);
	if (d->parser)
		/* chunked input must be re-framed even if the caps look aligned */
		g_object_set(d->parser, "disable-passthrough", TRUE, NULL);
	/* a corrupt buffer is a warning, never the end of the stream */
	gs_set_if_exists(d->dec, "max-errors", -1);
	/* input=au: frame threads would hold max-threads - 1 pictures (avdec_*) */
	if (input_au && g_object_class_find_property(G_OBJECT_GET_CLASS(d->dec), "thread-type"))
		gst_util_set_object_arg(G_OBJECT(d->dec), "thread-type", "slice");
	if (gs_threads > 0) {
		gs_set_if_exists(d->dec, "max-threads", gs_threads);	/* avdec_* */
		gs_set_if_exists(d->dec, "threads", gs_threads);	/* vp8dec, vp9dec */
	}
	caps = gst_caps_from_string("video/x-raw, format=(string){ I420, YV12, NV12 }");
	g_object_set(d->sink, "caps", caps, "sync", FALSE, "async", FALSE,
		     "enable-last-sample", FALSE, "max-buffers", (guint)SINK_MAX_BUFFERS,
		     "drop", FALSE, "emit-signals", FALSE, NULL);
	gst_caps_unref(caps);
	gst_app_sink_set_callbacks(GST_APP_SINK(d->sink), &cb, d, NULL);

	if (!(d->parser ? gst_element_link_many(d->src, d->parser, d->dec, d->sink, NULL) :
			  gst_element_link_many(d->src, d->dec, d->sink, NULL))) {
		pipeline_free(d);
		return false;
	}
	if (d->parser) {
		pad = gst_element_get_static_pad(d->parser, "src");
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_parser_event, d,
				  NULL);
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_parsed, d, NULL);
		gst_object_unref(pad);
	}
	if (!gs_pipeline_play(d->pipeline, on_message, d)) {
		pipeline_free(d);
		return false;
	}
	return true;
}

static void gs_decoder_destroy(struct vv_decoder *d)
{
	if (!d)
		return;
	pipeline_free(d);
	if (d->conv)
		gst_video_converter_free(d->conv);
	if (d->efd >= 0)
		close(d->efd);
	g_mutex_clear(&d->lock);
	free(d->ts);
	free(d);
}

static int gs_decoder_create(uint32_t coded_format, struct vv_decoder **out)
{
	struct vv_decoder *d;
	unsigned int ci;

	for (ci = 0; ci < NUM_CODECS; ci++)
		if (gs_codecs[ci].format == coded_format)
			break;
	if (ci == NUM_CODECS || !dec_list[ci].impl[0])
		return VV_CODEC_ERR_UNSUPPORTED;
	d = calloc(1, sizeof(*d));
	if (!d)
		return VV_CODEC_ERR_NOMEM;
	g_mutex_init(&d->lock);
	d->codec = &gs_codecs[ci];
	d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->efd < 0) {
		gs_decoder_destroy(d);
		return VV_CODEC_ERR_NOMEM;
	}
	/* Ranked order; one that fails to start is skipped. */
	for (unsigned int i = 0; i < dec_list[ci].num; i++) {
		if (pipeline_build(d, dec_list[ci].cand[i]))
			break;
		fprintf(stderr, TAG "%s: %s does not start\n", d->codec->name,
			GST_OBJECT_NAME(dec_list[ci].cand[i]));
	}
	if (!d->pipeline) {
		gs_decoder_destroy(d);
		return VV_CODEC_ERR_UNSUPPORTED;
	}
	*out = d;
	return VV_CODEC_OK;
}

/* Drops everything in flight; the pipeline takes new bitstream afterwards. */
static void restart(struct vv_decoder *d)
{
	/*
	 * A flushing seek: appsrc drops its queue and its EOS (seek-data),
	 * FLUSH_START/STOP go down the pipeline (parser, decoder and appsink
	 * drop what they hold; parameter sets stay), then a new segment.
	 */
	if (!gst_element_send_event(d->src, gst_event_new_seek(1.0, GST_FORMAT_TIME,
							       GST_SEEK_FLAG_FLUSH,
							       GST_SEEK_TYPE_SET, 0,
							       GST_SEEK_TYPE_NONE, 0)))
		fprintf(stderr, TAG "%s: the flushing seek failed\n", d->codec->name);
	g_mutex_lock(&d->lock);
	d->warnings = 0;
	d->stopped = false;
	d->fatal = false;
	d->eos = false;
	d->ts_first = d->ts_count = 0;
	g_mutex_unlock(&d->lock);
	d->in_offset = 0;	/* baseparse counts from 0 after a flush too */
	d->pushed = false;
	d->eos_sent = false;
	d->drain_owed = false;
	d->fatal_logged = false;
	clear_event(d);
}

/* VP8 has no parser element: the size comes from a key frame's header. */
static void vp8_header(struct vv_decoder *d, const uint8_t *p, size_t n)
{
	if (n < 10 || (p[0] & 1) || p[3] != 0x9d || p[4] != 0x01 || p[5] != 0x2a)
		return;
	d->vp8_width = (uint32_t)(p[6] | (p[7] << 8)) & 0x3fff;
	d->vp8_height = (uint32_t)(p[8] | (p[9] << 8)) & 0x3fff;
}

static int gs_decode(struct vv_decoder *d, const struct iovec *iov, unsigned int iovcnt,
		     uint64_t timestamp)
{
	GstBuffer *buf;
	GstMapInfo map;
	size_t total = 0, off = 0;
	GstFlowReturn ret;

	if (d->eos_sent)
		restart(d);
	for (unsigned int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (!total)
		return VV_CODEC_OK;
	/*
	 * Bounded input: the daemon keeps the buffer while appsrc is full (a
	 * decoder that stalls, on output or otherwise) and is told by need-data.
	 */
	if (gst_app_src_get_current_level_buffers(GST_APP_SRC(d->src)) &&
	    (gst_app_src_get_current_level_buffers(GST_APP_SRC(d->src)) >= SRC_MAX_BUFFERS ||
	     gst_app_src_get_current_level_bytes(GST_APP_SRC(d->src)) + total > src_max_bytes)) {
		g_mutex_lock(&d->lock);
		d->refused = true;
		g_mutex_unlock(&d->lock);
		/* Drained meanwhile (need-data came first): try again at once. */
		if (!gst_app_src_get_current_level_buffers(GST_APP_SRC(d->src)))
			signal_event(d);
		return VV_CODEC_AGAIN;
	}
	buf = gst_buffer_new_allocate(NULL, total, NULL);
	if (!buf || !gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
		if (buf)
			gst_buffer_unref(buf);
		return VV_CODEC_ERR_NOMEM;
	}
	for (unsigned int i = 0; i < iovcnt; i++) {
		memcpy(map.data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if (d->codec->format == VIRTIO_VIDEO_FORMAT_VP8)
		vp8_header(d, map.data, total);
	gst_buffer_unmap(buf, &map);
	/*
	 * The guest's timestamp rides on the frame as a reference timestamp
	 * meta, which decoders copy to their output: the PTS would not do,
	 * GstVideoDecoder clamps PTS that decrease in display order (and a
	 * guest's timestamps may well be in decode order). A parser gives its
	 * frames the metas of every buffer it merged, so with a parser the meta
	 * is set on its output instead (on_parsed()), from the byte offset.
	 */
	if (!d->parser)
		gst_buffer_add_reference_timestamp_meta(buf, ts_caps, timestamp,
							GST_CLOCK_TIME_NONE);
	else if (!ts_table_add(d, d->in_offset, timestamp)) {
		gst_buffer_unref(buf);
		return VV_CODEC_ERR_NOMEM;
	}
	GST_BUFFER_OFFSET(buf) = d->in_offset;
	GST_BUFFER_OFFSET_END(buf) = d->in_offset + total;
	d->in_offset += total;
	GST_BUFFER_PTS(buf) = timestamp == GST_CLOCK_TIME_NONE ? timestamp - 1 : timestamp;
	ret = gst_app_src_push_buffer(GST_APP_SRC(d->src), buf);
	if (ret != GST_FLOW_OK)
		return VV_CODEC_ERR_INVALID_DATA;
	d->pushed = true;
	return VV_CODEC_OK;
}

static int gs_flush(struct vv_decoder *d)
{
	bool stopped;

	if (d->eos_sent)
		return VV_CODEC_OK;
	g_mutex_lock(&d->lock);
	stopped = d->stopped;
	g_mutex_unlock(&d->lock);
	d->eos_sent = true;
	d->drain_owed = true;
	if (!d->pushed || stopped) {
		/* no EOS would come out: nothing was fed, or an error stopped it */
		g_mutex_lock(&d->lock);
		d->eos = true;
		g_mutex_unlock(&d->lock);
		signal_event(d);
		return VV_CODEC_OK;
	}
	if (gst_app_src_end_of_stream(GST_APP_SRC(d->src)) != GST_FLOW_OK)
		return VV_CODEC_ERR_INVALID_DATA;
	return VV_CODEC_OK;
}

static void gs_reset(struct vv_decoder *d)
{
	restart(d);
}

static bool picture_from_sample(struct vv_decoder *d, GstSample *sample,
				struct vv_picture *pic)
{
	GstBuffer *buf = gst_sample_get_buffer(sample);
	GstCaps *caps = gst_sample_get_caps(sample);
	GstReferenceTimestampMeta *meta;
	GstVideoCropMeta *crop;
	GstVideoInfo info;

	(void)d;
	if (!buf || !caps || !gst_video_info_from_caps(&info, caps))
		return false;
	switch (GST_VIDEO_INFO_FORMAT(&info)) {
	case GST_VIDEO_FORMAT_I420:
	case GST_VIDEO_FORMAT_YV12:
	case GST_VIDEO_FORMAT_NV12:
		break;
	default:
		return false;
	}
	pic->width = (uint32_t)GST_VIDEO_INFO_WIDTH(&info);
	pic->height = (uint32_t)GST_VIDEO_INFO_HEIGHT(&info);
	crop = gst_buffer_get_video_crop_meta(buf);
	if (crop && crop->width && crop->height && crop->x + crop->width <= pic->width &&
	    crop->y + crop->height <= pic->height) {
		pic->width = crop->width;
		pic->height = crop->height;
	}
	meta = gst_buffer_get_reference_timestamp_meta(buf, ts_caps);
	pic->timestamp = meta ? meta->timestamp : GST_BUFFER_PTS_IS_VALID(buf) ?
		GST_BUFFER_PTS(buf) : 0;
	return pic->width && pic->height;
}

static int gs_receive(struct vv_decoder *d, struct vv_picture *pic)
{
	unsigned int warnings;
	bool stopped, fatal, eos;
	GstSample *sample;

	clear_event(d);
	g_mutex_lock(&d->lock);
	warnings = d->warnings;
	d->warnings = 0;
	stopped = d->stopped;
	fatal = d->fatal;
	eos = d->eos;
	g_mutex_unlock(&d->lock);
	if (fatal)
		return VV_CODEC_ERR_UNSUPPORTED;
	if (warnings) {
		signal_event(d);	/* pictures may be waiting too */
		return VV_CODEC_ERR_INVALID_DATA;
	}
	sample = gst_app_sink_try_pull_sample(GST_APP_SINK(d->sink), 0);
	if (sample) {
		if (!picture_from_sample(d, sample, pic)) {
			gst_sample_unref(sample);
			fprintf(stderr, TAG "%s: a picture in a format we cannot write\n",
				d->codec->name);
			g_mutex_lock(&d->lock);
			d->stopped = d->fatal = true;
			g_mutex_unlock(&d->lock);
			return VV_CODEC_ERR_UNSUPPORTED;
		}
		pic->priv = sample;
		signal_event(d);	/* there may be more */
		return 1;
	}
	if (stopped && !eos) {
		/*
		 * An error stopped the streaming thread and every picture
		 * before it is out: a drain ends here, else it starts again.
		 */
		if (!d->drain_owed) {
			restart(d);
			return 0;
		}
		eos = true;
	}
	if (eos && d->drain_owed) {
		d->drain_owed = false;
		return VV_CODEC_DRAINED;
	}
	return 0;
}

static void gs_release(struct vv_decoder *d, struct vv_picture *pic)
{
	(void)d;
	if (pic->priv)
		gst_sample_unref(pic->priv);
	pic->priv = NULL;
}

/* ---- write ---- */

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

/* Component comp of the picture (x0, y0 in luma pixels) -> one plane. */
static void copy_comp(uint8_t *dst, uint32_t dst_stride, const GstVideoFrame *f, int comp,
		      uint32_t x0, uint32_t y0, uint32_t w, uint32_t h)
{
	const GstVideoFormatInfo *fi = f->info.finfo;
	int ps = GST_VIDEO_FRAME_COMP_PSTRIDE(f, comp);
	int ss = GST_VIDEO_FRAME_COMP_STRIDE(f, comp);
	const uint8_t *src = (const uint8_t *)GST_VIDEO_FRAME_COMP_DATA(f, comp) +
			     (size_t)GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT(fi, comp, y0) * ss +
			     (size_t)GST_VIDEO_FORMAT_INFO_SCALE_WIDTH(fi, comp, x0) * ps;

	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *s = src + (size_t)y * ss;
		uint8_t *o = dst + (size_t)y * dst_stride;

		if (ps == 1) {
			memcpy(o, s, w);
			continue;
		}
		for (uint32_t x = 0; x < w; x++)
			o[x] = s[(size_t)x * ps];
	}
}

/* U and V of the picture -> one interleaved NV12 chroma plane. */
static void interleave_uv(uint8_t *dst, uint32_t dst_stride, const GstVideoFrame *f,
			  uint32_t x0, uint32_t y0, uint32_t cw, uint32_t ch)
{
	const int us = GST_VIDEO_FRAME_COMP_STRIDE(f, 1), vs = GST_VIDEO_FRAME_COMP_STRIDE(f, 2);
	const int up = GST_VIDEO_FRAME_COMP_PSTRIDE(f, 1), vp = GST_VIDEO_FRAME_COMP_PSTRIDE(f, 2);
	const uint8_t *u = (const uint8_t *)GST_VIDEO_FRAME_COMP_DATA(f, 1) +
			   (size_t)(y0 / 2) * us + (size_t)(x0 / 2) * up;
	const uint8_t *v = (const uint8_t *)GST_VIDEO_FRAME_COMP_DATA(f, 2) +
			   (size_t)(y0 / 2) * vs + (size_t)(x0 / 2) * vp;

	if (GST_VIDEO_FRAME_FORMAT(f) == GST_VIDEO_FORMAT_NV12) {
		for (uint32_t y = 0; y < ch; y++)
			memcpy(dst + (size_t)y * dst_stride, u + (size_t)y * us, 2 * cw);
		return;
	}
	for (uint32_t y = 0; y < ch; y++) {
		const uint8_t *ur = u + (size_t)y * us, *vr = v + (size_t)y * vs;
		uint8_t *row = dst + (size_t)y * dst_stride;

		for (uint32_t x = 0; x < cw; x++) {
			row[2 * x] = ur[(size_t)x * up];
			row[2 * x + 1] = vr[(size_t)x * vp];
		}
	}
}

static int write_rgb(struct vv_decoder *d, const GstVideoFrame *src, uint32_t x0, uint32_t y0,
		     uint32_t w, uint32_t h, GstVideoFormat fmt, const struct vv_plane *plane)
{
	GstVideoInfo out;
	GstVideoFrame dst;
	GstBuffer *buf;
	bool ok;

	gst_video_info_set_format(&out, fmt, w, h);
	/* the converter wants these equal; they do not change pixels */
	GST_VIDEO_INFO_FPS_N(&out) = GST_VIDEO_INFO_FPS_N(&src->info);
	GST_VIDEO_INFO_FPS_D(&out) = GST_VIDEO_INFO_FPS_D(&src->info);
	GST_VIDEO_INFO_INTERLACE_MODE(&out) = GST_VIDEO_INFO_INTERLACE_MODE(&src->info);
	out.stride[0] = (gint)plane->stride;
	out.size = (gsize)plane->stride * h;
	if (!d->conv || !gst_video_info_is_equal(&d->conv_in, &src->info) ||
	    !gst_video_info_is_equal(&d->conv_out, &out) ||
	    GST_VIDEO_INFO_WIDTH(&d->conv_out) != (gint)w) {
		GstStructure *config = gst_structure_new(
			"vv", GST_VIDEO_CONVERTER_OPT_SRC_X, G_TYPE_INT, (gint)x0,
			GST_VIDEO_CONVERTER_OPT_SRC_Y, G_TYPE_INT, (gint)y0,
			GST_VIDEO_CONVERTER_OPT_SRC_WIDTH, G_TYPE_INT, (gint)w,
			GST_VIDEO_CONVERTER_OPT_SRC_HEIGHT, G_TYPE_INT, (gint)h,
			GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, 1u, NULL);

		if (d->conv)
			gst_video_converter_free(d->conv);
		/* videoconvert's defaults otherwise: the tests compare with it */
		d->conv = gst_video_converter_new((GstVideoInfo *)&src->info, &out, config);
		if (!d->conv)
			return VV_CODEC_ERR_NOMEM;
		d->conv_in = src->info;
		d->conv_out = out;
	}
	buf = gst_buffer_new_wrapped_full(0, plane->data, plane->size, 0, out.size, NULL, NULL);
	if (!buf)
		return VV_CODEC_ERR_NOMEM;
	ok = gst_video_frame_map(&dst, &out, buf, GST_MAP_WRITE);
	if (ok) {
		gst_video_converter_frame(d->conv, src, &dst);
		gst_video_frame_unmap(&dst);
	}
	gst_buffer_unref(buf);
	return ok ? VV_CODEC_OK : VV_CODEC_ERR_NOMEM;
}

static int gs_write(struct vv_decoder *d, const struct vv_picture *pic, uint32_t format,
		    const struct vv_plane *planes, unsigned int num_planes)
{
	GstSample *sample = pic->priv;
	GstBuffer *buf = gst_sample_get_buffer(sample);
	GstVideoCropMeta *crop = gst_buffer_get_video_crop_meta(buf);
	uint32_t w = pic->width, h = pic->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
	uint32_t x0 = 0, y0 = 0;
	GstVideoInfo info;
	GstVideoFrame f;
	int ret = VV_CODEC_OK;

	if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) ||
	    !gst_video_frame_map(&f, &info, buf, GST_MAP_READ))
		return VV_CODEC_ERR_NOMEM;
	if (crop && crop->width == w && crop->height == h) {
		x0 = crop->x & ~1u;
		y0 = crop->y & ~1u;
	}
	switch (format) {
	case VIRTIO_VIDEO_FORMAT_YUV420:
	case VIRTIO_VIDEO_FORMAT_YVU420: {
		int u = format == VIRTIO_VIDEO_FORMAT_YUV420 ? 1 : 2;

		if (!planes_fit(planes, num_planes, format, w, h)) {
			ret = VV_CODEC_ERR_INVALID_DATA;
			break;
		}
		copy_comp(planes[0].data, planes[0].stride, &f, 0, x0, y0, w, h);
		copy_comp(planes[u].data, planes[u].stride, &f, 1, x0, y0, cw, ch);
		copy_comp(planes[3 - u].data, planes[3 - u].stride, &f, 2, x0, y0, cw, ch);
		break;
	}
	case VIRTIO_VIDEO_FORMAT_NV12:
		if (!planes_fit(planes, num_planes, format, w, h)) {
			ret = VV_CODEC_ERR_INVALID_DATA;
			break;
		}
		copy_comp(planes[0].data, planes[0].stride, &f, 0, x0, y0, w, h);
		interleave_uv(planes[1].data, planes[1].stride, &f, x0, y0, cw, ch);
		break;
	case VIRTIO_VIDEO_FORMAT_BGRA8888:
	case VIRTIO_VIDEO_FORMAT_ARGB8888:
		if (!planes_fit(planes, num_planes, format, w, h)) {
			ret = VV_CODEC_ERR_INVALID_DATA;
			break;
		}
		ret = write_rgb(d, &f, x0, y0, w, h,
				format == VIRTIO_VIDEO_FORMAT_BGRA8888 ? GST_VIDEO_FORMAT_BGRA :
				GST_VIDEO_FORMAT_ARGB, &planes[0]);
		break;
	default:
		ret = VV_CODEC_ERR_UNSUPPORTED;
	}
	gst_video_frame_unmap(&f);
	return ret;
}

static int gs_stream_info(struct vv_decoder *d, uint32_t *width, uint32_t *height)
{
	uint32_t w, h;

	g_mutex_lock(&d->lock);
	w = d->info_width;
	h = d->info_height;
	g_mutex_unlock(&d->lock);
	if (d->codec->format == VIRTIO_VIDEO_FORMAT_VP8) {
		w = d->vp8_width;
		h = d->vp8_height;
	}
	if (!w || !h)
		return 0;
	*width = w;
	*height = h;
	return 1;
}

static int gs_event_fd(struct vv_decoder *d)
{
	return d->efd;
}

static const struct vv_decoder_ops gs_decoder_ops = {
	.create = gs_decoder_create,
	.destroy = gs_decoder_destroy,
	.decode = gs_decode,
	.flush = gs_flush,
	.reset = gs_reset,
	.receive = gs_receive,
	.write = gs_write,
	.release = gs_release,
	.stream_info = gs_stream_info,
	.event_fd = gs_event_fd,
};

__attribute__((visibility("default"))) const struct vv_codec_ops vv_codec_plugin = {
	.abi_version = VV_CODEC_ABI_VERSION,
	.name = "gstreamer",
	.init = gs_init,
	.fini = gs_fini,
	.get_caps = gs_get_caps,
	.decoder = &gs_decoder_ops,
	.encoder = &gs_encoder_ops,
};
