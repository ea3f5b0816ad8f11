/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plane geometry of the raw formats (NV12, YUV420, YVU420, ARGB8888,
 * BGRA8888): how many planes, the bytes of pixel data per row and the rows
 * of each, and the default strides. The one copy of these rules: the
 * device, the FFmpeg and the GStreamer plugins all call it (plugins link
 * frame_layout.c in).
 */
#ifndef VV_FRAME_LAYOUT_H
#define VV_FRAME_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

/* Planes of a raw format; 0 for a format that is not raw or not known. */
unsigned int vv_layout_num_planes(uint32_t format);

/* Bytes of pixel data in one row of plane p of a width x height frame, and its rows. */
void vv_layout_plane_geometry(uint32_t format, unsigned int plane, uint32_t width,
			      uint32_t height, uint32_t *row_bytes, uint32_t *rows);

/* The stride the device proposes: the luma width aligned to 16, scaled per plane. */
uint32_t vv_layout_default_stride(uint32_t format, unsigned int plane, uint32_t width);

/* A plane of at least the format's row bytes and rows: stride and size checked in 64 bits. */
bool vv_layout_plane_fits(const struct vv_plane *p, uint32_t format, unsigned int plane,
			  uint32_t width, uint32_t height);

#define VV_LAYOUT_MAX_PLANES 8

struct vv_layout {
	unsigned int num_planes;
	uint32_t stride[VV_LAYOUT_MAX_PLANES];
	uint32_t plane_size[VV_LAYOUT_MAX_PLANES];
};

/*
 * The layout of a width x height frame: default strides, or those in
 * wanted_stride (may be NULL; 0 entries take the default) where they hold a
 * row. False, with *layout zeroed, when the format is unknown or a plane
 * would not fit 32 bits (plane sizes are le32 on the wire).
 */
bool vv_layout_compute(uint32_t format, uint32_t width, uint32_t height,
		       const uint32_t *wanted_stride, struct vv_layout *layout);

#endif
