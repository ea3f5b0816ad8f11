/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The FFmpeg plugin's encoder role (ffmpeg_enc.c), for ffmpeg_plugin.c. */
#ifndef VV_FFMPEG_ENC_H
#define VV_FFMPEG_ENC_H

#include "../host/codec.h"

extern const struct vv_encoder_ops ff_encoder_ops;
/* From the plugin's init(): the hwaccel option (NULL, "none", ...) and threads. */
int ff_encoder_init(const char *hwaccel, const char *device, int threads);
void ff_encoder_fini(void);
/* The encoders this libavcodec has. */
void ff_encoder_caps(struct vv_codec_role_caps *caps);

#endif
