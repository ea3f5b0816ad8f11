/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A virtio-gpu 2D device served over vhost-user (QEMU's vhost-user-gpu-pci).
 * It keeps host copies of the guest's 2D resources, shows scanouts through
 * the vhost-user-gpu display socket, and assigns resource UUIDs in the object
 * table it shares with the video device.
 */
#ifndef VV_GPU_DEV_H
#define VV_GPU_DEV_H

#include <stdint.h>

#include "vhost_user.h"

struct vv_gpu_dev;
struct vv_object_table;

/*
 * objects: the UUID table shared with the video device (required); the
 * display mode offered to the guest (vv_display_size_valid()).
 */
struct vv_gpu_dev *vv_gpu_dev_new(struct vv_object_table *objects, uint32_t display_width,
				  uint32_t display_height);
void vv_gpu_dev_free(struct vv_gpu_dev *dev);
struct vu_dev *vv_gpu_dev_vu(struct vv_gpu_dev *dev);
/*
 * The front-end connection ended: logs its counters and closes the display
 * socket. Call after vu_detach().
 */
void vv_gpu_dev_connection_end(struct vv_gpu_dev *dev);

#endif
