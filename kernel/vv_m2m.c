// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: vb2 queues, device resources and the buffer
 * traffic between V4L2 queues and the device.
 *
 * Buffers wait on the m2m ready lists until vv_pump() hands them to the
 * device with RESOURCE_QUEUE. A buffer owned by the device sits in a slot
 * (queue, index) until its reply comes back; whoever empties the slot under
 * ctx->slock (the reply callback or a forced cancel) gives the buffer back
 * to vb2, so a late reply never touches a buffer vb2 has taken back.
 */
#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio_dma_buf.h>
#include <media/videobuf2-dma-contig.h>
#include <media/videobuf2-dma-sg.h>
#include <media/v4l2-event.h>

#include "vv.h"

static void vv_ctx_release(struct kref *ref)
{
	kfree(container_of(ref, struct vv_ctx, ref));
}

void vv_ctx_put(struct vv_ctx *ctx)
{
	kref_put(&ctx->ref, vv_ctx_release);
}

static unsigned int vv_vq_index(struct vb2_queue *vq)
{
	return V4L2_TYPE_IS_OUTPUT(vq->type) ? VV_Q_SRC : VV_Q_DST;
}

static struct vb2_queue *vv_vb2q(struct vv_ctx *ctx, unsigned int q)
{
	return q == VV_Q_SRC ? v4l2_m2m_get_src_vq(ctx->fh.m2m_ctx) :
			       v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx);
}

/* ---- memory types (crosvm's GET/SET_PARAMS_EXT) ---- */

/* Is @vb a virtio dma-buf the device can take as a virtio object? */
static bool vv_buf_uuid(struct vv_dev *dev, struct vb2_buffer *vb, uuid_t *uuid)
{
	struct dma_buf *dbuf = vb->planes[0].dbuf;

	if (!dev->has_obj || vb->memory != VB2_MEMORY_DMABUF || !dbuf)
		return false;
	return is_virtio_dma_buf(dbuf) && !virtio_dma_buf_get_uuid(dbuf, uuid);
}

static u32 vv_buf_mem(struct vv_dev *dev, struct vb2_buffer *vb)
{
	uuid_t uuid;

	return vv_buf_uuid(dev, vb, &uuid) ? VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT :
					     VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
}

/*
 * Give the device's queue @q the memory type ctx->mem[q]: GET_PARAMS_EXT,
 * then SET_PARAMS_EXT with the same parameters and the new type. Only while
 * the queue has no resources (the device refuses it otherwise).
 */
static int vv_ext_set_mem(struct vv_ctx *ctx, unsigned int q)
{
	struct virtio_video_params_ext p;
	int ret;

	ret = vv_cmd_get_params_ext(ctx->dev, ctx->stream_id, vv_qtype(q), &p);
	if (ret)
		return ret;
	p.resource_type = cpu_to_le32(ctx->mem[q]);
	ret = vv_cmd_set_params_ext(ctx->dev, ctx->stream_id, &p);
	if (ret)
		return ret;
	ctx->dev_mem[q] = ctx->mem[q];
	return 0;
}

/*
 * A device stream was created with @mem_type on both queues: a queue whose
 * buffers exist already (its REQBUFS came before the stream) gets its type
 * now, the other at its REQBUFS.
 */
