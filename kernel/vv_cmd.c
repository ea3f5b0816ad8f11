// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: command builders. Every builder has the same
 * shape: allocate a request, fill it little endian, queue it.
 */
#include <linux/slab.h>
#include <linux/string.h>

#include "vv.h"

#define VV_HDR_RESP sizeof(struct virtio_video_cmd_hdr)

static struct vv_req *vv_cmd_new(u32 type, u32 sid, u32 cmd_len, u32 resp_len)
{
	struct virtio_video_cmd_hdr *hdr;
	struct vv_req *req;

	req = vv_req_new(cmd_len, resp_len);
	if (!req)
		return NULL;
	hdr = req->cmd;
	hdr->type = cpu_to_le32(type);
	hdr->stream_id = cpu_to_le32(sid);
	return req;
}

/* Send a command that expects OK_NODATA and wait for it. */
static int vv_cmd_nodata(struct vv_dev *dev, struct vv_req *req)
{
	int ret = vv_req_sync(dev, req, VIRTIO_VIDEO_RESP_OK_NODATA);

	vv_req_put(req);
	return ret;
}

int vv_cmd_query_caps(struct vv_dev *dev, u32 queue_type, struct vv_caps *caps)
{
	struct virtio_video_query_capability *cmd;
	struct vv_req *req;
	int ret;

	req = vv_cmd_new(VIRTIO_VIDEO_CMD_QUERY_CAPABILITY, 0, sizeof(*cmd),
			 dev->max_caps_len);
	if (!req)
		return -ENOMEM;
	cmd = req->cmd;
	cmd->queue_type = cpu_to_le32(queue_type);
	ret = vv_req_sync(dev, req, VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY);
	if (!ret)
		ret = vv_caps_parse(req->resp, req->resp_used, caps);
	vv_req_put(req);
	return ret;
}

int vv_cmd_stream_create(struct vv_dev *dev, u32 sid, u32 coded_fmt, u32 in_mem,
			 u32 out_mem)
{
	struct virtio_video_stream_create *cmd;
	struct vv_req *req;

	req = vv_cmd_new(VIRTIO_VIDEO_CMD_STREAM_CREATE, sid, sizeof(*cmd),
			 VV_HDR_RESP);
	if (!req)
		return -ENOMEM;
	cmd = req->cmd;
	cmd->in_mem_type = cpu_to_le32(in_mem);
	cmd->out_mem_type = cpu_to_le32(out_mem);
	cmd->coded_format = cpu_to_le32(coded_fmt);
	snprintf((char *)cmd->tag, sizeof(cmd->tag), "%s-%u", VV_DRV_NAME, sid);
	return vv_cmd_nodata(dev, req);
}

int vv_cmd_stream_destroy(struct vv_dev *dev, u32 sid)
{
	struct vv_req *req;

	req = vv_cmd_new(VIRTIO_VIDEO_CMD_STREAM_DESTROY, sid,
			 sizeof(struct virtio_video_stream_destroy), VV_HDR_RESP);
	if (!req)
		return -ENOMEM;
	return vv_cmd_nodata(dev, req);
}

/* Asynchronous: the device answers when the drain is over. */
int vv_cmd_stream_drain(struct vv_dev *dev, u32 sid, vv_resp_cb cb, void *priv,
			unsigned int seq)
{
	struct vv_req *req;
	int ret;

	req = vv_cmd_new(VIRTIO_VIDEO_CMD_STREAM_DRAIN, sid,
			 sizeof(struct virtio_video_stream_drain), VV_HDR_RESP);
	if (!req)
		return -ENOMEM;
	req->cb = cb;
	req->priv = priv;
	req->index = seq;
	ret = vv_req_send(dev, req);
	vv_req_put(req);
	return ret;
}

int vv_cmd_resource_create(struct vv_dev *dev, u32 sid, u32 queue_type, u32 rid,
			   u32 layout, unsigned int num_planes, const u32 *offsets,
			   const u32 *num_entries, const void *entries, size_t entries_len)
{
	struct virtio_video_resource_create *cmd;
	struct vv_req *req;
	unsigned int i;

	if (num_planes > VIRTIO_VIDEO_MAX_PLANES || entries_len > SZ_1M)
		return -EINVAL;
	req = vv_cmd_new(VIRTIO_VIDEO_CMD_RESOURCE_CREATE, sid,
			 sizeof(*cmd) + entries_len, VV_HDR_RESP);
	if (!req)
		return -ENOMEM;
	cmd = req->cmd;
	cmd->queue_type = cpu_to_le32(queue_type);
	cmd->resource_id = cpu_to_le32(rid);
	cmd->planes_layout = cpu_to_le32(layout);
	cmd->num_planes = cpu_to_le32(num_planes);
	for (i = 0; i < num_planes; i++) {
		cmd->plane_offsets[i] = cpu_to_le32(offsets[i]);
		cmd->num_entries[i] = cpu_to_le32(num_entries[i]);
	}
	memcpy(cmd + 1, entries, entries_len);
	return vv_cmd_nodata(dev, req);
}

