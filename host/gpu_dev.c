// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-gpu 2D device model for QEMU's vhost-user-gpu-pci.
 *
 * The guest's commands arrive on the control and cursor queues; what the
 * scanout shows goes to QEMU over the display socket that QEMU hands us with
 * VHOST_USER_GPU_SET_SOCKET (docs/interop/vhost-user-gpu.rst), so QEMU's
 * display and its screendump show the guest's framebuffer.
 *
 * As in the video device, everything the guest sends is untrusted: a command
 * is copied out of guest memory once, each field is checked before use, and
 * backing pages are re-translated through the memory table on every access.
 *
 * RESOURCE_ASSIGN_UUID puts a resource into the object table shared with the
 * video device, which then writes decoded frames straight into the
 * resource's backing pages. The object is killed when the resource goes away
 * (unref, device reset, disconnect), so the decoder never writes into pages
 * the guest has reused.
 */
#define _GNU_SOURCE
#include "gpu_dev.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_gpu.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "display_edid.h"
#include "log.h"
#include "object_table.h"

#define GPU_QUEUE_CONTROL 0
#define GPU_QUEUE_CURSOR 1
#define GPU_NUM_QUEUES 2

#define NUM_SCANOUTS 1
#define BYTES_PER_PIXEL 4
#define MAX_RESOURCES 1024		/* per connection */
#define MAX_DIMENSION 16384
/* All host images of a connection; QEMU's own virtio-gpu defaults to the same. */
#define MAX_HOST_BYTES (256ull << 20)
#define MAX_BACKING_ENTRIES 16384
#define MAX_BACKING_BYTES (1ull << 30)
#define MAX_COMMAND_BYTES \
	(sizeof(struct virtio_gpu_resource_attach_backing) + \
	 MAX_BACKING_ENTRIES * sizeof(struct virtio_gpu_mem_entry))
#define CURSOR_SIZE 64
/*
 * QEMU reads a display message whole in its main loop; strips of about
 * 1 MiB keep each read short and the socket buffer from blocking us long.
 */
#define UPDATE_STRIP_BYTES (1u << 20)
#define DISPLAY_SEND_TIMEOUT_MS 2000

/* vhost-user request carrying the display socket */
#define VHOST_USER_GPU_SET_SOCKET 33

/* Display socket requests (vhost-user-gpu.rst), sent by us to QEMU. */
enum display_request {
	DISPLAY_GET_PROTOCOL_FEATURES = 1,
	DISPLAY_SET_PROTOCOL_FEATURES = 2,
	DISPLAY_CURSOR_POS = 4,
	DISPLAY_CURSOR_POS_HIDE = 5,
	DISPLAY_CURSOR_UPDATE = 6,
	DISPLAY_SCANOUT = 7,
	DISPLAY_UPDATE = 8,
};

/* Payloads are packed native-endian u32s on that socket. */
struct display_cursor_pos {
	uint32_t scanout_id, x, y;
};

struct display_cursor_update {
	struct display_cursor_pos pos;
	uint32_t hot_x, hot_y;
	uint32_t pixels[CURSOR_SIZE * CURSOR_SIZE];	/* a8r8g8b8 */
};

struct display_scanout {
	uint32_t scanout_id, width, height;
};

struct display_update {
	uint32_t scanout_id, x, y, width, height;
	/* x8r8g8b8 pixels follow */
};

struct rect {
	uint32_t x, y, width, height;
};

struct gpu_resource {
	struct gpu_resource *next;
	uint32_t id, format, width, height, stride;
	uint8_t *image;			/* host copy, stride * height bytes */
	unsigned int num_entries;	/* backing, each entry checked at attach */
	struct vv_object_entry *entries;
	uint64_t backing_len;
	struct vv_object *object;	/* NULL until RESOURCE_ASSIGN_UUID */
	uint32_t scanout_mask;
};

struct scanout {
	uint32_t resource_id;		/* 0: disabled */
	struct rect rect;		/* part of the resource shown */
};

struct gpu_counters {
	unsigned long long commands, errors, resources_created, uuids_assigned, flushes,
		display_updates, display_bytes;
};

struct vv_gpu_dev {
	struct vu_dev vu;
	struct vv_object_table *objects;
	struct gpu_resource *resources;
	unsigned int num_resources;
	uint64_t host_bytes;
	struct scanout scanouts[NUM_SCANOUTS];
	uint32_t mode_width, mode_height;	/* the one display mode offered */
	/* The display socket to QEMU, and the mode QEMU was last told. */
	int display_fd;
	bool display_mode_sent[NUM_SCANOUTS];
	uint32_t display_width[NUM_SCANOUTS], display_height[NUM_SCANOUTS];
	uint8_t *strip;			/* UPDATE_STRIP_BYTES of scratch */
	struct gpu_counters stats;
};

