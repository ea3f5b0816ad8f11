// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * vv-enc-client: encodes through the daemon's encoder device (virtio ID 30).
 * INPUT frames are guest pages (one run, or with --scatter one entry per
 * page, scattered), or with --gpu-socket virtio-gpu resources named by
 * their UUID (virtio-object memory), as a guest encoding what it drew on its
 * virtio-gpu would:
 *
 *   vv-enc-client --video-socket V [--gpu-socket G] --codec h264|hevc|vp8|vp9
 *                 --input FRAMES.nv12 --width W --height H --output OUT
 *                 [--scatter] [--bitrate BPS] [--cbr] [--gop N]
 *                 [--force-key N] [--prepend-headers] [--timeout MS]
 *
 * FRAMES.nv12 is raw NV12 (ffmpeg -pix_fmt nv12 -f rawvideo). Each frame is
 * written in the device's layout and queued, one at a time (a low-latency
 * client); the packets are written as Annex-B (H.264, HEVC) or IVF (VP8,
 * VP9). --gop sets VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE (feature 17),
 * --force-key sends FORCE_KEYFRAME before frame N, --set-bitrate-at F:BPS a
 * new BITRATE before frame F, --drain-at F a STREAM_DRAIN after frame F
 * (encoding then goes on). Exit 0 only if every
 * frame came back as a packet, in order, with its timestamp and a frame-type
 * flag, and the drain ended with EOS. --bad-input first checks the answers
 * to bad controls and params (unknown, out of range, without feature 17).
 * Prints
 * `frames=N packets=N bytes=N keyframes=I,J,...` (from the IFRAME flags).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_front.h"
#include "vv_dev.h"

#define MEM_SIZE (256ull << 20)
#define IN_BUFS 4
#define OUT_BUFS 4
#define GPU_ID_BASE 2000
#define TS_STEP 1000

struct vv_dev video;
int timeout_ms = 10000;

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vv-enc-client: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

struct in_buf {
	struct gpu_buf g;	/* with --gpu-socket */
	uint64_t gpa, alloc;	/* guest pages otherwise */
	uint32_t nentries;
	struct virtio_video_mem_entry *entries;
	struct vv_req *req;
	bool queued;
};

struct out_buf {
	uint64_t gpa;
	struct vv_req *req;
	bool queued;
};

static struct {
	uint32_t stream, coded, width, height;
	bool ivf;
	FILE *input, *output;
	struct virtio_video_params in, out;
	struct in_buf ins[IN_BUFS];
	struct out_buf outs[OUT_BUFS];
	uint8_t *frame, *staged;
	size_t frame_size, staged_size;
	uint64_t frames_sent, packets, bytes, next_ts, errors;
	bool input_done, drain_sent, drained, eos, destroying;
	bool gpu, scatter, cbr, prepend, bad_input;
	uint32_t gop, new_bitrate;
	long force_key, drain_at, bitrate_at;
	struct out_buf *eos_buf;	/* the buffer that carried EOS: not requeued */
	unsigned int eos_count;
	char keyframes[4096];
	size_t keyframes_len;
} e;

static uint32_t video_cmd(const void *cmd, uint32_t len, void *resp, uint32_t cap)
{
	struct virtio_video_cmd_hdr hdr;
	int t = vv_sync(&video, cmd, len, resp ? resp : &hdr, resp ? cap : sizeof(hdr), NULL);

	if (t < 0)
		die("video: command 0x%x failed at the transport level",
		    ((const struct virtio_video_cmd_hdr *)cmd)->type);
	return (uint32_t)t;
}

static void video_expect(const void *cmd, uint32_t len, uint32_t want)
{
	uint32_t t = video_cmd(cmd, len, NULL, 0);

	if (t != want)
		die("video: command 0x%x answered %s (0x%x), expected 0x%x",
		    ((const struct virtio_video_cmd_hdr *)cmd)->type, vv_resp_name(t), t, want);
}

