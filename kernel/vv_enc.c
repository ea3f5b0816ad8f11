// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: the V4L2 stateful encoder
 * (Documentation/userspace-api/media/v4l/dev-encoder.rst).
 *
 * OUTPUT carries raw frames (the device's INPUT queue), CAPTURE the
 * bitstream. The device stream is created at the first STREAMON for the
 * CAPTURE format; its parameters and every control go to the device then,
 * and a control changed while the stream exists goes at once, taking effect
 * at the next frame.
 */
#include <linux/slab.h>
#include <media/v4l2-event.h>
#include <media/v4l2-ioctl.h>

#include "vv.h"

#define VV_ENC_DEF_W 640
#define VV_ENC_DEF_H 480
#define VV_ENC_DEF_FPS 30
#define VV_ENC_MAX_FPS 120
#define VV_ENC_MIN_DST_SIZE SZ_256K
#define VV_ENC_MAX_DST_SIZE SZ_32M
#define VV_ENC_MAX_BITRATE 1000000000
#define VV_ENC_MAX_GOP 65536
#define VV_ENC_MIN_DST_BUFS 4

enum vv_enc_codec { VV_H264, VV_HEVC, VV_VP8, VV_VP9, VV_NUM_CODECS };

/* Profile or level: virtio value <-> V4L2 menu item. */
struct vv_enc_map {
	u32 virtio;
	u32 v4l2;
};

static const struct vv_enc_map vv_h264_profiles[] = {
	{ VIRTIO_VIDEO_PROFILE_H264_BASELINE, V4L2_MPEG_VIDEO_H264_PROFILE_BASELINE },
	/* What x264 and most hardware call Baseline. */
	{ VIRTIO_VIDEO_PROFILE_H264_BASELINE,
	  V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE },
	{ VIRTIO_VIDEO_PROFILE_H264_MAIN, V4L2_MPEG_VIDEO_H264_PROFILE_MAIN },
	{ VIRTIO_VIDEO_PROFILE_H264_EXTENDED, V4L2_MPEG_VIDEO_H264_PROFILE_EXTENDED },
	{ VIRTIO_VIDEO_PROFILE_H264_HIGH, V4L2_MPEG_VIDEO_H264_PROFILE_HIGH },
	{ VIRTIO_VIDEO_PROFILE_H264_HIGH10PROFILE, V4L2_MPEG_VIDEO_H264_PROFILE_HIGH_10 },
	{ VIRTIO_VIDEO_PROFILE_H264_HIGH422PROFILE, V4L2_MPEG_VIDEO_H264_PROFILE_HIGH_422 },
	{ VIRTIO_VIDEO_PROFILE_H264_HIGH444PREDICTIVEPROFILE,
	  V4L2_MPEG_VIDEO_H264_PROFILE_HIGH_444_PREDICTIVE },
	{ VIRTIO_VIDEO_PROFILE_H264_SCALABLEBASELINE,
	  V4L2_MPEG_VIDEO_H264_PROFILE_SCALABLE_BASELINE },
	{ VIRTIO_VIDEO_PROFILE_H264_SCALABLEHIGH, V4L2_MPEG_VIDEO_H264_PROFILE_SCALABLE_HIGH },
	{ VIRTIO_VIDEO_PROFILE_H264_STEREOHIGH, V4L2_MPEG_VIDEO_H264_PROFILE_STEREO_HIGH },
	{ VIRTIO_VIDEO_PROFILE_H264_MULTIVIEWHIGH, V4L2_MPEG_VIDEO_H264_PROFILE_MULTIVIEW_HIGH },
};

static const struct vv_enc_map vv_hevc_profiles[] = {
	{ VIRTIO_VIDEO_PROFILE_HEVC_MAIN, V4L2_MPEG_VIDEO_HEVC_PROFILE_MAIN },
	{ VIRTIO_VIDEO_PROFILE_HEVC_MAIN10, V4L2_MPEG_VIDEO_HEVC_PROFILE_MAIN_10 },
	{ VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE,
	  V4L2_MPEG_VIDEO_HEVC_PROFILE_MAIN_STILL_PICTURE },
};

static const struct vv_enc_map vv_vp8_profiles[] = {
	{ VIRTIO_VIDEO_PROFILE_VP8_PROFILE0, V4L2_MPEG_VIDEO_VP8_PROFILE_0 },
	{ VIRTIO_VIDEO_PROFILE_VP8_PROFILE1, V4L2_MPEG_VIDEO_VP8_PROFILE_1 },
	{ VIRTIO_VIDEO_PROFILE_VP8_PROFILE2, V4L2_MPEG_VIDEO_VP8_PROFILE_2 },
	{ VIRTIO_VIDEO_PROFILE_VP8_PROFILE3, V4L2_MPEG_VIDEO_VP8_PROFILE_3 },
};

static const struct vv_enc_map vv_vp9_profiles[] = {
	{ VIRTIO_VIDEO_PROFILE_VP9_PROFILE0, V4L2_MPEG_VIDEO_VP9_PROFILE_0 },
	{ VIRTIO_VIDEO_PROFILE_VP9_PROFILE1, V4L2_MPEG_VIDEO_VP9_PROFILE_1 },
	{ VIRTIO_VIDEO_PROFILE_VP9_PROFILE2, V4L2_MPEG_VIDEO_VP9_PROFILE_2 },
	{ VIRTIO_VIDEO_PROFILE_VP9_PROFILE3, V4L2_MPEG_VIDEO_VP9_PROFILE_3 },
};

static const struct vv_enc_map vv_h264_levels[] = {
	{ VIRTIO_VIDEO_LEVEL_H264_1_0, V4L2_MPEG_VIDEO_H264_LEVEL_1_0 },
	{ VIRTIO_VIDEO_LEVEL_H264_1_1, V4L2_MPEG_VIDEO_H264_LEVEL_1_1 },
	{ VIRTIO_VIDEO_LEVEL_H264_1_2, V4L2_MPEG_VIDEO_H264_LEVEL_1_2 },
	{ VIRTIO_VIDEO_LEVEL_H264_1_3, V4L2_MPEG_VIDEO_H264_LEVEL_1_3 },
	{ VIRTIO_VIDEO_LEVEL_H264_2_0, V4L2_MPEG_VIDEO_H264_LEVEL_2_0 },
	{ VIRTIO_VIDEO_LEVEL_H264_2_1, V4L2_MPEG_VIDEO_H264_LEVEL_2_1 },
	{ VIRTIO_VIDEO_LEVEL_H264_2_2, V4L2_MPEG_VIDEO_H264_LEVEL_2_2 },
	{ VIRTIO_VIDEO_LEVEL_H264_3_0, V4L2_MPEG_VIDEO_H264_LEVEL_3_0 },
	{ VIRTIO_VIDEO_LEVEL_H264_3_1, V4L2_MPEG_VIDEO_H264_LEVEL_3_1 },
	{ VIRTIO_VIDEO_LEVEL_H264_3_2, V4L2_MPEG_VIDEO_H264_LEVEL_3_2 },
	{ VIRTIO_VIDEO_LEVEL_H264_4_0, V4L2_MPEG_VIDEO_H264_LEVEL_4_0 },
	{ VIRTIO_VIDEO_LEVEL_H264_4_1, V4L2_MPEG_VIDEO_H264_LEVEL_4_1 },
	{ VIRTIO_VIDEO_LEVEL_H264_4_2, V4L2_MPEG_VIDEO_H264_LEVEL_4_2 },
	{ VIRTIO_VIDEO_LEVEL_H264_5_0, V4L2_MPEG_VIDEO_H264_LEVEL_5_0 },
	{ VIRTIO_VIDEO_LEVEL_H264_5_1, V4L2_MPEG_VIDEO_H264_LEVEL_5_1 },
};

struct vv_enc_codec_info {
	u32 vfmt;
	u32 profile_cid;
	const struct vv_enc_map *profiles;
	unsigned int num_profiles;
	bool has_headers;		/* parameter sets: PREPEND_SPSPPS_TO_IDR */
};

static const struct vv_enc_codec_info vv_enc_codecs[VV_NUM_CODECS] = {
	[VV_H264] = { VIRTIO_VIDEO_FORMAT_H264, V4L2_CID_MPEG_VIDEO_H264_PROFILE,
		      vv_h264_profiles, ARRAY_SIZE(vv_h264_profiles), true },
	[VV_HEVC] = { VIRTIO_VIDEO_FORMAT_HEVC, V4L2_CID_MPEG_VIDEO_HEVC_PROFILE,
		      vv_hevc_profiles, ARRAY_SIZE(vv_hevc_profiles), true },
	[VV_VP8] = { VIRTIO_VIDEO_FORMAT_VP8, V4L2_CID_MPEG_VIDEO_VP8_PROFILE,
		     vv_vp8_profiles, ARRAY_SIZE(vv_vp8_profiles), false },
	[VV_VP9] = { VIRTIO_VIDEO_FORMAT_VP9, V4L2_CID_MPEG_VIDEO_VP9_PROFILE,
		     vv_vp9_profiles, ARRAY_SIZE(vv_vp9_profiles), false },
};

/* What the device offers, read at probe: V4L2 menu items as bit masks. */
struct vv_enc_dev {
	u64 profiles[VV_NUM_CODECS];
	u64 h264_levels;
	bool has_codec[VV_NUM_CODECS];
};

static int vv_enc_codec_of(u32 vfmt)
{
	unsigned int c;

	for (c = 0; c < VV_NUM_CODECS; c++)
		if (vv_enc_codecs[c].vfmt == vfmt)
			return c;
	return -1;
}

static u64 vv_enc_menu_mask(const struct vv_enc_map *map, unsigned int n,
			    const u32 *values, unsigned int num)
{
	unsigned int i, j;
	u64 mask = 0;

	for (i = 0; i < num; i++)
		for (j = 0; j < n; j++)
			if (map[j].virtio == values[i])
				mask |= BIT_ULL(map[j].v4l2);
	return mask;
}

static u32 vv_enc_to_virtio(const struct vv_enc_map *map, unsigned int n, u32 v4l2)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (map[i].v4l2 == v4l2)
			return map[i].virtio;
	return map[0].virtio;
}

