// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The video device's capabilities: the plugin's formats of the device's
 * role (profiles, levels, frame sizes and rates per coded format), kept to
 * what the device serves, and the QUERY_CAPABILITY answers made from them.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "frame_layout.h"
#include "log.h"
#include "video_internal.h"

bool vv_raw_format_offered(const struct vv_video_dev *dev, uint32_t format)
{
	return vv_has_format(dev->caps->raw, dev->caps->num_raw, format);
}

const struct vv_codec_format *vv_coded_caps(const struct vv_video_dev *dev, uint32_t format)
{
	for (unsigned int i = 0; i < dev->caps->num_coded; i++)
		if (dev->caps->coded[i].format == format)
			return &dev->caps->coded[i];
	return NULL;
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

/* Appends one format descriptor with one frame-size entry to blob at *len. */
static void caps_add_desc(uint8_t *blob, size_t *len, uint64_t mask, uint32_t format,
			  uint32_t layouts, const struct vv_codec_format *c)
{
	struct virtio_video_format_desc desc = {
		.mask = htole64(mask),
		.format = htole32(format),
		.planes_layout = htole32(layouts),
		.plane_align = htole32(1),
		.num_frames = htole32(1),
	};
	struct virtio_video_format_frame frame = {
		.width = { htole32(c->min_width), htole32(c->max_width),
			   htole32(or_default(c->width_step, 1)), { 0 } },
		.height = { htole32(c->min_height), htole32(c->max_height),
			    htole32(or_default(c->height_step, 1)), { 0 } },
		.num_rates = htole32(1),
	};
	struct virtio_video_format_range rate = {
		htole32(or_default(c->min_fps, 1)), htole32(or_default(c->max_fps, 120)),
		htole32(1), { 0 }
	};

	memcpy(blob + *len, &desc, sizeof(desc));
	*len += sizeof(desc);
	memcpy(blob + *len, &frame, sizeof(frame));
	*len += sizeof(frame);
	memcpy(blob + *len, &rate, sizeof(rate));
	*len += sizeof(rate);
}

/* Raw frames take any size some coded format takes. */
static void raw_range(const struct vv_codec_role_caps *c, struct vv_codec_format *raw)
{
	memset(raw, 0, sizeof(*raw));
	raw->min_width = raw->min_height = UINT32_MAX;
	for (unsigned int i = 0; i < c->num_coded; i++) {
		const struct vv_codec_format *f = &c->coded[i];

		if (f->min_width < raw->min_width)
			raw->min_width = f->min_width;
		if (f->min_height < raw->min_height)
			raw->min_height = f->min_height;
		if (f->max_width > raw->max_width)
			raw->max_width = f->max_width;
		if (f->max_height > raw->max_height)
			raw->max_height = f->max_height;
		if (f->max_fps > raw->max_fps)
			raw->max_fps = f->max_fps;
	}
	raw->min_fps = 1;
}

bool vv_build_caps(struct vv_video_dev *dev)
{
	const struct vv_codec_role_caps *c = dev->caps;
	size_t per_desc = sizeof(struct virtio_video_format_desc) +
			  sizeof(struct virtio_video_format_frame) +
			  sizeof(struct virtio_video_format_range);
	struct vv_codec_format raw;

	raw_range(c, &raw);
	for (int q = 0; q < Q_COUNT; q++) {
		bool coded = q == dev->role->coded_queue;
		unsigned int n = coded ? c->num_coded : c->num_raw;
		unsigned int other = coded ? c->num_raw : c->num_coded;
		uint64_t mask = other >= 64 ? ~0ull : (1ull << other) - 1;
		struct virtio_video_query_capability_resp hdr = {
			.hdr.type = htole32(VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY),
			.num_descs = htole32(n),
		};
		size_t len = 0;

		dev->caps_blob[q] = calloc(1, sizeof(hdr) + n * per_desc);
		if (!dev->caps_blob[q])
			return false;
		memcpy(dev->caps_blob[q], &hdr, sizeof(hdr));
		len = sizeof(hdr);
		for (unsigned int i = 0; i < n; i++) {
			if (coded)
				caps_add_desc(dev->caps_blob[q], &len, mask, c->coded[i].format,
					      VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER, &c->coded[i]);
			else
				caps_add_desc(dev->caps_blob[q], &len, mask, c->raw[i],
					      VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER |
					      VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE, &raw);
		}
		dev->caps_len[q] = len;
		if (len > CAPS_MAX_LENGTH)
			return false;
	}
	return true;
}

/* The plugin's formats for this role, kept to what the device can serve. */
bool vv_take_caps(struct vv_video_dev *dev)
{
	struct vv_codec_role_caps *c;

	dev->codec->get_caps(&dev->all_caps);
	dev->caps = dev->role->caps(&dev->all_caps, dev->codec);
	if (!dev->caps)
		return false;
	c = (struct vv_codec_role_caps *)dev->caps;
	if (c->num_coded > VV_CODEC_MAX_FORMATS)
		c->num_coded = VV_CODEC_MAX_FORMATS;
	if (c->num_raw > VV_CODEC_MAX_FORMATS)
		c->num_raw = VV_CODEC_MAX_FORMATS;
	/* Keep only the raw formats this device can lay out. */
	for (unsigned int i = 0; i < c->num_raw;) {
		if (vv_layout_num_planes(c->raw[i])) {
			i++;
			continue;
		}
		c->raw[i] = c->raw[--c->num_raw];
	}
	for (unsigned int i = 0; i < c->num_coded; i++) {
		struct vv_codec_format *f = &c->coded[i];

		if (f->num_profiles > VV_CODEC_MAX_VALUES)
			f->num_profiles = VV_CODEC_MAX_VALUES;
		if (f->num_levels > VV_CODEC_MAX_VALUES)
			f->num_levels = VV_CODEC_MAX_VALUES;
		/* Sizes the layout code can take (frame_layout.c). */
		if (f->max_width > (1u << 16))
			f->max_width = 1u << 16;
		if (f->max_height > (1u << 16))
			f->max_height = 1u << 16;
	}
	return c->num_coded && c->num_raw;
}

