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
#define VV_MIN_SRC_BUFS 8	/* covers the codec's reordering delay */

static u32 vv_src_size(u32 w, u32 h, u32 req)
{
	u32 def = max_t(u32, VV_MIN_SRC_SIZE, w * h * 3 / 8);

	return ALIGN(clamp_t(u32, req, def, VV_MAX_SRC_SIZE), PAGE_SIZE);
}

static void vv_dec_layout(struct vv_ctx *ctx)
{
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];

	vv_fmt_layout(dst->fmt->fourcc, dst->width, dst->height, ctx->dec.dev_min_stride,
		      dst->fmt->plane_align, &dst->layout);
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
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];

	if (!raw || !raw->fourcc || !vv_fmt_compatible(ctx->dev, src->fmt, raw))
		return false;
	return ctx->dec.have_info || raw->fourcc != V4L2_PIX_FMT_NV12;
}

/* The CAPTURE format follows the OUTPUT format until the device knows better. */
static void vv_dec_reset_capture(struct vv_ctx *ctx)
{
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];

	ctx->dec.have_info = false;
	if (!vv_raw_offered(ctx, dst->fmt))
		dst->fmt = vv_first_out(ctx->dev, src->fmt);
	dst->width = src->width ?: VV_DEF_W;
	dst->height = src->height ?: VV_DEF_H;
	dst->crop = (struct v4l2_rect){ 0, 0, dst->width, dst->height };
	ctx->dec.dev_min_stride = 0;
	vv_dec_layout(ctx);
}

/* ---- device stream ---- */

static int vv_dec_set_src_params(struct vv_ctx *ctx)
{
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	struct virtio_video_params p = {};

	p.queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
	p.format = cpu_to_le32(src->fmt->vfmt);
	p.frame_width = cpu_to_le32(src->width);
	p.frame_height = cpu_to_le32(src->height);
	p.num_planes = cpu_to_le32(1);
	p.plane_formats[0].plane_size = cpu_to_le32(src->layout.sizeimage);
	return vv_cmd_set_params(ctx->dev, ctx->stream_id, &p);
}

/* SET_PARAMS(OUTPUT): our frame layout, and the acknowledgment of a resolution change. */
static int vv_dec_set_dst_params(struct vv_ctx *ctx)
{
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
	struct virtio_video_params p = {};
	unsigned int i;
	int ret;

	p.queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
	p.format = cpu_to_le32(dst->fmt->vfmt);
	p.frame_width = cpu_to_le32(dst->width);
	p.frame_height = cpu_to_le32(dst->height);
	p.crop.left = cpu_to_le32(dst->crop.left);
	p.crop.top = cpu_to_le32(dst->crop.top);
	p.crop.width = cpu_to_le32(dst->crop.width);
	p.crop.height = cpu_to_le32(dst->crop.height);
	p.num_planes = cpu_to_le32(dst->layout.num_planes);
	for (i = 0; i < dst->layout.num_planes; i++) {
		p.plane_formats[i].plane_size = cpu_to_le32(dst->layout.size[i]);
		p.plane_formats[i].stride = cpu_to_le32(dst->layout.stride[i]);
	}
	ret = vv_cmd_set_params(ctx->dev, ctx->stream_id, &p);
	if (!ret) {
		spin_lock_irq(&ctx->slock);
		ctx->dst_wait = false;
		spin_unlock_irq(&ctx->slock);
	}
	return ret;
}

static void vv_dec_rc_fire(struct vv_ctx *ctx, bool last);
static void vv_dec_resume_drain(struct vv_ctx *ctx);
static void vv_dec_rc_check(struct vv_ctx *ctx);

/* Does the device's current picture size differ from our CAPTURE format? */
static bool vv_dec_same_size(struct vv_ctx *ctx)
{
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
	struct virtio_video_params p;

	if (vv_cmd_get_params(ctx->dev, ctx->stream_id,
			      VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p))
		return true;
	return le32_to_cpu(p.frame_width) == dst->width &&
	       le32_to_cpu(p.frame_height) == dst->height;
}

