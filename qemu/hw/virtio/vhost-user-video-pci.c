/*
 * vhost-user virtio-video device, PCI glue ("vhost-user-video-pci")
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/vhost-user-video.h"
#include "hw/virtio/virtio-pci.h"

typedef struct VHostUserVideoPCI {
    VirtIOPCIProxy parent_obj;
    VHostUserVideo vdev;
} VHostUserVideoPCI;

#define TYPE_VHOST_USER_VIDEO_PCI "vhost-user-video-pci-base"

DECLARE_INSTANCE_CHECKER(VHostUserVideoPCI, VHOST_USER_VIDEO_PCI,
                         TYPE_VHOST_USER_VIDEO_PCI)

static void vu_video_pci_realize(VirtIOPCIProxy *vpci_dev, Error **errp)
{
    VHostUserVideoPCI *dev = VHOST_USER_VIDEO_PCI(vpci_dev);

    /* one vector per virtqueue plus one for config changes */
    vpci_dev->nvectors = 3;
    qdev_realize(DEVICE(&dev->vdev), BUS(&vpci_dev->bus), errp);
}

static void vu_video_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);

    k->realize = vu_video_pci_realize;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    pcidev_k->vendor_id = PCI_VENDOR_ID_REDHAT_QUMRANET;
    pcidev_k->device_id = 0; /* virtio-pci derives it from the virtio ID */
    pcidev_k->revision = 0x00;
    pcidev_k->class_id = PCI_CLASS_MULTIMEDIA_VIDEO;
}

static void vu_video_pci_instance_init(Object *obj)
{
    VHostUserVideoPCI *dev = VHOST_USER_VIDEO_PCI(obj);

    virtio_instance_init_common(obj, &dev->vdev, sizeof(dev->vdev),
                                TYPE_VHOST_USER_VIDEO);
}

static const VirtioPCIDeviceTypeInfo vu_video_pci_info = {
    .base_name = TYPE_VHOST_USER_VIDEO_PCI,
    .non_transitional_name = "vhost-user-video-pci",
    .instance_size = sizeof(VHostUserVideoPCI),
    .instance_init = vu_video_pci_instance_init,
    .class_init = vu_video_pci_class_init,
};

static void vu_video_pci_register(void)
{
    virtio_pci_types_register(&vu_video_pci_info);
}

type_init(vu_video_pci_register)
