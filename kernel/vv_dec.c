// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: the V4L2 stateful decoder
 * (Documentation/userspace-api/media/v4l/dev-decoder.rst).
 */
#include <linux/slab.h>
#include <media/v4l2-event.h>
#include <media/v4l2-ioctl.h>

#include "vv.h"

#define VV_DEF_W 640
#define VV_DEF_H 480
#define VV_MIN_SRC_SIZE SZ_256K
#define VV_MAX_SRC_SIZE SZ_32M
#define VV_RC_DELAY_MS 500

static u32 vv_src_size(u32 w, u32 h, u32 req)
{
	u32 def = max_t(u32, VV_MIN_SRC_SIZE, w * h * 3 / 8);

	return ALIGN(clamp_t(u32, req, def, VV_MAX_SRC_SIZE), PAGE_SIZE);
}

static void vv_dec_layout(struct vv_ctx *ctx)
{
	vv_fmt_layout(ctx->raw->fourcc, ctx->cap_w, ctx->cap_h, ctx->dev_min_stride,
		      ctx->raw->plane_align, &ctx->cap);
}

/*
 * CAPTURE formats listed (the list may depend on the stream,
 * dev-decoder.rst): every frame format that goes with the coded format,
 * except NV12 before the device has seen the stream. v4l2-compliance 1.22
 * enumerates right after open and fails on 6.1.y kernels, whose NV12
 * description ("Y/UV 4:2:0") is not the one it expects. GStreamer takes its
 * pad template from the list right after open, so the RGB formats must be
 * there (v4l2h264dec ! video/x-raw,format=BGRx). TRY_FMT/S_FMT take any
 * compatible format, listed yet or not.
 */
static bool vv_raw_offered(struct vv_ctx *ctx, const struct vv_fmt *raw)
{
	if (!raw || !raw->fourcc || !vv_fmt_compatible(ctx->dev, ctx->coded, raw))
		return false;
	return ctx->have_info || raw->fourcc != V4L2_PIX_FMT_NV12;
}

/* The CAPTURE format follows the OUTPUT format until the device knows better. */
static void vv_dec_reset_capture(struct vv_ctx *ctx)
{
	ctx->have_info = false;
	if (!vv_raw_offered(ctx, ctx->raw))
		ctx->raw = vv_first_raw(ctx->dev, ctx->coded);
	ctx->cap_w = ctx->coded_w ?: VV_DEF_W;
	ctx->cap_h = ctx->coded_h ?: VV_DEF_H;
	ctx->crop = (struct v4l2_rect){ 0, 0, ctx->cap_w, ctx->cap_h };
	ctx->dev_min_stride = 0;
	vv_dec_layout(ctx);
}

/* ---- device stream ---- */

int vv_dec_ensure_stream(struct vv_ctx *ctx)
{
	struct vv_dev *dev = ctx->dev;
	u32 mem;
	int ret;

	if (ctx->stream_created && ctx->stream_vfmt == ctx->coded->vfmt)
		return 0;
	if (ctx->stream_created) {
		vv_cmd_stream_destroy(dev, ctx->stream_id);
		ctx->stream_created = false;
	}
	ctx->n_res[VV_Q_SRC] = 0;
	ctx->n_res[VV_Q_DST] = 0;
	ctx->res_gen[VV_Q_SRC]++;
	ctx->res_gen[VV_Q_DST]++;
	/*
	 * Plain v3: guest pages on both queues (with PER_RESOURCE_MEM_TYPE a
	 * resource may say it is a virtio object), as the CAPTURE memory is
	 * not known this early. EXT: as crosvm's driver, virtio objects when
	 * the device takes them; each queue gets its type before its first
	 * resource (SET_PARAMS_EXT).
	 */
	mem = dev->ext && dev->has_obj ? VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT :
					 VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
	ret = vv_cmd_stream_create(dev, ctx->stream_id, ctx->coded->vfmt, mem, mem);
	if (ret)
		return ret;
	ctx->stream_created = true;
	ctx->stream_vfmt = ctx->coded->vfmt;
	if (dev->ext)
		return vv_ext_stream_created(ctx, mem);
	return 0;
}

static int vv_dec_set_src_params(struct vv_ctx *ctx)
{
	struct virtio_video_params p = {};

	p.queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
	p.format = cpu_to_le32(ctx->coded->vfmt);
	p.frame_width = cpu_to_le32(ctx->coded_w);
	p.frame_height = cpu_to_le32(ctx->coded_h);
	p.num_planes = cpu_to_le32(1);
	p.plane_formats[0].plane_size = cpu_to_le32(ctx->src_sizeimage);
	return vv_cmd_set_params(ctx->dev, ctx->stream_id, &p);
}

