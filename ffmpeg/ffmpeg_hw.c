// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FFmpeg plugin's hardware device: the hwaccel= and device= options
 * become one libavutil device (av_hwdevice_ctx_create) that every decoder
 * and encoder of the plugin shares. A device that cannot be opened is
 * logged; the callers then say what they do instead (software).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>

#include "ffmpeg_hw.h"

AVBufferRef *ff_hw_device;
enum AVHWDeviceType ff_hw_type = AV_HWDEVICE_TYPE_NONE;

/* The hwaccel names we take, in the order "auto" tries them (decoding APIs). */
static const struct {
	const char *name;
	enum AVHWDeviceType type;
} hw_types[] = {
	{ "cuda", AV_HWDEVICE_TYPE_CUDA },
	{ "vaapi", AV_HWDEVICE_TYPE_VAAPI },
	{ "qsv", AV_HWDEVICE_TYPE_QSV },
	{ "vdpau", AV_HWDEVICE_TYPE_VDPAU },
	{ "drm", AV_HWDEVICE_TYPE_DRM },
};
#define NUM_HW_TYPES (sizeof(hw_types) / sizeof(hw_types[0]))

static bool open_device(enum AVHWDeviceType type, const char *device)
{
	char reason[128];
	int ret = av_hwdevice_ctx_create(&ff_hw_device, type, device, NULL, 0);

	if (ret >= 0) {
		ff_hw_type = type;
		return true;
	}
	av_strerror(ret, reason, sizeof(reason));
	fprintf(stderr, "vv-ffmpeg: cannot open %s device%s%s: %s\n",
		av_hwdevice_get_type_name(type), device ? " " : "", device ? device : "", reason);
	return false;
}

int ff_hw_open(const char *hwaccel, const char *device)
{
	size_t i;

	if (hwaccel && !strcmp(hwaccel, "auto")) {
		/* drm is no decoding API of its own: not tried. */
		for (i = 0; i < NUM_HW_TYPES - 1 && !ff_hw_device; i++)
			if (av_hwdevice_find_type_by_name(hw_types[i].name) != AV_HWDEVICE_TYPE_NONE)
				open_device(hw_types[i].type, device);
		return 0;
	}
	if (!hwaccel || !strcmp(hwaccel, "none")) {
		if (device)
			fprintf(stderr, "vv-ffmpeg: device=%s without a hwaccel: ignored\n", device);
		return 0;
	}
	for (i = 0; i < NUM_HW_TYPES; i++)
		if (!strcmp(hwaccel, hw_types[i].name))
			break;
	if (i == NUM_HW_TYPES) {
		fprintf(stderr, "vv-ffmpeg: unknown hwaccel '%s' (known: auto, none, cuda, "
			"vaapi, vdpau, drm, qsv)\n", hwaccel);
		return -1;
	}
	if (av_hwdevice_find_type_by_name(hwaccel) == AV_HWDEVICE_TYPE_NONE)
		fprintf(stderr, "vv-ffmpeg: this libavutil has no %s support\n", hwaccel);
	else
		open_device(hw_types[i].type, device);
	return 0;
}

void ff_hw_close(void)
{
	av_buffer_unref(&ff_hw_device);
	ff_hw_type = AV_HWDEVICE_TYPE_NONE;
}

AVBufferRef *ff_hw_frames(enum AVPixelFormat hw_format, enum AVPixelFormat sw_format, int w,
			  int h, int pool_size)
{
	AVBufferRef *ref = ff_hw_device ? av_hwframe_ctx_alloc(ff_hw_device) : NULL;
	AVHWFramesContext *fc;
	char reason[128];
	int ret;

	if (!ref)
		return NULL;
	fc = (AVHWFramesContext *)ref->data;
	fc->format = hw_format;
	fc->sw_format = sw_format;
	fc->width = w;
	fc->height = h;
	fc->initial_pool_size = pool_size;
	ret = av_hwframe_ctx_init(ref);
	if (ret < 0) {
		av_strerror(ret, reason, sizeof(reason));
		fprintf(stderr, "vv-ffmpeg: %s: no %dx%d frames: %s\n",
			av_hwdevice_get_type_name(ff_hw_type), w, h, reason);
		av_buffer_unref(&ref);
	}
	return ref;
}