static void get_params(uint32_t queue, struct virtio_video_params *p)
{
	struct virtio_video_get_params c = { .hdr = { VIRTIO_VIDEO_CMD_GET_PARAMS, e.stream },
					     .queue_type = queue };
	struct virtio_video_get_params_resp r;
	uint32_t t = video_cmd(&c, sizeof(c), &r, sizeof(r));

	if (t != VIRTIO_VIDEO_RESP_OK_GET_PARAMS)
		die("video: GET_PARAMS answered 0x%x", t);
	*p = r.params;
}

static void set_params(const struct virtio_video_params *p)
{
	struct virtio_video_set_params c = { .hdr = { VIRTIO_VIDEO_CMD_SET_PARAMS, e.stream },
					     .params = *p };

	video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
}

static void set_control(uint32_t control, uint32_t value)
{
	struct {
		struct virtio_video_set_control c;
		struct virtio_video_control_val_bitrate v;
	} c = { .c = { .hdr = { VIRTIO_VIDEO_CMD_SET_CONTROL, e.stream }, .control = control },
		.v = { .bitrate = value } };

	video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
}

static uint32_t control_answer(uint32_t control, uint32_t value)
{
	struct {
		struct virtio_video_set_control c;
		struct virtio_video_control_val_bitrate v;
	} c = { .c = { .hdr = { VIRTIO_VIDEO_CMD_SET_CONTROL, e.stream }, .control = control },
		.v = { .bitrate = value } };

	return video_cmd(&c, sizeof(c), NULL, 0);
}

static uint32_t get_control(uint32_t control, uint32_t *value)
{
	struct virtio_video_get_control c = { .hdr = { VIRTIO_VIDEO_CMD_GET_CONTROL, e.stream },
					      .control = control };
	struct {
		struct virtio_video_get_control_resp r;
		struct virtio_video_control_val_bitrate v;
	} r;
	uint32_t t = video_cmd(&c, sizeof(c), &r, sizeof(r));

	*value = r.v.bitrate;
	return t;
}

static int bad_failures;

static void expect(uint32_t got, uint32_t want, const char *what)
{
	if (got == want) {
		printf("ok: %s -> %s\n", what, vv_resp_name(got));
		return;
	}
	fprintf(stderr, "FAIL: %s -> %s (0x%x), expected %s\n", what, vv_resp_name(got), got,
		vv_resp_name(want));
	bad_failures++;
}

static void expect_true(bool ok, const char *what)
{
	if (ok) {
		printf("ok: %s\n", what);
		return;
	}
	fprintf(stderr, "FAIL: %s\n", what);
	bad_failures++;
}

static uint32_t params_answer(const struct virtio_video_params *p)
{
	struct virtio_video_set_params c = { .hdr = { VIRTIO_VIDEO_CMD_SET_PARAMS, e.stream },
					     .params = *p };

	return video_cmd(&c, sizeof(c), NULL, 0);
}

/*
 * --bad-input: values a hostile or buggy guest sends, each with the answer
 * docs/protocol.md gives, and nothing else changed (the encode that follows
 * must still work). The connection lacks feature 17 on purpose.
 */
