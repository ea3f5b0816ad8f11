/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-video guest driver: shared definitions.
 *
 * Layers: vv_drv (probe, features, virtqueues, the role chosen from the
 * virtio device ID), vv_vq (request objects, token replies, event refill),
 * vv_cmd (one builder per command), vv_caps (bounds-checked capability
 * parsing), vv_fmt (mapping tables and layouts), vv_m2m (vb2 queues,
 * resources, buffer traffic, drain), vv_v4l2 (file operations and the
 * ioctls both roles share), and one file per role behind struct vv_role:
 * vv_dec (the V4L2 stateful decoder) and vv_enc (the stateful encoder).
 */
#ifndef VV_H
#define VV_H

#include <linux/kref.h>
#include <linux/idr.h>
#include <linux/virtio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <media/media-device.h>
#include <media/v4l2-ctrls.h>
#include <media/v4l2-device.h>
#include <media/v4l2-fh.h>
#include <media/v4l2-mem2mem.h>
#include <media/videobuf2-v4l2.h>

#include "virtio_video.h"

#define VV_DRV_NAME "virtio_video"

#define VV_MAX_DESCS 32		/* capability descriptors per queue */
#define VV_MAX_RES 64		/* device resources per queue and stream */
#define VV_NUM_EVENTS 32	/* event buffers posted to the device */
#define VV_MAX_STREAMS 256	/* stream IDs are 1..255 */
#define VV_MAX_DIM 16384

/*
 * Index of a queue in per-queue arrays: the V4L2 OUTPUT queue (the device's
 * INPUT queue: bitstream to a decoder, frames to an encoder) and the V4L2
 * CAPTURE queue (the device's OUTPUT queue).
 */
enum vv_q {
	VV_Q_SRC = 0,
	VV_Q_DST = 1,
};

struct vv_dev;
struct vv_req;

typedef void (*vv_resp_cb)(struct vv_dev *dev, struct vv_req *req);

/*
 * One command in flight. The request itself is the token handed to the
 * virtqueue, so a reply finds its request without an ID. The virtqueue holds
 * a reference until the device returns the buffer (or until the device is
 * reset), so a waiter that times out never frees memory the device may still
 * write.
 */
struct vv_req {
	struct kref ref;
	struct list_head node;		/* dev->inflight, under dev->vq_lock */
	struct completion done;
	void *cmd;
	u32 cmd_len;
	void *resp;
	u32 resp_len;
	u32 resp_used;
	int err;			/* -ENODEV when cancelled */
	vv_resp_cb cb;			/* async completion, runs in vq work */
	void *priv;
	unsigned int q;
	unsigned int index;
};

/* One capability descriptor (a format of one queue). */
struct vv_fmt {
	u32 vfmt;			/* VIRTIO_VIDEO_FORMAT_* */
	u32 fourcc;			/* 0: no V4L2 mapping, not offered */
	u64 mask;			/* compatible descs of the other queue */
	u32 planes_layout;
	u32 plane_align;
	u32 min_w, max_w, step_w;
	u32 min_h, max_h, step_h;
};

struct vv_caps {
	unsigned int num;
	struct vv_fmt fmts[VV_MAX_DESCS];
};

/* Byte layout of a raw frame in one V4L2 memory plane. */
struct vv_layout {
	u32 bpl;
	u32 sizeimage;
	unsigned int num_planes;
	u32 offset[3];
	u32 stride[3];
	u32 size[3];
};

struct vv_role;

struct vv_dev {
	struct virtio_device *vdev;
	const struct vv_role *role;
	struct v4l2_device v4l2_dev;
	struct video_device vfd;
	struct media_device mdev;
	struct v4l2_m2m_dev *m2m_dev;
	char bus_info[32];

