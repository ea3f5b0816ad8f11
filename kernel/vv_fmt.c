// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: format mapping tables and frame layouts.
 */
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/videodev2.h>

#include "vv.h"

static const struct {
	u32 vfmt;
	u32 fourcc;
	unsigned int num_planes;	/* pixel planes of raw formats */
	bool continuous;		/* the host re-frames a byte stream */
} vv_fmt_map[] = {
	{ VIRTIO_VIDEO_FORMAT_H264, V4L2_PIX_FMT_H264, 1, true },
	{ VIRTIO_VIDEO_FORMAT_HEVC, V4L2_PIX_FMT_HEVC, 1, true },
	{ VIRTIO_VIDEO_FORMAT_VP8, V4L2_PIX_FMT_VP8, 1, false },
	{ VIRTIO_VIDEO_FORMAT_VP9, V4L2_PIX_FMT_VP9, 1, false },
	{ VIRTIO_VIDEO_FORMAT_NV12, V4L2_PIX_FMT_NV12, 2, false },
	{ VIRTIO_VIDEO_FORMAT_YUV420, V4L2_PIX_FMT_YUV420, 3, false },
	{ VIRTIO_VIDEO_FORMAT_BGRA8888, V4L2_PIX_FMT_ABGR32, 1, false },
	{ VIRTIO_VIDEO_FORMAT_ARGB8888, V4L2_PIX_FMT_ARGB32, 1, false },
	{ VIRTIO_VIDEO_FORMAT_BGRA8888, V4L2_PIX_FMT_XBGR32, 1, false },
};

u32 vv_fmt_to_fourcc(u32 vfmt)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vv_fmt_map); i++)
		if (vv_fmt_map[i].vfmt == vfmt)
			return vv_fmt_map[i].fourcc;
	return 0;
}

bool vv_fmt_is_continuous(u32 fourcc)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vv_fmt_map); i++)
		if (vv_fmt_map[i].fourcc == fourcc)
			return vv_fmt_map[i].continuous;
	return false;
}

unsigned int vv_fmt_num_planes(u32 fourcc)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vv_fmt_map); i++)
		if (vv_fmt_map[i].fourcc == fourcc)
			return vv_fmt_map[i].num_planes;
	return 1;
}

/*
 * Contiguous NV12 / YUV420 in one memory plane: luma rows of @bpl bytes,
 * then the chroma plane(s) of (h + 1) / 2 rows. Packed 32-bit RGB: rows of
 * @bpl bytes.
 */
void vv_fmt_layout(u32 fourcc, u32 w, u32 h, u32 min_stride, u32 align,
		   struct vv_layout *l)
{
	u32 ch = DIV_ROUND_UP(h, 2);
	u32 bpl;

	if (!align || align > 256 || !is_power_of_2(align))
		align = 1;
	memset(l, 0, sizeof(*l));
	if (fourcc == V4L2_PIX_FMT_ABGR32 || fourcc == V4L2_PIX_FMT_ARGB32 ||
	    fourcc == V4L2_PIX_FMT_XBGR32) {
		/* Packed 32-bit RGB (virtio BGRA8888 / ARGB8888): one plane. */
		l->bpl = ALIGN(max(4 * w, min_stride), max_t(u32, 16, align));
		l->num_planes = 1;
		l->stride[0] = l->bpl;
		l->size[0] = l->bpl * h;
		l->sizeimage = l->size[0];
		return;
	}
	bpl = ALIGN(max(w, min_stride), max_t(u32, 16, align));

	l->bpl = bpl;
	if (fourcc == V4L2_PIX_FMT_YUV420) {
		l->num_planes = 3;
		l->stride[0] = bpl;
		l->stride[1] = bpl / 2;
		l->stride[2] = bpl / 2;
		l->size[0] = bpl * h;
		l->size[1] = bpl / 2 * ch;
		l->size[2] = bpl / 2 * ch;
	} else {
		l->num_planes = 2;
		l->stride[0] = bpl;
		l->stride[1] = bpl;
		l->size[0] = bpl * h;
		l->size[1] = bpl * ch;
	}
	l->offset[1] = l->size[0];
	l->offset[2] = l->size[0] + l->size[1];
	l->sizeimage = l->size[0] + l->size[1] + l->size[2];
}

const struct vv_fmt *vv_caps_find(const struct vv_caps *caps, u32 fourcc)
{
	unsigned int i;

	for (i = 0; i < caps->num; i++)
		if (caps->fmts[i].fourcc && caps->fmts[i].fourcc == fourcc)
			return &caps->fmts[i];
	return NULL;
}

/* The layout of a bitstream buffer: one plane of @sizeimage bytes. */
void vv_fmt_layout_coded(u32 sizeimage, struct vv_layout *l)
{
	memset(l, 0, sizeof(*l));
	l->num_planes = 1;
	l->sizeimage = sizeimage;
	l->size[0] = sizeimage;
}

/*
 * Capability masks: bit i means "works with desc i of the other queue".
 * @in is a format of the device's INPUT queue, @out one of its OUTPUT queue.
 */
bool vv_fmt_compatible(const struct vv_dev *dev, const struct vv_fmt *in,
		       const struct vv_fmt *out)
{
	unsigned int ii = in - dev->in_caps.fmts;
	unsigned int oi = out - dev->out_caps.fmts;

	if (!in->mask && !out->mask)
		return true;
	return (oi < 64 && (in->mask & BIT_ULL(oi))) ||
	       (ii < 64 && (out->mask & BIT_ULL(ii)));
}

/*
 * The default OUTPUT-queue format for @in: a decoder's frame format,
 * planar YUV420 where the device has it.
 */
const struct vv_fmt *vv_first_out(const struct vv_dev *dev, const struct vv_fmt *in)
{
	const struct vv_fmt *out, *first = NULL;
	unsigned int i;

	for (i = 0; i < dev->out_caps.num; i++) {
		out = &dev->out_caps.fmts[i];
		if (!out->fourcc || !vv_fmt_compatible(dev, in, out))
			continue;
		if (out->fourcc == V4L2_PIX_FMT_YUV420)
			return out;
		if (!first)
			first = out;
	}
	return first;
}

/* The default INPUT-queue format for @out: an encoder's first frame format. */
const struct vv_fmt *vv_first_in(const struct vv_dev *dev, const struct vv_fmt *out)
{
	const struct vv_fmt *in;
	unsigned int i;

	for (i = 0; i < dev->in_caps.num; i++) {
		in = &dev->in_caps.fmts[i];
		if (in->fourcc && vv_fmt_compatible(dev, in, out))
			return in;
	}
	return NULL;
}