static void check_bad_inputs(void)
{
	struct virtio_video_params in, out, p;
	uint32_t v = 0;

	get_params(VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &in);
	get_params(VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &out);
	expect(control_answer(99, 1), VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL, "unknown control 99");
	expect(control_answer(VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, 10),
	       VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL, "EXT_GOP_SIZE without feature 17");
	expect(control_answer(VIRTIO_VIDEO_CONTROL_BITRATE, 0), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
	       "bitrate 0");
	expect(control_answer(VIRTIO_VIDEO_CONTROL_BITRATE_MODE, 7),
	       VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "bitrate mode 7");
	expect(control_answer(VIRTIO_VIDEO_CONTROL_PROFILE, VIRTIO_VIDEO_PROFILE_VP9_PROFILE3),
	       VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "a profile the codec does not offer");
	expect(control_answer(VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR, 2),
	       VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "PREPEND_SPSPPS_TO_IDR 2");
	expect(control_answer(VIRTIO_VIDEO_CONTROL_BITRATE, 777000), VIRTIO_VIDEO_RESP_OK_NODATA,
	       "bitrate 777000");
	expect(get_control(VIRTIO_VIDEO_CONTROL_BITRATE, &v), VIRTIO_VIDEO_RESP_OK_GET_CONTROL,
	       "GET_CONTROL bitrate");
	expect_true(v == 777000, "the bitrate read back is the one set");
	p = in;
	p.frame_width = 8;
	expect(params_answer(&p), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "input width 8 (below 16)");
	p.frame_width = 5000;
	expect(params_answer(&p), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "input width 5000");
	p = in;
	p.plane_formats[0].stride = 100;
	expect(params_answer(&p), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "a stride below the row");
	p = in;
	p.format = VIRTIO_VIDEO_FORMAT_H264;
	expect(params_answer(&p), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "a coded format on INPUT");
	p = out;
	p.plane_formats[0].plane_size = 10;
	expect(params_answer(&p), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "a 10-byte bitstream buffer");
	get_params(VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &p);
	expect_true(!memcmp(&p, &in, sizeof(p)), "refused SET_PARAMS changed nothing");
	if (bad_failures)
		die("%d bad-input checks failed", bad_failures);
}

/* ---- output: packets ---- */

static void ivf_header(void)
{
	uint8_t h[32] = { 'D', 'K', 'I', 'F', 0, 0, 32, 0 };
	const char *fourcc = e.coded == VIRTIO_VIDEO_FORMAT_VP8 ? "VP80" : "VP90";

	memcpy(h + 8, fourcc, 4);
	h[12] = (uint8_t)e.width;
	h[13] = (uint8_t)(e.width >> 8);
	h[14] = (uint8_t)e.height;
	h[15] = (uint8_t)(e.height >> 8);
	h[16] = 30;	/* time base 1/30: timestamps are frame numbers */
	h[20] = 1;
	if (fwrite(h, 1, sizeof(h), e.output) != sizeof(h))
		die("output: %s", strerror(errno));
}

static void write_packet(const uint8_t *data, uint32_t size, uint64_t frame)
{
	if (e.ivf) {
		uint8_t h[12];

		for (int i = 0; i < 4; i++)
			h[i] = (uint8_t)(size >> (8 * i));
		for (int i = 0; i < 8; i++)
			h[4 + i] = (uint8_t)(frame >> (8 * i));
		if (fwrite(h, 1, sizeof(h), e.output) != sizeof(h))
			die("output: %s", strerror(errno));
	}
	if (fwrite(data, 1, size, e.output) != size)
		die("output: %s", strerror(errno));
}

static void queue_out(struct out_buf *b)
{
	struct virtio_video_resource_queue *q = vv_cmd(b->req);

	*q = (struct virtio_video_resource_queue){
		.hdr = { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, e.stream },
		.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
		.resource_id = 100 + (uint32_t)(b - e.outs),
	};
	b->queued = true;
	if (vv_submit(b->req))
		die("video: cannot queue an OUTPUT buffer");
}

