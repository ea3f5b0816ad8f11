// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * vv-hostile-enc: a misbehaving guest of the encoder device (vhost-user-video
 * --device encoder). Each case connects afresh, does wrong things and checks
 * every answer against docs/protocol.md ("Encoder"): unknown controls, values
 * out of range, frame sizes, strides and buffer sizes out of range, frames
 * before SET_PARAMS, changes while busy, queue clears, too-small bitstream
 * buffers, the GOP extension without feature 17, and random parameters and
 * control values. The test script (tests/native/encode-hostile.sh) then
 * checks that the daemon is alive and still encodes.
 *
 *   vv-hostile-enc --socket PATH --list
 *   vv-hostile-enc --socket PATH --case NAME [--codec h264|hevc|vp8|vp9]
 *
 * The stream's coded format is --codec (default: H.264 if the device encodes
 * it, else its first OUTPUT format).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vv_dev.h"

#define FEAT_BASE ((1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) | \
		   (1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG) |  \
		   (1ull << VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE))
#define FEAT_ALL (FEAT_BASE | (1ull << VIRTIO_VIDEO_F_EXT_CONTROLS))
#define OK VIRTIO_VIDEO_RESP_OK_NODATA
#define BADP VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER
#define BADOP VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION
#define UNSUP VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL
#define Q_IN VIRTIO_VIDEO_QUEUE_TYPE_INPUT
#define Q_OUT VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT
#define BITSTREAM_SIZE (1u << 20)

static const char *sock_path, *cur;
static struct vv_dev dev;
static uint32_t coded;	/* the stream's coded format */
static uint32_t max_w, max_h, min_w, min_h;	/* its frame sizes */

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vv-hostile-enc %s: FAIL: ", cur);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;

	printf("vv-hostile-enc %s: ", cur);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void open_dev(uint64_t feat)
{
	if (vv_open(&dev, sock_path, feat, 1, 128ull << 20))
		fail("cannot connect");
	dev.timeout_ms = 10000;
}

/* Sends cmd; the answer's type must be want. Returns the answer's length. */
static uint32_t expect_r(const void *cmd, uint32_t len, void *resp, uint32_t cap, uint32_t want,
			 const char *what)
{
	uint8_t buf[4096];
	uint32_t used = 0;
	int t = vv_sync(&dev, cmd, len, resp ? resp : buf, resp ? cap : sizeof(buf), &used);

	if (t < 0)
		fail("%s: no answer", what);
	if ((uint32_t)t != want)
		fail("%s: got %s (0x%x, %u bytes), expected %s", what, vv_resp_name(t), t, used,
		     vv_resp_name(want));
	note("%s -> %s", what, vv_resp_name(t));
	return used;
}

static void expect(const void *cmd, uint32_t len, uint32_t want, const char *what)
{
	expect_r(cmd, len, NULL, 0, want, what);
}

static void create_stream(uint32_t id)
{
	struct virtio_video_stream_create c = { .hdr = { VIRTIO_VIDEO_CMD_STREAM_CREATE, id },
						.coded_format = coded };

	expect(&c, sizeof(c), OK, "STREAM_CREATE");
}

struct ctl {
	struct virtio_video_set_control c;
	struct virtio_video_control_val_bitrate v;
};

static void set_ctl(uint32_t id, uint32_t control, uint32_t value, uint32_t want, const char *what)
{
	struct ctl c = { { .hdr = { VIRTIO_VIDEO_CMD_SET_CONTROL, id }, .control = control },
			 { .bitrate = value } };
	char w[160];

	snprintf(w, sizeof(w), "SET_CONTROL %s (0x%x) = %u", what, control, value);
	expect(&c, sizeof(c), want, w);
}

/* GET_CONTROL: the answer type; *value when OK_GET_CONTROL. */
static uint32_t get_ctl(uint32_t id, uint32_t control, uint32_t *value)
{
	struct virtio_video_get_control c = { .hdr = { VIRTIO_VIDEO_CMD_GET_CONTROL, id },
					      .control = control };
	struct ctl r;
	uint32_t used = 0;
	int t;

	memset(&r, 0, sizeof(r));
	t = vv_sync(&dev, &c, sizeof(c), &r, sizeof(r), &used);
	if (t == VIRTIO_VIDEO_RESP_OK_GET_CONTROL && used < 16)
		fail("GET_CONTROL 0x%x: answer of %u bytes, expected 16", control, used);
	if (value)
		*value = ((uint32_t *)&r)[2];
	return t < 0 ? 0 : (uint32_t)t;
}

static uint32_t ctl_value(uint32_t id, uint32_t control, const char *what)
{
	uint32_t v = 0, t = get_ctl(id, control, &v);

	if (t != VIRTIO_VIDEO_RESP_OK_GET_CONTROL)
		fail("GET_CONTROL %s: %s", what, vv_resp_name(t));
	return v;
}

static struct virtio_video_params get_params(uint32_t id, uint32_t queue)
{
	struct virtio_video_get_params c = { { VIRTIO_VIDEO_CMD_GET_PARAMS, id }, queue, { 0 } };
	struct virtio_video_get_params_resp r;
	int t = vv_sync(&dev, &c, sizeof(c), &r, sizeof(r), NULL);

	if (t != VIRTIO_VIDEO_RESP_OK_GET_PARAMS || r.params.queue_type != queue)
		fail("GET_PARAMS(0x%x): %s", queue, vv_resp_name(t));
	return r.params;
}

