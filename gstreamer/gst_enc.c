// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The GStreamer plugin's encoder (codec.h, struct vv_encoder_ops). One
 * pipeline per stream:
 *
 *   appsrc (video/x-raw NV12 | I420) ! videoconvert ! capsfilter (4:2:0)
 *       ! ENCODER ! capsfilter (profile, level) [! h264parse | h265parse]
 *       ! appsink
 *
 * ENCODER is the highest-ranked installed video encoder for the codec that
 * opens, or the element named by --backend-opt encoder=[CODEC:]ELEMENT.
 * videoconvert passes frames through untouched when the encoder takes the
 * guest's format (x264enc, x265enc take both; vp8enc/vp9enc want I420).
 *
 * The device's controls become each element's own properties and units:
 * x264enc, x265enc, vp8enc and vp9enc by name; any other element (nvh264enc,
 * vah264enc, ...) through the property names those share (bitrate in kbit/s,
 * rate-control/rc-mode, gop-size/key-int-max, bframes). Profile and level go
 * as caps after the encoder, which every GStreamer encoder negotiates.
 *
 * Asynchronous: encode() copies the frame into a GstBuffer and pushes it;
 * the streaming thread encodes; appsink and the bus signal an eventfd and
 * receive() pulls without blocking. Forced keyframes are the standard
 * downstream force-key-unit event, queued in appsrc before the frame.
 */
#define _GNU_SOURCE
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../host/codec_profiles.h"
#include "../host/frame_layout.h"
#include "../include/virtio_video.h"
#include "gst_common.h"

/* Frames in flight inside one encoder: timestamps waiting for their packet. */
#define TS_RING 64

static bool encoder_takes(GstElementFactory *f, const struct gs_codec *c)
{
	GstCaps *caps = gst_caps_from_string(c->enc_caps);
	GstCaps *raw = gst_caps_from_string("video/x-raw");
	bool ok = gst_element_factory_can_src_any_caps(f, caps) &&
		  gst_element_factory_can_sink_any_caps(f, raw);

	gst_caps_unref(caps);
	gst_caps_unref(raw);
	return ok;
}

static struct gs_choice enc_list[GS_NUM_CODECS];
const struct gs_role gs_enc_role = {
	.key = "encoder", .verb = "encode", .type = GST_ELEMENT_FACTORY_TYPE_ENCODER,
	.takes = encoder_takes, .choice = enc_list,
};

struct vv_encoder {
	const struct gs_codec *codec;
	GstElementFactory *factory;
	struct vv_encoder_config config;
	GstElement *pipeline, *src, *enc, *sink;
	GstVideoInfo info;		/* the frames appsrc sends */
	int efd;

	GMutex lock;			/* what the streaming threads report: */
	bool failed;			/* an error ended the stream */
	bool eos;			/* EOS reached appsink */

	/* daemon thread only */
	uint64_t frames_in;
	uint64_t ts[TS_RING];		/* guest timestamp of frame n % TS_RING */
	bool flushed, drained_told;
	/* H.264/HEVC without PREPEND_SPSPPS_TO_IDR: parameter sets in packet 1 only */
	bool headers_once, headers_sent;
};

/* What receive() hands out: the sample's mapped buffer, or our own copy. */
struct packet_priv {
	GstSample *sample;
	GstMapInfo map;
	uint8_t *copy;
};

void gs_encoder_caps(struct vv_codec_role_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	for (int i = 0; i < GS_NUM_CODECS; i++) {
		struct vv_codec_format *f = &caps->coded[caps->num_coded];

		if (!enc_list[i].impl[0])
			continue;
		*f = (struct vv_codec_format){
			.format = gs_codecs[i].format, .impl = enc_list[i].impl,
			.min_width = 16, .max_width = 4096, .min_height = 16, .max_height = 4096,
			.min_fps = 1, .max_fps = 120,
		};
		/* 4:2:0 H.264/HEVC encoders take even sizes only */
		if (f->format == VIRTIO_VIDEO_FORMAT_H264 || f->format == VIRTIO_VIDEO_FORMAT_HEVC)
			f->width_step = f->height_step = 2;
		/*
		 * VP8 profile 0 only: GStreamer 1.22's vpxenc refuses every
		 * profile in its downstream caps ("Invalid vpx profile").
		 */
		vv_codec_profiles(f, 0);
		caps->num_coded++;
	}
	if (!caps->num_coded)
		return;
	caps->raw[caps->num_raw++] = VIRTIO_VIDEO_FORMAT_NV12;
	caps->raw[caps->num_raw++] = VIRTIO_VIDEO_FORMAT_YUV420;
}

