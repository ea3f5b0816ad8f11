// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-video decoder device model (behaviour: docs/protocol.md).
 *
 * Everything the guest sends is untrusted: commands are copied out of guest
 * memory once, every field is validated before use, and guest buffers are
 * re-translated through the memory table each time they are touched.
 */
#define _GNU_SOURCE
#include "video_dev.h"

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../include/virtio_video.h"
#include "log.h"
#include "object_table.h"

#define MAX_STREAMS 256
#define MAX_RESOURCES 64		/* per queue, as VB2_MAX_FRAME */
#define MAX_ENTRIES 65536		/* per resource */
#define MAX_RESOURCE_BYTES (1ull << 30)
#define MAX_COMMAND_BYTES (88 + 16 * MAX_ENTRIES)
#define MAX_PENDING_EVENTS 64
/* Decoded pictures waiting for an OUTPUT resource before input stalls. */
#define MAX_PENDING_PICTURES 16
#define CAPS_MAX_LENGTH 4096
#define RESP_MAX_LENGTH 4096
#define DEFAULT_BITSTREAM_SIZE (1u << 20)
#define OUTPUT_MIN_BUFFERS 4

enum { Q_IN, Q_OUT, Q_COUNT };

/*
 * A scattered guest buffer seen as one range of our address space: its pages
 * mapped one after the other from the front-end's memory files, so a decoded
 * picture is written in place, with no bounce buffer.
 */
struct view {
	uint8_t *reservation;		/* NULL: no view */
	size_t reservation_len;
	uint8_t *data;			/* byte 0 of the buffer */
	const struct vv_object_entry *entries;	/* what the view was made of */
	unsigned long long generation;
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
	uint32_t total_entries;
	struct vv_object_entry *entries;	/* guest pages */
	struct vv_object *objects[VIRTIO_VIDEO_MAX_PLANES];	/* virtio objects */
	/* Contiguous views of scattered plane buffers, made on first use. */
	struct view views[VIRTIO_VIDEO_MAX_PLANES];
	/* While queued */
	struct vu_elem *elem;
	uint64_t timestamp;
	uint32_t data_size;
};

struct params {
	uint32_t format;
	uint32_t width, height;
	uint32_t min_buffers, max_buffers;
	uint32_t frame_rate;
	uint32_t num_planes;
	uint32_t stride[VIRTIO_VIDEO_MAX_PLANES];
	uint32_t plane_size[VIRTIO_VIDEO_MAX_PLANES];
};

struct pending_picture {
	struct vv_picture pic;
	bool eos;
};

struct counters {
	unsigned long long frames_decoded, frames_output, input_errors;
	unsigned long long res_pages[Q_COUNT], res_objects[Q_COUNT];
	unsigned long long bytes_copied;
};

struct stream {
	struct stream *next;
	uint32_t id;
	uint32_t coded_format;
	uint32_t mem_type[Q_COUNT];
	struct params params[Q_COUNT];
	struct vv_decoder *dec;
	struct resource *resources[Q_COUNT];
	unsigned int num_resources[Q_COUNT];
	struct resource *queued_head[Q_COUNT], *queued_tail[Q_COUNT];
	struct pending_picture *pictures;	/* FIFO, picture_count from picture_first */
	unsigned int picture_first, picture_count, picture_cap;
	bool size_known;		/* a picture's size has been announced */
	bool res_change_pending;	/* waiting for the driver's acknowledgement */
	bool failed;			/* the codec cannot go on */
	bool late_error;		/* receive() reported corrupt input: ERR next */
	int event_fd;			/* asynchronous codec's fd, -1: synchronous */
	struct vu_elem *drain_elem;	/* STREAM_DRAIN in progress */
	/*
	 * The codec was flushed since its last input, and (codec_drained) said
	 * every picture of that flush was returned. Both outlive a drain that
	 * QUEUE_CLEAR(OUTPUT) cancelled (a resolution change found during the
	 * drain): a STREAM_DRAIN sent again resumes it without a second flush.
	 * New bitstream, QUEUE_CLEAR(INPUT) and a new codec forget them.
	 */
	bool drain_flushed;
	bool codec_drained;
	unsigned int flushes_out;	/* flush() calls whose VV_CODEC_DRAINED is due */
	bool drain_eos_sent;
	bool params_ext_logged;		/* the crosvm-dialect info line is out */
	struct counters stats;
};

struct vv_video_dev {
	struct vu_dev vu;
	const struct vv_codec_ops *codec;
	struct vv_codec_caps caps;
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
	/* GET/SET_PARAMS_EXT answered; off (--no-params-ext) they are unknown commands. */
	bool params_ext;
	/* PER_RESOURCE_MEM_TYPE offered; off (--no-per-resource-mem) as crosvm's device. */
	bool per_res_mem;
};

static struct vv_video_dev *to_video(struct vu_dev *vu)
{
	return (struct vv_video_dev *)((char *)vu - offsetof(struct vv_video_dev, vu));
}

static int queue_index(uint32_t queue_type)
{
	switch (queue_type) {
	case VIRTIO_VIDEO_QUEUE_TYPE_INPUT:
		return Q_IN;
	case VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT:
		return Q_OUT;
	default:
		return -1;
	}
}

static uint32_t queue_type_of(int q)
{
	return q == Q_IN ? VIRTIO_VIDEO_QUEUE_TYPE_INPUT : VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
}

static const char *queue_name(int q)
{
	return q == Q_IN ? "input" : "output";
}

static const char *mem_type_name(uint32_t mem_type)
{
	return mem_type == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT ? "virtio-object" : "guest-pages";
}

static bool has_format(const uint32_t *list, unsigned int n, uint32_t format)
{
	for (unsigned int i = 0; i < n; i++)
		if (list[i] == format)
			return true;
	return false;
}

/* ---- raw frame layouts ---- */

static uint32_t align_up(uint32_t v, uint32_t a)
{
	return (v + a - 1) / a * a;
}

static unsigned int format_planes(uint32_t format)
{
	switch (format) {
	case VIRTIO_VIDEO_FORMAT_NV12:
		return 2;
	case VIRTIO_VIDEO_FORMAT_YUV420:
	case VIRTIO_VIDEO_FORMAT_YVU420:
		return 3;
	case VIRTIO_VIDEO_FORMAT_ARGB8888:
	case VIRTIO_VIDEO_FORMAT_BGRA8888:
		return 1;
	default:
		return 0;
	}
}

/* Bytes of pixel data in one row of plane p, and the plane's rows. */
static void plane_geometry(uint32_t format, unsigned int p, uint32_t w, uint32_t h,
			   uint32_t *row_bytes, uint32_t *rows)
{
	uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2;

	switch (format) {
	case VIRTIO_VIDEO_FORMAT_NV12:
		*row_bytes = p == 0 ? w : 2 * cw;
		*rows = p == 0 ? h : ch;
		break;
	case VIRTIO_VIDEO_FORMAT_YUV420:
	case VIRTIO_VIDEO_FORMAT_YVU420:
		*row_bytes = p == 0 ? w : cw;
		*rows = p == 0 ? h : ch;
		break;
	default:
		*row_bytes = 4 * w;
		*rows = h;
		break;
	}
}

/*
 * Fills num_planes, strides and sizes of an OUTPUT params for its format and
 * size. Strides the driver asked for are kept when they still fit.
 */
static void compute_layout(struct params *p, const uint32_t *wanted_stride)
{
	uint32_t luma = align_up(p->width, 16);

	p->num_planes = format_planes(p->format);
	for (unsigned int i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
		uint32_t row_bytes, rows, stride;

		if (i >= p->num_planes) {
			p->stride[i] = 0;
			p->plane_size[i] = 0;
			continue;
		}
		plane_geometry(p->format, i, p->width, p->height, &row_bytes, &rows);
		switch (p->format) {
		case VIRTIO_VIDEO_FORMAT_YUV420:
		case VIRTIO_VIDEO_FORMAT_YVU420:
			stride = i == 0 ? luma : luma / 2;
			break;
		case VIRTIO_VIDEO_FORMAT_NV12:
			stride = luma;
			break;
		default:
			stride = luma * 4;
			break;
		}
		if (wanted_stride && wanted_stride[i] >= row_bytes)
			stride = wanted_stride[i];
		p->stride[i] = stride;
		p->plane_size[i] = stride * rows;
	}
}

/* ---- responses and events ---- */

