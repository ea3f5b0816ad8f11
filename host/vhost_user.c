// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user backend server (docs/interop/vhost-user.rst in QEMU).
 *
 * The front-end and the guest are untrusted: every message size, fd count,
 * region, ring address and descriptor is checked before use, and guest memory
 * is only touched through addresses translated here.
 */
#define _GNU_SOURCE
#include "vhost_user.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static const char *const vu_request_names[VU_REQUEST_MAX] = {
	[VU_GET_FEATURES] = "GET_FEATURES",
	[VU_SET_FEATURES] = "SET_FEATURES",
	[VU_SET_OWNER] = "SET_OWNER",
	[VU_RESET_OWNER] = "RESET_OWNER",
	[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VU_SET_LOG_FD] = "SET_LOG_FD",
	[VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VU_GET_CONFIG] = "GET_CONFIG",
	[VU_SET_CONFIG] = "SET_CONFIG",
	[VU_RESET_DEVICE] = "RESET_DEVICE",
	[VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
};

/* Feature bits 24..41 belong to the virtio transport, not the device. */
#define VU_TRANSPORT_FEATURES (((1ull << 42) - 1) & ~((1ull << 24) - 1))
#define VU_MAX_CONFIG 256
#define VU_MAX_FDS 8

struct vu_msg_config {
	struct vu_msg_config_hdr hdr;
	uint8_t region[VU_MAX_CONFIG];
};

struct vu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	union {
		uint64_t u64;
		struct vu_msg_vring_state state;
		struct vu_msg_vring_addr addr;
		struct vu_msg_memory memory;
		struct vu_msg_config config;
	} payload;
	int fds[VU_MAX_FDS];
	unsigned int nfds;
};