int vv_ext_stream_created(struct vv_ctx *ctx, u32 mem_type)
{
	unsigned int q;
	int ret;

	ctx->dev_mem[VV_Q_SRC] = mem_type;
	ctx->dev_mem[VV_Q_DST] = mem_type;
	for (q = VV_Q_SRC; q <= VV_Q_DST; q++) {
		if (!vb2_is_busy(vv_vb2q(ctx, q)))
			continue;
		ret = vv_ext_set_mem(ctx, q);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * REQBUFS of queue @q (its resources are gone): MMAP buffers are guest
 * pages; DMABUF ones virtio objects when the device takes them, until the
 * first buffer queued says otherwise (vv_ext_check_buf()).
 */
static int vv_ext_reqbufs(struct vv_ctx *ctx, unsigned int q, struct vb2_queue *vq)
{
	bool dmabuf = vq->memory == VB2_MEMORY_DMABUF;

	ctx->mem[q] = dmabuf && ctx->dev->has_obj ? VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT :
						    VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
	ctx->mem_fixed[q] = !dmabuf;
	if (!ctx->stream_created)
		return 0;
	return vv_ext_set_mem(ctx, q);
}

/*
 * QBUF of a DMABUF buffer with EXT: the first one since REQBUFS sets the
 * queue's type (a virtio-object queue becomes guest pages for a dma-buf
 * without a UUID). A buffer of the other kind later needs a per-resource
 * override (PER_RESOURCE_MEM_TYPE); without it the queue cannot mix.
 */
static int vv_ext_check_buf(struct vv_ctx *ctx, unsigned int q, struct vb2_buffer *vb)
{
	u32 mem = vv_buf_mem(ctx->dev, vb);

	if (!ctx->mem_fixed[q]) {
		ctx->mem[q] = mem;
		ctx->mem_fixed[q] = true;
		return 0;
	}
	if (mem == ctx->mem[q] || ctx->dev->per_res)
		return 0;
	dev_dbg(&ctx->dev->vdev->dev,
		"stream %u queue %u: buffer %u: memory type %u on a queue of type %u\n",
		ctx->stream_id, q, vb->index, mem, ctx->mem[q]);
	return -EINVAL;
}

static int vv_queue_setup(struct vb2_queue *vq, unsigned int *nbuffers,
			  unsigned int *nplanes, unsigned int sizes[],
			  struct device *alloc_devs[])
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vq);
	unsigned int q = vv_vq_index(vq);
	u32 size = q == VV_Q_SRC ? ctx->src_sizeimage : ctx->cap.sizeimage;

	if (*nplanes) {
		/* CREATE_BUFS; with EXT the first one is like REQBUFS. */
		if (*nplanes != 1 || sizes[0] < size)
			return -EINVAL;
		if (!ctx->dev->ext || vb2_is_busy(vq))
			return 0;
	}

	/* A fresh allocation: the device forgets the old resources. */
	if (ctx->stream_created && ctx->n_res[q]) {
		vv_cmd_resource_destroy_all(ctx->dev, ctx->stream_id, vv_qtype(q));
		ctx->n_res[q] = 0;
		ctx->res_gen[q]++;
	}
	if (ctx->dev->ext) {
		int ret = vv_ext_reqbufs(ctx, q, vq);

		if (ret || *nplanes)
			return ret;
	}
	*nplanes = 1;
	sizes[0] = size;
	if (q == VV_Q_DST)
		*nbuffers = max_t(unsigned int, *nbuffers,
				  v4l2_ctrl_g_ctrl(ctx->min_cap_ctrl));
	else
		*nbuffers = max_t(unsigned int, *nbuffers, VV_MIN_SRC_BUFS);
	*nbuffers = min_t(unsigned int, *nbuffers, VB2_MAX_FRAME);
	return 0;
}

static int vv_buf_out_validate(struct vb2_buffer *vb)
{
	struct vb2_v4l2_buffer *vbuf = to_vb2_v4l2_buffer(vb);

	vbuf->field = V4L2_FIELD_NONE;
	return 0;
}

static int vv_buf_init(struct vb2_buffer *vb)
{
	to_vv_buf(to_vb2_v4l2_buffer(vb))->res = -1;
	return 0;
}

static int vv_buf_prepare(struct vb2_buffer *vb)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);

	if (vb->vb2_queue->is_output) {
		if (vb->planes[0].data_offset)
			return -EINVAL;
	} else {
		if (vb2_plane_size(vb, 0) < ctx->cap.sizeimage)
			return -EINVAL;
		vb2_set_plane_payload(vb, 0, 0);
	}
	if (ctx->dev->ext && vb->memory == VB2_MEMORY_DMABUF)
		return vv_ext_check_buf(ctx, vv_vq_index(vb->vb2_queue), vb);
	return 0;
}