static uint32_t set_params_t(uint32_t id, const struct virtio_video_params *p)
{
	struct virtio_video_set_params c = { { VIRTIO_VIDEO_CMD_SET_PARAMS, id }, *p };
	uint8_t resp[64];
	int t = vv_sync(&dev, &c, sizeof(c), resp, sizeof(resp), NULL);

	return t < 0 ? 0 : (uint32_t)t;
}

static void set_params(uint32_t id, const struct virtio_video_params *p, uint32_t want,
		       const char *what)
{
	struct virtio_video_set_params c = { { VIRTIO_VIDEO_CMD_SET_PARAMS, id }, *p };

	expect(&c, sizeof(c), want, what);
}

/* INPUT params: format, size, luma stride (0: the device's). */
static struct virtio_video_params in_params(uint32_t fmt, uint32_t w, uint32_t h, uint32_t stride)
{
	struct virtio_video_params p = { .queue_type = Q_IN, .format = fmt, .frame_width = w,
					 .frame_height = h, .num_planes = fmt == VIRTIO_VIDEO_FORMAT_NV12 ? 2 : 3 };

	p.plane_formats[0].stride = stride;
	for (uint32_t i = 1; i < p.num_planes; i++)
		p.plane_formats[i].stride = fmt == VIRTIO_VIDEO_FORMAT_NV12 ? stride : stride / 2;
	return p;
}

static bool same_layout(const struct virtio_video_params *a, const struct virtio_video_params *b)
{
	if (a->format != b->format || a->frame_width != b->frame_width ||
	    a->frame_height != b->frame_height || a->num_planes != b->num_planes)
		return false;
	for (uint32_t i = 0; i < a->num_planes && i < VIRTIO_VIDEO_MAX_PLANES; i++)
		if (a->plane_formats[i].stride != b->plane_formats[i].stride ||
		    a->plane_formats[i].plane_size != b->plane_formats[i].plane_size)
			return false;
	return true;
}

/* The layout GET_PARAMS(INPUT) gives must hold the frame (rows x row bytes per plane). */
static void check_layout(const struct virtio_video_params *p)
{
	uint32_t w = p->frame_width, h = p->frame_height, cw = (w + 1) / 2, ch = (h + 1) / 2;

	if ((p->format == VIRTIO_VIDEO_FORMAT_NV12) != (p->num_planes == 2) || p->num_planes > 3)
		fail("format %u with %u planes", p->format, p->num_planes);
	for (uint32_t i = 0; i < p->num_planes; i++) {
		uint32_t row = i == 0 ? w : p->format == VIRTIO_VIDEO_FORMAT_NV12 ? 2 * cw : cw;
		uint32_t rows = i == 0 ? h : ch;

		if (p->plane_formats[i].stride < row ||
		    (uint64_t)p->plane_formats[i].plane_size < (uint64_t)p->plane_formats[i].stride * rows)
			fail("%ux%u format %u plane %u: stride %u size %u", w, h, p->format, i,
			     p->plane_formats[i].stride, p->plane_formats[i].plane_size);
	}
}

/* A single-buffer resource of size bytes on queue q. */
static uint64_t res_create(uint32_t id, uint32_t q, uint32_t rid, uint32_t nplanes,
			   const uint32_t *offsets, uint32_t size)
{
	struct {
		struct virtio_video_resource_create c;
		struct virtio_video_mem_entry e;
	} rc = { { .hdr = { VIRTIO_VIDEO_CMD_RESOURCE_CREATE, id }, .queue_type = q,
		   .resource_id = rid, .planes_layout = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER,
		   .num_planes = nplanes, .num_entries = { 1 } },
		 { .length = size } };

	rc.e.addr = vu_alloc(&dev.f, size);
	if (!rc.e.addr)
		fail("out of guest memory");
	for (uint32_t i = 0; offsets && i < nplanes; i++)
		rc.c.plane_offsets[i] = offsets[i];
	/* Noise: every codec's keyframe of it takes kilobytes (a flat frame fits 64 bytes). */
	{
		uint8_t *p = vu_va(&dev.f, rc.e.addr, size);
		unsigned int seed = rid;

		for (uint32_t i = 0; i < size; i++)
			p[i] = (uint8_t)rand_r(&seed);
	}
	expect(&rc, sizeof(rc), OK, q == Q_IN ? "RESOURCE_CREATE input" : "RESOURCE_CREATE output");
	return rc.e.addr;
}

/* An INPUT resource holding the layout p (bytes missing from its end). */
static void frame_res(uint32_t id, uint32_t rid, const struct virtio_video_params *p, uint32_t short_by)
{
	uint32_t off[VIRTIO_VIDEO_MAX_PLANES], total = 0;

	for (uint32_t i = 0; i < p->num_planes; i++) {
		off[i] = total;
		total += p->plane_formats[i].plane_size;
	}
	res_create(id, Q_IN, rid, p->num_planes, off, total - short_by);
}

static struct vv_req *queue(uint32_t id, uint32_t q, uint32_t rid, uint64_t ts)
{
	struct virtio_video_resource_queue c = { .hdr = { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, id },
						 .queue_type = q, .resource_id = rid, .timestamp = ts };
	struct vv_req *r = vv_req_new(&dev, sizeof(c), 4096);

	if (!r)
		fail("out of guest memory");
	memcpy(vv_cmd(r), &c, sizeof(c));
	if (vv_submit(r))
		fail("submit");
	return r;
}

static struct vv_req *async_cmd(uint32_t type, uint32_t id, uint32_t q)
{
	struct virtio_video_queue_clear c = { { type, id }, q, { 0 } };
	struct vv_req *r = vv_req_new(&dev, sizeof(c), 4096);