/* One command taken from the control or cursor queue. */
struct gpu_cmd {
	struct vv_gpu_dev *dev;
	struct vu_elem *elem;
	const uint8_t *buf;
	size_t len;
	struct virtio_gpu_ctrl_hdr hdr;
};

/* A handler's answer when it pushed its own (data) response. */
#define RESPONSE_SENT 0

static struct vv_gpu_dev *to_gpu(struct vu_dev *vu)
{
	return (struct vv_gpu_dev *)((char *)vu - offsetof(struct vv_gpu_dev, vu));
}

/* ---- pixel formats ---- */

/* Where R, G, B and A sit in a pixel's four bytes (the format names say it). */
struct format_layout {
	uint32_t format;
	uint8_t r, g, b, a;
	bool has_alpha;
};

static const struct format_layout formats[] = {
	{ VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, 2, 1, 0, 3, true },
	{ VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 2, 1, 0, 3, false },
	{ VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, 1, 2, 3, 0, true },
	{ VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM, 1, 2, 3, 0, false },
	{ VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM, 0, 1, 2, 3, true },
	{ VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM, 3, 2, 1, 0, false },
	{ VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM, 3, 2, 1, 0, true },
	{ VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM, 0, 1, 2, 3, false },
};

static const struct format_layout *find_format(uint32_t format)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].format == format)
			return &formats[i];
	return NULL;
}

/*
 * Converts n pixels to QEMU's pixman a8r8g8b8/x8r8g8b8, whose bytes in
 * memory on a little-endian host are B, G, R, A.
 */
static void to_pixman(const struct format_layout *f, const uint8_t *src, uint8_t *dst,
		      uint32_t n, bool keep_alpha)
{
	if (f->format == VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM && keep_alpha) {
		memcpy(dst, src, (size_t)n * BYTES_PER_PIXEL);
		return;
	}
	for (uint32_t i = 0; i < n; i++, src += 4, dst += 4) {
		dst[0] = src[f->b];
		dst[1] = src[f->g];
		dst[2] = src[f->r];
		dst[3] = keep_alpha && f->has_alpha ? src[f->a] : 0xff;
	}
}

/* ---- display socket ---- */

static void display_close(struct vv_gpu_dev *dev)
{
	if (dev->display_fd >= 0)
		close(dev->display_fd);
	dev->display_fd = -1;
	memset(dev->display_mode_sent, 0, sizeof(dev->display_mode_sent));
}

/*
 * QEMU's only messages to us are replies (to GET_PROTOCOL_FEATURES); we
 * need nothing from them, so they are read and dropped without waiting.
 * Never blocking on QEMU matters: QEMU may itself be waiting for our answer
 * to a vhost-user message.
 */
