// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * vv-gpu-client: drives the daemon's virtio-gpu device and its video device
 * from one process, as a guest with both devices would: one guest memory
 * shared by the two vhost-user connections, GPU resources exported by UUID
 * and used as the video device's OUTPUT buffers.
 *
 *   vv-gpu-client --video-socket V --gpu-socket G check
 *       GPU commands, UUID rules (v4, unique, stable, forgotten on unref),
 *       hostile GPU requests, unknown and freed UUIDs at the video device,
 *       and the display socket: the client plays QEMU's side of
 *       VHOST_USER_GPU_SET_SOCKET and checks the SCANOUT, UPDATE (pixels
 *       converted to x8r8g8b8, split in strips) and cursor messages.
 *   vv-gpu-client --video-socket V --gpu-socket G fuzz [--iterations N]
 *       Random and edge-valued GPU commands of every type, of every length,
 *       on both queues, around a few valid resources; the device must answer
 *       each (or drop it) and still work afterwards.
 *   vv-gpu-client --video-socket V --gpu-socket G decode --codec h264|hevc
 *       --input FILE --output OUT [--format nv12|bgra] [--hostile] [--scatter]
 *       Decodes FILE with every OUTPUT buffer a GPU resource (zero copy) and
 *       writes the frames read back from the resources' backing memory: I420
 *       for nv12, packed BGRA (visible pixels) for bgra. --hostile also queues
 *       a too-small resource and one whose GPU resource was freed; both must
 *       come back with the ERR flag. --scatter backs each GPU resource with
 *       one entry per page, scattered, as a guest's pages are. The input is fed in 64 KiB chunks, which
 *       the device's parser splits: Annex-B byte streams only (not IVF).
 */
#include <errno.h>
#include <getopt.h>
#include <linux/virtio_gpu.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gpu_front.h"
#include "vv_dev.h"

#define MEM_SIZE (192ull << 20)
#define CHUNK_SIZE (64u * 1024)
#define IN_BUFS 4
#define OUT_BUFS 8
#define GPU_ID_BASE 1000

struct vv_dev video;
int timeout_ms = 10000;
static int failures;

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vv-gpu-client: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A failed expectation: reported, counted, and the run goes on. */
static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	fprintf(ok ? stdout : stderr, "%s: ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vfprintf(ok ? stdout : stderr, fmt, ap);
	va_end(ap);
	fputc('\n', ok ? stdout : stderr);
	failures += !ok;
}


static bool uuid_is_v4(const uint8_t u[16])
{
	return (u[6] & 0xf0) == 0x40 && (u[8] & 0xc0) == 0x80;
}

/* ---- video commands ---- */

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

static void stream_create(uint32_t stream, uint32_t coded_format)
{
	struct virtio_video_stream_create c = {
		.hdr = { VIRTIO_VIDEO_CMD_STREAM_CREATE, stream },
		.in_mem_type = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
		.out_mem_type = VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT,
		.coded_format = coded_format,
	};

	snprintf((char *)c.tag, sizeof(c.tag), "vv-gpu-client");
	video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
}

static void get_params(uint32_t stream, uint32_t queue, struct virtio_video_params *p)
{
	struct virtio_video_get_params c = { .hdr = { VIRTIO_VIDEO_CMD_GET_PARAMS, stream },
					     .queue_type = queue };
	struct virtio_video_get_params_resp r;
	uint32_t t = video_cmd(&c, sizeof(c), &r, sizeof(r));

	if (t != VIRTIO_VIDEO_RESP_OK_GET_PARAMS)
		die("video: GET_PARAMS answered 0x%x", t);
	*p = r.params;
}

static void set_params(uint32_t stream, const struct virtio_video_params *p)
{
	struct virtio_video_set_params c = { .hdr = { VIRTIO_VIDEO_CMD_SET_PARAMS, stream },
					     .params = *p };

	video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
}

/* RESOURCE_CREATE(OUTPUT) of one single-buffer resource named by a UUID. */
static uint32_t create_object_resource(uint32_t stream, uint32_t id, const uint8_t uuid[16],
				       const struct virtio_video_params *p)
{
	struct {
		struct virtio_video_resource_create c;
		struct virtio_video_object_entry e;
	} c = { .c = {
		.hdr = { VIRTIO_VIDEO_CMD_RESOURCE_CREATE, stream },
		.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
		.resource_id = id,
		.planes_layout = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER,
		.num_planes = p->num_planes,
	} };
	uint32_t offset = 0;

	for (uint32_t i = 0; i < p->num_planes && i < VIRTIO_VIDEO_MAX_PLANES; i++) {
		c.c.plane_offsets[i] = offset;
		offset += p->plane_formats[i].plane_size;
	}
	c.c.num_entries[0] = 1;
	memcpy(c.e.uuid, uuid, 16);
	return video_cmd(&c, sizeof(c), NULL, 0);
}

/* ---- check: GPU device rules ---- */

/* The mode the daemon is expected to offer (--display), the EDID's copy (--edid-out). */
static uint32_t want_width = 1024, want_height = 768;
static const char *edid_out;

static void check_display(void)
{
	struct virtio_gpu_ctrl_hdr c = { .type = VIRTIO_GPU_CMD_GET_DISPLAY_INFO };
	struct virtio_gpu_cmd_get_edid e = { .hdr.type = VIRTIO_GPU_CMD_GET_EDID };
	struct virtio_gpu_resp_display_info info;
	struct virtio_gpu_resp_edid edid;
	const uint8_t *t = edid.edid + 54;	/* the first detailed timing: the preferred mode */
	uint32_t clock_hz, h_total, v_total, mhz_x100;
	uint8_t sum = 0;

	gpu_submit(0, &c, sizeof(c), &info, sizeof(info));
	check(info.hdr.type == VIRTIO_GPU_RESP_OK_DISPLAY_INFO && info.pmodes[0].enabled &&
	      info.pmodes[0].r.width == want_width && info.pmodes[0].r.height == want_height &&
	      !info.pmodes[1].enabled,
	      "GET_DISPLAY_INFO: scanout 0 %ux%u enabled (want %ux%u)", info.pmodes[0].r.width,
	      info.pmodes[0].r.height, want_width, want_height);
	gpu_submit(0, &e, sizeof(e), &edid, sizeof(edid));
	for (int i = 0; i < 128; i++)
		sum = (uint8_t)(sum + edid.edid[i]);
	check(edid.hdr.type == VIRTIO_GPU_RESP_OK_EDID && edid.size == 128 && !sum &&
	      !memcmp(edid.edid, "\0\xff\xff\xff\xff\xff\xff\0", 8),
	      "GET_EDID: 128-byte block, header and checksum valid");
	clock_hz = (uint32_t)(t[0] | t[1] << 8) * 10000;
	h_total = (uint32_t)(t[2] | (t[4] >> 4) << 8) + (uint32_t)(t[3] | (t[4] & 15) << 8);
	v_total = (uint32_t)(t[5] | (t[7] >> 4) << 8) + (uint32_t)(t[6] | (t[7] & 15) << 8);
	mhz_x100 = h_total && v_total ? (uint32_t)((uint64_t)clock_hz * 100 / h_total / v_total) : 0;
	check((uint32_t)(t[2] | (t[4] >> 4) << 8) == want_width &&
	      (uint32_t)(t[5] | (t[7] >> 4) << 8) == want_height && mhz_x100 >= 5950 &&
	      mhz_x100 <= 6050,
	      "GET_EDID: preferred timing %ux%u at %u.%02u Hz (want %ux%u at 60)",
	      t[2] | (t[4] >> 4) << 8, t[5] | (t[7] >> 4) << 8, mhz_x100 / 100, mhz_x100 % 100,
	      want_width, want_height);
	if (edid_out) {
		FILE *f = fopen(edid_out, "wb");

		if (!f || fwrite(edid.edid, 128, 1, f) != 1 || fclose(f))
			die("cannot write %s", edid_out);
	}
	e.scanout = 1;
	gpu_submit(0, &e, sizeof(e), &edid, sizeof(edid));
	check(edid.hdr.type == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "GET_EDID of scanout 1 refused");
}