/* ---- properties ---- */

static GParamSpec *prop(GstElement *e, const char *name, bool running)
{
	GParamSpec *p = g_object_class_find_property(G_OBJECT_GET_CLASS(e), name);

	if (p && running && !(p->flags & GST_PARAM_MUTABLE_PLAYING))
		return NULL;
	return p;
}

/* Sets a numeric property of any integer type; false if it has none such. */
static bool set_number(GstElement *e, const char *name, uint64_t v, bool running)
{
	GParamSpec *p = prop(e, name, running);

	if (!p)
		return false;
	switch (G_PARAM_SPEC_VALUE_TYPE(p)) {
	case G_TYPE_INT:
		g_object_set(e, name, (gint)MIN(v, (uint64_t)G_MAXINT), NULL);
		return true;
	case G_TYPE_UINT:
		g_object_set(e, name, (guint)MIN(v, (uint64_t)G_MAXUINT), NULL);
		return true;
	case G_TYPE_INT64:
		g_object_set(e, name, (gint64)MIN(v, (uint64_t)G_MAXINT64), NULL);
		return true;
	case G_TYPE_UINT64:
		g_object_set(e, name, (guint64)v, NULL);
		return true;
	default:
		return false;
	}
}

/* An enum, flags or boolean property from its nick ("cbr", "zerolatency", "false"). */
static bool set_nick(GstElement *e, const char *name, const char *nick)
{
	GParamSpec *p = prop(e, name, false);

	if (!p)
		return false;
	if (G_IS_PARAM_SPEC_ENUM(p)) {
		GEnumClass *k = G_PARAM_SPEC_ENUM(p)->enum_class;

		if (!g_enum_get_value_by_nick(k, nick))
			return false;
	}
	gst_util_set_object_arg(G_OBJECT(e), name, nick);
	return true;
}

static uint32_t kbps(uint32_t bps)
{
	return bps / 1000 ? bps / 1000 : 1;
}

/*
 * A bitrate property in the element's own unit: GStreamer encoders mostly
 * take kbit/s (x264enc, nvh264enc, vah264enc), some bit/s (openh264enc,
 * vp8enc's target-bitrate); the property's description says which.
 */
static bool set_bitrate(GstElement *e, const char *name, uint32_t bps, bool running)
{
	GParamSpec *p = prop(e, name, running);
	const char *blurb = p ? g_param_spec_get_blurb(p) : NULL;
	bool bits = blurb && (strstr(blurb, "bits per second") || strstr(blurb, "bits/sec") ||
			      strstr(blurb, "in bps") || strstr(blurb, "(bps)")) &&
		    !strstr(blurb, "kbit") && !strstr(blurb, "Kbit") && !strstr(blurb, "kbps");

	return p && set_number(e, name, bits ? bps : kbps(bps), running);
}

static bool is_element(GstElement *e, const char *factory)
{
	GstElementFactory *f = gst_element_get_factory(e);

	return f && !strcmp(GST_OBJECT_NAME(f), factory);
}

/* "4.1" for VIRTIO_VIDEO_LEVEL_H264_4_1 */
static const char *h264_level_name(uint32_t level)
{
	static const char *const names[] = { "1", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "3",
					     "3.1", "3.2", "4", "4.1", "4.2", "5", "5.1" };

	if (level < VIRTIO_VIDEO_LEVEL_H264_MIN || level > VIRTIO_VIDEO_LEVEL_H264_MAX)
		return NULL;
	return names[level - VIRTIO_VIDEO_LEVEL_H264_MIN];
}