	struct virtqueue *cmd_vq;
	struct virtqueue *evt_vq;
	/* Protects both virtqueues, the inflight list and the dead/broken flags. */
	spinlock_t vq_lock;
	struct list_head inflight;
	wait_queue_head_t space_wq;
	struct work_struct vq_work;
	struct delayed_work watchdog;	/* probes a device that went quiet */
	unsigned long last_reply;	/* jiffies of the last reply */
	struct virtio_video_event *events;
	bool dead;			/* removed: every command fails */
	bool broken;			/* timed out: every command fails */

	bool has_sg;			/* RESOURCE_NON_CONTIG */
	bool has_obj;			/* RESOURCE_VIRTIO_OBJECT */
	bool per_res;			/* PER_RESOURCE_MEM_TYPE */
	bool ext_ctrls;			/* EXT_CONTROLS (encoder: GOP size) */
	bool ext;			/* crosvm's GET/SET_PARAMS_EXT in use */
	bool single_planar;		/* the node takes the single-planar API */
	u32 max_caps_len;
	u32 max_resp_len;
	unsigned int timeout_ms;

	struct vv_caps in_caps;		/* formats of the device's INPUT queue */
	struct vv_caps out_caps;	/* formats of the device's OUTPUT queue */
	void *role_data;		/* what the role learnt at probe */

	/* Protects ctx_idr (stream ID -> context) for event dispatch. */
	spinlock_t ctx_lock;
	struct idr ctx_idr;
};

/* A device resource of one queue of a stream. */
struct vv_res {
	u32 id;
	u64 key[VIDEO_MAX_PLANES];	/* dma-buf inode numbers, 0 for MMAP */
};

struct vv_buf {
	struct v4l2_m2m_buffer m2m;	/* first: vb2 allocates vv_buf */
	int res;			/* index into the queue's resources, -1: none yet */
	u32 res_gen;			/* the queue's res_gen when @res was set */
};

static inline struct vv_buf *to_vv_buf(struct vb2_v4l2_buffer *vbuf)
{
	return container_of(vbuf, struct vv_buf, m2m.vb);
}

#define VV_NUM_META 64		/* OUTPUT buffers whose metadata is kept */

/* What a CAPTURE buffer inherits from the OUTPUT buffer with its timestamp. */
struct vv_meta {
	u64 timestamp;
	u32 flags;			/* V4L2_BUF_FLAG_TIMECODE | TSTAMP_SRC */
	struct v4l2_timecode timecode;
};

#define VV_EV_RES_CHANGED 0
#define VV_EV_ERROR 1

/*
 * Everything one V4L2 queue of a context has: its format and layout, the
 * device resources behind its buffers, and the buffers the device holds.
 * A bitstream queue has a one-plane layout of @layout.sizeimage bytes.
 */
struct vv_queue {
	const struct vv_fmt *fmt;
	u32 width, height;
	struct vv_layout layout;
	struct v4l2_rect crop;		/* the visible part of a frame queue */
	u32 min_bufs;			/* REQBUFS allocates at least this many */

	/* Device resources (under ctx->lock). */
	struct vv_res res[VV_MAX_RES];
	unsigned int n_res;
	u32 res_gen;			/* bumped when the device forgets them */

	/*
	 * Memory type with GET/SET_PARAMS_EXT (dev->ext): @mem is what the
	 * queue's buffers need (set at REQBUFS, or by the first DMABUF queued
	 * when @mem_fixed is false), @dev_mem what the device's queue has now
	 * (valid while the stream exists).
	 */
	u32 mem;
	bool mem_fixed;
	u32 dev_mem;

	/* Buffers the device owns (under ctx->slock). */
	struct vv_req *slot_req[VB2_MAX_FRAME];
	struct vb2_v4l2_buffer *slot_vb[VB2_MAX_FRAME];
	unsigned int n_slots;
	bool clearing;			/* QUEUE_CLEAR in progress */
	u32 sequence;			/* of the next buffer done */
};