static void check_fence(void)
{
	struct virtio_gpu_resource_unref c = {
		.hdr = { .type = VIRTIO_GPU_CMD_RESOURCE_UNREF, .flags = VIRTIO_GPU_FLAG_FENCE,
			 .fence_id = 0x123456789abcull, .ctx_id = 7 },
		.resource_id = 999999,
	};
	struct virtio_gpu_ctrl_hdr r;

	gpu_submit(0, &c, sizeof(c), &r, sizeof(r));
	check(r.type == VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID && (r.flags & VIRTIO_GPU_FLAG_FENCE) &&
	      r.fence_id == c.hdr.fence_id && r.ctx_id == 7,
	      "fenced command: fence id and context echoed (type 0x%x)", r.type);
}

static void check_resources(void)
{
	uint64_t gpa = vu_alloc(&video.f, 64 * 64 * 4);
	struct virtio_gpu_mem_entry good = { .addr = gpa, .length = 64 * 64 * 4 };
	struct virtio_gpu_mem_entry outside = { .addr = 0x7000000000ull, .length = 4096 };
	struct virtio_gpu_mem_entry wrap = { .addr = ~0ull - 100, .length = 4096 };
	struct virtio_gpu_mem_entry empty = { .addr = gpa, .length = 0 };
	struct virtio_gpu_transfer_to_host_2d t = {
		.hdr.type = VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, .resource_id = 1,
		.r = { 0, 0, 64, 64 },
	};
	struct virtio_gpu_set_scanout so = {
		.hdr.type = VIRTIO_GPU_CMD_SET_SCANOUT, .r = { 0, 0, 64, 64 }, .resource_id = 1,
	};
	struct virtio_gpu_resource_flush fl = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_FLUSH, .r = { 0, 0, 64, 64 }, .resource_id = 1,
	};
	struct virtio_gpu_ctrl_hdr bogus = { .type = 0x1ff };

	check(gpu_create(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 64, 64) == VIRTIO_GPU_RESP_OK_NODATA,
	      "RESOURCE_CREATE_2D 64x64");
	check(gpu_create(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 64, 64) ==
	      VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID, "RESOURCE_CREATE_2D of an existing id refused");
	check(gpu_create(0, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 64, 64) ==
	      VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID, "resource id 0 refused");
	check(gpu_create(2, 999, 64, 64) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "unknown format refused");
	check(gpu_create(2, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 0, 64) ==
	      VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "zero width refused");
	check(gpu_create(2, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 100000, 100000) ==
	      VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "100000x100000 refused");
	check(gpu_create(2, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 16384, 16384) ==
	      VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY, "16384x16384 (1 GiB host image) refused as OUT_OF_MEMORY");
	/* Transfers need a backing. */
	check(gpu_cmd(&t, sizeof(t)) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "TRANSFER_TO_HOST_2D without backing refused");
	check(gpu_attach(1, &outside, 1) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "backing entry outside guest memory refused");
	check(gpu_attach(1, &wrap, 1) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "backing entry wrapping the address space refused");
	check(gpu_attach(1, &empty, 1) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "empty backing entry refused");
	check(gpu_attach(1, &good, 0) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "zero backing entries refused");
	{
		struct virtio_gpu_resource_attach_backing lying = {
			.hdr.type = VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, .resource_id = 1,
			.nr_entries = 1000,
		};

		check(gpu_cmd(&lying, sizeof(lying)) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
		      "nr_entries larger than the command refused");
	}
	check(gpu_attach(77, &good, 1) == VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
	      "backing for an unknown resource refused");
	check(gpu_attach(1, &good, 1) == VIRTIO_GPU_RESP_OK_NODATA, "ATTACH_BACKING");
	check(gpu_cmd(&t, sizeof(t)) == VIRTIO_GPU_RESP_OK_NODATA, "TRANSFER_TO_HOST_2D whole");
	t.r = (struct virtio_gpu_rect){ 60, 60, 8, 8 };
	check(gpu_cmd(&t, sizeof(t)) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "transfer rect past the resource refused");
	t.r = (struct virtio_gpu_rect){ 0xfffffff0u, 0, 0x20, 1 };
	check(gpu_cmd(&t, sizeof(t)) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "transfer rect with wrapping x refused");
	t.r = (struct virtio_gpu_rect){ 0, 0, 64, 64 };
	t.offset = 4;
	check(gpu_cmd(&t, sizeof(t)) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "transfer offset reading past the backing refused");
	t.offset = ~0ull;
	check(gpu_cmd(&t, sizeof(t)) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "transfer offset 2^64-1 refused");
	t.r = (struct virtio_gpu_rect){ 8, 8, 16, 16 };
	t.offset = 8 * 256 + 8 * 4;
	check(gpu_cmd(&t, sizeof(t)) == VIRTIO_GPU_RESP_OK_NODATA, "partial transfer");
	so.scanout_id = 1;
	check(gpu_cmd(&so, sizeof(so)) == VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID,
	      "SET_SCANOUT of scanout 1 refused");
	so.scanout_id = 0;
	so.r.width = 65;
	check(gpu_cmd(&so, sizeof(so)) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "scanout rect past the resource refused");
	so.r.width = 64;
	so.resource_id = 55;
	check(gpu_cmd(&so, sizeof(so)) == VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
	      "scanout of an unknown resource refused");
	so.resource_id = 1;
	check(gpu_cmd(&so, sizeof(so)) == VIRTIO_GPU_RESP_OK_NODATA, "SET_SCANOUT");
	check(gpu_cmd(&fl, sizeof(fl)) == VIRTIO_GPU_RESP_OK_NODATA, "RESOURCE_FLUSH");
	fl.r.height = 65;
	check(gpu_cmd(&fl, sizeof(fl)) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "flush rect past the resource refused");
	check(gpu_cmd(&bogus, sizeof(bogus)) == VIRTIO_GPU_RESP_ERR_UNSPEC,
	      "unknown command answered ERR_UNSPEC");
	check(gpu_cmd(&bogus, 8) == 0, "command shorter than a header dropped");
	{
		struct virtio_gpu_update_cursor cur = {
			.hdr.type = VIRTIO_GPU_CMD_UPDATE_CURSOR, .resource_id = 1,
		};
		struct virtio_gpu_ctrl_hdr r;

		gpu_submit(1, &cur, sizeof(cur), &r, sizeof(r));
		cur.hdr.type = VIRTIO_GPU_CMD_MOVE_CURSOR;
		cur.pos.x = 10;
		gpu_submit(1, &cur, sizeof(cur), &r, sizeof(r));
		check(true, "cursor queue: UPDATE_CURSOR and MOVE_CURSOR answered");
	}
	check(gpu_simple(VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, 1) == VIRTIO_GPU_RESP_OK_NODATA,
	      "DETACH_BACKING");
	t.offset = 0;
	t.r = (struct virtio_gpu_rect){ 0, 0, 64, 64 };
	check(gpu_cmd(&t, sizeof(t)) == VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	      "transfer after DETACH_BACKING refused");
	check(gpu_simple(VIRTIO_GPU_CMD_RESOURCE_UNREF, 1) == VIRTIO_GPU_RESP_OK_NODATA,
	      "RESOURCE_UNREF (while on the scanout)");
	check(gpu_simple(VIRTIO_GPU_CMD_RESOURCE_UNREF, 1) == VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
	      "second RESOURCE_UNREF refused");
	vu_free(&video.f, gpa, 64 * 64 * 4);
}

