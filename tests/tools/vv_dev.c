// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/* Guest-driver side of virtio-video for tests: see vv_dev.h. */
#include "vv_dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EV_BUFS 32
#define QSIZE 256

static int post_event(struct vv_dev *dev, unsigned int i)
{
	struct vu_sg sg = { dev->ev_gpa + i * sizeof(struct virtio_video_event),
			    sizeof(struct virtio_video_event), true };

	memset(vu_va(&dev->f, sg.gpa, sg.len), 0xa5, sg.len);
	return vu_vq_add(&dev->f, &dev->f.vq[VIRTIO_VIDEO_QUEUE_EVENT], &sg, 1, false,
			 (void *)(uintptr_t)(i + 1));
}

int vv_open(struct vv_dev *dev, const char *path, uint64_t want_dev, int nreg, uint64_t mem_size)
{
	unsigned int i;

	memset(dev, 0, sizeof(*dev));
	dev->timeout_ms = 10000;
	dev->indirect = true;
	if (vu_start(&dev->f, path, want_dev, nreg, mem_size, VIRTIO_VIDEO_NUM_QUEUES, QSIZE) ||
	    vu_get_config(&dev->f, &dev->cfg, sizeof(dev->cfg))) {
		fprintf(stderr, "vhost-user setup: %s\n", dev->f.err);
		return -1;
	}
	if (dev->cfg.max_caps_length < sizeof(struct virtio_video_query_capability_resp) ||
	    dev->cfg.max_resp_length < sizeof(struct virtio_video_get_params_resp) ||
	    dev->cfg.max_caps_length > (1u << 20) || dev->cfg.max_resp_length > (1u << 20)) {
		fprintf(stderr, "config space: bad lengths caps %u resp %u\n",
			dev->cfg.max_caps_length, dev->cfg.max_resp_length);
		return -1;
	}
	dev->nev = EV_BUFS;
	dev->ev_gpa = vu_alloc(&dev->f, EV_BUFS * sizeof(struct virtio_video_event));
	for (i = 0; i < dev->nev; i++)
		if (post_event(dev, i)) {
			fprintf(stderr, "event queue: %s\n", dev->f.err);
			return -1;
		}
	vu_vq_kick(&dev->f, &dev->f.vq[VIRTIO_VIDEO_QUEUE_EVENT]);
	return 0;
}

void vv_close(struct vv_dev *dev, bool stop_rings)
{
	uint32_t base;
	int i;

	if (stop_rings)
		for (i = 0; i < dev->f.nvq; i++)
			if (vu_vq_stop(&dev->f, i, &base))
				fprintf(stderr, "GET_VRING_BASE %d: %s\n", i, dev->f.err);
	vu_close(&dev->f);
}

struct vv_req *vv_req_new(struct vv_dev *dev, uint32_t cmd_len, uint32_t resp_len)
{
	struct vv_req *req = calloc(1, sizeof(*req));

	if (!req)
		return NULL;
	req->dev = dev;
	req->cmd_len = cmd_len;
	req->resp_len = resp_len;
	req->cmd_gpa = vu_alloc(&dev->f, cmd_len);
	req->resp_gpa = vu_alloc(&dev->f, resp_len);
	if (!req->cmd_gpa || !req->resp_gpa) {
		fprintf(stderr, "out of guest memory for a request\n");
		vv_req_free(req);
		return NULL;
	}
	memset(vv_cmd(req), 0, cmd_len);
	memset(vv_resp(req), 0xcc, resp_len);
	return req;
}

void vv_req_free(struct vv_req *req)
{
	if (!req)
		return;
	if (req->cmd_gpa)
		vu_free(&req->dev->f, req->cmd_gpa, req->cmd_len);
	if (req->resp_gpa)
		vu_free(&req->dev->f, req->resp_gpa, req->resp_len);
	free(req);
}

int vv_submit(struct vv_req *req)
{
	struct vv_dev *dev = req->dev;
	struct vu_vq *vq = &dev->f.vq[VIRTIO_VIDEO_QUEUE_COMMAND];
	struct vu_sg sg[4];
	int n = 0, r;

	if (dev->split && req->cmd_len > 8) {
		sg[n++] = (struct vu_sg){ req->cmd_gpa, 8, false };
		sg[n++] = (struct vu_sg){ req->cmd_gpa + 8, req->cmd_len - 8, false };
	} else {
		sg[n++] = (struct vu_sg){ req->cmd_gpa, req->cmd_len, false };
	}
	if (dev->split && req->resp_len > 8) {
		sg[n++] = (struct vu_sg){ req->resp_gpa, 8, true };
		sg[n++] = (struct vu_sg){ req->resp_gpa + 8, req->resp_len - 8, true };
	} else {
		sg[n++] = (struct vu_sg){ req->resp_gpa, req->resp_len, true };
	}
	req->done = false;
	/* wait for ring space */
	while ((r = vu_vq_add(&dev->f, vq, sg, n, dev->indirect, req)) == 1) {
		vu_vq_kick(&dev->f, vq);
		if (vv_poll(dev, dev->timeout_ms) <= 0) {
			fprintf(stderr, "command queue full and no progress\n");
			return -1;
		}
	}
	if (r < 0) {
		fprintf(stderr, "command queue: %s\n", dev->f.err);
		return -1;
	}
	dev->inflight++;
	vu_vq_kick(&dev->f, vq);
	return 0;
}