/* Decoder state (vv_dec.c). */
struct vv_dec_ctx {
	struct v4l2_ctrl *min_cap_ctrl;
	u32 dev_min_stride;
	bool have_info;			/* the device reported a picture size */
	/*
	 * A resolution change took CAPTURE during the drain (its QUEUE_CLEAR
	 * cancels the device's drain): STREAM_DRAIN again once CAPTURE
	 * streams again (or DEC_CMD_START); ctx->draining stays set meanwhile.
	 */
	bool drain_resume;
	bool rc_pending;		/* SOURCE_CHANGE waits for the client's buffers */
	struct delayed_work rc_work;	/* SOURCE_CHANGE at the latest */
};

/* Encoder state (vv_enc.c). */
struct vv_enc_ctx {
	struct v4l2_ctrl *bitrate, *peak, *mode, *rc_enable, *gop, *prepend;
	struct v4l2_ctrl *profile[4], *level;	/* H.264, HEVC, VP8, VP9; H.264 */
	struct v4l2_fract frame_interval;
};

struct vv_ctx {
	struct v4l2_fh fh;
	struct vv_dev *dev;
	struct kref ref;		/* file + requests in flight */
	/* Serialises ioctls, vb2 queue operations and the event work. */
	struct mutex lock;
	struct v4l2_ctrl_handler hdl;
	u32 stream_id;
	bool stream_created;
	u32 stream_vfmt;
	u32 colorspace, xfer_func, ycbcr_enc, quantization;

	struct vv_queue q_data[2];

	/* State shared with the reply callbacks (under slock). */
	spinlock_t slock;
	bool draining;			/* STREAM_DRAIN sent, LAST not yet out */
	bool stopped;			/* drained, waiting for CMD_START */
	bool last_pending;		/* next CAPTURE buffer goes back empty, LAST */
	bool dst_wait;			/* CAPTURE buffers wait (decoder: for the new layout) */
	unsigned int cap_out;		/* CAPTURE buffers done and not queued again */
	bool requeue_dst;		/* cleared CAPTURE buffers go back to the ready list */
	bool error;
	wait_queue_head_t slot_wq;
	struct vv_meta meta[VV_NUM_META];
	unsigned int meta_next;
	u32 drain_seq;			/* bumped when a drain is aborted */

	unsigned long events;		/* VV_EV_* bits */
	struct work_struct event_work;
	bool closing;			/* under dev->ctx_lock */

	union {
		struct vv_dec_ctx dec;
		struct vv_enc_ctx enc;
	};
};

/*
 * What differs between the decoder and the encoder, chosen at probe from
 * the virtio device ID. Hooks run with ctx->lock held unless noted.
 */
struct vv_role {
	const char *name;		/* "decoder", "encoder" */
	const char *node_name;
	u32 media_function;
	bool coded_input;		/* the device's INPUT queue takes bitstream */
	const struct v4l2_ioctl_ops *ioctl_ops;		/* multi-planar */
	const struct v4l2_ioctl_ops *sp_ioctl_ops;	/* single-planar */
	int (*probe)(struct vv_dev *dev);		/* after the capabilities */
	void (*remove)(struct vv_dev *dev);
	int (*open)(struct vv_ctx *ctx);		/* formats and controls; no lock */
	void (*release)(struct vv_ctx *ctx);		/* before the m2m context goes; no lock */
	int (*start)(struct vv_ctx *ctx, unsigned int q);
	void (*stopped)(struct vv_ctx *ctx, unsigned int q);
	void (*dst_queued)(struct vv_ctx *ctx);		/* a CAPTURE buffer is ready */
	void (*res_changed)(struct vv_ctx *ctx);	/* DECODER_RESOLUTION_CHANGED */
};

extern const struct vv_role vv_dec_role;
extern const struct vv_role vv_enc_role;

static inline struct vv_ctx *file_to_ctx(struct file *file)
{
	return container_of(file->private_data, struct vv_ctx, fh);
}

static inline u32 vv_qtype(unsigned int q)
{
	return q == VV_Q_SRC ? VIRTIO_VIDEO_QUEUE_TYPE_INPUT :
			       VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
}