/* Profiles and levels of every coded format, from QUERY_CONTROL. */
static int vv_enc_probe(struct vv_dev *dev)
{
	struct vv_enc_dev *ed;
	u32 values[32];
	unsigned int i, num;
	int c;

	ed = kzalloc(sizeof(*ed), GFP_KERNEL);
	if (!ed)
		return -ENOMEM;
	for (i = 0; i < dev->out_caps.num; i++) {
		c = vv_enc_codec_of(dev->out_caps.fmts[i].vfmt);
		if (c < 0 || !dev->out_caps.fmts[i].fourcc || ed->has_codec[c])
			continue;
		ed->has_codec[c] = true;
		num = 0;
		if (!vv_cmd_query_control(dev, VIRTIO_VIDEO_CONTROL_PROFILE,
					  vv_enc_codecs[c].vfmt, values, ARRAY_SIZE(values), &num))
			ed->profiles[c] = vv_enc_menu_mask(vv_enc_codecs[c].profiles,
							   vv_enc_codecs[c].num_profiles,
							   values, num);
		if (c != VV_H264)
			continue;
		num = 0;
		if (!vv_cmd_query_control(dev, VIRTIO_VIDEO_CONTROL_LEVEL,
					  vv_enc_codecs[c].vfmt, values, ARRAY_SIZE(values), &num))
			ed->h264_levels = vv_enc_menu_mask(vv_h264_levels,
							   ARRAY_SIZE(vv_h264_levels),
							   values, num);
	}
	if (dev->broken || dev->dead) {
		kfree(ed);
		return -EIO;
	}
	dev->role_data = ed;
	return 0;
}