static void configure_x264(GstElement *e, const struct vv_encoder_config *c)
{
	GString *opts = g_string_new(NULL);

	/* Every x264enc bitrate mode is ABR capped at the bitrate by a VBV
	 * buffer; VBR gets a longer buffer, so the rate may swing more. */
	set_nick(e, "pass", "cbr");
	set_bitrate(e, "bitrate", c->bitrate, false);
	set_number(e, "vbv-buf-capacity", c->rate_control == VV_RC_CBR ? 500 : 2000, false);
	set_nick(e, "speed-preset", "superfast");
	set_nick(e, "tune", "zerolatency");
	set_number(e, "bframes", 0, false);
	set_nick(e, "byte-stream", "true");
	set_nick(e, "aud", "false");
	set_number(e, "key-int-max", c->gop_size, false);
	if (gs_threads > 0)
		set_number(e, "threads", (uint64_t)gs_threads, false);
	if (c->gop_size)
		g_string_append(opts, "scenecut=0");
	if (h264_level_name(c->level))
		g_string_append_printf(opts, "%slevel=%s", opts->len ? ":" : "",
				       h264_level_name(c->level));
	g_object_set(e, "option-string", opts->str, NULL);
	g_string_free(opts, TRUE);
}

static void configure_x265(GstElement *e, const struct vv_encoder_config *c)
{
	uint32_t max = c->rate_control == VV_RC_CBR ? c->bitrate : c->bitrate_peak;
	uint32_t buf = c->rate_control == VV_RC_CBR ? c->bitrate / 2 : c->bitrate_peak;
	char opts[160];

	set_bitrate(e, "bitrate", c->bitrate, false);
	set_nick(e, "speed-preset", "ultrafast");
	set_nick(e, "tune", "zerolatency");
	set_number(e, "key-int-max", c->gop_size, false);
	snprintf(opts, sizeof(opts), "log-level=error:bframes=0:vbv-maxrate=%u:vbv-bufsize=%u%s",
		 kbps(max), kbps(buf), c->gop_size ? ":scenecut=0" : "");
	g_object_set(e, "option-string", opts, NULL);
}

static void configure_vpx(GstElement *e, const struct vv_encoder_config *c)
{
	set_number(e, "target-bitrate", c->bitrate, false);
	set_nick(e, "deadline", "1");	/* realtime */
	set_number(e, "cpu-used", 8, false);
	set_number(e, "lag-in-frames", 0, false);
	if (c->gop_size)
		set_number(e, "keyframe-max-dist", c->gop_size, false);
	if (is_element(e, "vp9enc"))
		set_nick(e, "row-mt", "true");
	if (gs_threads > 0)
		set_number(e, "threads", (uint64_t)gs_threads, false);
	if (c->rate_control == VV_RC_CBR) {
		set_nick(e, "end-usage", "cbr");
		set_number(e, "buffer-size", 500, false);
		set_number(e, "buffer-initial-size", 300, false);
		set_number(e, "buffer-optimal-size", 400, false);
	} else {
		set_nick(e, "end-usage", "vbr");
		/*
		 * The peak as overshoot over the target, in percent: libvpx
		 * refuses more than 100 (the encoder does not open), so a
		 * peak above twice the target is held at twice.
		 */
		set_number(e, "overshoot",
			   MIN(100, (uint64_t)c->bitrate_peak * 100 / c->bitrate - 100), false);
	}
}

/* Any other encoder: the property names hardware encoders share. */
static void configure_other(GstElement *e, const struct vv_encoder_config *c)
{
	const char *mode = c->rate_control == VV_RC_CBR ? "cbr" : "vbr";

	set_bitrate(e, "bitrate", c->bitrate, false);
	if (c->rate_control == VV_RC_VBR)
		set_bitrate(e, "max-bitrate", c->bitrate_peak, false);
	/* openh264enc has no "cbr"/"vbr", only "bitrate" (average rate) */
	if (!set_nick(e, "rate-control", mode) && !set_nick(e, "rc-mode", mode))
		set_nick(e, "rate-control", "bitrate");
	if (gs_threads > 0)
		set_number(e, "multi-thread", (uint64_t)gs_threads, false);
	if (c->gop_size && !set_number(e, "gop-size", c->gop_size, false) &&
	    !set_number(e, "key-int-max", c->gop_size, false))
		set_number(e, "keyframe-period", c->gop_size, false);
	set_number(e, "bframes", 0, false);
	set_number(e, "b-frames", 0, false);
	set_nick(e, "zerolatency", "true");
	set_nick(e, "aud", "false");
}

