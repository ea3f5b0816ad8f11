/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Codec plugin interface, ABI 6. A plugin is a shared object exporting
 * `const struct vv_codec_ops vv_codec_plugin`; the daemon dlopen()s it, so the
 * daemon itself links no codec library.
 *
 * A plugin has module ops (init, fini, get_caps) and, optionally, decoder
 * ops and encoder ops: it may offer either role or both. The daemon's
 * `--device decoder|encoder` picks the role; a plugin without that role's
 * ops (or with no format for it in get_caps) cannot serve that device.
 *
 * Both roles are pull-based. Decode: the device feeds bitstream bytes
 * (decode), then takes pictures (receive) until none is left, writes each
 * one into guest memory in the negotiated format (write) and releases it.
 * Encode: the device feeds raw frames (encode), then takes packets
 * (receive) until none is left, copies each into a guest bitstream buffer
 * and releases it.
 *
 * A synchronous plugin has everything it can make ready when decode() /
 * encode() or flush() returns. An asynchronous plugin (GStreamer; FFmpeg's
 * decoder by default: each works in its own threads, so streams run in
 * parallel) also implements event_fd(): the daemon polls that fd and calls
 * receive() again whenever it becomes readable.
 *
 * Plane geometry (rows, row bytes, default strides) is host/frame_layout.h:
 * the daemon and plugins share that one copy.
 */
#ifndef VV_CODEC_H
#define VV_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VV_CODEC_ABI_VERSION 6
#define VV_CODEC_MAX_FORMATS 16
#define VV_CODEC_MAX_VALUES 32

enum vv_codec_status {
	VV_CODEC_OK = 0,
	VV_CODEC_ERR_INVALID_DATA = -1,	/* this input was rejected; go on */
	VV_CODEC_ERR_UNSUPPORTED = -2,	/* the stream cannot be decoded/encoded */
	VV_CODEC_ERR_NOMEM = -3,
};

/* receive(): every picture (packet) before the flush() was returned */
#define VV_CODEC_DRAINED 2
/*
 * decode(): nothing was taken, the plugin holds as much as it may (its
 * input queue is full, or pictures wait to be received). The daemon keeps
 * the buffer and calls decode() again after receive() returned a picture
 * or event_fd() became readable. This is how a plugin bounds its memory:
 * it never buffers without limit and never blocks the daemon's thread.
 */
#define VV_CODEC_AGAIN 3

/* What one coded format offers in one role. */
struct vv_codec_format {
	uint32_t format;	/* VIRTIO_VIDEO_FORMAT_* (coded) */
	/*
	 * What serves it, for logs and --print-capabilities, e.g.
	 * "avdec_h264" or "libavcodec libx264 (software)". Owned by the
	 * plugin, valid until fini(); NULL if it has nothing to say.
	 */
	const char *impl;
	/* VIRTIO_VIDEO_PROFILE_* and VIRTIO_VIDEO_LEVEL_* it takes/produces */
	unsigned int num_profiles;
	uint32_t profiles[VV_CODEC_MAX_VALUES];
	unsigned int num_levels;
	uint32_t levels[VV_CODEC_MAX_VALUES];
	/* Frame sizes (step 1 unless given) and frame rates (frames/s) */
	uint32_t min_width, max_width, min_height, max_height;
	uint32_t width_step, height_step;	/* 0: 1 */
	uint32_t min_fps, max_fps;		/* 0: 1 .. 120 */
};

struct vv_codec_role_caps {
	unsigned int num_coded;
	struct vv_codec_format coded[VV_CODEC_MAX_FORMATS];
	/* VIRTIO_VIDEO_FORMAT_* raw formats: write() produces / encode() takes */
	unsigned int num_raw;
	uint32_t raw[VV_CODEC_MAX_FORMATS];
};

struct vv_codec_caps {
	struct vv_codec_role_caps decoder;	/* empty without decoder ops */
	struct vv_codec_role_caps encoder;	/* empty without encoder ops */
};