/* Split ring layout (little-endian host assumed: x86_64 and arm64). */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc_le {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail_le {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem_le {
	uint32_t id;
	uint32_t len;
};

struct vring_used_le {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem_le ring[];
};

static const char *request_name(uint32_t req)
{
	if (req < VU_REQUEST_MAX && vu_request_names[req])
		return vu_request_names[req];
	return "UNKNOWN";
}

bool vu_has_feature(const struct vu_dev *dev, unsigned int bit)
{
	return dev->features & (1ull << bit);
}

static bool has_protocol_feature(const struct vu_dev *dev, unsigned int bit)
{
	return dev->protocol_features & (1ull << bit);
}

void vu_init(struct vu_dev *dev, const char *name, unsigned int nqueues,
	     const struct vu_dev_ops *ops)
{
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->name = name;
	dev->sock = -1;
	dev->nqueues = nqueues < VU_MAX_QUEUES ? nqueues : VU_MAX_QUEUES;
	for (unsigned int i = 0; i < VU_MAX_QUEUES; i++) {
		dev->vq[i].kick_fd = -1;
		dev->vq[i].call_fd = -1;
		dev->vq[i].err_fd = -1;
	}
}

void vu_attach(struct vu_dev *dev, int sock)
{
	dev->sock = sock;
}

/* ---- guest memory ---- */

/* Region holding [gpa, gpa+1); NULL if none. */
static const struct vu_region *find_gpa(const struct vu_dev *dev, uint64_t gpa)
{
	for (unsigned int i = 0; i < dev->nregions; i++) {
		const struct vu_region *r = &dev->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

int vu_gpa_to_iov(const struct vu_dev *dev, uint64_t gpa, uint64_t len,
		  struct iovec *iov, unsigned int max)
{
	unsigned int n = 0;

	if (len && gpa + len < gpa)
		return -1;
	while (len) {
		const struct vu_region *r = find_gpa(dev, gpa);
		uint64_t off, chunk;

		if (!r || n == max)
			return -1;
		off = gpa - r->gpa;
		chunk = r->size - off;
		if (chunk > len)
			chunk = len;
		iov[n].iov_base = r->mmap_addr + r->mmap_offset + off;
		iov[n].iov_len = chunk;
		n++;
		gpa += chunk;
		len -= chunk;
	}
	return (int)n;
}

bool vu_gpa_to_file(const struct vu_dev *dev, uint64_t gpa, int *fd, uint64_t *offset,
		    uint64_t *avail)
{
	const struct vu_region *r = find_gpa(dev, gpa);

	if (!r)
		return false;
	*fd = r->fd;
	*offset = r->mmap_offset + (gpa - r->gpa);
	*avail = r->size - (gpa - r->gpa);
	return true;
}

/* Front-end virtual address of a whole ring part to our pointer, or NULL. */
static void *qva_to_ptr(const struct vu_dev *dev, uint64_t qva, uint64_t len)
{
	if (qva + len < qva)
		return NULL;
	for (unsigned int i = 0; i < dev->nregions; i++) {
		const struct vu_region *r = &dev->regions[i];

		if (qva >= r->qva && qva - r->qva < r->size &&
		    len <= r->size - (qva - r->qva))
			return r->mmap_addr + r->mmap_offset + (qva - r->qva);
	}
	return NULL;
}

static void unmap_regions(struct vu_dev *dev)
{
	for (unsigned int i = 0; i < dev->nregions; i++) {
		munmap(dev->regions[i].mmap_addr, dev->regions[i].mmap_size);
		close(dev->regions[i].fd);
	}
	dev->nregions = 0;
}

/* ---- iov helpers ---- */

size_t iov_size(const struct iovec *iov, unsigned int n)
{
	size_t s = 0;

	for (unsigned int i = 0; i < n; i++)
		s += iov[i].iov_len;
	return s;
}

/* Copies between bytes [offset, offset+len) of an iovec list and buf. */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t offset, uint8_t *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		uint8_t *base = iov[i].iov_base;

		if (offset >= l) {
			offset -= l;
			continue;
		}
		l -= offset;
		if (l > len - done)
			l = len - done;
		if (to_iov)
			memcpy(base + offset, buf + done, l);
		else
			memcpy(buf + done, base + offset, l);
		done += l;
		offset = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t offset,
		  void *buf, size_t len)
{
	return iov_copy(iov, n, offset, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t offset,
		    const void *buf, size_t len)
{
	/* Only read through buf when copying into the iovecs. */
	return iov_copy(iov, n, offset, (uint8_t *)(uintptr_t)buf, len, true);
}

/* ---- vrings ---- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Re-translates a ring's addresses after SET_VRING_ADDR or a new memory table. */
/* Rings that share bytes: our used-ring writes would change what we read. */
static bool overlap(const void *a, uint64_t a_len, const void *b, uint64_t b_len)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	return x < y + b_len && y < x + a_len;
}

static bool vring_map(struct vu_dev *dev, struct vu_vring *vr)
{
	size_t event = vu_has_feature(dev, VU_F_EVENT_IDX) ? 2 : 0;

	vr->desc = NULL;
	vr->avail = NULL;
	vr->used = NULL;
	if (!vr->num || !vr->desc_qva)
		return false;
	vr->desc = qva_to_ptr(dev, vr->desc_qva, 16ull * vr->num);
	vr->avail = qva_to_ptr(dev, vr->avail_qva, 4 + 2ull * vr->num + event);
	vr->used = qva_to_ptr(dev, vr->used_qva, 4 + 8ull * vr->num + event);
	if (!vr->desc || !vr->avail || !vr->used ||
	    ((uintptr_t)vr->desc & 15) || ((uintptr_t)vr->avail & 1) ||
	    ((uintptr_t)vr->used & 3) ||
	    overlap(vr->desc, 16ull * vr->num, vr->avail, 4 + 2ull * vr->num + event) ||
	    overlap(vr->desc, 16ull * vr->num, vr->used, 4 + 8ull * vr->num + event) ||
	    overlap(vr->avail, 4 + 2ull * vr->num + event, vr->used, 4 + 8ull * vr->num + event)) {
		vr->desc = NULL;
		vr->avail = NULL;
		vr->used = NULL;
		return false;
	}
	return true;
}

static bool vring_usable(const struct vu_vring *vr)
{
	return vr->started && vr->enabled && !vr->broken && vr->desc;
}

static void vring_reset(struct vu_vring *vr)
{
	close_fd(&vr->kick_fd);
	close_fd(&vr->call_fd);
	close_fd(&vr->err_fd);
	memset(vr, 0, sizeof(*vr));
	vr->kick_fd = -1;
	vr->call_fd = -1;
	vr->err_fd = -1;
}

static uint16_t read_avail_idx(const struct vu_vring *vr)
{
	uint16_t idx = __atomic_load_n(&vr->avail->idx, __ATOMIC_ACQUIRE);

	return idx;
}

static uint16_t *avail_used_event(const struct vu_vring *vr)
{
	return &vr->avail->ring[vr->num];
}

static uint16_t *used_avail_event(const struct vu_vring *vr)
{
	return (uint16_t *)&vr->used->ring[vr->num];
}

/* Appends descriptor d (already copied out of guest memory) to elem's iovecs. */
static bool map_desc(struct vu_dev *dev, const struct vring_desc_le *d,
		     struct iovec *iov, unsigned int *n, unsigned int *in_num,
		     size_t *out_len, size_t *in_len)
{
	int got;

	if (d->flags & VRING_DESC_F_WRITE) {
		got = vu_gpa_to_iov(dev, d->addr, d->len, iov + *n, VU_MAX_IOV - *n);
		if (got < 0)
			return false;
		*in_num += got;
		*in_len += d->len;
	} else {
		if (*in_num)	/* readable after writable is invalid */
			return false;
		got = vu_gpa_to_iov(dev, d->addr, d->len, iov + *n, VU_MAX_IOV - *n);
		if (got < 0)
			return false;
		*out_len += d->len;
	}
	*n += got;
	return true;
}

/*
 * Walks the chain starting at head into iov. Every descriptor is copied out
 * of guest memory once, so the guest cannot change it under our checks.
 */
static bool walk_chain(struct vu_dev *dev, struct vu_vring *vr, uint16_t head,
		       struct iovec *iov, unsigned int *n, unsigned int *in_num,
		       size_t *out_len, size_t *in_len)
{
	const struct vring_desc_le *table = vr->desc;
	unsigned int table_size = vr->num;
	unsigned int idx = head, seen = 0;
	bool indirect = false;

	for (;;) {
		struct vring_desc_le d;

		if (idx >= table_size || ++seen > VU_MAX_CHAIN)
			return false;
		memcpy(&d, &table[idx], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			struct iovec tiov;

			if (indirect || !vu_has_feature(dev, VU_F_INDIRECT_DESC) ||
			    (d.flags & VRING_DESC_F_NEXT) || !d.len ||
			    d.len % sizeof(d) || d.len / sizeof(d) > VU_MAX_CHAIN)
				return false;
			/* The table must be contiguous in our mapping. */
			if (vu_gpa_to_iov(dev, d.addr, d.len, &tiov, 1) != 1 ||
			    ((uintptr_t)tiov.iov_base & 7))
				return false;
			table = tiov.iov_base;
			table_size = d.len / sizeof(d);
			indirect = true;
			idx = 0;
			continue;
		}
		if (!map_desc(dev, &d, iov, n, in_num, out_len, in_len))
			return false;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return true;
		idx = d.next;
	}
}

static void vring_signal(struct vu_dev *dev, struct vu_vring *vr)
{
	uint64_t one = 1;
	bool notify;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vu_has_feature(dev, VU_F_EVENT_IDX)) {
		uint16_t old = vr->signalled_used, new = vr->used_idx;
		uint16_t event = __atomic_load_n(avail_used_event(vr), __ATOMIC_RELAXED);

		notify = !vr->signalled_used_valid ||
			 (uint16_t)(new - event - 1) < (uint16_t)(new - old);
		vr->signalled_used = new;
		vr->signalled_used_valid = true;
	} else {
		notify = !(__atomic_load_n(&vr->avail->flags, __ATOMIC_RELAXED) &
			   VRING_AVAIL_F_NO_INTERRUPT);
	}
	if (notify && vr->call_fd >= 0 && write(vr->call_fd, &one, sizeof(one)) < 0)
		log_warn("%s: call notify failed: %s", dev->name, strerror(errno));
}

static void used_put(struct vu_dev *dev, struct vu_vring *vr, uint16_t head, uint32_t len)
{
	struct vring_used_elem_le *u = &vr->used->ring[vr->used_idx % vr->num];

	u->id = head;
	u->len = len;
	vr->used_idx++;
	__atomic_store_n(&vr->used->idx, vr->used_idx, __ATOMIC_RELEASE);
	vring_signal(dev, vr);
}

struct vu_elem *vu_queue_pop(struct vu_dev *dev, unsigned int q)
{
	static struct iovec iov[VU_MAX_IOV];
	struct vu_vring *vr;

	if (q >= dev->nqueues)
		return NULL;
	vr = &dev->vq[q];
	if (vr->kick_budget) {
		if (vr->kick_budget == 1) {
			vr->budget_spent = true;
			return NULL;
		}
		vr->kick_budget--;
	}
	for (;;) {
		unsigned int n = 0, in_num = 0;
		size_t out_len = 0, in_len = 0;
		uint16_t avail_idx, head;
		struct vu_elem *elem;

		if (!vring_usable(vr))
			return NULL;
		avail_idx = read_avail_idx(vr);
		if ((uint16_t)(avail_idx - vr->last_avail_idx) > vr->num) {
			log_warn("%s: queue %u: avail index jumped %u -> %u; ring ignored until reset",
				 dev->name, q, vr->last_avail_idx, avail_idx);
			vr->broken = true;
			return NULL;
		}
		if (avail_idx == vr->last_avail_idx) {
			if (vu_has_feature(dev, VU_F_EVENT_IDX)) {
				/* Ask for a kick on the next buffer, then look again. */
				__atomic_store_n(used_avail_event(vr), avail_idx, __ATOMIC_RELAXED);
				__atomic_thread_fence(__ATOMIC_SEQ_CST);
				if (read_avail_idx(vr) != avail_idx)
					continue;
			}
			return NULL;
		}
		head = __atomic_load_n(&vr->avail->ring[vr->last_avail_idx % vr->num],
				       __ATOMIC_RELAXED);
		vr->last_avail_idx++;
		if (vu_has_feature(dev, VU_F_EVENT_IDX))
			__atomic_store_n(used_avail_event(vr), vr->last_avail_idx,
					 __ATOMIC_RELAXED);
		if (head >= vr->num) {
			log_warn("%s: queue %u: head %u out of range; ring ignored until reset",
				 dev->name, q, head);
			vr->broken = true;
			return NULL;
		}
		if (!walk_chain(dev, vr, head, iov, &n, &in_num, &out_len, &in_len)) {
			log_warn("%s: queue %u: malformed descriptor chain at head %u dropped",
				 dev->name, q, head);
			used_put(dev, vr, head, 0);
			continue;
		}
		elem = malloc(sizeof(*elem) + n * sizeof(struct iovec));
		if (!elem) {
			used_put(dev, vr, head, 0);
			return NULL;
		}
		elem->queue = q;
		elem->head = head;
		elem->out_num = n - in_num;
		elem->in_num = in_num;
		elem->out_len = out_len;
		elem->in_len = in_len;
		memcpy(elem->iov, iov, n * sizeof(struct iovec));
		elem->out = elem->iov;
		elem->in = elem->iov + elem->out_num;
		vr->inflight++;
		return elem;
	}
}

void vu_elem_free(struct vu_elem *elem)
{
	free(elem);
}

void vu_queue_push(struct vu_dev *dev, struct vu_elem *elem, uint32_t len)
{
	struct vu_vring *vr = &dev->vq[elem->queue];

	if (vr->inflight)
		vr->inflight--;
	if (len > elem->in_len)
		len = (uint32_t)elem->in_len;
	if (vr->desc && !vr->broken)
		used_put(dev, vr, elem->head, len);
	free(elem);
}

/* ---- messages ---- */

static void serve_kick(struct vu_dev *dev, unsigned int q);

static void close_msg_fds(struct vu_msg *msg)
{
	for (unsigned int i = 0; i < msg->nfds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	msg->nfds = 0;
}

static bool read_msg(struct vu_dev *dev, struct vu_msg *msg)
{
	char control[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
	uint32_t hdr[3];
	struct iovec iov = { .iov_base = hdr, .iov_len = VU_HDR_SIZE };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	ssize_t r;

	msg->nfds = 0;
	do {
		r = recvmsg(dev->sock, &mh, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	/*
	 * A failed recvmsg (ECONNRESET when the front-end died with a reply
	 * unread) leaves msg_controllen as it was: the control buffer holds
	 * stale stack bytes, never fds of ours to close.
	 */
	if (r < 0) {
		log_warn("%s: read: %s", dev->name, strerror(errno));
		return false;
	}
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_len < CMSG_LEN(0) ||
		    cmsg->cmsg_len > mh.msg_controllen - ((char *)cmsg - control))
			break;
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
			size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < n; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
				if (msg->nfds < VU_MAX_FDS)
					msg->fds[msg->nfds++] = fd;
				else
					close(fd);
			}
		}
	}
	if (r == 0)
		goto fail_quiet;
	if (r != (ssize_t)VU_HDR_SIZE || (mh.msg_flags & MSG_CTRUNC)) {
		log_warn("%s: truncated message header", dev->name);
		goto fail_quiet;
	}
	msg->request = hdr[0];
	msg->flags = hdr[1];
	msg->size = hdr[2];
	if (msg->size > sizeof(msg->payload)) {
		log_warn("%s: %s: payload of %u bytes too large", dev->name,
			 request_name(msg->request), msg->size);
		goto fail_quiet;
	}
	if (msg->size) {
		size_t got = 0;

		while (got < msg->size) {
			r = read(dev->sock, (uint8_t *)&msg->payload + got, msg->size - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				log_warn("%s: truncated payload", dev->name);
				goto fail_quiet;
			}
			got += (size_t)r;
		}
	}
	return true;
fail_quiet:
	close_msg_fds(msg);
	return false;
}

static bool send_reply(struct vu_dev *dev, struct vu_msg *msg, uint32_t size)
{
	uint32_t hdr[3] = { msg->request, VU_FLAG_VERSION | VU_FLAG_REPLY, size };
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = VU_HDR_SIZE },
		{ .iov_base = &msg->payload, .iov_len = size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t w;

	do {
		w = sendmsg(dev->sock, &mh, MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	/* Replies are small; a short write means the peer is gone. */
	return w == (ssize_t)(VU_HDR_SIZE + size);
}

static bool reply_u64(struct vu_dev *dev, struct vu_msg *msg, uint64_t v)
{
	msg->payload.u64 = v;
	return send_reply(dev, msg, sizeof(uint64_t));
}

static bool check_size(struct vu_dev *dev, const struct vu_msg *msg, size_t want)
{
	if (msg->size < want) {
		log_warn("%s: %s: payload %u bytes, need %zu", dev->name,
			 request_name(msg->request), msg->size, want);
		return false;
	}
	return true;
}

static struct vu_vring *msg_vring(struct vu_dev *dev, const struct vu_msg *msg,
				  uint32_t index)
{
	if (index >= dev->nqueues) {
		log_warn("%s: %s: no queue %u", dev->name, request_name(msg->request), index);
		return NULL;
	}
	return &dev->vq[index];
}

/* The device frees what it popped; nothing is in flight afterwards. */
static void device_forget(struct vu_dev *dev)
{
	if (dev->ops->reset)
		dev->ops->reset(dev);
	for (unsigned int i = 0; i < VU_MAX_QUEUES; i++)
		dev->vq[i].inflight = 0;
}

static void device_reset(struct vu_dev *dev)
{
	device_forget(dev);
	for (unsigned int i = 0; i < VU_MAX_QUEUES; i++)
		vring_reset(&dev->vq[i]);
}

static int set_mem_table(struct vu_dev *dev, struct vu_msg *msg)
{
	struct vu_msg_memory *m = &msg->payload.memory;
	struct vu_region fresh[VU_MAX_REGIONS];
	unsigned int n;

	if (!check_size(dev, msg, 8))
		return -1;
	n = m->nregions;
	if (n > VU_MAX_REGIONS || msg->size < 8 + n * sizeof(struct vu_msg_region) ||
	    msg->nfds != n) {
		log_warn("%s: SET_MEM_TABLE: %u regions with %u fds rejected", dev->name,
			 n, msg->nfds);
		return -1;
	}
	memset(fresh, 0, sizeof(fresh));
	for (unsigned int i = 0; i < n; i++) {
		const struct vu_msg_region *r = &m->regions[i];
		uint64_t map_size = r->size + r->mmap_offset;
		struct stat st;
		void *addr;

		if (!r->size || map_size < r->size || r->gpa + r->size < r->gpa ||
		    r->qva + r->size < r->qva || map_size > (1ull << 46)) {
			log_warn("%s: SET_MEM_TABLE: region %u has a bad range", dev->name, i);
			goto fail;
		}
		for (unsigned int j = 0; j < i; j++) {
			const struct vu_msg_region *o = &m->regions[j];

			if (r->gpa < o->gpa + o->size && o->gpa < r->gpa + r->size) {
				log_warn("%s: SET_MEM_TABLE: regions %u and %u overlap",
					 dev->name, j, i);
				goto fail;
			}
		}
		/* Touching a mapping past the end of its file raises SIGBUS. */
		if (fstat(msg->fds[i], &st) < 0 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size < map_size) {
			log_warn("%s: SET_MEM_TABLE: region %u is larger than its file",
				 dev->name, i);
			goto fail;
		}
		addr = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			    msg->fds[i], 0);
		if (addr == MAP_FAILED) {
			log_warn("%s: SET_MEM_TABLE: mmap of region %u failed: %s", dev->name,
				 i, strerror(errno));
			goto fail;
		}
		fresh[i] = (struct vu_region){
			.gpa = r->gpa, .size = r->size, .qva = r->qva,
			.mmap_offset = r->mmap_offset, .mmap_addr = addr, .mmap_size = map_size,
			.fd = msg->fds[i],
		};
	}
	/* The device drops everything that points into the old memory first. */
	device_forget(dev);
	unmap_regions(dev);
	memcpy(dev->regions, fresh, sizeof(fresh));
	dev->nregions = n;
	/* The regions own their fds now. */
	for (unsigned int i = 0; i < n; i++)
		msg->fds[i] = -1;
	for (unsigned int q = 0; q < dev->nqueues; q++)
		if (dev->vq[q].desc_qva)
			vring_map(dev, &dev->vq[q]);
	close_msg_fds(msg);
	return 0;
fail:
	for (unsigned int i = 0; i < n; i++)
		if (fresh[i].mmap_addr)
			munmap(fresh[i].mmap_addr, fresh[i].mmap_size);
	close_msg_fds(msg);
	return -1;
}

/* Takes the fd of a KICK/CALL/ERR message; returns false on a bad message. */
static bool take_vring_fd(struct vu_dev *dev, struct vu_msg *msg, struct vu_vring **vr,
			  int *fd)
{
	uint64_t v;

	*fd = -1;
	if (!check_size(dev, msg, sizeof(uint64_t)))
		return false;
	v = msg->payload.u64;
	*vr = msg_vring(dev, msg, v & VU_VRING_IDX_MASK);
	if (!*vr)
		return false;
	if (!(v & VU_VRING_NOFD)) {
		if (msg->nfds != 1) {
			log_warn("%s: %s: expected one fd, got %u", dev->name,
				 request_name(msg->request), msg->nfds);
			return false;
		}
		*fd = msg->fds[0];
		msg->nfds = 0;
	}
	return true;
}

/* Handles msg; returns 0, -1 for a failed request, or -2 to drop the connection. */
static int handle_msg(struct vu_dev *dev, struct vu_msg *msg)
{
	struct vu_vring *vr;
	int fd;

	switch (msg->request) {
	case VU_GET_FEATURES:
		return reply_u64(dev, msg, dev->ops->get_features(dev) |
				 (1ull << VU_F_PROTOCOL_FEATURES)) ? 0 : -2;
	case VU_SET_FEATURES: {
		uint64_t offered = dev->ops->get_features(dev) | (1ull << VU_F_PROTOCOL_FEATURES);

		uint64_t extra;

		if (!check_size(dev, msg, 8))
			return -1;
		extra = msg->payload.u64 & ~offered;
		/*
		 * A front-end may pass on transport bits its own transport offered
		 * the guest (QEMU's vhost-user-gpu forwards RING_RESET): those are
		 * dropped. A device bit we never offered is an error.
		 */
		if (extra & ~VU_TRANSPORT_FEATURES) {
			log_warn("%s: SET_FEATURES: 0x%llx not offered", dev->name,
				 (unsigned long long)extra);
			return -1;
		}
		if (extra)
			log_debug("%s: SET_FEATURES: transport bits 0x%llx ignored", dev->name,
				  (unsigned long long)extra);
		dev->features = msg->payload.u64 & offered;
		dev->ops->set_features(dev, dev->features);
		/* Without protocol features the rings are enabled at start. */
		for (unsigned int q = 0; q < dev->nqueues; q++) {
			if (!vu_has_feature(dev, VU_F_PROTOCOL_FEATURES))
				dev->vq[q].enabled = true;
			if (dev->vq[q].desc_qva)
				vring_map(dev, &dev->vq[q]);
		}
		return 0;
	}
	case VU_GET_PROTOCOL_FEATURES:
		return reply_u64(dev, msg, dev->ops->get_protocol_features(dev)) ? 0 : -2;
	case VU_SET_PROTOCOL_FEATURES:
		if (!check_size(dev, msg, 8))
			return -1;
		dev->protocol_features = msg->payload.u64 & dev->ops->get_protocol_features(dev);
		return 0;
	case VU_SET_OWNER:
		dev->owner = true;
		return 0;
	case VU_RESET_OWNER:
	case VU_RESET_DEVICE:
		device_reset(dev);
		dev->features = 0;
		return 0;
	case VU_GET_QUEUE_NUM:
		return reply_u64(dev, msg, dev->nqueues) ? 0 : -2;
	case VU_GET_MAX_MEM_SLOTS:
		return reply_u64(dev, msg, VU_MAX_REGIONS) ? 0 : -2;
	case VU_SET_MEM_TABLE:
		return set_mem_table(dev, msg);
	case VU_SET_VRING_NUM:
		if (!check_size(dev, msg, sizeof(msg->payload.state)))
			return -1;
		vr = msg_vring(dev, msg, msg->payload.state.index);
		if (!vr)
			return -1;
		if (!msg->payload.state.num || msg->payload.state.num > VU_MAX_QUEUE_SIZE ||
		    (msg->payload.state.num & (msg->payload.state.num - 1))) {
			log_warn("%s: SET_VRING_NUM: bad size %u", dev->name,
				 msg->payload.state.num);
			return -1;
		}
		vr->num = (uint16_t)msg->payload.state.num;
		if (vr->desc_qva)
			vring_map(dev, vr);
		return 0;
	case VU_SET_VRING_BASE:
		if (!check_size(dev, msg, sizeof(msg->payload.state)))
			return -1;
		vr = msg_vring(dev, msg, msg->payload.state.index);
		if (!vr)
			return -1;
		vr->last_avail_idx = (uint16_t)msg->payload.state.num;
		vr->used_idx = vr->last_avail_idx;
		vr->signalled_used_valid = false;
		return 0;
	case VU_SET_VRING_ADDR:
		if (!check_size(dev, msg, sizeof(msg->payload.addr)))
			return -1;
		vr = msg_vring(dev, msg, msg->payload.addr.index);
		if (!vr)
			return -1;
		vr->desc_qva = msg->payload.addr.desc;
		vr->avail_qva = msg->payload.addr.avail;
		vr->used_qva = msg->payload.addr.used;
		vr->addr_flags = msg->payload.addr.flags;
		if (!vring_map(dev, vr)) {
			log_warn("%s: SET_VRING_ADDR: queue %u addresses outside memory",
				 dev->name, msg->payload.addr.index);
			return -1;
		}
		/* Start where the driver's used ring says, as a restarted ring would. */
		vr->used_idx = __atomic_load_n(&vr->used->idx, __ATOMIC_RELAXED);
		return 0;
	case VU_GET_VRING_BASE:
		if (!check_size(dev, msg, sizeof(msg->payload.state)))
			return -1;
		vr = msg_vring(dev, msg, msg->payload.state.index);
		if (!vr)
			return -1;
		/* Stopping a ring: the device forgets what it popped from it. */
		if (vr->inflight)
			device_forget(dev);
		vr->started = false;
		close_fd(&vr->kick_fd);
		close_fd(&vr->call_fd);
		msg->payload.state.num = vr->last_avail_idx;
		return send_reply(dev, msg, sizeof(msg->payload.state)) ? 0 : -2;
	case VU_SET_VRING_KICK:
		if (!take_vring_fd(dev, msg, &vr, &fd))
			return -1;
		close_fd(&vr->kick_fd);
		vr->kick_fd = fd;
		vr->started = true;
		vr->broken = false;
		if (vr->desc_qva)
			vring_map(dev, vr);
		return 0;
	case VU_SET_VRING_CALL:
		if (!take_vring_fd(dev, msg, &vr, &fd))
			return -1;
		close_fd(&vr->call_fd);
		vr->call_fd = fd;
		return 0;
	case VU_SET_VRING_ERR:
		if (!take_vring_fd(dev, msg, &vr, &fd))
			return -1;
		close_fd(&vr->err_fd);
		vr->err_fd = fd;
		return 0;
	case VU_SET_VRING_ENABLE:
		if (!check_size(dev, msg, sizeof(msg->payload.state)))
			return -1;
		vr = msg_vring(dev, msg, msg->payload.state.index);
		if (!vr)
			return -1;
		vr->enabled = msg->payload.state.num != 0;
		if (vr->enabled && vr->started)
			serve_kick(dev, msg->payload.state.index);
		return 0;
	case VU_GET_CONFIG: {
		struct vu_msg_config *c = &msg->payload.config;
		int got;

		if (!check_size(dev, msg, sizeof(c->hdr)) || c->hdr.size > VU_MAX_CONFIG ||
		    msg->size < sizeof(c->hdr) + c->hdr.size) {
			/* A zero-size reply tells the front-end the request failed. */
			return send_reply(dev, msg, 0) ? -1 : -2;
		}
		memset(c->region, 0, c->hdr.size);
		got = dev->ops->get_config ? dev->ops->get_config(dev, c->region, VU_MAX_CONFIG) : -1;
		if (got < 0 || c->hdr.offset > (uint32_t)got)
			return send_reply(dev, msg, 0) ? -1 : -2;
		memmove(c->region, c->region + c->hdr.offset, got - c->hdr.offset);
		if (c->hdr.size > got - c->hdr.offset)
			memset(c->region + (got - c->hdr.offset), 0, c->hdr.size - (got - c->hdr.offset));
		return send_reply(dev, msg, sizeof(c->hdr) + c->hdr.size) ? 0 : -2;
	}
	case VU_SET_CONFIG:
		/* The config space is read-only. */
		return -1;
	case VU_SET_LOG_BASE:
	case VU_SET_LOG_FD:
	case VU_SET_BACKEND_REQ_FD:
		break;
	default:
		if (dev->ops->handle_message)
			return dev->ops->handle_message(dev, msg->request, &msg->payload,
							msg->size, msg->fds, msg->nfds);
		break;
	}
	log_warn("%s: request %u (%s) not supported", dev->name, msg->request,
		 request_name(msg->request));
	return -1;
}

bool vu_dispatch(struct vu_dev *dev)
{
	struct vu_msg msg;
	bool need_reply;
	int ret;

	if (!read_msg(dev, &msg))
		return false;
	log_debug("%s: %s size %u fds %u", dev->name, request_name(msg.request), msg.size,
		  msg.nfds);
	need_reply = (msg.flags & VU_FLAG_NEED_REPLY) &&
		     has_protocol_feature(dev, VU_PROTOCOL_F_REPLY_ACK);
	ret = handle_msg(dev, &msg);
	close_msg_fds(&msg);
	if (ret == -2)
		return false;
	/* Requests that reply anyway (GET_*) need no ack. */
	switch (msg.request) {
	case VU_GET_FEATURES:
	case VU_GET_PROTOCOL_FEATURES:
	case VU_GET_QUEUE_NUM:
	case VU_GET_MAX_MEM_SLOTS:
	case VU_GET_VRING_BASE:
	case VU_GET_CONFIG:
		return true;
	default:
		break;
	}
	if (need_reply && !reply_u64(dev, &msg, ret ? 1 : 0))
		return false;
	return true;
}

void vu_detach(struct vu_dev *dev)
{
	device_reset(dev);
	unmap_regions(dev);
	if (dev->sock >= 0)
		close(dev->sock);
	dev->sock = -1;
	dev->features = 0;
	dev->protocol_features = 0;
	dev->owner = false;
}

int vu_kick_fd(struct vu_dev *dev, unsigned int q)
{
	if (q >= dev->nqueues || !dev->vq[q].started)
		return -1;
	return dev->vq[q].kick_fd;
}

/* The device's kick handler with a budget (struct vu_vring.kick_budget). */
static void serve_kick(struct vu_dev *dev, unsigned int q)
{
	struct vu_vring *vr = &dev->vq[q];
	uint64_t v;

	if (!vring_usable(vr) || !dev->ops->queue_kick)
		return;
	vr->kick_budget = 2u * vr->num + 1;
	vr->budget_spent = false;
	dev->ops->queue_kick(dev, q);
	vr->kick_budget = 0;
	/* More than a kick's worth: serve the rest on the next round. */
	if (vr->budget_spent && vr->kick_fd >= 0) {
		if (!vr->budget_warned)
			log_warn("%s: queue %u: more than %u buffers in one kick; the rest "
				 "waits for the next round (logged once)", dev->name, q,
				 2u * vr->num);
		vr->budget_warned = true;
		v = 1;
		if (write(vr->kick_fd, &v, sizeof(v)) < 0)
			log_debug("%s: queue %u: re-kick: %s", dev->name, q, strerror(errno));
	}
}

void vu_handle_kick(struct vu_dev *dev, unsigned int q)
{
	uint64_t v;

	if (q >= dev->nqueues || dev->vq[q].kick_fd < 0)
		return;
	if (read(dev->vq[q].kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("%s: kick read failed: %s", dev->name, strerror(errno));
	serve_kick(dev, q);
}