static void on_out_done(struct vv_req *req)
{
	struct out_buf *b = req->opaque;
	const struct virtio_video_resource_queue_resp *r = vv_resp(req);
	uint64_t frame;

	b->queued = false;
	if (e.destroying)
		return;
	if (r->hdr.type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE || (r->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR))
		die("video: OUTPUT buffer answered 0x%x flags 0x%x", r->hdr.type, r->flags);
	if (r->size) {
		if (r->timestamp != e.next_ts)
			die("packet %llu has timestamp %llu, expected %llu",
			    (unsigned long long)e.packets, (unsigned long long)r->timestamp,
			    (unsigned long long)e.next_ts);
		frame = r->timestamp / TS_STEP;
		if ((r->flags & VIRTIO_VIDEO_BUFFER_FLAG_IFRAME) &&
		    e.keyframes_len < sizeof(e.keyframes) - 24)
			e.keyframes_len += (size_t)snprintf(e.keyframes + e.keyframes_len,
							    sizeof(e.keyframes) - e.keyframes_len,
							    "%s%llu", e.keyframes_len ? "," : "",
							    (unsigned long long)frame);
		if (!(r->flags & (VIRTIO_VIDEO_BUFFER_FLAG_IFRAME | VIRTIO_VIDEO_BUFFER_FLAG_PFRAME |
				  VIRTIO_VIDEO_BUFFER_FLAG_BFRAME)))
			die("packet %llu has no frame type flag", (unsigned long long)e.packets);
		write_packet(vu_va(&video.f, b->gpa, r->size), r->size, frame);
		e.packets++;
		e.bytes += r->size;
		e.next_ts += TS_STEP;
	}
	if (r->flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) {
		e.eos = true;
		e.eos_count++;
		e.eos_buf = b;
	} else {
		queue_out(b);
	}
}

static void create_outputs(void)
{
	uint32_t size = e.out.plane_formats[0].plane_size;

	for (int i = 0; i < OUT_BUFS; i++) {
		struct {
			struct virtio_video_resource_create c;
			struct virtio_video_mem_entry m;
		} c = { .c = {
			.hdr = { VIRTIO_VIDEO_CMD_RESOURCE_CREATE, e.stream },
			.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
			.resource_id = 100 + (uint32_t)i,
			.planes_layout = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER,
			.num_planes = 1, .num_entries = { 1 },
		} };

		e.outs[i].gpa = vu_alloc(&video.f, size);
		e.outs[i].req = vv_req_new(&video, sizeof(struct virtio_video_resource_queue),
					   video.cfg.max_resp_length);
		if (!e.outs[i].gpa || !e.outs[i].req)
			die("out of guest memory");
		c.m.addr = e.outs[i].gpa;
		c.m.length = size;
		video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
		e.outs[i].req->opaque = &e.outs[i];
		e.outs[i].req->complete = on_out_done;
		queue_out(&e.outs[i]);
	}
}

/* ---- input: frames in GPU resources ---- */

static void on_in_done(struct vv_req *req)
{
	struct in_buf *b = req->opaque;
	const struct virtio_video_resource_queue_resp *r = vv_resp(req);

	b->queued = false;
	if (e.destroying)
		return;
	if (r->hdr.type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE || (r->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR))
		die("video: INPUT frame answered 0x%x flags 0x%x", r->hdr.type, r->flags);
}

static void create_pages_input(struct in_buf *b, const struct virtio_video_resource_create *tmpl,
			       uint32_t i);

/*
 * One GPU resource holds both NV12 planes in the device's layout: as wide
 * (in 4-byte pixels) as the luma stride, as many rows as the planes need.
 */