static void vv_buf_queue(struct vb2_buffer *vb)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);
	struct vb2_v4l2_buffer *vbuf = to_vb2_v4l2_buffer(vb);
	unsigned long flags;
	bool last;

	if (!vb->vb2_queue->is_output) {
		spin_lock_irqsave(&ctx->slock, flags);
		if (ctx->cap_out)
			ctx->cap_out--;
		last = ctx->last_pending && vb2_start_streaming_called(vb->vb2_queue);
		if (last)
			ctx->last_pending = false;
		spin_unlock_irqrestore(&ctx->slock, flags);
		if (last) {
			vbuf->flags |= V4L2_BUF_FLAG_LAST;
			vb2_set_plane_payload(vb, 0, 0);
			vv_done(ctx, vbuf, VB2_BUF_STATE_DONE);
			return;
		}
	}
	v4l2_m2m_buf_queue(ctx->fh.m2m_ctx, vbuf);
	if (!vb->vb2_queue->is_output)
		vv_dec_rc_check(ctx);
	vv_pump(ctx);
}

static int vv_start_streaming(struct vb2_queue *vq, unsigned int count)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vq);
	unsigned int q = vv_vq_index(vq);
	int ret;

	ctx->sequence[q] = 0;
	if (q == VV_Q_DST)
		ctx->cap_out = 0;
	ret = vv_dec_start(ctx, q);
	if (ret) {
		vv_return_all(ctx, q, VB2_BUF_STATE_QUEUED);
		return ret;
	}
	vv_pump(ctx);
	return 0;
}

static void vv_stop_streaming(struct vb2_queue *vq)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vq);
	unsigned int q = vv_vq_index(vq);

	vv_dec_stopping(ctx);
	vv_clear_queue(ctx, q, false);
	vv_return_all(ctx, q, VB2_BUF_STATE_ERROR);
	vv_dec_stopped(ctx, q);
}

static const struct vb2_ops vv_qops = {
	.queue_setup = vv_queue_setup,
	.buf_out_validate = vv_buf_out_validate,
	.buf_init = vv_buf_init,
	.buf_prepare = vv_buf_prepare,
	.buf_queue = vv_buf_queue,
	.start_streaming = vv_start_streaming,
	.stop_streaming = vv_stop_streaming,
	.wait_prepare = vb2_ops_wait_prepare,
	.wait_finish = vb2_ops_wait_finish,
};

static int vv_vq_init(struct vb2_queue *vq, enum v4l2_buf_type type,
		      struct vv_ctx *ctx)
{
	struct vv_dev *dev = ctx->dev;

	vq->type = type;
	vq->io_modes = VB2_MMAP | VB2_DMABUF;
	vq->drv_priv = ctx;
	vq->buf_struct_size = sizeof(struct vv_buf);
	vq->ops = &vv_qops;
	vq->mem_ops = dev->has_sg ? &vb2_dma_sg_memops : &vb2_dma_contig_memops;
	vq->timestamp_flags = V4L2_BUF_FLAG_TIMESTAMP_COPY;
	vq->lock = &ctx->lock;
	vq->dev = dev->vdev->dev.parent;
	return vb2_queue_init(vq);
}

int vv_queue_init(void *priv, struct vb2_queue *src_vq, struct vb2_queue *dst_vq)
{
	int ret;

	ret = vv_vq_init(src_vq, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, priv);
	if (ret)
		return ret;
	return vv_vq_init(dst_vq, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, priv);
}

/* ---- resources ---- */

static u64 vv_dmabuf_key(struct vb2_buffer *vb, unsigned int p)
{
	struct dma_buf *dbuf = vb->planes[p].dbuf;

	return dbuf ? file_inode(dbuf->file)->i_ino : 0;
}