struct vv_codec_options {
	int threads;		/* 0: the plugin decides */
	/* Hardware codec to use where it can ("auto", "cuda", "vaapi"...), or NULL */
	const char *hwaccel;
	/*
	 * --backend-opt KEY=VALUE strings, in command-line order. A plugin
	 * refuses (init() < 0, with a logged reason) any key it does not know.
	 */
	unsigned int num_backend_opts;
	const char *const *backend_opts;
	/*
	 * Bitstream bytes one decoder may hold queued (copied, not decoded
	 * yet) before decode() answers VV_CODEC_AGAIN (--limit input-bytes=);
	 * 0: the plugin's own default.
	 */
	size_t max_input_bytes;
};

/* One plane of a raw frame, in memory the daemon mapped for the plugin. */
struct vv_plane {
	uint8_t *data;
	uint32_t stride;
	size_t size;		/* bytes available from data */
};

/* ---- decoder ---- */

/* A decoded picture; the plugin owns priv until release(). */
struct vv_picture {
	uint32_t width, height;	/* visible size */
	uint64_t timestamp;	/* the timestamp of the bitstream it started in */
	void *priv;
};

struct vv_decoder;

struct vv_decoder_ops {
	int (*create)(uint32_t coded_format, struct vv_decoder **decoder);
	void (*destroy)(struct vv_decoder *decoder);
	/*
	 * Consumes (copies) the bytes of one bitstream buffer. Buffers may hold
	 * whole access units or arbitrary chunks of a byte stream. Returns
	 * VV_CODEC_OK, VV_CODEC_AGAIN (not taken: try again later) or < 0.
	 * A plugin decodes ahead of receive() by a bounded number of pictures
	 * only (also inside one buffer that holds many), so a guest that
	 * queues no OUTPUT buffer cannot make it hold frames without bound.
	 */
	int (*decode)(struct vv_decoder *decoder, const struct iovec *iov,
		      unsigned int iovcnt, uint64_t timestamp);
	/* End of stream: every remaining picture becomes receivable. */
	int (*flush)(struct vv_decoder *decoder);
	/* Seek: drops buffered bitstream and pictures; ready for new input. */
	void (*reset)(struct vv_decoder *decoder);
	/*
	 * 1: picture returned, 0: none now, VV_CODEC_DRAINED: after flush(),
	 * every picture was returned (once per flush); < 0: vv_codec_status.
	 * VV_CODEC_ERR_INVALID_DATA from receive() means input decoded since
	 * the last call was corrupt (asynchronous plugins find out late);
	 * VV_CODEC_ERR_UNSUPPORTED means the stream cannot go on.
	 */
	int (*receive)(struct vv_decoder *decoder, struct vv_picture *picture);
	/*
	 * Writes the picture as VIRTIO_VIDEO_FORMAT_* format into planes. The
	 * daemon checked every plane's size against the layout it negotiated
	 * (vv_layout_plane_fits()).
	 */
	int (*write)(struct vv_decoder *decoder, const struct vv_picture *picture,
		     uint32_t format, const struct vv_plane *planes, unsigned int num_planes);
	void (*release)(struct vv_decoder *decoder, struct vv_picture *picture);
	/*
	 * Optional: the visible size of the stream once its headers were
	 * parsed, before any picture is decoded (1: known, 0: not yet). Lets the
	 * device announce the size as early as dev-decoder.rst wants.
	 */
	int (*stream_info)(struct vv_decoder *decoder, uint32_t *width, uint32_t *height);
	/*
	 * Optional (asynchronous plugins): an fd, owned by the decoder, that
	 * is readable while receive() may return something new. The plugin
	 * clears it inside receive(), before looking for pictures, so no
	 * wakeup is lost. NULL or < 0: the plugin is synchronous.
	 */
	int (*event_fd)(struct vv_decoder *decoder);
};

/* ---- encoder ---- */

enum vv_rate_control {
	VV_RC_VBR = 0,		/* average bitrate, peak <= bitrate_peak */
	VV_RC_CBR = 1,		/* constant bitrate */
};

/*
 * What an encoder produces. Every field is set by the daemon; 0 in
 * profile/level means "the plugin's default", gop_size 0 means "the
 * encoder's default keyframe interval".
 */