	if (!r)
		fail("out of guest memory");
	memcpy(vv_cmd(r), &c, q ? sizeof(c) : sizeof(c.hdr));
	r->cmd_len = q ? sizeof(c) : sizeof(c.hdr);
	if (vv_submit(r))
		fail("submit");
	return r;
}

/* Waits for a queued resource; its answer's flags and size. */
static struct virtio_video_resource_queue_resp wait_res(struct vv_req *r, const char *what)
{
	struct virtio_video_resource_queue_resp a;

	if (vv_wait(&dev, r))
		fail("%s: never answered", what);
	if (r->used_len < sizeof(a))
		fail("%s: answer of %u bytes", what, r->used_len);
	memcpy(&a, vv_resp(r), sizeof(a));
	if (a.hdr.type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE)
		fail("%s: answered %s", what, vv_resp_name(a.hdr.type));
	vv_req_free(r);
	return a;
}

static uint32_t req_type(struct vv_req *r)
{
	return r->used_len >= 8 ? *(uint32_t *)vv_resp(r) : 0;
}

/* Encodes one frame at the stream's current layout: its packet is a keyframe with ts. */
static void encode_one(uint32_t id, uint32_t rid, uint64_t ts, const char *what)
{
	struct virtio_video_params p = get_params(id, Q_IN);
	struct virtio_video_resource_queue_resp a;
	struct vv_req *in, *out;

	frame_res(id, rid, &p, 0);
	res_create(id, Q_OUT, 500 + rid, 1, NULL, BITSTREAM_SIZE);
	out = queue(id, Q_OUT, 500 + rid, 0);
	in = queue(id, Q_IN, rid, ts);
	a = wait_res(in, what);
	if (a.flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR)
		fail("%s: the frame came back with ERR", what);
	a = wait_res(out, what);
	if (!a.size || a.timestamp != ts || !(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_IFRAME))
		fail("%s: packet size %u ts %llu flags 0x%x (expected a keyframe with ts %llu)", what,
		     a.size, (unsigned long long)a.timestamp, a.flags, (unsigned long long)ts);
	note("%s: %ux%u format %u -> a %u-byte keyframe, timestamp %llu", what, p.frame_width,
	     p.frame_height, p.format, a.size, (unsigned long long)ts);
}

/* ---- cases ---- */

static void c_features(void)
{
	uint64_t f = dev.f.dev_features;
	uint64_t need = FEAT_ALL;

	if ((f & need) != need)
		fail("features offered 0x%llx lack some of 0x%llx (0, 1, 16, 17)",
		     (unsigned long long)f, (unsigned long long)need);
	if (f & (1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT))
		fail("VIRTIO_OBJECT (2) offered without a GPU device");
	note("features 0x%llx: 0, 1, 16, 17 offered, 2 not", (unsigned long long)f);
}

static void c_unknown_control(void)
{
	static const uint32_t unknown[] = { 0, 8, 0x999, 0xfff, 0x1001, 0xffffffff };
	struct {
		struct virtio_video_query_control c;
		struct virtio_video_query_control_profile f;
	} q = { { .hdr = { VIRTIO_VIDEO_CMD_QUERY_CONTROL, 1 }, .control = VIRTIO_VIDEO_CONTROL_BITRATE },
		{ .format = coded } };

	create_stream(1);
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		char w[64];

		set_ctl(1, unknown[i], 1, UNSUP, "unknown");
		if (get_ctl(1, unknown[i], NULL) != UNSUP)
			fail("GET_CONTROL 0x%x: not ERR_UNSUPPORTED_CONTROL", unknown[i]);
		snprintf(w, sizeof(w), "GET_CONTROL unknown 0x%x", unknown[i]);
		note("%s -> ERR_UNSUPPORTED_CONTROL", w);
	}
	expect(&q, sizeof(q), UNSUP, "QUERY_CONTROL BITRATE (not a list)");
	q.c.control = VIRTIO_VIDEO_CONTROL_PROFILE;
	q.f.format = VIRTIO_VIDEO_FORMAT_NV12;
	expect(&q, sizeof(q), BADP, "QUERY_CONTROL PROFILE of a raw format");
	q.f.format = coded;
	expect_r(&q, sizeof(q), NULL, 0, VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL, "QUERY_CONTROL PROFILE");
	/* a SET_CONTROL without its value */
	{
		struct ctl c = { { .hdr = { VIRTIO_VIDEO_CMD_SET_CONTROL, 1 },
				   .control = VIRTIO_VIDEO_CONTROL_BITRATE }, { 0 } };

		expect(&c, sizeof(c.c), BADP, "SET_CONTROL without a value");
	}
}