static void vv_enc_remove(struct vv_dev *dev)
{
	kfree(dev->role_data);
	dev->role_data = NULL;
}

/* ---- formats ---- */

static u32 vv_enc_dst_size(u32 w, u32 h, u32 req)
{
	u32 def = max_t(u32, VV_ENC_MIN_DST_SIZE, w * h * 3 / 2 + SZ_64K);

	return ALIGN(clamp_t(u32, req, min_t(u32, def, VV_ENC_MAX_DST_SIZE),
			     VV_ENC_MAX_DST_SIZE), PAGE_SIZE);
}

/*
 * The frame layout of OUTPUT: rows aligned to 16 bytes, whatever stride the
 * client asked for. FFmpeg 5.1 asks for twice the width for NV12 and then
 * copies the rows with its own frame's stride, so taking its request would
 * misplace every row after the first.
 */
static void vv_enc_src_layout(const struct vv_fmt *fmt, u32 w, u32 h, struct vv_layout *l)
{
	vv_fmt_layout(fmt->fourcc, w, h, 0, fmt->plane_align, l);
}

/* Frame sizes are those of the coded format (the device checks them so). */
static void vv_enc_clamp_size(const struct vv_fmt *coded, u32 *w, u32 *h)
{
	*w = vv_clamp_dim(*w ?: VV_ENC_DEF_W, coded->min_w, coded->max_w, coded->step_w);
	*h = vv_clamp_dim(*h ?: VV_ENC_DEF_H, coded->min_h, coded->max_h, coded->step_h);
}

static void vv_enc_set_src(struct vv_ctx *ctx, const struct vv_fmt *fmt, u32 w, u32 h)
{
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];

	vv_enc_clamp_size(dst->fmt, &w, &h);
	src->fmt = fmt;
	src->width = w;
	src->height = h;
	vv_enc_src_layout(fmt, w, h, &src->layout);
	src->crop = (struct v4l2_rect){ 0, 0, w, h };
	dst->width = w;
	dst->height = h;
	if (!vb2_is_busy(v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx)))
		vv_fmt_layout_coded(vv_enc_dst_size(w, h, dst->layout.sizeimage),
				    &dst->layout);
}

static bool vv_enc_src_offered(struct vv_ctx *ctx, const struct vv_fmt *raw)
{
	return raw && raw->fourcc &&
	       vv_fmt_compatible(ctx->dev, raw, ctx->q_data[VV_Q_DST].fmt);
}

static int vv_enc_enum_fmt(struct file *file, void *priv, struct v4l2_fmtdesc *f)
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
		if (out && !vv_enc_src_offered(ctx, fmt))
			continue;
		if (n++ != f->index)
			continue;
		f->pixelformat = fmt->fourcc;
		f->flags = out ? 0 : V4L2_FMT_FLAG_COMPRESSED;
		return 0;
	}
	return -EINVAL;
}

static void vv_enc_fill_fmt(struct vv_ctx *ctx, unsigned int q, struct v4l2_format *f)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	struct vv_queue *qd = &ctx->q_data[q];

	pix->width = qd->width;
	pix->height = qd->height;
	pix->pixelformat = qd->fmt->fourcc;
	vv_fill_colorimetry(ctx, pix);
	pix->plane_fmt[0].bytesperline = q == VV_Q_SRC ? qd->layout.bpl : 0;
	pix->plane_fmt[0].sizeimage = qd->layout.sizeimage;
}

static int vv_enc_g_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	struct vv_ctx *ctx = file_to_ctx(file);

	mutex_lock(&ctx->lock);
	vv_enc_fill_fmt(ctx, V4L2_TYPE_IS_OUTPUT(f->type) ? VV_Q_SRC : VV_Q_DST, f);
	mutex_unlock(&ctx->lock);
	return 0;
}

