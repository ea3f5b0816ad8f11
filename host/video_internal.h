/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the virtio-video device model: what the role-neutral core
 * (video_dev.c), guest-buffer mapping (guest_buf.c) and the role engines
 * (video_dec.c, video_enc.c) share. Not for the rest of the daemon.
 */
#ifndef VV_VIDEO_INTERNAL_H
#define VV_VIDEO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/virtio_video.h"
#include "budget.h"
#include "codec.h"
#include "object_table.h"
#include "vhost_user.h"
#include "video_dev.h"

/* Budgets (streams, resources, entries, mappings, pending): budget.h. */
#define MAX_ENTRIES 65536		/* per resource, the most --limit entries= allows */
#define MAX_RESOURCE_BYTES (1ull << 30)
#define MAX_COMMAND_BYTES (88 + 16 * MAX_ENTRIES)
#define MAX_PENDING_EVENTS 64
#define CAPS_MAX_LENGTH 4096
#define RESP_MAX_LENGTH 4096

enum { Q_IN, Q_OUT, Q_COUNT };

/*
 * A scattered guest buffer seen as one range of our address space: its pages
 * mapped one after the other from the front-end's memory files, so a frame
 * is read or written in place, with no bounce buffer.
 */
struct view {
	uint8_t *reservation;		/* NULL: no view */
	size_t reservation_len;
	uint8_t *data;			/* byte 0 of the buffer */
	const struct vv_object_entry *entries;	/* what the view was made of */
	unsigned long long generation;
	unsigned int mappings;		/* mmap()s it took, against the budget */
};

struct resource {
	struct resource *next;		/* in the queue's resource list */
	struct resource *queued_next;	/* in the queue's FIFO while queued */
	uint32_t id;
	uint32_t mem_type;
	uint32_t layout;		/* SINGLE_BUFFER or PER_PLANE */
	uint32_t num_planes;
	uint32_t plane_offsets[VIRTIO_VIDEO_MAX_PLANES];
	/* Entries of plane i: first_entry[i] .. first_entry[i] + num_entries[i] */
	uint32_t first_entry[VIRTIO_VIDEO_MAX_PLANES];
	uint32_t num_entries[VIRTIO_VIDEO_MAX_PLANES];
	uint32_t total_entries;		/* counted in the device's entry budget */
	struct vv_object_entry *entries;	/* guest pages */
	struct vv_object *objects[VIRTIO_VIDEO_MAX_PLANES];	/* virtio objects */
	/* Contiguous views of scattered plane buffers, made on first use. */
	struct view views[VIRTIO_VIDEO_MAX_PLANES];
	/* While queued */
	struct vu_elem *elem;
	uint64_t timestamp;
	uint32_t data_size;
};

/* One queue's format. For raw frames, num_planes/stride/plane_size are the layout. */
struct params {
	uint32_t format;
	uint32_t width, height;
	uint32_t min_buffers, max_buffers;
	uint32_t frame_rate;
	uint32_t num_planes;
	uint32_t stride[VIRTIO_VIDEO_MAX_PLANES];
	uint32_t plane_size[VIRTIO_VIDEO_MAX_PLANES];
};

/* Counters both roles keep; each engine adds its own to the stream-end line. */
struct res_counters {
	unsigned long long res_pages[Q_COUNT], res_objects[Q_COUNT];
	unsigned long long bytes_copied;
};

struct stream {
	struct stream *next;
	uint32_t id;
	uint32_t coded_format;
	uint32_t mem_type[Q_COUNT];
	struct params params[Q_COUNT];
	struct resource *resources[Q_COUNT];
	unsigned int num_resources[Q_COUNT];
	struct resource *queued_head[Q_COUNT], *queued_tail[Q_COUNT];
	struct vu_elem *drain_elem;	/* STREAM_DRAIN in progress */
	/*
	 * The drain in progress went on across the QUEUE_CLEAR(OUTPUT) that
	 * acknowledged a resolution change: a STREAM_DRAIN sent again takes
	 * it over (the old one is answered ERR_INVALID_OPERATION).
	 */
	bool drain_kept;
	bool failed;			/* the codec cannot go on */
	int event_fd;			/* asynchronous codec's fd, -1: synchronous */
	/*
	 * A GET/SET_PARAMS_EXT succeeded on the stream: the guest speaks
	 * crosvm's dialect (and its info line is out), so the stream is served
	 * as crosvm's device serves it where the two differ (docs/protocol.md,
	 * "crosvm dialect": the drain's EOS on an empty buffer).
	 */
	bool params_ext_seen;
	struct res_counters stats;
	void *engine;			/* the role engine's state */
};

