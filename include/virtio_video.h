/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * virtio-video wire protocol, "v3" numbering (the variant spoken by the
 * ChromeOS/AOSP guest driver and crosvm's device), plus the suite's own
 * feature-gated extensions (see docs/protocol.md).
 *
 * This one header is shared by the guest driver (kernel/) and the host
 * (host/, ffmpeg/, tests/). All multi-byte fields are little endian.
 */
#ifndef VIRTIO_VIDEO_H
#define VIRTIO_VIDEO_H

#include <linux/types.h>

#define VIRTIO_VIDEO_DEVICE_ID_ENCODER 30
#define VIRTIO_VIDEO_DEVICE_ID_DECODER 31

/* Virtqueues */
#define VIRTIO_VIDEO_QUEUE_COMMAND 0
#define VIRTIO_VIDEO_QUEUE_EVENT 1
#define VIRTIO_VIDEO_NUM_QUEUES 2

/* Feature bits */
#define VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES 0
#define VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG 1
#define VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT 2
/*
 * Suite extension: the memory type of a resource may be chosen per resource
 * at RESOURCE_CREATE (VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT or
 * _F_GUEST_PAGES), overriding the queue's memory type. A decoder learns the
 * CAPTURE memory only after decoding started; this lets it switch without
 * re-creating the stream.
 */
#define VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE 16
/*
 * Suite extension (encoder): the extension controls below
 * (VIRTIO_VIDEO_CONTROL_EXT_*) are answered by QUERY/GET/SET_CONTROL. Without
 * the feature they are unknown controls (ERR_UNSUPPORTED_CONTROL).
 */
#define VIRTIO_VIDEO_F_EXT_CONTROLS 17

#define VIRTIO_VIDEO_MAX_PLANES 8

/* Commands */
enum virtio_video_cmd_type {
	VIRTIO_VIDEO_CMD_QUERY_CAPABILITY = 0x0100,
	VIRTIO_VIDEO_CMD_STREAM_CREATE = 0x0101,
	VIRTIO_VIDEO_CMD_STREAM_DESTROY = 0x0102,
	VIRTIO_VIDEO_CMD_STREAM_DRAIN = 0x0103,
	VIRTIO_VIDEO_CMD_RESOURCE_CREATE = 0x0104,
	VIRTIO_VIDEO_CMD_RESOURCE_QUEUE = 0x0105,
	VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL = 0x0106,
	VIRTIO_VIDEO_CMD_QUEUE_CLEAR = 0x0107,
	VIRTIO_VIDEO_CMD_GET_PARAMS = 0x0108,
	VIRTIO_VIDEO_CMD_SET_PARAMS = 0x0109,
	VIRTIO_VIDEO_CMD_QUERY_CONTROL = 0x010A,
	VIRTIO_VIDEO_CMD_GET_CONTROL = 0x010B,
	VIRTIO_VIDEO_CMD_SET_CONTROL = 0x010C,
	/*
	 * crosvm's dialect (also spoken by the ChromeOS/Android guest driver):
	 * GET/SET_PARAMS plus the queue's memory type, see params_ext below.
	 * GET_PARAMS_EXT is answered with RESP_OK_GET_PARAMS.
	 */
	VIRTIO_VIDEO_CMD_GET_PARAMS_EXT = 0x010D,
	VIRTIO_VIDEO_CMD_SET_PARAMS_EXT = 0x010E,

	/* Responses */
	VIRTIO_VIDEO_RESP_OK_NODATA = 0x0200,
	VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY = 0x0201,
	VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE = 0x0202,
	VIRTIO_VIDEO_RESP_OK_GET_PARAMS = 0x0203,
	VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL = 0x0204,
	VIRTIO_VIDEO_RESP_OK_GET_CONTROL = 0x0205,

	VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION = 0x0300,
	VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY = 0x0301,
	VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID = 0x0302,
	VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID = 0x0303,
	VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER = 0x0304,
	VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL = 0x0305,
};

enum virtio_video_queue_type {
	VIRTIO_VIDEO_QUEUE_TYPE_INPUT = 0x100,
	VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT = 0x101,
};

enum virtio_video_mem_type {
	VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES = 0,
	VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT = 1,
};

enum virtio_video_format {
	/* Raw formats */
	VIRTIO_VIDEO_FORMAT_RAW_MIN = 1,
	VIRTIO_VIDEO_FORMAT_ARGB8888 = VIRTIO_VIDEO_FORMAT_RAW_MIN,
	VIRTIO_VIDEO_FORMAT_BGRA8888 = 2,
	VIRTIO_VIDEO_FORMAT_NV12 = 3,
	VIRTIO_VIDEO_FORMAT_YUV420 = 4,
	VIRTIO_VIDEO_FORMAT_YVU420 = 5,
	VIRTIO_VIDEO_FORMAT_RAW_MAX = VIRTIO_VIDEO_FORMAT_YVU420,

	/* Coded formats */
	VIRTIO_VIDEO_FORMAT_CODED_MIN = 0x1000,
	VIRTIO_VIDEO_FORMAT_MPEG2 = VIRTIO_VIDEO_FORMAT_CODED_MIN,
	VIRTIO_VIDEO_FORMAT_MPEG4 = 0x1001,
	VIRTIO_VIDEO_FORMAT_H264 = 0x1002,
	VIRTIO_VIDEO_FORMAT_HEVC = 0x1003,
	VIRTIO_VIDEO_FORMAT_VP8 = 0x1004,
	VIRTIO_VIDEO_FORMAT_VP9 = 0x1005,
	VIRTIO_VIDEO_FORMAT_CODED_MAX = VIRTIO_VIDEO_FORMAT_VP9,
};

enum virtio_video_profile {
	VIRTIO_VIDEO_PROFILE_H264_MIN = 0x100,
	VIRTIO_VIDEO_PROFILE_H264_BASELINE = VIRTIO_VIDEO_PROFILE_H264_MIN,
	VIRTIO_VIDEO_PROFILE_H264_MAIN = 0x101,
	VIRTIO_VIDEO_PROFILE_H264_EXTENDED = 0x102,
	VIRTIO_VIDEO_PROFILE_H264_HIGH = 0x103,
	VIRTIO_VIDEO_PROFILE_H264_HIGH10PROFILE = 0x104,
	VIRTIO_VIDEO_PROFILE_H264_HIGH422PROFILE = 0x105,
	VIRTIO_VIDEO_PROFILE_H264_HIGH444PREDICTIVEPROFILE = 0x106,
	VIRTIO_VIDEO_PROFILE_H264_SCALABLEBASELINE = 0x107,
	VIRTIO_VIDEO_PROFILE_H264_SCALABLEHIGH = 0x108,
	VIRTIO_VIDEO_PROFILE_H264_STEREOHIGH = 0x109,
	VIRTIO_VIDEO_PROFILE_H264_MULTIVIEWHIGH = 0x10A,
	VIRTIO_VIDEO_PROFILE_H264_MAX = VIRTIO_VIDEO_PROFILE_H264_MULTIVIEWHIGH,

	VIRTIO_VIDEO_PROFILE_HEVC_MIN = 0x200,
	VIRTIO_VIDEO_PROFILE_HEVC_MAIN = VIRTIO_VIDEO_PROFILE_HEVC_MIN,
	VIRTIO_VIDEO_PROFILE_HEVC_MAIN10 = 0x201,
	VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE = 0x202,
	VIRTIO_VIDEO_PROFILE_HEVC_MAX = VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE,

	VIRTIO_VIDEO_PROFILE_VP8_MIN = 0x300,
	VIRTIO_VIDEO_PROFILE_VP8_PROFILE0 = VIRTIO_VIDEO_PROFILE_VP8_MIN,
	VIRTIO_VIDEO_PROFILE_VP8_PROFILE1 = 0x301,
	VIRTIO_VIDEO_PROFILE_VP8_PROFILE2 = 0x302,
	VIRTIO_VIDEO_PROFILE_VP8_PROFILE3 = 0x303,
	VIRTIO_VIDEO_PROFILE_VP8_MAX = VIRTIO_VIDEO_PROFILE_VP8_PROFILE3,

	VIRTIO_VIDEO_PROFILE_VP9_MIN = 0x400,
	VIRTIO_VIDEO_PROFILE_VP9_PROFILE0 = VIRTIO_VIDEO_PROFILE_VP9_MIN,
	VIRTIO_VIDEO_PROFILE_VP9_PROFILE1 = 0x401,
	VIRTIO_VIDEO_PROFILE_VP9_PROFILE2 = 0x402,
	VIRTIO_VIDEO_PROFILE_VP9_PROFILE3 = 0x403,
	VIRTIO_VIDEO_PROFILE_VP9_MAX = VIRTIO_VIDEO_PROFILE_VP9_PROFILE3,
};

enum virtio_video_level {
	VIRTIO_VIDEO_LEVEL_H264_MIN = 0x100,
	VIRTIO_VIDEO_LEVEL_H264_1_0 = VIRTIO_VIDEO_LEVEL_H264_MIN,
	VIRTIO_VIDEO_LEVEL_H264_1_1 = 0x101,
	VIRTIO_VIDEO_LEVEL_H264_1_2 = 0x102,
	VIRTIO_VIDEO_LEVEL_H264_1_3 = 0x103,
	VIRTIO_VIDEO_LEVEL_H264_2_0 = 0x104,
	VIRTIO_VIDEO_LEVEL_H264_2_1 = 0x105,
	VIRTIO_VIDEO_LEVEL_H264_2_2 = 0x106,
	VIRTIO_VIDEO_LEVEL_H264_3_0 = 0x107,
	VIRTIO_VIDEO_LEVEL_H264_3_1 = 0x108,
	VIRTIO_VIDEO_LEVEL_H264_3_2 = 0x109,
	VIRTIO_VIDEO_LEVEL_H264_4_0 = 0x10A,
	VIRTIO_VIDEO_LEVEL_H264_4_1 = 0x10B,
	VIRTIO_VIDEO_LEVEL_H264_4_2 = 0x10C,
	VIRTIO_VIDEO_LEVEL_H264_5_0 = 0x10D,
	VIRTIO_VIDEO_LEVEL_H264_5_1 = 0x10E,
	VIRTIO_VIDEO_LEVEL_H264_MAX = VIRTIO_VIDEO_LEVEL_H264_5_1,
};

/* Device configuration space */
struct virtio_video_config {
	__le32 version;
	__le32 max_caps_length;
	__le32 max_resp_length;
};

/* Common header of every command and response */
struct virtio_video_cmd_hdr {
	__le32 type;
	__le32 stream_id;
};

/* QUERY_CAPABILITY */
struct virtio_video_query_capability {
	struct virtio_video_cmd_hdr hdr;
	__le32 queue_type;
	__u8 padding[4];
};

struct virtio_video_format_range {
	__le32 min;
	__le32 max;
	__le32 step;
	__u8 padding[4];
};

struct virtio_video_format_frame {
	struct virtio_video_format_range width;
	struct virtio_video_format_range height;
	__le32 num_rates;
	__u8 padding[4];
	/* Followed by struct virtio_video_format_range frame_rates[num_rates] */
};

struct virtio_video_format_desc {
	__le64 mask;
	__le32 format;
	__le32 planes_layout;
	__le32 plane_align;
	__le32 num_frames;
	/* Followed by struct virtio_video_format_frame frames[num_frames] */
};

struct virtio_video_query_capability_resp {
	struct virtio_video_cmd_hdr hdr;
	__le32 num_descs;
	__u8 padding[4];
	/* Followed by struct virtio_video_format_desc descs[num_descs] */
};

/* STREAM_CREATE */
struct virtio_video_stream_create {
	struct virtio_video_cmd_hdr hdr;
	__le32 in_mem_type;
	__le32 out_mem_type;
	__le32 coded_format;
	__u8 padding[4];
	__u8 tag[64];
};

/* STREAM_DESTROY, STREAM_DRAIN */
struct virtio_video_stream_destroy {
	struct virtio_video_cmd_hdr hdr;
};

struct virtio_video_stream_drain {
	struct virtio_video_cmd_hdr hdr;
};

/* RESOURCE_CREATE */
struct virtio_video_mem_entry {
	__le64 addr;
	__le32 length;
	__u8 padding[4];
};

struct virtio_video_object_entry {
	__u8 uuid[16];
};

#define VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER (1 << 0)
#define VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE (1 << 1)
/*
 * Suite extension, only with VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE: the
 * entries of this one resource are virtio objects (bit 31) or guest pages
 * (bit 30), whatever the queue's current memory type. With neither bit the
 * entries are read in the queue's current memory type (STREAM_CREATE's
 * in/out_mem_type, changed by SET_PARAMS_EXT). Both bits at once, or either
 * without the feature, is ERR_INVALID_PARAMETER.
 */
#define VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT (1u << 31)
#define VIRTIO_VIDEO_PLANES_LAYOUT_F_GUEST_PAGES (1u << 30)
#define VIRTIO_VIDEO_PLANES_LAYOUT_F_MEM_TYPE_MASK \
	(VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT | \
	 VIRTIO_VIDEO_PLANES_LAYOUT_F_GUEST_PAGES)

struct virtio_video_resource_create {
	struct virtio_video_cmd_hdr hdr;
	__le32 queue_type;
	__le32 resource_id;
	__le32 planes_layout;
	__le32 num_planes;
	__le32 plane_offsets[VIRTIO_VIDEO_MAX_PLANES];
	__le32 num_entries[VIRTIO_VIDEO_MAX_PLANES];
	/*
	 * Followed by sum(num_entries) struct virtio_video_mem_entry for guest
	 * pages, or by struct virtio_video_object_entry for virtio objects.
	 */
};

/* RESOURCE_QUEUE */
struct virtio_video_resource_queue {
	struct virtio_video_cmd_hdr hdr;
	__le32 queue_type;
	__le32 resource_id;
	__le64 timestamp;
	__le32 num_data_sizes;
	__le32 data_sizes[VIRTIO_VIDEO_MAX_PLANES];
	__u8 padding[4];
};

#define VIRTIO_VIDEO_BUFFER_FLAG_ERR (1 << 0)
#define VIRTIO_VIDEO_BUFFER_FLAG_EOS (1 << 1)
/* Encoder only */
#define VIRTIO_VIDEO_BUFFER_FLAG_IFRAME (1 << 2)
#define VIRTIO_VIDEO_BUFFER_FLAG_PFRAME (1 << 3)
#define VIRTIO_VIDEO_BUFFER_FLAG_BFRAME (1 << 4)

struct virtio_video_resource_queue_resp {
	struct virtio_video_cmd_hdr hdr;
	__le64 timestamp;
	__le32 flags;
	__le32 size; /* Encoded size */
};

/* RESOURCE_DESTROY_ALL, QUEUE_CLEAR */
struct virtio_video_resource_destroy_all {
	struct virtio_video_cmd_hdr hdr;
	__le32 queue_type;
	__u8 padding[4];
};

struct virtio_video_queue_clear {
	struct virtio_video_cmd_hdr hdr;
	__le32 queue_type;
	__u8 padding[4];
};

/* GET_PARAMS, SET_PARAMS */
struct virtio_video_plane_format {
	__le32 plane_size;
	__le32 stride;
};

struct virtio_video_crop {
	__le32 left;
	__le32 top;
	__le32 width;
	__le32 height;
};

struct virtio_video_params {
	__le32 queue_type;
	__le32 format;
	__le32 frame_width;
	__le32 frame_height;
	__le32 min_buffers;
	__le32 max_buffers;
	struct virtio_video_crop crop;
	__le32 frame_rate;
	__le32 num_planes;
	struct virtio_video_plane_format plane_formats[VIRTIO_VIDEO_MAX_PLANES];
};

struct virtio_video_get_params {
	struct virtio_video_cmd_hdr hdr;
	__le32 queue_type;
	__u8 padding[4];
};

struct virtio_video_get_params_resp {
	struct virtio_video_cmd_hdr hdr;
	struct virtio_video_params params;
};

struct virtio_video_set_params {
	struct virtio_video_cmd_hdr hdr;
	struct virtio_video_params params;
};

/*
 * GET_PARAMS_EXT, SET_PARAMS_EXT (crosvm): the v3 params followed by the
 * queue's memory type. SET_PARAMS_EXT takes the queue from
 * params.base.queue_type; resource_type may change only while the queue has
 * no resources.
 */
struct virtio_video_params_ext {
	struct virtio_video_params base;
	__le32 resource_type; /* VIRTIO_VIDEO_MEM_TYPE_* */
	__u8 padding[4];
};

struct virtio_video_get_params_ext {
	struct virtio_video_cmd_hdr hdr;
	__le32 queue_type;
	__u8 padding[4];
};

struct virtio_video_get_params_ext_resp {
	struct virtio_video_cmd_hdr hdr; /* type RESP_OK_GET_PARAMS */
	struct virtio_video_params_ext params;
};

struct virtio_video_set_params_ext {
	struct virtio_video_cmd_hdr hdr;
	struct virtio_video_params_ext params;
};

/* Controls */
enum virtio_video_control_type {
	VIRTIO_VIDEO_CONTROL_BITRATE = 1,
	VIRTIO_VIDEO_CONTROL_PROFILE = 2,
	VIRTIO_VIDEO_CONTROL_LEVEL = 3,
	VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME = 4,
	VIRTIO_VIDEO_CONTROL_BITRATE_MODE = 5,
	VIRTIO_VIDEO_CONTROL_BITRATE_PEAK = 6,
	VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR = 7,
	/*
	 * Suite extensions, behind VIRTIO_VIDEO_F_EXT_CONTROLS. GOP_SIZE: frames
	 * from one keyframe to the next (V4L2_CID_MPEG_VIDEO_GOP_SIZE); 0 means
	 * the encoder's default. Value: struct virtio_video_control_val_gop_size.
	 */
	VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE = 0x1000,
};

enum virtio_video_bitrate_mode {
	VIRTIO_VIDEO_BITRATE_MODE_VBR = 0,
	VIRTIO_VIDEO_BITRATE_MODE_CBR = 1,
};

struct virtio_video_query_control_profile {
	__le32 format; /* VIRTIO_VIDEO_FORMAT_* */
	__u8 padding[4];
};

struct virtio_video_query_control_level {
	__le32 format; /* VIRTIO_VIDEO_FORMAT_* */
	__u8 padding[4];
};

struct virtio_video_query_control {
	struct virtio_video_cmd_hdr hdr;
	__le32 control;
	__u8 padding[4];
	/* Followed by a struct virtio_video_query_control_{profile,level} */
};

struct virtio_video_query_control_resp_profile {
	__le32 num;
	__u8 padding[4];
	/* Followed by an array of enum virtio_video_profile */
};

struct virtio_video_query_control_resp_level {
	__le32 num;
	__u8 padding[4];
	/* Followed by an array of enum virtio_video_level */
};

struct virtio_video_query_control_resp {
	struct virtio_video_cmd_hdr hdr;
	/* Followed by a struct virtio_video_query_control_resp_{profile,level} */
};

struct virtio_video_get_control {
	struct virtio_video_cmd_hdr hdr;
	__le32 control;
	__u8 padding[4];
};

struct virtio_video_control_val_bitrate {
	__le32 bitrate;
	__u8 padding[4];
};

struct virtio_video_control_val_profile {
	__le32 profile;
	__u8 padding[4];
};

struct virtio_video_control_val_level {
	__le32 level;
	__u8 padding[4];
};

struct virtio_video_control_val_bitrate_mode {
	__le32 bitrate_mode; /* enum virtio_video_bitrate_mode */
	__u8 padding[4];
};

struct virtio_video_control_val_bitrate_peak {
	__le32 bitrate_peak;
	__u8 padding[4];
};

/* FORCE_KEYFRAME (SET_CONTROL only): the value is ignored, the next frame is a keyframe. */
struct virtio_video_control_val_force_keyframe {
	__le32 force_keyframe;
	__u8 padding[4];
};

struct virtio_video_control_val_prepend_spspps_to_idr {
	__le32 prepend_spspps_to_idr; /* 0 or 1 */
	__u8 padding[4];
};

struct virtio_video_control_val_gop_size {
	__le32 gop_size;
	__u8 padding[4];
};

struct virtio_video_get_control_resp {
	struct virtio_video_cmd_hdr hdr;
	/* Followed by a struct virtio_video_control_val_* */
};

struct virtio_video_set_control {
	struct virtio_video_cmd_hdr hdr;
	__le32 control;
	__u8 padding[4];
	/* Followed by a struct virtio_video_control_val_* */
};

struct virtio_video_set_control_resp {
	struct virtio_video_cmd_hdr hdr;
};

/* Events (event queue; the guest posts device-writable buffers) */
enum virtio_video_event_type {
	VIRTIO_VIDEO_EVENT_ERROR = 0x0100,
	VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED = 0x0200,
};

struct virtio_video_event {
	__le32 event_type;
	__le32 stream_id;
};

/* Wire layout checks: both sides must agree byte for byte. */
#define VIRTIO_VIDEO_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), #type " size")

VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_config, 12);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_cmd_hdr, 8);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_query_capability, 16);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_format_range, 16);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_format_frame, 40);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_format_desc, 24);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_query_capability_resp, 16);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_stream_create, 88);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_mem_entry, 16);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_object_entry, 16);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_resource_create, 88);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_resource_queue, 64);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_resource_queue_resp, 24);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_resource_destroy_all, 16);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_queue_clear, 16);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_params, 112);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_get_params_resp, 120);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_set_params, 120);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_params_ext, 120);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_get_params_ext, 16);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_get_params_ext_resp, 128);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_set_params_ext, 128);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_event, 8);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_get_control, 16);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_set_control, 16);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_control_val_bitrate, 8);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_control_val_bitrate_mode, 8);
VIRTIO_VIDEO_ASSERT_SIZE(virtio_video_control_val_gop_size, 8);

#endif /* VIRTIO_VIDEO_H */
