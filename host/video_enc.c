// SPDX-License-Identifier: GPL-2.0-or-later
#include "video_internal.h"
static const struct vv_codec_role_caps *enc_caps(const struct vv_codec_caps *caps,
						 const struct vv_codec_ops *codec)
{
	return codec->encoder ? &caps->encoder : NULL;
}
const struct vv_role_ops vv_encoder_role = { .name = "encoder", .caps = enc_caps };