/* Adjust an OUTPUT (frame) format; returns the frame format picked. */
static const struct vv_fmt *vv_enc_try_src(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	const struct vv_fmt *fmt;
	struct vv_layout l;
	u32 w = pix->width, h = pix->height;

	fmt = vv_caps_find(&ctx->dev->in_caps, pix->pixelformat);
	if (!vv_enc_src_offered(ctx, fmt))
		fmt = ctx->q_data[VV_Q_SRC].fmt;
	vv_enc_clamp_size(ctx->q_data[VV_Q_DST].fmt, &w, &h);
	vv_enc_src_layout(fmt, w, h, &l);
	pix->width = w;
	pix->height = h;
	pix->pixelformat = fmt->fourcc;
	pix->field = V4L2_FIELD_NONE;
	pix->num_planes = 1;
	pix->flags = 0;
	pix->plane_fmt[0].bytesperline = l.bpl;
	pix->plane_fmt[0].sizeimage = l.sizeimage;
	memset(pix->reserved, 0, sizeof(pix->reserved));
	memset(pix->plane_fmt[0].reserved, 0, sizeof(pix->plane_fmt[0].reserved));
	if (!pix->colorspace)
		pix->colorspace = V4L2_COLORSPACE_REC709;
	return fmt;
}

/* Adjust a CAPTURE (bitstream) format: its size is OUTPUT's. */
static const struct vv_fmt *vv_enc_try_dst(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	const struct vv_fmt *fmt;
	u32 size = pix->plane_fmt[0].sizeimage;

	fmt = vv_caps_find(&ctx->dev->out_caps, pix->pixelformat);
	if (!fmt)
		fmt = ctx->q_data[VV_Q_DST].fmt;
	pix->width = ctx->q_data[VV_Q_SRC].width;
	pix->height = ctx->q_data[VV_Q_SRC].height;
	pix->pixelformat = fmt->fourcc;
	vv_fill_colorimetry(ctx, pix);
	pix->plane_fmt[0].bytesperline = 0;
	pix->plane_fmt[0].sizeimage = vv_enc_dst_size(pix->width, pix->height, size);
	return fmt;
}

static int vv_enc_try_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	struct vv_ctx *ctx = file_to_ctx(file);

	mutex_lock(&ctx->lock);
	if (V4L2_TYPE_IS_OUTPUT(f->type))
		vv_enc_try_src(ctx, f);
	else
		vv_enc_try_dst(ctx, f);
	mutex_unlock(&ctx->lock);
	return 0;
}

static int vv_enc_s_fmt_src(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	const struct vv_fmt *fmt;

	if (vb2_is_busy(v4l2_m2m_get_src_vq(ctx->fh.m2m_ctx)))
		return -EBUSY;
	fmt = vv_enc_try_src(ctx, f);
	vv_enc_set_src(ctx, fmt, pix->width, pix->height);
	ctx->colorspace = pix->colorspace;
	ctx->xfer_func = pix->xfer_func;
	ctx->ycbcr_enc = pix->ycbcr_enc;
	ctx->quantization = pix->quantization;
	return 0;
}

/* The coded format comes first (dev-encoder.rst); OUTPUT follows it. */
static int vv_enc_s_fmt_dst(struct vv_ctx *ctx, struct v4l2_format *f)
{
	struct v4l2_m2m_ctx *m2m = ctx->fh.m2m_ctx;
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
	const struct vv_fmt *fmt, *raw;

	if (vb2_is_busy(v4l2_m2m_get_dst_vq(m2m)))
		return -EBUSY;
	fmt = vv_enc_try_dst(ctx, f);
	raw = src->fmt;
	if (!vv_fmt_compatible(ctx->dev, raw, fmt))
		raw = vv_first_in(ctx->dev, fmt);
	if (fmt != dst->fmt && vb2_is_busy(v4l2_m2m_get_src_vq(m2m)))
		return -EBUSY;
	dst->fmt = fmt;
	vv_fmt_layout_coded(f->fmt.pix_mp.plane_fmt[0].sizeimage, &dst->layout);
	vv_enc_set_src(ctx, raw, src->width, src->height);
	f->fmt.pix_mp.width = dst->width;
	f->fmt.pix_mp.height = dst->height;
	return 0;
}

static int vv_enc_s_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	int ret;

	mutex_lock(&ctx->lock);
	if (V4L2_TYPE_IS_OUTPUT(f->type))
		ret = vv_enc_s_fmt_src(ctx, f);
	else
		ret = vv_enc_s_fmt_dst(ctx, f);
	mutex_unlock(&ctx->lock);
	return ret;
}

static bool vv_enc_sel_output(u32 type)
{
	return type == V4L2_BUF_TYPE_VIDEO_OUTPUT ||
	       type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
}

static int vv_enc_g_selection(struct file *file, void *priv, struct v4l2_selection *s)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	int ret = 0;

	if (!vv_enc_sel_output(s->type))
		return -EINVAL;
	mutex_lock(&ctx->lock);
	switch (s->target) {
	case V4L2_SEL_TGT_CROP:
		s->r = src->crop;
		break;
	case V4L2_SEL_TGT_CROP_DEFAULT:
	case V4L2_SEL_TGT_CROP_BOUNDS:
		s->r = (struct v4l2_rect){ 0, 0, src->width, src->height };
		break;
	default:
		ret = -EINVAL;
	}
	mutex_unlock(&ctx->lock);
	return ret;
}