static void create_inputs(void)
{
	uint32_t s0 = e.in.plane_formats[0].stride;
	uint64_t total = (uint64_t)e.in.plane_formats[0].plane_size + e.in.plane_formats[1].plane_size;
	uint32_t rows = (uint32_t)((total + s0 - 1) / s0);

	if (s0 % 4)
		die("luma stride %u is not a whole number of GPU pixels", s0);
	e.staged_size = (size_t)s0 * rows;
	e.staged = calloc(1, e.staged_size);
	if (!e.staged)
		die("out of memory");
	for (int i = 0; i < IN_BUFS; i++) {
		struct in_buf *b = &e.ins[i];
		struct {
			struct virtio_video_resource_create c;
			struct virtio_video_object_entry o;
		} c = { .c = {
			.hdr = { VIRTIO_VIDEO_CMD_RESOURCE_CREATE, e.stream },
			.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
			.resource_id = 1 + (uint32_t)i,
			.planes_layout = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER,
			.num_planes = 2,
			.plane_offsets = { 0, e.in.plane_formats[0].plane_size },
			.num_entries = { 1 },
		} };

		if (e.gpu) {
			gpu_buf_new(&b->g, GPU_ID_BASE + (uint32_t)i, s0 / 4, rows);
			memcpy(c.o.uuid, b->g.uuid, 16);
			video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
		} else {
			create_pages_input(b, &c.c, (uint32_t)i);
		}
		b->req = vv_req_new(&video, sizeof(struct virtio_video_resource_queue),
				    video.cfg.max_resp_length);
		if (!b->req)
			die("out of guest memory");
		b->req->opaque = b;
		b->req->complete = on_in_done;
	}
}

/*
 * A guest-pages INPUT resource of e.staged_size bytes: one entry, or one per
 * page, every other page and in reverse order (as a guest's pages are).
 */
static void create_pages_input(struct in_buf *b, const struct virtio_video_resource_create *tmpl,
			       uint32_t i)
{
	uint64_t pages = (e.staged_size + VU_PAGE - 1) / VU_PAGE;
	size_t len;
	uint8_t *cmd;

	(void)i;
	b->nentries = e.scatter ? (uint32_t)pages : 1;
	b->alloc = e.scatter ? 2 * pages * VU_PAGE : e.staged_size;
	b->gpa = vu_alloc(&video.f, b->alloc);
	b->entries = calloc(b->nentries, sizeof(*b->entries));
	if (!b->gpa || !b->entries)
		die("out of guest memory");
	for (uint32_t k = 0; k < b->nentries; k++) {
		uint64_t left = e.staged_size - (uint64_t)k * VU_PAGE;

		b->entries[k] = e.scatter ?
			(struct virtio_video_mem_entry){
				.addr = b->gpa + (2 * (pages - 1 - k) + 1) * VU_PAGE,
				.length = left < VU_PAGE ? (uint32_t)left : VU_PAGE } :
			(struct virtio_video_mem_entry){ .addr = b->gpa,
							 .length = (uint32_t)e.staged_size };
	}
	len = sizeof(*tmpl) + b->nentries * sizeof(*b->entries);
	cmd = malloc(len);
	if (!cmd)
		die("out of memory");
	memcpy(cmd, tmpl, sizeof(*tmpl));
	((struct virtio_video_resource_create *)cmd)->num_entries[0] = b->nentries;
	memcpy(cmd + sizeof(*tmpl), b->entries, b->nentries * sizeof(*b->entries));
	video_expect(cmd, (uint32_t)len, VIRTIO_VIDEO_RESP_OK_NODATA);
	free(cmd);
}

static void write_pages(const struct in_buf *b, const uint8_t *src)
{
	for (uint32_t k = 0; k < b->nentries; k++) {
		vu_write(&video.f, b->entries[k].addr, src, b->entries[k].length);
		src += b->entries[k].length;
	}
}

/* The next packed NV12 frame of the file laid out at the device's strides. */
static bool stage_frame(void)
{
	uint32_t w = e.width, h = e.height, cw2 = 2 * ((w + 1) / 2), ch = (h + 1) / 2;
	uint32_t s0 = e.in.plane_formats[0].stride, s1 = e.in.plane_formats[1].stride;
	uint8_t *uv = e.staged + e.in.plane_formats[0].plane_size;
	size_t got = fread(e.frame, 1, e.frame_size, e.input);

	if (!got)
		return false;
	if (got != e.frame_size)
		die("input: a partial frame of %zu bytes (frames are %zu)", got, e.frame_size);
	for (uint32_t y = 0; y < h; y++)
		memcpy(e.staged + (size_t)y * s0, e.frame + (size_t)y * w, w);
	for (uint32_t y = 0; y < ch; y++)
		memcpy(uv + (size_t)y * s1, e.frame + (size_t)w * h + (size_t)y * cw2, cw2);
	return true;
}