static void c_bad_values(void)
{
	uint32_t bitrate, mode, peak, profile, prepend, level = 0, t;
	bool has_level;

	create_stream(1);
	bitrate = ctl_value(1, VIRTIO_VIDEO_CONTROL_BITRATE, "BITRATE");
	mode = ctl_value(1, VIRTIO_VIDEO_CONTROL_BITRATE_MODE, "BITRATE_MODE");
	peak = ctl_value(1, VIRTIO_VIDEO_CONTROL_BITRATE_PEAK, "BITRATE_PEAK");
	profile = ctl_value(1, VIRTIO_VIDEO_CONTROL_PROFILE, "PROFILE");
	prepend = ctl_value(1, VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR, "PREPEND");
	t = get_ctl(1, VIRTIO_VIDEO_CONTROL_LEVEL, &level);
	has_level = t == VIRTIO_VIDEO_RESP_OK_GET_CONTROL;
	if (has_level != (coded == VIRTIO_VIDEO_FORMAT_H264))
		fail("GET_CONTROL LEVEL on format 0x%x: %s", coded, vv_resp_name(t));
	note("defaults: bitrate %u mode %u peak %u profile 0x%x level 0x%x prepend %u", bitrate,
	     mode, peak, profile, level, prepend);
	set_ctl(1, VIRTIO_VIDEO_CONTROL_BITRATE, 0, BADP, "BITRATE");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_BITRATE, 2000000000u, BADP, "BITRATE above 10^9");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_BITRATE_MODE, 2, BADP, "BITRATE_MODE");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_BITRATE_PEAK, 0, BADP, "BITRATE_PEAK");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_PROFILE, 0xffff, BADP, "PROFILE unknown");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_PROFILE,
		coded == VIRTIO_VIDEO_FORMAT_HEVC ? VIRTIO_VIDEO_PROFILE_H264_HIGH :
						    VIRTIO_VIDEO_PROFILE_HEVC_MAIN,
		BADP, "PROFILE of another codec");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_LEVEL, 0x999, has_level ? BADP : UNSUP, "LEVEL");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR, 2, BADP, "PREPEND_SPSPPS_TO_IDR");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, 65537, BADP, "EXT_GOP_SIZE above 65536");
	/* nothing changed */
	if (ctl_value(1, VIRTIO_VIDEO_CONTROL_BITRATE, "BITRATE") != bitrate ||
	    ctl_value(1, VIRTIO_VIDEO_CONTROL_BITRATE_MODE, "MODE") != mode ||
	    ctl_value(1, VIRTIO_VIDEO_CONTROL_BITRATE_PEAK, "PEAK") != peak ||
	    ctl_value(1, VIRTIO_VIDEO_CONTROL_PROFILE, "PROFILE") != profile ||
	    ctl_value(1, VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR, "PREPEND") != prepend)
		fail("a refused value changed a control");
	note("refused values changed nothing");
	/* limits that are taken */
	set_ctl(1, VIRTIO_VIDEO_CONTROL_BITRATE, 1000000000u, OK, "BITRATE 10^9");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_BITRATE, 1, OK, "BITRATE 1");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, 65536, OK, "EXT_GOP_SIZE 65536");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_BITRATE, 200000, OK, "BITRATE 200000");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, 1, OK, "EXT_GOP_SIZE 1");
	encode_one(1, 1, 4242, "a frame after the refused values");
}

static void c_bad_params(void)
{
	struct virtio_video_params before, p, o;

	create_stream(1);
	before = get_params(1, Q_IN);
	check_layout(&before);
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 0, 240, 0);
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) width 0");
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 320, 0, 0);
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) height 0");
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, max_w + 1, 240, 0);
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) width above the maximum");
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 320, max_h + 1, 0);
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) height above the maximum");
	if (min_w > 1) {
		p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, min_w - 1, 240, 0);
		set_params(1, &p, BADP, "SET_PARAMS(INPUT) width below the minimum");
	}
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 0xffffffffu, 0xffffffffu, 0);
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) 4294967295x4294967295");
	p = in_params(VIRTIO_VIDEO_FORMAT_ARGB8888, 320, 240, 0);
	p.num_planes = 1;
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) ARGB8888 (not offered)");
	p = in_params(coded, 320, 240, 0);
	p.num_planes = 1;
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) a coded format");
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 320, 240, 318);
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) stride smaller than a row");
	p = in_params(VIRTIO_VIDEO_FORMAT_NV12, 320, 240, 320);
	p.plane_formats[1].stride = 100;
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) NV12 chroma stride smaller than a row");
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 320, 240, 131072);
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) stride 131072");
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 320, 240, 0);
	p.frame_rate = 100000;
	set_params(1, &p, BADP, "SET_PARAMS(INPUT) 100000 fps");
	o = get_params(1, Q_OUT);
	o.plane_formats[0].plane_size = 512;
	set_params(1, &o, BADP, "SET_PARAMS(OUTPUT) 512-byte bitstream buffers");
	o.plane_formats[0].plane_size = 0x80000000u;
	set_params(1, &o, BADP, "SET_PARAMS(OUTPUT) 2 GiB bitstream buffers");
	o.plane_formats[0].plane_size = 0;
	o.format = VIRTIO_VIDEO_FORMAT_NV12;
	set_params(1, &o, BADP, "SET_PARAMS(OUTPUT) a raw format");
	o.format = 0x1fff;
	set_params(1, &o, BADP, "SET_PARAMS(OUTPUT) format 0x1fff");
	p = get_params(1, Q_IN);
	if (!same_layout(&p, &before))
		fail("refused SET_PARAMS changed the INPUT params");
	note("refused SET_PARAMS changed nothing");
	/* taken: odd size with the default strides, then a padded stride */
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 202, 130, 0);
	set_params(1, &p, OK, "SET_PARAMS(INPUT) 202x130 YUV420");
	p = get_params(1, Q_IN);
	check_layout(&p);
	if (p.plane_formats[0].stride != 208 || p.plane_formats[1].stride != 104 ||
	    p.plane_formats[0].plane_size != 208 * 130 || p.plane_formats[1].plane_size != 104 * 65)
		fail("202x130 YUV420: strides %u/%u sizes %u/%u, expected 208/104, 27040/6760",
		     p.plane_formats[0].stride, p.plane_formats[1].stride,
		     p.plane_formats[0].plane_size, p.plane_formats[1].plane_size);
	o = get_params(1, Q_OUT);
	if (o.frame_width != 202 || o.frame_height != 130 || !o.plane_formats[0].plane_size)
		fail("GET_PARAMS(OUTPUT) %ux%u buffer %u after SET_PARAMS(INPUT) 202x130",
		     o.frame_width, o.frame_height, o.plane_formats[0].plane_size);
	p = in_params(VIRTIO_VIDEO_FORMAT_NV12, 202, 130, 256);
	set_params(1, &p, OK, "SET_PARAMS(INPUT) 202x130 NV12 stride 256");
	p = get_params(1, Q_IN);
	check_layout(&p);
	if (p.plane_formats[0].stride != 256 || p.plane_formats[1].stride != 256)
		fail("NV12 stride 256: got %u/%u", p.plane_formats[0].stride, p.plane_formats[1].stride);
	encode_one(1, 1, 99, "202x130 NV12, stride 256");
}