static bool display_drain(struct vv_gpu_dev *dev)
{
	uint8_t junk[256];

	for (;;) {
		ssize_t r = recv(dev->display_fd, junk, sizeof(junk), MSG_DONTWAIT);

		if (r > 0)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (r < 0 && errno == EINTR)
			continue;
		return false;	/* QEMU closed its end */
	}
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Sends one message: header, payload and optional trailing data. A message
 * cut short would desynchronise the stream for good, so any failure (QEMU
 * gone, or the message not taken within DISPLAY_SEND_TIMEOUT_MS) drops the
 * socket.
 */
static bool display_send(struct vv_gpu_dev *dev, uint32_t request, const void *payload,
			 uint32_t size, const void *data, uint32_t data_size)
{
	uint32_t hdr[3] = { request, 0, size + data_size };
	struct iovec iov[3] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
		{ .iov_base = (void *)data, .iov_len = data_size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
	uint64_t start = monotonic_ms();

	if (dev->display_fd < 0)
		return false;
	errno = 0;
	if (!display_drain(dev))
		goto fail;
	while (mh.msg_iovlen) {
		ssize_t w = sendmsg(dev->display_fd, &mh, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		while (mh.msg_iovlen && (size_t)w >= mh.msg_iov->iov_len) {
			w -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + w;
			mh.msg_iov->iov_len -= (size_t)w;
			/* Each sendmsg may wait the whole timeout: bound the message. */
			if (monotonic_ms() - start >= DISPLAY_SEND_TIMEOUT_MS) {
				errno = ETIMEDOUT;
				goto fail;
			}
		}
	}
	return true;
fail:
	log_warn("gpu: display socket lost (%s); display updates stop until QEMU sends a new one",
		 errno ? strerror(errno) : "closed");
	display_close(dev);
	return false;
}

static int gpu_handle_message(struct vu_dev *vu, uint32_t request, void *payload,
			      uint32_t size, int *fds, unsigned int nfds)
{
	struct vv_gpu_dev *dev = to_gpu(vu);
	struct timeval timeout = {
		.tv_sec = DISPLAY_SEND_TIMEOUT_MS / 1000,
		.tv_usec = DISPLAY_SEND_TIMEOUT_MS % 1000 * 1000,
	};
	uint64_t no_features = 0;

	(void)payload;
	(void)size;
	if (request != VHOST_USER_GPU_SET_SOCKET || nfds < 1 || fds[0] < 0)
		return -1;
	display_close(dev);
	dev->display_fd = fds[0];
	fds[0] = -1;
	setsockopt(dev->display_fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	/*
	 * The handshake the protocol asks for. We use none of QEMU's optional
	 * features (EDID from QEMU, dmabuf), so we ask for none without waiting
	 * for its list: QEMU is busy starting the device and will answer later.
	 */
	if (display_send(dev, DISPLAY_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0) &&
	    display_send(dev, DISPLAY_SET_PROTOCOL_FEATURES, &no_features, sizeof(no_features),
			 NULL, 0))
		log_info("gpu: display socket from the front-end");
	return 0;
}

/* Tells QEMU the scanout's size unless it already knows it. */
static bool display_set_mode(struct vv_gpu_dev *dev, uint32_t scanout, uint32_t width,
			     uint32_t height)
{
	struct display_scanout msg = { scanout, width, height };

	if (dev->display_mode_sent[scanout] && dev->display_width[scanout] == width &&
	    dev->display_height[scanout] == height)
		return true;
	if (!display_send(dev, DISPLAY_SCANOUT, &msg, sizeof(msg), NULL, 0))
		return false;
	dev->display_mode_sent[scanout] = true;
	dev->display_width[scanout] = width;
	dev->display_height[scanout] = height;
	return true;
}

/* Sends the part r (resource coordinates) of scanout s's picture, in strips. */
static void display_update(struct vv_gpu_dev *dev, uint32_t scanout_id,
			   const struct gpu_resource *res, const struct rect *r)
{
	const struct scanout *s = &dev->scanouts[scanout_id];
	const struct format_layout *f = find_format(res->format);
	uint32_t row_bytes = r->width * BYTES_PER_PIXEL;
	uint32_t rows_per_strip = UPDATE_STRIP_BYTES / row_bytes;

	if (!display_set_mode(dev, scanout_id, s->rect.width, s->rect.height))
		return;
	if (!rows_per_strip)
		rows_per_strip = 1;	/* a row is at most 64 KiB: MAX_DIMENSION * 4 */
	for (uint32_t y = 0; y < r->height; y += rows_per_strip) {
		uint32_t rows = r->height - y < rows_per_strip ? r->height - y : rows_per_strip;
		struct display_update msg = {
			.scanout_id = scanout_id,
			.x = r->x - s->rect.x,
			.y = r->y + y - s->rect.y,
			.width = r->width,
			.height = rows,
		};

		for (uint32_t i = 0; i < rows; i++)
			to_pixman(f, res->image + (size_t)(r->y + y + i) * res->stride +
				  (size_t)r->x * BYTES_PER_PIXEL,
				  dev->strip + (size_t)i * row_bytes, r->width, false);
		if (!display_send(dev, DISPLAY_UPDATE, &msg, sizeof(msg), dev->strip,
				  rows * row_bytes))
			return;
		dev->stats.display_updates++;
		dev->stats.display_bytes += (unsigned long long)rows * row_bytes;
	}
}

/* ---- resources ---- */

static struct gpu_resource *find_resource(struct vv_gpu_dev *dev, uint32_t id)
{
	for (struct gpu_resource *r = dev->resources; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

/* The rect lies inside the resource (64-bit sums: the guest picks them). */
static bool rect_in_resource(const struct rect *r, const struct gpu_resource *res)
{
	return (uint64_t)r->x + r->width <= res->width &&
	       (uint64_t)r->y + r->height <= res->height;
}

static struct rect read_rect(const struct virtio_gpu_rect *wire)
{
	return (struct rect){ le32toh(wire->x), le32toh(wire->y), le32toh(wire->width),
			      le32toh(wire->height) };
}

static bool rect_intersect(const struct rect *a, const struct rect *b, struct rect *out)
{
	uint64_t x0 = a->x > b->x ? a->x : b->x, y0 = a->y > b->y ? a->y : b->y;
	uint64_t ax1 = (uint64_t)a->x + a->width, bx1 = (uint64_t)b->x + b->width;
	uint64_t ay1 = (uint64_t)a->y + a->height, by1 = (uint64_t)b->y + b->height;
	uint64_t x1 = ax1 < bx1 ? ax1 : bx1, y1 = ay1 < by1 ? ay1 : by1;

	if (x1 <= x0 || y1 <= y0)
		return false;
	*out = (struct rect){ (uint32_t)x0, (uint32_t)y0, (uint32_t)(x1 - x0), (uint32_t)(y1 - y0) };
	return true;
}

static void scanout_disable(struct vv_gpu_dev *dev, uint32_t scanout_id)
{
	struct scanout *s = &dev->scanouts[scanout_id];
	struct gpu_resource *res = find_resource(dev, s->resource_id);

	if (res)
		res->scanout_mask &= ~(1u << scanout_id);
	s->resource_id = 0;
	/* A zero size tells QEMU the output is off. */
	if (dev->display_fd >= 0)
		display_set_mode(dev, scanout_id, 0, 0);
}

static void resource_destroy(struct vv_gpu_dev *dev, struct gpu_resource *res)
{
	for (uint32_t i = 0; i < NUM_SCANOUTS; i++)
		if (res->scanout_mask & (1u << i))
			scanout_disable(dev, i);
	for (struct gpu_resource **pp = &dev->resources; *pp; pp = &(*pp)->next) {
		if (*pp == res) {
			*pp = res->next;
			break;
		}
	}
	/* The decoder may hold the object: it sees it dead, never stale pages. */
	if (res->object)
		vv_object_kill(dev->objects, res->object);
	dev->host_bytes -= (uint64_t)res->stride * res->height;
	dev->num_resources--;
	free(res->entries);
	free(res->image);
	free(res);
}

/*
 * Copies len bytes at offset of the resource's backing into dst. cursor
 * remembers the entry where the previous copy ended, since transfers walk
 * rows forward. False if a byte is past the backing or outside guest memory.
 */
struct backing_cursor {
	unsigned int entry;
	uint64_t entry_start;
};

static bool backing_read(struct vv_gpu_dev *dev, const struct gpu_resource *res,
			 struct backing_cursor *c, uint64_t offset, uint8_t *dst, uint64_t len)
{
	if (offset < c->entry_start)
		*c = (struct backing_cursor){ 0, 0 };
	while (len) {
		const struct vv_object_entry *e;
		struct iovec iov[VU_MAX_REGIONS];
		uint64_t within, take;
		int n;

		if (c->entry >= res->num_entries)
			return false;
		e = &res->entries[c->entry];
		if (offset >= c->entry_start + e->len) {
			c->entry_start += e->len;
			c->entry++;
			continue;
		}
		within = offset - c->entry_start;
		take = e->len - within < len ? e->len - within : len;
		n = vu_gpa_to_iov(&dev->vu, e->addr + within, take, iov, VU_MAX_REGIONS);
		if (n < 0)
			return false;
		iov_to_buf(iov, (unsigned int)n, 0, dst, take);
		dst += take;
		offset += take;
		len -= take;
	}
	return true;
}

/* ---- commands ---- */

static void push_response(struct gpu_cmd *cmd, void *resp, size_t len)
{
	struct virtio_gpu_ctrl_hdr *hdr = resp;
	struct vu_elem *elem = cmd->elem;
	size_t put = 0;

	/* A fenced command is complete when answered; the fence rides along. */
	if (cmd->hdr.flags & htole32(VIRTIO_GPU_FLAG_FENCE)) {
		hdr->flags |= htole32(VIRTIO_GPU_FLAG_FENCE);
		hdr->fence_id = cmd->hdr.fence_id;
		hdr->ctx_id = cmd->hdr.ctx_id;
		if (cmd->hdr.flags & htole32(VIRTIO_GPU_FLAG_INFO_RING_IDX)) {
			hdr->flags |= htole32(VIRTIO_GPU_FLAG_INFO_RING_IDX);
			hdr->ring_idx = cmd->hdr.ring_idx;
		}
	}
	if (le32toh(hdr->type) >= VIRTIO_GPU_RESP_ERR_UNSPEC)
		cmd->dev->stats.errors++;
	if (elem->in_len >= len)
		put = iov_from_buf(elem->in, elem->in_num, 0, resp, len);
	else
		log_warn("gpu: response buffer of %zu bytes, need %zu", elem->in_len, len);
	vu_queue_push(&cmd->dev->vu, elem, (uint32_t)put);
	cmd->elem = NULL;
}

static uint32_t cmd_get_display_info(struct gpu_cmd *cmd)
{
	struct virtio_gpu_resp_display_info resp = {
		.hdr.type = htole32(VIRTIO_GPU_RESP_OK_DISPLAY_INFO),
	};

	resp.pmodes[0].r.width = htole32(cmd->dev->mode_width);
	resp.pmodes[0].r.height = htole32(cmd->dev->mode_height);
	resp.pmodes[0].enabled = htole32(1);
	push_response(cmd, &resp, sizeof(resp));
	return RESPONSE_SENT;
}

static uint32_t cmd_get_edid(struct gpu_cmd *cmd)
{
	const struct virtio_gpu_cmd_get_edid *req = (const void *)cmd->buf;
	struct virtio_gpu_resp_edid resp = { .hdr.type = htole32(VIRTIO_GPU_RESP_OK_EDID) };

	if (!vu_has_feature(&cmd->dev->vu, VIRTIO_GPU_F_EDID) ||
	    le32toh(req->scanout) >= NUM_SCANOUTS)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	vv_display_edid(resp.edid, cmd->dev->mode_width, cmd->dev->mode_height);
	resp.size = htole32(128);
	push_response(cmd, &resp, sizeof(resp));
	return RESPONSE_SENT;
}

static uint32_t cmd_resource_create_2d(struct gpu_cmd *cmd)
{
	const struct virtio_gpu_resource_create_2d *req = (const void *)cmd->buf;
	struct vv_gpu_dev *dev = cmd->dev;
	struct gpu_resource *res;
	uint32_t id, format, width, height;
	uint64_t bytes;

	id = le32toh(req->resource_id);
	format = le32toh(req->format);
	width = le32toh(req->width);
	height = le32toh(req->height);
	if (!id || find_resource(dev, id))
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (!find_format(format) || !width || !height || width > MAX_DIMENSION ||
	    height > MAX_DIMENSION)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	bytes = (uint64_t)width * height * BYTES_PER_PIXEL;
	if (dev->num_resources >= MAX_RESOURCES || dev->host_bytes + bytes > MAX_HOST_BYTES)
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	res = calloc(1, sizeof(*res));
	if (!res || !(res->image = calloc(1, bytes))) {
		free(res);
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	}
	res->id = id;
	res->format = format;
	res->width = width;
	res->height = height;
	res->stride = width * BYTES_PER_PIXEL;
	res->next = dev->resources;
	dev->resources = res;
	dev->num_resources++;
	dev->host_bytes += bytes;
	dev->stats.resources_created++;
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_resource_unref(struct gpu_cmd *cmd)
{
	const struct virtio_gpu_resource_unref *req = (const void *)cmd->buf;
	struct gpu_resource *res;

	res = find_resource(cmd->dev, le32toh(req->resource_id));
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	resource_destroy(cmd->dev, res);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_attach_backing(struct gpu_cmd *cmd)
{
	const struct virtio_gpu_resource_attach_backing *req = (const void *)cmd->buf;
	struct vv_gpu_dev *dev = cmd->dev;
	struct vv_object_entry *entries;
	struct gpu_resource *res;
	uint64_t total = 0;
	uint32_t n;

	res = find_resource(dev, le32toh(req->resource_id));
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	n = le32toh(req->nr_entries);
	if (!n || n > MAX_BACKING_ENTRIES ||
	    cmd->len - sizeof(*req) < (size_t)n * sizeof(struct virtio_gpu_mem_entry))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	/* Replacing a backing in place is not a 2D operation; detach first. */
	if (res->num_entries)
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	entries = calloc(n, sizeof(*entries));
	if (!entries)
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	for (uint32_t i = 0; i < n; i++) {
		struct virtio_gpu_mem_entry e;
		struct iovec iov[VU_MAX_REGIONS];

		memcpy(&e, cmd->buf + sizeof(*req) + i * sizeof(e), sizeof(e));
		entries[i].addr = le64toh(e.addr);
		entries[i].len = le32toh(e.length);
		total += entries[i].len;
		if (!entries[i].len || total > MAX_BACKING_BYTES ||
		    vu_gpa_to_iov(&dev->vu, entries[i].addr, entries[i].len, iov,
				  VU_MAX_REGIONS) < 0) {
			log_warn("gpu: ATTACH_BACKING of resource %u: entry %u (0x%llx+%u) is not guest memory",
				 res->id, i, (unsigned long long)entries[i].addr, entries[i].len);
			free(entries);
			return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
		}
	}
	if (res->object && !vv_object_set_backing(res->object, entries, n)) {
		free(entries);
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	}
	res->entries = entries;
	res->num_entries = n;
	res->backing_len = total;
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_detach_backing(struct gpu_cmd *cmd)
{
	const struct virtio_gpu_resource_detach_backing *req = (const void *)cmd->buf;
	struct gpu_resource *res;

	res = find_resource(cmd->dev, le32toh(req->resource_id));
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (!res->num_entries)
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	/* From now on the decoder finds no pages behind the UUID. */
	if (res->object)
		vv_object_set_backing(res->object, NULL, 0);
	free(res->entries);
	res->entries = NULL;
	res->num_entries = 0;
	res->backing_len = 0;
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_set_scanout(struct gpu_cmd *cmd)
{
	const struct virtio_gpu_set_scanout *req = (const void *)cmd->buf;
	struct vv_gpu_dev *dev = cmd->dev;
	struct gpu_resource *res;
	struct scanout *s;
	struct rect r;
	uint32_t id;

	id = le32toh(req->scanout_id);
	if (id >= NUM_SCANOUTS)
		return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
	s = &dev->scanouts[id];
	if (!req->resource_id) {
		scanout_disable(dev, id);
		return VIRTIO_GPU_RESP_OK_NODATA;
	}
	res = find_resource(dev, le32toh(req->resource_id));
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	r = read_rect(&req->r);
	if (!r.width || !r.height || !rect_in_resource(&r, res))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (s->resource_id && s->resource_id != res->id) {
		struct gpu_resource *old = find_resource(dev, s->resource_id);

		if (old)
			old->scanout_mask &= ~(1u << id);
	}
	s->resource_id = res->id;
	s->rect = r;
	res->scanout_mask |= 1u << id;
	/* The mode goes to QEMU now; the pixels come with the next flush. */
	if (dev->display_fd >= 0)
		display_set_mode(dev, id, r.width, r.height);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_transfer_to_host_2d(struct gpu_cmd *cmd)
{
	const struct virtio_gpu_transfer_to_host_2d *req = (const void *)cmd->buf;
	struct vv_gpu_dev *dev = cmd->dev;
	struct backing_cursor cursor = { 0, 0 };
	struct gpu_resource *res;
	uint64_t offset, row_bytes, last;
	struct rect r;

	res = find_resource(dev, le32toh(req->resource_id));
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	r = read_rect(&req->r);
	offset = le64toh(req->offset);
	if (!rect_in_resource(&r, res) || !res->num_entries)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (!r.width || !r.height)
		return VIRTIO_GPU_RESP_OK_NODATA;
	/* Row i comes from offset + i * stride, as the guest driver lays it out. */
	row_bytes = (uint64_t)r.width * BYTES_PER_PIXEL;
	last = (uint64_t)(r.height - 1) * res->stride + row_bytes;
	if (offset > res->backing_len || res->backing_len - offset < last)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	for (uint32_t i = 0; i < r.height; i++) {
		uint8_t *dst = res->image + (size_t)(r.y + i) * res->stride +
			       (size_t)r.x * BYTES_PER_PIXEL;

		if (!backing_read(dev, res, &cursor, offset + (uint64_t)i * res->stride, dst,
				  row_bytes))
			return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_resource_flush(struct gpu_cmd *cmd)
{
	const struct virtio_gpu_resource_flush *req = (const void *)cmd->buf;
	struct vv_gpu_dev *dev = cmd->dev;
	struct gpu_resource *res;
	struct rect r;

	res = find_resource(dev, le32toh(req->resource_id));
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	r = read_rect(&req->r);
	if (!rect_in_resource(&r, res))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	dev->stats.flushes++;
	for (uint32_t i = 0; i < NUM_SCANOUTS; i++) {
		struct rect part;

		if (!(res->scanout_mask & (1u << i)) ||
		    !rect_intersect(&r, &dev->scanouts[i].rect, &part))
			continue;
		display_update(dev, i, res, &part);
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_resource_assign_uuid(struct gpu_cmd *cmd)
{
	const struct virtio_gpu_resource_assign_uuid *req = (const void *)cmd->buf;
	struct vv_gpu_dev *dev = cmd->dev;
	struct virtio_gpu_resp_resource_uuid resp = {
		.hdr.type = htole32(VIRTIO_GPU_RESP_OK_RESOURCE_UUID),
	};
	struct gpu_resource *res;

	if (!vu_has_feature(&dev->vu, VIRTIO_GPU_F_RESOURCE_UUID))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	res = find_resource(dev, le32toh(req->resource_id));
	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	/* Created on first export; a resource exported again keeps its UUID. */
	if (!res->object) {
		struct vv_object *obj = vv_object_create(dev->objects);

		if (!obj)
			return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
		obj->gpu_format = res->format;
		obj->width = res->width;
		obj->height = res->height;
		obj->stride = res->stride;
		if (!vv_object_set_backing(obj, res->entries, res->num_entries)) {
			vv_object_kill(dev->objects, obj);
			return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
		}
		res->object = obj;
		dev->stats.uuids_assigned++;
	}
	memcpy(resp.uuid, res->object->uuid, sizeof(resp.uuid));
	push_response(cmd, &resp, sizeof(resp));
	return RESPONSE_SENT;
}

/* The cursor image: a resource of at most 64x64 pixels, padded with clear. */
static uint32_t cursor_update(struct gpu_cmd *cmd, const struct virtio_gpu_update_cursor *req,
			      const struct display_cursor_pos *pos)
{
	struct vv_gpu_dev *dev = cmd->dev;
	struct gpu_resource *res = find_resource(dev, le32toh(req->resource_id));
	struct display_cursor_update *msg;

	if (!res)
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (res->width > CURSOR_SIZE || res->height > CURSOR_SIZE)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	msg = calloc(1, sizeof(*msg));
	if (!msg)
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	msg->pos = *pos;
	msg->hot_x = le32toh(req->hot_x);
	msg->hot_y = le32toh(req->hot_y);
	for (uint32_t y = 0; y < res->height; y++)
		to_pixman(find_format(res->format), res->image + (size_t)y * res->stride,
			  (uint8_t *)&msg->pixels[y * CURSOR_SIZE], res->width, true);
	display_send(dev, DISPLAY_CURSOR_UPDATE, msg, sizeof(*msg), NULL, 0);
	free(msg);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

/* Cursor queue commands; the driver reads no response there. */
static uint32_t cmd_cursor(struct gpu_cmd *cmd)
{
	const struct virtio_gpu_update_cursor *req = (const void *)cmd->buf;
	struct display_cursor_pos pos;

	if (le32toh(req->pos.scanout_id) >= NUM_SCANOUTS)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	pos = (struct display_cursor_pos){ le32toh(req->pos.scanout_id), le32toh(req->pos.x),
					   le32toh(req->pos.y) };
	if (le32toh(req->hdr.type) == VIRTIO_GPU_CMD_UPDATE_CURSOR) {
		if (!req->resource_id) {
			display_send(cmd->dev, DISPLAY_CURSOR_POS_HIDE, &pos, sizeof(pos), NULL, 0);
			return VIRTIO_GPU_RESP_OK_NODATA;
		}
		return cursor_update(cmd, req, &pos);
	}
	display_send(cmd->dev, DISPLAY_CURSOR_POS, &pos, sizeof(pos), NULL, 0);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

struct command_desc {
	uint32_t type;
	const char *name;
	uint32_t (*handler)(struct gpu_cmd *cmd);
	size_t size;		/* the request struct; shorter is INVALID_PARAMETER */
};

static const struct command_desc commands[] = {
	{ VIRTIO_GPU_CMD_GET_DISPLAY_INFO, "GET_DISPLAY_INFO", cmd_get_display_info,
	  sizeof(struct virtio_gpu_ctrl_hdr) },
	{ VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, "RESOURCE_CREATE_2D", cmd_resource_create_2d,
	  sizeof(struct virtio_gpu_resource_create_2d) },
	{ VIRTIO_GPU_CMD_RESOURCE_UNREF, "RESOURCE_UNREF", cmd_resource_unref,
	  sizeof(struct virtio_gpu_resource_unref) },
	{ VIRTIO_GPU_CMD_SET_SCANOUT, "SET_SCANOUT", cmd_set_scanout,
	  sizeof(struct virtio_gpu_set_scanout) },
	{ VIRTIO_GPU_CMD_RESOURCE_FLUSH, "RESOURCE_FLUSH", cmd_resource_flush,
	  sizeof(struct virtio_gpu_resource_flush) },
	{ VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, "TRANSFER_TO_HOST_2D", cmd_transfer_to_host_2d,
	  sizeof(struct virtio_gpu_transfer_to_host_2d) },
	{ VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, "RESOURCE_ATTACH_BACKING", cmd_attach_backing,
	  sizeof(struct virtio_gpu_resource_attach_backing) },
	{ VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, "RESOURCE_DETACH_BACKING", cmd_detach_backing,
	  sizeof(struct virtio_gpu_resource_detach_backing) },
	{ VIRTIO_GPU_CMD_GET_EDID, "GET_EDID", cmd_get_edid,
	  sizeof(struct virtio_gpu_cmd_get_edid) },
	{ VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID, "RESOURCE_ASSIGN_UUID", cmd_resource_assign_uuid,
	  sizeof(struct virtio_gpu_resource_assign_uuid) },
	{ VIRTIO_GPU_CMD_UPDATE_CURSOR, "UPDATE_CURSOR", cmd_cursor,
	  sizeof(struct virtio_gpu_update_cursor) },
	{ VIRTIO_GPU_CMD_MOVE_CURSOR, "MOVE_CURSOR", cmd_cursor,
	  sizeof(struct virtio_gpu_update_cursor) },
};

static void handle_command(struct vv_gpu_dev *dev, struct vu_elem *elem, bool cursor_queue)
{
	struct gpu_cmd cmd = { .dev = dev, .elem = elem };
	const struct command_desc *desc = NULL;
	struct virtio_gpu_ctrl_hdr resp = { 0 };
	size_t len = elem->out_len < MAX_COMMAND_BYTES ? elem->out_len : MAX_COMMAND_BYTES;
	uint8_t *buf;
	uint32_t type;

	dev->stats.commands++;
	if (len < sizeof(struct virtio_gpu_ctrl_hdr) || !(buf = malloc(len))) {
		vu_queue_push(&dev->vu, elem, 0);
		return;
	}
	cmd.len = iov_to_buf(elem->out, elem->out_num, 0, buf, len);
	cmd.buf = buf;
	memcpy(&cmd.hdr, buf, sizeof(cmd.hdr));
	type = le32toh(cmd.hdr.type);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].type == type)
			desc = &commands[i];
	/* Cursor commands only on the cursor queue, and the others only on control. */
	if (!desc || cursor_queue != (type >= VIRTIO_GPU_CMD_UPDATE_CURSOR)) {
		log_warn("gpu: unknown command 0x%x on the %s queue", type,
			 cursor_queue ? "cursor" : "control");
		resp.type = htole32(VIRTIO_GPU_RESP_ERR_UNSPEC);
	} else if (cmd.len < desc->size) {
		log_warn("gpu: %s truncated (%zu bytes)", desc->name, cmd.len);
		resp.type = htole32(VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
	} else {
		uint32_t result = desc->handler(&cmd);

		log_debug("gpu: %s -> 0x%x", desc->name, result);
		resp.type = htole32(result);
	}
	if (cmd.elem) {
		if (cursor_queue && le32toh(resp.type) >= VIRTIO_GPU_RESP_ERR_UNSPEC)
			dev->stats.errors++;
		if (cursor_queue)
			vu_queue_push(&dev->vu, cmd.elem, 0);
		else
			push_response(&cmd, &resp, sizeof(resp));
	}
	free(buf);
}

/* ---- vhost-user glue ---- */

static uint64_t gpu_get_features(struct vu_dev *vu)
{
	(void)vu;
	return (1ull << VU_F_VERSION_1) | (1ull << VU_F_INDIRECT_DESC) |
	       (1ull << VU_F_EVENT_IDX) |
	       (1ull << VIRTIO_GPU_F_EDID) | (1ull << VIRTIO_GPU_F_RESOURCE_UUID);
}

static void gpu_set_features(struct vu_dev *vu, uint64_t features)
{
	(void)vu;
	log_debug("gpu: features 0x%llx", (unsigned long long)features);
}

static uint64_t gpu_get_protocol_features(struct vu_dev *vu)
{
	(void)vu;
	return (1ull << VU_PROTOCOL_F_REPLY_ACK) | (1ull << VU_PROTOCOL_F_CONFIG);
}

static int gpu_get_config(struct vu_dev *vu, uint8_t *buf, uint32_t len)
{
	/* QEMU overrides num_scanouts and the event fields with its own. */
	struct virtio_gpu_config config = { .num_scanouts = htole32(NUM_SCANOUTS) };

	(void)vu;
	if (len < sizeof(config))
		return -1;
	memcpy(buf, &config, sizeof(config));
	return sizeof(config);
}

static void gpu_queue_kick(struct vu_dev *vu, unsigned int q)
{
	struct vv_gpu_dev *dev = to_gpu(vu);
	struct vu_elem *elem;

	while ((elem = vu_queue_pop(vu, q)))
		handle_command(dev, elem, q == GPU_QUEUE_CURSOR);
}

/*
 * The guest's device state is gone: every resource dies and its UUID with
 * it. The server also calls this before a new memory table, which QEMU sends
 * when it starts the device (so a rebooted guest starts clean); the display
 * socket stays, as QEMU sends it just before that.
 */
static void gpu_reset(struct vu_dev *vu)
{
	struct vv_gpu_dev *dev = to_gpu(vu);
	unsigned int alive = dev->num_resources;

	while (dev->resources)
		resource_destroy(dev, dev->resources);
	memset(dev->scanouts, 0, sizeof(dev->scanouts));
	if (alive)
		log_info("gpu: device reset: %u resources dropped", alive);
}

static const struct vu_dev_ops gpu_ops = {
	.get_features = gpu_get_features,
	.set_features = gpu_set_features,
	.get_protocol_features = gpu_get_protocol_features,
	.get_config = gpu_get_config,
	.queue_kick = gpu_queue_kick,
	.reset = gpu_reset,
	.handle_message = gpu_handle_message,
};

struct vv_gpu_dev *vv_gpu_dev_new(struct vv_object_table *objects, uint32_t display_width,
				  uint32_t display_height)
{
	struct vv_gpu_dev *dev;

	if (!objects || !vv_display_size_valid(display_width, display_height))
		return NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->strip = malloc(UPDATE_STRIP_BYTES > MAX_DIMENSION * BYTES_PER_PIXEL ?
			    UPDATE_STRIP_BYTES : MAX_DIMENSION * BYTES_PER_PIXEL);
	if (!dev->strip) {
		free(dev);
		return NULL;
	}
	dev->objects = objects;
	dev->mode_width = display_width;
	dev->mode_height = display_height;
	dev->display_fd = -1;
	vu_init(&dev->vu, "gpu", GPU_NUM_QUEUES, &gpu_ops);
	return dev;
}

void vv_gpu_dev_connection_end(struct vv_gpu_dev *dev)
{
	const struct gpu_counters *c = &dev->stats;

	/* QEMU's end of the display socket is gone too: nothing to tell it. */
	display_close(dev);
	gpu_reset(&dev->vu);
	log_info("gpu connection end: commands=%llu errors=%llu resources_created=%llu "
		 "uuids_assigned=%llu flushes=%llu display_updates=%llu display_bytes=%llu",
		 c->commands, c->errors, c->resources_created, c->uuids_assigned, c->flushes,
		 c->display_updates, c->display_bytes);
	memset(&dev->stats, 0, sizeof(dev->stats));
}

void vv_gpu_dev_free(struct vv_gpu_dev *dev)
{
	if (!dev)
		return;
	display_close(dev);
	gpu_reset(&dev->vu);
	free(dev->strip);
	free(dev);
}

struct vu_dev *vv_gpu_dev_vu(struct vv_gpu_dev *dev)
{
	return &dev->vu;
}