/* Guest-page entries of one plane, adjacent DMA segments merged. */
static int vv_plane_entries(struct vv_dev *dev, struct vb2_buffer *vb,
			    unsigned int p, struct virtio_video_mem_entry **out,
			    u32 *count)
{
	struct virtio_video_mem_entry *e;
	u32 left = vb2_plane_size(vb, p);
	struct scatterlist *sg;
	struct sg_table *sgt;
	unsigned int i, n = 0;
	dma_addr_t addr;
	u32 len;

	if (!dev->has_sg) {
		e = kzalloc(sizeof(*e), GFP_KERNEL);
		if (!e)
			return -ENOMEM;
		e->addr = cpu_to_le64(vb2_dma_contig_plane_dma_addr(vb, p));
		e->length = cpu_to_le32(left);
		*out = e;
		*count = 1;
		return 0;
	}

	sgt = vb2_dma_sg_plane_desc(vb, p);
	if (!sgt || !sgt->nents)
		return -EINVAL;
	e = kcalloc(sgt->nents, sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (!left)
			break;
		addr = sg_dma_address(sg);
		len = min_t(u32, sg_dma_len(sg), left);
		left -= len;
		if (n && le64_to_cpu(e[n - 1].addr) + le32_to_cpu(e[n - 1].length) == addr &&
		    le32_to_cpu(e[n - 1].length) <= U32_MAX - len) {
			le32_add_cpu(&e[n - 1].length, len);
			continue;
		}
		e[n].addr = cpu_to_le64(addr);
		e[n].length = cpu_to_le32(len);
		n++;
	}
	if (left || !n) {
		kfree(e);
		return -EINVAL;
	}
	*out = e;
	*count = n;
	return 0;
}

/*
 * How a resource of @vb goes to the device: as a virtio object (@uuid set)
 * or as guest pages, and with which planes_layout flag. Plain v3: every
 * resource is guest pages, a virtio dma-buf's UUID only with the
 * per-resource flag. EXT: the queue's type (set now if the queue has no
 * resource yet), the per-resource flag for a buffer of the other kind.
 */
static int vv_res_mem(struct vv_ctx *ctx, unsigned int q, struct vb2_buffer *vb,
		      uuid_t *uuid, bool *obj, u32 *flag)
{
	struct vv_dev *dev = ctx->dev;
	bool queue_obj;
	int ret;

	*obj = vv_buf_uuid(dev, vb, uuid);
	*flag = 0;
	if (!dev->ext) {
		*obj = *obj && dev->per_res;
		if (*obj)
			*flag = VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT;
		return 0;
	}
	if (!ctx->n_res[q] && ctx->dev_mem[q] != ctx->mem[q]) {
		ret = vv_ext_set_mem(ctx, q);
		if (ret)
			return ret;
	}
	queue_obj = ctx->dev_mem[q] == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
	if (*obj == queue_obj)
		return 0;
	if (!dev->per_res)
		return -EINVAL;
	*flag = *obj ? VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT :
		       VIRTIO_VIDEO_PLANES_LAYOUT_F_GUEST_PAGES;
	return 0;
}

static int vv_res_create(struct vv_ctx *ctx, unsigned int q, struct vb2_buffer *vb,
			 u32 rid)
{
	struct vv_dev *dev = ctx->dev;
	u32 offsets[VIRTIO_VIDEO_MAX_PLANES] = { 0 };
	u32 num_entries[VIRTIO_VIDEO_MAX_PLANES] = { 0 };
	struct virtio_video_object_entry obj;
	struct virtio_video_mem_entry *e;
	unsigned int num_planes = 1, i;
	u32 layout = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
	uuid_t uuid;
	bool is_obj;
	u32 count, flag;
	int ret;

	if (q == VV_Q_DST) {
		num_planes = ctx->cap.num_planes;
		for (i = 0; i < num_planes; i++)
			offsets[i] = ctx->cap.offset[i];
	}

	ret = vv_res_mem(ctx, q, vb, &uuid, &is_obj, &flag);
	if (ret)
		return ret;
	layout |= flag;
	if (is_obj) {
		memcpy(obj.uuid, &uuid, sizeof(obj.uuid));
		num_entries[0] = 1;
		return vv_cmd_resource_create(dev, ctx->stream_id, vv_qtype(q), rid,
					      layout, num_planes, offsets,
					      num_entries, &obj, sizeof(obj));
	}

	ret = vv_plane_entries(dev, vb, 0, &e, &count);
	if (ret)
		return ret;
	num_entries[0] = count;
	ret = vv_cmd_resource_create(dev, ctx->stream_id, vv_qtype(q), rid, layout,
				     num_planes, offsets, num_entries, e,
				     count * sizeof(*e));
	kfree(e);
	return ret;
}

/*
 * The device resource backing @vb: created on first use, and again when a
 * DMABUF index gets another dma-buf (one already seen is reused).
 */