/* Frames before any SET_PARAMS: the default layout (NV12); a resource too small for it. */
static void c_before_params(void)
{
	struct virtio_video_params p;
	struct virtio_video_resource_queue_resp a;
	struct vv_req *in, *dr;

	create_stream(1);
	p = get_params(1, Q_IN);
	check_layout(&p);
	if (p.format != VIRTIO_VIDEO_FORMAT_NV12)
		fail("default INPUT format %u, expected NV12", p.format);
	note("default INPUT: %ux%u NV12, stride %u", p.frame_width, p.frame_height,
	     p.plane_formats[0].stride);
	encode_one(1, 1, 1000, "a frame before SET_PARAMS");
	frame_res(1, 2, &p, 4096);
	in = queue(1, Q_IN, 2, 2000);
	a = wait_res(in, "a frame in a resource 4 KiB short");
	if (!(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) || a.size)
		fail("a frame in a resource too small for the layout: flags 0x%x size %u", a.flags,
		     a.size);
	note("a frame in a resource too small for the layout -> ERR");
	/* the stream goes on: a drain ends with an empty EOS buffer */
	dr = async_cmd(VIRTIO_VIDEO_CMD_STREAM_DRAIN, 1, 0);
	in = queue(1, Q_OUT, 501, 0);
	a = wait_res(in, "the drain's OUTPUT buffer");
	if (vv_wait(&dev, dr) || req_type(dr) != OK)
		fail("drain: %s", vv_resp_name(req_type(dr)));
	if (!(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) || a.size)
		fail("drain with nothing pending: flags 0x%x size %u", a.flags, a.size);
	note("drain with nothing pending -> empty EOS buffer, OK_NODATA");
	vv_req_free(dr);
}

/* Format, size and stride changes while a drain runs are refused. */
static void c_busy(void)
{
	struct virtio_video_params p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 320, 240, 0), o;
	struct virtio_video_resource_queue_resp a;
	struct vv_req *in, *dr, *out;

	create_stream(1);
	set_params(1, &p, OK, "SET_PARAMS(INPUT) 320x240");
	p = get_params(1, Q_IN);
	frame_res(1, 1, &p, 0);
	res_create(1, Q_OUT, 500, 1, NULL, BITSTREAM_SIZE);
	in = queue(1, Q_IN, 1, 77);
	a = wait_res(in, "frame 1");
	/* no OUTPUT buffer: the drain cannot end */
	dr = async_cmd(VIRTIO_VIDEO_CMD_STREAM_DRAIN, 1, 0);
	expect(vv_cmd(dr), sizeof(struct virtio_video_cmd_hdr), BADOP, "a second STREAM_DRAIN");
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 176, 144, 0);
	set_params(1, &p, BADOP, "SET_PARAMS(INPUT) new size during a drain");
	p = in_params(VIRTIO_VIDEO_FORMAT_NV12, 320, 240, 0);
	set_params(1, &p, BADOP, "SET_PARAMS(INPUT) new format during a drain");
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 320, 240, 512);
	set_params(1, &p, BADOP, "SET_PARAMS(INPUT) new stride during a drain");
	o = get_params(1, Q_OUT);
	o.format = coded == VIRTIO_VIDEO_FORMAT_VP9 ? VIRTIO_VIDEO_FORMAT_VP8 : VIRTIO_VIDEO_FORMAT_VP9;
	if (set_params_t(1, &o) == OK)
		fail("SET_PARAMS(OUTPUT) new coded format during a drain taken");
	note("SET_PARAMS(OUTPUT) new coded format during a drain -> refused");
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 320, 240, 0);
	p.frame_rate = 25;
	set_params(1, &p, OK, "SET_PARAMS(INPUT) only a new frame rate during a drain");
	out = queue(1, Q_OUT, 500, 0);
	a = wait_res(out, "the drain's packet");
	if (a.timestamp != 77 || !a.size || !(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) ||
	    !(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_IFRAME))
		fail("drain packet: ts %llu size %u flags 0x%x", (unsigned long long)a.timestamp,
		     a.size, a.flags);
	if (vv_wait(&dev, dr) || req_type(dr) != OK)
		fail("drain answered %s", vv_resp_name(req_type(dr)));
	vv_req_free(dr);
	note("the drain ended: the frame's keyframe with EOS, then OK_NODATA");
	p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 176, 144, 0);
	set_params(1, &p, OK, "SET_PARAMS(INPUT) new size after the drain");
	encode_one(1, 2, 88, "a 176x144 frame after the drain");
}