static void check_uuids(void)
{
	enum { N = 16 };
	struct gpu_buf bufs[N];
	struct virtio_video_params p = { .num_planes = 1, .plane_formats = { { 4096, 64 } } };
	uint8_t again[16], freed[16], never[16] = { 0x12, 0x34, 0x56, 0x78, 0, 0, 0x40, 0, 0x80 };
	bool v4 = true, unique = true;

	for (int i = 0; i < N; i++) {
		gpu_buf_new(&bufs[i], 100 + i, 32, 32);
		v4 &= uuid_is_v4(bufs[i].uuid);
		for (int k = 0; k < i; k++)
			unique &= memcmp(bufs[i].uuid, bufs[k].uuid, 16) != 0;
	}
	check(v4, "%d UUIDs are RFC 4122 version 4", N);
	check(unique, "%d UUIDs are unique", N);
	check(gpu_assign_uuid(100, again) == VIRTIO_GPU_RESP_OK_RESOURCE_UUID &&
	      !memcmp(again, bufs[0].uuid, 16), "ASSIGN_UUID again gives the same UUID");
	check(gpu_assign_uuid(4242, again) == VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
	      "ASSIGN_UUID of an unknown resource refused");

	/* The video device resolves live UUIDs only. */
	stream_create(1, VIRTIO_VIDEO_FORMAT_H264);
	check(create_object_resource(1, 1, bufs[1].uuid, &p) == VIRTIO_VIDEO_RESP_OK_NODATA,
	      "video RESOURCE_CREATE with a live UUID");
	check(create_object_resource(1, 2, never, &p) == VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
	      "video RESOURCE_CREATE with a UUID never assigned: ERR_INVALID_PARAMETER");
	gpu_buf_unref(&bufs[2]);
	check(create_object_resource(1, 3, bufs[2].uuid, &p) == VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
	      "video RESOURCE_CREATE with a freed UUID: ERR_INVALID_PARAMETER");
	check(gpu_assign_uuid(bufs[2].id, again) == VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
	      "ASSIGN_UUID of the freed resource refused");
	/* The same resource id created again is a new resource with a new UUID. */
	memcpy(freed, bufs[2].uuid, 16);
	gpu_buf_free(&bufs[2]);
	gpu_buf_new(&bufs[2], 102, 32, 32);
	check(memcmp(freed, bufs[2].uuid, 16) != 0, "a re-created resource gets a new UUID");
	check(create_object_resource(1, 3, freed, &p) == VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
	      "the old UUID still fails after the id was reused");
	{
		struct virtio_video_cmd_hdr d = { VIRTIO_VIDEO_CMD_STREAM_DESTROY, 1 };

		video_expect(&d, sizeof(d), VIRTIO_VIDEO_RESP_OK_NODATA);
	}
	for (int i = 0; i < N; i++) {
		gpu_buf_unref(&bufs[i]);
		gpu_buf_free(&bufs[i]);
	}
}

/* ---- check: the display socket, QEMU's side ---- */

#define VHOST_USER_GPU_SET_SOCKET 33
enum {
	DISPLAY_GET_PROTOCOL_FEATURES = 1, DISPLAY_SET_PROTOCOL_FEATURES = 2,
	DISPLAY_CURSOR_POS = 4, DISPLAY_CURSOR_POS_HIDE = 5, DISPLAY_CURSOR_UPDATE = 6,
	DISPLAY_SCANOUT = 7, DISPLAY_UPDATE = 8,
};

struct display_msg {
	uint32_t request, size;
	uint32_t *payload;	/* native-endian u32s, then pixels */
};

/* Messages from the daemon, collected by a thread as QEMU's main loop would. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd;
	bool eof;
	unsigned int n;
	struct display_msg msgs[256];
} display = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .fd = -1 };

static bool read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		len -= (size_t)r;
	}
	return true;
}

static void *display_reader(void *arg)
{
	(void)arg;
	for (;;) {
		uint32_t hdr[3];
		struct display_msg m;

		if (!read_all(display.fd, hdr, sizeof(hdr)) || hdr[2] > (64u << 20))
			break;
		m = (struct display_msg){ hdr[0], hdr[2], malloc(hdr[2] + 4) };
		if (!m.payload || !read_all(display.fd, m.payload, hdr[2]))
			break;
		if (hdr[0] == DISPLAY_GET_PROTOCOL_FEATURES) {
			/* QEMU's answer: the features we support (none). */
			uint32_t reply[5] = { DISPLAY_GET_PROTOCOL_FEATURES, 4, 8, 0, 0 };

			if (write(display.fd, reply, sizeof(reply)) != sizeof(reply))
				break;
		}
		pthread_mutex_lock(&display.lock);
		if (display.n < sizeof(display.msgs) / sizeof(display.msgs[0]))
			display.msgs[display.n++] = m;
		else
			free(m.payload);
		pthread_cond_broadcast(&display.cond);
		pthread_mutex_unlock(&display.lock);
	}
	pthread_mutex_lock(&display.lock);
	display.eof = true;
	pthread_cond_broadcast(&display.cond);
	pthread_mutex_unlock(&display.lock);
	return NULL;
}

/* Waits for the message with index i (from the start); NULL after 5 s. */
static const struct display_msg *display_msg(unsigned int i)
{
	struct timespec deadline;
	const struct display_msg *m = NULL;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&display.lock);
	while (display.n <= i && !display.eof &&
	       pthread_cond_timedwait(&display.cond, &display.lock, &deadline) == 0)
		;
	if (display.n > i)
		m = &display.msgs[i];
	pthread_mutex_unlock(&display.lock);
	return m;
}

