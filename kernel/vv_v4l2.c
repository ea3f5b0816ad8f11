// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: the file operations and the V4L2 ioctls both
 * roles share. A context is one open file: one device stream, one m2m
 * context; its role (decoder or encoder) sets its formats and controls.
 */
#include <linux/slab.h>
#include <media/v4l2-event.h>
#include <media/v4l2-ioctl.h>

#include "vv.h"

int vv_querycap(struct file *file, void *priv, struct v4l2_capability *cap)
{
	struct vv_ctx *ctx = file_to_ctx(file);

	strscpy(cap->driver, VV_DRV_NAME, sizeof(cap->driver));
	snprintf(cap->card, sizeof(cap->card), "virtio-video %s", ctx->dev->role->name);
	strscpy(cap->bus_info, ctx->dev->bus_info, sizeof(cap->bus_info));
	return 0;
}

int vv_enum_framesizes(struct file *file, void *priv, struct v4l2_frmsizeenum *fsize)
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

int vv_subscribe_event(struct v4l2_fh *fh, const struct v4l2_event_subscription *sub)
{
	struct vv_ctx *ctx = container_of(fh, struct vv_ctx, fh);

	switch (sub->type) {
	case V4L2_EVENT_EOS:
		return v4l2_event_subscribe(fh, sub, 2, NULL);
	case V4L2_EVENT_SOURCE_CHANGE:
		if (!ctx->dev->role->res_changed)
			return -EINVAL;
		return v4l2_src_change_event_subscribe(fh, sub);
	default:
		return v4l2_ctrl_subscribe_event(fh, sub);
	}
}

u32 vv_clamp_dim(u32 v, u32 min, u32 max, u32 step)
{
	if (!v)
		return 0;
	v = clamp(v, min, max);
	return min + (v - min) / max_t(u32, step, 1) * max_t(u32, step, 1);
}

/* The fields of a one-plane format that do not depend on the queue. */
void vv_fill_colorimetry(struct vv_ctx *ctx, struct v4l2_pix_format_mplane *pix)
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

/* ---- the single-planar API (module parameter single_planar) ---- */

/* A single-planar format is the multi-planar one with one memory plane. */
static void vv_sp_to_mp(const struct v4l2_format *f, struct v4l2_format *mp)
{
	const struct v4l2_pix_format *pix = &f->fmt.pix;
	struct v4l2_pix_format_mplane *m = &mp->fmt.pix_mp;

	memset(mp, 0, sizeof(*mp));
	mp->type = V4L2_TYPE_IS_OUTPUT(f->type) ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE :
						  V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	m->width = pix->width;
	m->height = pix->height;
	m->pixelformat = pix->pixelformat;
	m->field = pix->field;
	m->colorspace = pix->colorspace;
	m->xfer_func = pix->xfer_func;
	m->ycbcr_enc = pix->ycbcr_enc;
	m->quantization = pix->quantization;
	m->num_planes = 1;
	m->plane_fmt[0].bytesperline = pix->bytesperline;
	m->plane_fmt[0].sizeimage = pix->sizeimage;
}

static void vv_mp_to_sp(const struct v4l2_format *mp, struct v4l2_format *f)
{
	const struct v4l2_pix_format_mplane *m = &mp->fmt.pix_mp;
	struct v4l2_pix_format *pix = &f->fmt.pix;

	memset(pix, 0, sizeof(*pix));
	pix->width = m->width;
	pix->height = m->height;
	pix->pixelformat = m->pixelformat;
	pix->field = m->field;
	pix->colorspace = m->colorspace;
	pix->xfer_func = m->xfer_func;
	pix->ycbcr_enc = m->ycbcr_enc;
	pix->quantization = m->quantization;
	pix->bytesperline = m->plane_fmt[0].bytesperline;
	pix->sizeimage = m->plane_fmt[0].sizeimage;
}