/* QUEUE_CLEAR(INPUT) drops what is pending; the next frame is a keyframe. */
static void c_queue_clear(void)
{
	struct virtio_video_params p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 320, 240, 0);
	struct vv_req *in[24], *out[2];
	struct virtio_video_resource_queue_resp a;
	unsigned int errs = 0, i;

	create_stream(1);
	set_params(1, &p, OK, "SET_PARAMS(INPUT) 320x240");
	p = get_params(1, Q_IN);
	/* no OUTPUT buffers: packets pile up (16 at most), then frames wait */
	for (i = 0; i < 24; i++) {
		frame_res(1, 1 + i, &p, 0);
		in[i] = queue(1, Q_IN, 1 + i, 1000 + i);
	}
	expect(&(struct virtio_video_queue_clear){ { VIRTIO_VIDEO_CMD_QUEUE_CLEAR, 1 }, Q_IN, { 0 } },
	       sizeof(struct virtio_video_queue_clear), OK, "QUEUE_CLEAR(INPUT) with frames queued");
	for (i = 0; i < 24; i++) {
		a = wait_res(in[i], "a frame after QUEUE_CLEAR(INPUT)");
		errs += !!(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR);
	}
	note("24 frames queued without OUTPUT buffers, QUEUE_CLEAR(INPUT): all back, %u with ERR",
	     errs);
	/* QUEUE_CLEAR(OUTPUT): buffers back with ERR */
	res_create(1, Q_OUT, 600, 1, NULL, BITSTREAM_SIZE);
	res_create(1, Q_OUT, 601, 1, NULL, BITSTREAM_SIZE);
	/* Packets of cleared frames are dropped: the first packet now is the new frame's. */
	in[0] = queue(1, Q_IN, 1, 5000);
	a = wait_res(in[0], "a frame after the clear");
	out[0] = queue(1, Q_OUT, 600, 0);
	a = wait_res(out[0], "the packet after the clear");
	if (a.timestamp != 5000 || !(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_IFRAME) || !a.size)
		fail("first packet after QUEUE_CLEAR(INPUT): ts %llu flags 0x%x size %u (expected "
		     "a keyframe of the new frame, ts 5000)", (unsigned long long)a.timestamp, a.flags,
		     a.size);
	note("after QUEUE_CLEAR(INPUT): the new frame's keyframe, nothing older");
	out[0] = queue(1, Q_OUT, 600, 0);
	out[1] = queue(1, Q_OUT, 601, 0);
	expect(&(struct virtio_video_queue_clear){ { VIRTIO_VIDEO_CMD_QUEUE_CLEAR, 1 }, Q_OUT, { 0 } },
	       sizeof(struct virtio_video_queue_clear), OK, "QUEUE_CLEAR(OUTPUT)");
	for (i = 0; i < 2; i++) {
		a = wait_res(out[i], "OUTPUT buffer after QUEUE_CLEAR(OUTPUT)");
		if (!(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) || a.size)
			fail("OUTPUT buffer after QUEUE_CLEAR(OUTPUT): flags 0x%x size %u", a.flags,
			     a.size);
	}
	note("QUEUE_CLEAR(OUTPUT): both buffers back with ERR, size 0");
}

/*
 * A guest that queues frames faster than the codec encodes, with no OUTPUT
 * buffer: the device copies each frame into the codec and returns the
 * buffer, so only its bounds stop it (16 pending packets, 4 frames inside an
 * asynchronous codec). More than 20 frames back means frames pile up in the
 * codec without bound (memory a guest can make the daemon spend).
 */
static void c_flood(void)
{
	struct virtio_video_params p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 640, 480, 0);
	enum { N = 48, BOUND = 16 + 4 };
	struct vv_req *in[N];
	unsigned int back = 0, i;
	struct timespec t0, t;

	create_stream(1);
	set_params(1, &p, OK, "SET_PARAMS(INPUT) 640x480");
	p = get_params(1, Q_IN);
	for (i = 0; i < N; i++)
		frame_res(1, 1 + i, &p, 0);
	for (i = 0; i < N; i++)
		in[i] = queue(1, Q_IN, 1 + i, 100 + i);
	/* Two seconds for the codec: far longer than 20 frames of 640x480 take. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (vv_poll(&dev, 100) < 0)
			fail("poll");
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
	for (i = 0; i < N; i++)
		back += in[i]->done;
	if (back > BOUND)
		fail("%u of %u frames taken with no OUTPUT buffer (bound %u)", back, N, BOUND);
	if (back < 16)
		fail("only %u frames taken in 2 s (16 packets may wait)", back);
	note("%u frames queued, no OUTPUT buffer: %u taken (bound %u), the rest wait", N, back,
	     BOUND);
	expect(&(struct virtio_video_queue_clear){ { VIRTIO_VIDEO_CMD_QUEUE_CLEAR, 1 }, Q_IN, { 0 } },
	       sizeof(struct virtio_video_queue_clear), OK, "QUEUE_CLEAR(INPUT)");
	for (i = 0; i < N; i++) {
		if (!in[i]->done && vv_wait(&dev, in[i]))
			fail("frame %u never came back after QUEUE_CLEAR(INPUT)", i);
		vv_req_free(in[i]);
	}
	note("QUEUE_CLEAR(INPUT): every waiting frame back");
}

/* A bitstream buffer too small: ERR, size 0, and the packet waits for the next buffer. */
static void c_small_output(void)
{
	struct virtio_video_params p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 320, 240, 0);
	struct virtio_video_resource_queue_resp a;
	struct vv_req *in, *out;

	create_stream(1);
	set_params(1, &p, OK, "SET_PARAMS(INPUT) 320x240");
	p = get_params(1, Q_IN);
	frame_res(1, 1, &p, 0);
	res_create(1, Q_OUT, 500, 1, NULL, 64);
	res_create(1, Q_OUT, 501, 1, NULL, 256);
	res_create(1, Q_OUT, 502, 1, NULL, BITSTREAM_SIZE);
	in = queue(1, Q_IN, 1, 31337);
	a = wait_res(in, "frame");
	out = queue(1, Q_OUT, 500, 0);
	a = wait_res(out, "a 64-byte OUTPUT buffer");
	if (!(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) || a.size)
		fail("a 64-byte buffer for a keyframe: flags 0x%x size %u", a.flags, a.size);
	out = queue(1, Q_OUT, 501, 0);
	a = wait_res(out, "a 256-byte OUTPUT buffer");
	if (!(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) || a.size)
		fail("a 256-byte buffer for a keyframe: flags 0x%x size %u", a.flags, a.size);
	note("64- and 256-byte buffers -> ERR, size 0");
	out = queue(1, Q_OUT, 502, 0);
	a = wait_res(out, "a 1 MiB OUTPUT buffer");
	if (a.timestamp != 31337 || !a.size || !(a.flags & VIRTIO_VIDEO_BUFFER_FLAG_IFRAME))
		fail("the kept packet: ts %llu size %u flags 0x%x", (unsigned long long)a.timestamp,
		     a.size, a.flags);
	note("the kept packet in the next, big enough buffer: %u bytes, IFRAME, ts 31337", a.size);
}