/* SET_PARAMS(OUTPUT): our frame layout, and the acknowledgment of a resolution change. */
static int vv_dec_set_dst_params(struct vv_ctx *ctx)
{
	struct virtio_video_params p = {};
	unsigned int i;
	int ret;

	p.queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
	p.format = cpu_to_le32(ctx->raw->vfmt);
	p.frame_width = cpu_to_le32(ctx->cap_w);
	p.frame_height = cpu_to_le32(ctx->cap_h);
	p.crop.left = cpu_to_le32(ctx->crop.left);
	p.crop.top = cpu_to_le32(ctx->crop.top);
	p.crop.width = cpu_to_le32(ctx->crop.width);
	p.crop.height = cpu_to_le32(ctx->crop.height);
	p.num_planes = cpu_to_le32(ctx->cap.num_planes);
	for (i = 0; i < ctx->cap.num_planes; i++) {
		p.plane_formats[i].plane_size = cpu_to_le32(ctx->cap.size[i]);
		p.plane_formats[i].stride = cpu_to_le32(ctx->cap.stride[i]);
	}
	ret = vv_cmd_set_params(ctx->dev, ctx->stream_id, &p);
	if (!ret) {
		spin_lock_irq(&ctx->slock);
		ctx->need_ack = false;
		spin_unlock_irq(&ctx->slock);
	}
	return ret;
}

static void vv_dec_rc_fire(struct vv_ctx *ctx, bool last);
static void vv_dec_resume_drain(struct vv_ctx *ctx);

/* Does the device's current picture size differ from our CAPTURE format? */
static bool vv_dec_same_size(struct vv_ctx *ctx)
{
	struct virtio_video_params p;

	if (vv_cmd_get_params(ctx->dev, ctx->stream_id,
			      VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p))
		return true;
	return le32_to_cpu(p.frame_width) == ctx->cap_w &&
	       le32_to_cpu(p.frame_height) == ctx->cap_h;
}

/* start_streaming of queue @q (ctx->lock held). */
int vv_dec_start(struct vv_ctx *ctx, unsigned int q)
{
	bool resume;
	int ret;

	ret = vv_dec_ensure_stream(ctx);
	if (ret)
		return ret;
	if (q == VV_Q_SRC) {
		ret = vv_dec_set_src_params(ctx);
		if (ret && ret != -EINVAL)
			return ret;
	} else {
		ret = vv_dec_set_dst_params(ctx);
		if (ret == -EINVAL && !vv_dec_same_size(ctx)) {
			/* Our format is for pictures to come: the event will tell. */
			dev_dbg(&ctx->dev->vdev->dev, "stream %u: layout for a later size\n",
				ctx->stream_id);
			ret = 0;
		}
		if (ret)
			return ret;
	}
	spin_lock_irq(&ctx->slock);
	/* CAPTURE back after a resolution change found during the drain. */
	resume = q == VV_Q_DST && ctx->drain_resume;
	if (!resume)
		ctx->draining = false;
	ctx->stopped = false;
	if (q == VV_Q_DST)
		ctx->last_pending = false;
	spin_unlock_irq(&ctx->slock);
	if (resume)
		vv_dec_resume_drain(ctx);
	return 0;
}

/*
 * Before stop_streaming clears the queue: the device answers a drain that
 * the QUEUE_CLEAR cancels, and that answer must not end a sequence (EOS
 * event, LAST buffer) the client is aborting.
 */
void vv_dec_stopping(struct vv_ctx *ctx)
{
	spin_lock_irq(&ctx->slock);
	ctx->drain_seq++;
	spin_unlock_irq(&ctx->slock);
}

/*
 * After stop_streaming of queue @q: a drain in progress is aborted, unless
 * this STREAMOFF(CAPTURE) is part of a resolution change found during the
 * drain (dev-decoder.rst, Drain: the client handles it "before continuing
 * with the drain sequence").
 */
void vv_dec_stopped(struct vv_ctx *ctx, unsigned int q)
{
	struct vv_dev *dev = ctx->dev;

	spin_lock_irq(&ctx->slock);
	ctx->drain_seq++;
	if (q != VV_Q_DST || !ctx->drain_resume) {
		ctx->draining = false;
		ctx->drain_resume = false;
	}
	ctx->stopped = false;
	if (q == VV_Q_DST)
		ctx->last_pending = false;
	ctx->cap_out = 0;
	/* QUEUE_CLEAR resets a failed stream. */
	if (!dev->dead && !dev->broken)
		ctx->error = false;
	spin_unlock_irq(&ctx->slock);
	/* The client stopped CAPTURE before it saw a pending SOURCE_CHANGE. */
	if (q == VV_Q_DST && ctx->rc_pending)
		vv_dec_rc_fire(ctx, false);
}

void vv_dec_set_error(struct vv_ctx *ctx)
{
	spin_lock_irq(&ctx->slock);
	ctx->error = true;
	spin_unlock_irq(&ctx->slock);
	vb2_queue_error(v4l2_m2m_get_src_vq(ctx->fh.m2m_ctx));
	vb2_queue_error(v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx));
}

static void vv_dec_source_change(struct vv_ctx *ctx)
{
	static const struct v4l2_event ev = {
		.type = V4L2_EVENT_SOURCE_CHANGE,
		.u.src_change.changes = V4L2_EVENT_SRC_CH_RESOLUTION,
	};

	v4l2_event_queue_fh(&ctx->fh, &ev);
}