struct vv_video_dev;

/*
 * A device role: the decoder or the encoder engine. The core parses and
 * checks every command, keeps streams, resources and their FIFOs, and calls
 * these for what depends on the role.
 */
struct vv_role_ops {
	const char *name;		/* "decoder", "encoder" */
	uint32_t device_id;		/* VIRTIO_VIDEO_DEVICE_ID_* */
	uint64_t features;		/* role-specific feature bits offered */
	/* The plugin's formats of this role; NULL if the plugin lacks the role. */
	const struct vv_codec_role_caps *(*caps)(const struct vv_codec_caps *caps,
						 const struct vv_codec_ops *codec);
	/* Queue of the coded format (decoder: INPUT, encoder: OUTPUT). */
	int coded_queue;
	/* New stream: engine state, codec, default params. Returns a response type. */
	uint32_t (*stream_init)(struct vv_video_dev *dev, struct stream *s);
	/* Stream end: every queued resource is already off its FIFO. */
	void (*stream_fini)(struct vv_video_dev *dev, struct stream *s);
	/* SET_PARAMS of queue q; nothing changes unless it returns OK_NODATA. */
	uint32_t (*set_params)(struct vv_video_dev *dev, struct stream *s, int q,
			       const struct virtio_video_params *w);
	/* RESOURCE_QUEUE checks before the resource goes on its FIFO (may be NULL). */
	uint32_t (*check_queue)(struct vv_video_dev *dev, struct stream *s, int q,
				struct resource *r, const struct virtio_video_resource_queue *req);
	/* Moves the stream forward as far as the queued buffers allow. */
	void (*pump)(struct vv_video_dev *dev, struct stream *s);
	/* STREAM_DRAIN taken (s->drain_elem set); pump() follows. */
	void (*drain_begin)(struct vv_video_dev *dev, struct stream *s);
	/* A drain in progress was answered with an error (QUEUE_CLEAR, destroy). */
	void (*drain_cancelled)(struct vv_video_dev *dev, struct stream *s);
	/*
	 * Does a drain in progress go on across QUEUE_CLEAR(q)? (NULL: never.)
	 * Asked before the queue is cleared.
	 */
	bool (*drain_survives_clear)(const struct stream *s, int q);
	/* QUEUE_CLEAR(q), after its queued resources were answered. */
	void (*queue_clear)(struct vv_video_dev *dev, struct stream *s, int q);
	/* RESOURCE_DESTROY_ALL(q) done. */
	void (*resources_destroyed)(struct vv_video_dev *dev, struct stream *s, int q);
	/* Asynchronous codecs: poll s->event_fd now? And its readiness. */
	bool (*wants_events)(const struct stream *s);
	void (*event_ready)(struct vv_video_dev *dev, struct stream *s);
	/*
	 * GET_PARAMS_EXT's answer for queue q, from a copy of s->params[q] (may
	 * be NULL): what crosvm's device answers where ours would say less.
	 */
	void (*ext_params)(const struct stream *s, int q, struct params *p);
	/* GET/SET_CONTROL (NULL: every control is unsupported); value is 8 bytes. */
	uint32_t (*get_control)(struct vv_video_dev *dev, struct stream *s, uint32_t control,
				uint32_t *value);
	uint32_t (*set_control)(struct vv_video_dev *dev, struct stream *s, uint32_t control,
				uint32_t value);
};

extern const struct vv_role_ops vv_decoder_role;
extern const struct vv_role_ops vv_encoder_role;

struct vv_video_dev {
	struct vu_dev vu;
	const struct vv_role_ops *role;
	const struct vv_codec_ops *codec;
	struct vv_codec_caps all_caps;
	const struct vv_codec_role_caps *caps;	/* this role's, in all_caps */
	struct vv_object_table *objects;	/* NULL: no GPU device to share with */
	uint8_t *caps_blob[Q_COUNT];
	size_t caps_len[Q_COUNT];
	struct stream *streams;
	unsigned int num_streams;
	unsigned long long streams_created, streams_destroyed;
	struct vu_elem *event_bufs[VU_MAX_QUEUE_SIZE];
	unsigned int num_event_bufs;
	struct virtio_video_event pending_events[MAX_PENDING_EVENTS];
	unsigned int num_pending_events;
	uint8_t *bounce;
	size_t bounce_size;
	/* Budgets in use (budget.h): entries of every resource, view mmap()s. */
	unsigned long long entries_used, mappings_used;
	/* GET/SET_PARAMS_EXT answered; off (--no-params-ext) they are unknown commands. */
	bool params_ext;
	/* PER_RESOURCE_MEM_TYPE offered; off (--no-per-resource-mem) as crosvm's device. */
	bool per_res_mem;
};

