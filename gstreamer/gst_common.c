// SPDX-License-Identifier: GPL-2.0-or-later
/* The GStreamer plugin's shared parts (gst_common.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../include/virtio_video.h"
#include "gst_common.h"

int gs_threads;

const struct gs_codec gs_codecs[GS_NUM_CODECS] = {
	{ VIRTIO_VIDEO_FORMAT_H264, "h264", "video/x-h264, stream-format=byte-stream",
	  "video/x-h264", "video/x-h264", "h264parse" },
	{ VIRTIO_VIDEO_FORMAT_HEVC, "hevc", "video/x-h265, stream-format=byte-stream",
	  "video/x-h265", "video/x-h265", "h265parse" },
	{ VIRTIO_VIDEO_FORMAT_VP8, "vp8", "video/x-vp8", "video/x-vp8, codec-alpha=false",
	  "video/x-vp8", NULL },
	{ VIRTIO_VIDEO_FORMAT_VP9, "vp9", "video/x-vp9", "video/x-vp9, codec-alpha=false",
	  "video/x-vp9", "vp9parse" },
};

int gs_codec_index(uint32_t format)
{
	for (int i = 0; i < GS_NUM_CODECS; i++)
		if (gs_codecs[i].format == format)
			return i;
	return -1;
}

/* ---- element choice ---- */

static const char *rank_name(guint rank, char *buf, size_t len)
{
	static const struct {
		guint rank;
		const char *name;
	} names[] = {
		{ GST_RANK_PRIMARY, "primary" },
		{ GST_RANK_SECONDARY, "secondary" },
		{ GST_RANK_MARGINAL, "marginal" },
		{ GST_RANK_NONE, "none" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		if (rank == names[i].rank) {
			snprintf(buf, len, "%s", names[i].name);
			return buf;
		}
		if (rank > names[i].rank) {
			snprintf(buf, len, "%s + %u", names[i].name, rank - names[i].rank);
			return buf;
		}
	}
	snprintf(buf, len, "%u", rank);
	return buf;
}

/* The element can be made and opened (a hardware codec opens its device). */
static bool factory_works(GstElementFactory *f)
{
	GstElement *e = gst_element_factory_create(f, NULL);
	bool ok;

	if (!e)
		return false;
	gst_object_ref_sink(e);
	ok = gst_element_set_state(e, GST_STATE_READY) != GST_STATE_CHANGE_FAILURE;
	gst_element_set_state(e, GST_STATE_NULL);
	gst_object_unref(e);
	return ok;
}

static void add_candidate(struct gs_choice *c, GstElementFactory *f)
{
	if (c->num < GS_MAX_CANDIDATES)
		c->cand[c->num++] = gst_object_ref(f);
}

static void clear_candidates(struct gs_choice *c)
{
	while (c->num)
		gst_object_unref(c->cand[--c->num]);
}

int gs_choice_option(const struct gs_role *role, const char *value)
{
	const char *colon = strchr(value, ':'), *element = value;
	GstElementFactory *f;
	bool any = false;
	int only = -1;

	if (colon) {
		for (int i = 0; i < GS_NUM_CODECS; i++)
			if (strlen(gs_codecs[i].name) == (size_t)(colon - value) &&
			    !strncmp(value, gs_codecs[i].name, (size_t)(colon - value)))
				only = i;
		if (only < 0) {
			fprintf(stderr, TAG "%s=%s: unknown codec (h264, hevc, vp8, vp9)\n",
				role->key, value);
			return -1;
		}
		element = colon + 1;
	}
	f = gst_element_factory_find(element);
	if (!f) {
		fprintf(stderr, TAG "%s=%s: no element '%s' installed\n", role->key, value,
			element);
		return -1;
	}
	for (int i = 0; i < GS_NUM_CODECS; i++) {
		struct gs_choice *c = &role->choice[i];

		if (only >= 0 && only != i)
			continue;
		if (!role->takes(f, &gs_codecs[i])) {
			if (only >= 0) {
				fprintf(stderr, TAG "%s=%s: %s does not %s %s\n", role->key, value,
					element, role->verb, gs_codecs[i].name);
				gst_object_unref(f);
				return -1;
			}
			continue;
		}
		any = true;
		/* A per-codec choice wins over a general one, whatever the order. */
		if (c->forced && only < 0)
			continue;
		clear_candidates(c);
		add_candidate(c, f);
		c->chosen = true;
		c->forced = only >= 0;
	}
	gst_object_unref(f);
	if (!any) {
		fprintf(stderr, TAG "%s=%s: %s %ss none of h264, hevc, vp8, vp9\n", role->key,
			value, element, role->verb);
		return -1;
	}
	return 0;
}

/* Every installed element of the role for the codec, highest rank first. */
static void rank_candidates(const struct gs_role *role, int ci)
{
	GList *all = gst_element_factory_list_get_elements(role->type |
							   GST_ELEMENT_FACTORY_TYPE_MEDIA_VIDEO,
							   GST_RANK_MARGINAL);

	all = g_list_sort(all, gst_plugin_feature_rank_compare_func);
	for (GList *l = all; l; l = l->next)
		if (role->takes(l->data, &gs_codecs[ci]))
			add_candidate(&role->choice[ci], l->data);
	gst_plugin_feature_list_free(all);
}

/* The first element that opens; the others stay as fallbacks. */
static void describe(const struct gs_role *role, int ci)
{
	struct gs_choice *c = &role->choice[ci];
	char rank[32];

	for (unsigned int i = 0; i < c->num; i++) {
		GstElementFactory *f = c->cand[i];

		if (!factory_works(f)) {
			fprintf(stderr, TAG "%s: %s does not open, skipped\n", gs_codecs[ci].name,
				GST_OBJECT_NAME(f));
			continue;
		}
		if (c->chosen)
			snprintf(c->impl, sizeof(c->impl), "%s (%s option)", GST_OBJECT_NAME(f),
				 role->key);
		else
			snprintf(c->impl, sizeof(c->impl), "%s (rank %s)", GST_OBJECT_NAME(f),
				 rank_name(gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(f)),
					   rank, sizeof(rank)));
		return;
	}
	c->impl[0] = 0;
}