static void vv_dec_mark_last(struct vv_ctx *ctx)
{
	struct vb2_v4l2_buffer *vbuf;

	vbuf = v4l2_m2m_dst_buf_remove(ctx->fh.m2m_ctx);
	if (!vbuf) {
		spin_lock_irq(&ctx->slock);
		ctx->last_pending = true;
		spin_unlock_irq(&ctx->slock);
		return;
	}
	vbuf->flags |= V4L2_BUF_FLAG_LAST;
	vb2_set_plane_payload(&vbuf->vb2_buf, 0, 0);
	vv_done(ctx, vbuf, VB2_BUF_STATE_DONE);
}

/* DECODER_RESOLUTION_CHANGED (ctx->lock held). */
static void vv_dec_res_changed(struct vv_ctx *ctx)
{
	struct vb2_queue *dq = v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx);
	struct virtio_video_params p;
	struct v4l2_rect crop;
	struct vv_layout l;
	u32 w, h, stride = 0, nbufs;
	bool fits;
	int ret;

	ret = vv_cmd_get_params(ctx->dev, ctx->stream_id,
				VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p);
	if (ret) {
		vv_dec_set_error(ctx);
		return;
	}
	w = le32_to_cpu(p.frame_width);
	h = le32_to_cpu(p.frame_height);
	if (!w && !h)
		return;
	if (!w || !h || w > VV_MAX_DIM || h > VV_MAX_DIM) {
		dev_err(&ctx->dev->vdev->dev, "bad frame size %ux%u\n", w, h);
		vv_dec_set_error(ctx);
		return;
	}
	if (le32_to_cpu(p.num_planes) >= 1 &&
	    le32_to_cpu(p.num_planes) <= VIRTIO_VIDEO_MAX_PLANES)
		stride = le32_to_cpu(p.plane_formats[0].stride);
	if (stride > 4 * VV_MAX_DIM)
		stride = 0;
	crop.left = le32_to_cpu(p.crop.left);
	crop.top = le32_to_cpu(p.crop.top);
	crop.width = le32_to_cpu(p.crop.width);
	crop.height = le32_to_cpu(p.crop.height);
	if (!crop.width || !crop.height || crop.left > w || crop.top > h ||
	    crop.width > w - crop.left || crop.height > h - crop.top)
		crop = (struct v4l2_rect){ 0, 0, w, h };
	nbufs = clamp_t(u32, le32_to_cpu(p.min_buffers), 1, VB2_MAX_FRAME);
	v4l2_ctrl_s_ctrl(ctx->min_cap_ctrl, nbufs);

	vv_fmt_layout(ctx->raw->fourcc, w, h, stride, ctx->raw->plane_align, &l);
	fits = vb2_is_streaming(dq) && w == ctx->cap_w && h == ctx->cap_h &&
	       l.bpl == ctx->cap.bpl && l.sizeimage <= ctx->cap.sizeimage;

	ctx->have_info = true;
	ctx->crop = crop;
	if (fits) {
		/* Same size and layout: carry on without a reconfiguration. */
		ret = vv_dec_set_dst_params(ctx);
		if (ret)
			vv_dec_set_error(ctx);
		else
			vv_pump(ctx);
		return;
	}

	ctx->cap_w = w;
	ctx->cap_h = h;
	ctx->dev_min_stride = stride;
	ctx->cap = l;
	spin_lock_irq(&ctx->slock);
	ctx->need_ack = true;
	spin_unlock_irq(&ctx->slock);
	if (vb2_is_streaming(dq)) {
		/*
		 * Take the buffers back. SOURCE_CHANGE and the empty LAST buffer
		 * follow once the client has dequeued every frame of the old
		 * size and queued its buffers again (or after a while): clients
		 * (GStreamer, FFmpeg) reconfigure as soon as they see the event,
		 * dropping frames still queued, and FFmpeg waits for its own
		 * references to the old buffers.
		 */
		spin_lock_irq(&ctx->slock);
		if (ctx->draining) {
			/*
			 * Our QUEUE_CLEAR cancels the device's drain, not the
			 * client's: its answer is ignored (drain_seq) and the
			 * drain is sent again once CAPTURE is back.
			 */
			ctx->drain_seq++;
			ctx->drain_resume = true;
		}
		spin_unlock_irq(&ctx->slock);
		vv_clear_queue(ctx, VV_Q_DST, true);
		ctx->rc_pending = true;
		schedule_delayed_work(&ctx->rc_work, msecs_to_jiffies(VV_RC_DELAY_MS));
		vv_dec_rc_check(ctx);
		return;
	}
	vv_dec_source_change(ctx);
}

/* The deferred SOURCE_CHANGE of a resolution change (ctx->lock held). */
static void vv_dec_rc_fire(struct vv_ctx *ctx, bool last)
{
	ctx->rc_pending = false;
	cancel_delayed_work(&ctx->rc_work);
	vv_dec_source_change(ctx);
	if (last)
		vv_dec_mark_last(ctx);
}

