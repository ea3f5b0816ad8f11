// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: probe, features, virtqueues, registration.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "vv.h"

static unsigned int timeout_ms = 5000;
module_param(timeout_ms, uint, 0444);
MODULE_PARM_DESC(timeout_ms, "how long a command may take before the device is declared broken");

static bool contig;
module_param(contig, bool, 0444);
MODULE_PARM_DESC(contig, "contiguous buffers (videobuf2-dma-contig) even if the device takes scatter lists");

static bool single_planar;
module_param(single_planar, bool, 0444);
MODULE_PARM_DESC(single_planar, "the video nodes take the single-planar API instead of the multi-planar one");

static bool params_ext = true;
module_param(params_ext, bool, 0444);
MODULE_PARM_DESC(params_ext, "use crosvm's GET/SET_PARAMS_EXT when the device answers them (0: plain v3)");

static int vv_init_vqs(struct vv_dev *dev)
{
	struct virtqueue *vqs[VIRTIO_VIDEO_NUM_QUEUES];
	int ret;
#ifdef VV_HAVE_VIRTQUEUE_INFO
	struct virtqueue_info info[VIRTIO_VIDEO_NUM_QUEUES] = {
		{ "command", vv_vq_cmd_done },
		{ "event", vv_vq_evt_done },
	};

	ret = virtio_find_vqs(dev->vdev, VIRTIO_VIDEO_NUM_QUEUES, vqs, info, NULL);
#else
	vq_callback_t *callbacks[VIRTIO_VIDEO_NUM_QUEUES] = {
		vv_vq_cmd_done, vv_vq_evt_done,
	};
	static const char * const names[VIRTIO_VIDEO_NUM_QUEUES] = {
		"command", "event",
	};

	ret = virtio_find_vqs(dev->vdev, VIRTIO_VIDEO_NUM_QUEUES, vqs, callbacks,
			      names, NULL);
#endif
	if (ret)
		return ret;
	dev->cmd_vq = vqs[VIRTIO_VIDEO_QUEUE_COMMAND];
	dev->evt_vq = vqs[VIRTIO_VIDEO_QUEUE_EVENT];
	return 0;
}

static void vv_read_config(struct vv_dev *dev)
{
	struct virtio_device *vdev = dev->vdev;
	u32 caps_len, resp_len;

	virtio_cread_le(vdev, struct virtio_video_config, max_caps_length, &caps_len);
	virtio_cread_le(vdev, struct virtio_video_config, max_resp_length, &resp_len);
	dev->max_caps_len = clamp_t(u32, caps_len ?: SZ_4K, SZ_1K, SZ_1M);
	dev->max_resp_len = clamp_t(u32, resp_len ?: SZ_4K, SZ_1K, SZ_1M);
}

/* Keep coded formats on the role's bitstream queue and raw ones on its frame queue. */
static void vv_caps_sanitize(struct vv_caps *caps, bool coded)
{
	unsigned int i;
	bool is_coded;

	for (i = 0; i < caps->num; i++) {
		is_coded = caps->fmts[i].vfmt >= VIRTIO_VIDEO_FORMAT_CODED_MIN;
		if (coded != is_coded)
			caps->fmts[i].fourcc = 0;
	}
}

/*
 * Virtio BGRA8888 is also offered as V4L2 XBGR32 (alpha ignored), which
 * GStreamer calls BGRx: what display planes take (kmssink on virtio_gpu).
 */
static void vv_caps_alias_xbgr(struct vv_dev *dev)
{
	struct vv_caps *out = &dev->out_caps;
	unsigned int i, j, n = out->num;

	for (i = 0; i < n && out->num < VV_MAX_DESCS; i++) {
		if (out->fmts[i].fourcc != V4L2_PIX_FMT_ABGR32)
			continue;
		out->fmts[out->num] = out->fmts[i];
		out->fmts[out->num].fourcc = V4L2_PIX_FMT_XBGR32;
		for (j = 0; j < dev->in_caps.num; j++)
			if (i < 64 && out->num < 64 &&
			    (dev->in_caps.fmts[j].mask & BIT_ULL(i)))
				dev->in_caps.fmts[j].mask |= BIT_ULL(out->num);
		out->num++;
	}
}

static int vv_query_caps(struct vv_dev *dev)
{
	int ret;

	ret = vv_cmd_query_caps(dev, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &dev->in_caps);
	if (ret)
		return ret;
	ret = vv_cmd_query_caps(dev, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &dev->out_caps);
	if (ret)
		return ret;
	vv_caps_sanitize(&dev->in_caps, dev->role->coded_input);
	vv_caps_sanitize(&dev->out_caps, !dev->role->coded_input);
	if (dev->role->coded_input)
		vv_caps_alias_xbgr(dev);
	return 0;
}

