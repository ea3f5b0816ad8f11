/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * The guest-driver side of a virtio-video decoder on top of vu_front: command
 * requests with their response buffers in guest memory, answered out of order,
 * and the event queue kept full of buffers.
 */
#ifndef VV_DEV_H
#define VV_DEV_H

#include "vu_front.h"

#include <stdbool.h>
#include <stdint.h>

#include "virtio_video.h"

struct vv_dev;

struct vv_req {
	struct vv_dev *dev;
	uint64_t cmd_gpa, resp_gpa;
	uint32_t cmd_len, resp_len;
	bool done;
	uint32_t used_len;
	void (*complete)(struct vv_req *req);
	void *opaque;
	uint64_t tag; /* free for the caller */
};

struct vv_dev {
	struct vu_front f;
	struct virtio_video_config cfg;
	bool split;	/* split commands and responses into several descriptors */
	bool indirect;	/* submit commands through indirect tables */
	int timeout_ms; /* no progress for this long is an error */
	unsigned int inflight;
	void (*on_event)(struct vv_dev *dev, const struct virtio_video_event *ev);
	void *opaque;
	uint64_t ev_gpa;
	unsigned int nev;
	uint64_t events;
};

/* Connects and sets everything up; prints a message and returns -1 on error. */
int vv_open(struct vv_dev *dev, const char *path, uint64_t want_dev, int nreg, uint64_t mem_size);
/* Stops the rings (GET_VRING_BASE) and closes. */
void vv_close(struct vv_dev *dev, bool stop_rings);

/* A request with cmd_len bytes of command and resp_len bytes of response. */
struct vv_req *vv_req_new(struct vv_dev *dev, uint32_t cmd_len, uint32_t resp_len);
void vv_req_free(struct vv_req *req);
static inline void *vv_cmd(struct vv_req *req)
{
	return vu_va(&req->dev->f, req->cmd_gpa, req->cmd_len);
}
static inline void *vv_resp(struct vv_req *req)
{
	return vu_va(&req->dev->f, req->resp_gpa, req->resp_len);
}
int vv_submit(struct vv_req *req);
/* Processes completions until req is done (or forever when req == NULL and
 * until_done says so); returns -1 on timeout or error. */
int vv_wait(struct vv_dev *dev, struct vv_req *req);
/* One round: wait up to timeout_ms for something, then process it. Returns the
 * number of completions processed, -1 on error. */
int vv_poll(struct vv_dev *dev, int timeout_ms);

/*
 * Synchronous command: builds a request from cmd (len bytes), waits for its
 * answer and copies up to resp_cap bytes of it into resp. Returns the response
 * type, or -1 if the request failed at the transport level.
 */
int vv_sync(struct vv_dev *dev, const void *cmd, uint32_t len, void *resp, uint32_t resp_cap,
	    uint32_t *used_len);

const char *vv_resp_name(uint32_t type);

#endif /* VV_DEV_H */