static void configure(GstElement *e, const struct vv_encoder_config *c)
{
	if (is_element(e, "x264enc"))
		configure_x264(e, c);
	else if (is_element(e, "x265enc"))
		configure_x265(e, c);
	else if (is_element(e, "vp8enc") || is_element(e, "vp9enc"))
		configure_vpx(e, c);
	else
		configure_other(e, c);
}

/* What the encoder must produce: the codec with the guest's profile and level. */
static GstCaps *coded_caps(const struct vv_encoder *enc)
{
	const struct vv_encoder_config *c = &enc->config;
	GstCaps *caps = gst_caps_from_string(enc->codec->enc_caps);
	static const char *const h264_profiles[] = { "baseline", "main", "extended", "high" };

	if (c->coded_format == VIRTIO_VIDEO_FORMAT_H264) {
		uint32_t p = c->profile - VIRTIO_VIDEO_PROFILE_H264_BASELINE;

		if (c->profile >= VIRTIO_VIDEO_PROFILE_H264_BASELINE && p < 4)
			gst_caps_set_simple(caps, "profile", G_TYPE_STRING, h264_profiles[p], NULL);
		/* x264enc takes the level as an option (configure_x264) */
		if (h264_level_name(c->level) && !is_element(enc->enc, "x264enc"))
			gst_caps_set_simple(caps, "level", G_TYPE_STRING,
					    h264_level_name(c->level), NULL);
	} else if (c->coded_format == VIRTIO_VIDEO_FORMAT_HEVC && c->profile) {
		gst_caps_set_simple(caps, "profile", G_TYPE_STRING, "main", NULL);
	}
	return caps;
}

/* ---- the pipeline ---- */

static GstFlowReturn on_new_sample(GstAppSink *sink, gpointer data)
{
	struct vv_encoder *e = data;

	(void)sink;
	gs_signal_event(e->efd);
	return GST_FLOW_OK;
}

static void on_eos(GstAppSink *sink, gpointer data)
{
	struct vv_encoder *e = data;

	(void)sink;
	g_mutex_lock(&e->lock);
	e->eos = true;
	g_mutex_unlock(&e->lock);
	gs_signal_event(e->efd);
}

static GstBusSyncReply on_message(GstBus *bus, GstMessage *msg, gpointer data)
{
	struct vv_encoder *e = data;
	GError *err = NULL;
	gchar *debug = NULL;

	(void)bus;
	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
		gst_message_parse_error(msg, &err, &debug);
		g_mutex_lock(&e->lock);
		/* the first error says why (the source's follows) */
		if (!e->failed)
			fprintf(stderr, TAG "%s encoder: error from %s: %s (%s)\n", e->codec->name,
				GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err->message,
				debug ? debug : "");
		e->failed = true;
		g_mutex_unlock(&e->lock);
		gs_signal_event(e->efd);
	}
	g_clear_error(&err);
	g_free(debug);
	/* nobody reads this bus: nothing piles up */
	gst_message_unref(msg);
	return GST_BUS_DROP;
}

static void pipeline_free(struct vv_encoder *e)
{
	if (!e->pipeline)
		return;
	gst_element_set_state(e->pipeline, GST_STATE_NULL);
	gst_object_unref(e->pipeline);
	e->pipeline = e->src = e->enc = e->sink = NULL;
}

static GstElement *add(struct vv_encoder *e, const char *factory)
{
	GstElement *el = gst_element_factory_make(factory, NULL);

	if (el)
		gst_bin_add(GST_BIN(e->pipeline), el);
	return el;
}