static bool expect_msg(unsigned int *next, uint32_t request, uint32_t size,
		       const struct display_msg **out)
{
	const struct display_msg *m = display_msg((*next)++);

	*out = m;
	if (!m) {
		check(false, "display: no message %u (wanted request %u)", *next - 1, request);
		return false;
	}
	if (m->request != request || m->size < size) {
		check(false, "display: message %u is request %u of %u bytes, wanted %u of %u", *next - 1,
		      m->request, m->size, request, size);
		return false;
	}
	return true;
}

/* A resource whose pixels are a pattern in format's byte order. */
static uint32_t pattern_resource(uint32_t id, uint32_t format, uint32_t w, uint32_t h,
				 const uint8_t order[4], uint64_t *gpa)
{
	uint64_t size = (uint64_t)w * h * 4, split = size / 3 + 2;
	struct virtio_gpu_mem_entry e[2];
	uint8_t *p;
	uint32_t t;

	/* Two entries, split mid-row, so transfers cross an entry edge. */
	*gpa = vu_alloc(&video.f, size + VU_PAGE);
	if (!*gpa)
		die("out of guest memory");
	e[0] = (struct virtio_gpu_mem_entry){ .addr = *gpa, .length = (uint32_t)split };
	e[1] = (struct virtio_gpu_mem_entry){ .addr = *gpa + split + VU_PAGE,
					      .length = (uint32_t)(size - split) };
	for (uint64_t i = 0; i < size; i++) {
		uint64_t px = i / 4;
		uint32_t x = (uint32_t)(px % w), y = (uint32_t)(px / w);
		uint8_t v[4] = { (uint8_t)x, (uint8_t)y, (uint8_t)(x ^ y), (uint8_t)(x + 3 * y) };

		p = vu_va(&video.f, i < split ? *gpa + i : *gpa + VU_PAGE + i, 1);
		*p = v[order[i % 4]];	/* order: which of R, G, B, A each byte holds */
	}
	if ((t = gpu_create(id, format, w, h)) != VIRTIO_GPU_RESP_OK_NODATA ||
	    (t = gpu_attach(id, e, 2)) != VIRTIO_GPU_RESP_OK_NODATA)
		return t;
	{
		struct virtio_gpu_transfer_to_host_2d c = {
			.hdr.type = VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, .resource_id = id,
			.r = { 0, 0, w, h },
		};

		return gpu_cmd(&c, sizeof(c));
	}
}

/* Pixel (x, y) of a pattern resource as QEMU wants it: B, G, R, X/A. */
static bool pixel_ok(const uint8_t *got, uint32_t x, uint32_t y, bool alpha)
{
	return got[0] == (uint8_t)(x ^ y) && got[1] == (uint8_t)y && got[2] == (uint8_t)x &&
	       got[3] == (alpha ? (uint8_t)(x + 3 * y) : 0xff);
}

static uint32_t scanout_cmd(uint32_t resource, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	struct virtio_gpu_set_scanout c = {
		.hdr.type = VIRTIO_GPU_CMD_SET_SCANOUT, .r = { x, y, w, h }, .resource_id = resource,
	};

	return gpu_cmd(&c, sizeof(c));
}

static uint32_t flush_cmd(uint32_t resource, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	struct virtio_gpu_resource_flush c = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_FLUSH, .r = { x, y, w, h }, .resource_id = resource,
	};

	return gpu_cmd(&c, sizeof(c));
}

