/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FFmpeg plugin's hardware device (ffmpeg_hw.c), shared by the decoder
 * (hwaccel, ffmpeg_plugin.c) and the encoder (NVENC, VA-API; ffmpeg_enc.c).
 */
#ifndef VV_FFMPEG_HW_H
#define VV_FFMPEG_HW_H

#include <libavutil/buffer.h>
#include <libavutil/hwcontext.h>
#include <libavutil/pixfmt.h>

/* The open device (NULL: none) and its type (AV_HWDEVICE_TYPE_NONE). */
extern AVBufferRef *ff_hw_device;
extern enum AVHWDeviceType ff_hw_type;

/*
 * hwaccel=NAME (NULL or "none": no device; "auto": the first of cuda, vaapi,
 * qsv, vdpau that opens) on device=DEVICE (NULL: libavutil's default).
 * A device that does not open is logged and leaves ff_hw_device NULL;
 * -1 only for an unknown NAME (logged).
 */
int ff_hw_open(const char *hwaccel, const char *device);
void ff_hw_close(void);
/* A frames context of SW_FORMAT pictures, WxH, on the device; NULL on failure (logged). */
AVBufferRef *ff_hw_frames(enum AVPixelFormat hw_format, enum AVPixelFormat sw_format, int w,
			  int h, int pool_size);

#endif
