/*
 * vhost-user virtio-video device (virtio IDs 30 encoder, 31 decoder)
 *
 * Part of the virtio-video suite; added to QEMU's tree by qemu/apply.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QEMU_VHOST_USER_VIDEO_H
#define QEMU_VHOST_USER_VIDEO_H

#include "hw/virtio/vhost-user-base.h"

#define TYPE_VHOST_USER_VIDEO "vhost-user-video"
OBJECT_DECLARE_SIMPLE_TYPE(VHostUserVideo, VHOST_USER_VIDEO)

struct VHostUserVideo {
    VHostUserBase parent_obj;

    /* "decoder" (virtio ID 31, the default) or "encoder" (30) */
    char *device_type;
};

#endif /* QEMU_VHOST_USER_VIDEO_H */