static int vv_buf_resource(struct vv_ctx *ctx, unsigned int q, struct vb2_buffer *vb)
{
	struct vv_buf *buf = to_vv_buf(to_vb2_v4l2_buffer(vb));
	u64 key = 0;
	unsigned int i;
	int ret;

	if (buf->res >= 0 && buf->res < ctx->n_res[q] && buf->res_gen == ctx->res_gen[q])
		return buf->res;

	if (vb->memory == VB2_MEMORY_DMABUF) {
		key = vv_dmabuf_key(vb, 0);
		for (i = 0; i < ctx->n_res[q]; i++) {
			if (ctx->res[q][i].key[0] == key) {
				buf->res = i;
				buf->res_gen = ctx->res_gen[q];
				return i;
			}
		}
	}
	if (ctx->n_res[q] >= VV_MAX_RES)
		return -ENOSPC;

	i = ctx->n_res[q];
	ctx->res[q][i].id = (q == VV_Q_DST ? 0x1000 : 0) + i + 1;
	ctx->res[q][i].key[0] = key;
	ret = vv_res_create(ctx, q, vb, ctx->res[q][i].id);
	if (ret)
		return ret;
	ctx->n_res[q]++;
	buf->res = i;
	buf->res_gen = ctx->res_gen[q];
	return i;
}

/* ---- buffer traffic ---- */

void vv_done(struct vv_ctx *ctx, struct vb2_v4l2_buffer *vbuf, enum vb2_buffer_state state)
{
	unsigned int q = V4L2_TYPE_IS_OUTPUT(vbuf->vb2_buf.type) ? VV_Q_SRC : VV_Q_DST;
	unsigned long flags;

	spin_lock_irqsave(&ctx->slock, flags);
	vbuf->sequence = ctx->sequence[q]++;
	if (q == VV_Q_DST && state != VB2_BUF_STATE_QUEUED)
		ctx->cap_out++;
	spin_unlock_irqrestore(&ctx->slock, flags);
	vbuf->field = V4L2_FIELD_NONE;
	if (state == VB2_BUF_STATE_ERROR)
		vb2_set_plane_payload(&vbuf->vb2_buf, 0, 0);
	vb2_buffer_done(&vbuf->vb2_buf, state);
}

static void vv_queue_eos_event(struct vv_ctx *ctx)
{
	static const struct v4l2_event ev = { .type = V4L2_EVENT_EOS };

	v4l2_event_queue_fh(&ctx->fh, &ev);
}

#define VV_META_FLAGS (V4L2_BUF_FLAG_TIMECODE | V4L2_BUF_FLAG_TSTAMP_SRC_MASK)

/* Remember a bitstream buffer's metadata (ctx->slock held). */
static void vv_meta_store(struct vv_ctx *ctx, struct vb2_v4l2_buffer *vbuf)
{
	struct vv_meta *m = &ctx->meta[ctx->meta_next++ % VV_NUM_META];

	m->timestamp = vbuf->vb2_buf.timestamp;
	m->flags = vbuf->flags & VV_META_FLAGS;
	m->timecode = vbuf->timecode;
}

/* Give a frame the metadata of its bitstream buffer (ctx->slock held). */
static void vv_meta_apply(struct vv_ctx *ctx, struct vb2_v4l2_buffer *vbuf)
{
	unsigned int i, n = min_t(unsigned int, ctx->meta_next, VV_NUM_META);
	struct vv_meta *m;

	vbuf->flags &= ~VV_META_FLAGS;
	for (i = 1; i <= n; i++) {
		m = &ctx->meta[(ctx->meta_next - i) % VV_NUM_META];
		if (m->timestamp == vbuf->vb2_buf.timestamp) {
			vbuf->flags |= m->flags;
			vbuf->timecode = m->timecode;
			return;
		}
	}
}