static void feed_input(void)
{
	for (int i = 0; i < IN_BUFS && !e.input_done; i++) {
		struct in_buf *b = &e.ins[i];
		struct virtio_video_resource_queue *q;

		if (b->queued)
			continue;
		/* Low latency: the next frame once the last one's packet is back. */
		if (e.frames_sent > e.packets)
			return;
		if (!stage_frame()) {
			e.input_done = true;
			return;
		}
		if (e.gpu)
			gpu_buf_write(&b->g, e.staged);
		else
			write_pages(b, e.staged);
		if ((long)e.frames_sent == e.force_key)
			set_control(VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME, 1);
		if ((long)e.frames_sent == e.bitrate_at)
			set_control(VIRTIO_VIDEO_CONTROL_BITRATE, e.new_bitrate);
		/* --drain-at: frame F+1 waits until the drain after F is over. */
		if (e.drain_at >= 0 && (long)e.frames_sent == e.drain_at + 1 && e.eos_count == 0)
			return;
		q = vv_cmd(b->req);
		*q = (struct virtio_video_resource_queue){
			.hdr = { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, e.stream },
			.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
			.resource_id = 1 + (uint32_t)i,
			.timestamp = e.frames_sent * TS_STEP,
		};
		b->queued = true;
		if (vv_submit(b->req))
			die("video: cannot queue a frame");
		e.frames_sent++;
	}
}

static void on_drain_done(struct vv_req *req)
{
	const struct virtio_video_cmd_hdr *r = vv_resp(req);

	if (r->type != VIRTIO_VIDEO_RESP_OK_NODATA)
		die("video: STREAM_DRAIN answered %s", vv_resp_name(r->type));
	e.drained = true;
}

static struct vv_req *send_drain(void)
{
	struct vv_req *drain = vv_req_new(&video, sizeof(struct virtio_video_cmd_hdr),
					  video.cfg.max_resp_length);

	if (!drain)
		die("out of guest memory");
	*(struct virtio_video_cmd_hdr *)vv_cmd(drain) =
		(struct virtio_video_cmd_hdr){ VIRTIO_VIDEO_CMD_STREAM_DRAIN, e.stream };
	drain->complete = on_drain_done;
	if (vv_submit(drain))
		die("video: cannot send STREAM_DRAIN");
	return drain;
}

/*
 * --drain-at F: a drain once frame F's packet is back; after its EOS and
 * answer, encoding goes on (the EOS buffer is queued again).
 */
static void mid_drain(void)
{
	struct vv_req *drain;

	if (e.drain_at < 0 || e.eos_count || (long)e.frames_sent != e.drain_at + 1 ||
	    e.packets != e.frames_sent)
		return;
	drain = send_drain();
	while (!e.drained || !e.eos)
		if (vv_poll(&video, timeout_ms) <= 0)
			die("video: the drain after frame %ld did not end", e.drain_at);
	vv_req_free(drain);
	printf("drain after frame %ld: EOS, packets %llu\n", e.drain_at,
	       (unsigned long long)e.packets);
	e.drained = false;
	e.eos = false;
	queue_out(e.eos_buf);
}

