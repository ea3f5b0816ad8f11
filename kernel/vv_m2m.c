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
 * Give the device's queue @q the memory type ctx->q_data[q].mem: GET_PARAMS_EXT,
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
	p.resource_type = cpu_to_le32(ctx->q_data[q].mem);
	ret = vv_cmd_set_params_ext(ctx->dev, ctx->stream_id, &p);
	if (ret)
		return ret;
	ctx->q_data[q].dev_mem = ctx->q_data[q].mem;
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

	ctx->q_data[VV_Q_SRC].dev_mem = mem_type;
	ctx->q_data[VV_Q_DST].dev_mem = mem_type;
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

	ctx->q_data[q].mem = dmabuf && ctx->dev->has_obj ? VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT :
						    VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
	ctx->q_data[q].mem_fixed = !dmabuf;
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

	if (!ctx->q_data[q].mem_fixed) {
		ctx->q_data[q].mem = mem;
		ctx->q_data[q].mem_fixed = true;
		return 0;
	}
	if (mem == ctx->q_data[q].mem || ctx->dev->per_res)
		return 0;
	dev_dbg(&ctx->dev->vdev->dev,
		"stream %u queue %u: buffer %u: memory type %u on a queue of type %u\n",
		ctx->stream_id, q, vb->index, mem, ctx->q_data[q].mem);
	return -EINVAL;
}

static int vv_queue_setup(struct vb2_queue *vq, unsigned int *nbuffers,
			  unsigned int *nplanes, unsigned int sizes[],
			  struct device *alloc_devs[])
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vq);
	unsigned int q = vv_vq_index(vq);
	u32 size = ctx->q_data[q].layout.sizeimage;

	if (*nplanes) {
		/* CREATE_BUFS; with EXT the first one is like REQBUFS. */
		if (*nplanes != 1 || sizes[0] < size)
			return -EINVAL;
		if (!ctx->dev->ext || vb2_is_busy(vq))
			return 0;
	}

	/* A fresh allocation: the device forgets the old resources. */
	if (ctx->stream_created && ctx->q_data[q].n_res) {
		vv_cmd_resource_destroy_all(ctx->dev, ctx->stream_id, vv_qtype(q));
		ctx->q_data[q].n_res = 0;
		ctx->q_data[q].res_gen++;
	}
	if (ctx->dev->ext) {
		int ret = vv_ext_reqbufs(ctx, q, vq);

		if (ret || *nplanes)
			return ret;
	}
	*nplanes = 1;
	sizes[0] = size;
	*nbuffers = max_t(unsigned int, *nbuffers, ctx->q_data[q].min_bufs);
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

/* The device's queue of raw frames: the decoder's CAPTURE, the encoder's OUTPUT. */
static bool vv_is_frame_queue(struct vv_ctx *ctx, unsigned int q)
{
	return (q == VV_Q_DST) == ctx->dev->role->coded_input;
}

static int vv_buf_prepare(struct vb2_buffer *vb)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);
	unsigned int q = vv_vq_index(vb->vb2_queue);

	if (vv_is_frame_queue(ctx, q) &&
	    vb2_plane_size(vb, 0) < ctx->q_data[q].layout.sizeimage)
		return -EINVAL;
	if (vb->vb2_queue->is_output) {
		if (vb->planes[0].data_offset)
			return -EINVAL;
	} else {
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
	if (!vb->vb2_queue->is_output && ctx->dev->role->dst_queued)
		ctx->dev->role->dst_queued(ctx);
	vv_pump(ctx);
}

static int vv_start_streaming(struct vb2_queue *vq, unsigned int count)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vq);
	unsigned int q = vv_vq_index(vq);
	int ret;

	ctx->q_data[q].sequence = 0;
	if (q == VV_Q_DST)
		ctx->cap_out = 0;
	ret = ctx->dev->role->start(ctx, q);
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

	/*
	 * The device answers a drain that the QUEUE_CLEAR cancels, and that
	 * answer must not end a sequence (EOS event, LAST buffer) the client
	 * is aborting.
	 */
	spin_lock_irq(&ctx->slock);
	ctx->drain_seq++;
	spin_unlock_irq(&ctx->slock);
	vv_clear_queue(ctx, q, false);
	vv_return_all(ctx, q, VB2_BUF_STATE_ERROR);
	ctx->dev->role->stopped(ctx, q);
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
	struct vv_ctx *ctx = priv;
	bool sp = ctx->dev->single_planar;
	int ret;

	ret = vv_vq_init(src_vq, sp ? V4L2_BUF_TYPE_VIDEO_OUTPUT :
				      V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, ctx);
	if (ret)
		return ret;
	return vv_vq_init(dst_vq, sp ? V4L2_BUF_TYPE_VIDEO_CAPTURE :
				       V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, ctx);
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
	if (!ctx->q_data[q].n_res && ctx->q_data[q].dev_mem != ctx->q_data[q].mem) {
		ret = vv_ext_set_mem(ctx, q);
		if (ret)
			return ret;
	}
	queue_obj = ctx->q_data[q].dev_mem == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
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

	num_planes = ctx->q_data[q].layout.num_planes;
	for (i = 0; i < num_planes; i++)
		offsets[i] = ctx->q_data[q].layout.offset[i];

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
	struct vv_queue *qd = &ctx->q_data[q];
	u64 key = 0;
	unsigned int i;
	int ret;

	if (buf->res >= 0 && buf->res < qd->n_res && buf->res_gen == qd->res_gen)
		return buf->res;

	if (vb->memory == VB2_MEMORY_DMABUF) {
		key = vv_dmabuf_key(vb, 0);
		for (i = 0; i < qd->n_res; i++) {
			if (qd->res[i].key[0] == key) {
				buf->res = i;
				buf->res_gen = qd->res_gen;
				return i;
			}
		}
	}
	if (qd->n_res >= VV_MAX_RES)
		return -ENOSPC;

	i = qd->n_res;
	qd->res[i].id = (q == VV_Q_DST ? 0x1000 : 0) + i + 1;
	qd->res[i].key[0] = key;
	ret = vv_res_create(ctx, q, vb, qd->res[i].id);
	if (ret)
		return ret;
	qd->n_res++;
	buf->res = i;
	buf->res_gen = qd->res_gen;
	return i;
}

