// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The virtio-video device model's role-neutral core (behaviour:
 * docs/protocol.md): the command table, streams, resources and their queues,
 * events, params and capabilities. What depends on the role (decoder,
 * encoder) is behind struct vv_role_ops (video_dec.c, video_enc.c); guest
 * memory is reached through guest_buf.c.
 *
 * Everything the guest sends is untrusted: commands are copied out of guest
 * memory once, every field is validated before use, and guest buffers are
 * re-translated through the memory table each time they are touched.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_layout.h"
#include "log.h"
#include "video_internal.h"

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

bool vv_has_format(const uint32_t *list, unsigned int n, uint32_t format)
{
	for (unsigned int i = 0; i < n; i++)
		if (list[i] == format)
			return true;
	return false;
}

/* ---- raw frame layouts ---- */

bool vv_params_layout(struct params *p, const uint32_t *wanted_stride)
{
	struct vv_layout l;
	bool ok = vv_layout_compute(p->format, p->width, p->height, wanted_stride, &l);

	p->num_planes = l.num_planes;
	for (unsigned int i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
		p->stride[i] = l.stride[i];
		p->plane_size[i] = l.plane_size[i];
	}
	return ok;
}

bool vv_wire_strides(const struct virtio_video_params *w, uint32_t format, uint32_t width,
		     uint32_t height, uint32_t *stride)
{
	for (unsigned int i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
		uint32_t row_bytes, rows;

		stride[i] = le32toh(w->plane_formats[i].stride);
		if (i < vv_layout_num_planes(format) && stride[i]) {
			vv_layout_plane_geometry(format, i, width, height, &row_bytes, &rows);
			if (stride[i] < row_bytes || stride[i] > (1u << 16))
				return false;
		}
	}
	return true;
}

/* ---- responses and events ---- */

