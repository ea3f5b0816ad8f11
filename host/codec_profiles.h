/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The profile and level lists the codec plugins put in their capabilities
 * (struct vv_codec_format), in one place: every plugin serves 8-bit 4:2:0,
 * so the lists differ only by a few profiles a decoder or an encoder adds.
 * Header-only: the FFmpeg and GStreamer plugins include it.
 */
#ifndef VV_CODEC_PROFILES_H
#define VV_CODEC_PROFILES_H

#include "../include/virtio_video.h"
#include "codec.h"

/* Profiles beyond the base list, for vv_codec_profiles(). */
#define VV_PROFILES_H264_EXTENDED	(1u << 0)	/* H.264 Extended (a decoder) */
#define VV_PROFILES_HEVC_STILL		(1u << 1)	/* HEVC Main Still Picture (a decoder) */
#define VV_PROFILES_VP8_ALL		(1u << 2)	/* VP8 profiles 1-3 after 0 */

static inline void vv_profiles_add(struct vv_codec_format *f, uint32_t profile)
{
	if (f->num_profiles < VV_CODEC_MAX_VALUES)
		f->profiles[f->num_profiles++] = profile;
}

/*
 * f->format's profiles, in this order: H.264 Baseline, Main, [Extended],
 * High and every level 1.0 .. 5.1; HEVC Main, [Main Still Picture]; VP8
 * profile 0, [1, 2, 3]; VP9 profile 0. The bracketed ones as EXTRA says.
 */
static inline void vv_codec_profiles(struct vv_codec_format *f, unsigned int extra)
{
	switch (f->format) {
	case VIRTIO_VIDEO_FORMAT_H264:
		vv_profiles_add(f, VIRTIO_VIDEO_PROFILE_H264_BASELINE);
		vv_profiles_add(f, VIRTIO_VIDEO_PROFILE_H264_MAIN);
		if (extra & VV_PROFILES_H264_EXTENDED)
			vv_profiles_add(f, VIRTIO_VIDEO_PROFILE_H264_EXTENDED);
		vv_profiles_add(f, VIRTIO_VIDEO_PROFILE_H264_HIGH);
		for (uint32_t l = VIRTIO_VIDEO_LEVEL_H264_MIN;
		     l <= VIRTIO_VIDEO_LEVEL_H264_MAX && f->num_levels < VV_CODEC_MAX_VALUES; l++)
			f->levels[f->num_levels++] = l;
		break;
	case VIRTIO_VIDEO_FORMAT_HEVC:
		vv_profiles_add(f, VIRTIO_VIDEO_PROFILE_HEVC_MAIN);
		if (extra & VV_PROFILES_HEVC_STILL)
			vv_profiles_add(f, VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE);
		break;
	case VIRTIO_VIDEO_FORMAT_VP8:
		vv_profiles_add(f, VIRTIO_VIDEO_PROFILE_VP8_PROFILE0);
		if (extra & VV_PROFILES_VP8_ALL)
			for (uint32_t p = VIRTIO_VIDEO_PROFILE_VP8_PROFILE0 + 1;
			     p <= VIRTIO_VIDEO_PROFILE_VP8_MAX; p++)
				vv_profiles_add(f, p);
		break;
	case VIRTIO_VIDEO_FORMAT_VP9:
		vv_profiles_add(f, VIRTIO_VIDEO_PROFILE_VP9_PROFILE0);
		break;
	}
}

#endif