void vv_dec_rc_check(struct vv_ctx *ctx)
{
	if (ctx->rc_pending && !READ_ONCE(ctx->cap_out))
		vv_dec_rc_fire(ctx, true);
}

void vv_dec_rc_work(struct work_struct *work)
{
	struct vv_ctx *ctx = container_of(to_delayed_work(work), struct vv_ctx, rc_work);

	mutex_lock(&ctx->lock);
	if (ctx->rc_pending && vb2_is_streaming(v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx)))
		vv_dec_rc_fire(ctx, true);
	mutex_unlock(&ctx->lock);
}

void vv_dec_event_work(struct work_struct *work)
{
	struct vv_ctx *ctx = container_of(work, struct vv_ctx, event_work);

	mutex_lock(&ctx->lock);
	if (test_and_clear_bit(VV_EV_ERROR, &ctx->events)) {
		dev_dbg(&ctx->dev->vdev->dev, "stream %u: error\n", ctx->stream_id);
		vv_dec_set_error(ctx);
	}
	if (test_and_clear_bit(VV_EV_RES_CHANGED, &ctx->events) && !ctx->error)
		vv_dec_res_changed(ctx);
	mutex_unlock(&ctx->lock);
}

/* ---- drain ---- */

/* The device could not drain: the sequence ends here (EOS, empty LAST buffer). */
static void vv_dec_drain_end(struct vv_ctx *ctx)
{
	struct vb2_v4l2_buffer *vbuf = v4l2_m2m_dst_buf_remove(ctx->fh.m2m_ctx);
	static const struct v4l2_event ev = { .type = V4L2_EVENT_EOS };
	unsigned long flags;

	v4l2_event_queue_fh(&ctx->fh, &ev);
	if (vbuf) {
		vbuf->flags |= V4L2_BUF_FLAG_LAST;
		vb2_set_plane_payload(&vbuf->vb2_buf, 0, 0);
		vv_done(ctx, vbuf, VB2_BUF_STATE_DONE);
	} else {
		spin_lock_irqsave(&ctx->slock, flags);
		ctx->last_pending = true;
		spin_unlock_irqrestore(&ctx->slock, flags);
	}
}

static void vv_dec_drain_cb(struct vv_dev *dev, struct vv_req *req)
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
		vv_dec_drain_end(ctx);
	vv_ctx_put(ctx);
}

/* STREAM_DRAIN; @draining set until the LAST buffer (ctx->lock held). */
static int vv_dec_send_drain(struct vv_ctx *ctx)
{
	u32 seq;
	int ret;

	spin_lock_irq(&ctx->slock);
	ctx->draining = true;
	seq = ctx->drain_seq;
	spin_unlock_irq(&ctx->slock);

	kref_get(&ctx->ref);
	ret = vv_cmd_stream_drain(ctx->dev, ctx->stream_id, vv_dec_drain_cb, ctx, seq);
	if (ret) {
		vv_ctx_put(ctx);
		spin_lock_irq(&ctx->slock);
		ctx->draining = false;
		spin_unlock_irq(&ctx->slock);
	}
	return ret;
}

/*
 * CAPTURE is back after a resolution change found during the drain: the
 * drain goes on. The device still knows its codec was flushed, so the
 * pictures left come out first, then the EOS buffer (ctx->lock held).
 */
static void vv_dec_resume_drain(struct vv_ctx *ctx)
{
	spin_lock_irq(&ctx->slock);
	ctx->drain_resume = false;
	spin_unlock_irq(&ctx->slock);
	dev_dbg(&ctx->dev->vdev->dev, "stream %u: drain resumed after a resolution change\n",
		ctx->stream_id);
	if (!vv_dec_send_drain(ctx))
		return;
	spin_lock_irq(&ctx->slock);
	ctx->stopped = true;
	spin_unlock_irq(&ctx->slock);
	vv_dec_drain_end(ctx);
}

static int vv_dec_drain(struct vv_ctx *ctx)
{
	struct v4l2_m2m_ctx *m2m = ctx->fh.m2m_ctx;
	int ret;

	spin_lock_irq(&ctx->slock);
	if (ctx->draining) {
		spin_unlock_irq(&ctx->slock);
		return -EBUSY;
	}
	spin_unlock_irq(&ctx->slock);
	if (!vb2_is_streaming(v4l2_m2m_get_src_vq(m2m)) ||
	    !vb2_is_streaming(v4l2_m2m_get_dst_vq(m2m)) || !ctx->stream_created)
		return 0;
	if (ctx->stopped)
		return 0;

	/* Everything queued before the command goes to the device first. */
	vv_pump(ctx);
	if (ctx->need_ack) {
		/*
		 * A resolution change waits for the client's new CAPTURE
		 * setup, which would cancel a drain sent now: the drain goes
		 * on after it (dev-decoder.rst), sent when CAPTURE is back.
		 */
		spin_lock_irq(&ctx->slock);
		ctx->draining = true;
		ctx->drain_resume = true;
		spin_unlock_irq(&ctx->slock);
		return 0;
	}
	ret = vv_dec_send_drain(ctx);
	if (ret)
		return ret == -ENODEV ? ret : -EIO;
	return 0;
}