static void run(uint32_t bitrate)
{
	struct virtio_video_stream_create sc = {
		.hdr = { VIRTIO_VIDEO_CMD_STREAM_CREATE, e.stream },
		.in_mem_type = VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT,
		.out_mem_type = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
		.coded_format = e.coded,
	};
	struct vv_req *drain = NULL;

	sc.in_mem_type = e.gpu ? VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT : VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
	video_expect(&sc, sizeof(sc), VIRTIO_VIDEO_RESP_OK_NODATA);
	if (e.bad_input)
		check_bad_inputs();
	get_params(VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &e.in);
	e.in.format = VIRTIO_VIDEO_FORMAT_NV12;
	e.in.frame_width = e.width;
	e.in.frame_height = e.height;
	e.in.frame_rate = 30;
	memset(e.in.plane_formats, 0, sizeof(e.in.plane_formats));
	set_params(&e.in);
	get_params(VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &e.in);
	if (e.in.num_planes != 2)
		die("NV12 input has %u planes", e.in.num_planes);
	get_params(VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &e.out);
	if (bitrate)
		set_control(VIRTIO_VIDEO_CONTROL_BITRATE, bitrate);
	if (e.cbr)
		set_control(VIRTIO_VIDEO_CONTROL_BITRATE_MODE, VIRTIO_VIDEO_BITRATE_MODE_CBR);
	if (e.gop)
		set_control(VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, e.gop);
	if (e.prepend)
		set_control(VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR, 1);
	e.frame_size = (size_t)e.width * e.height + (size_t)2 * ((e.width + 1) / 2) * ((e.height + 1) / 2);
	e.frame = malloc(e.frame_size);
	if (!e.frame)
		die("out of memory");
	if (e.ivf)
		ivf_header();
	create_inputs();
	create_outputs();
	while (!e.drained || !e.eos) {
		mid_drain();
		feed_input();
		if (e.input_done && !e.drain_sent) {
			bool idle = true;

			for (int i = 0; i < IN_BUFS; i++)
				idle &= !e.ins[i].queued;
			if (idle) {
				drain = send_drain();
				e.drain_sent = true;
			}
		}
		if (vv_poll(&video, timeout_ms) <= 0)
			die("video: no progress (frames sent %llu, packets %llu)",
			    (unsigned long long)e.frames_sent, (unsigned long long)e.packets);
	}
	e.destroying = true;
	{
		struct virtio_video_cmd_hdr c = { VIRTIO_VIDEO_CMD_STREAM_DESTROY, e.stream };

		video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
	}
	while (vv_poll(&video, 200) > 0)
		;
	for (int i = 0; i < IN_BUFS; i++) {
		if (e.gpu) {
			gpu_buf_unref(&e.ins[i].g);
			gpu_buf_free(&e.ins[i].g);
		} else {
			vu_free(&video.f, e.ins[i].gpa, e.ins[i].alloc);
			free(e.ins[i].entries);
		}
		vv_req_free(e.ins[i].req);
	}
	for (int i = 0; i < OUT_BUFS; i++)
		vv_req_free(e.outs[i].req);
	vv_req_free(drain);
	free(e.frame);
	free(e.staged);
}