static bool pipeline_build(struct vv_encoder *e)
{
	const struct vv_encoder_config *c = &e->config;
	bool h26x = c->coded_format == VIRTIO_VIDEO_FORMAT_H264 ||
		    c->coded_format == VIRTIO_VIDEO_FORMAT_HEVC;
	GstAppSinkCallbacks cb = { .eos = on_eos, .new_sample = on_new_sample };
	GstElement *conv, *raw_filter, *filter, *parser = NULL;
	GstCaps *caps;
	bool ok;

	e->pipeline = gst_pipeline_new(NULL);
	if (!e->pipeline)
		return false;
	gst_object_ref_sink(e->pipeline);
	e->src = add(e, "appsrc");
	conv = add(e, "videoconvert");
	raw_filter = add(e, "capsfilter");
	e->enc = gst_element_factory_create(e->factory, NULL);
	if (e->enc)
		gst_bin_add(GST_BIN(e->pipeline), e->enc);
	filter = add(e, "capsfilter");
	if (h26x)
		parser = add(e, e->codec->parser);
	e->sink = add(e, "appsink");
	if (!e->src || !conv || !raw_filter || !e->enc || !filter || (h26x && !parser) || !e->sink) {
		pipeline_free(e);
		return false;
	}
	caps = gst_video_info_to_caps(&e->info);
	/* the daemon bounds what it feeds (frames in the codec, codec.h) */
	g_object_set(e->src, "caps", caps, "format", GST_FORMAT_TIME, "is-live", FALSE,
		     "block", FALSE, "max-bytes", (guint64)0, "emit-signals", FALSE, NULL);
	gst_caps_unref(caps);
	/*
	 * 4:2:0 into the encoder, the guest's own format where it takes it
	 * (no conversion): x265enc would otherwise negotiate I444 first.
	 */
	caps = gst_caps_from_string(c->raw_format == VIRTIO_VIDEO_FORMAT_NV12 ?
				    "video/x-raw, format=(string){ NV12, I420 }" :
				    "video/x-raw, format=(string)I420");
	g_object_set(raw_filter, "caps", caps, NULL);
	gst_caps_unref(caps);
	configure(e->enc, c);
	caps = coded_caps(e);
	g_object_set(filter, "caps", caps, NULL);
	gst_caps_unref(caps);
	if (parser)
		/* -1: parameter sets before every IDR; 0: only where the encoder puts them */
		g_object_set(parser, "config-interval", c->prepend_headers ? -1 : 0, NULL);
	caps = gst_caps_from_string(h26x ? "video/x-h264, stream-format=byte-stream, "
					   "alignment=au; video/x-h265, "
					   "stream-format=byte-stream, alignment=au" :
					   e->codec->enc_caps);
	g_object_set(e->sink, "caps", caps, "sync", FALSE, "async", FALSE,
		     "enable-last-sample", FALSE, "emit-signals", FALSE, NULL);
	gst_caps_unref(caps);
	gst_app_sink_set_callbacks(GST_APP_SINK(e->sink), &cb, e, NULL);
	ok = parser ? gst_element_link_many(e->src, conv, raw_filter, e->enc, filter, parser,
					    e->sink, NULL) :
		      gst_element_link_many(e->src, conv, raw_filter, e->enc, filter, e->sink, NULL);
	if (!ok) {
		pipeline_free(e);
		return false;
	}
	if (!gs_pipeline_play(e->pipeline, on_message, e)) {
		pipeline_free(e);
		return false;
	}
	return true;
}

static void gs_enc_destroy(struct vv_encoder *e)
{
	if (!e)
		return;
	pipeline_free(e);
	if (e->efd >= 0)
		close(e->efd);
	g_mutex_clear(&e->lock);
	if (e->factory)
		gst_object_unref(e->factory);
	free(e);
}