static void push_reply(struct vv_video_dev *dev, struct vu_elem *elem, const void *resp,
		       size_t len)
{
	size_t put;

	if (elem->in_len < len) {
		struct virtio_video_cmd_hdr err;

		if (elem->in_len < sizeof(err)) {
			vu_queue_push(&dev->vu, elem, 0);
			return;
		}
		memcpy(&err, resp, sizeof(err));
		err.type = htole32(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		put = iov_from_buf(elem->in, elem->in_num, 0, &err, sizeof(err));
		vu_queue_push(&dev->vu, elem, (uint32_t)put);
		return;
	}
	put = iov_from_buf(elem->in, elem->in_num, 0, resp, len);
	vu_queue_push(&dev->vu, elem, (uint32_t)put);
}

static void reply_hdr(struct vv_video_dev *dev, struct vu_elem *elem, uint32_t type,
		      uint32_t stream_id)
{
	struct virtio_video_cmd_hdr hdr = {
		.type = htole32(type), .stream_id = htole32(stream_id),
	};

	push_reply(dev, elem, &hdr, sizeof(hdr));
}

static void deliver_events(struct vv_video_dev *dev)
{
	while (dev->num_pending_events && dev->num_event_bufs) {
		struct vu_elem *elem = dev->event_bufs[--dev->num_event_bufs];
		size_t put;

		if (elem->in_len < sizeof(struct virtio_video_event)) {
			vu_queue_push(&dev->vu, elem, 0);
			continue;
		}
		put = iov_from_buf(elem->in, elem->in_num, 0, &dev->pending_events[0],
				   sizeof(struct virtio_video_event));
		vu_queue_push(&dev->vu, elem, (uint32_t)put);
		memmove(&dev->pending_events[0], &dev->pending_events[1],
			--dev->num_pending_events * sizeof(dev->pending_events[0]));
	}
}

static void post_event(struct vv_video_dev *dev, uint32_t type, uint32_t stream_id)
{
	if (dev->num_pending_events == MAX_PENDING_EVENTS) {
		log_warn("event queue full: oldest event dropped");
		memmove(&dev->pending_events[0], &dev->pending_events[1],
			--dev->num_pending_events * sizeof(dev->pending_events[0]));
	}
	dev->pending_events[dev->num_pending_events++] = (struct virtio_video_event){
		.event_type = htole32(type), .stream_id = htole32(stream_id),
	};
	deliver_events(dev);
}

/* Answers a queued resource and takes it off its FIFO (the caller did). */
static void complete_resource(struct vv_video_dev *dev, struct stream *s,
			      struct resource *r, uint64_t timestamp, uint32_t flags,
			      uint32_t size)
{
	struct virtio_video_resource_queue_resp resp = {
		.hdr.type = htole32(VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE),
		.hdr.stream_id = htole32(s->id),
		.timestamp = htole64(timestamp),
		.flags = htole32(flags),
		.size = htole32(size),
	};

	push_reply(dev, r->elem, &resp, sizeof(resp));
	r->elem = NULL;
}

static struct resource *dequeue(struct stream *s, int q)
{
	struct resource *r = s->queued_head[q];

	if (r) {
		s->queued_head[q] = r->queued_next;
		if (!s->queued_head[q])
			s->queued_tail[q] = NULL;
		r->queued_next = NULL;
	}
	return r;
}

static void enqueue(struct stream *s, int q, struct resource *r)
{
	r->queued_next = NULL;
	if (s->queued_tail[q])
		s->queued_tail[q]->queued_next = r;
	else
		s->queued_head[q] = r;
	s->queued_tail[q] = r;
}

/* Answers every queued resource of queue q with the ERR flag. */
static void flush_queued(struct vv_video_dev *dev, struct stream *s, int q)
{
	struct resource *r;

	while ((r = dequeue(s, q)))
		complete_resource(dev, s, r, r->timestamp, VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
}

/* ---- decoded pictures ---- */

static struct pending_picture *picture_at(struct stream *s, unsigned int i)
{
	return &s->pictures[(s->picture_first + i) % s->picture_cap];
}

/* The codec takes new input (or was reset): a later drain flushes it again. */
static void forget_flush(struct stream *s)
{
	s->drain_flushed = false;
	s->codec_drained = false;
}

/*
 * Answers a drain in progress with ERR_INVALID_OPERATION. Whether the codec
 * was flushed (and drained) is kept: QUEUE_CLEAR(INPUT) forgets it, a drain
 * sent again resumes from it.
 */
static void cancel_drain(struct vv_video_dev *dev, struct stream *s)
{
	if (s->drain_elem) {
		reply_hdr(dev, s->drain_elem, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION, s->id);
		/* No drain waits for the EOS mark any more. */
		for (unsigned int i = 0; i < s->picture_count; i++)
			picture_at(s, i)->eos = false;
	}
	s->drain_elem = NULL;
	s->drain_eos_sent = false;
}

static bool picture_push(struct stream *s, const struct vv_picture *pic)
{
	if (s->picture_count == s->picture_cap) {
		unsigned int cap = s->picture_cap ? s->picture_cap * 2 : 32;
		struct pending_picture *n = calloc(cap, sizeof(*n));

		if (!n)
			return false;
		for (unsigned int i = 0; i < s->picture_count; i++)
			n[i] = *picture_at(s, i);
		free(s->pictures);
		s->pictures = n;
		s->picture_cap = cap;
		s->picture_first = 0;
	}
	*picture_at(s, s->picture_count) = (struct pending_picture){ .pic = *pic };
	s->picture_count++;
	return true;
}

static void picture_drop_first(struct vv_video_dev *dev, struct stream *s)
{
	dev->codec->release(s->dec, &picture_at(s, 0)->pic);
	s->picture_first = (s->picture_first + 1) % s->picture_cap;
	s->picture_count--;
}

static void drop_pictures(struct vv_video_dev *dev, struct stream *s)
{
	while (s->picture_count)
		picture_drop_first(dev, s);
}

static void stream_fail(struct vv_video_dev *dev, struct stream *s, const char *why)
{
	if (s->failed)
		return;
	log_warn("stream %u: %s; stream failed", s->id, why);
	s->failed = true;
	post_event(dev, VIRTIO_VIDEO_EVENT_ERROR, s->id);
}

/* Marks the end of a drain: the last pending picture, else an empty buffer. */
static void mark_drain_end(struct stream *s)
{
	if (s->drain_elem && s->picture_count)
		picture_at(s, s->picture_count - 1)->eos = true;
}

static void codec_drained(struct stream *s)
{
	s->codec_drained = true;
	mark_drain_end(s);
}

/*
 * Takes the pictures the codec has ready: every one from a synchronous codec
 * (its input already stops at MAX_PENDING_PICTURES), up to that many pending
 * from an asynchronous one, whose pictures then wait in the codec until
 * OUTPUT resources make room. A late VV_CODEC_ERR_INVALID_DATA flags the next
 * OUTPUT resource returned; decoding goes on.
 */
static void collect_pictures(struct vv_video_dev *dev, struct stream *s)
{
	unsigned int errors = 0;
	struct vv_picture pic;
	int ret;

	for (;;) {
		if (s->failed ||
		    (s->event_fd >= 0 && s->picture_count >= MAX_PENDING_PICTURES))
			return;
		ret = dev->codec->receive(s->dec, &pic);
		if (ret == 1) {
			if (!picture_push(s, &pic)) {
				dev->codec->release(s->dec, &pic);
				stream_fail(dev, s, "out of memory for pictures");
				return;
			}
			s->stats.frames_decoded++;
		} else if (ret == VV_CODEC_DRAINED ||
			   (ret == 0 && s->flushes_out && s->event_fd < 0)) {
			/*
			 * A synchronous codec has everything out after flush().
			 * An earlier flush's end (new input came after it) does
			 * not end the last one's.
			 */
			s->flushes_out = ret == VV_CODEC_DRAINED && s->flushes_out ?
					 s->flushes_out - 1 : 0;
			if (s->drain_flushed && !s->flushes_out && !s->codec_drained)
				codec_drained(s);
			return;
		} else if (ret == 0) {
			return;
		} else if (ret == VV_CODEC_ERR_INVALID_DATA && ++errors <= MAX_PENDING_PICTURES) {
			log_debug("stream %u: the codec reports corrupt input", s->id);
			s->stats.input_errors++;
			s->late_error = true;
		} else {
			stream_fail(dev, s, ret == VV_CODEC_ERR_UNSUPPORTED ?
				    "unsupported picture format" : "codec error");
			return;
		}
	}
}

/* ---- guest buffers ---- */

/*
 * Maps bytes [offset, offset+len) of the buffer made of entries[0..n) into
 * iov; returns the count or -1 when the range is not all there.
 */
static int map_entries(struct vv_video_dev *dev, const struct vv_object_entry *entries,
		       unsigned int n, uint64_t offset, uint64_t len,
		       struct iovec *iov, unsigned int max)
{
	unsigned int count = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t take;
		int got;

		if (offset >= entries[i].len) {
			offset -= entries[i].len;
			continue;
		}
		take = entries[i].len - offset;
		if (take > len)
			take = len;
		got = vu_gpa_to_iov(&dev->vu, entries[i].addr + offset, take, iov + count,
				    max - count);
		if (got < 0)
			return -1;
		count += (unsigned int)got;
		len -= take;
		offset = 0;
	}
	return len ? -1 : (int)count;
}

static uint64_t entries_length(const struct vv_object_entry *entries, unsigned int n)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < n; i++)
		total += entries[i].len;
	return total;
}