/*
 * S_SELECTION(OUTPUT, CROP): the visible part of each frame, which the
 * device encodes. It starts at the top-left corner (the device reads the
 * planes from their starts) and keeps the coded format's size steps.
 */
static int vv_enc_s_selection(struct file *file, void *priv, struct v4l2_selection *s)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	const struct vv_fmt *coded;
	u32 w, h;

	if (!vv_enc_sel_output(s->type) || s->target != V4L2_SEL_TGT_CROP)
		return -EINVAL;
	mutex_lock(&ctx->lock);
	if (vb2_is_streaming(v4l2_m2m_get_src_vq(ctx->fh.m2m_ctx))) {
		mutex_unlock(&ctx->lock);
		return -EBUSY;
	}
	coded = ctx->q_data[VV_Q_DST].fmt;
	w = vv_clamp_dim(min_t(u32, max_t(s32, s->r.width, 1), src->width),
			 coded->min_w, src->width, coded->step_w);
	h = vv_clamp_dim(min_t(u32, max_t(s32, s->r.height, 1), src->height),
			 coded->min_h, src->height, coded->step_h);
	src->crop = (struct v4l2_rect){ 0, 0, w, h };
	s->r = src->crop;
	mutex_unlock(&ctx->lock);
	return 0;
}

static int vv_enc_g_parm(struct file *file, void *priv, struct v4l2_streamparm *a)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct v4l2_fract *tpf;

	if (V4L2_TYPE_IS_OUTPUT(a->type)) {
		a->parm.output.capability = V4L2_CAP_TIMEPERFRAME;
		tpf = &a->parm.output.timeperframe;
	} else {
		a->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
		tpf = &a->parm.capture.timeperframe;
	}
	mutex_lock(&ctx->lock);
	*tpf = ctx->enc.frame_interval;
	mutex_unlock(&ctx->lock);
	return 0;
}

static u32 vv_enc_fps(const struct v4l2_fract *tpf)
{
	return clamp_t(u32, DIV_ROUND_CLOSEST(tpf->denominator, tpf->numerator), 1,
		       VV_ENC_MAX_FPS);
}

static int vv_enc_set_src_params(struct vv_ctx *ctx);

/* S_PARM on either queue: the frame rate, whole frames per second. */
static int vv_enc_s_parm(struct file *file, void *priv, struct v4l2_streamparm *a)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct v4l2_fract *tpf = V4L2_TYPE_IS_OUTPUT(a->type) ? &a->parm.output.timeperframe :
								&a->parm.capture.timeperframe;
	int ret = 0;

	if (!tpf->numerator || !tpf->denominator)
		*tpf = (struct v4l2_fract){ 1, VV_ENC_DEF_FPS };
	*tpf = (struct v4l2_fract){ 1, vv_enc_fps(tpf) };
	mutex_lock(&ctx->lock);
	ctx->enc.frame_interval = *tpf;
	if (ctx->stream_created)
		ret = vv_enc_set_src_params(ctx);
	mutex_unlock(&ctx->lock);
	memset(a->parm.output.reserved, 0, sizeof(a->parm.output.reserved));
	if (V4L2_TYPE_IS_OUTPUT(a->type))
		a->parm.output.capability = V4L2_CAP_TIMEPERFRAME;
	else
		a->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
	return ret;
}

/* ---- device stream ---- */

/* SET_PARAMS(INPUT): format, visible size, frame rate and our strides. */
static int vv_enc_set_src_params(struct vv_ctx *ctx)
{
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	struct virtio_video_params p = {};
	unsigned int i;

	p.queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
	p.format = cpu_to_le32(src->fmt->vfmt);
	p.frame_width = cpu_to_le32(src->crop.width);
	p.frame_height = cpu_to_le32(src->crop.height);
	p.crop.width = cpu_to_le32(src->crop.width);
	p.crop.height = cpu_to_le32(src->crop.height);
	p.frame_rate = cpu_to_le32(vv_enc_fps(&ctx->enc.frame_interval));
	p.num_planes = cpu_to_le32(src->layout.num_planes);
	for (i = 0; i < src->layout.num_planes; i++) {
		p.plane_formats[i].plane_size = cpu_to_le32(src->layout.size[i]);
		p.plane_formats[i].stride = cpu_to_le32(src->layout.stride[i]);
	}
	return vv_cmd_set_params(ctx->dev, ctx->stream_id, &p);
}

/* SET_PARAMS(OUTPUT): the coded format and the bitstream buffer size. */
static int vv_enc_set_dst_params(struct vv_ctx *ctx)
{
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
	struct virtio_video_params p = {};

	p.queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
	p.format = cpu_to_le32(dst->fmt->vfmt);
	p.frame_width = cpu_to_le32(dst->width);
	p.frame_height = cpu_to_le32(dst->height);
	p.frame_rate = cpu_to_le32(vv_enc_fps(&ctx->enc.frame_interval));
	p.num_planes = cpu_to_le32(1);
	p.plane_formats[0].plane_size = cpu_to_le32(dst->layout.sizeimage);
	return vv_cmd_set_params(ctx->dev, ctx->stream_id, &p);
}

/* ---- controls ---- */