static void check_display_socket(void)
{
	/* Byte order of each format: 0 R, 1 G, 2 B, 3 A/X (the names say it). */
	static const uint8_t xrgb[4] = { 3, 0, 1, 2 }, bgrx[4] = { 2, 1, 0, 3 },
			     argb[4] = { 3, 0, 1, 2 };
	const struct display_msg *m;
	unsigned int next = 0, rows = 0;
	uint64_t gpa[3];
	int sv[2];
	pthread_t thread;
	bool ok = true;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    vu_call_ack(&gpu, VHOST_USER_GPU_SET_SOCKET, NULL, 0, &sv[1], 1))
		die("display socket: %s", gpu.err[0] ? gpu.err : strerror(errno));
	close(sv[1]);
	display.fd = sv[0];
	if (pthread_create(&thread, NULL, display_reader, NULL))
		die("pthread_create");
	check(expect_msg(&next, DISPLAY_GET_PROTOCOL_FEATURES, 0, &m) &&
	      expect_msg(&next, DISPLAY_SET_PROTOCOL_FEATURES, 8, &m),
	      "display: protocol features handshake");

	/* X8R8G8B8 96x80, showing the part at (8, 4) of size 64x48. */
	check(pattern_resource(10, VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM, 96, 80, xrgb, &gpa[0]) ==
	      VIRTIO_GPU_RESP_OK_NODATA, "display: X8R8G8B8 resource transferred across two entries");
	check(scanout_cmd(10, 8, 4, 64, 48) == VIRTIO_GPU_RESP_OK_NODATA &&
	      expect_msg(&next, DISPLAY_SCANOUT, 12, &m) && m->payload[0] == 0 &&
	      m->payload[1] == 64 && m->payload[2] == 48, "display: SET_SCANOUT sends SCANOUT 64x48");
	check(flush_cmd(10, 0, 0, 96, 80) == VIRTIO_GPU_RESP_OK_NODATA &&
	      expect_msg(&next, DISPLAY_UPDATE, 20 + 64 * 48 * 4, &m) && m->payload[1] == 0 &&
	      m->payload[2] == 0 && m->payload[3] == 64 && m->payload[4] == 48,
	      "display: flush of the whole resource updates the 64x48 scanout");
	if (m && m->request == DISPLAY_UPDATE && m->size >= 20 + 64 * 48 * 4) {
		const uint8_t *px = (const uint8_t *)&m->payload[5];

		for (uint32_t y = 0; y < 48 && ok; y++)
			for (uint32_t x = 0; x < 64 && ok; x++)
				ok = pixel_ok(px + (y * 64 + x) * 4, x + 8, y + 4, false);
		check(ok, "display: UPDATE pixels are the resource's, as x8r8g8b8");
	}
	check(flush_cmd(10, 20, 30, 10, 5) == VIRTIO_GPU_RESP_OK_NODATA &&
	      expect_msg(&next, DISPLAY_UPDATE, 20 + 10 * 5 * 4, &m) && m->payload[1] == 12 &&
	      m->payload[2] == 26 && m->payload[3] == 10 && m->payload[4] == 5 &&
	      pixel_ok((const uint8_t *)&m->payload[5], 20, 30, false),
	      "display: partial flush sends that rect in scanout coordinates");
	check(flush_cmd(10, 0, 60, 96, 20) == VIRTIO_GPU_RESP_OK_NODATA,
	      "display: flush outside the scanout answered (nothing to send)");

	/* B8G8R8X8 1024x768 on the whole scanout: 3 MiB go in strips. */
	check(pattern_resource(11, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 1024, 768, bgrx, &gpa[1]) ==
	      VIRTIO_GPU_RESP_OK_NODATA, "display: 1024x768 B8G8R8X8 resource");
	check(scanout_cmd(11, 0, 0, 1024, 768) == VIRTIO_GPU_RESP_OK_NODATA &&
	      expect_msg(&next, DISPLAY_SCANOUT, 12, &m) && m->payload[1] == 1024 &&
	      m->payload[2] == 768, "display: mode change to 1024x768");
	check(flush_cmd(11, 0, 0, 1024, 768) == VIRTIO_GPU_RESP_OK_NODATA, "display: full flush");
	ok = true;
	while (rows < 768 && ok) {
		ok = expect_msg(&next, DISPLAY_UPDATE, 20, &m) && m->payload[1] == 0 &&
		     m->payload[2] == rows && m->payload[3] == 1024 &&
		     m->size == 20 + m->payload[3] * m->payload[4] * 4 && m->size <= 20 + (1u << 20) &&
		     pixel_ok((const uint8_t *)&m->payload[5] + 4 * 1023, 1023, rows, false);
		if (ok)
			rows += m->payload[4];
	}
	check(ok && rows == 768, "display: 1024x768 update in strips of at most 1 MiB");

	/* Cursor: A8R8G8B8 64x64 on the cursor queue. */
	check(pattern_resource(12, VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, 64, 64, argb, &gpa[2]) ==
	      VIRTIO_GPU_RESP_OK_NODATA, "display: cursor resource");
	{
		struct virtio_gpu_update_cursor c = {
			.hdr.type = VIRTIO_GPU_CMD_UPDATE_CURSOR, .pos = { 0, 5, 6, 0 },
			.resource_id = 12, .hot_x = 1, .hot_y = 2,
		};
		struct virtio_gpu_ctrl_hdr r;

		gpu_submit(1, &c, sizeof(c), &r, sizeof(r));
		check(expect_msg(&next, DISPLAY_CURSOR_UPDATE, 20 + 64 * 64 * 4, &m) &&
		      m->payload[1] == 5 && m->payload[2] == 6 && m->payload[3] == 1 &&
		      m->payload[4] == 2 && pixel_ok((const uint8_t *)&m->payload[5] + 4 * 65, 1, 1, true),
		      "display: UPDATE_CURSOR sends the cursor image (a8r8g8b8) and hot spot");
		c.hdr.type = VIRTIO_GPU_CMD_MOVE_CURSOR;
		c.pos.x = 300;
		gpu_submit(1, &c, sizeof(c), &r, sizeof(r));
		check(expect_msg(&next, DISPLAY_CURSOR_POS, 12, &m) && m->payload[1] == 300,
		      "display: MOVE_CURSOR sends CURSOR_POS");
		c.hdr.type = VIRTIO_GPU_CMD_UPDATE_CURSOR;
		c.resource_id = 0;
		gpu_submit(1, &c, sizeof(c), &r, sizeof(r));
		check(expect_msg(&next, DISPLAY_CURSOR_POS_HIDE, 12, &m), "display: cursor hidden");
	}
	check(gpu_simple(VIRTIO_GPU_CMD_RESOURCE_UNREF, 11) == VIRTIO_GPU_RESP_OK_NODATA &&
	      expect_msg(&next, DISPLAY_SCANOUT, 12, &m) && m->payload[1] == 0 && m->payload[2] == 0,
	      "display: unref of the shown resource turns the scanout off");

	/* QEMU goes away: the device goes on without a display. */
	shutdown(display.fd, SHUT_RDWR);
	pthread_join(thread, NULL);
	check(scanout_cmd(10, 0, 0, 96, 80) == VIRTIO_GPU_RESP_OK_NODATA &&
	      flush_cmd(10, 0, 0, 96, 80) == VIRTIO_GPU_RESP_OK_NODATA,
	      "display: commands still answered after the display socket closed");
	gpu_simple(VIRTIO_GPU_CMD_RESOURCE_UNREF, 10);
	gpu_simple(VIRTIO_GPU_CMD_RESOURCE_UNREF, 12);
	vu_free(&video.f, gpa[0], 96 * 80 * 4 + VU_PAGE);
	vu_free(&video.f, gpa[1], 1024 * 768 * 4 + VU_PAGE);
	vu_free(&video.f, gpa[2], 64 * 64 * 4 + VU_PAGE);
	close(display.fd);
	for (unsigned int i = 0; i < display.n; i++)
		free(display.msgs[i].payload);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * QEMU stuck (its main loop busy, e.g. waiting for a vhost-user answer of
 * ours): the display socket is never read. The device must not hang with it:
 * a flush gives up on the display within seconds and later ones are quick.
 */
static void check_stuck_display(void)
{
	static const uint8_t bgrx[4] = { 2, 1, 0, 3 };
	uint64_t gpa;
	double t0, first, second;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    vu_call_ack(&gpu, VHOST_USER_GPU_SET_SOCKET, NULL, 0, &sv[1], 1))
		die("display socket: %s", gpu.err[0] ? gpu.err : strerror(errno));
	close(sv[1]);
	pattern_resource(20, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 1024, 768, bgrx, &gpa);
	scanout_cmd(20, 0, 0, 1024, 768);
	t0 = now_s();
	check(flush_cmd(20, 0, 0, 1024, 768) == VIRTIO_GPU_RESP_OK_NODATA, "stuck display: flush answered");
	first = now_s() - t0;
	t0 = now_s();
	flush_cmd(20, 0, 0, 1024, 768);
	second = now_s() - t0;
	check(first < 3.5 && second < 0.5,
	      "stuck display: the device gave up on it (first flush %.1f s, next %.2f s)", first, second);
	gpu_simple(VIRTIO_GPU_CMD_RESOURCE_UNREF, 20);
	vu_free(&video.f, gpa, 1024 * 768 * 4 + VU_PAGE);
	close(sv[0]);
}

/* A new GPU connection starts empty: the old one's UUIDs are all dead. */
static void check_reconnect(const char *gpu_path)
{
	struct gpu_buf b;
	struct virtio_video_params p = { .num_planes = 1, .plane_formats = { { 4096, 64 } } };
	uint8_t uuid[16];
	struct virtio_video_cmd_hdr destroy = { VIRTIO_VIDEO_CMD_STREAM_DESTROY, 2 };

	gpu_buf_new(&b, 300, 32, 32);
	memcpy(uuid, b.uuid, 16);
	gpu_close();
	gpu_open(gpu_path);
	stream_create(2, VIRTIO_VIDEO_FORMAT_H264);
	check(create_object_resource(2, 1, uuid, &p) == VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
	      "UUID of a GPU connection that ended: ERR_INVALID_PARAMETER");
	check(gpu_assign_uuid(300, uuid) == VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
	      "resources of the old GPU connection are gone");
	video_expect(&destroy, sizeof(destroy), VIRTIO_VIDEO_RESP_OK_NODATA);
	gpu_buf_free(&b);
}