/* Build (not send) a RESOURCE_QUEUE; the caller sets the callback. */
struct vv_req *vv_cmd_resource_queue_new(u32 sid, u32 queue_type, u32 rid, u64 ts,
					 unsigned int num_sizes, const u32 *sizes)
{
	struct virtio_video_resource_queue *cmd;
	struct vv_req *req;
	unsigned int i;

	if (num_sizes > VIRTIO_VIDEO_MAX_PLANES)
		return NULL;
	req = vv_cmd_new(VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, sid, sizeof(*cmd),
			 sizeof(struct virtio_video_resource_queue_resp));
	if (!req)
		return NULL;
	cmd = req->cmd;
	cmd->queue_type = cpu_to_le32(queue_type);
	cmd->resource_id = cpu_to_le32(rid);
	cmd->timestamp = cpu_to_le64(ts);
	cmd->num_data_sizes = cpu_to_le32(num_sizes);
	for (i = 0; i < num_sizes; i++)
		cmd->data_sizes[i] = cpu_to_le32(sizes[i]);
	return req;
}

int vv_cmd_queue_clear(struct vv_dev *dev, u32 sid, u32 queue_type)
{
	struct virtio_video_queue_clear *cmd;
	struct vv_req *req;

	req = vv_cmd_new(VIRTIO_VIDEO_CMD_QUEUE_CLEAR, sid, sizeof(*cmd),
			 VV_HDR_RESP);
	if (!req)
		return -ENOMEM;
	cmd = req->cmd;
	cmd->queue_type = cpu_to_le32(queue_type);
	return vv_cmd_nodata(dev, req);
}

int vv_cmd_resource_destroy_all(struct vv_dev *dev, u32 sid, u32 queue_type)
{
	struct virtio_video_resource_destroy_all *cmd;
	struct vv_req *req;

	req = vv_cmd_new(VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, sid,
			 sizeof(*cmd), VV_HDR_RESP);
	if (!req)
		return -ENOMEM;
	cmd = req->cmd;
	cmd->queue_type = cpu_to_le32(queue_type);
	return vv_cmd_nodata(dev, req);
}

/*
 * GET_PARAMS and crosvm's GET_PARAMS_EXT share the command layout and are
 * both answered with OK_GET_PARAMS, the latter with a longer struct. On
 * return *@ret is the status; the caller puts the request it got.
 */