/*
 * DEC_CMD_START: after a drain, or to finish a resolution change with the
 * CAPTURE buffers kept (its LAST buffer dequeued; dev-decoder.rst allows
 * either): then the new layout is acknowledged here, and a drain the change
 * interrupted goes on.
 */
static int vv_dec_restart(struct vv_ctx *ctx)
{
	struct vb2_queue *dq = v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx);
	bool rc_done;
	int ret;

	spin_lock_irq(&ctx->slock);
	if (ctx->draining && !ctx->drain_resume) {
		spin_unlock_irq(&ctx->slock);
		return -EBUSY;
	}
	ctx->stopped = false;
	rc_done = ctx->need_ack && !ctx->rc_pending && vb2_is_streaming(dq) &&
		  dq->last_buffer_dequeued;
	spin_unlock_irq(&ctx->slock);
	vb2_clear_last_buffer_dequeued(dq);
	if (rc_done) {
		ret = vv_dec_set_dst_params(ctx);
		if (ret)
			return ret;
		if (ctx->drain_resume)
			vv_dec_resume_drain(ctx);
	}
	vv_pump(ctx);
	return 0;
}

static int vv_decoder_cmd(struct file *file, void *priv, struct v4l2_decoder_cmd *dc)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	int ret;

	ret = v4l2_m2m_ioctl_try_decoder_cmd(file, priv, dc);
	if (ret)
		return ret;
	mutex_lock(&ctx->lock);
	if (dc->cmd == V4L2_DEC_CMD_STOP)
		ret = vv_dec_drain(ctx);
	else
		ret = vv_dec_restart(ctx);
	mutex_unlock(&ctx->lock);
	return ret;
}

/* ---- formats ---- */

static int vv_querycap(struct file *file, void *priv, struct v4l2_capability *cap)
{
	struct vv_ctx *ctx = file_to_ctx(file);

	strscpy(cap->driver, VV_DRV_NAME, sizeof(cap->driver));
	strscpy(cap->card, "virtio-video decoder", sizeof(cap->card));
	strscpy(cap->bus_info, ctx->dev->bus_info, sizeof(cap->bus_info));
	return 0;
}

static int vv_enum_fmt(struct file *file, void *priv, struct v4l2_fmtdesc *f)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vv_dev *dev = ctx->dev;
	bool out = V4L2_TYPE_IS_OUTPUT(f->type);
	const struct vv_caps *caps = out ? &dev->in_caps : &dev->out_caps;
	const struct vv_fmt *fmt;
	unsigned int i, n = 0;

	for (i = 0; i < caps->num; i++) {
		fmt = &caps->fmts[i];
		if (!fmt->fourcc || vv_caps_find(caps, fmt->fourcc) != fmt)
			continue;
		if (!out && !vv_raw_offered(ctx, fmt))
			continue;
		if (n++ != f->index)
			continue;
		f->pixelformat = fmt->fourcc;
		f->flags = 0;
		if (out) {
			f->flags = V4L2_FMT_FLAG_COMPRESSED | V4L2_FMT_FLAG_DYN_RESOLUTION;
			if (vv_fmt_is_continuous(fmt->fourcc))
				f->flags |= V4L2_FMT_FLAG_CONTINUOUS_BYTESTREAM;
		}
		return 0;
	}
	return -EINVAL;
}

static int vv_enum_framesizes(struct file *file, void *priv,
			      struct v4l2_frmsizeenum *fsize)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	const struct vv_fmt *fmt;

	if (fsize->index)
		return -EINVAL;
	fmt = vv_caps_find(&ctx->dev->in_caps, fsize->pixel_format);
	if (!fmt)
		fmt = vv_caps_find(&ctx->dev->out_caps, fsize->pixel_format);
	if (!fmt)
		return -EINVAL;
	if (fmt->min_w == fmt->max_w && fmt->min_h == fmt->max_h) {
		fsize->type = V4L2_FRMSIZE_TYPE_DISCRETE;
		fsize->discrete.width = fmt->min_w;
		fsize->discrete.height = fmt->min_h;
		return 0;
	}
	fsize->type = fmt->step_w == 1 && fmt->step_h == 1 ?
		      V4L2_FRMSIZE_TYPE_CONTINUOUS : V4L2_FRMSIZE_TYPE_STEPWISE;
	fsize->stepwise.min_width = fmt->min_w;
	fsize->stepwise.max_width = fmt->max_w;
	fsize->stepwise.step_width = fmt->step_w;
	fsize->stepwise.min_height = fmt->min_h;
	fsize->stepwise.max_height = fmt->max_h;
	fsize->stepwise.step_height = fmt->step_h;
	return 0;
}

