// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: capability parsing. Every count and every
 * structure is checked against the length the device wrote.
 */
#include <linux/kernel.h>
#include <linux/minmax.h>

#include "vv.h"

static void vv_range(const struct virtio_video_format_range *r,
		     u32 *min, u32 *max, u32 *step)
{
	u32 lo = le32_to_cpu(r->min);
	u32 hi = le32_to_cpu(r->max);
	u32 st = le32_to_cpu(r->step);

	lo = clamp_t(u32, lo, 1, VV_MAX_DIM);
	hi = clamp_t(u32, hi, lo, VV_MAX_DIM);
	if (!st || st > hi - lo)
		st = 1;
	hi = lo + (hi - lo) / st * st;
	*min = lo;
	*max = hi;
	*step = st;
}

/* Merge one frame-size entry into the format's overall range. */
static void vv_merge_frame(struct vv_fmt *f, const struct virtio_video_format_frame *fr,
			   bool first)
{
	u32 min_w, max_w, step_w, min_h, max_h, step_h;

	vv_range(&fr->width, &min_w, &max_w, &step_w);
	vv_range(&fr->height, &min_h, &max_h, &step_h);
	if (first) {
		f->min_w = min_w;
		f->max_w = max_w;
		f->step_w = step_w;
		f->min_h = min_h;
		f->max_h = max_h;
		f->step_h = step_h;
		return;
	}
	f->min_w = min(f->min_w, min_w);
	f->max_w = max(f->max_w, max_w);
	f->min_h = min(f->min_h, min_h);
	f->max_h = max(f->max_h, max_h);
	f->step_w = 1;
	f->step_h = 1;
}

int vv_caps_parse(const void *buf, size_t len, struct vv_caps *caps)
{
	const struct virtio_video_query_capability_resp *resp = buf;
	const struct virtio_video_format_frame *fr;
	const struct virtio_video_format_desc *d;
	size_t off = sizeof(*resp);
	u32 num_descs, num_frames, num_rates;
	struct vv_fmt *f;
	u32 i, j;

	memset(caps, 0, sizeof(*caps));
	if (len < sizeof(*resp))
		return -EPROTO;
	num_descs = le32_to_cpu(resp->num_descs);
	if (num_descs > VV_MAX_DESCS)
		return -EPROTO;

	for (i = 0; i < num_descs; i++) {
		if (len - off < sizeof(*d))
			return -EPROTO;
		d = buf + off;
		off += sizeof(*d);

		f = &caps->fmts[caps->num++];
		f->vfmt = le32_to_cpu(d->format);
		f->fourcc = vv_fmt_to_fourcc(f->vfmt);
		f->mask = le64_to_cpu(d->mask);
		f->planes_layout = le32_to_cpu(d->planes_layout);
		f->plane_align = le32_to_cpu(d->plane_align);
		f->min_w = 1;
		f->max_w = VV_MAX_DIM;
		f->step_w = 1;
		f->min_h = 1;
		f->max_h = VV_MAX_DIM;
		f->step_h = 1;

		num_frames = le32_to_cpu(d->num_frames);
		if (num_frames > (len - off) / sizeof(*fr))
			return -EPROTO;
		for (j = 0; j < num_frames; j++) {
			if (len - off < sizeof(*fr))
				return -EPROTO;
			fr = buf + off;
			off += sizeof(*fr);
			num_rates = le32_to_cpu(fr->num_rates);
			if (num_rates > (len - off) /
					sizeof(struct virtio_video_format_range))
				return -EPROTO;
			off += num_rates * sizeof(struct virtio_video_format_range);
			vv_merge_frame(f, fr, j == 0);
		}
	}
	return 0;
}
