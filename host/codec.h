/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Codec plugin interface. A plugin is a shared object exporting
 * `const struct vv_codec_ops vv_codec_plugin`; the daemon dlopen()s it, so the
 * daemon itself links no codec library.
 *
 * The model is pull-based: the device feeds bitstream bytes (decode), then
 * takes pictures (receive) until none is left, writes each one into guest
 * memory in the negotiated format (write) and releases it.
 *
 * A synchronous plugin (FFmpeg with mode=sync) has every picture it can make
 * ready when decode() or flush() returns. An asynchronous plugin (GStreamer,
 * FFmpeg by default: each decodes in its own threads, so streams decode in
 * parallel) also implements event_fd(): the daemon polls that fd and calls
 * receive() again whenever it becomes readable.
 */
#ifndef VV_CODEC_H
#define VV_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VV_CODEC_ABI_VERSION 4
#define VV_CODEC_MAX_FORMATS 16

enum vv_codec_status {
	VV_CODEC_OK = 0,
	VV_CODEC_ERR_INVALID_DATA = -1,	/* this input was rejected; go on */
	VV_CODEC_ERR_UNSUPPORTED = -2,	/* the stream cannot be decoded */
	VV_CODEC_ERR_NOMEM = -3,
};

/* receive(): every picture before the flush() was returned */
#define VV_CODEC_DRAINED 2

struct vv_codec_caps {
	/* VIRTIO_VIDEO_FORMAT_* coded formats the plugin decodes */
	unsigned int num_coded;
	uint32_t coded[VV_CODEC_MAX_FORMATS];
	/* VIRTIO_VIDEO_FORMAT_* raw formats write() produces */
	unsigned int num_raw;
	uint32_t raw[VV_CODEC_MAX_FORMATS];
	uint32_t min_width, max_width, min_height, max_height;
	/*
	 * What serves coded[i], for logs and --print-capabilities, e.g.
	 * "avdec_h264" or "libavcodec h264 (cuda, software fallback)". Owned
	 * by the plugin, valid until fini(); NULL if it has nothing to say.
	 */
	const char *impl[VV_CODEC_MAX_FORMATS];
};

struct vv_codec_options {
	int threads;		/* 0: the plugin decides */
	/* Hardware decoder to use where it can ("auto", "cuda", "vaapi"...), or NULL */
	const char *hwaccel;
	/*
	 * --backend-opt KEY=VALUE strings, in command-line order. A plugin
	 * refuses (init() < 0, with a logged reason) any key it does not know.
	 */
	unsigned int num_backend_opts;
	const char *const *backend_opts;
};

/* A decoded picture; the plugin owns priv until release(). */
struct vv_picture {
	uint32_t width, height;	/* visible size */
	uint64_t timestamp;	/* the timestamp of the bitstream it started in */
	void *priv;
};

/* One destination plane, in memory the daemon mapped for the plugin. */
struct vv_plane {
	uint8_t *data;
	uint32_t stride;
	size_t size;		/* bytes available from data */
};

struct vv_decoder;

struct vv_codec_ops {
	uint32_t abi_version;
	const char *name;
	int (*init)(const struct vv_codec_options *options);
	void (*fini)(void);
	void (*get_caps)(struct vv_codec_caps *caps);

	int (*decoder_create)(uint32_t coded_format, struct vv_decoder **decoder);
	void (*decoder_destroy)(struct vv_decoder *decoder);
	/*
	 * Consumes (copies) the bytes of one bitstream buffer. Buffers may hold
	 * whole access units or arbitrary chunks of a byte stream.
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
	 * daemon checked every plane's size against the layout it negotiated.
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

#define VV_CODEC_PLUGIN_SYMBOL "vv_codec_plugin"

#endif