/* ---- buffer traffic ---- */

void vv_done(struct vv_ctx *ctx, struct vb2_v4l2_buffer *vbuf, enum vb2_buffer_state state)
{
	unsigned int q = V4L2_TYPE_IS_OUTPUT(vbuf->vb2_buf.type) ? VV_Q_SRC : VV_Q_DST;
	unsigned long flags;

	spin_lock_irqsave(&ctx->slock, flags);
	vbuf->sequence = ctx->q_data[q].sequence++;
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
	if (ctx->q_data[q].slot_req[idx] != req) {
		spin_unlock_irqrestore(&ctx->slock, flags);
		goto out;
	}
	vbuf = ctx->q_data[q].slot_vb[idx];
	ctx->q_data[q].slot_req[idx] = NULL;
	ctx->q_data[q].slot_vb[idx] = NULL;
	ctx->q_data[q].n_slots--;

	if (!ret && q == VV_Q_DST && (rflags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) &&
	    (rflags & VIRTIO_VIDEO_BUFFER_FLAG_ERR)) {
		/* The drain still ends here: an empty LAST buffer. */
		size = 0;
		rflags &= ~VIRTIO_VIDEO_BUFFER_FLAG_ERR;
	}
	if (ret || (rflags & VIRTIO_VIDEO_BUFFER_FLAG_ERR)) {
		state = VB2_BUF_STATE_ERROR;
		requeue = q == VV_Q_DST && ctx->q_data[q].clearing && ctx->requeue_dst && !ret;
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
		vbuf->flags &= ~(V4L2_BUF_FLAG_KEYFRAME | V4L2_BUF_FLAG_PFRAME |
				 V4L2_BUF_FLAG_BFRAME);
		/* An encoder's packet says what kind of frame it holds. */
		if (rflags & VIRTIO_VIDEO_BUFFER_FLAG_IFRAME)
			vbuf->flags |= V4L2_BUF_FLAG_KEYFRAME;
		else if (rflags & VIRTIO_VIDEO_BUFFER_FLAG_PFRAME)
			vbuf->flags |= V4L2_BUF_FLAG_PFRAME;
		else if (rflags & VIRTIO_VIDEO_BUFFER_FLAG_BFRAME)
			vbuf->flags |= V4L2_BUF_FLAG_BFRAME;
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
	req = vv_cmd_resource_queue_new(ctx->stream_id, vv_qtype(q), ctx->q_data[q].res[res].id,
					vb->timestamp, q == VV_Q_SRC ? 1 : 0, &size);
	if (!req)
		return -ENOMEM;
	req->cb = vv_resource_queue_cb;
	req->priv = ctx;
	req->q = q;
	req->index = idx;
	kref_get(&ctx->ref);

	spin_lock_irqsave(&ctx->slock, flags);
	ctx->q_data[q].slot_req[idx] = req;
	ctx->q_data[q].slot_vb[idx] = vbuf;
	ctx->q_data[q].n_slots++;
	if (q == VV_Q_SRC)
		vv_meta_store(ctx, vbuf);
	spin_unlock_irqrestore(&ctx->slock, flags);

	ret = vv_req_send(ctx->dev, req);
	if (ret) {
		spin_lock_irqsave(&ctx->slock, flags);
		ctx->q_data[q].slot_req[idx] = NULL;
		ctx->q_data[q].slot_vb[idx] = NULL;
		ctx->q_data[q].n_slots--;
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
	ok = !ctx->error && !ctx->q_data[q].clearing;
	if (q == VV_Q_SRC)
		ok = ok && !ctx->draining && !ctx->stopped;
	else
		ok = ok && !ctx->dst_wait && !ctx->last_pending;
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
	ctx->q_data[q].clearing = true;
	ctx->requeue_dst = requeue;
	spin_unlock_irq(&ctx->slock);

	if (ctx->stream_created) {
		ret = vv_cmd_queue_clear(dev, ctx->stream_id, vv_qtype(q));
		left = ret ? 0 : msecs_to_jiffies(dev->timeout_ms);
		wait_event_timeout(ctx->slot_wq, !READ_ONCE(ctx->q_data[q].n_slots), left);
	}

	for (i = 0; i < VB2_MAX_FRAME; i++) {
		spin_lock_irq(&ctx->slock);
		vbuf = ctx->q_data[q].slot_vb[i];
		if (vbuf) {
			ctx->q_data[q].slot_req[i] = NULL;
			ctx->q_data[q].slot_vb[i] = NULL;
			ctx->q_data[q].n_slots--;
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
	ctx->q_data[q].clearing = false;
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

/* ---- stream, errors and drain (both roles) ---- */

/*
 * A device stream for @coded_vfmt, created when the context has none or one
 * for another coded format (whose resources the device then forgot).
 */
int vv_ensure_stream(struct vv_ctx *ctx, u32 coded_vfmt)
{
	struct vv_dev *dev = ctx->dev;
	unsigned int q;
	u32 mem;
	int ret;

	if (ctx->stream_created && ctx->stream_vfmt == coded_vfmt)
		return 0;
	if (ctx->stream_created) {
		vv_cmd_stream_destroy(dev, ctx->stream_id);
		ctx->stream_created = false;
	}
	for (q = VV_Q_SRC; q <= VV_Q_DST; q++) {
		ctx->q_data[q].n_res = 0;
		ctx->q_data[q].res_gen++;
	}
	/*
	 * Plain v3: guest pages on both queues (with PER_RESOURCE_MEM_TYPE a
	 * resource may say it is a virtio object), as the memory of the
	 * buffers is not known this early. EXT: as crosvm's driver, virtio
	 * objects when the device takes them; each queue gets its type before
	 * its first resource (SET_PARAMS_EXT).
	 */
	mem = dev->ext && dev->has_obj ? VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT :
					 VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
	ret = vv_cmd_stream_create(dev, ctx->stream_id, coded_vfmt, mem, mem);
	if (ret)
		return ret;
	ctx->stream_created = true;
	ctx->stream_vfmt = coded_vfmt;
	if (dev->ext)
		return vv_ext_stream_created(ctx, mem);
	return 0;
}

/* The stream failed: every queue operation fails until STREAMOFF. */
void vv_set_error(struct vv_ctx *ctx)
{
	spin_lock_irq(&ctx->slock);
	ctx->error = true;
	spin_unlock_irq(&ctx->slock);
	vb2_queue_error(v4l2_m2m_get_src_vq(ctx->fh.m2m_ctx));
	vb2_queue_error(v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx));
}

/* The next CAPTURE buffer goes back empty with LAST (now if one is ready). */
void vv_mark_last(struct vv_ctx *ctx)
{
	struct vb2_v4l2_buffer *vbuf = v4l2_m2m_dst_buf_remove(ctx->fh.m2m_ctx);
	unsigned long flags;

	if (!vbuf) {
		spin_lock_irqsave(&ctx->slock, flags);
		ctx->last_pending = true;
		spin_unlock_irqrestore(&ctx->slock, flags);
		return;
	}
	vbuf->flags |= V4L2_BUF_FLAG_LAST;
	vb2_set_plane_payload(&vbuf->vb2_buf, 0, 0);
	vv_done(ctx, vbuf, VB2_BUF_STATE_DONE);
}

/* The device could not drain: the sequence ends here (EOS, empty LAST buffer). */
void vv_drain_end(struct vv_ctx *ctx)
{
	vv_queue_eos_event(ctx);
	vv_mark_last(ctx);
}

static void vv_drain_cb(struct vv_dev *dev, struct vv_req *req)
{
	struct vv_ctx *ctx = req->priv;
	bool finish = false;
	unsigned long flags;

	if (vv_resp_status(req, VIRTIO_VIDEO_RESP_OK_NODATA, 0)) {
		spin_lock_irqsave(&ctx->slock, flags);
		if (ctx->drain_seq == req->index && ctx->draining) {
			ctx->draining = false;
			ctx->stopped = true;
			finish = true;
		}
		spin_unlock_irqrestore(&ctx->slock, flags);
	}
	if (finish)
		vv_drain_end(ctx);
	vv_ctx_put(ctx);
}

/*
 * STREAM_DRAIN; ctx->draining stays set until the device's EOS buffer is
 * out as the LAST one (ctx->lock held).
 */
int vv_send_drain(struct vv_ctx *ctx)
{
	u32 seq;
	int ret;

	spin_lock_irq(&ctx->slock);
	ctx->draining = true;
	seq = ctx->drain_seq;
	spin_unlock_irq(&ctx->slock);

	kref_get(&ctx->ref);
	ret = vv_cmd_stream_drain(ctx->dev, ctx->stream_id, vv_drain_cb, ctx, seq);
	if (ret) {
		vv_ctx_put(ctx);
		spin_lock_irq(&ctx->slock);
		ctx->draining = false;
		spin_unlock_irq(&ctx->slock);
	}
	return ret;
}