/* vv_vq.c */
struct vv_req *vv_req_new(u32 cmd_len, u32 resp_len);
void vv_req_put(struct vv_req *req);
int vv_req_send(struct vv_dev *dev, struct vv_req *req);
int vv_req_sync(struct vv_dev *dev, struct vv_req *req, u32 ok_type);
int vv_resp_status(struct vv_req *req, u32 ok_type, u32 min_len);
void vv_vq_work(struct work_struct *work);
void vv_vq_cmd_done(struct virtqueue *vq);
void vv_vq_evt_done(struct virtqueue *vq);
int vv_evt_fill(struct vv_dev *dev);
void vv_vq_cancel_all(struct vv_dev *dev);
void vv_dev_set_broken(struct vv_dev *dev);
void vv_dev_fail_contexts(struct vv_dev *dev);
void vv_watchdog(struct work_struct *work);

/* vv_cmd.c */
int vv_cmd_query_caps(struct vv_dev *dev, u32 queue_type, struct vv_caps *caps);
int vv_cmd_stream_create(struct vv_dev *dev, u32 sid, u32 coded_fmt, u32 in_mem,
			 u32 out_mem);
int vv_cmd_stream_destroy(struct vv_dev *dev, u32 sid);
int vv_cmd_stream_drain(struct vv_dev *dev, u32 sid, vv_resp_cb cb, void *priv,
			unsigned int seq);
int vv_cmd_resource_create(struct vv_dev *dev, u32 sid, u32 queue_type, u32 rid,
			   u32 layout, unsigned int num_planes, const u32 *offsets,
			   const u32 *num_entries, const void *entries, size_t entries_len);
struct vv_req *vv_cmd_resource_queue_new(u32 sid, u32 queue_type, u32 rid, u64 ts,
					 unsigned int num_sizes, const u32 *sizes);
int vv_cmd_queue_clear(struct vv_dev *dev, u32 sid, u32 queue_type);
int vv_cmd_resource_destroy_all(struct vv_dev *dev, u32 sid, u32 queue_type);
int vv_cmd_get_params(struct vv_dev *dev, u32 sid, u32 queue_type,
		      struct virtio_video_params *params);
int vv_cmd_set_params(struct vv_dev *dev, u32 sid,
		      const struct virtio_video_params *params);
int vv_cmd_get_params_ext(struct vv_dev *dev, u32 sid, u32 queue_type,
			  struct virtio_video_params_ext *params);
int vv_cmd_set_params_ext(struct vv_dev *dev, u32 sid,
			  const struct virtio_video_params_ext *params);
int vv_cmd_probe_params_ext(struct vv_dev *dev, u32 *type);
int vv_cmd_query_control(struct vv_dev *dev, u32 control, u32 format, u32 *values,
			 unsigned int max, unsigned int *num);
int vv_cmd_set_control(struct vv_dev *dev, u32 sid, u32 control, u32 value);

/* vv_caps.c */
int vv_caps_parse(const void *buf, size_t len, struct vv_caps *caps);

/* vv_fmt.c */
u32 vv_fmt_to_fourcc(u32 vfmt);
bool vv_fmt_is_continuous(u32 fourcc);
unsigned int vv_fmt_num_planes(u32 fourcc);
void vv_fmt_layout(u32 fourcc, u32 w, u32 h, u32 min_stride, u32 align,
		   struct vv_layout *l);
void vv_fmt_layout_coded(u32 sizeimage, struct vv_layout *l);
const struct vv_fmt *vv_caps_find(const struct vv_caps *caps, u32 fourcc);
bool vv_fmt_compatible(const struct vv_dev *dev, const struct vv_fmt *in,
		       const struct vv_fmt *out);
const struct vv_fmt *vv_first_out(const struct vv_dev *dev, const struct vv_fmt *in);
const struct vv_fmt *vv_first_in(const struct vv_dev *dev, const struct vv_fmt *out);