void vv_push_reply(struct vv_video_dev *dev, struct vu_elem *elem, const void *resp,
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

void vv_reply_hdr(struct vv_video_dev *dev, struct vu_elem *elem, uint32_t type,
		      uint32_t stream_id)
{
	struct virtio_video_cmd_hdr hdr = {
		.type = htole32(type), .stream_id = htole32(stream_id),
	};

	vv_push_reply(dev, elem, &hdr, sizeof(hdr));
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

void vv_post_event(struct vv_video_dev *dev, uint32_t type, uint32_t stream_id)
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
void vv_complete_resource(struct vv_video_dev *dev, struct stream *s,
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

	vv_push_reply(dev, r->elem, &resp, sizeof(resp));
	r->elem = NULL;
}

struct resource *vv_dequeue(struct stream *s, int q)
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
void vv_flush_queued(struct vv_video_dev *dev, struct stream *s, int q)
{
	struct resource *r;

	while ((r = vv_dequeue(s, q)))
		vv_complete_resource(dev, s, r, r->timestamp, VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
}

void vv_stream_fail(struct vv_video_dev *dev, struct stream *s, const char *why)
{
	if (s->failed)
		return;
	log_warn("stream %u: %s; stream failed", s->id, why);
	s->failed = true;
	vv_post_event(dev, VIRTIO_VIDEO_EVENT_ERROR, s->id);
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

static void free_resources(struct vv_video_dev *dev, struct stream *s, int q)
{
	struct resource *r = s->resources[q];

	while (r) {
		struct resource *next = r->next;

		vv_resource_free(dev, r);
		r = next;
	}
	s->resources[q] = NULL;
	s->num_resources[q] = 0;
}

/* Answers a drain in progress with ERR_INVALID_OPERATION. */
static void cancel_drain(struct vv_video_dev *dev, struct stream *s)
{
	dev->role->drain_cancelled(dev, s);
	if (s->drain_elem)
		vv_reply_hdr(dev, s->drain_elem, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION, s->id);
	s->drain_elem = NULL;
}

/* Ends a stream; with answer false its pending commands are forgotten unanswered. */
static void stream_destroy(struct vv_video_dev *dev, struct stream *s, bool answer)
{
	struct stream **pp;

	for (int q = 0; q < Q_COUNT; q++) {
		if (answer) {
			vv_flush_queued(dev, s, q);
		} else {
			struct resource *r;

			while ((r = vv_dequeue(s, q))) {
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
	dev->role->stream_fini(dev, s);
	for (int q = 0; q < Q_COUNT; q++)
		free_resources(dev, s, q);
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
	vv_reply_hdr(cmd->dev, cmd->elem, type, cmd->stream_id);
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
	vv_push_reply(dev, cmd->elem, dev->caps_blob[q], dev->caps_len[q]);
}

static bool mem_type_known(uint32_t mem_type)
{
	return mem_type == VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES ||
	       mem_type == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
}

/* Memory a resource may be read in: guest pages, virtio objects if offered. */
static bool mem_type_allowed(struct vv_video_dev *dev, uint32_t mem_type)
{
	if (mem_type == VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES)
		return true;
	return mem_type == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT &&
	       vu_has_feature(&dev->vu, VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT);
}

static void cmd_stream_create(struct command *cmd)
{
	const struct virtio_video_stream_create *req = (const void *)cmd->buf;
	struct vv_video_dev *dev = cmd->dev;
	uint32_t coded = le32toh(req->coded_format);
	uint32_t in_mem = le32toh(req->in_mem_type), out_mem = le32toh(req->out_mem_type);
	struct stream *s;
	uint32_t type;

	if (find_stream(dev, cmd->stream_id)) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
		return;
	}
	/*
	 * A memory type the device does not offer (virtio objects without
	 * RESOURCE_VIRTIO_OBJECT) is taken as the queue's initial type: the
	 * ChromeOS/Android driver creates every stream with virtio objects on
	 * both queues and sets each queue's real type with SET_PARAMS_EXT
	 * before its first RESOURCE_CREATE. Such a queue takes no resource
	 * until then (RESOURCE_CREATE: ERR_INVALID_PARAMETER).
	 */
	if (!vv_coded_caps(dev, coded) || !mem_type_known(in_mem) || !mem_type_known(out_mem)) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	if (dev->num_streams >= vv_limits.streams) {
		log_warn("STREAM_CREATE %u: the device has %u streams, its budget (--limit streams=)",
			 cmd->stream_id, dev->num_streams);
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
		return;
	}
	s->id = cmd->stream_id;
	s->coded_format = coded;
	s->event_fd = -1;
	s->mem_type[Q_IN] = in_mem;
	s->mem_type[Q_OUT] = out_mem;
	type = dev->role->stream_init(dev, s);
	if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
		free(s);
		reply(cmd, type);
		return;
	}
	s->next = dev->streams;
	dev->streams = s;
	dev->num_streams++;
	dev->streams_created++;
	log_debug("stream %u created", s->id);
	if (!mem_type_allowed(dev, in_mem) || !mem_type_allowed(dev, out_mem))
		log_info("stream %u: created with virtio-object memory, which the device does not "
			 "offer: such a queue takes resources once SET_PARAMS_EXT gives it guest pages",
			 s->id);
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
	/*
	 * A drain kept across a resolution change's QUEUE_CLEAR(OUTPUT), sent
	 * again (our guest driver does, as the device used to cancel it there):
	 * the new one takes over, the old one is answered as cancelled.
	 */
	if (s->drain_elem && s->drain_kept)
		cancel_drain(cmd->dev, s);
	if (s->drain_elem) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
		return;
	}
	s->drain_kept = false;
	s->drain_elem = cmd->elem;
	cmd->elem = NULL;
	cmd->dev->role->drain_begin(cmd->dev, s);
	cmd->dev->role->pump(cmd->dev, s);
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
	/* Budgets: entries per resource and of the whole device. */
	if (total > vv_limits.entries || dev->entries_used + total > vv_limits.device_entries) {
		log_warn("stream %u: RESOURCE_CREATE of %u entries refused: %s budget "
			 "(--limit %s=) exceeded (%llu in use)", s->id, total,
			 total > vv_limits.entries ? "per-resource" : "device",
			 total > vv_limits.entries ? "entries" : "device-entries",
			 dev->entries_used);
		return VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
	}
	r->entries = calloc(total, sizeof(*r->entries));
	if (!r->entries)
		return VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
	r->total_entries = total;
	dev->entries_used += total;
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

		if (r->plane_offsets[i] >= vv_entries_length(entries, n))
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
	if (s->num_resources[q] >= vv_limits.resources) {
		log_warn("stream %u: RESOURCE_CREATE refused: %u resources on the %s queue, its "
			 "budget (--limit resources=)", s->id, s->num_resources[q], queue_name(q));
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
	if (!mem_type_allowed(dev, r->mem_type))
		log_warn("stream %u: RESOURCE_CREATE on the %s queue in virtio-object memory, "
			 "which the device does not offer", s->id, queue_name(q));
	if ((layout != VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER &&
	     layout != VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE) ||
	    !mem_type_allowed(dev, r->mem_type))
		type = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	else
		type = parse_entries(cmd, s, r, req);
	if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
		vv_resource_free(dev, r);
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
	if (cmd->dev->role->check_queue) {
		uint32_t type = cmd->dev->role->check_queue(cmd->dev, s, q, r, req);

		if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
			reply(cmd, type);
			return;
		}
	}
	log_debug("stream %u: %s resource %u queued (%u bytes)", s->id, queue_name(q), r->id,
		  r->data_size);
	r->elem = cmd->elem;
	cmd->elem = NULL;
	enqueue(s, q, r);
	cmd->dev->role->pump(cmd->dev, s);
}

static void cmd_queue_clear(struct command *cmd)
{
	struct stream *s;
	int q = command_queue(cmd, &s);

	if (q < 0)
		return;
	vv_flush_queued(cmd->dev, s, q);
	/*
	 * A drain goes on across the QUEUE_CLEAR(OUTPUT) that acknowledges a
	 * resolution change found during it (dev-decoder.rst: the client
	 * handles the change "before continuing with the drain sequence"), as
	 * on crosvm's device, whose ChromeOS/Android driver never sends the
	 * drain again. Any other QUEUE_CLEAR cancels it.
	 */
	if (s->drain_elem && cmd->dev->role->drain_survives_clear &&
	    cmd->dev->role->drain_survives_clear(s, q)) {
		s->drain_kept = true;
		log_debug("stream %u: drain goes on across QUEUE_CLEAR(%s)", s->id, queue_name(q));
	} else {
		cancel_drain(cmd->dev, s);
	}
	cmd->dev->role->queue_clear(cmd->dev, s, q);
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
	free_resources(cmd->dev, s, q);
	cmd->dev->role->resources_destroyed(cmd->dev, s, q);
	reply(cmd, VIRTIO_VIDEO_RESP_OK_NODATA);
	cmd->dev->role->pump(cmd->dev, s);
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
	vv_push_reply(cmd->dev, cmd->elem, &resp, sizeof(resp));
}

/* SET_PARAMS of queue q (already checked); nothing changes unless it returns OK. */
static uint32_t set_queue_params(struct vv_video_dev *dev, struct stream *s, int q,
				 const struct virtio_video_params *w)
{
	if (le32toh(w->num_planes) > VIRTIO_VIDEO_MAX_PLANES)
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	return dev->role->set_params(dev, s, q, w);
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
		cmd->dev->role->pump(cmd->dev, s);
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
	if (s->params_ext_seen)
		return;
	s->params_ext_seen = true;
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
	struct params p;
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
	p = s->params[q];
	if (cmd->dev->role->ext_params)
		cmd->dev->role->ext_params(s, q, &p);
	params_to_wire(&p, q, &resp.params.base);
	resp.params.resource_type = htole32(s->mem_type[q]);
	log_params_ext_use(s, q, s->mem_type[q], s->mem_type[q], false);
	vv_push_reply(cmd->dev, cmd->elem, &resp, sizeof(resp));
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
	/*
	 * A type the device does not offer may be kept (a queue STREAM_CREATE
	 * gave virtio objects without the feature: the ChromeOS driver echoes
	 * the type GET_PARAMS_EXT reported at S_FMT), never switched to.
	 */
	if (q < 0 || !mem_type_known(mem_type) ||
	    (mem_type != s->mem_type[q] && !mem_type_allowed(dev, mem_type))) {
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
		dev->role->pump(dev, s);
}

/* Profiles or levels the plugin offers for a format, for QUERY_CONTROL. */
static unsigned int control_values(const struct vv_codec_format *f, uint32_t control,
				   const uint32_t **values)
{
	if (control == VIRTIO_VIDEO_CONTROL_PROFILE) {
		*values = f->profiles;
		return f->num_profiles < VV_CODEC_MAX_VALUES ? f->num_profiles : VV_CODEC_MAX_VALUES;
	}
	*values = f->levels;
	return f->num_levels < VV_CODEC_MAX_VALUES ? f->num_levels : VV_CODEC_MAX_VALUES;
}

static void cmd_query_control(struct command *cmd)
{
	const struct virtio_video_query_control *req = (const void *)cmd->buf;
	struct vv_video_dev *dev = cmd->dev;
	uint32_t control = le32toh(req->control), values[VV_CODEC_MAX_VALUES];
	const struct vv_codec_format *f;
	const uint32_t *offered;
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
	f = vv_coded_caps(dev, le32toh(arg.format));
	if (!f) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	n = control_values(f, control, &offered);
	if (!n) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL);
		return;
	}
	list.num = htole32(n);
	for (unsigned int i = 0; i < n; i++)
		values[i] = htole32(offered[i]);
	memcpy(resp, &hdr, sizeof(hdr));
	memcpy(resp + sizeof(hdr), &list, sizeof(list));
	memcpy(resp + sizeof(hdr) + sizeof(list), values, n * sizeof(uint32_t));
	len = sizeof(hdr) + sizeof(list) + n * sizeof(uint32_t);
	vv_push_reply(dev, cmd->elem, resp, len);
}

/* GET_CONTROL: the role's value, as `le32 value; pad[4]` after the header. */
static void cmd_get_control(struct command *cmd)
{
	const struct virtio_video_get_control *req = (const void *)cmd->buf;
	struct {
		struct virtio_video_get_control_resp resp;
		struct virtio_video_control_val_bitrate val;
	} answer;
	struct stream *s = command_stream(cmd);
	uint32_t value = 0, type;

	if (!s)
		return;
	type = cmd->dev->role->get_control ?
	       cmd->dev->role->get_control(cmd->dev, s, le32toh(req->control), &value) :
	       VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
	if (type != VIRTIO_VIDEO_RESP_OK_GET_CONTROL) {
		reply(cmd, type);
		return;
	}
	memset(&answer, 0, sizeof(answer));
	answer.resp.hdr.type = htole32(type);
	answer.resp.hdr.stream_id = htole32(s->id);
	answer.val.bitrate = htole32(value);
	vv_push_reply(cmd->dev, cmd->elem, &answer, sizeof(answer));
}

/* SET_CONTROL: every value is `le32 value; pad[4]` after the control. */
static void cmd_set_control(struct command *cmd)
{
	const struct virtio_video_set_control *req = (const void *)cmd->buf;
	struct virtio_video_control_val_bitrate val;
	struct stream *s = command_stream(cmd);
	uint32_t type;

	if (!s)
		return;
	if (!cmd->dev->role->set_control) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL);
		return;
	}
	if (cmd->len < sizeof(*req) + sizeof(val)) {
		reply(cmd, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
		return;
	}
	memcpy(&val, cmd->buf + sizeof(*req), sizeof(val));
	type = cmd->dev->role->set_control(cmd->dev, s, le32toh(req->control),
					   le32toh(val.bitrate));
	reply(cmd, type);
	if (type == VIRTIO_VIDEO_RESP_OK_NODATA)
		cmd->dev->role->pump(cmd->dev, s);
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
	[0xB] = { sizeof(struct virtio_video_get_control), true, cmd_get_control },
	[0xC] = { sizeof(struct virtio_video_set_control), true, cmd_set_control },
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

	f |= to_video(vu)->role->features;
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

struct vv_video_dev *vv_video_dev_new(const struct vv_codec_ops *codec,
				      struct vv_object_table *objects, enum vv_video_role role)
{
	struct vv_video_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->role = role == VV_ROLE_ENCODER ? &vv_encoder_role : &vv_decoder_role;
	dev->codec = codec;
	dev->objects = objects;
	dev->params_ext = true;
	dev->per_res_mem = true;
	if (!vv_take_caps(dev) || !vv_build_caps(dev)) {
		log_error("codec plugin %s offers nothing usable as a%s %s", codec->name,
			  role == VV_ROLE_ENCODER ? "n" : "", dev->role->name);
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

uint32_t vv_video_dev_id(const struct vv_video_dev *dev)
{
	return dev->role->device_id;
}

void vv_video_dev_set_params_ext(struct vv_video_dev *dev, bool enabled)
{
	dev->params_ext = enabled;
}

void vv_video_dev_set_per_resource_mem(struct vv_video_dev *dev, bool enabled)
{
	dev->per_res_mem = enabled;
}

unsigned int vv_video_dev_poll_fds(struct vv_video_dev *dev, int *fds, unsigned int max)
{
	unsigned int n = 0;

	if (dev->vu.sock < 0)
		return 0;
	for (struct stream *s = dev->streams; s && n < max; s = s->next)
		if (dev->role->wants_events(s))
			fds[n++] = s->event_fd;
	return n;
}

void vv_video_dev_fd_ready(struct vv_video_dev *dev, int fd)
{
	for (struct stream *s = dev->streams; s; s = s->next) {
		if (s->event_fd != fd)
			continue;
		if (dev->role->wants_events(s))
			dev->role->event_ready(dev, s);
		return;
	}
}