/*
 * Where plane p of resource r lives: its entries, the offset in them and how
 * many bytes from there belong to the resource. False if the backing is gone.
 */
static bool plane_location(const struct resource *r, const struct params *p,
			   unsigned int plane, const struct vv_object_entry **entries,
			   unsigned int *n, uint64_t *offset, uint64_t *limit)
{
	bool per_plane = r->layout == VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE;

	if (r->mem_type == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT) {
		const struct vv_object *obj = r->objects[per_plane ? plane : 0];
		uint64_t size;

		if (!obj || !obj->alive || !obj->num_entries)
			return false;
		*entries = obj->entries;
		*n = obj->num_entries;
		size = entries_length(obj->entries, obj->num_entries);
		/* Never past what the GPU resource itself is. */
		if (obj->stride && (uint64_t)obj->stride * obj->height < size)
			size = (uint64_t)obj->stride * obj->height;
		*limit = size;
	} else if (per_plane) {
		*entries = r->entries + r->first_entry[plane];
		*n = r->num_entries[plane];
		*limit = entries_length(*entries, *n);
	} else {
		*entries = r->entries;
		*n = r->total_entries;
		*limit = entries_length(*entries, *n);
	}
	if (per_plane || r->num_planes == p->num_planes) {
		*offset = r->plane_offsets[plane];
	} else {
		/* Planes packed one after the other. */
		*offset = 0;
		for (unsigned int i = 0; i < plane; i++)
			*offset += p->plane_size[i];
	}
	return true;
}

static void view_drop(struct view *v)
{
	if (v->reservation)
		munmap(v->reservation, v->reservation_len);
	memset(v, 0, sizeof(*v));
}

static void resource_free(struct resource *r)
{
	for (unsigned int i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
		view_drop(&r->views[i]);
		vv_object_put(r->objects[i]);
	}
	free(r->entries);
	free(r);
}

/*
 * Maps entries[0..n) one after the other. Possible when every entry but the
 * first starts on a page and every entry but the last ends on one (what a
 * scatter list of pages is), and the front-end's memory is in files.
 */
static bool view_build(struct vv_video_dev *dev, struct view *v,
		       const struct vv_object_entry *entries, unsigned int n)
{
	const uint64_t page = 4096;
	uint64_t lead = entries[0].addr % page, total = entries_length(entries, n);
	size_t pos = 0;

	for (unsigned int i = 0; i < n; i++)
		if ((i > 0 && entries[i].addr % page) ||
		    (i + 1 < n && (entries[i].addr + entries[i].len) % page))
			return false;
	v->reservation_len = (lead + total + page - 1) / page * page;
	v->reservation = mmap(NULL, v->reservation_len, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->reservation == MAP_FAILED) {
		v->reservation = NULL;
		return false;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = entries[i].addr - (i ? 0 : lead);
		uint64_t len = (entries[i].len + (i ? 0 : lead) + page - 1) / page * page;

		while (len) {
			uint64_t offset, avail, chunk;
			int fd;

			if (!vu_gpa_to_file(&dev->vu, gpa, &fd, &offset, &avail) ||
			    offset % page)
				goto fail;
			chunk = len < avail ? len : avail;
			if (chunk % page ||
			    mmap(v->reservation + pos, chunk, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, fd, (off_t)offset) == MAP_FAILED)
				goto fail;
			pos += chunk;
			gpa += chunk;
			len -= chunk;
		}
	}
	v->data = v->reservation + lead;
	v->entries = entries;
	return true;
fail:
	view_drop(v);
	return false;
}

/* Plane buffer b of r seen contiguously, or NULL (then a bounce buffer serves). */
static uint8_t *resource_view(struct vv_video_dev *dev, struct resource *r, unsigned int b,
			      const struct vv_object_entry *entries, unsigned int n)
{
	struct view *v = &r->views[b];
	const struct vv_object *obj = r->objects[b];
	unsigned long long generation = obj ? obj->backing_generation : 0;

	if (v->reservation && (v->entries != entries || v->generation != generation))
		view_drop(v);
	if (!v->reservation) {
		if (!view_build(dev, v, entries, n))
			return NULL;
		v->generation = generation;
	}
	return v->data;
}

static uint8_t *bounce_buffer(struct vv_video_dev *dev, size_t size)
{
	if (size > dev->bounce_size) {
		uint8_t *b = realloc(dev->bounce, size);

		if (!b)
			return NULL;
		dev->bounce = b;
		dev->bounce_size = size;
	}
	return dev->bounce;
}

/*
 * Writes a picture into an OUTPUT resource in the stream's layout. Returns
 * the bytes written, 0 if the resource cannot hold it, -1 on codec failure.
 * A plane contiguous in our mapping is written in place; a scattered one
 * goes through a bounce buffer.
 */
static long write_picture(struct vv_video_dev *dev, struct stream *s, struct resource *r,
			  const struct vv_picture *pic)
{
	const struct params *p = &s->params[Q_OUT];
	struct vv_plane planes[VIRTIO_VIDEO_MAX_PLANES];
	struct iovec *iovs[VIRTIO_VIDEO_MAX_PLANES] = { 0 };
	int iov_count[VIRTIO_VIDEO_MAX_PLANES] = { 0 };
	uint8_t *in_place[VIRTIO_VIDEO_MAX_PLANES] = { 0 };
	bool per_plane = r->layout == VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE;
	size_t bounce_total = 0, bounce_off = 0;
	long written = 0;
	int ret;

	if (r->layout == VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE && r->num_planes < p->num_planes)
		return 0;
	for (unsigned int i = 0; i < p->num_planes; i++) {
		const struct vv_object_entry *entries;
		unsigned int n, max;
		uint64_t offset, limit;

		if (!plane_location(r, p, i, &entries, &n, &offset, &limit) ||
		    offset + p->plane_size[i] > limit)
			goto too_small;
		max = n + 2 * dev->vu.nregions + 2;
		iovs[i] = malloc(max * sizeof(struct iovec));
		if (!iovs[i])
			goto fail;
		iov_count[i] = map_entries(dev, entries, n, offset, p->plane_size[i], iovs[i], max);
		if (iov_count[i] < 0)
			goto too_small;
		if (iov_count[i] == 1) {
			in_place[i] = iovs[i][0].iov_base;
		} else {
			uint8_t *view = resource_view(dev, r, per_plane ? i : 0, entries, n);

			if (view)
				in_place[i] = view + offset;
			else
				bounce_total += p->plane_size[i];
		}
	}
	if (bounce_total && !bounce_buffer(dev, bounce_total))
		goto fail;
	for (unsigned int i = 0; i < p->num_planes; i++) {
		planes[i].stride = p->stride[i];
		planes[i].size = p->plane_size[i];
		if (in_place[i]) {
			planes[i].data = in_place[i];
		} else {
			planes[i].data = dev->bounce + bounce_off;
			bounce_off += p->plane_size[i];
		}
	}
	ret = dev->codec->write(s->dec, pic, p->format, planes, p->num_planes);
	if (ret < 0)
		goto fail;
	for (unsigned int i = 0; i < p->num_planes; i++) {
		if (!in_place[i])
			iov_from_buf(iovs[i], (unsigned int)iov_count[i], 0, planes[i].data,
				     planes[i].size);
		written += (long)p->plane_size[i];
		free(iovs[i]);
	}
	s->stats.bytes_copied += (unsigned long long)written + bounce_total;
	return written;
too_small:
	for (unsigned int i = 0; i < p->num_planes; i++)
		free(iovs[i]);
	return 0;
fail:
	for (unsigned int i = 0; i < p->num_planes; i++)
		free(iovs[i]);
	return -1;
}

/* ---- the stream engine ---- */

static void announce_size(struct vv_video_dev *dev, struct stream *s, uint32_t width,
			  uint32_t height)
{
	struct params *p = &s->params[Q_OUT];

	log_info("stream %u: picture size %ux%u (was %ux%u)", s->id, width, height,
		 p->width, p->height);
	p->width = width;
	p->height = height;
	compute_layout(p, NULL);
	s->size_known = true;
	s->res_change_pending = true;
	post_event(dev, VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED, s->id);
}

