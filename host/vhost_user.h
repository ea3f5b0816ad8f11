/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small vhost-user backend server: protocol messages, guest memory table,
 * split virtqueues. It knows nothing about the device it serves; a device
 * plugs in through struct vu_dev_ops and embeds struct vu_dev.
 */
#ifndef VU_VHOST_USER_H
#define VU_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../include/vhost_user_proto.h"

#define VU_MAX_QUEUES 2
#define VU_MAX_QUEUE_SIZE 1024
/* Descriptors of one chain, direct and indirect together. */
#define VU_MAX_CHAIN 1024
/* iovecs of one chain after splitting at region edges. */
#define VU_MAX_IOV 1024

struct vu_region {
	uint64_t gpa;		/* guest physical address */
	uint64_t size;
	uint64_t qva;		/* front-end's virtual address */
	uint64_t mmap_offset;
	uint8_t *mmap_addr;	/* our mapping of the whole fd range */
	uint64_t mmap_size;
	int fd;			/* kept for contiguous views of scattered buffers */
};

/* One descriptor chain taken from the available ring. */
struct vu_elem {
	unsigned int queue;
	uint16_t head;
	unsigned int out_num;	/* driver-readable iovecs, first */
	unsigned int in_num;	/* device-writable iovecs, after */
	size_t out_len, in_len;
	struct iovec *out, *in;
	struct iovec iov[];	/* out_num + in_num entries */
};

struct vu_vring {
	uint16_t num;
	bool started;		/* kick fd set and not stopped */
	bool enabled;
	bool broken;		/* the driver broke the ring; ignore it */
	int kick_fd, call_fd, err_fd;
	uint64_t desc_qva, avail_qva, used_qva;
	uint32_t addr_flags;
	struct vring_desc_le *desc;
	struct vring_avail_le *avail;
	struct vring_used_le *used;
	uint16_t last_avail_idx;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;
	unsigned int inflight;	/* popped but not pushed */
	/*
	 * Pops left in the kick being served (0 outside one: no limit). A
	 * kick takes at most twice the ring size, then comes back through the
	 * poll loop, so a ring that never empties (a used ring aliasing the
	 * avail ring bumps avail->idx with every answer) cannot hold the loop.
	 */
	unsigned int kick_budget;
	bool budget_spent, budget_warned;
};

struct vu_dev;

struct vu_dev_ops {
	uint64_t (*get_features)(struct vu_dev *dev);
	void (*set_features)(struct vu_dev *dev, uint64_t features);
	uint64_t (*get_protocol_features)(struct vu_dev *dev);
	/* Fills at most len bytes of config space; returns bytes filled or -1. */
	int (*get_config)(struct vu_dev *dev, uint8_t *buf, uint32_t len);
	/* The driver made buffers available on queue q. */
	void (*queue_kick)(struct vu_dev *dev, unsigned int q);
	/*
	 * Forget every element popped from the rings (without pushing) and all
	 * device state tied to guest memory: called on disconnect, reset, and
	 * before the memory table changes.
	 */
	void (*reset)(struct vu_dev *dev);
	/*
	 * Optional: a request the server does not handle itself (e.g.
	 * VHOST_USER_GPU_SET_SOCKET). The device may keep fds it uses (set the
	 * array slot to -1). Returns 0 if handled, -1 if refused or unknown.
	 */
	int (*handle_message)(struct vu_dev *dev, uint32_t request, void *payload,
			      uint32_t size, int *fds, unsigned int nfds);
};

struct vu_dev {
	const struct vu_dev_ops *ops;
	const char *name;
	int sock;			/* connected front-end, or -1 */
	uint64_t features;		/* negotiated */
	uint64_t protocol_features;
	bool owner;
	unsigned int nregions;
	struct vu_region regions[VU_MAX_REGIONS];
	unsigned int nqueues;
	struct vu_vring vq[VU_MAX_QUEUES];
};

void vu_init(struct vu_dev *dev, const char *name, unsigned int nqueues,
	     const struct vu_dev_ops *ops);
/* Takes a connected socket. */
void vu_attach(struct vu_dev *dev, int sock);
/* Reads and handles one message; returns false when the connection ended. */
bool vu_dispatch(struct vu_dev *dev);
/* Drops the connection and all state tied to it. */
void vu_detach(struct vu_dev *dev);
/* The fd to poll for queue q's kicks, or -1. */
int vu_kick_fd(struct vu_dev *dev, unsigned int q);
/* Consumes the kick eventfd and calls ops->queue_kick. */
void vu_handle_kick(struct vu_dev *dev, unsigned int q);

bool vu_has_feature(const struct vu_dev *dev, unsigned int bit);

/*
 * Takes the next available chain; NULL when there is none (or the ring is
 * unusable). A malformed chain is answered with used length 0 and skipped.
 */
struct vu_elem *vu_queue_pop(struct vu_dev *dev, unsigned int q);
/* Returns elem to the driver with len bytes written, frees it, notifies. */
void vu_queue_push(struct vu_dev *dev, struct vu_elem *elem, uint32_t len);
/* Frees an element without returning it (connection gone). */
void vu_elem_free(struct vu_elem *elem);

/*
 * Translates [gpa, gpa+len) into at most max iovecs, split at region edges.
 * Returns the number of iovecs, or -1 if any byte is outside guest memory,
 * the range wraps, or it needs more than max iovecs.
 */
int vu_gpa_to_iov(const struct vu_dev *dev, uint64_t gpa, uint64_t len,
		  struct iovec *iov, unsigned int max);

/*
 * Where guest physical address gpa lives in the front-end's memory: the fd of
 * its region, the offset in that file, and the bytes the region holds from
 * there. False if gpa is not guest memory. Lets a device map scattered guest
 * pages next to each other (vu_view_*).
 */
bool vu_gpa_to_file(const struct vu_dev *dev, uint64_t gpa, int *fd, uint64_t *offset,
		    uint64_t *avail);

/* Copies between an iovec list and a flat buffer; return bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t offset,
		  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t offset,
		    const void *buf, size_t len);
size_t iov_size(const struct iovec *iov, unsigned int n);

#endif