/* EXT_GOP_SIZE is an unknown control without feature 17. */
static void c_ext_off(void)
{
	uint32_t v = 0;

	vv_close(&dev, true);
	open_dev(FEAT_BASE);
	if (dev.f.features & (1ull << VIRTIO_VIDEO_F_EXT_CONTROLS))
		fail("feature 17 acked without being asked for");
	create_stream(1);
	set_ctl(1, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, 30, UNSUP, "EXT_GOP_SIZE without feature 17");
	if (get_ctl(1, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, NULL) != UNSUP)
		fail("GET_CONTROL EXT_GOP_SIZE without feature 17: not ERR_UNSUPPORTED_CONTROL");
	note("GET_CONTROL EXT_GOP_SIZE without feature 17 -> ERR_UNSUPPORTED_CONTROL");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_BITRATE, 300000, OK, "BITRATE (a standard control)");
	encode_one(1, 1, 5, "a frame without feature 17");
	vv_close(&dev, true);
	open_dev(FEAT_ALL);
	create_stream(1);
	set_ctl(1, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, 30, OK, "EXT_GOP_SIZE with feature 17");
	if (get_ctl(1, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, &v) != VIRTIO_VIDEO_RESP_OK_GET_CONTROL ||
	    v != 30)
		fail("GET_CONTROL EXT_GOP_SIZE with feature 17: %u", v);
	note("GET_CONTROL EXT_GOP_SIZE with feature 17 -> 30");
}

/*
 * Random SET_PARAMS(INPUT) and SET_CONTROL: every answer OK or the documented
 * error; after each taken SET_PARAMS the layout holds the frame; frames still
 * encode afterwards.
 */
static void c_random(void)
{
	static const uint32_t controls[] = { 1, 2, 3, 4, 5, 6, 7, 0x1000, 0x1001, 9 };
	static const uint32_t formats[] = { VIRTIO_VIDEO_FORMAT_NV12, VIRTIO_VIDEO_FORMAT_YUV420,
					    VIRTIO_VIDEO_FORMAT_YVU420, VIRTIO_VIDEO_FORMAT_ARGB8888, 0,
					    VIRTIO_VIDEO_FORMAT_H264 };
	unsigned int seed = 4711, taken = 0, i;
	uint32_t profile, level = 0;
	bool has_level;

	create_stream(1);
	profile = ctl_value(1, VIRTIO_VIDEO_CONTROL_PROFILE, "PROFILE");
	has_level = get_ctl(1, VIRTIO_VIDEO_CONTROL_LEVEL, &level) == VIRTIO_VIDEO_RESP_OK_GET_CONTROL;
	for (i = 0; i < 300; i++) {
		struct virtio_video_params p;
		uint32_t t, w = rand_r(&seed) % 3 ? 1 + (uint32_t)rand_r(&seed) % 2100 : (uint32_t)rand_r(&seed);
		uint32_t h = rand_r(&seed) % 3 ? 1 + (uint32_t)rand_r(&seed) % 2100 : (uint32_t)rand_r(&seed);
		uint32_t stride = rand_r(&seed) % 2 ? 0 : (uint32_t)rand_r(&seed) % 5000;

		p = in_params(formats[rand_r(&seed) % 6], w, h, stride);
		p.frame_rate = rand_r(&seed) % 4 ? 0 : (uint32_t)rand_r(&seed) % 200;
		t = set_params_t(1, &p);
		if (t != OK && t != BADP)
			fail("random SET_PARAMS %u: %s", i, vv_resp_name(t));
		if (t == OK) {
			taken++;
			p = get_params(1, Q_IN);
			check_layout(&p);
			if (p.frame_width != w || p.frame_height != h)
				fail("SET_PARAMS %ux%u taken, GET_PARAMS says %ux%u", w, h,
				     p.frame_width, p.frame_height);
		}
	}
	note("300 random SET_PARAMS(INPUT): %u taken, each layout holds its frame", taken);
	for (i = 0, taken = 0; i < 300; i++) {
		struct ctl c = { { .hdr = { VIRTIO_VIDEO_CMD_SET_CONTROL, 1 },
				   .control = controls[rand_r(&seed) % 10] },
				 { .bitrate = rand_r(&seed) % 2 ? (uint32_t)rand_r(&seed) % 0x2000 :
								 (uint32_t)rand_r(&seed) } };
		uint8_t resp[64];
		int t = vv_sync(&dev, &c, sizeof(c), resp, sizeof(resp), NULL);

		if (t != OK && t != BADP && t != UNSUP)
			fail("random SET_CONTROL 0x%x = %u: %s", c.c.control, c.v.bitrate,
			     vv_resp_name(t));
		taken += t == OK;
	}
	note("300 random SET_CONTROL: %u taken, the others refused as documented", taken);
	/* whatever was taken: the default profile and level, a sane rate and GOP, then a frame */
	set_ctl(1, VIRTIO_VIDEO_CONTROL_PROFILE, profile, OK, "PROFILE (the default)");
	if (has_level)
		set_ctl(1, VIRTIO_VIDEO_CONTROL_LEVEL, level, OK, "LEVEL (the default)");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_BITRATE, 300000, OK, "BITRATE");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_BITRATE_PEAK, 600000, OK, "BITRATE_PEAK");
	set_ctl(1, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, 0, OK, "EXT_GOP_SIZE");
	{
		struct virtio_video_params p = in_params(VIRTIO_VIDEO_FORMAT_YUV420, 176, 144, 0);

		p.frame_rate = 30;
		set_params(1, &p, OK, "SET_PARAMS(INPUT) 176x144 30 fps");
	}
	encode_one(1, 1, 123, "a frame after the random settings");
}