typedef int (*vv_fmt_op)(struct file *file, void *priv, struct v4l2_format *f);

static int vv_sp_call(struct file *file, void *priv, struct v4l2_format *f, vv_fmt_op op)
{
	struct v4l2_format mp;
	int ret;

	vv_sp_to_mp(f, &mp);
	ret = op(file, priv, &mp);
	vv_mp_to_sp(&mp, f);
	return ret;
}

static const struct v4l2_ioctl_ops *vv_mp_ops(struct file *file)
{
	return file_to_ctx(file)->dev->role->ioctl_ops;
}

int vv_sp_g_fmt_out(struct file *file, void *priv, struct v4l2_format *f)
{
	return vv_sp_call(file, priv, f, vv_mp_ops(file)->vidioc_g_fmt_vid_out_mplane);
}

int vv_sp_g_fmt_cap(struct file *file, void *priv, struct v4l2_format *f)
{
	return vv_sp_call(file, priv, f, vv_mp_ops(file)->vidioc_g_fmt_vid_cap_mplane);
}

int vv_sp_try_fmt_out(struct file *file, void *priv, struct v4l2_format *f)
{
	return vv_sp_call(file, priv, f, vv_mp_ops(file)->vidioc_try_fmt_vid_out_mplane);
}

int vv_sp_try_fmt_cap(struct file *file, void *priv, struct v4l2_format *f)
{
	return vv_sp_call(file, priv, f, vv_mp_ops(file)->vidioc_try_fmt_vid_cap_mplane);
}

int vv_sp_s_fmt_out(struct file *file, void *priv, struct v4l2_format *f)
{
	return vv_sp_call(file, priv, f, vv_mp_ops(file)->vidioc_s_fmt_vid_out_mplane);
}

int vv_sp_s_fmt_cap(struct file *file, void *priv, struct v4l2_format *f)
{
	return vv_sp_call(file, priv, f, vv_mp_ops(file)->vidioc_s_fmt_vid_cap_mplane);
}

/* Events of the device's event queue for this stream (vv_vq.c sets the bits). */
static void vv_event_work(struct work_struct *work)
{
	struct vv_ctx *ctx = container_of(work, struct vv_ctx, event_work);
	const struct vv_role *role = ctx->dev->role;

	mutex_lock(&ctx->lock);
	if (test_and_clear_bit(VV_EV_ERROR, &ctx->events)) {
		dev_dbg(&ctx->dev->vdev->dev, "stream %u: error\n", ctx->stream_id);
		vv_set_error(ctx);
	}
	if (test_and_clear_bit(VV_EV_RES_CHANGED, &ctx->events) && !ctx->error &&
	    role->res_changed)
		role->res_changed(ctx);
	mutex_unlock(&ctx->lock);
}

static int vv_open(struct file *file)
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
	INIT_WORK(&ctx->event_work, vv_event_work);
	ctx->dev = dev;
	ctx->colorspace = V4L2_COLORSPACE_REC709;
	ctx->q_data[VV_Q_SRC].mem = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
	ctx->q_data[VV_Q_DST].mem = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;

	v4l2_fh_init(&ctx->fh, video_devdata(file));
	file->private_data = &ctx->fh;
	v4l2_ctrl_handler_init(&ctx->hdl, 16);
	ret = dev->role->open(ctx);
	if (!ret)
		ret = ctx->hdl.error;
	if (ret)
		goto err_ctrl;
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
	kfree(ctx);
	return ret;
}

static int vv_release(struct file *file)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vv_dev *dev = ctx->dev;

	spin_lock(&dev->ctx_lock);
	ctx->closing = true;
	spin_unlock(&dev->ctx_lock);
	cancel_work_sync(&ctx->event_work);
	if (dev->role->release)
		dev->role->release(ctx);

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

const struct v4l2_file_operations vv_fops = {
	.owner = THIS_MODULE,
	.open = vv_open,
	.release = vv_release,
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