static struct vv_req *vv_cmd_query_params(struct vv_dev *dev, u32 type,
					  u32 sid, u32 queue_type,
					  size_t resp_size, int *ret)
{
	struct virtio_video_get_params *cmd;
	struct vv_req *req;

	BUILD_BUG_ON(sizeof(struct virtio_video_get_params) !=
		     sizeof(struct virtio_video_get_params_ext));
	req = vv_cmd_new(type, sid, sizeof(*cmd), resp_size);
	if (!req) {
		*ret = -ENOMEM;
		return NULL;
	}
	cmd = req->cmd;
	cmd->queue_type = cpu_to_le32(queue_type);
	*ret = vv_req_sync(dev, req, VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
	if (!*ret)
		*ret = vv_resp_status(req, VIRTIO_VIDEO_RESP_OK_GET_PARAMS,
				      resp_size);
	return req;
}

int vv_cmd_get_params(struct vv_dev *dev, u32 sid, u32 queue_type,
		      struct virtio_video_params *params)
{
	struct virtio_video_get_params_resp *resp;
	struct vv_req *req;
	int ret;

	req = vv_cmd_query_params(dev, VIRTIO_VIDEO_CMD_GET_PARAMS, sid,
				  queue_type, sizeof(*resp), &ret);
	if (!req)
		return ret;
	if (!ret) {
		resp = req->resp;
		if (le32_to_cpu(resp->params.queue_type) != queue_type)
			ret = -EIO;
		else
			*params = resp->params;
	}
	vv_req_put(req);
	return ret;
}

/*
 * SET_PARAMS and crosvm's SET_PARAMS_EXT: the header, then the params
 * struct of @size bytes; answered with a bare header.
 */
static int vv_cmd_send_params(struct vv_dev *dev, u32 type, u32 sid,
			      const void *params, size_t size)
{
	struct vv_req *req;

	req = vv_cmd_new(type, sid, sizeof(struct virtio_video_cmd_hdr) + size,
			 VV_HDR_RESP);
	if (!req)
		return -ENOMEM;
	memcpy((u8 *)req->cmd + sizeof(struct virtio_video_cmd_hdr), params,
	       size);
	return vv_cmd_nodata(dev, req);
}

int vv_cmd_set_params(struct vv_dev *dev, u32 sid,
		      const struct virtio_video_params *params)
{
	BUILD_BUG_ON(offsetof(struct virtio_video_set_params, params) !=
		     sizeof(struct virtio_video_cmd_hdr));
	return vv_cmd_send_params(dev, VIRTIO_VIDEO_CMD_SET_PARAMS, sid,
				  params, sizeof(*params));
}

static bool vv_mem_type_valid(u32 mem_type)
{
	return mem_type == VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES ||
	       mem_type == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
}

/* crosvm's dialect: answered with OK_GET_PARAMS and the longer struct. */
int vv_cmd_get_params_ext(struct vv_dev *dev, u32 sid, u32 queue_type,
			  struct virtio_video_params_ext *params)
{
	struct virtio_video_get_params_ext_resp *resp;
	struct vv_req *req;
	int ret;

	req = vv_cmd_query_params(dev, VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, sid,
				  queue_type, sizeof(*resp), &ret);
	if (!req)
		return ret;
	if (!ret) {
		resp = req->resp;
		if (le32_to_cpu(resp->params.base.queue_type) != queue_type ||
		    !vv_mem_type_valid(le32_to_cpu(resp->params.resource_type)))
			ret = -EIO;
		else
			*params = resp->params;
	}
	vv_req_put(req);
	return ret;
}

int vv_cmd_set_params_ext(struct vv_dev *dev, u32 sid,
			  const struct virtio_video_params_ext *params)
{
	BUILD_BUG_ON(offsetof(struct virtio_video_set_params_ext, params) !=
		     sizeof(struct virtio_video_cmd_hdr));
	return vv_cmd_send_params(dev, VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, sid,
				  params, sizeof(*params));
}

/*
 * GET_PARAMS_EXT for stream 0, which no context ever uses: a device that
 * knows the command looks the stream up and answers ERR_INVALID_STREAM_ID;
 * one that does not answers as it does any unknown command. Leaves the
 * response type in @type.
 */
int vv_cmd_probe_params_ext(struct vv_dev *dev, u32 *type)
{
	const struct virtio_video_cmd_hdr *hdr;
	struct virtio_video_get_params_ext *cmd;
	struct vv_req *req;
	int ret;

	req = vv_cmd_new(VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, 0, sizeof(*cmd),
			 sizeof(struct virtio_video_get_params_ext_resp));
	if (!req)
		return -ENOMEM;
	cmd = req->cmd;
	cmd->queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
	ret = vv_req_sync(dev, req, VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
	hdr = req->resp;
	if (!req->err && req->resp_used >= sizeof(*hdr)) {
		*type = le32_to_cpu(hdr->type);
		ret = 0;
	} else if (!ret) {
		ret = -EIO;
	}
	vv_req_put(req);
	return ret;
}

/*
 * QUERY_CONTROL for a PROFILE or LEVEL control of coded @format: up to @max
 * values into @values, their count into @num. A device that answers with
 * more than it sent, or fewer bytes than the count, fails with -EIO.
 */
int vv_cmd_query_control(struct vv_dev *dev, u32 control, u32 format, u32 *values,
			 unsigned int max, unsigned int *num)
{
	struct virtio_video_query_control_resp_profile *list;
	struct virtio_video_query_control_profile *arg;
	struct virtio_video_query_control *cmd;
	const __le32 *v;
	struct vv_req *req;
	unsigned int i, n;
	size_t head;
	int ret;

	BUILD_BUG_ON(sizeof(struct virtio_video_query_control_profile) !=
		     sizeof(struct virtio_video_query_control_level));
	head = sizeof(struct virtio_video_query_control_resp) + sizeof(*list);
	req = vv_cmd_new(VIRTIO_VIDEO_CMD_QUERY_CONTROL, 0, sizeof(*cmd) + sizeof(*arg),
			 dev->max_resp_len);
	if (!req)
		return -ENOMEM;
	cmd = req->cmd;
	cmd->control = cpu_to_le32(control);
	arg = (void *)(cmd + 1);
	arg->format = cpu_to_le32(format);
	ret = vv_req_sync(dev, req, VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL);
	if (!ret)
		ret = vv_resp_status(req, VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL, head);
	if (!ret) {
		list = (void *)((u8 *)req->resp + sizeof(struct virtio_video_query_control_resp));
		n = le32_to_cpu(list->num);
		if (n > (req->resp_used - head) / sizeof(__le32)) {
			ret = -EIO;
		} else {
			v = (const __le32 *)(list + 1);
			*num = min(n, max);
			for (i = 0; i < *num; i++)
				values[i] = le32_to_cpu(v[i]);
		}
	}
	vv_req_put(req);
	return ret;
}

/* SET_CONTROL: the header, the control, 4 pad bytes and an 8-byte value. */
int vv_cmd_set_control(struct vv_dev *dev, u32 sid, u32 control, u32 value)
{
	struct virtio_video_set_control *cmd;
	struct virtio_video_control_val_bitrate *val;
	struct vv_req *req;

	req = vv_cmd_new(VIRTIO_VIDEO_CMD_SET_CONTROL, sid, sizeof(*cmd) + sizeof(*val),
			 VV_HDR_RESP);
	if (!req)
		return -ENOMEM;
	cmd = req->cmd;
	cmd->control = cpu_to_le32(control);
	val = (void *)(cmd + 1);
	val->bitrate = cpu_to_le32(value);
	return vv_cmd_nodata(dev, req);
}