static int gs_enc_create(const struct vv_encoder_config *config, struct vv_encoder **out)
{
	int ci = gs_codec_index(config->coded_format);
	struct vv_encoder *e;

	*out = NULL;
	if (ci < 0 || !enc_list[ci].impl[0])
		return VV_CODEC_ERR_UNSUPPORTED;
	if ((config->raw_format != VIRTIO_VIDEO_FORMAT_NV12 &&
	     config->raw_format != VIRTIO_VIDEO_FORMAT_YUV420) ||
	    !config->width || !config->height || config->width > 4096 || config->height > 4096 ||
	    !config->bitrate || !config->fps_num || !config->fps_den)
		return VV_CODEC_ERR_UNSUPPORTED;
	e = calloc(1, sizeof(*e));
	if (!e)
		return VV_CODEC_ERR_NOMEM;
	g_mutex_init(&e->lock);
	e->codec = &gs_codecs[ci];
	e->config = *config;
	if (e->config.bitrate_peak < e->config.bitrate)
		e->config.bitrate_peak = e->config.bitrate;
	e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	gst_video_info_set_format(&e->info, config->raw_format == VIRTIO_VIDEO_FORMAT_NV12 ?
				  GST_VIDEO_FORMAT_NV12 : GST_VIDEO_FORMAT_I420,
				  config->width, config->height);
	GST_VIDEO_INFO_FPS_N(&e->info) = (gint)MIN(config->fps_num, (uint32_t)G_MAXINT);
	GST_VIDEO_INFO_FPS_D(&e->info) = (gint)MIN(config->fps_den, (uint32_t)G_MAXINT);
	e->headers_once = !config->prepend_headers &&
			  (config->coded_format == VIRTIO_VIDEO_FORMAT_H264 ||
			   config->coded_format == VIRTIO_VIDEO_FORMAT_HEVC);
	if (e->efd < 0) {
		gs_enc_destroy(e);
		return VV_CODEC_ERR_NOMEM;
	}
	/* Ranked order; one that fails to start is skipped. */
	for (unsigned int i = 0; i < enc_list[ci].num && !e->pipeline; i++) {
		e->factory = gst_object_ref(enc_list[ci].cand[i]);
		if (pipeline_build(e))
			break;
		fprintf(stderr, TAG "%s encoder: %s does not start at %ux%u\n", e->codec->name,
			GST_OBJECT_NAME(e->factory), config->width, config->height);
		gst_object_unref(e->factory);
		e->factory = NULL;
	}
	if (!e->pipeline) {
		gs_enc_destroy(e);
		return VV_CODEC_ERR_UNSUPPORTED;
	}
	*out = e;
	return VV_CODEC_OK;
}

/*
 * Rate changes apply in place where the element says its properties may
 * change while PLAYING (x264enc's bitrate, a hardware encoder's bitrate); everything else
 * is a new encoder, which the device makes.
 */
static int gs_enc_reconfigure(struct vv_encoder *e, const struct vv_encoder_config *c)
{
	bool x264 = is_element(e->enc, "x264enc");

	/* x265enc's VBV limits are options, fixed at start */
	if (is_element(e->enc, "x265enc"))
		return VV_CODEC_ERR_UNSUPPORTED;
	if (c->gop_size != e->config.gop_size || c->fps_num != e->config.fps_num ||
	    c->fps_den != e->config.fps_den || c->rate_control != e->config.rate_control ||
	    (!x264 && !prop(e->enc, "bitrate", true)))
		return VV_CODEC_ERR_UNSUPPORTED;
	if (x264 && !prop(e->enc, "vbv-buf-capacity", true))
		return VV_CODEC_ERR_UNSUPPORTED;
	if (!x264 && c->rate_control == VV_RC_VBR && c->bitrate_peak != e->config.bitrate_peak &&
	    !prop(e->enc, "max-bitrate", true))
		return VV_CODEC_ERR_UNSUPPORTED;
	if (!set_bitrate(e->enc, "bitrate", c->bitrate, true))
		return VV_CODEC_ERR_UNSUPPORTED;
	if (!x264 && c->rate_control == VV_RC_VBR)
		set_bitrate(e->enc, "max-bitrate", MAX(c->bitrate_peak, c->bitrate), true);
	e->config.bitrate = c->bitrate;
	e->config.bitrate_peak = MAX(c->bitrate_peak, c->bitrate);
	return VV_CODEC_OK;
}

static GstClockTime frame_time(const struct vv_encoder *e, uint64_t n)
{
	return gst_util_uint64_scale(n, GST_SECOND * e->config.fps_den, e->config.fps_num);
}

