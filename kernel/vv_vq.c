// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: request objects, token replies, event refill.
 *
 * The virtqueue interrupt only schedules vq_work; replies are matched to
 * their request through the token and their callbacks run in that work,
 * outside the queue lock.
 */
#include <linux/cache.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include "vv.h"

struct vv_req *vv_req_new(u32 cmd_len, u32 resp_len)
{
	size_t cmd_off = ALIGN(sizeof(struct vv_req), ARCH_KMALLOC_MINALIGN);
	size_t resp_off = ALIGN(cmd_off + cmd_len, L1_CACHE_BYTES);
	struct vv_req *req;

	req = kzalloc(resp_off + resp_len, GFP_KERNEL | __GFP_NOWARN);
	if (!req)
		return NULL;
	kref_init(&req->ref);
	INIT_LIST_HEAD(&req->node);
	init_completion(&req->done);
	req->cmd = (u8 *)req + cmd_off;
	req->cmd_len = cmd_len;
	req->resp = (u8 *)req + resp_off;
	req->resp_len = resp_len;
	return req;
}

static void vv_req_release(struct kref *ref)
{
	kfree(container_of(ref, struct vv_req, ref));
}

void vv_req_put(struct vv_req *req)
{
	kref_put(&req->ref, vv_req_release);
}

/* Queue a request; the virtqueue takes its own reference. */
int vv_req_send(struct vv_dev *dev, struct vv_req *req)
{
	struct scatterlist out, in, *sgs[2] = { &out, &in };
	unsigned long flags;
	long left = msecs_to_jiffies(dev->timeout_ms);
	bool notify;
	int ret;

	sg_init_one(&out, req->cmd, req->cmd_len);
	sg_init_one(&in, req->resp, req->resp_len);

	for (;;) {
		spin_lock_irqsave(&dev->vq_lock, flags);
		if (dev->dead || dev->broken) {
			ret = dev->dead ? -ENODEV : -EIO;
			spin_unlock_irqrestore(&dev->vq_lock, flags);
			return ret;
		}
		ret = virtqueue_add_sgs(dev->cmd_vq, sgs, 1, 1, req, GFP_ATOMIC);
		if (ret != -ENOSPC)
			break;
		spin_unlock_irqrestore(&dev->vq_lock, flags);
		left = wait_event_timeout(dev->space_wq,
					  dev->cmd_vq->num_free > 0 || dev->dead ||
					  dev->broken, left);
		if (!left)
			return -ETIMEDOUT;
	}
	if (ret) {
		spin_unlock_irqrestore(&dev->vq_lock, flags);
		return ret;
	}
	kref_get(&req->ref);
	if (list_empty(&dev->inflight))
		dev->last_reply = jiffies;
	list_add_tail(&req->node, &dev->inflight);
	notify = virtqueue_kick_prepare(dev->cmd_vq);
	spin_unlock_irqrestore(&dev->vq_lock, flags);
	queue_delayed_work(system_wq, &dev->watchdog, msecs_to_jiffies(dev->timeout_ms));
	if (notify)
		virtqueue_notify(dev->cmd_vq);
	return 0;
}