/* Writes pending pictures into queued OUTPUT resources; true if any progress. */
static bool output_pictures(struct vv_video_dev *dev, struct stream *s)
{
	bool progress = false;

	while (s->picture_count && !s->res_change_pending) {
		struct pending_picture *pp = picture_at(s, 0);
		struct resource *r;
		long written;

		/* Announced even with no buffer queued: the driver waits for it. */
		if (!s->size_known || pp->pic.width != s->params[Q_OUT].width ||
		    pp->pic.height != s->params[Q_OUT].height) {
			announce_size(dev, s, pp->pic.width, pp->pic.height);
			return true;
		}
		if (!s->queued_head[Q_OUT])
			break;
		r = dequeue(s, Q_OUT);
		written = write_picture(dev, s, r, &pp->pic);
		if (written <= 0) {
			if (written < 0)
				stream_fail(dev, s, "cannot write picture");
			else
				log_warn("stream %u: OUTPUT resource %u too small for %ux%u",
					 s->id, r->id, pp->pic.width, pp->pic.height);
			complete_resource(dev, s, r, pp->pic.timestamp,
					  VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
			s->late_error = false;
			if (written < 0)
				return true;
			progress = true;
			continue;
		}
		complete_resource(dev, s, r, pp->pic.timestamp,
				  (pp->eos ? VIRTIO_VIDEO_BUFFER_FLAG_EOS : 0) |
				  (s->late_error ? VIRTIO_VIDEO_BUFFER_FLAG_ERR : 0),
				  (uint32_t)written);
		s->late_error = false;
		if (pp->eos)
			s->drain_eos_sent = true;
		s->stats.frames_output++;
		picture_drop_first(dev, s);
		progress = true;
	}
	return progress;
}

/*
 * The first size of a stream goes out as soon as the codec has parsed the
 * headers, not when the first picture is out (with B-frames and frame
 * threads that is several bitstream buffers later, and a driver may hold no
 * more). Later changes follow the pictures, so old-size ones go out first.
 */
static void announce_early(struct vv_video_dev *dev, struct stream *s)
{
	uint32_t width, height;

	if (s->size_known || s->picture_count || !dev->codec->stream_info ||
	    dev->codec->stream_info(s->dec, &width, &height) != 1 ||
	    !width || !height || width > dev->caps.max_width || height > dev->caps.max_height)
		return;
	announce_size(dev, s, width, height);
}

static void decode_input(struct vv_video_dev *dev, struct stream *s, struct resource *r)
{
	const struct vv_object_entry *entries;
	unsigned int n, max;
	uint64_t offset, limit;
	struct iovec *iov = NULL;
	uint32_t flags = 0;
	int count = -1, ret;

	if (s->failed) {
		complete_resource(dev, s, r, r->timestamp, VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
		return;
	}
	if (plane_location(r, &s->params[Q_IN], 0, &entries, &n, &offset, &limit) &&
	    offset + r->data_size <= limit) {
		max = n + 2 * dev->vu.nregions + 2;
		iov = malloc(max * sizeof(*iov));
		if (iov)
			count = map_entries(dev, entries, n, offset, r->data_size, iov, max);
	}
	if (count < 0) {
		flags = VIRTIO_VIDEO_BUFFER_FLAG_ERR;
	} else if (r->data_size) {
		/* After a cancelled drain: the codec decodes again. */
		if (!s->drain_elem)
			forget_flush(s);
		ret = dev->codec->decode(s->dec, iov, (unsigned int)count, r->timestamp);
		if (ret == VV_CODEC_ERR_INVALID_DATA) {
			s->stats.input_errors++;
			flags = VIRTIO_VIDEO_BUFFER_FLAG_ERR;
		} else if (ret < 0) {
			flags = VIRTIO_VIDEO_BUFFER_FLAG_ERR;
			stream_fail(dev, s, "codec rejected the stream");
		}
		collect_pictures(dev, s);
		announce_early(dev, s);
	}
	free(iov);
	complete_resource(dev, s, r, r->timestamp, flags, 0);
}

/* Finishes a drain once its EOS buffer went out. */
static bool advance_drain(struct vv_video_dev *dev, struct stream *s)
{
	if (!s->drain_elem || s->queued_head[Q_IN])
		return false;
	if (!s->drain_flushed) {
		s->drain_flushed = true;
		if (!s->failed && dev->codec->flush(s->dec) == VV_CODEC_OK) {
			s->flushes_out++;
			collect_pictures(dev, s);
		} else {
			codec_drained(s);
		}
		return true;
	}
	/* A failed codec returns nothing more. */
	if (s->failed && !s->codec_drained)
		codec_drained(s);
	if (s->codec_drained && !s->drain_eos_sent && !s->picture_count &&
	    !s->res_change_pending && s->queued_head[Q_OUT]) {
		struct resource *r = dequeue(s, Q_OUT);

		complete_resource(dev, s, r, 0, VIRTIO_VIDEO_BUFFER_FLAG_EOS |
				  (s->late_error ? VIRTIO_VIDEO_BUFFER_FLAG_ERR : 0), 0);
		s->late_error = false;
		s->drain_eos_sent = true;
	}
	if (s->drain_eos_sent) {
		reply_hdr(dev, s->drain_elem, VIRTIO_VIDEO_RESP_OK_NODATA, s->id);
		s->drain_elem = NULL;
		forget_flush(s);
		s->drain_eos_sent = false;
		return true;
	}
	return false;
}

/* Moves the stream forward as far as the queued buffers allow. */
static void pump(struct vv_video_dev *dev, struct stream *s)
{
	bool progress;

	do {
		progress = output_pictures(dev, s);
		if (s->picture_count < MAX_PENDING_PICTURES && s->queued_head[Q_IN]) {
			decode_input(dev, s, dequeue(s, Q_IN));
			progress = true;
		}
		progress |= advance_drain(dev, s);
	} while (progress);
}

/* ---- streams and resources ---- */

static struct stream *find_stream(struct vv_video_dev *dev, uint32_t id)
{
	for (struct stream *s = dev->streams; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static struct resource *find_resource(struct stream *s, int q, uint32_t id)
{
	for (struct resource *r = s->resources[q]; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static void free_resources(struct stream *s, int q)
{
	struct resource *r = s->resources[q];

	while (r) {
		struct resource *next = r->next;

		resource_free(r);
		r = next;
	}
	s->resources[q] = NULL;
	s->num_resources[q] = 0;
}

/* Ends a stream; with answer false its pending commands are forgotten unanswered. */
static void stream_destroy(struct vv_video_dev *dev, struct stream *s, bool answer)
{
	struct stream **pp;
	const struct counters *c = &s->stats;

	for (int q = 0; q < Q_COUNT; q++) {
		if (answer) {
			flush_queued(dev, s, q);
		} else {
			struct resource *r;

			while ((r = dequeue(s, q))) {
				vu_elem_free(r->elem);
				r->elem = NULL;
			}
		}
	}
	if (answer)
		cancel_drain(dev, s);
	else if (s->drain_elem)
		vu_elem_free(s->drain_elem);
	s->drain_elem = NULL;
	drop_pictures(dev, s);
	dev->codec->decoder_destroy(s->dec);
	free(s->pictures);
	for (int q = 0; q < Q_COUNT; q++)
		free_resources(s, q);
	log_info("stream %u end: frames_decoded=%llu frames_output=%llu input_errors=%llu "
		 "res_guest_pages_in=%llu res_guest_pages_out=%llu res_virtio_object_in=%llu "
		 "res_virtio_object_out=%llu bytes_copied=%llu",
		 s->id, c->frames_decoded, c->frames_output, c->input_errors,
		 c->res_pages[Q_IN], c->res_pages[Q_OUT], c->res_objects[Q_IN],
		 c->res_objects[Q_OUT], c->bytes_copied);
	for (pp = &dev->streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	dev->num_streams--;
	dev->streams_destroyed++;
	free(s);
}

/* ---- commands ---- */

struct command {
	struct vv_video_dev *dev;
	struct vu_elem *elem;
	const uint8_t *buf;
	size_t len;
	uint32_t type;
	uint32_t stream_id;
};

static void reply(struct command *cmd, uint32_t type)
{
	reply_hdr(cmd->dev, cmd->elem, type, cmd->stream_id);
}

static void cmd_query_capability(struct command *cmd)
{
	const struct virtio_video_query_capability *req = (const void *)cmd->buf;
	struct vv_video_dev *dev = cmd->dev;
	struct virtio_video_query_capability_resp *resp;
	int q = queue_index(le32toh(req->queue_type));

	if (q < 0) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	resp = (struct virtio_video_query_capability_resp *)dev->caps_blob[q];
	resp->hdr.stream_id = htole32(cmd->stream_id);
	push_reply(dev, cmd->elem, dev->caps_blob[q], dev->caps_len[q]);
}

static void init_params(struct stream *s)
{
	struct params *in = &s->params[Q_IN], *out = &s->params[Q_OUT];

	*in = (struct params){
		.format = s->coded_format, .min_buffers = 1, .max_buffers = 32,
		.frame_rate = 30, .num_planes = 1,
	};
	in->plane_size[0] = DEFAULT_BITSTREAM_SIZE;
	*out = (struct params){
		.format = VIRTIO_VIDEO_FORMAT_NV12, .min_buffers = OUTPUT_MIN_BUFFERS,
		.max_buffers = 32, .frame_rate = 30,
	};
	compute_layout(out, NULL);
}

static bool mem_type_allowed(struct vv_video_dev *dev, uint32_t mem_type)
{
	if (mem_type == VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES)
		return true;
	return mem_type == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT &&
	       vu_has_feature(&dev->vu, VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT);
}

static int decoder_event_fd(struct vv_video_dev *dev, struct vv_decoder *dec)
{
	int fd = dev->codec->event_fd ? dev->codec->event_fd(dec) : -1;

	return fd < 0 ? -1 : fd;
}

static void cmd_stream_create(struct command *cmd)
{
	const struct virtio_video_stream_create *req = (const void *)cmd->buf;
	struct vv_video_dev *dev = cmd->dev;
	uint32_t coded = le32toh(req->coded_format);
	uint32_t in_mem = le32toh(req->in_mem_type), out_mem = le32toh(req->out_mem_type);
	struct stream *s;
	int ret;

	if (find_stream(dev, cmd->stream_id)) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
		return;
	}
	if (!has_format(dev->caps.coded, dev->caps.num_coded, coded) ||
	    !mem_type_allowed(dev, in_mem) || !mem_type_allowed(dev, out_mem)) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	if (dev->num_streams >= MAX_STREAMS) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
		return;
	}
	ret = dev->codec->decoder_create(coded, &s->dec);
	if (ret < 0) {
		free(s);
		reply(cmd, ret == VV_CODEC_ERR_NOMEM ? VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY :
		      VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	s->id = cmd->stream_id;
	s->coded_format = coded;
	s->event_fd = decoder_event_fd(dev, s->dec);
	s->mem_type[Q_IN] = in_mem;
	s->mem_type[Q_OUT] = out_mem;
	init_params(s);
	s->next = dev->streams;
	dev->streams = s;
	dev->num_streams++;
	dev->streams_created++;
	log_debug("stream %u created", s->id);
	reply(cmd, VIRTIO_VIDEO_RESP_OK_NODATA);
}

static struct stream *command_stream(struct command *cmd)
{
	struct stream *s = find_stream(cmd->dev, cmd->stream_id);

	if (!s)
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
	return s;
}

/*
 * The stream and queue a command names (queue_type follows the header in
 * every command that has one). Answers the command and returns -1 if either
 * is bad.
 */
static int command_queue(struct command *cmd, struct stream **s)
{
	uint32_t queue_type;
	int q;

	*s = command_stream(cmd);
	if (!*s)
		return -1;
	memcpy(&queue_type, cmd->buf + sizeof(struct virtio_video_cmd_hdr), sizeof(queue_type));
	q = queue_index(le32toh(queue_type));
	if (q < 0)
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
	return q;
}

static void cmd_stream_destroy(struct command *cmd)
{
	struct stream *s = command_stream(cmd);

	if (!s)
		return;
	stream_destroy(cmd->dev, s, true);
	reply(cmd, VIRTIO_VIDEO_RESP_OK_NODATA);
}

static void cmd_stream_drain(struct command *cmd)
{
	struct stream *s = command_stream(cmd);

	if (!s)
		return;
	if (s->drain_elem) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
		return;
	}
	s->drain_elem = cmd->elem;
	cmd->elem = NULL;
	if (s->queued_head[Q_IN]) {
		/* New bitstream first; then the codec is flushed (again). */
		forget_flush(s);
	} else if (s->drain_flushed) {
		/*
		 * A drain that QUEUE_CLEAR(OUTPUT) cancelled (a resolution
		 * change found after the flush), sent again: no second flush;
		 * it ends with the pictures left, on the DRAINED still due or
		 * already seen.
		 */
		log_info("stream %u: drain resumed (codec flushed before, %s)", s->id,
			 s->codec_drained ? "drained" : "drain end due");
		if (s->codec_drained)
			mark_drain_end(s);
	}
	pump(cmd->dev, s);
}

/* Resolves the UUIDs of a virtio-object RESOURCE_CREATE; one per plane buffer. */
static uint32_t parse_objects(struct command *cmd, struct resource *r, uint32_t total,
			      const uint8_t *p)
{
	uint32_t buffers = r->layout == VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE ? r->num_planes : 1;

	if (total != buffers ||
	    cmd->len - sizeof(struct virtio_video_resource_create) <
	    (size_t)total * sizeof(struct virtio_video_object_entry))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	for (uint32_t i = 0; i < total; i++) {
		struct virtio_video_object_entry e;

		memcpy(&e, p + i * sizeof(e), sizeof(e));
		r->objects[i] = vv_object_lookup(cmd->dev->objects, e.uuid);
		if (!r->objects[i]) {
			log_warn("RESOURCE_CREATE: UUID %02x%02x%02x%02x... is not a live object",
				 e.uuid[0], e.uuid[1], e.uuid[2], e.uuid[3]);
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		}
	}
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

/* Checks and copies the entries of a RESOURCE_CREATE; returns a response type. */
static uint32_t parse_entries(struct command *cmd, struct stream *s, struct resource *r,
			      const struct virtio_video_resource_create *req)
{
	struct vv_video_dev *dev = cmd->dev;
	bool single = r->layout == VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
	bool non_contig = vu_has_feature(&dev->vu, VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG);
	const uint8_t *p = cmd->buf + sizeof(*req);
	uint64_t total_len = 0;
	uint32_t total = 0;

	(void)s;
	for (unsigned int i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
		uint32_t n = le32toh(req->num_entries[i]);

		if (n > MAX_ENTRIES || (i >= r->num_planes && n))
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		if (!single && i < r->num_planes && !n)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		if (!single && n > 1 && !non_contig)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		r->first_entry[i] = total;
		r->num_entries[i] = n;
		total += n;
		if (total > MAX_ENTRIES)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	}
	if (!total || (single && total > 1 && !non_contig))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	if (r->mem_type == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT)
		return parse_objects(cmd, r, total, p);
	if (cmd->len - sizeof(*req) < (size_t)total * sizeof(struct virtio_video_mem_entry))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	r->entries = calloc(total, sizeof(*r->entries));
	if (!r->entries)
		return VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
	r->total_entries = total;
	for (uint32_t i = 0; i < total; i++) {
		struct virtio_video_mem_entry e;
		struct iovec iov[VU_MAX_REGIONS];

		memcpy(&e, p + i * sizeof(e), sizeof(e));
		r->entries[i].addr = le64toh(e.addr);
		r->entries[i].len = le32toh(e.length);
		total_len += r->entries[i].len;
		if (!r->entries[i].len || total_len > MAX_RESOURCE_BYTES ||
		    vu_gpa_to_iov(&dev->vu, r->entries[i].addr, r->entries[i].len, iov,
				  VU_MAX_REGIONS) < 0)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	}
	for (unsigned int i = 0; i < r->num_planes; i++) {
		const struct vv_object_entry *entries = single ? r->entries : r->entries + r->first_entry[i];
		unsigned int n = single ? r->total_entries : r->num_entries[i];

		if (r->plane_offsets[i] >= entries_length(entries, n))
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	}
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

static void cmd_resource_create(struct command *cmd)
{
	const struct virtio_video_resource_create *req = (const void *)cmd->buf;
	struct vv_video_dev *dev = cmd->dev;
	struct stream *s = command_stream(cmd);
	uint32_t layout, type;
	struct resource *r;
	int q;

	if (!s)
		return;
	q = queue_index(le32toh(req->queue_type));
	layout = le32toh(req->planes_layout);
	if (q < 0 || !le32toh(req->num_planes) ||
	    le32toh(req->num_planes) > VIRTIO_VIDEO_MAX_PLANES) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	if (find_resource(s, q, le32toh(req->resource_id))) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
		return;
	}
	if (s->num_resources[q] >= MAX_RESOURCES) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
		return;
	}
	r->id = le32toh(req->resource_id);
	r->num_planes = le32toh(req->num_planes);
	/*
	 * The entries are in the queue's current memory type (STREAM_CREATE,
	 * then SET_PARAMS_EXT) unless PER_RESOURCE_MEM_TYPE lets this one
	 * resource say otherwise. Without the feature an override bit stays in
	 * layout and fails the layout check below.
	 */
	r->mem_type = s->mem_type[q];
	if (vu_has_feature(&dev->vu, VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE)) {
		switch (layout & VIRTIO_VIDEO_PLANES_LAYOUT_F_MEM_TYPE_MASK) {
		case VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT:
			r->mem_type = VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
			layout &= ~VIRTIO_VIDEO_PLANES_LAYOUT_F_MEM_TYPE_MASK;
			break;
		case VIRTIO_VIDEO_PLANES_LAYOUT_F_GUEST_PAGES:
			r->mem_type = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
			layout &= ~VIRTIO_VIDEO_PLANES_LAYOUT_F_MEM_TYPE_MASK;
			break;
		default:
			break;	/* none, or both: both stay and are refused */
		}
	}
	r->layout = layout;
	for (unsigned int i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++)
		r->plane_offsets[i] = le32toh(req->plane_offsets[i]);
	if ((layout != VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER &&
	     layout != VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE) ||
	    !mem_type_allowed(dev, r->mem_type))
		type = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	else
		type = parse_entries(cmd, s, r, req);
	if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
		resource_free(r);
		reply(cmd, type);
		return;
	}
	if (r->mem_type == VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES)
		s->stats.res_pages[q]++;
	else
		s->stats.res_objects[q]++;
	r->next = s->resources[q];
	s->resources[q] = r;
	s->num_resources[q]++;
	reply(cmd, VIRTIO_VIDEO_RESP_OK_NODATA);
}

static void cmd_resource_queue(struct command *cmd)
{
	const struct virtio_video_resource_queue *req = (const void *)cmd->buf;
	struct resource *r;
	struct stream *s;
	int q = command_queue(cmd, &s);

	if (q < 0)
		return;
	if (le32toh(req->num_data_sizes) > VIRTIO_VIDEO_MAX_PLANES) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	r = find_resource(s, q, le32toh(req->resource_id));
	if (!r) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID);
		return;
	}
	if (r->elem) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
		return;
	}
	r->timestamp = le64toh(req->timestamp);
	r->data_size = 0;
	if (q == Q_IN) {
		const struct vv_object_entry *entries;
		unsigned int n;
		uint64_t offset, limit;

		r->data_size = le32toh(req->num_data_sizes) ? le32toh(req->data_sizes[0]) : 0;
		if (!plane_location(r, &s->params[Q_IN], 0, &entries, &n, &offset, &limit) ||
		    offset + r->data_size > limit) {
			reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
			return;
		}
	}
	r->elem = cmd->elem;
	cmd->elem = NULL;
	enqueue(s, q, r);
	pump(cmd->dev, s);
}

static void cmd_queue_clear(struct command *cmd)
{
	struct stream *s;
	int q = command_queue(cmd, &s);

	if (q < 0)
		return;
	flush_queued(cmd->dev, s, q);
	cancel_drain(cmd->dev, s);
	if (q == Q_IN) {
		drop_pictures(cmd->dev, s);
		cmd->dev->codec->reset(s->dec);
		forget_flush(s);
		s->flushes_out = 0;
		s->failed = false;
		s->late_error = false;
	} else {
		s->res_change_pending = false;
	}
	reply(cmd, VIRTIO_VIDEO_RESP_OK_NODATA);
}

static void cmd_resource_destroy_all(struct command *cmd)
{
	struct stream *s;
	int q = command_queue(cmd, &s);

	if (q < 0)
		return;
	if (s->queued_head[q]) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
		return;
	}
	free_resources(s, q);
	if (q == Q_OUT)
		s->res_change_pending = false;
	reply(cmd, VIRTIO_VIDEO_RESP_OK_NODATA);
	pump(cmd->dev, s);
}

static void params_to_wire(const struct params *p, int q, struct virtio_video_params *w)
{
	memset(w, 0, sizeof(*w));
	w->queue_type = htole32(queue_type_of(q));
	w->format = htole32(p->format);
	w->frame_width = htole32(p->width);
	w->frame_height = htole32(p->height);
	w->min_buffers = htole32(p->min_buffers);
	w->max_buffers = htole32(p->max_buffers);
	w->crop.width = htole32(p->width);
	w->crop.height = htole32(p->height);
	w->frame_rate = htole32(p->frame_rate);
	w->num_planes = htole32(p->num_planes);
	for (unsigned int i = 0; i < p->num_planes && i < VIRTIO_VIDEO_MAX_PLANES; i++) {
		w->plane_formats[i].plane_size = htole32(p->plane_size[i]);
		w->plane_formats[i].stride = htole32(p->stride[i]);
	}
}

static void cmd_get_params(struct command *cmd)
{
	struct virtio_video_get_params_resp resp;
	struct stream *s;
	int q = command_queue(cmd, &s);

	if (q < 0)
		return;
	resp.hdr.type = htole32(VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
	resp.hdr.stream_id = htole32(s->id);
	params_to_wire(&s->params[q], q, &resp.params);
	push_reply(cmd->dev, cmd->elem, &resp, sizeof(resp));
}

static uint32_t set_input_params(struct vv_video_dev *dev, struct stream *s,
				 const struct virtio_video_params *w)
{
	uint32_t format = le32toh(w->format);
	uint32_t size = le32toh(w->plane_formats[0].plane_size);
	struct params *p = &s->params[Q_IN];

	if (!has_format(dev->caps.coded, dev->caps.num_coded, format))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	if (format != s->coded_format) {
		struct vv_decoder *dec;

		if (s->queued_head[Q_IN] || s->drain_elem)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
		if (dev->codec->decoder_create(format, &dec) < 0)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		drop_pictures(dev, s);
		dev->codec->decoder_destroy(s->dec);
		s->dec = dec;
		s->event_fd = decoder_event_fd(dev, dec);
		forget_flush(s);
		s->flushes_out = 0;
		s->coded_format = format;
		s->failed = false;
		s->late_error = false;
		p->format = format;
	}
	if (size)
		p->plane_size[0] = size;
	p->width = le32toh(w->frame_width);
	p->height = le32toh(w->frame_height);
	if (le32toh(w->frame_rate))
		p->frame_rate = le32toh(w->frame_rate);
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

static uint32_t set_output_params(struct vv_video_dev *dev, struct stream *s,
				  const struct virtio_video_params *w)
{
	uint32_t format = le32toh(w->format);
	uint32_t stride[VIRTIO_VIDEO_MAX_PLANES];
	struct params p = s->params[Q_OUT];

	if (!has_format(dev->caps.raw, dev->caps.num_raw, format))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	p.format = format;
	if (!s->size_known) {
		/* Before the first picture the driver's size stands. */
		p.width = le32toh(w->frame_width);
		p.height = le32toh(w->frame_height);
		if (p.width > dev->caps.max_width || p.height > dev->caps.max_height)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	}
	for (unsigned int i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
		uint32_t row_bytes, rows;

		stride[i] = le32toh(w->plane_formats[i].stride);
		if (i < format_planes(format) && stride[i]) {
			plane_geometry(format, i, p.width, p.height, &row_bytes, &rows);
			if (stride[i] < row_bytes || stride[i] > (1u << 16))
				return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		}
	}
	compute_layout(&p, stride);
	s->params[Q_OUT] = p;
	s->res_change_pending = false;
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

/* SET_PARAMS of queue q (already checked); nothing changes unless it returns OK. */
static uint32_t set_queue_params(struct vv_video_dev *dev, struct stream *s, int q,
				 const struct virtio_video_params *w)
{
	if (le32toh(w->num_planes) > VIRTIO_VIDEO_MAX_PLANES)
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	return q == Q_IN ? set_input_params(dev, s, w) : set_output_params(dev, s, w);
}

static void cmd_set_params(struct command *cmd)
{
	const struct virtio_video_set_params *req = (const void *)cmd->buf;
	struct stream *s = command_stream(cmd);
	uint32_t type;
	int q;

	if (!s)
		return;
	q = queue_index(le32toh(req->params.queue_type));
	type = q < 0 ? VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER :
		       set_queue_params(cmd->dev, s, q, &req->params);
	reply(cmd, type);
	if (type == VIRTIO_VIDEO_RESP_OK_NODATA)
		pump(cmd->dev, s);
}

/*
 * crosvm's GET/SET_PARAMS_EXT. Their structs are fixed, so any other length
 * is a driver speaking something else: refused before anything is looked at.
 */
static bool command_size_exact(struct command *cmd, size_t size)
{
	if (cmd->len == size)
		return true;
	log_warn("command 0x%x of %zu bytes, expected %zu", cmd->type, cmd->len, size);
	reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
	return false;
}

/* Once per stream: which guests speak the dialect is worth knowing at info level. */
static void log_params_ext_use(struct stream *s, int q, uint32_t old_type, uint32_t new_type,
			       bool set)
{
	if (s->params_ext_logged)
		return;
	s->params_ext_logged = true;
	if (!set)
		log_info("stream %u: guest uses crosvm params-ext dialect; %s queue memory %s",
			 s->id, queue_name(q), mem_type_name(old_type));
	else if (old_type == new_type)
		log_info("stream %u: guest uses crosvm params-ext dialect; %s queue memory %s (unchanged)",
			 s->id, queue_name(q), mem_type_name(old_type));
	else
		log_info("stream %u: guest uses crosvm params-ext dialect; %s queue memory %s -> %s",
			 s->id, queue_name(q), mem_type_name(old_type), mem_type_name(new_type));
}

static void cmd_get_params_ext(struct command *cmd)
{
	struct virtio_video_get_params_ext_resp resp;
	struct stream *s;
	int q;

	if (!command_size_exact(cmd, sizeof(struct virtio_video_get_params_ext)))
		return;
	q = command_queue(cmd, &s);
	if (q < 0)
		return;
	memset(&resp, 0, sizeof(resp));
	/* crosvm answers the EXT variant with the plain GET_PARAMS response type. */
	resp.hdr.type = htole32(VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
	resp.hdr.stream_id = htole32(s->id);
	params_to_wire(&s->params[q], q, &resp.params.base);
	resp.params.resource_type = htole32(s->mem_type[q]);
	log_params_ext_use(s, q, s->mem_type[q], s->mem_type[q], false);
	push_reply(cmd->dev, cmd->elem, &resp, sizeof(resp));
}

/*
 * SET_PARAMS plus the queue's memory type. The type says how the entries of
 * later RESOURCE_CREATEs are read, so it may change only while the queue has
 * no resources: existing ones were read in the old type. Every check comes
 * before any change, so a refused command changes nothing.
 */
static void cmd_set_params_ext(struct command *cmd)
{
	const struct virtio_video_set_params_ext *req = (const void *)cmd->buf;
	struct vv_video_dev *dev = cmd->dev;
	uint32_t mem_type, old_type, type;
	struct stream *s;
	int q;

	if (!command_size_exact(cmd, sizeof(*req)))
		return;
	s = command_stream(cmd);
	if (!s)
		return;
	q = queue_index(le32toh(req->params.base.queue_type));
	mem_type = le32toh(req->params.resource_type);
	if (q < 0 || !mem_type_allowed(dev, mem_type)) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	old_type = s->mem_type[q];
	if (mem_type != old_type && s->num_resources[q]) {
		log_warn("stream %u: %s queue memory %s -> %s refused: the queue has %u resources",
			 s->id, queue_name(q), mem_type_name(old_type), mem_type_name(mem_type),
			 s->num_resources[q]);
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
		return;
	}
	type = set_queue_params(dev, s, q, &req->params.base);
	if (type == VIRTIO_VIDEO_RESP_OK_NODATA) {
		log_params_ext_use(s, q, old_type, mem_type, true);
		if (mem_type != old_type)
			log_debug("stream %u: %s queue memory %s -> %s", s->id, queue_name(q),
				  mem_type_name(old_type), mem_type_name(mem_type));
		s->mem_type[q] = mem_type;
	}
	reply(cmd, type);
	if (type == VIRTIO_VIDEO_RESP_OK_NODATA)
		pump(dev, s);
}

/* Profiles and levels a decoder answers for QUERY_CONTROL. */
static unsigned int control_values(uint32_t control, uint32_t format, uint32_t *v)
{
	unsigned int n = 0;

	if (control == VIRTIO_VIDEO_CONTROL_PROFILE) {
		switch (format) {
		case VIRTIO_VIDEO_FORMAT_H264:
			v[n++] = VIRTIO_VIDEO_PROFILE_H264_BASELINE;
			v[n++] = VIRTIO_VIDEO_PROFILE_H264_MAIN;
			v[n++] = VIRTIO_VIDEO_PROFILE_H264_HIGH;
			break;
		case VIRTIO_VIDEO_FORMAT_HEVC:
			v[n++] = VIRTIO_VIDEO_PROFILE_HEVC_MAIN;
			break;
		case VIRTIO_VIDEO_FORMAT_VP8:
			for (uint32_t p = VIRTIO_VIDEO_PROFILE_VP8_MIN;
			     p <= VIRTIO_VIDEO_PROFILE_VP8_MAX; p++)
				v[n++] = p;
			break;
		case VIRTIO_VIDEO_FORMAT_VP9:
			v[n++] = VIRTIO_VIDEO_PROFILE_VP9_PROFILE0;
			break;
		}
	} else if (control == VIRTIO_VIDEO_CONTROL_LEVEL &&
		   format == VIRTIO_VIDEO_FORMAT_H264) {
		for (uint32_t l = VIRTIO_VIDEO_LEVEL_H264_MIN; l <= VIRTIO_VIDEO_LEVEL_H264_MAX; l++)
			v[n++] = l;
	}
	return n;
}

static void cmd_query_control(struct command *cmd)
{
	const struct virtio_video_query_control *req = (const void *)cmd->buf;
	struct vv_video_dev *dev = cmd->dev;
	uint32_t control = le32toh(req->control), format, values[32];
	uint8_t resp[sizeof(struct virtio_video_query_control_resp) +
		     sizeof(struct virtio_video_query_control_resp_profile) + sizeof(values)];
	struct virtio_video_query_control_resp_profile list = { 0 };
	struct virtio_video_cmd_hdr hdr = {
		.type = htole32(VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL),
		.stream_id = htole32(cmd->stream_id),
	};
	struct virtio_video_query_control_profile arg;
	unsigned int n;
	size_t len;

	if (control != VIRTIO_VIDEO_CONTROL_PROFILE && control != VIRTIO_VIDEO_CONTROL_LEVEL) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL);
		return;
	}
	if (cmd->len < sizeof(*req) + sizeof(arg)) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	memcpy(&arg, cmd->buf + sizeof(*req), sizeof(arg));
	format = le32toh(arg.format);
	if (!has_format(dev->caps.coded, dev->caps.num_coded, format)) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	n = control_values(control, format, values);
	if (!n) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL);
		return;
	}
	list.num = htole32(n);
	for (unsigned int i = 0; i < n; i++)
		values[i] = htole32(values[i]);
	memcpy(resp, &hdr, sizeof(hdr));
	memcpy(resp + sizeof(hdr), &list, sizeof(list));
	memcpy(resp + sizeof(hdr) + sizeof(list), values, n * sizeof(uint32_t));
	len = sizeof(hdr) + sizeof(list) + n * sizeof(uint32_t);
	push_reply(dev, cmd->elem, resp, len);
}

static const struct {
	size_t size;
	bool has_stream;
	void (*handler)(struct command *cmd);
} commands[] = {
	[0x0] = { sizeof(struct virtio_video_query_capability), false, cmd_query_capability },
	[0x1] = { sizeof(struct virtio_video_stream_create), false, cmd_stream_create },
	[0x2] = { sizeof(struct virtio_video_stream_destroy), true, cmd_stream_destroy },
	[0x3] = { sizeof(struct virtio_video_stream_drain), true, cmd_stream_drain },
	[0x4] = { sizeof(struct virtio_video_resource_create), true, cmd_resource_create },
	[0x5] = { sizeof(struct virtio_video_resource_queue), true, cmd_resource_queue },
	[0x6] = { sizeof(struct virtio_video_resource_destroy_all), true,
		  cmd_resource_destroy_all },
	[0x7] = { sizeof(struct virtio_video_queue_clear), true, cmd_queue_clear },
	[0x8] = { sizeof(struct virtio_video_get_params), true, cmd_get_params },
	[0x9] = { sizeof(struct virtio_video_set_params), true, cmd_set_params },
	[0xA] = { sizeof(struct virtio_video_query_control), false, cmd_query_control },
	[0xB] = { sizeof(struct virtio_video_get_control), true, NULL },
	[0xC] = { sizeof(struct virtio_video_set_control), true, NULL },
	[0xD] = { sizeof(struct virtio_video_get_params_ext), true, cmd_get_params_ext },
	[0xE] = { sizeof(struct virtio_video_set_params_ext), true, cmd_set_params_ext },
};

/* --no-params-ext: the EXT commands get what any unknown command gets. */
static bool command_known(const struct vv_video_dev *dev, uint32_t type)
{
	if (type == VIRTIO_VIDEO_CMD_GET_PARAMS_EXT || type == VIRTIO_VIDEO_CMD_SET_PARAMS_EXT)
		return dev->params_ext;
	return true;
}

static void handle_command(struct vv_video_dev *dev, struct vu_elem *elem)
{
	struct command cmd = { .dev = dev, .elem = elem };
	struct virtio_video_cmd_hdr hdr;
	uint8_t small[256];
	uint8_t *buf = small;
	unsigned int index;

	if (elem->out_len < sizeof(hdr) || elem->out_len > MAX_COMMAND_BYTES) {
		log_warn("command of %zu bytes dropped", elem->out_len);
		vu_queue_push(&dev->vu, elem, 0);
		return;
	}
	if (elem->out_len > sizeof(small)) {
		buf = malloc(elem->out_len);
		if (!buf) {
			vu_queue_push(&dev->vu, elem, 0);
			return;
		}
	}
	cmd.len = iov_to_buf(elem->out, elem->out_num, 0, buf, elem->out_len);
	cmd.buf = buf;
	memcpy(&hdr, buf, sizeof(hdr));
	cmd.type = le32toh(hdr.type);
	cmd.stream_id = le32toh(hdr.stream_id);
	log_debug("command 0x%x stream %u (%zu bytes, %zu for the response)", cmd.type,
		  cmd.stream_id, cmd.len, elem->in_len);
	index = cmd.type - VIRTIO_VIDEO_CMD_QUERY_CAPABILITY;
	if (cmd.type < VIRTIO_VIDEO_CMD_QUERY_CAPABILITY ||
	    index >= sizeof(commands) / sizeof(commands[0]) || !command_known(dev, cmd.type)) {
		log_warn("unknown command 0x%x", cmd.type);
		reply(&cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
	} else if (cmd.len < commands[index].size) {
		log_warn("command 0x%x truncated (%zu bytes)", cmd.type, cmd.len);
		reply(&cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
	} else if (!commands[index].handler) {
		if (commands[index].has_stream && !find_stream(dev, cmd.stream_id))
			reply(&cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
		else
			reply(&cmd, VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL);
	} else {
		commands[index].handler(&cmd);
	}
	if (buf != small)
		free(buf);
}

/* ---- vhost-user glue ---- */

static uint64_t video_get_features(struct vu_dev *vu)
{
	uint64_t f = (1ull << VU_F_VERSION_1) | (1ull << VU_F_INDIRECT_DESC) |
		     (1ull << VU_F_EVENT_IDX) |
		     (1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) |
		     (1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG);

	if (to_video(vu)->per_res_mem)
		f |= 1ull << VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE;
	/* UUIDs can only be resolved with a GPU device in this process. */
	if (to_video(vu)->objects)
		f |= 1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT;
	return f;
}

static void video_set_features(struct vu_dev *vu, uint64_t features)
{
	(void)vu;
	log_debug("features 0x%llx", (unsigned long long)features);
}

static uint64_t video_get_protocol_features(struct vu_dev *vu)
{
	(void)vu;
	return (1ull << VU_PROTOCOL_F_REPLY_ACK) | (1ull << VU_PROTOCOL_F_CONFIG);
}

static int video_get_config(struct vu_dev *vu, uint8_t *buf, uint32_t len)
{
	struct virtio_video_config config = {
		.version = htole32(0),
		.max_caps_length = htole32(CAPS_MAX_LENGTH),
		.max_resp_length = htole32(RESP_MAX_LENGTH),
	};

	(void)vu;
	if (len < sizeof(config))
		return -1;
	memcpy(buf, &config, sizeof(config));
	return sizeof(config);
}

static void video_queue_kick(struct vu_dev *vu, unsigned int q)
{
	struct vv_video_dev *dev = to_video(vu);
	struct vu_elem *elem;

	if (q == VIRTIO_VIDEO_QUEUE_COMMAND) {
		while ((elem = vu_queue_pop(vu, q)))
			handle_command(dev, elem);
	} else if (q == VIRTIO_VIDEO_QUEUE_EVENT) {
		while (dev->num_event_bufs < VU_MAX_QUEUE_SIZE &&
		       (elem = vu_queue_pop(vu, q)))
			dev->event_bufs[dev->num_event_bufs++] = elem;
		deliver_events(dev);
	}
}

static void video_reset(struct vu_dev *vu)
{
	struct vv_video_dev *dev = to_video(vu);
	unsigned int alive = dev->num_streams;

	while (dev->streams)
		stream_destroy(dev, dev->streams, false);
	while (dev->num_event_bufs)
		vu_elem_free(dev->event_bufs[--dev->num_event_bufs]);
	dev->num_pending_events = 0;
	if (alive)
		log_info("device reset: %u streams dropped", alive);
}

static const struct vu_dev_ops video_ops = {
	.get_features = video_get_features,
	.set_features = video_set_features,
	.get_protocol_features = video_get_protocol_features,
	.get_config = video_get_config,
	.queue_kick = video_queue_kick,
	.reset = video_reset,
};

/* ---- capabilities ---- */

/* Appends one format descriptor with one frame-size entry to blob at *len. */
static void caps_add_desc(uint8_t *blob, size_t *len, uint64_t mask, uint32_t format,
			  uint32_t layouts, const struct vv_codec_caps *c)
{
	struct virtio_video_format_desc desc = {
		.mask = htole64(mask),
		.format = htole32(format),
		.planes_layout = htole32(layouts),
		.plane_align = htole32(1),
		.num_frames = htole32(1),
	};
	struct virtio_video_format_frame frame = {
		.width = { htole32(c->min_width), htole32(c->max_width), htole32(1), { 0 } },
		.height = { htole32(c->min_height), htole32(c->max_height), htole32(1), { 0 } },
		.num_rates = htole32(1),
	};
	struct virtio_video_format_range rate = { htole32(1), htole32(120), htole32(1), { 0 } };

	memcpy(blob + *len, &desc, sizeof(desc));
	*len += sizeof(desc);
	memcpy(blob + *len, &frame, sizeof(frame));
	*len += sizeof(frame);
	memcpy(blob + *len, &rate, sizeof(rate));
	*len += sizeof(rate);
}

static bool build_caps(struct vv_video_dev *dev)
{
	const struct vv_codec_caps *c = &dev->caps;
	size_t per_desc = sizeof(struct virtio_video_format_desc) +
			  sizeof(struct virtio_video_format_frame) +
			  sizeof(struct virtio_video_format_range);

	for (int q = 0; q < Q_COUNT; q++) {
		unsigned int n = q == Q_IN ? c->num_coded : c->num_raw;
		unsigned int other = q == Q_IN ? c->num_raw : c->num_coded;
		uint64_t mask = other >= 64 ? ~0ull : (1ull << other) - 1;
		struct virtio_video_query_capability_resp hdr = {
			.hdr.type = htole32(VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY),
			.num_descs = htole32(n),
		};
		size_t len = 0;

		dev->caps_blob[q] = calloc(1, sizeof(hdr) + n * per_desc);
		if (!dev->caps_blob[q])
			return false;
		memcpy(dev->caps_blob[q], &hdr, sizeof(hdr));
		len = sizeof(hdr);
		for (unsigned int i = 0; i < n; i++) {
			if (q == Q_IN)
				caps_add_desc(dev->caps_blob[q], &len, mask, c->coded[i],
					      VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER, c);
			else
				caps_add_desc(dev->caps_blob[q], &len, mask, c->raw[i],
					      VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER |
					      VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE, c);
		}
		dev->caps_len[q] = len;
		if (len > CAPS_MAX_LENGTH)
			return false;
	}
	return true;
}

struct vv_video_dev *vv_video_dev_new(const struct vv_codec_ops *codec,
				      struct vv_object_table *objects)
{
	struct vv_video_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->codec = codec;
	dev->objects = objects;
	dev->params_ext = true;
	dev->per_res_mem = true;
	codec->get_caps(&dev->caps);
	/* Keep only the raw formats this device can lay out. */
	for (unsigned int i = 0; i < dev->caps.num_raw;) {
		if (format_planes(dev->caps.raw[i])) {
			i++;
			continue;
		}
		dev->caps.raw[i] = dev->caps.raw[--dev->caps.num_raw];
	}
	if (!dev->caps.num_coded || !dev->caps.num_raw || !build_caps(dev)) {
		log_error("codec plugin %s offers nothing usable", codec->name);
		vv_video_dev_free(dev);
		return NULL;
	}
	vu_init(&dev->vu, "video", VIRTIO_VIDEO_NUM_QUEUES, &video_ops);
	return dev;
}

void vv_video_dev_free(struct vv_video_dev *dev)
{
	if (!dev)
		return;
	video_reset(&dev->vu);
	for (int q = 0; q < Q_COUNT; q++)
		free(dev->caps_blob[q]);
	free(dev->bounce);
	free(dev);
}

struct vu_dev *vv_video_dev_vu(struct vv_video_dev *dev)
{
	return &dev->vu;
}

void vv_video_dev_set_params_ext(struct vv_video_dev *dev, bool enabled)
{
	dev->params_ext = enabled;
}

void vv_video_dev_set_per_resource_mem(struct vv_video_dev *dev, bool enabled)
{
	dev->per_res_mem = enabled;
}

/*
 * An asynchronous decoder's fd is polled while the stream can take a
 * picture: not failed, fewer than MAX_PENDING_PICTURES pending, and an
 * OUTPUT resource queued to write into (before the first size is known the
 * picture is wanted anyway: it announces the size). Otherwise the pictures
 * wait in the codec and the fd is polled again once RESOURCE_QUEUE on OUTPUT
 * (or a drain) made room, so a readable fd never makes the loop spin.
 */
static bool stream_wants_pictures(const struct stream *s)
{
	return s->event_fd >= 0 && !s->failed && s->picture_count < MAX_PENDING_PICTURES &&
	       (!s->size_known || s->queued_head[Q_OUT]);
}

unsigned int vv_video_dev_poll_fds(struct vv_video_dev *dev, int *fds, unsigned int max)
{
	unsigned int n = 0;

	if (dev->vu.sock < 0)
		return 0;
	for (struct stream *s = dev->streams; s && n < max; s = s->next)
		if (stream_wants_pictures(s))
			fds[n++] = s->event_fd;
	return n;
}

void vv_video_dev_fd_ready(struct vv_video_dev *dev, int fd)
{
	for (struct stream *s = dev->streams; s; s = s->next) {
		if (s->event_fd != fd)
			continue;
		/* The same path as after decode(): at most MAX_PENDING_PICTURES. */
		if (stream_wants_pictures(s)) {
			collect_pictures(dev, s);
			announce_early(dev, s);
			pump(dev, s);
		}
		return;
	}
}