/* The guest's planes into the default layout appsrc announced (one copy). */
static GstBuffer *load_frame(struct vv_encoder *e, const struct vv_frame *f)
{
	GstBuffer *buf;
	GstMapInfo map;

	if (f->num_planes != vv_layout_num_planes(f->format) || f->format != e->config.raw_format ||
	    f->width != e->config.width || f->height != e->config.height)
		return NULL;
	for (unsigned int i = 0; i < f->num_planes; i++)
		if (!vv_layout_plane_fits(&f->planes[i], f->format, i, f->width, f->height))
			return NULL;
	buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&e->info), NULL);
	if (!buf || !gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
		if (buf)
			gst_buffer_unref(buf);
		return NULL;
	}
	for (unsigned int i = 0; i < f->num_planes; i++) {
		uint8_t *dst = map.data + GST_VIDEO_INFO_PLANE_OFFSET(&e->info, i);
		size_t dst_stride = (size_t)GST_VIDEO_INFO_PLANE_STRIDE(&e->info, i);
		uint32_t rows, bytes;

		vv_layout_plane_geometry(f->format, i, f->width, f->height, &bytes, &rows);

		for (uint32_t y = 0; y < rows; y++)
			memcpy(dst + y * dst_stride, f->planes[i].data + (size_t)y * f->planes[i].stride,
			       bytes);
	}
	gst_buffer_unmap(buf, &map);
	return buf;
}

static bool stream_failed(struct vv_encoder *e)
{
	bool failed;

	g_mutex_lock(&e->lock);
	failed = e->failed;
	g_mutex_unlock(&e->lock);
	return failed;
}

static int gs_enc_encode(struct vv_encoder *e, const struct vv_frame *f)
{
	uint64_t n = e->frames_in;
	GstBuffer *buf;

	if (e->flushed || stream_failed(e))
		return VV_CODEC_ERR_UNSUPPORTED;
	buf = load_frame(e, f);
	if (!buf)
		return VV_CODEC_ERR_INVALID_DATA;
	GST_BUFFER_PTS(buf) = frame_time(e, n);
	GST_BUFFER_DURATION(buf) = frame_time(e, n + 1) - frame_time(e, n);
	e->ts[n % TS_RING] = f->timestamp;
	if (f->force_keyframe) {
		/* serialized: appsrc sends it right before this frame */
		GstClockTime t = GST_BUFFER_PTS(buf);

		gst_element_send_event(e->src, gst_video_event_new_downstream_force_key_unit(
						       t, t, t, TRUE, (guint)n));
	}
	if (gst_app_src_push_buffer(GST_APP_SRC(e->src), buf) != GST_FLOW_OK)
		return VV_CODEC_ERR_UNSUPPORTED;
	e->frames_in++;
	return VV_CODEC_OK;
}

static int gs_enc_flush(struct vv_encoder *e)
{
	if (e->flushed)
		return VV_CODEC_ERR_UNSUPPORTED;
	e->flushed = true;
	return gst_app_src_end_of_stream(GST_APP_SRC(e->src)) == GST_FLOW_OK ?
	       VV_CODEC_OK : VV_CODEC_ERR_UNSUPPORTED;
}

/* A new pipeline: frames and packets in flight dropped, the next frame a keyframe. */
static void gs_enc_reset(struct vv_encoder *e)
{
	pipeline_free(e);
	g_mutex_lock(&e->lock);
	e->failed = false;
	e->eos = false;
	g_mutex_unlock(&e->lock);
	gs_clear_event(e->efd);
	e->frames_in = 0;
	e->flushed = false;
	e->drained_told = false;
	e->headers_sent = false;
	if (!pipeline_build(e)) {
		fprintf(stderr, TAG "%s encoder: cannot restart after reset\n", e->codec->name);
		g_mutex_lock(&e->lock);
		e->failed = true;
		g_mutex_unlock(&e->lock);
	}
}

/* Parameter-set NAL units (H.264 SPS/PPS, HEVC VPS/SPS/PPS). */
static bool is_parameter_set(uint32_t coded_format, uint8_t nal_header)
{
	if (coded_format == VIRTIO_VIDEO_FORMAT_H264)
		return (nal_header & 0x1f) == 7 || (nal_header & 0x1f) == 8;
	return ((nal_header >> 1) & 0x3f) >= 32 && ((nal_header >> 1) & 0x3f) <= 34;
}