/* vv_m2m.c */
int vv_queue_init(void *priv, struct vb2_queue *src_vq, struct vb2_queue *dst_vq);
void vv_pump(struct vv_ctx *ctx);
int vv_clear_queue(struct vv_ctx *ctx, unsigned int q, bool requeue);
void vv_ctx_put(struct vv_ctx *ctx);
void vv_done(struct vv_ctx *ctx, struct vb2_v4l2_buffer *vbuf, enum vb2_buffer_state state);
void vv_return_all(struct vv_ctx *ctx, unsigned int q, enum vb2_buffer_state state);
int vv_ext_stream_created(struct vv_ctx *ctx, u32 mem_type);
int vv_ensure_stream(struct vv_ctx *ctx, u32 coded_vfmt);
void vv_set_error(struct vv_ctx *ctx);
void vv_mark_last(struct vv_ctx *ctx);
int vv_send_drain(struct vv_ctx *ctx);
void vv_drain_end(struct vv_ctx *ctx);

/* vv_v4l2.c */
extern const struct v4l2_file_operations vv_fops;
extern const struct v4l2_m2m_ops vv_m2m_ops;
int vv_querycap(struct file *file, void *priv, struct v4l2_capability *cap);
int vv_enum_framesizes(struct file *file, void *priv, struct v4l2_frmsizeenum *fsize);
int vv_subscribe_event(struct v4l2_fh *fh, const struct v4l2_event_subscription *sub);
u32 vv_clamp_dim(u32 v, u32 min, u32 max, u32 step);
void vv_fill_colorimetry(struct vv_ctx *ctx, struct v4l2_pix_format_mplane *pix);
int vv_sp_g_fmt_out(struct file *file, void *priv, struct v4l2_format *f);
int vv_sp_g_fmt_cap(struct file *file, void *priv, struct v4l2_format *f);
int vv_sp_try_fmt_out(struct file *file, void *priv, struct v4l2_format *f);
int vv_sp_try_fmt_cap(struct file *file, void *priv, struct v4l2_format *f);
int vv_sp_s_fmt_out(struct file *file, void *priv, struct v4l2_format *f);
int vv_sp_s_fmt_cap(struct file *file, void *priv, struct v4l2_format *f);

/* The ioctls both roles take from v4l2-mem2mem and the event core. */
#define VV_M2M_IOCTLS \
	.vidioc_reqbufs = v4l2_m2m_ioctl_reqbufs, \
	.vidioc_querybuf = v4l2_m2m_ioctl_querybuf, \
	.vidioc_qbuf = v4l2_m2m_ioctl_qbuf, \
	.vidioc_dqbuf = v4l2_m2m_ioctl_dqbuf, \
	.vidioc_prepare_buf = v4l2_m2m_ioctl_prepare_buf, \
	.vidioc_create_bufs = v4l2_m2m_ioctl_create_bufs, \
	.vidioc_expbuf = v4l2_m2m_ioctl_expbuf, \
	.vidioc_streamon = v4l2_m2m_ioctl_streamon, \
	.vidioc_streamoff = v4l2_m2m_ioctl_streamoff, \
	.vidioc_subscribe_event = vv_subscribe_event, \
	.vidioc_unsubscribe_event = v4l2_event_unsubscribe

/*
 * The single-planar format ioctls (module parameter single_planar): each
 * converts to the multi-planar format with one plane and calls the role's
 * multi-planar handler.
 */
#define VV_SP_FMT_IOCTLS \
	.vidioc_g_fmt_vid_out = vv_sp_g_fmt_out, \
	.vidioc_g_fmt_vid_cap = vv_sp_g_fmt_cap, \
	.vidioc_try_fmt_vid_out = vv_sp_try_fmt_out, \
	.vidioc_try_fmt_vid_cap = vv_sp_try_fmt_cap, \
	.vidioc_s_fmt_vid_out = vv_sp_s_fmt_out, \
	.vidioc_s_fmt_vid_cap = vv_sp_s_fmt_cap

#endif /* VV_H */