/* ---- main ---- */

struct hcase {
	const char *name;
	void (*fn)(void);
};

static const struct hcase cases[] = {
	{ "enc-features", c_features },	  { "enc-unknown-control", c_unknown_control },
	{ "enc-bad-values", c_bad_values }, { "enc-bad-params", c_bad_params },
	{ "enc-before-params", c_before_params }, { "enc-busy", c_busy },
	{ "enc-queue-clear", c_queue_clear }, { "enc-small-output", c_small_output },
	{ "enc-ext-off", c_ext_off },	  { "enc-random", c_random },
	{ "enc-flood", c_flood },
};

/* The stream's coded format and its size range, from QUERY_CAPABILITY(OUTPUT). */
static void pick_format(uint32_t want)
{
	struct virtio_video_query_capability c = { .hdr.type = VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
						   .queue_type = Q_OUT };
	uint32_t cap = dev.cfg.max_caps_length, used = 0, off;
	uint8_t *buf = malloc(cap);
	struct virtio_video_query_capability_resp *r = (void *)buf;

	if (vv_sync(&dev, &c, sizeof(c), buf, cap, &used) != VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY ||
	    used < sizeof(*r) || !r->num_descs)
		fail("QUERY_CAPABILITY(OUTPUT) failed: not an encoder device?");
	off = sizeof(*r);
	for (uint32_t i = 0; i < r->num_descs && off + sizeof(struct virtio_video_format_desc) <= used; i++) {
		struct virtio_video_format_desc d;
		struct virtio_video_format_frame fr = { 0 };

		memcpy(&d, buf + off, sizeof(d));
		off += sizeof(d);
		if (d.num_frames && off + sizeof(fr) <= used)
			memcpy(&fr, buf + off, sizeof(fr));
		if (d.format < VIRTIO_VIDEO_FORMAT_CODED_MIN)
			fail("QUERY_CAPABILITY(OUTPUT) lists raw format %u: not an encoder device",
			     d.format);
		if ((!coded && (!want || d.format == want)) ||
		    (!want && d.format == VIRTIO_VIDEO_FORMAT_H264)) {
			coded = d.format;
			min_w = fr.width.min, max_w = fr.width.max;
			min_h = fr.height.min, max_h = fr.height.max;
		}
		for (uint32_t k = 0; k < d.num_frames && off + sizeof(fr) <= used; k++) {
			memcpy(&fr, buf + off, sizeof(fr));
			off += sizeof(fr) + fr.num_rates * sizeof(struct virtio_video_format_range);
		}
	}
	free(buf);
	if (!coded)
		fail("the device does not encode format 0x%x", want);
	if (!max_w || !max_h)
		fail("format 0x%x: no frame sizes in QUERY_CAPABILITY", coded);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "socket", 1, 0, 's' }, { "case", 1, 0, 'c' },
					    { "list", 0, 0, 'l' }, { "codec", 1, 0, 'C' },
					    { 0, 0, 0, 0 } };
	const struct hcase *hc = NULL;
	const char *name = NULL;
	uint32_t want = 0;
	bool list = false;
	int c;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 's')
			sock_path = optarg;
		else if (c == 'c')
			name = optarg;
		else if (c == 'l')
			list = true;
		else if (c == 'C')
			want = !strcmp(optarg, "h264") ? VIRTIO_VIDEO_FORMAT_H264 :
			       !strcmp(optarg, "hevc") ? VIRTIO_VIDEO_FORMAT_HEVC :
			       !strcmp(optarg, "vp8")  ? VIRTIO_VIDEO_FORMAT_VP8 :
			       !strcmp(optarg, "vp9")  ? VIRTIO_VIDEO_FORMAT_VP9 : 1;
		else
			return 2;
	}
	if (list) {
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			puts(cases[i].name);
		return 0;
	}
	for (i = 0; name && i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(cases[i].name, name))
			hc = &cases[i];
	if (!sock_path || !hc || want == 1) {
		fprintf(stderr, "usage: vv-hostile-enc --socket PATH (--list | --case NAME) "
				"[--codec h264|hevc|vp8|vp9]\n");
		return 2;
	}
	cur = name;
	open_dev(FEAT_ALL);
	pick_format(want);
	hc->fn();
	vv_close(&dev, true);
	printf("vv-hostile-enc %s: ok\n", name);
	return 0;
}