/* ---- fuzz ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible from the seed, good enough to pick cases. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* A field value a validator is likely to get wrong. */
static uint32_t edgy32(void)
{
	static const uint32_t edges[] = { 0, 1, 2, 3, 4, 15, 16, 63, 64, 65, 1024, 4096, 16384,
					  16385, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff };

	switch (rng() % 4) {
	case 0:
		return (uint32_t)rng();
	case 1:
		return (uint32_t)(rng() % 16);
	default:
		return edges[rng() % (sizeof(edges) / sizeof(edges[0]))];
	}
}

static void run_fuzz(unsigned int iterations)
{
	static const uint32_t types[] = {
		VIRTIO_GPU_CMD_GET_DISPLAY_INFO, VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
		VIRTIO_GPU_CMD_RESOURCE_UNREF, VIRTIO_GPU_CMD_SET_SCANOUT,
		VIRTIO_GPU_CMD_RESOURCE_FLUSH, VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
		VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
		VIRTIO_GPU_CMD_GET_EDID, VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID,
		VIRTIO_GPU_CMD_UPDATE_CURSOR, VIRTIO_GPU_CMD_MOVE_CURSOR,
		VIRTIO_GPU_CMD_GET_CAPSET_INFO, VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB, 0x0200,
	};
	uint64_t pool = vu_alloc(&video.f, 64 * VU_PAGE);
	struct virtio_gpu_ctrl_hdr info = { .type = VIRTIO_GPU_CMD_GET_DISPLAY_INFO };
	struct virtio_gpu_resp_display_info resp;
	unsigned int answered = 0;

	if (!pool)
		die("out of guest memory");
	for (unsigned int i = 0; i < iterations; i++) {
		uint32_t words[64];
		uint8_t reply[1200];
		uint32_t len;

		/* Keep a few well-formed resources around for the fields to hit. */
		if (i % 64 == 0) {
			struct virtio_gpu_mem_entry e = { .addr = pool, .length = 64 * VU_PAGE };

			for (uint32_t id = 1; id <= 4; id++) {
				gpu_create(id, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 64 * id, 16 * id);
				gpu_attach(id, &e, 1);
			}
		}
		for (unsigned int k = 0; k < 64; k++)
			words[k] = edgy32();
		words[0] = types[rng() % (sizeof(types) / sizeof(types[0]))];
		words[1] = (uint32_t)(rng() % 4);	/* flags: fence, ring index */
		/* Backing entries that point into guest memory now and then. */
		if (words[0] == VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING && rng() % 2) {
			words[7] = (uint32_t)(rng() % 8);
			for (unsigned int k = 8; k + 3 < 64; k += 4) {
				uint64_t addr = pool + rng() % (64 * VU_PAGE);

				memcpy(&words[k], &addr, 8);
				words[k + 2] = (uint32_t)(rng() % (2 * VU_PAGE));
			}
		}
		len = (uint32_t)(rng() % 2 ? rng() % sizeof(words) : 24 + rng() % 48);
		if (len < 1)
			len = 1;
		answered += gpu_submit(words[0] >= VIRTIO_GPU_CMD_UPDATE_CURSOR ? 1 : 0, words, len,
				       reply, sizeof(reply)) > 0;
	}
	gpu_submit(0, &info, sizeof(info), &resp, sizeof(resp));
	check(resp.hdr.type == VIRTIO_GPU_RESP_OK_DISPLAY_INFO,
	      "fuzz: %u commands (%u answered), device still answers", iterations, answered);
	for (uint32_t id = 1; id <= 4; id++)
		gpu_simple(VIRTIO_GPU_CMD_RESOURCE_UNREF, id);
	vu_free(&video.f, pool, 64 * VU_PAGE);
}

/* ---- decode: OUTPUT buffers are GPU resources ---- */

struct out_buf {
	struct gpu_buf g;
	uint32_t video_id;
	struct vv_req *req;
	bool queued, expect_err;
	bool gpu_unrefd;	/* the hostile case: its GPU resource is gone */
};

struct decode {
	uint32_t stream, format;
	FILE *input, *output;
	bool input_done, drain_sent, drained, eos, res_change, hostile, destroying;
	uint32_t next_gpu_id;
	struct virtio_video_params out;
	struct out_buf bufs[OUT_BUFS + 2];
	int nbufs;
	uint64_t in_gpa[IN_BUFS];
	struct vv_req *in_req[IN_BUFS];
	bool in_queued[IN_BUFS];
	uint64_t chunks, frames, errs_seen, errs_expected;
	uint8_t *frame;
	uint8_t *gathered;	/* one resource's bytes */
};

static struct decode d;

static void on_event(struct vv_dev *dev, const struct virtio_video_event *ev)
{
	(void)dev;
	if (ev->event_type == VIRTIO_VIDEO_EVENT_ERROR)
		die("video: ERROR event for stream %u", ev->stream_id);
	if (ev->event_type == VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED)
		d.res_change = true;
}

/* Frames as the reference decode writes them: I420, or BGRA rows. */
static void write_frame(const struct out_buf *b)
{
	const struct virtio_video_params *p = &d.out;
	uint32_t w = p->crop.width ? p->crop.width : p->frame_width;
	uint32_t h = p->crop.height ? p->crop.height : p->frame_height;
	uint8_t *base = d.gathered;
	uint32_t s0 = p->plane_formats[0].stride;
	size_t n = 0;

	gpu_buf_read(&b->g, base);

	if (p->format == VIRTIO_VIDEO_FORMAT_BGRA8888) {
		for (uint32_t y = 0; y < h; y++, n += (size_t)w * 4)
			memcpy(d.frame + n, base + (size_t)(y + p->crop.top) * s0 + p->crop.left * 4,
			       (size_t)w * 4);
	} else {
		const uint8_t *uv = base + p->plane_formats[0].plane_size;
		uint32_t s1 = p->plane_formats[1].stride, cw = (w + 1) / 2, ch = (h + 1) / 2;
		uint8_t *u = d.frame + (size_t)w * h, *v = u + (size_t)cw * ch;

		for (uint32_t y = 0; y < h; y++)
			memcpy(d.frame + (size_t)y * w, base + (size_t)(y + p->crop.top) * s0 + p->crop.left, w);
		for (uint32_t y = 0; y < ch; y++)
			for (uint32_t x = 0; x < cw; x++) {
				const uint8_t *px = uv + (size_t)(y + p->crop.top / 2) * s1 +
						    (p->crop.left / 2 + x) * 2;

				u[(size_t)y * cw + x] = px[0];
				v[(size_t)y * cw + x] = px[1];
			}
		n = (size_t)w * h + 2 * (size_t)cw * ch;
	}
	if (fwrite(d.frame, 1, n, d.output) != n)
		die("write: %s", strerror(errno));
}