static void vv_fill_colorimetry(struct vv_ctx *ctx, struct v4l2_pix_format_mplane *pix)
{
	pix->colorspace = ctx->colorspace;
	pix->xfer_func = ctx->xfer_func;
	pix->ycbcr_enc = ctx->ycbcr_enc;
	pix->quantization = ctx->quantization;
	pix->field = V4L2_FIELD_NONE;
	pix->flags = 0;
	pix->num_planes = 1;
	memset(pix->reserved, 0, sizeof(pix->reserved));
	memset(pix->plane_fmt[0].reserved, 0, sizeof(pix->plane_fmt[0].reserved));
}

static void vv_fill_src_fmt(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;

	pix->width = ctx->coded_w;
	pix->height = ctx->coded_h;
	pix->pixelformat = ctx->coded->fourcc;
	vv_fill_colorimetry(ctx, pix);
	pix->plane_fmt[0].bytesperline = 0;
	pix->plane_fmt[0].sizeimage = ctx->src_sizeimage;
}

static void vv_fill_dst_fmt(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;

	pix->width = ctx->cap_w;
	pix->height = ctx->cap_h;
	pix->pixelformat = ctx->raw->fourcc;
	vv_fill_colorimetry(ctx, pix);
	pix->plane_fmt[0].bytesperline = ctx->cap.bpl;
	pix->plane_fmt[0].sizeimage = ctx->cap.sizeimage;
}

static int vv_g_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	struct vv_ctx *ctx = file_to_ctx(file);

	mutex_lock(&ctx->lock);
	if (V4L2_TYPE_IS_OUTPUT(f->type))
		vv_fill_src_fmt(ctx, f);
	else
		vv_fill_dst_fmt(ctx, f);
	mutex_unlock(&ctx->lock);
	return 0;
}

static u32 vv_clamp_dim(u32 v, u32 min, u32 max, u32 step)
{
	if (!v)
		return 0;
	v = clamp(v, min, max);
	return min + (v - min) / step * step;
}

/* Adjust an OUTPUT format; returns the coded format picked. */
static const struct vv_fmt *vv_try_src(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	const struct vv_fmt *fmt;
	u32 size;

	fmt = vv_caps_find(&ctx->dev->in_caps, pix->pixelformat);
	if (!fmt)
		fmt = ctx->coded;
	pix->pixelformat = fmt->fourcc;
	pix->width = vv_clamp_dim(pix->width, fmt->min_w, fmt->max_w, fmt->step_w);
	pix->height = vv_clamp_dim(pix->height, fmt->min_h, fmt->max_h, fmt->step_h);
	pix->field = V4L2_FIELD_NONE;
	pix->num_planes = 1;
	pix->flags = 0;
	pix->plane_fmt[0].bytesperline = 0;
	size = pix->plane_fmt[0].sizeimage;
	pix->plane_fmt[0].sizeimage = vv_src_size(pix->width, pix->height, size);
	memset(pix->reserved, 0, sizeof(pix->reserved));
	memset(pix->plane_fmt[0].reserved, 0, sizeof(pix->plane_fmt[0].reserved));
	if (!pix->colorspace)
		pix->colorspace = V4L2_COLORSPACE_REC709;
	return fmt;
}

/* Adjust a CAPTURE format: the decoder picks the size, the client the fourcc. */
static const struct vv_fmt *vv_try_dst(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	const struct vv_fmt *fmt;
	struct vv_layout l;

	/* Listed or not yet, every format that goes with the coded one is taken. */
	fmt = vv_caps_find(&ctx->dev->out_caps, pix->pixelformat);
	if (!fmt || !vv_fmt_compatible(ctx->dev, ctx->coded, fmt))
		fmt = ctx->raw;
	vv_fmt_layout(fmt->fourcc, ctx->cap_w, ctx->cap_h, ctx->dev_min_stride,
		      fmt->plane_align, &l);
	pix->width = ctx->cap_w;
	pix->height = ctx->cap_h;
	pix->pixelformat = fmt->fourcc;
	vv_fill_colorimetry(ctx, pix);
	pix->plane_fmt[0].bytesperline = l.bpl;
	pix->plane_fmt[0].sizeimage = l.sizeimage;
	return fmt;
}

static int vv_try_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	struct vv_ctx *ctx = file_to_ctx(file);

	mutex_lock(&ctx->lock);
	if (V4L2_TYPE_IS_OUTPUT(f->type))
		vv_try_src(ctx, f);
	else
		vv_try_dst(ctx, f);
	mutex_unlock(&ctx->lock);
	return 0;
}