static bool vv_caps_usable(struct vv_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->in_caps.num; i++)
		if (dev->in_caps.fmts[i].fourcc &&
		    vv_first_out(dev, &dev->in_caps.fmts[i]))
			return true;
	return false;
}

/*
 * Does the device speak crosvm's GET/SET_PARAMS_EXT? Asked once at probe,
 * without creating a stream (the device would count and log it): see
 * vv_cmd_probe_params_ext(). Only a device that stopped answering fails.
 */
static int vv_detect_ext(struct vv_dev *dev)
{
	struct device *d = &dev->vdev->dev;
	u32 type = 0;
	int ret;

	if (!params_ext) {
		dev_info(d, "dialect: plain v3 (params_ext=0)\n");
		return 0;
	}
	ret = vv_cmd_probe_params_ext(dev, &type);
	if (dev->broken || dev->dead)
		return -EIO;
	dev->ext = !ret && type == VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID;
	if (dev->ext)
		dev_info(d, "dialect: crosvm params-ext (device answers GET/SET_PARAMS_EXT)\n");
	else
		dev_info(d, "dialect: plain v3 (GET_PARAMS_EXT answered 0x%x, %d)\n",
			 type, ret);
	return 0;
}

static ssize_t dialect_show(struct device *d, struct device_attribute *attr,
			    char *buf)
{
	struct vv_dev *dev = dev_to_virtio(d)->priv;

	return sysfs_emit(buf, "%s\n", dev && dev->ext ? "params-ext" : "v3");
}
static DEVICE_ATTR_RO(dialect);

static struct attribute *vv_attrs[] = {
	&dev_attr_dialect.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vv);

static void vv_dev_release(struct v4l2_device *v4l2_dev)
{
	struct vv_dev *dev = container_of(v4l2_dev, struct vv_dev, v4l2_dev);

	v4l2_device_unregister(&dev->v4l2_dev);
	v4l2_m2m_release(dev->m2m_dev);
	media_device_cleanup(&dev->mdev);
	if (dev->role->remove)
		dev->role->remove(dev);
	idr_destroy(&dev->ctx_idr);
	kfree(dev->events);
	kfree(dev);
}

static int vv_register_v4l2(struct vv_dev *dev)
{
	struct video_device *vfd = &dev->vfd;
	struct device *d = &dev->vdev->dev;
	int ret;

	ret = v4l2_device_register(d, &dev->v4l2_dev);
	if (ret)
		return ret;

	dev->m2m_dev = v4l2_m2m_init(&vv_m2m_ops);
	if (IS_ERR(dev->m2m_dev)) {
		ret = PTR_ERR(dev->m2m_dev);
		goto err_v4l2;
	}

	dev->mdev.dev = d;
	snprintf(dev->mdev.model, sizeof(dev->mdev.model), "virtio-video %s",
		 dev->role->name);
	strscpy(dev->mdev.bus_info, dev->bus_info, sizeof(dev->mdev.bus_info));
	media_device_init(&dev->mdev);
	dev->v4l2_dev.mdev = &dev->mdev;

	strscpy(vfd->name, dev->role->node_name, sizeof(vfd->name));
	vfd->fops = &vv_fops;
	vfd->ioctl_ops = dev->single_planar ? dev->role->sp_ioctl_ops : dev->role->ioctl_ops;
	vfd->release = video_device_release_empty;
	vfd->v4l2_dev = &dev->v4l2_dev;
	vfd->vfl_dir = VFL_DIR_M2M;
	vfd->device_caps = (dev->single_planar ? V4L2_CAP_VIDEO_M2M : V4L2_CAP_VIDEO_M2M_MPLANE) |
			   V4L2_CAP_STREAMING;
	video_set_drvdata(vfd, dev);

	ret = video_register_device(vfd, VFL_TYPE_VIDEO, -1);
	if (ret)
		goto err_mdev;
	ret = v4l2_m2m_register_media_controller(dev->m2m_dev, vfd,
						 dev->role->media_function);
	if (ret)
		goto err_vfd;
	ret = media_device_register(&dev->mdev);
	if (ret)
		goto err_mc;

	/* From here on the last reference frees everything. */
	dev->v4l2_dev.release = vv_dev_release;
	dev_info(d, "%s registered as %s\n", dev->role->name, video_device_node_name(vfd));
	return 0;

err_mc:
	v4l2_m2m_unregister_media_controller(dev->m2m_dev);
err_vfd:
	video_unregister_device(vfd);
err_mdev:
	media_device_cleanup(&dev->mdev);
	v4l2_m2m_release(dev->m2m_dev);
err_v4l2:
	v4l2_device_unregister(&dev->v4l2_dev);
	return ret;
}