/* One control to the device, in the stream's terms (ctx->lock held). */
static int vv_enc_send_ctrl(struct vv_ctx *ctx, struct v4l2_ctrl *ctrl)
{
	struct vv_enc_ctx *enc = &ctx->enc;
	struct vv_dev *dev = ctx->dev;
	int codec = vv_enc_codec_of(ctx->stream_vfmt);
	const struct vv_enc_codec_info *ci;
	bool rc_on;
	u32 sid = ctx->stream_id;

	if (!ctx->stream_created || codec < 0)
		return 0;
	ci = &vv_enc_codecs[codec];
	rc_on = !enc->rc_enable || enc->rc_enable->val;
	switch (ctrl->id) {
	case V4L2_CID_MPEG_VIDEO_BITRATE:
		return vv_cmd_set_control(dev, sid, VIRTIO_VIDEO_CONTROL_BITRATE, ctrl->val);
	case V4L2_CID_MPEG_VIDEO_BITRATE_PEAK:
		return vv_cmd_set_control(dev, sid, VIRTIO_VIDEO_CONTROL_BITRATE_PEAK,
					  rc_on ? ctrl->val : VV_ENC_MAX_BITRATE);
	case V4L2_CID_MPEG_VIDEO_BITRATE_MODE:
	case V4L2_CID_MPEG_VIDEO_FRAME_RC_ENABLE:
		/*
		 * The device always controls the rate: with rate control off
		 * it runs VBR with no peak (it has no constant-QP mode).
		 */
		if (rc_on && enc->mode->val == V4L2_MPEG_VIDEO_BITRATE_MODE_CBR)
			return vv_cmd_set_control(dev, sid, VIRTIO_VIDEO_CONTROL_BITRATE_MODE,
						  VIRTIO_VIDEO_BITRATE_MODE_CBR);
		return vv_cmd_set_control(dev, sid, VIRTIO_VIDEO_CONTROL_BITRATE_MODE,
					  VIRTIO_VIDEO_BITRATE_MODE_VBR) ?:
		       vv_cmd_set_control(dev, sid, VIRTIO_VIDEO_CONTROL_BITRATE_PEAK,
					  rc_on ? enc->peak->val : VV_ENC_MAX_BITRATE);
	case V4L2_CID_MPEG_VIDEO_GOP_SIZE:
		return vv_cmd_set_control(dev, sid, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, ctrl->val);
	case V4L2_CID_MPEG_VIDEO_PREPEND_SPSPPS_TO_IDR:
		if (!ci->has_headers)
			return 0;
		return vv_cmd_set_control(dev, sid, VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR,
					  ctrl->val);
	case V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME:
		return vv_cmd_set_control(dev, sid, VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME, 1);
	case V4L2_CID_MPEG_VIDEO_H264_LEVEL:
		if (codec != VV_H264)
			return 0;
		return vv_cmd_set_control(dev, sid, VIRTIO_VIDEO_CONTROL_LEVEL,
					  vv_enc_to_virtio(vv_h264_levels,
							   ARRAY_SIZE(vv_h264_levels),
							   ctrl->val));
	default:
		if (ctrl != enc->profile[codec])
			return 0;
		return vv_cmd_set_control(dev, sid, VIRTIO_VIDEO_CONTROL_PROFILE,
					  vv_enc_to_virtio(ci->profiles, ci->num_profiles,
							   ctrl->val));
	}
}

static int vv_enc_s_ctrl(struct v4l2_ctrl *ctrl)
{
	struct vv_ctx *ctx = container_of(ctrl->handler, struct vv_ctx, hdl);

	return vv_enc_send_ctrl(ctx, ctrl);
}

static const struct v4l2_ctrl_ops vv_enc_ctrl_ops = {
	.s_ctrl = vv_enc_s_ctrl,
};