struct vv_encoder_config {
	uint32_t coded_format;		/* VIRTIO_VIDEO_FORMAT_H264 ... */
	uint32_t raw_format;		/* VIRTIO_VIDEO_FORMAT_NV12 or _YUV420 */
	uint32_t width, height;		/* visible size */
	uint32_t strides[3];		/* of the frames encode() will get */
	uint32_t fps_num, fps_den;	/* frame rate */
	uint32_t rate_control;		/* enum vv_rate_control */
	uint32_t bitrate;		/* bits per second */
	uint32_t bitrate_peak;		/* VBR: bits per second, >= bitrate */
	uint32_t profile;		/* VIRTIO_VIDEO_PROFILE_*, 0: default */
	uint32_t level;			/* VIRTIO_VIDEO_LEVEL_* (H.264), 0: default */
	uint32_t gop_size;		/* frames from one keyframe to the next */
	/* H.264/HEVC: parameter sets before every IDR (else only the first) */
	bool prepend_headers;
};

/* A raw frame to encode; its planes are read-only and valid during encode(). */
struct vv_frame {
	uint32_t format;		/* VIRTIO_VIDEO_FORMAT_NV12 or _YUV420 */
	uint32_t width, height;
	unsigned int num_planes;
	struct vv_plane planes[3];
	uint64_t timestamp;
	bool force_keyframe;
};

enum vv_packet_type {
	VV_PACKET_KEY = 1,		/* IDR / keyframe */
	VV_PACKET_P = 2,
	VV_PACKET_B = 3,
};

/* An encoded packet; data and priv are the plugin's until release_packet(). */
struct vv_packet {
	const uint8_t *data;
	size_t size;
	uint64_t timestamp;		/* the timestamp of its source frame */
	uint32_t type;			/* enum vv_packet_type */
	void *priv;
};

struct vv_encoder;

struct vv_encoder_ops {
	/*
	 * Low latency: no B-frames, no lookahead, one packet out per frame
	 * in (receive() returns it before encode() is called again, or, for
	 * an asynchronous plugin, as soon as it is ready).
	 */
	int (*create)(const struct vv_encoder_config *config, struct vv_encoder **encoder);
	void (*destroy)(struct vv_encoder *encoder);
	/*
	 * Mid-stream change of bitrate, bitrate_peak, rate_control, fps and
	 * gop_size: applies from the next frame. Returns VV_CODEC_ERR_UNSUPPORTED
	 * if the encoder cannot change that while running (the daemon then
	 * drains and recreates it); other fields never change this way.
	 */
	int (*reconfigure)(struct vv_encoder *encoder, const struct vv_encoder_config *config);
	/*
	 * Takes one frame. The plugin reads the planes before it returns (it
	 * copies what it keeps): the daemon gives the guest its buffer back
	 * right after.
	 */
	int (*encode)(struct vv_encoder *encoder, const struct vv_frame *frame);
	/* End of stream: every remaining packet becomes receivable. */
	int (*flush)(struct vv_encoder *encoder);
	/* Drops pending frames and packets; the next frame starts a keyframe. */
	void (*reset)(struct vv_encoder *encoder);
	/* 1: packet returned, 0: none now, VV_CODEC_DRAINED (once per flush), < 0 */
	int (*receive)(struct vv_encoder *encoder, struct vv_packet *packet);
	void (*release)(struct vv_encoder *encoder, struct vv_packet *packet);
	/* Optional, as for the decoder: readable while receive() may return more. */
	int (*event_fd)(struct vv_encoder *encoder);
};

/* ---- the module ---- */

struct vv_codec_ops {
	uint32_t abi_version;
	const char *name;
	int (*init)(const struct vv_codec_options *options);
	void (*fini)(void);
	void (*get_caps)(struct vv_codec_caps *caps);
	const struct vv_decoder_ops *decoder;	/* NULL: the plugin does not decode */
	const struct vv_encoder_ops *encoder;	/* NULL: the plugin does not encode */
};

#define VV_CODEC_PLUGIN_SYMBOL "vv_codec_plugin"

#endif