static void queue_out(struct out_buf *b)
{
	struct virtio_video_resource_queue *c = vv_cmd(b->req);

	memset(c, 0, sizeof(*c));
	c->hdr = (struct virtio_video_cmd_hdr){ VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, d.stream };
	c->queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
	c->resource_id = b->video_id;
	c->num_data_sizes = d.out.num_planes;
	b->queued = true;
	if (vv_submit(b->req))
		die("video: cannot queue output %u", b->video_id);
}

static void on_out_done(struct vv_req *req)
{
	struct out_buf *b = req->opaque;
	struct virtio_video_resource_queue_resp *r = vv_resp(req);

	b->queued = false;
	if (req->used_len < sizeof(*r) || r->hdr.type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE)
		die("video: output %u answered 0x%x", b->video_id, r->hdr.type);
	if (r->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) {
		if (d.destroying || d.res_change)
			return;
		if (!b->expect_err)
			die("video: output %u (GPU resource %u) came back with ERR", b->video_id,
			    b->g.id);
		d.errs_seen += b->expect_err;
		return;
	}
	if (b->expect_err)
		die("video: output %u should have come back with ERR (size %u)", b->video_id, r->size);
	if (r->size) {
		write_frame(b);
		d.frames++;
	}
	if (r->flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS)
		d.eos = true;
	else if (!d.res_change)
		queue_out(b);
}

static void wait_outputs_back(void)
{
	for (;;) {
		int n = 0;

		for (int i = 0; i < d.nbufs; i++)
			n += d.bufs[i].queued;
		if (!n)
			return;
		if (vv_poll(&video, timeout_ms) <= 0)
			die("video: output buffers not returned");
	}
}

static void drop_outputs(void)
{
	struct virtio_video_queue_clear c = {
		.hdr = { VIRTIO_VIDEO_CMD_QUEUE_CLEAR, d.stream },
		.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
	};

	if (!d.nbufs)
		return;
	video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
	wait_outputs_back();
	c.hdr.type = VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL;
	video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
	for (int i = 0; i < d.nbufs; i++) {
		if (!d.bufs[i].gpu_unrefd)
			gpu_buf_unref(&d.bufs[i].g);
		gpu_buf_free(&d.bufs[i].g);
		vv_req_free(d.bufs[i].req);
	}
	d.nbufs = 0;
}

/* A GPU resource holding all planes of p, as wide as the first plane's rows. */
static void add_out_buf(uint32_t width, uint32_t height, bool expect_err)
{
	struct out_buf *b = &d.bufs[d.nbufs];
	uint32_t t;

	memset(b, 0, sizeof(*b));
	b->video_id = 100 + (uint32_t)d.nbufs;
	gpu_buf_new(&b->g, GPU_ID_BASE + d.next_gpu_id++, width, height);
	b->expect_err = expect_err;
	t = create_object_resource(d.stream, b->video_id, b->g.uuid, &d.out);
	if (t != VIRTIO_VIDEO_RESP_OK_NODATA)
		die("video: RESOURCE_CREATE with the UUID of GPU resource %u answered %s", b->g.id,
		    vv_resp_name(t));
	b->req = vv_req_new(&video, sizeof(struct virtio_video_resource_queue),
			    video.cfg.max_resp_length);
	if (!b->req)
		die("out of guest memory");
	b->req->opaque = b;
	b->req->complete = on_out_done;
	d.nbufs++;
}

static void handle_res_change(void)
{
	struct virtio_video_params p;
	uint64_t total = 0;
	uint32_t width, height;

	drop_outputs();
	d.res_change = false;
	get_params(d.stream, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p);
	p.format = d.format;
	p.num_planes = d.format == VIRTIO_VIDEO_FORMAT_NV12 ? 2 : 1;
	/* Strides of the previous format do not fit this one: the device picks. */
	memset(p.plane_formats, 0, sizeof(p.plane_formats));
	set_params(d.stream, &p);
	get_params(d.stream, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &d.out);
	if (d.out.format != d.format)
		die("video: output format %u after SET_PARAMS", d.out.format);
	for (uint32_t i = 0; i < d.out.num_planes; i++)
		total += d.out.plane_formats[i].plane_size;
	/* BGRA: the resource is the picture; NV12: enough rows of the Y stride. */
	width = d.out.plane_formats[0].stride / 4 ? d.out.plane_formats[0].stride / 4 : 1;
	height = (uint32_t)((total + width * 4ull - 1) / (width * 4ull));
	free(d.frame);
	free(d.gathered);
	d.frame = malloc((size_t)d.out.frame_width * d.out.frame_height * 4 + 16);
	d.gathered = malloc((uint64_t)width * height * 4);
	if (!d.frame || !d.gathered)
		die("out of memory");
	if (d.hostile) {
		/* Too small for the frame, then one whose GPU resource is freed. */
		add_out_buf(16, 16, true);
		d.errs_expected++;
		add_out_buf(width, height, true);
		gpu_buf_unref(&d.bufs[d.nbufs - 1].g);
		d.bufs[d.nbufs - 1].gpu_unrefd = true;
		d.errs_expected++;
	}
	while (d.nbufs < (d.hostile ? OUT_BUFS + 2 : OUT_BUFS))
		add_out_buf(width, height, false);
	for (int i = 0; i < d.nbufs; i++)
		queue_out(&d.bufs[i]);
}

static void on_in_done(struct vv_req *req)
{
	struct virtio_video_resource_queue_resp *r = vv_resp(req);

	d.in_queued[(uintptr_t)req->opaque] = false;
	if (req->used_len < sizeof(*r) || r->hdr.type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE ||
	    (r->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR))
		die("video: input buffer answered 0x%x flags 0x%x", r->hdr.type, r->flags);
}

static void on_drain_done(struct vv_req *req)
{
	struct virtio_video_cmd_hdr *h = vv_resp(req);

	if (h->type != VIRTIO_VIDEO_RESP_OK_NODATA)
		die("video: STREAM_DRAIN answered 0x%x", h->type);
	d.drained = true;
}

static void feed_input(void)
{
	for (int i = 0; i < IN_BUFS && !d.input_done; i++) {
		struct virtio_video_resource_queue *c;
		size_t n;

		if (d.in_queued[i])
			continue;
		n = fread(vu_va(&video.f, d.in_gpa[i], CHUNK_SIZE), 1, CHUNK_SIZE, d.input);
		if (!n) {
			d.input_done = true;
			break;
		}
		c = vv_cmd(d.in_req[i]);
		memset(c, 0, sizeof(*c));
		c->hdr = (struct virtio_video_cmd_hdr){ VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, d.stream };
		c->queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
		c->resource_id = 1 + (uint32_t)i;
		c->timestamp = d.chunks++ * 1000;
		c->num_data_sizes = 1;
		c->data_sizes[0] = (uint32_t)n;
		d.in_queued[i] = true;
		if (vv_submit(d.in_req[i]))
			die("video: cannot queue input");
	}
}