static void vv_resource_queue_cb(struct vv_dev *dev, struct vv_req *req)
{
	const struct virtio_video_resource_queue_resp *resp = req->resp;
	struct vv_ctx *ctx = req->priv;
	unsigned int q = req->q, idx = req->index;
	enum vb2_buffer_state state = VB2_BUF_STATE_DONE;
	struct vb2_v4l2_buffer *vbuf;
	bool requeue = false, eos = false;
	unsigned long flags;
	u32 rflags = 0, size = 0;
	int ret;

	ret = vv_resp_status(req, VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE, sizeof(*resp));
	if (!ret) {
		rflags = le32_to_cpu(resp->flags);
		size = le32_to_cpu(resp->size);
	}

	spin_lock_irqsave(&ctx->slock, flags);
	if (ctx->slot_req[q][idx] != req) {
		spin_unlock_irqrestore(&ctx->slock, flags);
		goto out;
	}
	vbuf = ctx->slot_vb[q][idx];
	ctx->slot_req[q][idx] = NULL;
	ctx->slot_vb[q][idx] = NULL;
	ctx->n_slots[q]--;

	if (!ret && q == VV_Q_DST && (rflags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) &&
	    (rflags & VIRTIO_VIDEO_BUFFER_FLAG_ERR)) {
		/* The drain still ends here: an empty LAST buffer. */
		size = 0;
		rflags &= ~VIRTIO_VIDEO_BUFFER_FLAG_ERR;
	}
	if (ret || (rflags & VIRTIO_VIDEO_BUFFER_FLAG_ERR)) {
		state = VB2_BUF_STATE_ERROR;
		requeue = q == VV_Q_DST && ctx->clearing[q] && ctx->requeue_dst && !ret;
	} else if (q == VV_Q_DST) {
		if (size > vb2_plane_size(&vbuf->vb2_buf, 0)) {
			state = VB2_BUF_STATE_ERROR;
		} else {
			vbuf->vb2_buf.timestamp = le64_to_cpu(resp->timestamp);
			vv_meta_apply(ctx, vbuf);
			if (rflags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) {
				eos = true;
				ctx->draining = false;
				ctx->stopped = true;
			}
		}
	}
	spin_unlock_irqrestore(&ctx->slock, flags);
	wake_up_all(&ctx->slot_wq);

	if (requeue) {
		v4l2_m2m_buf_queue(ctx->fh.m2m_ctx, vbuf);
		goto out;
	}
	if (q == VV_Q_DST && state == VB2_BUF_STATE_DONE) {
		vb2_set_plane_payload(&vbuf->vb2_buf, 0, size);
		if (eos)
			vbuf->flags |= V4L2_BUF_FLAG_LAST;
	}
	/* The event first: a client that sees LAST may look for it at once. */
	if (eos)
		vv_queue_eos_event(ctx);
	vv_done(ctx, vbuf, state);
out:
	vv_ctx_put(ctx);
}

/* Hand one buffer to the device. Called with ctx->lock held. */
static int vv_send_buf(struct vv_ctx *ctx, unsigned int q, struct vb2_v4l2_buffer *vbuf)
{
	struct vb2_buffer *vb = &vbuf->vb2_buf;
	unsigned int idx = vb->index;
	unsigned long flags;
	struct vv_req *req;
	u32 size;
	int res, ret;

	if (idx >= VB2_MAX_FRAME)
		return -EINVAL;
	res = vv_buf_resource(ctx, q, vb);
	if (res < 0)
		return res;
	size = vb2_get_plane_payload(vb, 0);
	req = vv_cmd_resource_queue_new(ctx->stream_id, vv_qtype(q), ctx->res[q][res].id,
					vb->timestamp, q == VV_Q_SRC ? 1 : 0, &size);
	if (!req)
		return -ENOMEM;
	req->cb = vv_resource_queue_cb;
	req->priv = ctx;
	req->q = q;
	req->index = idx;
	kref_get(&ctx->ref);

	spin_lock_irqsave(&ctx->slock, flags);
	ctx->slot_req[q][idx] = req;
	ctx->slot_vb[q][idx] = vbuf;
	ctx->n_slots[q]++;
	if (q == VV_Q_SRC)
		vv_meta_store(ctx, vbuf);
	spin_unlock_irqrestore(&ctx->slock, flags);

	ret = vv_req_send(ctx->dev, req);
	if (ret) {
		spin_lock_irqsave(&ctx->slock, flags);
		ctx->slot_req[q][idx] = NULL;
		ctx->slot_vb[q][idx] = NULL;
		ctx->n_slots[q]--;
		spin_unlock_irqrestore(&ctx->slock, flags);
		vv_ctx_put(ctx);
	}
	vv_req_put(req);
	return ret;
}