static int drain(struct vv_dev *dev)
{
	struct vu_vq *cq = &dev->f.vq[VIRTIO_VIDEO_QUEUE_COMMAND];
	struct vu_vq *eq = &dev->f.vq[VIRTIO_VIDEO_QUEUE_EVENT];
	void *tok;
	uint32_t len;
	int r, n = 0;

	while ((r = vu_vq_get(&dev->f, cq, &tok, &len)) == 1) {
		struct vv_req *req = tok;

		dev->inflight--;
		req->done = true;
		req->used_len = len;
		if (len > req->resp_len) {
			fprintf(stderr, "device used %u bytes of a %u-byte response buffer\n", len,
				req->resp_len);
			return -1;
		}
		n++;
		if (req->complete)
			req->complete(req);
	}
	if (r < 0)
		goto err;
	while ((r = vu_vq_get(&dev->f, eq, &tok, &len)) == 1) {
		unsigned int i = (uintptr_t)tok - 1;
		struct virtio_video_event ev;

		if (i >= dev->nev) {
			fprintf(stderr, "bad event token\n");
			return -1;
		}
		if (len < sizeof(ev)) {
			fprintf(stderr, "event of %u bytes\n", len);
			return -1;
		}
		vu_read(&dev->f, dev->ev_gpa + i * sizeof(ev), &ev, sizeof(ev));
		dev->events++;
		n++;
		if (dev->on_event)
			dev->on_event(dev, &ev);
		if (post_event(dev, i) < 0)
			goto err;
		vu_vq_kick(&dev->f, eq);
	}
	if (r < 0)
		goto err;
	return n;
err:
	fprintf(stderr, "virtqueue: %s\n", dev->f.err);
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

int vv_poll(struct vv_dev *dev, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int n, r;

	for (;;) {
		n = drain(dev);
		if (n)
			return n;
		/* drain() armed used_event; look again before sleeping */
		n = drain(dev);
		if (n)
			return n;
		int64_t left = deadline - now_ms();

		if (left <= 0)
			return 0;
		r = vu_wait(&dev->f, (int)left);
		if (r < 0) {
			fprintf(stderr, "%s\n", dev->f.err);
			return -1;
		}
	}
}

int vv_wait(struct vv_dev *dev, struct vv_req *req)
{
	while (!req->done) {
		int n = vv_poll(dev, dev->timeout_ms);

		if (n < 0)
			return -1;
		if (n == 0 && !req->done) {
			fprintf(stderr, "timeout: no answer from the device in %d ms\n",
				dev->timeout_ms);
			return -1;
		}
	}
	return 0;
}

int vv_sync(struct vv_dev *dev, const void *cmd, uint32_t len, void *resp, uint32_t resp_cap,
	    uint32_t *used_len)
{
	struct vv_req *req;
	uint32_t rl = dev->cfg.max_resp_length;
	const struct virtio_video_cmd_hdr *h = cmd;
	int type;

	if (h->type == VIRTIO_VIDEO_CMD_QUERY_CAPABILITY)
		rl = dev->cfg.max_caps_length;
	req = vv_req_new(dev, len, rl);
	if (!req)
		return -1;
	memcpy(vv_cmd(req), cmd, len);
	if (vv_submit(req) || vv_wait(dev, req)) {
		vv_req_free(req);
		return -1;
	}
	if (used_len)
		*used_len = req->used_len;
	if (req->used_len < sizeof(struct virtio_video_cmd_hdr)) {
		type = 0;
	} else {
		memcpy(resp, vv_resp(req), req->used_len < resp_cap ? req->used_len : resp_cap);
		type = ((struct virtio_video_cmd_hdr *)vv_resp(req))->type;
	}
	vv_req_free(req);
	return type;
}

const char *vv_resp_name(uint32_t type)
{
	switch (type) {
	case 0: return "(dropped)";
	case VIRTIO_VIDEO_RESP_OK_NODATA: return "OK_NODATA";
	case VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY: return "OK_QUERY_CAPABILITY";
	case VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE: return "OK_RESOURCE_QUEUE";
	case VIRTIO_VIDEO_RESP_OK_GET_PARAMS: return "OK_GET_PARAMS";
	case VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL: return "OK_QUERY_CONTROL";
	case VIRTIO_VIDEO_RESP_OK_GET_CONTROL: return "OK_GET_CONTROL";
	case VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION: return "ERR_INVALID_OPERATION";
	case VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY: return "ERR_OUT_OF_MEMORY";
	case VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID: return "ERR_INVALID_STREAM_ID";
	case VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID: return "ERR_INVALID_RESOURCE_ID";
	case VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER: return "ERR_INVALID_PARAMETER";
	case VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL: return "ERR_UNSUPPORTED_CONTROL";
	default: return "(unknown)";
	}
}