/* start_streaming of queue @q (ctx->lock held). */
static int vv_dec_start(struct vv_ctx *ctx, unsigned int q)
{
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	bool resume;
	int ret;

	ret = vv_ensure_stream(ctx, src->fmt->vfmt);
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
	resume = q == VV_Q_DST && ctx->dec.drain_resume;
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
 * After stop_streaming of queue @q: a drain in progress is aborted, unless
 * this STREAMOFF(CAPTURE) is part of a resolution change found during the
 * drain (dev-decoder.rst, Drain: the client handles it "before continuing
 * with the drain sequence").
 */
static void vv_dec_stopped(struct vv_ctx *ctx, unsigned int q)
{
	struct vv_dev *dev = ctx->dev;

	spin_lock_irq(&ctx->slock);
	ctx->drain_seq++;
	if (q != VV_Q_DST || !ctx->dec.drain_resume) {
		ctx->draining = false;
		ctx->dec.drain_resume = false;
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
	if (q == VV_Q_DST && ctx->dec.rc_pending)
		vv_dec_rc_fire(ctx, false);
}

static void vv_dec_source_change(struct vv_ctx *ctx)
{
	static const struct v4l2_event ev = {
		.type = V4L2_EVENT_SOURCE_CHANGE,
		.u.src_change.changes = V4L2_EVENT_SRC_CH_RESOLUTION,
	};

	v4l2_event_queue_fh(&ctx->fh, &ev);
}

/* DECODER_RESOLUTION_CHANGED (ctx->lock held). */
static void vv_dec_res_changed(struct vv_ctx *ctx)
{
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
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
		vv_set_error(ctx);
		return;
	}
	w = le32_to_cpu(p.frame_width);
	h = le32_to_cpu(p.frame_height);
	if (!w && !h)
		return;
	if (!w || !h || w > VV_MAX_DIM || h > VV_MAX_DIM) {
		dev_err(&ctx->dev->vdev->dev, "bad frame size %ux%u\n", w, h);
		vv_set_error(ctx);
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
	v4l2_ctrl_s_ctrl(ctx->dec.min_cap_ctrl, nbufs);
	dst->min_bufs = nbufs;

	vv_fmt_layout(dst->fmt->fourcc, w, h, stride, dst->fmt->plane_align, &l);
	fits = vb2_is_streaming(dq) && w == dst->width && h == dst->height &&
	       l.bpl == dst->layout.bpl && l.sizeimage <= dst->layout.sizeimage;

	ctx->dec.have_info = true;
	dst->crop = crop;
	if (fits) {
		/* Same size and layout: carry on without a reconfiguration. */
		ret = vv_dec_set_dst_params(ctx);
		if (ret)
			vv_set_error(ctx);
		else
			vv_pump(ctx);
		return;
	}

	dst->width = w;
	dst->height = h;
	ctx->dec.dev_min_stride = stride;
	dst->layout = l;
	spin_lock_irq(&ctx->slock);
	ctx->dst_wait = true;
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
			ctx->dec.drain_resume = true;
		}
		spin_unlock_irq(&ctx->slock);
		vv_clear_queue(ctx, VV_Q_DST, true);
		ctx->dec.rc_pending = true;
		schedule_delayed_work(&ctx->dec.rc_work, msecs_to_jiffies(VV_RC_DELAY_MS));
		vv_dec_rc_check(ctx);
		return;
	}
	vv_dec_source_change(ctx);
}

/* The deferred SOURCE_CHANGE of a resolution change (ctx->lock held). */
static void vv_dec_rc_fire(struct vv_ctx *ctx, bool last)
{
	ctx->dec.rc_pending = false;
	cancel_delayed_work(&ctx->dec.rc_work);
	vv_dec_source_change(ctx);
	if (last)
		vv_mark_last(ctx);
}

static void vv_dec_rc_check(struct vv_ctx *ctx)
{
	if (ctx->dec.rc_pending && !READ_ONCE(ctx->cap_out))
		vv_dec_rc_fire(ctx, true);
}

static void vv_dec_rc_work(struct work_struct *work)
{
	struct vv_ctx *ctx = container_of(to_delayed_work(work), struct vv_ctx,
					     dec.rc_work);

	mutex_lock(&ctx->lock);
	if (ctx->dec.rc_pending && vb2_is_streaming(v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx)))
		vv_dec_rc_fire(ctx, true);
	mutex_unlock(&ctx->lock);
}

/* ---- drain ---- */