static int vv_s_fmt_src(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct v4l2_m2m_ctx *m2m = ctx->fh.m2m_ctx;
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	const struct vv_fmt *fmt;
	bool dst_busy;

	if (vb2_is_busy(v4l2_m2m_get_src_vq(m2m)))
		return -EBUSY;
	fmt = vv_try_src(ctx, f);
	dst_busy = vb2_is_busy(v4l2_m2m_get_dst_vq(m2m));
	if (dst_busy && fmt != ctx->coded)
		return -EBUSY;

	ctx->coded = fmt;
	ctx->coded_w = pix->width;
	ctx->coded_h = pix->height;
	ctx->src_sizeimage = pix->plane_fmt[0].sizeimage;
	ctx->colorspace = pix->colorspace;
	ctx->xfer_func = pix->xfer_func;
	ctx->ycbcr_enc = pix->ycbcr_enc;
	ctx->quantization = pix->quantization;
	if (!dst_busy) {
		vv_dec_reset_capture(ctx);
		/* Nothing allocated: the next stream starts from scratch. */
		if (ctx->stream_created) {
			vv_cmd_stream_destroy(ctx->dev, ctx->stream_id);
			ctx->stream_created = false;
		}
	}
	return 0;
}

static int vv_s_fmt_dst(struct vv_ctx *ctx, struct v4l2_format *f)
{
	const struct vv_fmt *fmt;

	fmt = vv_try_dst(ctx, f);
	if (fmt == ctx->raw)
		return 0;
	if (vb2_is_busy(v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx))) {
		vv_fill_dst_fmt(ctx, f);
		return -EBUSY;
	}
	ctx->raw = fmt;
	vv_dec_layout(ctx);
	return 0;
}

static int vv_s_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	int ret;

	mutex_lock(&ctx->lock);
	if (V4L2_TYPE_IS_OUTPUT(f->type))
		ret = vv_s_fmt_src(ctx, f);
	else
		ret = vv_s_fmt_dst(ctx, f);
	mutex_unlock(&ctx->lock);
	return ret;
}

static int vv_g_selection(struct file *file, void *priv, struct v4l2_selection *s)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	int ret = 0;

	if (s->type != V4L2_BUF_TYPE_VIDEO_CAPTURE &&
	    s->type != V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE)
		return -EINVAL;
	mutex_lock(&ctx->lock);
	switch (s->target) {
	case V4L2_SEL_TGT_CROP:
	case V4L2_SEL_TGT_CROP_DEFAULT:
	case V4L2_SEL_TGT_COMPOSE:
	case V4L2_SEL_TGT_COMPOSE_DEFAULT:
		s->r = ctx->crop;
		break;
	case V4L2_SEL_TGT_CROP_BOUNDS:
	case V4L2_SEL_TGT_COMPOSE_BOUNDS:
	case V4L2_SEL_TGT_COMPOSE_PADDED:
		s->r = (struct v4l2_rect){ 0, 0, ctx->cap_w, ctx->cap_h };
		break;
	default:
		ret = -EINVAL;
	}
	mutex_unlock(&ctx->lock);
	return ret;
}

static int vv_subscribe_event(struct v4l2_fh *fh, const struct v4l2_event_subscription *sub)
{
	switch (sub->type) {
	case V4L2_EVENT_EOS:
		return v4l2_event_subscribe(fh, sub, 2, NULL);
	case V4L2_EVENT_SOURCE_CHANGE:
		return v4l2_src_change_event_subscribe(fh, sub);
	default:
		return v4l2_ctrl_subscribe_event(fh, sub);
	}
}

const struct v4l2_ioctl_ops vv_dec_ioctl_ops = {
	.vidioc_querycap = vv_querycap,
	.vidioc_enum_fmt_vid_cap = vv_enum_fmt,
	.vidioc_enum_fmt_vid_out = vv_enum_fmt,
	.vidioc_g_fmt_vid_cap_mplane = vv_g_fmt,
	.vidioc_g_fmt_vid_out_mplane = vv_g_fmt,
	.vidioc_try_fmt_vid_cap_mplane = vv_try_fmt,
	.vidioc_try_fmt_vid_out_mplane = vv_try_fmt,
	.vidioc_s_fmt_vid_cap_mplane = vv_s_fmt,
	.vidioc_s_fmt_vid_out_mplane = vv_s_fmt,
	.vidioc_enum_framesizes = vv_enum_framesizes,
	.vidioc_g_selection = vv_g_selection,

	.vidioc_reqbufs = v4l2_m2m_ioctl_reqbufs,
	.vidioc_querybuf = v4l2_m2m_ioctl_querybuf,
	.vidioc_qbuf = v4l2_m2m_ioctl_qbuf,
	.vidioc_dqbuf = v4l2_m2m_ioctl_dqbuf,
	.vidioc_prepare_buf = v4l2_m2m_ioctl_prepare_buf,
	.vidioc_create_bufs = v4l2_m2m_ioctl_create_bufs,
	.vidioc_expbuf = v4l2_m2m_ioctl_expbuf,
	.vidioc_streamon = v4l2_m2m_ioctl_streamon,
	.vidioc_streamoff = v4l2_m2m_ioctl_streamoff,

	.vidioc_try_decoder_cmd = v4l2_m2m_ioctl_try_decoder_cmd,
	.vidioc_decoder_cmd = vv_decoder_cmd,

	.vidioc_subscribe_event = vv_subscribe_event,
	.vidioc_unsubscribe_event = v4l2_event_unsubscribe,
};

/* ---- file operations ---- */