void gs_choice_init(const struct gs_role *role)
{
	for (int i = 0; i < GS_NUM_CODECS; i++) {
		struct gs_choice *c = &role->choice[i];

		if (!c->chosen)
			rank_candidates(role, i);
		if (gs_codecs[i].parser) {
			GstElementFactory *parser = gst_element_factory_find(gs_codecs[i].parser);

			if (!parser) {
				fprintf(stderr, TAG "%s: no %s installed\n", gs_codecs[i].name,
					gs_codecs[i].parser);
				clear_candidates(c);
				continue;
			}
			gst_object_unref(parser);
		}
		describe(role, i);
		/* decoders keep the log line they always had: "h264: avdec_h264 (...)" */
		if (c->impl[0])
			fprintf(stderr, TAG "%s%s%s: %s\n", gs_codecs[i].name,
				role->type & GST_ELEMENT_FACTORY_TYPE_ENCODER ? " " : "",
				role->type & GST_ELEMENT_FACTORY_TYPE_ENCODER ? role->key : "",
				c->impl);
		else
			fprintf(stderr, TAG "%s: no %s\n", gs_codecs[i].name, role->key);
	}
}

void gs_choice_fini(const struct gs_role *role)
{
	for (int i = 0; i < GS_NUM_CODECS; i++) {
		struct gs_choice *c = &role->choice[i];

		clear_candidates(c);
		c->chosen = c->forced = false;
		c->impl[0] = 0;
	}
}

/* ---- helpers ---- */

void gs_signal_event(int efd)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is full, the fd is readable anyway */
	if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		fprintf(stderr, TAG "eventfd write: %s\n", strerror(errno));
}

void gs_clear_event(int efd)
{
	uint64_t n;

	if (read(efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		fprintf(stderr, TAG "eventfd read: %s\n", strerror(errno));
}

bool gs_fatal_error(const GError *err, const char *debug)
{
	if (debug && (strstr(debug, "not-negotiated") || strstr(debug, "not-linked")))
		return true;
	if (err->domain == GST_CORE_ERROR)
		return err->code != GST_CORE_ERROR_FAILED;
	if (err->domain == GST_STREAM_ERROR)
		return err->code == GST_STREAM_ERROR_FORMAT ||
		       err->code == GST_STREAM_ERROR_CODEC_NOT_FOUND ||
		       err->code == GST_STREAM_ERROR_NOT_IMPLEMENTED;
	/* resource (device gone), library (init) */
	return err->domain == GST_RESOURCE_ERROR || err->domain == GST_LIBRARY_ERROR;
}

void gs_set_if_exists(GstElement *e, const char *prop, gint value)
{
	GParamSpec *p = g_object_class_find_property(G_OBJECT_GET_CLASS(e), prop);

	if (!p)
		return;
	if (G_PARAM_SPEC_VALUE_TYPE(p) == G_TYPE_INT)
		g_object_set(e, prop, value, NULL);
	else if (G_PARAM_SPEC_VALUE_TYPE(p) == G_TYPE_UINT && value >= 0)
		g_object_set(e, prop, (guint)value, NULL);
}

bool gs_pipeline_play(GstElement *pipeline, GstBusSyncHandler on_message, gpointer data)
{
	GstBus *bus = gst_pipeline_get_bus(GST_PIPELINE(pipeline));

	gst_bus_set_sync_handler(bus, on_message, data, NULL);
	gst_object_unref(bus);
	return gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
}
