/*
 * vhost-user virtio-video device
 *
 * A thin specialisation of vhost-user-base: the backend (the suite's
 * vhost-user-video daemon) implements the whole device; QEMU only sets up
 * two virtqueues (0 command, 1 event) and forwards the 12-byte config space
 * (version, max_caps_length, max_resp_length) with VHOST_USER_GET_CONFIG.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/virtio-bus.h"
#include "hw/virtio/vhost-user-video.h"
#include "standard-headers/linux/virtio_ids.h"

#define VU_VIDEO_NUM_VQS     2
#define VU_VIDEO_VQ_SIZE     256
#define VU_VIDEO_CONFIG_SIZE 12

static const VMStateDescription vu_video_vmstate = {
    .name = "vhost-user-video",
    .unmigratable = 1,
};

static const Property vu_video_properties[] = {
    DEFINE_PROP_CHR("chardev", VHostUserBase, chardev),
    DEFINE_PROP_STRING("device-type", VHostUserVideo, device_type),
};

static bool vu_video_virtio_id(const char *type, uint16_t *id, Error **errp)
{
    if (!type || !strcmp(type, "decoder")) {
        *id = VIRTIO_ID_VIDEO_DECODER;
    } else if (!strcmp(type, "encoder")) {
        *id = VIRTIO_ID_VIDEO_ENCODER;
    } else {
        error_setg(errp, "vhost-user-video: device-type must be 'decoder' "
                   "or 'encoder', not '%s'", type);
        return false;
    }
    return true;
}

static void vu_video_realize(DeviceState *dev, Error **errp)
{
    VHostUserVideo *vuv = VHOST_USER_VIDEO(dev);
    VHostUserBase *vub = VHOST_USER_BASE(dev);
    VHostUserBaseClass *vubc = VHOST_USER_BASE_GET_CLASS(dev);

    if (!vu_video_virtio_id(vuv->device_type, &vub->virtio_id, errp)) {
        return;
    }
    vub->num_vqs = VU_VIDEO_NUM_VQS;
    vub->vq_size = VU_VIDEO_VQ_SIZE;
    vub->config_size = VU_VIDEO_CONFIG_SIZE;

    vubc->parent_realize(dev, errp);
}

static void vu_video_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VHostUserBaseClass *vubc = VHOST_USER_BASE_CLASS(klass);

    dc->vmsd = &vu_video_vmstate;
    device_class_set_props(dc, vu_video_properties);
    device_class_set_parent_realize(dc, vu_video_realize,
                                    &vubc->parent_realize);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo vu_video_info = {
    .name = TYPE_VHOST_USER_VIDEO,
    .parent = TYPE_VHOST_USER_BASE,
    .instance_size = sizeof(VHostUserVideo),
    .class_init = vu_video_class_init,
};

static void vu_video_register_types(void)
{
    type_register_static(&vu_video_info);
}

type_init(vu_video_register_types)