/*
 * CAPTURE is back after a resolution change found during the drain: the
 * drain goes on. The device still knows its codec was flushed, so the
 * pictures left come out first, then the EOS buffer (ctx->lock held).
 */
static void vv_dec_resume_drain(struct vv_ctx *ctx)
{
	spin_lock_irq(&ctx->slock);
	ctx->dec.drain_resume = false;
	spin_unlock_irq(&ctx->slock);
	dev_dbg(&ctx->dev->vdev->dev, "stream %u: drain resumed after a resolution change\n",
		ctx->stream_id);
	if (!vv_send_drain(ctx))
		return;
	spin_lock_irq(&ctx->slock);
	ctx->stopped = true;
	spin_unlock_irq(&ctx->slock);
	vv_drain_end(ctx);
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
	if (ctx->dst_wait) {
		/*
		 * A resolution change waits for the client's new CAPTURE
		 * setup, which would cancel a drain sent now: the drain goes
		 * on after it (dev-decoder.rst), sent when CAPTURE is back.
		 */
		spin_lock_irq(&ctx->slock);
		ctx->draining = true;
		ctx->dec.drain_resume = true;
		spin_unlock_irq(&ctx->slock);
		return 0;
	}
	ret = vv_send_drain(ctx);
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
	if (ctx->draining && !ctx->dec.drain_resume) {
		spin_unlock_irq(&ctx->slock);
		return -EBUSY;
	}
	ctx->stopped = false;
	rc_done = ctx->dst_wait && !ctx->dec.rc_pending && vb2_is_streaming(dq) &&
		  dq->last_buffer_dequeued;
	spin_unlock_irq(&ctx->slock);
	vb2_clear_last_buffer_dequeued(dq);
	if (rc_done) {
		ret = vv_dec_set_dst_params(ctx);
		if (ret)
			return ret;
		if (ctx->dec.drain_resume)
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

static void vv_fill_src_fmt(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;

	pix->width = src->width;
	pix->height = src->height;
	pix->pixelformat = src->fmt->fourcc;
	vv_fill_colorimetry(ctx, pix);
	pix->plane_fmt[0].bytesperline = 0;
	pix->plane_fmt[0].sizeimage = src->layout.sizeimage;
}

static void vv_fill_dst_fmt(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;

	pix->width = dst->width;
	pix->height = dst->height;
	pix->pixelformat = dst->fmt->fourcc;
	vv_fill_colorimetry(ctx, pix);
	pix->plane_fmt[0].bytesperline = dst->layout.bpl;
	pix->plane_fmt[0].sizeimage = dst->layout.sizeimage;
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

/* Adjust an OUTPUT format; returns the coded format picked. */
static const struct vv_fmt *vv_try_src(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	const struct vv_fmt *fmt;
	u32 size;

	fmt = vv_caps_find(&ctx->dev->in_caps, pix->pixelformat);
	if (!fmt)
		fmt = src->fmt;
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
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	const struct vv_fmt *fmt;
	struct vv_layout l;

	/* Listed or not yet, every format that goes with the coded one is taken. */
	fmt = vv_caps_find(&ctx->dev->out_caps, pix->pixelformat);
	if (!fmt || !vv_fmt_compatible(ctx->dev, src->fmt, fmt))
		fmt = dst->fmt;
	vv_fmt_layout(fmt->fourcc, dst->width, dst->height, ctx->dec.dev_min_stride,
		      fmt->plane_align, &l);
	pix->width = dst->width;
	pix->height = dst->height;
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
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	struct v4l2_m2m_ctx *m2m = ctx->fh.m2m_ctx;
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	const struct vv_fmt *fmt;
	bool dst_busy;

	if (vb2_is_busy(v4l2_m2m_get_src_vq(m2m)))
		return -EBUSY;
	fmt = vv_try_src(ctx, f);
	dst_busy = vb2_is_busy(v4l2_m2m_get_dst_vq(m2m));
	if (dst_busy && fmt != src->fmt)
		return -EBUSY;

	src->fmt = fmt;
	src->width = pix->width;
	src->height = pix->height;
	vv_fmt_layout_coded(pix->plane_fmt[0].sizeimage, &src->layout);
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
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
	const struct vv_fmt *fmt;

	fmt = vv_try_dst(ctx, f);
	if (fmt == dst->fmt)
		return 0;
	if (vb2_is_busy(v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx))) {
		vv_fill_dst_fmt(ctx, f);
		return -EBUSY;
	}
	dst->fmt = fmt;
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
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
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
		s->r = dst->crop;
		break;
	case V4L2_SEL_TGT_CROP_BOUNDS:
	case V4L2_SEL_TGT_COMPOSE_BOUNDS:
	case V4L2_SEL_TGT_COMPOSE_PADDED:
		s->r = (struct v4l2_rect){ 0, 0, dst->width, dst->height };
		break;
	default:
		ret = -EINVAL;
	}
	mutex_unlock(&ctx->lock);
	return ret;
}

/* What this role's node answers whichever buffer API it takes. */
#define VV_DEC_IOCTLS \
	.vidioc_querycap = vv_querycap, \
	.vidioc_enum_fmt_vid_cap = vv_enum_fmt, \
	.vidioc_enum_fmt_vid_out = vv_enum_fmt, \
	.vidioc_enum_framesizes = vv_enum_framesizes, \
	.vidioc_g_selection = vv_g_selection, \
	.vidioc_decoder_cmd = vv_decoder_cmd, \
	.vidioc_try_decoder_cmd = v4l2_m2m_ioctl_try_decoder_cmd

static const struct v4l2_ioctl_ops vv_dec_ioctl_ops = {
	VV_DEC_IOCTLS,
	VV_M2M_IOCTLS,
	.vidioc_g_fmt_vid_cap_mplane = vv_g_fmt,
	.vidioc_g_fmt_vid_out_mplane = vv_g_fmt,
	.vidioc_try_fmt_vid_cap_mplane = vv_try_fmt,
	.vidioc_try_fmt_vid_out_mplane = vv_try_fmt,
	.vidioc_s_fmt_vid_cap_mplane = vv_s_fmt,
	.vidioc_s_fmt_vid_out_mplane = vv_s_fmt,
};

static const struct v4l2_ioctl_ops vv_dec_sp_ioctl_ops = {
	VV_DEC_IOCTLS,
	VV_M2M_IOCTLS,
	VV_SP_FMT_IOCTLS,
};

/* ---- contexts ---- */

static int vv_dec_open(struct vv_ctx *ctx)
{
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
	struct vv_dev *dev = ctx->dev;
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	unsigned int i;

	INIT_DELAYED_WORK(&ctx->dec.rc_work, vv_dec_rc_work);
	for (i = 0; i < dev->in_caps.num && !src->fmt; i++)
		if (dev->in_caps.fmts[i].fourcc)
			src->fmt = &dev->in_caps.fmts[i];
	src->width = VV_DEF_W;
	src->height = VV_DEF_H;
	src->min_bufs = VV_MIN_SRC_BUFS;
	vv_fmt_layout_coded(vv_src_size(VV_DEF_W, VV_DEF_H, 0), &src->layout);
	dst->fmt = src->fmt ? vv_first_out(dev, src->fmt) : NULL;
	dst->min_bufs = 1;
	if (!dst->fmt)
		return -ENODEV;
	vv_dec_reset_capture(ctx);

	ctx->dec.min_cap_ctrl = v4l2_ctrl_new_std(&ctx->hdl, NULL,
						  V4L2_CID_MIN_BUFFERS_FOR_CAPTURE,
						  1, VB2_MAX_FRAME, 1, 1);
	return 0;
}

static void vv_dec_release(struct vv_ctx *ctx)
{
	mutex_lock(&ctx->lock);
	ctx->dec.rc_pending = false;
	mutex_unlock(&ctx->lock);
	cancel_delayed_work_sync(&ctx->dec.rc_work);
}

const struct vv_role vv_dec_role = {
	.name = "decoder",
	.node_name = "virtio-video-dec",
	.media_function = MEDIA_ENT_F_PROC_VIDEO_DECODER,
	.coded_input = true,
	.ioctl_ops = &vv_dec_ioctl_ops,
	.sp_ioctl_ops = &vv_dec_sp_ioctl_ops,
	.open = vv_dec_open,
	.release = vv_dec_release,
	.start = vv_dec_start,
	.stopped = vv_dec_stopped,
	.dst_queued = vv_dec_rc_check,
	.res_changed = vv_dec_res_changed,
};