/* Every setting to a new device stream (ctx->lock held: it is the handler's lock). */
static int vv_enc_push_ctrls(struct vv_ctx *ctx)
{
	struct vv_enc_ctx *enc = &ctx->enc;
	struct v4l2_ctrl *ctrls[] = {
		enc->bitrate, enc->mode, enc->gop, enc->prepend, enc->level,
		enc->profile[VV_H264], enc->profile[VV_HEVC], enc->profile[VV_VP8],
		enc->profile[VV_VP9],
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(ctrls); i++) {
		if (!ctrls[i])
			continue;
		ret = vv_enc_send_ctrl(ctx, ctrls[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static void vv_enc_add_ctrls(struct vv_ctx *ctx)
{
	const struct vv_enc_dev *ed = ctx->dev->role_data;
	struct v4l2_ctrl_handler *hdl = &ctx->hdl;
	const struct v4l2_ctrl_ops *ops = &vv_enc_ctrl_ops;
	struct vv_enc_ctx *enc = &ctx->enc;
	unsigned int c, def;
	u64 mask;

	enc->bitrate = v4l2_ctrl_new_std(hdl, ops, V4L2_CID_MPEG_VIDEO_BITRATE, 1,
					 VV_ENC_MAX_BITRATE, 1, 1000000);
	enc->peak = v4l2_ctrl_new_std(hdl, ops, V4L2_CID_MPEG_VIDEO_BITRATE_PEAK, 1,
				      VV_ENC_MAX_BITRATE, 1, 2000000);
	enc->mode = v4l2_ctrl_new_std_menu(hdl, ops, V4L2_CID_MPEG_VIDEO_BITRATE_MODE,
					   V4L2_MPEG_VIDEO_BITRATE_MODE_CBR,
					   ~(BIT(V4L2_MPEG_VIDEO_BITRATE_MODE_VBR) |
					     BIT(V4L2_MPEG_VIDEO_BITRATE_MODE_CBR)),
					   V4L2_MPEG_VIDEO_BITRATE_MODE_VBR);
	enc->rc_enable = v4l2_ctrl_new_std(hdl, ops, V4L2_CID_MPEG_VIDEO_FRAME_RC_ENABLE,
					   0, 1, 1, 1);
	if (ctx->dev->ext_ctrls)
		enc->gop = v4l2_ctrl_new_std(hdl, ops, V4L2_CID_MPEG_VIDEO_GOP_SIZE, 0,
					     VV_ENC_MAX_GOP, 1, 0);
	if (ed->has_codec[VV_H264] || ed->has_codec[VV_HEVC])
		enc->prepend = v4l2_ctrl_new_std(hdl, ops,
						 V4L2_CID_MPEG_VIDEO_PREPEND_SPSPPS_TO_IDR,
						 0, 1, 1, 0);
	/* Parameter sets always come with the first frame, never on their own. */
	v4l2_ctrl_new_std_menu(hdl, ops, V4L2_CID_MPEG_VIDEO_HEADER_MODE,
			       V4L2_MPEG_VIDEO_HEADER_MODE_JOINED_WITH_1ST_FRAME,
			       BIT(V4L2_MPEG_VIDEO_HEADER_MODE_SEPARATE),
			       V4L2_MPEG_VIDEO_HEADER_MODE_JOINED_WITH_1ST_FRAME);
	v4l2_ctrl_new_std(hdl, ops, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, 0, 0, 0, 0);
	v4l2_ctrl_new_std(hdl, NULL, V4L2_CID_MIN_BUFFERS_FOR_OUTPUT, 1, VB2_MAX_FRAME, 1,
			  ctx->q_data[VV_Q_SRC].min_bufs);

	/* Defaults as the encoders' own: H.264 High, the first profile otherwise. */
	for (c = 0; c < VV_NUM_CODECS; c++) {
		mask = ed->profiles[c];
		if (!mask)
			continue;
		def = __ffs(mask);
		if (c == VV_H264 && (mask & BIT_ULL(V4L2_MPEG_VIDEO_H264_PROFILE_HIGH)))
			def = V4L2_MPEG_VIDEO_H264_PROFILE_HIGH;
		enc->profile[c] = v4l2_ctrl_new_std_menu(hdl, ops, vv_enc_codecs[c].profile_cid,
							 __fls(mask), ~mask, def);
	}
	/*
	 * The protocol has no HEVC levels: the device's encoder picks one.
	 * Clients (GStreamer's v4l2h265enc) need the menu to negotiate.
	 */
	if (ed->has_codec[VV_HEVC])
		v4l2_ctrl_new_std_menu(hdl, ops, V4L2_CID_MPEG_VIDEO_HEVC_LEVEL,
				       V4L2_MPEG_VIDEO_HEVC_LEVEL_6_2, 0,
				       V4L2_MPEG_VIDEO_HEVC_LEVEL_4_1);
	mask = ed->h264_levels;
	if (mask)
		enc->level = v4l2_ctrl_new_std_menu(hdl, ops, V4L2_CID_MPEG_VIDEO_H264_LEVEL,
						    __fls(mask), ~mask, __fls(mask));
	/* Controls and the stream they go to change under one lock. */
	hdl->lock = &ctx->lock;
}

/* ---- streaming ---- */

/* start_streaming of queue @q: the device stream and all its settings. */
static int vv_enc_start(struct vv_ctx *ctx, unsigned int q)
{
	int ret;

	ret = vv_ensure_stream(ctx, ctx->q_data[VV_Q_DST].fmt->vfmt);
	if (ret)
		return ret;
	ret = vv_enc_set_dst_params(ctx);
	if (!ret)
		ret = vv_enc_set_src_params(ctx);
	if (!ret)
		ret = vv_enc_push_ctrls(ctx);
	if (ret)
		return ret;
	spin_lock_irq(&ctx->slock);
	ctx->draining = false;
	ctx->stopped = false;
	if (q == VV_Q_DST)
		ctx->last_pending = false;
	spin_unlock_irq(&ctx->slock);
	return 0;
}

/* After stop_streaming of queue @q: a drain in progress is aborted. */
static void vv_enc_stopped(struct vv_ctx *ctx, unsigned int q)
{
	struct vv_dev *dev = ctx->dev;

	spin_lock_irq(&ctx->slock);
	ctx->drain_seq++;
	ctx->draining = false;
	ctx->stopped = false;
	if (q == VV_Q_DST)
		ctx->last_pending = false;
	ctx->cap_out = 0;
	/* QUEUE_CLEAR resets a failed stream. */
	if (!dev->dead && !dev->broken)
		ctx->error = false;
	spin_unlock_irq(&ctx->slock);
}

/* ENC_CMD_STOP: every frame queued is encoded, the last packet has LAST. */
static int vv_enc_drain(struct vv_ctx *ctx)
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
	    !vb2_is_streaming(v4l2_m2m_get_dst_vq(m2m)) || !ctx->stream_created ||
	    ctx->stopped)
		return 0;
	/* Everything queued before the command goes to the device first. */
	vv_pump(ctx);
	ret = vv_send_drain(ctx);
	if (ret)
		return ret == -ENODEV ? ret : -EIO;
	return 0;
}

static int vv_enc_restart(struct vv_ctx *ctx)
{
	struct vb2_queue *dq = v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx);

	spin_lock_irq(&ctx->slock);
	if (ctx->draining) {
		spin_unlock_irq(&ctx->slock);
		return -EBUSY;
	}
	ctx->stopped = false;
	spin_unlock_irq(&ctx->slock);
	vb2_clear_last_buffer_dequeued(dq);
	vv_pump(ctx);
	return 0;
}

static int vv_encoder_cmd(struct file *file, void *priv, struct v4l2_encoder_cmd *ec)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	int ret;

	ret = v4l2_m2m_ioctl_try_encoder_cmd(file, priv, ec);
	if (ret)
		return ret;
	mutex_lock(&ctx->lock);
	if (ec->cmd == V4L2_ENC_CMD_STOP)
		ret = vv_enc_drain(ctx);
	else
		ret = vv_enc_restart(ctx);
	mutex_unlock(&ctx->lock);
	return ret;
}