/* The next Annex B start code at or after pos: its offset, or n. */
static size_t next_start(const uint8_t *p, size_t n, size_t pos)
{
	for (size_t i = pos; i + 3 <= n; i++)
		if (!p[i] && !p[i + 1] && p[i + 2] == 1)
			return i > pos && !p[i - 1] ? i - 1 : i;
	return n;
}

/* A keyframe's bytes without its parameter sets (the encoder repeats them). */
static uint8_t *strip_parameter_sets(uint32_t coded_format, const uint8_t *p, size_t n,
				     size_t *out_size)
{
	uint8_t *out = malloc(n ? n : 1);
	size_t at = next_start(p, n, 0), len = 0;

	if (!out)
		return NULL;
	memcpy(out, p, at);	/* bytes before the first start code, if any */
	len = at;
	while (at < n) {
		size_t code = p[at + 2] == 1 ? 3 : 4;
		size_t end = next_start(p, n, at + code);

		if (at + code >= n || !is_parameter_set(coded_format, p[at + code])) {
			memcpy(out + len, p + at, end - at);
			len += end - at;
		}
		at = end;
	}
	*out_size = len;
	return out;
}

static int gs_enc_receive(struct vv_encoder *e, struct vv_packet *pkt)
{
	struct packet_priv *priv;
	GstSample *sample;
	GstBuffer *buf;
	bool eos;
	uint64_t n;

	gs_clear_event(e->efd);
	if (stream_failed(e))
		return VV_CODEC_ERR_UNSUPPORTED;
	sample = gst_app_sink_try_pull_sample(GST_APP_SINK(e->sink), 0);
	if (!sample) {
		g_mutex_lock(&e->lock);
		eos = e->eos;
		g_mutex_unlock(&e->lock);
		if (!eos || !e->flushed || e->drained_told)
			return 0;
		e->drained_told = true;
		return VV_CODEC_DRAINED;
	}
	gs_signal_event(e->efd);	/* there may be more */
	priv = calloc(1, sizeof(*priv));
	buf = gst_sample_get_buffer(sample);
	if (!priv || !buf || !gst_buffer_map(buf, &priv->map, GST_MAP_READ)) {
		free(priv);
		gst_sample_unref(sample);
		return VV_CODEC_ERR_NOMEM;
	}
	priv->sample = sample;
	n = GST_BUFFER_PTS_IS_VALID(buf) ?
	    gst_util_uint64_scale_round(GST_BUFFER_PTS(buf), e->config.fps_num,
					GST_SECOND * e->config.fps_den) : 0;
	*pkt = (struct vv_packet){
		.data = priv->map.data, .size = priv->map.size,
		.timestamp = e->ts[n % TS_RING],
		.type = GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT) ? VV_PACKET_P :
										 VV_PACKET_KEY,
		.priv = priv,
	};
	if (e->headers_once && e->headers_sent && pkt->type == VV_PACKET_KEY) {
		priv->copy = strip_parameter_sets(e->config.coded_format, pkt->data, pkt->size,
						  &pkt->size);
		if (!priv->copy) {
			gst_buffer_unmap(buf, &priv->map);
			gst_sample_unref(sample);
			free(priv);
			return VV_CODEC_ERR_NOMEM;
		}
		pkt->data = priv->copy;
	}
	e->headers_sent = true;
	return 1;
}

static void gs_enc_release(struct vv_encoder *e, struct vv_packet *pkt)
{
	struct packet_priv *priv = pkt->priv;

	(void)e;
	if (!priv)
		return;
	gst_buffer_unmap(gst_sample_get_buffer(priv->sample), &priv->map);
	gst_sample_unref(priv->sample);
	free(priv->copy);
	free(priv);
	pkt->priv = NULL;
}

static int gs_enc_event_fd(struct vv_encoder *e)
{
	return e->efd;
}

const struct vv_encoder_ops gs_encoder_ops = {
	.create = gs_enc_create,
	.destroy = gs_enc_destroy,
	.reconfigure = gs_enc_reconfigure,
	.encode = gs_enc_encode,
	.flush = gs_enc_flush,
	.reset = gs_enc_reset,
	.receive = gs_enc_receive,
	.release = gs_enc_release,
	.event_fd = gs_enc_event_fd,
};