static uint32_t coded_format_of(const char *name)
{
	static const struct { const char *name; uint32_t format; } codecs[] = {
		{ "h264", VIRTIO_VIDEO_FORMAT_H264 }, { "hevc", VIRTIO_VIDEO_FORMAT_HEVC },
		{ "vp8", VIRTIO_VIDEO_FORMAT_VP8 }, { "vp9", VIRTIO_VIDEO_FORMAT_VP9 },
	};

	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		if (!strcmp(name, codecs[i].name))
			return codecs[i].format;
	die("unknown codec %s (h264, hevc, vp8, vp9)", name);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vv-enc-client --video-socket V [--gpu-socket G] --codec h264|hevc|vp8|vp9\n"
		"                     --input FRAMES.nv12 --width W --height H --output OUT\n"
		"                     [--scatter] [--bitrate BPS] [--cbr] [--gop N] [--force-key N]\n"
		"                     [--prepend-headers] [--bad-input] [--drain-at F]\n"
		"                     [--set-bitrate-at F:BPS] [--timeout MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "video-socket", required_argument, NULL, 'V' },
		{ "gpu-socket", required_argument, NULL, 'G' },
		{ "codec", required_argument, NULL, 'c' },
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "width", required_argument, NULL, 'w' },
		{ "height", required_argument, NULL, 'h' },
		{ "bitrate", required_argument, NULL, 'b' },
		{ "scatter", no_argument, NULL, 'S' },
		{ "cbr", no_argument, NULL, 'C' },
		{ "gop", required_argument, NULL, 'g' },
		{ "force-key", required_argument, NULL, 'k' },
		{ "prepend-headers", no_argument, NULL, 'P' },
		{ "bad-input", no_argument, NULL, 'B' },
		{ "drain-at", required_argument, NULL, 'D' },
		{ "set-bitrate-at", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 },
	};
	const char *video_path = NULL, *gpu_path = NULL, *input = NULL, *output = NULL;
	uint64_t want = (1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) |
			(1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG) |
			(1ull << VIRTIO_VIDEO_F_EXT_CONTROLS);
	uint32_t bitrate = 0;
	int c;

	e.force_key = -1;
	e.drain_at = -1;
	e.bitrate_at = -1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'V': video_path = optarg; break;
		case 'G': gpu_path = optarg; break;
		case 'c': e.coded = coded_format_of(optarg); break;
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case 'w': e.width = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'h': e.height = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'b': bitrate = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'S': scatter_backing = true; e.scatter = true; break;
		case 'C': e.cbr = true; break;
		case 'g': e.gop = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'k': e.force_key = strtol(optarg, NULL, 10); break;
		case 'P': e.prepend = true; break;
		case 'B': e.bad_input = true; break;
		case 'D': e.drain_at = strtol(optarg, NULL, 10); break;
		case 'R': {
			char *colon;

			e.bitrate_at = strtol(optarg, &colon, 10);
			if (*colon != ':')
				usage();
			e.new_bitrate = (uint32_t)strtoul(colon + 1, NULL, 10);
			break;
		}
		case 't': timeout_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || !video_path || !e.coded || !input || !output ||
	    !e.width || !e.height || e.width > 8192 || e.height > 8192)
		usage();
	e.ivf = e.coded == VIRTIO_VIDEO_FORMAT_VP8 || e.coded == VIRTIO_VIDEO_FORMAT_VP9;
	e.stream = 1;
	e.input = fopen(input, "rb");
	e.output = fopen(output, "wb");
	if (!e.input || !e.output)
		die("%s: %s", e.input ? output : input, strerror(errno));
	e.gpu = gpu_path != NULL;
	if (e.bad_input)
		want &= ~(1ull << VIRTIO_VIDEO_F_EXT_CONTROLS);
	if (e.gpu)
		want |= 1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT;
	if (vv_open(&video, video_path, want, 1, MEM_SIZE))
		return 1;
	video.timeout_ms = timeout_ms;
	if (e.gpu && !(video.f.features & (1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT)))
		die("video: the device does not offer RESOURCE_VIRTIO_OBJECT");
	if (e.gop && !(video.f.features & (1ull << VIRTIO_VIDEO_F_EXT_CONTROLS)))
		die("video: the device does not offer EXT_CONTROLS (--gop)");
	if (e.gpu)
		gpu_open(gpu_path);
	run(bitrate);
	if (e.gpu)
		gpu_close();
	vv_close(&video, true);
	fclose(e.input);
	if (fclose(e.output))
		die("%s: %s", output, strerror(errno));
	if (e.eos_count != (e.drain_at >= 0 ? 2u : 1u))
		die("%u EOS buffers, expected %u", e.eos_count, e.drain_at >= 0 ? 2u : 1u);
	if (e.packets != e.frames_sent)
		die("%llu frames sent, %llu packets back", (unsigned long long)e.frames_sent,
		    (unsigned long long)e.packets);
	printf("frames=%llu packets=%llu bytes=%llu keyframes=%s\n",
	       (unsigned long long)e.frames_sent, (unsigned long long)e.packets,
	       (unsigned long long)e.bytes, e.keyframes);
	return 0;
}