static int vv_resp_errno(u32 type)
{
	switch (type) {
	case VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY:
		return -ENOMEM;
	case VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER:
	case VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Check a completed reply: transport error, length, and response type. */
int vv_resp_status(struct vv_req *req, u32 ok_type, u32 min_len)
{
	const struct virtio_video_cmd_hdr *hdr = req->resp;
	u32 type;

	if (req->err)
		return req->err;
	if (req->resp_used < sizeof(*hdr))
		return -EIO;
	type = le32_to_cpu(hdr->type);
	if (type != ok_type)
		return vv_resp_errno(type);
	if (req->resp_used < min_len)
		return -EIO;
	return 0;
}

/* Send and wait, with a timeout; the caller still owns its reference. */
int vv_req_sync(struct vv_dev *dev, struct vv_req *req, u32 ok_type)
{
	int ret;

	ret = vv_req_send(dev, req);
	if (ret)
		return ret;
	if (!wait_for_completion_timeout(&req->done,
					 msecs_to_jiffies(dev->timeout_ms))) {
		dev_err(&dev->vdev->dev, "command 0x%x timed out\n",
			le32_to_cpu(((struct virtio_video_cmd_hdr *)req->cmd)->type));
		vv_dev_set_broken(dev);
		return -EIO;
	}
	return vv_resp_status(req, ok_type, sizeof(struct virtio_video_cmd_hdr));
}

static void vv_req_complete(struct vv_dev *dev, struct vv_req *req)
{
	if (req->cb)
		req->cb(dev, req);
	complete(&req->done);
	vv_req_put(req);
}

/* Move every used command buffer to @done. */
static void vv_cmd_collect(struct vv_dev *dev, struct list_head *done)
{
	struct vv_req *req;
	unsigned long flags;
	unsigned int len;

	spin_lock_irqsave(&dev->vq_lock, flags);
	if (dev->dead) {
		spin_unlock_irqrestore(&dev->vq_lock, flags);
		return;
	}
	do {
		virtqueue_disable_cb(dev->cmd_vq);
		while ((req = virtqueue_get_buf(dev->cmd_vq, &len))) {
			req->resp_used = min(len, req->resp_len);
			list_move_tail(&req->node, done);
			dev->last_reply = jiffies;
		}
	} while (!virtqueue_enable_cb(dev->cmd_vq));
	spin_unlock_irqrestore(&dev->vq_lock, flags);
}

static void vv_cmd_process(struct vv_dev *dev)
{
	struct vv_req *req, *tmp;
	LIST_HEAD(done);

	vv_cmd_collect(dev, &done);
	if (list_empty(&done))
		return;
	wake_up_all(&dev->space_wq);
	list_for_each_entry_safe(req, tmp, &done, node) {
		list_del_init(&req->node);
		vv_req_complete(dev, req);
	}
}

static int vv_evt_add(struct vv_dev *dev, struct virtio_video_event *ev)
{
	struct scatterlist sg;

	sg_init_one(&sg, ev, sizeof(*ev));
	return virtqueue_add_inbuf(dev->evt_vq, &sg, 1, ev, GFP_ATOMIC);
}

int vv_evt_fill(struct vv_dev *dev)
{
	unsigned long flags;
	int i, ret = 0;

	spin_lock_irqsave(&dev->vq_lock, flags);
	for (i = 0; i < VV_NUM_EVENTS && !ret; i++)
		ret = vv_evt_add(dev, &dev->events[i]);
	virtqueue_kick(dev->evt_vq);
	spin_unlock_irqrestore(&dev->vq_lock, flags);
	return ret;
}

static void vv_evt_dispatch(struct vv_dev *dev, u32 type, u32 sid)
{
	struct vv_ctx *ctx;
	int bit;

	switch (type) {
	case VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED:
		bit = VV_EV_RES_CHANGED;
		break;
	case VIRTIO_VIDEO_EVENT_ERROR:
		bit = VV_EV_ERROR;
		break;
	default:
		dev_warn_ratelimited(&dev->vdev->dev, "unknown event 0x%x\n", type);
		return;
	}
	spin_lock(&dev->ctx_lock);
	ctx = idr_find(&dev->ctx_idr, sid);
	if (ctx && !ctx->closing) {
		set_bit(bit, &ctx->events);
		schedule_work(&ctx->event_work);
	}
	spin_unlock(&dev->ctx_lock);
}

static void vv_evt_process(struct vv_dev *dev)
{
	struct virtio_video_event *ev;
	unsigned long flags;
	unsigned int len;
	u32 type, sid;

	for (;;) {
		spin_lock_irqsave(&dev->vq_lock, flags);
		if (dev->dead) {
			spin_unlock_irqrestore(&dev->vq_lock, flags);
			return;
		}
		ev = virtqueue_get_buf(dev->evt_vq, &len);
		if (!ev) {
			if (virtqueue_enable_cb(dev->evt_vq)) {
				spin_unlock_irqrestore(&dev->vq_lock, flags);
				return;
			}
			virtqueue_disable_cb(dev->evt_vq);
			spin_unlock_irqrestore(&dev->vq_lock, flags);
			continue;
		}
		spin_unlock_irqrestore(&dev->vq_lock, flags);

		type = le32_to_cpu(ev->event_type);
		sid = le32_to_cpu(ev->stream_id);
		/*
		 * Replies written before the event (the last frames of the old
		 * resolution) are handled before it.
		 */
		vv_cmd_process(dev);
		if (len >= sizeof(*ev))
			vv_evt_dispatch(dev, type, sid);

		spin_lock_irqsave(&dev->vq_lock, flags);
		if (!dev->dead) {
			memset(ev, 0, sizeof(*ev));
			if (vv_evt_add(dev, ev))
				dev_warn_ratelimited(&dev->vdev->dev,
						     "cannot repost event buffer\n");
			virtqueue_kick(dev->evt_vq);
		}
		spin_unlock_irqrestore(&dev->vq_lock, flags);
	}
}

void vv_vq_work(struct work_struct *work)
{
	struct vv_dev *dev = container_of(work, struct vv_dev, vq_work);

	vv_cmd_process(dev);
	vv_evt_process(dev);
}

void vv_vq_cmd_done(struct virtqueue *vq)
{
	struct vv_dev *dev = vq->vdev->priv;

	schedule_work(&dev->vq_work);
}

void vv_vq_evt_done(struct virtqueue *vq)
{
	struct vv_dev *dev = vq->vdev->priv;

	schedule_work(&dev->vq_work);
}

/*
 * After the device was reset: complete every request still in flight with
 * -ENODEV. Nothing can write into them any more.
 */
void vv_vq_cancel_all(struct vv_dev *dev)
{
	struct vv_req *req, *tmp;
	unsigned long flags;
	unsigned int len;
	LIST_HEAD(done);

	spin_lock_irqsave(&dev->vq_lock, flags);
	dev->dead = true;
	while ((req = virtqueue_get_buf(dev->cmd_vq, &len)))
		;
	while ((req = virtqueue_detach_unused_buf(dev->cmd_vq)))
		;
	while (virtqueue_detach_unused_buf(dev->evt_vq))
		;
	list_splice_init(&dev->inflight, &done);
	spin_unlock_irqrestore(&dev->vq_lock, flags);
	wake_up_all(&dev->space_wq);

	list_for_each_entry_safe(req, tmp, &done, node) {
		list_del_init(&req->node);
		req->err = -ENODEV;
		req->resp_used = 0;
		vv_req_complete(dev, req);
	}
}

/* Every open context learns that the device failed (its event work runs). */
void vv_dev_fail_contexts(struct vv_dev *dev)
{
	struct vv_ctx *ctx;
	int id;

	spin_lock(&dev->ctx_lock);
	idr_for_each_entry(&dev->ctx_idr, ctx, id) {
		if (!ctx->closing) {
			set_bit(VV_EV_ERROR, &ctx->events);
			schedule_work(&ctx->event_work);
		}
	}
	spin_unlock(&dev->ctx_lock);
}

/* A command timed out: the device is not trusted any more. */
void vv_dev_set_broken(struct vv_dev *dev)
{
	unsigned long flags;

	spin_lock_irqsave(&dev->vq_lock, flags);
	dev->broken = true;
	spin_unlock_irqrestore(&dev->vq_lock, flags);
	wake_up_all(&dev->space_wq);

	vv_dev_fail_contexts(dev);
	wake_up_all(&dev->space_wq);
}

/*
 * Buffers may legitimately stay with the device for long (no input, no
 * free frame), so a quiet device is not a dead one: when requests have been
 * waiting without any reply for timeout_ms, a QUERY_CAPABILITY probes it. A
 * device that does not answer that either (its back-end died) is declared
 * broken, and every client gets errors instead of waiting forever.
 */
void vv_watchdog(struct work_struct *work)
{
	struct vv_dev *dev = container_of(to_delayed_work(work), struct vv_dev, watchdog);
	unsigned long timeout = msecs_to_jiffies(dev->timeout_ms);
	unsigned long flags, quiet;
	struct vv_caps *caps;
	bool idle, stop;

	spin_lock_irqsave(&dev->vq_lock, flags);
	idle = list_empty(&dev->inflight);
	stop = dev->dead || dev->broken;
	quiet = jiffies - dev->last_reply;
	spin_unlock_irqrestore(&dev->vq_lock, flags);
	if (idle || stop)
		return;
	if (quiet < timeout) {
		queue_delayed_work(system_wq, &dev->watchdog, timeout - quiet);
		return;
	}
	caps = kmalloc(sizeof(*caps), GFP_KERNEL);
	if (!caps)
		return;
	vv_cmd_query_caps(dev, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, caps);
	kfree(caps);
	queue_delayed_work(system_wq, &dev->watchdog, timeout);
}
