// SPDX-License-Identifier: GPL-2.0-or-later
/* Raw frame plane geometry (frame_layout.h). */
#include "frame_layout.h"

#include <string.h>

#include "../include/virtio_video.h"

unsigned int vv_layout_num_planes(uint32_t format)
{
	switch (format) {
	case VIRTIO_VIDEO_FORMAT_NV12:
		return 2;
	case VIRTIO_VIDEO_FORMAT_YUV420:
	case VIRTIO_VIDEO_FORMAT_YVU420:
		return 3;
	case VIRTIO_VIDEO_FORMAT_ARGB8888:
	case VIRTIO_VIDEO_FORMAT_BGRA8888:
		return 1;
	default:
		return 0;
	}
}

void vv_layout_plane_geometry(uint32_t format, unsigned int plane, uint32_t width,
			      uint32_t height, uint32_t *row_bytes, uint32_t *rows)
{
	/* 64-bit intermediates: a 0xffffffff width must not wrap to 0. */
	uint32_t cw = (uint32_t)(((uint64_t)width + 1) / 2);
	uint32_t ch = (uint32_t)(((uint64_t)height + 1) / 2);

	switch (format) {
	case VIRTIO_VIDEO_FORMAT_NV12:
		*row_bytes = plane == 0 ? width : 2 * cw;
		*rows = plane == 0 ? height : ch;
		break;
	case VIRTIO_VIDEO_FORMAT_YUV420:
	case VIRTIO_VIDEO_FORMAT_YVU420:
		*row_bytes = plane == 0 ? width : cw;
		*rows = plane == 0 ? height : ch;
		break;
	default:
		*row_bytes = 4 * width;
		*rows = height;
		break;
	}
}

uint32_t vv_layout_default_stride(uint32_t format, unsigned int plane, uint32_t width)
{
	uint32_t luma = (width + 15) / 16 * 16;

	switch (format) {
	case VIRTIO_VIDEO_FORMAT_YUV420:
	case VIRTIO_VIDEO_FORMAT_YVU420:
		return plane == 0 ? luma : luma / 2;
	case VIRTIO_VIDEO_FORMAT_NV12:
		return luma;
	default:
		return luma * 4;
	}
}

bool vv_layout_plane_fits(const struct vv_plane *p, uint32_t format, unsigned int plane,
			  uint32_t width, uint32_t height)
{
	uint32_t row_bytes, rows;

	vv_layout_plane_geometry(format, plane, width, height, &row_bytes, &rows);
	return p->data && p->stride >= row_bytes && (uint64_t)p->stride * rows <= p->size;
}

bool vv_layout_compute(uint32_t format, uint32_t width, uint32_t height,
		       const uint32_t *wanted_stride, struct vv_layout *layout)
{
	memset(layout, 0, sizeof(*layout));
	layout->num_planes = vv_layout_num_planes(format);
	if (!layout->num_planes || width > (1u << 16) || height > (1u << 16))
		goto bad;
	for (unsigned int i = 0; i < layout->num_planes; i++) {
		uint32_t row_bytes, rows, stride;
		uint64_t size;

		vv_layout_plane_geometry(format, i, width, height, &row_bytes, &rows);
		stride = vv_layout_default_stride(format, i, width);
		if (wanted_stride && wanted_stride[i] >= row_bytes)
			stride = wanted_stride[i];
		size = (uint64_t)stride * rows;
		if (size > UINT32_MAX)
			goto bad;
		layout->stride[i] = stride;
		layout->plane_size[i] = (uint32_t)size;
	}
	return true;
bad:
	memset(layout, 0, sizeof(*layout));
	return false;
}