/* What this role's node answers whichever buffer API it takes. */
#define VV_ENC_IOCTLS \
	.vidioc_querycap = vv_querycap, \
	.vidioc_enum_fmt_vid_cap = vv_enc_enum_fmt, \
	.vidioc_enum_fmt_vid_out = vv_enc_enum_fmt, \
	.vidioc_enum_framesizes = vv_enum_framesizes, \
	.vidioc_g_selection = vv_enc_g_selection, \
	.vidioc_s_selection = vv_enc_s_selection, \
	.vidioc_g_parm = vv_enc_g_parm, \
	.vidioc_s_parm = vv_enc_s_parm, \
	.vidioc_encoder_cmd = vv_encoder_cmd, \
	.vidioc_try_encoder_cmd = v4l2_m2m_ioctl_try_encoder_cmd

static const struct v4l2_ioctl_ops vv_enc_ioctl_ops = {
	VV_ENC_IOCTLS,
	VV_M2M_IOCTLS,
	.vidioc_g_fmt_vid_cap_mplane = vv_enc_g_fmt,
	.vidioc_g_fmt_vid_out_mplane = vv_enc_g_fmt,
	.vidioc_try_fmt_vid_cap_mplane = vv_enc_try_fmt,
	.vidioc_try_fmt_vid_out_mplane = vv_enc_try_fmt,
	.vidioc_s_fmt_vid_cap_mplane = vv_enc_s_fmt,
	.vidioc_s_fmt_vid_out_mplane = vv_enc_s_fmt,
};

static const struct v4l2_ioctl_ops vv_enc_sp_ioctl_ops = {
	VV_ENC_IOCTLS,
	VV_M2M_IOCTLS,
	VV_SP_FMT_IOCTLS,
};

/* ---- contexts ---- */

static int vv_enc_open(struct vv_ctx *ctx)
{
	struct vv_dev *dev = ctx->dev;
	struct vv_queue *src = &ctx->q_data[VV_Q_SRC];
	struct vv_queue *dst = &ctx->q_data[VV_Q_DST];
	const struct vv_fmt *raw = NULL;
	unsigned int i;

	for (i = 0; i < dev->out_caps.num && !raw; i++) {
		if (!dev->out_caps.fmts[i].fourcc)
			continue;
		dst->fmt = &dev->out_caps.fmts[i];
		raw = vv_first_in(dev, dst->fmt);
	}
	if (!raw)
		return -ENODEV;
	ctx->enc.frame_interval = (struct v4l2_fract){ 1, VV_ENC_DEF_FPS };
	src->min_bufs = 2;
	dst->min_bufs = VV_ENC_MIN_DST_BUFS;
	src->fmt = raw;
	src->width = VV_ENC_DEF_W;
	src->height = VV_ENC_DEF_H;
	vv_enc_clamp_size(dst->fmt, &src->width, &src->height);
	dst->width = src->width;
	dst->height = src->height;
	vv_enc_src_layout(raw, src->width, src->height, &src->layout);
	src->crop = (struct v4l2_rect){ 0, 0, src->width, src->height };
	vv_fmt_layout_coded(vv_enc_dst_size(src->width, src->height, 0), &dst->layout);
	vv_enc_add_ctrls(ctx);
	return 0;
}

const struct vv_role vv_enc_role = {
	.name = "encoder",
	.node_name = "virtio-video-enc",
	.media_function = MEDIA_ENT_F_PROC_VIDEO_ENCODER,
	.coded_input = false,
	.ioctl_ops = &vv_enc_ioctl_ops,
	.sp_ioctl_ops = &vv_enc_sp_ioctl_ops,
	.probe = vv_enc_probe,
	.remove = vv_enc_remove,
	.open = vv_enc_open,
	.start = vv_enc_start,
	.stopped = vv_enc_stopped,
};