static void create_inputs(void)
{
	for (int i = 0; i < IN_BUFS; i++) {
		struct {
			struct virtio_video_resource_create c;
			struct virtio_video_mem_entry e;
		} c = { .c = {
			.hdr = { VIRTIO_VIDEO_CMD_RESOURCE_CREATE, d.stream },
			.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
			.resource_id = 1 + (uint32_t)i,
			.planes_layout = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER,
			.num_planes = 1,
			.num_entries = { 1 },
		} };

		d.in_gpa[i] = vu_alloc(&video.f, CHUNK_SIZE);
		if (!d.in_gpa[i])
			die("out of guest memory");
		c.e.addr = d.in_gpa[i];
		c.e.length = CHUNK_SIZE;
		video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
		d.in_req[i] = vv_req_new(&video, sizeof(struct virtio_video_resource_queue),
					 video.cfg.max_resp_length);
		if (!d.in_req[i])
			die("out of guest memory");
		d.in_req[i]->opaque = (void *)(uintptr_t)i;
		d.in_req[i]->complete = on_in_done;
	}
}

static void run_decode(uint32_t coded_format)
{
	struct virtio_video_params p;
	struct vv_req *drain = NULL;

	d.stream = 1;
	stream_create(d.stream, coded_format);
	get_params(d.stream, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &p);
	p.format = coded_format;
	p.plane_formats[0].plane_size = CHUNK_SIZE;
	set_params(d.stream, &p);
	create_inputs();
	video.on_event = on_event;
	while (!d.drained || !d.eos) {
		if (d.res_change)
			handle_res_change();
		feed_input();
		if (d.input_done && !d.drain_sent) {
			struct virtio_video_cmd_hdr *c;

			drain = vv_req_new(&video, sizeof(*c), video.cfg.max_resp_length);
			if (!drain)
				die("out of guest memory");
			c = vv_cmd(drain);
			*c = (struct virtio_video_cmd_hdr){ VIRTIO_VIDEO_CMD_STREAM_DRAIN, d.stream };
			drain->complete = on_drain_done;
			if (vv_submit(drain))
				die("video: cannot send STREAM_DRAIN");
			d.drain_sent = true;
		}
		if (vv_poll(&video, timeout_ms) <= 0)
			die("video: no progress (frames %llu)", (unsigned long long)d.frames);
	}
	if (d.hostile)
		check(d.errs_seen == d.errs_expected,
		      "hostile output buffers (too small, freed UUID) came back with ERR: %llu of %llu",
		      (unsigned long long)d.errs_seen, (unsigned long long)d.errs_expected);
	/* Buffers still queued come back (with ERR) when the stream goes. */
	d.destroying = true;
	{
		struct virtio_video_cmd_hdr c = { VIRTIO_VIDEO_CMD_STREAM_DESTROY, d.stream };

		video_expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA);
	}
	wait_outputs_back();
	for (int i = 0; i < d.nbufs; i++) {
		if (!d.bufs[i].gpu_unrefd)
			gpu_buf_unref(&d.bufs[i].g);
		gpu_buf_free(&d.bufs[i].g);
		vv_req_free(d.bufs[i].req);
	}
	for (int i = 0; i < IN_BUFS; i++)
		vv_req_free(d.in_req[i]);
	vv_req_free(drain);
	free(d.frame);
	free(d.gathered);
	printf("decoded %llu frames into GPU resources\n", (unsigned long long)d.frames);
}

static uint32_t coded_format_of(const char *name)
{
	static const struct { const char *name; uint32_t format; } codecs[] = {
		{ "h264", VIRTIO_VIDEO_FORMAT_H264 }, { "hevc", VIRTIO_VIDEO_FORMAT_HEVC },
	};

	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		if (!strcmp(name, codecs[i].name))
			return codecs[i].format;
	die("codec %s: only byte-stream codecs (h264, hevc) can be fed in chunks", name);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vv-gpu-client --video-socket V --gpu-socket G check [--display WxH]\n"
		"                     [--edid-out FILE]   (the mode the daemon must offer, default 1024x768)\n"
		"       vv-gpu-client --video-socket V --gpu-socket G fuzz [--iterations N]\n"
		"       vv-gpu-client --video-socket V --gpu-socket G decode --codec C --input F\n"
		"                     --output OUT [--format nv12|bgra] [--hostile] [--scatter]\n");
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
		{ "format", required_argument, NULL, 'f' },
		{ "hostile", no_argument, NULL, 'H' },
		{ "scatter", no_argument, NULL, 'S' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "display", required_argument, NULL, 'D' },
		{ "edid-out", required_argument, NULL, 'E' },
		{ 0 },
	};
	const char *video_path = NULL, *gpu_path = NULL, *codec = NULL, *input = NULL,
		   *output = NULL, *mode;
	uint64_t want = (1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) |
			(1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT);
	unsigned int iterations = 20000;
	int c;

	d.format = VIRTIO_VIDEO_FORMAT_NV12;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'V': video_path = optarg; break;
		case 'G': gpu_path = optarg; break;
		case 'c': codec = optarg; break;
		case 'i': input = optarg; break;
		case 'o': output = optarg; break;
		case 'f':
			if (!strcmp(optarg, "nv12"))
				d.format = VIRTIO_VIDEO_FORMAT_NV12;
			else if (!strcmp(optarg, "bgra"))
				d.format = VIRTIO_VIDEO_FORMAT_BGRA8888;
			else
				usage();
			break;
		case 'H': d.hostile = true; break;
		case 'S': scatter_backing = true; break;
		case 'n': iterations = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 't': timeout_ms = atoi(optarg); break;
		case 'D':
			if (sscanf(optarg, "%ux%u", &want_width, &want_height) != 2)
				usage();
			break;
		case 'E': edid_out = optarg; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || !video_path || !gpu_path)
		usage();
	mode = argv[optind];
	if (vv_open(&video, video_path, want, 1, MEM_SIZE))
		return 1;
	video.timeout_ms = timeout_ms;
	if (!(video.f.features & (1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT)))
		die("video: the device does not offer RESOURCE_VIRTIO_OBJECT");
	gpu_open(gpu_path);
	if (!strcmp(mode, "check")) {
		check_display();
		check_fence();
		check_resources();
		check_uuids();
		check_display_socket();
		check_stuck_display();
		check_reconnect(gpu_path);
	} else if (!strcmp(mode, "fuzz")) {
		run_fuzz(iterations);
	} else if (!strcmp(mode, "decode")) {
		if (!codec || !input || !output)
			usage();
		d.input = fopen(input, "rb");
		d.output = fopen(output, "wb");
		if (!d.input || !d.output)
			die("%s: %s", d.input ? output : input, strerror(errno));
		run_decode(coded_format_of(codec));
		fclose(d.input);
		if (fclose(d.output))
			die("%s: %s", output, strerror(errno));
	} else {
		usage();
	}
	gpu_close();
	vv_close(&video, true);
	if (failures)
		fprintf(stderr, "vv-gpu-client: %d checks failed\n", failures);
	return failures ? 1 : 0;
}