static int vv_dec_open(struct file *file)
{
	struct vv_dev *dev = video_drvdata(file);
	struct vv_ctx *ctx;
	int ret, id;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	kref_init(&ctx->ref);
	mutex_init(&ctx->lock);
	spin_lock_init(&ctx->slock);
	init_waitqueue_head(&ctx->slot_wq);
	INIT_WORK(&ctx->event_work, vv_dec_event_work);
	INIT_DELAYED_WORK(&ctx->rc_work, vv_dec_rc_work);
	ctx->dev = dev;

	ctx->coded = NULL;
	for (id = 0; id < dev->in_caps.num && !ctx->coded; id++)
		if (dev->in_caps.fmts[id].fourcc)
			ctx->coded = &dev->in_caps.fmts[id];
	ctx->coded_w = VV_DEF_W;
	ctx->coded_h = VV_DEF_H;
	ctx->src_sizeimage = vv_src_size(VV_DEF_W, VV_DEF_H, 0);
	ctx->colorspace = V4L2_COLORSPACE_REC709;
	ctx->mem[VV_Q_SRC] = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
	ctx->mem[VV_Q_DST] = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
	ctx->raw = ctx->coded ? vv_first_raw(dev, ctx->coded) : NULL;
	if (!ctx->raw) {
		ret = -ENODEV;
		goto err_free;
	}
	vv_dec_reset_capture(ctx);

	v4l2_fh_init(&ctx->fh, video_devdata(file));
	file->private_data = &ctx->fh;

	v4l2_ctrl_handler_init(&ctx->hdl, 1);
	ctx->min_cap_ctrl = v4l2_ctrl_new_std(&ctx->hdl, NULL,
					      V4L2_CID_MIN_BUFFERS_FOR_CAPTURE,
					      1, VB2_MAX_FRAME, 1, 1);
	if (ctx->hdl.error) {
		ret = ctx->hdl.error;
		goto err_ctrl;
	}
	ctx->fh.ctrl_handler = &ctx->hdl;

	ctx->fh.m2m_ctx = v4l2_m2m_ctx_init(dev->m2m_dev, ctx, vv_queue_init);
	if (IS_ERR(ctx->fh.m2m_ctx)) {
		ret = PTR_ERR(ctx->fh.m2m_ctx);
		goto err_ctrl;
	}

	idr_preload(GFP_KERNEL);
	spin_lock(&dev->ctx_lock);
	id = idr_alloc_cyclic(&dev->ctx_idr, ctx, 1, VV_MAX_STREAMS, GFP_NOWAIT);
	spin_unlock(&dev->ctx_lock);
	idr_preload_end();
	if (id < 0) {
		ret = id == -ENOSPC ? -EBUSY : id;
		goto err_m2m;
	}
	ctx->stream_id = id;
	v4l2_fh_add(&ctx->fh);
	return 0;

err_m2m:
	v4l2_m2m_ctx_release(ctx->fh.m2m_ctx);
err_ctrl:
	v4l2_ctrl_handler_free(&ctx->hdl);
	v4l2_fh_exit(&ctx->fh);
err_free:
	kfree(ctx);
	return ret;
}

static int vv_dec_release(struct file *file)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vv_dev *dev = ctx->dev;

	spin_lock(&dev->ctx_lock);
	ctx->closing = true;
	spin_unlock(&dev->ctx_lock);
	cancel_work_sync(&ctx->event_work);

	mutex_lock(&ctx->lock);
	ctx->rc_pending = false;
	mutex_unlock(&ctx->lock);
	cancel_delayed_work_sync(&ctx->rc_work);

	mutex_lock(&ctx->lock);
	v4l2_m2m_ctx_release(ctx->fh.m2m_ctx);
	if (ctx->stream_created)
		vv_cmd_stream_destroy(dev, ctx->stream_id);
	ctx->stream_created = false;
	mutex_unlock(&ctx->lock);

	spin_lock(&dev->ctx_lock);
	idr_remove(&dev->ctx_idr, ctx->stream_id);
	spin_unlock(&dev->ctx_lock);

	v4l2_fh_del(&ctx->fh);
	v4l2_fh_exit(&ctx->fh);
	v4l2_ctrl_handler_free(&ctx->hdl);
	vv_ctx_put(ctx);
	return 0;
}

const struct v4l2_file_operations vv_dec_fops = {
	.owner = THIS_MODULE,
	.open = vv_dec_open,
	.release = vv_dec_release,
	.poll = v4l2_m2m_fop_poll,
	.unlocked_ioctl = video_ioctl2,
	.mmap = v4l2_m2m_fop_mmap,
};

/* Buffers go to the device from vv_pump(), never through m2m jobs. */
static void vv_device_run(void *priv)
{
	struct vv_ctx *ctx = priv;

	v4l2_m2m_job_finish(ctx->dev->m2m_dev, ctx->fh.m2m_ctx);
}

static int vv_job_ready(void *priv)
{
	return 0;
}

const struct v4l2_m2m_ops vv_m2m_ops = {
	.device_run = vv_device_run,
	.job_ready = vv_job_ready,
};