static bool vv_can_send(struct vv_ctx *ctx, unsigned int q)
{
	bool ok;

	if (!ctx->stream_created || !vb2_start_streaming_called(vv_vb2q(ctx, q)))
		return false;
	spin_lock_irq(&ctx->slock);
	ok = !ctx->error && !ctx->clearing[q];
	if (q == VV_Q_SRC)
		ok = ok && !ctx->draining && !ctx->stopped;
	else
		ok = ok && !ctx->need_ack && !ctx->last_pending;
	spin_unlock_irq(&ctx->slock);
	return ok;
}

/* Hand every ready buffer the device may take. Called with ctx->lock held. */
void vv_pump(struct vv_ctx *ctx)
{
	struct v4l2_m2m_ctx *m2m = ctx->fh.m2m_ctx;
	struct vb2_v4l2_buffer *vbuf;
	unsigned int q;
	int ret;

	for (q = VV_Q_SRC; q <= VV_Q_DST; q++) {
		while (vv_can_send(ctx, q)) {
			vbuf = q == VV_Q_SRC ? v4l2_m2m_src_buf_remove(m2m) :
					       v4l2_m2m_dst_buf_remove(m2m);
			if (!vbuf)
				break;
			ret = vv_send_buf(ctx, q, vbuf);
			if (ret) {
				dev_dbg(&ctx->dev->vdev->dev, "queue %u buffer %u: %d\n",
					q, vbuf->vb2_buf.index, ret);
				vv_done(ctx, vbuf, VB2_BUF_STATE_ERROR);
			}
		}
	}
}

/*
 * Take back every buffer of queue @q from the device: QUEUE_CLEAR, then wait
 * for the replies. Buffers the device does not give back in time are taken
 * from their slots and returned with an error. With @requeue, CAPTURE
 * buffers go back to the ready list instead of to userspace.
 */
int vv_clear_queue(struct vv_ctx *ctx, unsigned int q, bool requeue)
{
	struct vv_dev *dev = ctx->dev;
	struct vb2_v4l2_buffer *vbuf;
	unsigned int i;
	long left;
	int ret = 0;

	spin_lock_irq(&ctx->slock);
	ctx->clearing[q] = true;
	ctx->requeue_dst = requeue;
	spin_unlock_irq(&ctx->slock);

	if (ctx->stream_created) {
		ret = vv_cmd_queue_clear(dev, ctx->stream_id, vv_qtype(q));
		left = ret ? 0 : msecs_to_jiffies(dev->timeout_ms);
		wait_event_timeout(ctx->slot_wq, !READ_ONCE(ctx->n_slots[q]), left);
	}

	for (i = 0; i < VB2_MAX_FRAME; i++) {
		spin_lock_irq(&ctx->slock);
		vbuf = ctx->slot_vb[q][i];
		if (vbuf) {
			ctx->slot_req[q][i] = NULL;
			ctx->slot_vb[q][i] = NULL;
			ctx->n_slots[q]--;
		}
		spin_unlock_irq(&ctx->slock);
		if (!vbuf)
			continue;
		if (requeue)
			v4l2_m2m_buf_queue(ctx->fh.m2m_ctx, vbuf);
		else
			vv_done(ctx, vbuf, VB2_BUF_STATE_ERROR);
	}

	spin_lock_irq(&ctx->slock);
	ctx->clearing[q] = false;
	ctx->requeue_dst = false;
	spin_unlock_irq(&ctx->slock);
	return ret;
}

/* Give back every buffer waiting on the ready list of queue @q. */
void vv_return_all(struct vv_ctx *ctx, unsigned int q, enum vb2_buffer_state state)
{
	struct vb2_v4l2_buffer *vbuf;

	for (;;) {
		vbuf = q == VV_Q_SRC ? v4l2_m2m_src_buf_remove(ctx->fh.m2m_ctx) :
				       v4l2_m2m_dst_buf_remove(ctx->fh.m2m_ctx);
		if (!vbuf)
			break;
		vv_done(ctx, vbuf, state);
	}
}
