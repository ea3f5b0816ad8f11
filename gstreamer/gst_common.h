/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the GStreamer plugin's decoder (gst_plugin.c) and encoder
 * (gst_enc.c) share: the codec table, the choice of an element per codec
 * (ranked, or named by --backend-opt), and the small helpers both
 * pipelines use (eventfd signalling, error classes, optional properties).
 */
#ifndef VV_GST_COMMON_H
#define VV_GST_COMMON_H

#include <gst/gst.h>
#include <stdbool.h>
#include <stdint.h>

#include "../host/codec.h"

#define TAG "vv-gstreamer: "

struct gs_codec {
	uint32_t format;	/* VIRTIO_VIDEO_FORMAT_* */
	const char *name;	/* for options and logs */
	const char *stream_caps;	/* the byte stream the guest sends or gets */
	const char *dec_caps;	/* what a decoder must take */
	const char *enc_caps;	/* what an encoder must produce */
	const char *parser;	/* NULL: none */
};

/* --threads (0: each element decides) */
extern int gs_threads;

#define GS_NUM_CODECS 4
extern const struct gs_codec gs_codecs[GS_NUM_CODECS];
/* The index of format in gs_codecs, or -1. */
int gs_codec_index(uint32_t format);

#define GS_MAX_CANDIDATES 16

/* The elements that may serve one codec in one role, best first. */
struct gs_choice {
	GstElementFactory *cand[GS_MAX_CANDIDATES];	/* references held until fini */
	unsigned int num;
	bool chosen;		/* by the role's option */
	bool forced;		/* by KEY=CODEC:ELEMENT (wins over KEY=ELEMENT) */
	char impl[160];		/* the first that opens, for caps; "" if none */
};

struct gs_role {
	const char *key;	/* the --backend-opt key: "decoder", "encoder" */
	const char *verb;	/* "decode", "encode": for messages */
	GstElementFactoryListType type;
	bool (*takes)(GstElementFactory *f, const struct gs_codec *c);
	struct gs_choice *choice;	/* GS_NUM_CODECS entries */
};

/* KEY=[CODEC:]ELEMENT; 0 or -1 with a logged reason. */
int gs_choice_option(const struct gs_role *role, const char *value);
/* Fills the list of every codec not chosen by option and picks the first that opens. */
void gs_choice_init(const struct gs_role *role);
void gs_choice_fini(const struct gs_role *role);

/* An eventfd's counter: up from any thread, down from the daemon's. */
void gs_signal_event(int efd);
void gs_clear_event(int efd);
/* An error after which the stream cannot go on, whatever its data. */
bool gs_fatal_error(const GError *err, const char *debug);
/* Installs the bus handler (synchronous: nothing queues) and starts the pipeline. */
bool gs_pipeline_play(GstElement *pipeline, GstBusSyncHandler on_message, gpointer data);
/* Sets an int or uint property if the element has it (not every element does). */
void gs_set_if_exists(GstElement *e, const char *prop, gint value);

/* The encoder role (gst_enc.c). */
extern const struct gs_role gs_enc_role;
extern const struct vv_encoder_ops gs_encoder_ops;
void gs_encoder_caps(struct vv_codec_role_caps *caps);

#endif