static void vv_stop_device(struct vv_dev *dev)
{
	virtio_reset_device(dev->vdev);
	cancel_work_sync(&dev->vq_work);
	vv_vq_cancel_all(dev);
	cancel_delayed_work_sync(&dev->watchdog);
	dev->vdev->config->del_vqs(dev->vdev);
}

static int vv_probe(struct virtio_device *vdev)
{
	struct vv_dev *dev;
	int ret;

	if (!virtio_has_feature(vdev, VIRTIO_F_VERSION_1))
		return -ENODEV;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->events = kcalloc(VV_NUM_EVENTS, sizeof(*dev->events), GFP_KERNEL);
	if (!dev->events) {
		kfree(dev);
		return -ENOMEM;
	}
	dev->vdev = vdev;
	dev->role = vdev->id.device == VIRTIO_VIDEO_DEVICE_ID_ENCODER ? &vv_enc_role :
									&vv_dec_role;
	vdev->priv = dev;
	dev->timeout_ms = clamp_t(unsigned int, timeout_ms, 100, 600000);
	spin_lock_init(&dev->vq_lock);
	INIT_LIST_HEAD(&dev->inflight);
	init_waitqueue_head(&dev->space_wq);
	INIT_WORK(&dev->vq_work, vv_vq_work);
	INIT_DELAYED_WORK(&dev->watchdog, vv_watchdog);
	spin_lock_init(&dev->ctx_lock);
	idr_init(&dev->ctx_idr);
	snprintf(dev->bus_info, sizeof(dev->bus_info), "platform:%s", dev_name(&vdev->dev));

	dev->has_sg = virtio_has_feature(vdev, VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG) && !contig;
	dev->has_obj = virtio_has_feature(vdev, VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT);
	dev->per_res = virtio_has_feature(vdev, VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE);
	dev->ext_ctrls = virtio_has_feature(vdev, VIRTIO_VIDEO_F_EXT_CONTROLS);
	dev->single_planar = single_planar;
	if (!virtio_has_feature(vdev, VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES)) {
		dev_err(&vdev->dev, "device does not take guest pages\n");
		ret = -ENODEV;
		goto err_free;
	}
	vv_read_config(dev);

	ret = vv_init_vqs(dev);
	if (ret)
		goto err_free;
	virtio_device_ready(vdev);
	ret = vv_evt_fill(dev);
	if (ret)
		goto err_stop;

	ret = vv_query_caps(dev);
	if (ret) {
		dev_err(&vdev->dev, "cannot read capabilities: %d\n", ret);
		goto err_stop;
	}
	if (!vv_caps_usable(dev)) {
		dev_err(&vdev->dev, "no usable format\n");
		ret = -ENODEV;
		goto err_stop;
	}
	ret = vv_detect_ext(dev);
	if (ret)
		goto err_stop;
	if (dev->role->probe) {
		ret = dev->role->probe(dev);
		if (ret)
			goto err_stop;
	}

	ret = vv_register_v4l2(dev);
	if (ret)
		goto err_role;
	return 0;

err_role:
	if (dev->role->remove)
		dev->role->remove(dev);
err_stop:
	vv_stop_device(dev);
err_free:
	idr_destroy(&dev->ctx_idr);
	kfree(dev->events);
	kfree(dev);
	vdev->priv = NULL;
	return ret;
}

static void vv_remove(struct virtio_device *vdev)
{
	struct vv_dev *dev = vdev->priv;

	/* Nothing may be written into guest memory after this. */
	vv_stop_device(dev);
	vv_dev_fail_contexts(dev);

	media_device_unregister(&dev->mdev);
	v4l2_m2m_unregister_media_controller(dev->m2m_dev);
	video_unregister_device(&dev->vfd);
	v4l2_device_disconnect(&dev->v4l2_dev);
	v4l2_device_put(&dev->v4l2_dev);
}

static const struct virtio_device_id vv_id_table[] = {
	{ VIRTIO_VIDEO_DEVICE_ID_DECODER, VIRTIO_DEV_ANY_ID },
	{ VIRTIO_VIDEO_DEVICE_ID_ENCODER, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vv_id_table);

static const unsigned int vv_features[] = {
	VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES,
	VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG,
	VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT,
	VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE,
	VIRTIO_VIDEO_F_EXT_CONTROLS,
};

static struct virtio_driver vv_driver = {
	/* The module's name: a copy built under another name can load beside it. */
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.driver.dev_groups = vv_groups,
	.id_table = vv_id_table,
	.feature_table = vv_features,
	.feature_table_size = ARRAY_SIZE(vv_features),
	.probe = vv_probe,
	.remove = vv_remove,
};
module_virtio_driver(vv_driver);

MODULE_DESCRIPTION("virtio-video stateful decoder and encoder");
MODULE_AUTHOR("virtio-video suite");
MODULE_LICENSE("GPL");