/* ---- the core (video_dev.c) ---- */

bool vv_has_format(const uint32_t *list, unsigned int n, uint32_t format);
void vv_push_reply(struct vv_video_dev *dev, struct vu_elem *elem, const void *resp, size_t len);
void vv_reply_hdr(struct vv_video_dev *dev, struct vu_elem *elem, uint32_t type,
		  uint32_t stream_id);
void vv_post_event(struct vv_video_dev *dev, uint32_t type, uint32_t stream_id);
/* Answers a queued resource (the caller took it off its FIFO). */
void vv_complete_resource(struct vv_video_dev *dev, struct stream *s, struct resource *r,
			  uint64_t timestamp, uint32_t flags, uint32_t size);
struct resource *vv_dequeue(struct stream *s, int q);
/* Answers every queued resource of queue q with the ERR flag. */
void vv_flush_queued(struct vv_video_dev *dev, struct stream *s, int q);
/* The codec cannot go on: an ERROR event, once. */
void vv_stream_fail(struct vv_video_dev *dev, struct stream *s, const char *why);
/* Layout of a raw frame queue from its format and size (strides kept where they fit). */
bool vv_params_layout(struct params *p, const uint32_t *wanted_stride);
/* Strides of SET_PARAMS w for format at width x height; false if one is too small or large. */
bool vv_wire_strides(const struct virtio_video_params *w, uint32_t format, uint32_t width,
		     uint32_t height, uint32_t *stride);

/* ---- capabilities (video_caps.c) ---- */

/* Takes the plugin's formats for the device's role; false if none is usable. */
bool vv_take_caps(struct vv_video_dev *dev);
/* Builds the QUERY_CAPABILITY answers of both queues. */
bool vv_build_caps(struct vv_video_dev *dev);
/* The caps of coded format `format` in this role, or NULL if not offered. */
const struct vv_codec_format *vv_coded_caps(const struct vv_video_dev *dev, uint32_t format);
bool vv_raw_format_offered(const struct vv_video_dev *dev, uint32_t format);

/* ---- guest buffers (guest_buf.c) ---- */

/*
 * Maps bytes [offset, offset+len) of the buffer made of entries[0..n) into
 * iov; returns the count or -1 when the range is not all there.
 */
int vv_map_entries(struct vv_video_dev *dev, const struct vv_object_entry *entries,
		   unsigned int n, uint64_t offset, uint64_t len, struct iovec *iov,
		   unsigned int max);
/*
 * Where plane p of resource r lives: its entries, the offset in them and how
 * many bytes from there belong to the resource. False if the backing is gone.
 */
bool vv_plane_location(const struct resource *r, const struct params *p, unsigned int plane,
		       const struct vv_object_entry **entries, unsigned int *n, uint64_t *offset,
		       uint64_t *limit);
/* The bytes [0, len) of a single-plane (bitstream) resource as an iovec array. */
struct iovec *vv_map_bitstream(struct vv_video_dev *dev, struct resource *r,
			       const struct params *p, uint64_t len, int *count);
uint64_t vv_entries_length(const struct vv_object_entry *entries, unsigned int n);
/* Frees r and gives its entries and mappings back to the device's budgets. */
void vv_resource_free(struct vv_video_dev *dev, struct resource *r);

/*
 * A raw frame resource mapped plane by plane for the codec: a plane
 * contiguous in our address space (one region, or a view of scattered
 * pages) is used in place, any other through the device's bounce buffer.
 */
struct frame_map {
	unsigned int num_planes;
	struct vv_plane planes[VIRTIO_VIDEO_MAX_PLANES];
	struct iovec *iovs[VIRTIO_VIDEO_MAX_PLANES];
	int iov_count[VIRTIO_VIDEO_MAX_PLANES];
	bool bounced[VIRTIO_VIDEO_MAX_PLANES];
	size_t bounce_total;
};

/*
 * Maps r in layout p. 1: mapped; 0: the resource cannot hold the layout;
 * -1: out of memory. With read, bounced planes are filled from the guest.
 */
int vv_frame_map(struct vv_video_dev *dev, struct resource *r, const struct params *p,
		 bool read, struct frame_map *m);
/* Ends a mapping; with write_back, bounced planes are copied to the guest. */
void vv_frame_unmap(struct frame_map *m, bool write_back);

#endif
