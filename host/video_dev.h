/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-video device model, decoder (virtio ID 31) or encoder (30):
 * parses and validates every command, keeps streams and resources, drives a
 * codec plugin, posts events.
 * Behaviour is specified in docs/protocol.md.
 */
#ifndef VV_VIDEO_DEV_H
#define VV_VIDEO_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "vhost_user.h"

struct vv_video_dev;

struct vv_object_table;

enum vv_video_role {
	VV_ROLE_DECODER,
	VV_ROLE_ENCODER,
};

/*
 * objects: the table shared with a GPU device, or NULL when there is none.
 * NULL if the plugin cannot serve the role.
 */
struct vv_video_dev *vv_video_dev_new(const struct vv_codec_ops *codec,
				      struct vv_object_table *objects, enum vv_video_role role);
/* The virtio device ID the front-end must present (VIRTIO_VIDEO_DEVICE_ID_*). */
uint32_t vv_video_dev_id(const struct vv_video_dev *dev);
void vv_video_dev_free(struct vv_video_dev *dev);
struct vu_dev *vv_video_dev_vu(struct vv_video_dev *dev);
/*
 * crosvm's GET/SET_PARAMS_EXT (on by default). Off, they are answered like
 * any unknown command, as on a device without the dialect.
 */
void vv_video_dev_set_params_ext(struct vv_video_dev *dev, bool enabled);
/*
 * Offer VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE (on by default). Off, the
 * device is like crosvm's: planes_layout bits 30/31 are refused and a queue
 * takes one memory type at a time.
 */
void vv_video_dev_set_per_resource_mem(struct vv_video_dev *dev, bool enabled);

/*
 * Asynchronous codec plugins (vv_codec_ops.event_fd): the fds the main loop
 * polls for POLLIN now (at most max, into fds), and the call for one that
 * became readable. The set changes as streams come and go and fill up.
 */
unsigned int vv_video_dev_poll_fds(struct vv_video_dev *dev, int *fds, unsigned int max);
void vv_video_dev_fd_ready(struct vv_video_dev *dev, int fd);

#endif
