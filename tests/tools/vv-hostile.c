// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * vv-hostile: a misbehaving guest. Each case connects afresh, does one hostile
 * thing and checks the device's answer against docs/protocol.md (an error
 * code, a dropped request, or a refused vhost-user message); the test script
 * then checks that the daemon is alive and still decodes correctly.
 *
 *   vv-hostile --socket PATH --list
 *   vv-hostile --socket PATH --case NAME [--h264 FILE]
 *
 * --list leaves out the cases that need a daemon option: params-ext-switch
 * (--gpu-socket-path, for virtio objects), params-ext-off (--no-params-ext) and
 * per-res-off (--no-per-resource-mem).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vv_dev.h"

#define FEAT_ALL ((1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) | \
		  (1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG) |  \
		  (1ull << VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE))

static const char *sock_path;
static struct vv_dev dev;
static const char *cur;

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vv-hostile %s: FAIL: ", cur);
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

	printf("vv-hostile %s: ", cur);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void open_dev(uint64_t feat)
{
	if (vv_open(&dev, sock_path, feat, 2, 64ull << 20))
		fail("cannot connect");
	dev.timeout_ms = 5000;
}

/* sends cmd, expects response type want (0: dropped) */
static void expect(const void *cmd, uint32_t len, uint32_t want, const char *what)
{
	uint8_t resp[4096];
	uint32_t used = 0;
	int t = vv_sync(&dev, cmd, len, resp, sizeof(resp), &used);

	if (t < 0)
		fail("%s: no answer", what);
	if ((uint32_t)t != want)
		fail("%s: got %s (0x%x, %u bytes), expected %s", what, vv_resp_name(t), t, used,
		     vv_resp_name(want));
	note("%s -> %s", what, vv_resp_name(t));
}

static void create_stream(uint32_t id, uint32_t fmt)
{
	struct virtio_video_stream_create c = { .hdr = { VIRTIO_VIDEO_CMD_STREAM_CREATE, id },
						.coded_format = fmt };

	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA, "STREAM_CREATE");
}

static void sanity(void)
{
	struct virtio_video_query_capability c = { .hdr.type = VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
						   .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT };

	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY, "sanity QUERY_CAPABILITY");
}

/* RESOURCE_CREATE with explicit entries (guest pages) */
static void res_create(uint32_t stream, uint32_t queue, uint32_t id, uint32_t layout,
		       uint32_t nplanes, const uint32_t *nent, const struct virtio_video_mem_entry *e,
		       uint32_t ne, uint32_t want, const char *what)
{
	uint32_t len = sizeof(struct virtio_video_resource_create) + ne * sizeof(*e);
	uint8_t *b = calloc(1, len);
	struct virtio_video_resource_create *c = (void *)b;

	c->hdr = (struct virtio_video_cmd_hdr){ VIRTIO_VIDEO_CMD_RESOURCE_CREATE, stream };
	c->queue_type = queue;
	c->resource_id = id;
	c->planes_layout = layout;
	c->num_planes = nplanes;
	for (uint32_t i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++)
		c->num_entries[i] = nent[i];
	memcpy(b + sizeof(*c), e, ne * sizeof(*e));
	expect(b, len, want, what);
	free(b);
}

static uint64_t gmem(uint32_t size)
{
	uint64_t g = vu_alloc(&dev.f, size);

	if (!g)
		fail("out of guest memory");
	return g;
}

/* an input resource of 64 KiB, id 1, on stream 1 */
static void input_resource(uint32_t stream, uint32_t id, uint64_t *gpa)
{
	uint32_t nent[8] = { 1 };
	struct virtio_video_mem_entry e = { .addr = gmem(65536), .length = 65536 };

	res_create(stream, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, id, VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER,
		   1, nent, &e, 1, VIRTIO_VIDEO_RESP_OK_NODATA, "RESOURCE_CREATE input");
	if (gpa)
		*gpa = e.addr;
}

/* ---- raw ring access ---- */

#define RAW_BASE 200 /* descriptors the normal path does not reach in these cases */

struct rawd {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/*
 * Writes descriptors RAW_BASE.. and publishes head RAW_BASE + head_off (or the
 * raw head value if head_raw >= 0). Returns the used length, -1 if there is no
 * answer within 2 s, -2 if the backend hung up.
 */
static int raw_submit(const struct rawd *d, int n, int head_raw)
{
	struct vu_vq *vq = &dev.f.vq[VIRTIO_VIDEO_QUEUE_COMMAND];
	uint16_t before = vq->used->idx;
	int i, waited = 0;

	for (i = 0; i < n; i++) {
		vq->desc[RAW_BASE + i].addr = d[i].addr;
		vq->desc[RAW_BASE + i].len = d[i].len;
		vq->desc[RAW_BASE + i].flags = d[i].flags;
		vq->desc[RAW_BASE + i].next = d[i].next;
	}
	vu_vq_raw_publish(&dev.f, vq, head_raw >= 0 ? head_raw : RAW_BASE);
	{
		uint64_t one = 1;

		if (write(vq->kick_fd, &one, 8) != 8)
			fail("kick");
	}
	while (__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) == before) {
		int r = vu_wait(&dev.f, 100);

		if (r < 0)
			return -2;
		if (++waited > 20)
			return -1;
	}
	vq->last_used++;
	return vq->used->ring[before % vq->num].len;
}

static void raw_expect_no_ok(const struct rawd *d, int n, int head_raw, const char *what)
{
	int r = raw_submit(d, n, head_raw);

	if (r == -2)
		note("%s -> connection closed by the backend", what);
	else if (r == -1)
		note("%s -> not answered (ring stopped)", what);
	else if (r == 0)
		note("%s -> dropped (used length 0)", what);
	else
		fail("%s: answered with %d bytes: the device processed a broken chain", what, r);
}

/* ---- cases ---- */

static void c_desc_outside(void)
{
	uint64_t resp = gmem(4096);
	struct rawd d[2] = { { 0x7f0000000000ull, 16, VRING_F_NEXT, RAW_BASE + 1 },
			     { resp, 4096, VRING_F_WRITE, 0 } };

	raw_expect_no_ok(d, 2, -1, "command descriptor outside guest memory");
}

static void c_desc_wrap(void)
{
	uint64_t resp = gmem(4096);
	struct rawd d[2] = { { 0xfffffffffffff000ull, 0x2000, VRING_F_NEXT, RAW_BASE + 1 },
			     { resp, 4096, VRING_F_WRITE, 0 } };

	raw_expect_no_ok(d, 2, -1, "descriptor address+length wrapping 2^64");
}

static void c_desc_straddle(void)
{
	struct vu_region *r = &dev.f.reg[0];
	uint64_t resp = gmem(4096);
	struct rawd d[2] = { { r->gpa + r->size - 8, 16, VRING_F_NEXT, RAW_BASE + 1 },
			     { resp, 4096, VRING_F_WRITE, 0 } };

	raw_expect_no_ok(d, 2, -1, "descriptor straddling the end of a region");
}

static void c_resp_outside(void)
{
	uint64_t cmd = gmem(4096);
	struct virtio_video_query_capability q = { .hdr.type = VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
						   .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT };
	struct rawd d[2] = { { cmd, sizeof(q), VRING_F_NEXT, RAW_BASE + 1 },
			     { 0x20000000000ull, 4096, VRING_F_WRITE, 0 } };

	vu_write(&dev.f, cmd, &q, sizeof(q));
	raw_expect_no_ok(d, 2, -1, "response descriptor outside guest memory");
}

static void c_chain_loop(void)
{
	uint64_t cmd = gmem(4096);
	struct rawd d[2] = { { cmd, 8, VRING_F_NEXT, RAW_BASE + 1 },
			     { cmd, 8, VRING_F_NEXT, RAW_BASE } };

	raw_expect_no_ok(d, 2, -1, "descriptor chain looping back");
}

static void c_next_oob(void)
{
	uint64_t cmd = gmem(4096);
	struct rawd d[1] = { { cmd, 8, VRING_F_NEXT, 60000 } };

	raw_expect_no_ok(d, 1, -1, "next index beyond the ring");
}

static void c_head_oob(void)
{
	raw_expect_no_ok(NULL, 0, 4000, "avail entry naming a head beyond the ring");
}

static void c_indirect_outside(void)
{
	struct rawd d[1] = { { 0x7f0000000000ull, 32, VRING_F_INDIRECT, 0 } };

	raw_expect_no_ok(d, 1, -1, "indirect table outside guest memory");
}

static void c_indirect_nested(void)
{
	uint64_t t = gmem(4096), inner = gmem(4096), resp = gmem(4096);
	struct vu_desc *tab = vu_va(&dev.f, t, 32), *in = vu_va(&dev.f, inner, 32);
	struct rawd d[1] = { { t, 32, VRING_F_INDIRECT, 0 } };

	tab[0] = (struct vu_desc){ inner, 32, VRING_F_INDIRECT | VRING_F_NEXT, 1 };
	tab[1] = (struct vu_desc){ resp, 4096, VRING_F_WRITE, 0 };
	in[0] = (struct vu_desc){ resp, 16, 0, 0 };
	raw_expect_no_ok(d, 1, -1, "nested indirect table");
}

static void c_indirect_bad(void)
{
	uint64_t t = gmem(4096), resp = gmem(4096);
	struct vu_desc *tab = vu_va(&dev.f, t, 64);
	struct rawd d1[1] = { { t, 20, VRING_F_INDIRECT, 0 } };
	struct rawd d2[1] = { { t, 32, VRING_F_INDIRECT, 0 } };
	struct rawd d3[1] = { { t, 0, VRING_F_INDIRECT, 0 } };
	int r;

	tab[0] = (struct vu_desc){ resp, 16, VRING_F_NEXT, 1 };
	tab[1] = (struct vu_desc){ resp, 4096, VRING_F_WRITE, 0 };
	raw_expect_no_ok(d1, 1, -1, "indirect table length not a multiple of 16");
	if (dev.f.sock < 0)
		return;
	tab[1].flags |= VRING_F_NEXT;
	tab[1].next = 7; /* beyond the 2-entry table */
	r = raw_submit(d2, 1, -1);
	if (r > 0)
		fail("indirect next beyond the table: answered with %d bytes", r);
	note("indirect next beyond the table -> %d", r);
	(void)d3;
}

static void c_avail_jump(void)
{
	struct vu_vq *vq = &dev.f.vq[VIRTIO_VIDEO_QUEUE_COMMAND];
	uint64_t one = 1;

	vq->avail_idx += 5000;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	if (write(vq->kick_fd, &one, 8) != 8)
		fail("kick");
	int r = vu_wait(&dev.f, 1000);

	if (vq->used->idx != 0)
		fail("the device consumed %u entries of a ring whose avail idx jumped by 5000",
		     vq->used->idx);
	note("avail idx 5000 ahead -> %s", r < 0 ? "connection closed" : "ignored (ring stopped)");
}

static void c_truncated(void)
{
	struct virtio_video_stream_create c = { .hdr = { VIRTIO_VIDEO_CMD_STREAM_CREATE, 1 },
						.coded_format = VIRTIO_VIDEO_FORMAT_H264 };
	struct virtio_video_resource_queue q = { .hdr = { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 1 } };

	expect(&c, 4, 0, "4-byte command (no header)");
	expect(&c, 12, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "STREAM_CREATE of 12 bytes");
	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	expect(&q, 20, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "RESOURCE_QUEUE of 20 bytes");
	sanity();
}

static void c_resp_small(void)
{
	struct virtio_video_query_capability q = { .hdr.type = VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
						   .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT };
	struct vv_req *req;
	uint32_t sizes[] = { 0, 4, 8, 16 };

	for (unsigned int i = 0; i < 4; i++) {
		req = vv_req_new(&dev, sizeof(q), 4096);
		memcpy(vv_cmd(req), &q, sizeof(q));
		req->resp_len = sizes[i] ? sizes[i] : 1;
		if (!sizes[i]) {
			/* no writable descriptor at all */
			struct vu_sg sg = { req->cmd_gpa, sizeof(q), false };

			vu_vq_add(&dev.f, &dev.f.vq[0], &sg, 1, false, req);
			dev.inflight++;
			vu_vq_kick(&dev.f, &dev.f.vq[0]);
		} else if (vv_submit(req)) {
			fail("submit");
		}
		if (vv_wait(&dev, req))
			fail("QUERY_CAPABILITY with a %u-byte response buffer: no answer", sizes[i]);
		if (sizes[i] < 8 && req->used_len)
			fail("%u-byte response buffer: %u bytes used", sizes[i], req->used_len);
		if (sizes[i] >= 8) {
			uint32_t t = *(uint32_t *)vv_resp(req);

			if (req->used_len != 8 || t != VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER)
				fail("%u-byte response buffer: %s, %u bytes", sizes[i], vv_resp_name(t),
				     req->used_len);
		}
		note("QUERY_CAPABILITY with a %u-byte response buffer -> %s", sizes[i],
		     req->used_len ? "ERR_INVALID_PARAMETER" : "dropped");
		req->resp_len = 4096;
		vv_req_free(req);
	}
	sanity();
}

static void c_unknown_ids(void)
{
	struct virtio_video_cmd_hdr d = { VIRTIO_VIDEO_CMD_STREAM_DESTROY, 77 };
	struct virtio_video_resource_queue q = { .hdr = { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 77 },
						 .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
						 .resource_id = 1,
						 .num_data_sizes = 1 };
	struct virtio_video_cmd_hdr u = { 0x1ff, 1 };

	expect(&d, sizeof(d), VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID, "STREAM_DESTROY of stream 77");
	expect(&q, sizeof(q), VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID, "RESOURCE_QUEUE on stream 77");
	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	q.hdr.stream_id = 1;
	q.resource_id = 55;
	expect(&q, sizeof(q), VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID, "RESOURCE_QUEUE of resource 55");
	expect(&u, sizeof(u), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "unknown command 0x1ff");
	sanity();
}

static void c_bad_create(void)
{
	struct virtio_video_stream_create c = { .hdr = { VIRTIO_VIDEO_CMD_STREAM_CREATE, 1 },
						.coded_format = 0x1234 };

	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "STREAM_CREATE format 0x1234");
	c.coded_format = VIRTIO_VIDEO_FORMAT_YUV420;
	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "STREAM_CREATE raw format");
	c.coded_format = VIRTIO_VIDEO_FORMAT_H264;
	c.in_mem_type = 7;
	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "STREAM_CREATE mem type 7");
	c.out_mem_type = 2;
	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "STREAM_CREATE out mem type 2");
	/* Virtio objects without the feature: accepted (case peer-create). */
	c.in_mem_type = 0;
	c.out_mem_type = 0;
	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA, "STREAM_CREATE");
	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION, "STREAM_CREATE of an existing ID");
	sanity();
}

static void c_res_create_bad(void)
{
	uint32_t one[8] = { 1 }, zero[8] = { 0 }, two[8] = { 2 };
	uint32_t ovf[8] = { 0x80000000u, 0x80000000u }, huge[8] = { 0xffffffffu };
	struct virtio_video_mem_entry good = { .addr = gmem(65536), .length = 65536 };
	struct virtio_video_mem_entry e[2];
	struct vu_region *r = &dev.f.reg[0];
	const uint32_t IN = VIRTIO_VIDEO_QUEUE_TYPE_INPUT, SB = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
	const uint32_t BADP = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;

	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	e[0] = (struct virtio_video_mem_entry){ .addr = 0x7f0000000000ull, .length = 4096 };
	res_create(1, IN, 1, SB, 1, one, e, 1, BADP, "entry outside guest memory");
	e[0] = (struct virtio_video_mem_entry){ .addr = 0xfffffffffffff000ull, .length = 0x2000 };
	res_create(1, IN, 1, SB, 1, one, e, 1, BADP, "entry wrapping 2^64");
	e[0] = (struct virtio_video_mem_entry){ .addr = r->gpa + r->size - 4096, .length = 8192 };
	res_create(1, IN, 1, SB, 1, one, e, 1, BADP, "entry running past the region into the hole");
	e[0] = (struct virtio_video_mem_entry){ .addr = good.addr, .length = 0 };
	res_create(1, IN, 1, SB, 1, one, e, 1, BADP, "zero-length entry");
	res_create(1, IN, 1, SB, 1, zero, e, 0, BADP, "no entries");
	res_create(1, IN, 1, SB, 1, huge, &good, 1, BADP, "num_entries 0xffffffff");
	res_create(1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE, 2, ovf,
		   &good, 1, BADP, "num_entries summing past 2^32");
	res_create(1, IN, 1, SB, 9, one, &good, 1, BADP, "9 planes");
	res_create(1, IN, 1, SB, 0, one, &good, 1, BADP, "0 planes");
	res_create(1, IN, 1, 0, 1, one, &good, 1, BADP, "planes_layout 0");
	res_create(1, IN, 1, 0x40, 1, one, &good, 1, BADP, "planes_layout 0x40");
	res_create(1, 0x999, 1, SB, 1, one, &good, 1, BADP, "queue type 0x999");
	e[0] = good;
	e[1] = (struct virtio_video_mem_entry){ .addr = good.addr, .length = 4096 };
	/*
	 * More entries announced than sent. Commands up to 256 bytes are read
	 * into a stack buffer, whose bytes past the command are whatever other
	 * calls left there: an unchecked count reads garbage that happens to
	 * fail validation, plain and under ASan, so the small case cannot catch
	 * a missing check. Past 256 bytes the command is on the heap, exactly
	 * its size, where ASan reports any read past its end (the daemon's
	 * count check removed: heap-buffer-overflow in parse_entries).
	 */
	res_create(1, IN, 7, SB, 1, two, e, 2, VIRTIO_VIDEO_RESP_OK_NODATA, "valid two-entry RESOURCE_CREATE");
	res_create(1, IN, 8, SB, 1, two, e, 1, BADP, "more entries announced than sent");
	{
		uint32_t n17[8] = { 17 };
		struct virtio_video_mem_entry many[16];

		for (int i = 0; i < 16; i++)
			many[i] = (struct virtio_video_mem_entry){ .addr = good.addr, .length = 4096 };
		res_create(1, IN, 9, SB, 1, n17, many, 16, BADP,
			   "more entries announced than sent (command on the heap)");
	}
	res_create(1, IN, 1, SB, 1, one, &good, 1, VIRTIO_VIDEO_RESP_OK_NODATA, "valid RESOURCE_CREATE");
	res_create(1, IN, 1, SB, 1, one, &good, 1, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION,
		   "RESOURCE_CREATE of an existing ID");
	sanity();
}

/* Stream 1 exists and PER_RESOURCE_MEM_TYPE is not negotiated: bits 30/31 refused. */
static void mem_bits_refused(const struct virtio_video_mem_entry *e)
{
	uint32_t one[8] = { 1 };

	res_create(1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1,
		   VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER | VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT,
		   1, one, e, 1, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
		   "F_VIRTIO_OBJECT without PER_RESOURCE_MEM_TYPE");
	res_create(1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1,
		   VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER | VIRTIO_VIDEO_PLANES_LAYOUT_F_GUEST_PAGES,
		   1, one, e, 1, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
		   "F_GUEST_PAGES without PER_RESOURCE_MEM_TYPE");
}

static void c_features_off(void)
{
	uint32_t two[8] = { 2 };
	struct virtio_video_mem_entry e[2] = { { .addr = gmem(4096), .length = 4096 },
					       { .addr = gmem(4096), .length = 4096 } };

	vv_close(&dev, false);
	open_dev(1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES);
	e[0].addr = gmem(4096);
	e[1].addr = gmem(8192) + 4096;
	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	res_create(1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER, 1,
		   two, e, 2, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
		   "2 entries without NON_CONTIG");
	mem_bits_refused(e);
	sanity();
}

/*
 * The daemon with --no-per-resource-mem: feature 16 is not offered (asked
 * for here, as FEAT_ALL does), so stream 1's planes_layout bits 30/31 are
 * refused.
 */
static void c_per_res_off(void)
{
	struct virtio_video_mem_entry e = { .addr = gmem(4096), .length = 4096 };

	if (dev.f.dev_features & (1ull << VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE))
		fail("PER_RESOURCE_MEM_TYPE offered (features 0x%llx)",
		     (unsigned long long)dev.f.dev_features);
	if (dev.f.features & (1ull << VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE))
		fail("PER_RESOURCE_MEM_TYPE negotiated though not offered");
	note("features offered 0x%llx: no PER_RESOURCE_MEM_TYPE (bit 16)",
	     (unsigned long long)dev.f.dev_features);
	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	mem_bits_refused(&e);
	sanity();
}

/* ---- crosvm's GET/SET_PARAMS_EXT ---- */

/* Sends len bytes of cmd (zero-padded past its struct), expects want. */
static void expect_len(const void *cmd, size_t size, uint32_t len, uint32_t want, const char *what)
{
	uint8_t buf[512] = { 0 };

	memcpy(buf, cmd, size < len ? size : len);
	expect(buf, len, want, what);
}

/* GET_PARAMS_EXT that must succeed: the whole 128-byte answer, checked. */
static struct virtio_video_params_ext get_ext(uint32_t stream, uint32_t queue)
{
	struct virtio_video_get_params_ext c = { { VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, stream }, queue,
						 { 0 } };
	struct virtio_video_get_params_ext_resp r;
	uint32_t used = 0;
	int t = vv_sync(&dev, &c, sizeof(c), &r, sizeof(r), &used);

	if (t != VIRTIO_VIDEO_RESP_OK_GET_PARAMS || used != sizeof(r))
		fail("GET_PARAMS_EXT(0x%x): %s, %u bytes (expected OK_GET_PARAMS, %zu)", queue,
		     vv_resp_name(t), used, sizeof(r));
	if (r.hdr.stream_id != stream || r.params.base.queue_type != queue)
		fail("GET_PARAMS_EXT(0x%x): answered for stream %u queue 0x%x", queue,
		     r.hdr.stream_id, r.params.base.queue_type);
	return r.params;
}

static void set_ext(uint32_t stream, const struct virtio_video_params_ext *p, uint32_t want,
		    const char *what)
{
	struct virtio_video_set_params_ext c = { { VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, stream }, *p };

	expect(&c, sizeof(c), want, what);
}

static void expect_mem(uint32_t stream, uint32_t queue, uint32_t mem, uint32_t plane_size,
		       const char *what)
{
	struct virtio_video_params_ext p = get_ext(stream, queue);

	if (p.resource_type != mem ||
	    (plane_size && p.base.plane_formats[0].plane_size != plane_size))
		fail("%s: queue 0x%x resource_type %u plane_size %u, expected %u and %u", what, queue,
		     p.resource_type, p.base.plane_formats[0].plane_size, mem, plane_size);
	note("%s: GET_PARAMS_EXT(0x%x) resource_type %u, plane_size %u", what, queue,
	     p.resource_type, p.base.plane_formats[0].plane_size);
}

/*
 * The ChromeOS/Android driver's stream on a device without virtio objects
 * (the daemon without a GPU): STREAM_CREATE with virtio objects on both
 * queues is accepted, such a queue takes no resource, SET_PARAMS_EXT may keep
 * the type (the driver's S_FMT echo) or switch to guest pages, never back;
 * GET_PARAMS_EXT(OUTPUT) answers crosvm's 640x480 placeholder before the
 * stream's size is known, plain GET_PARAMS 0x0.
 */
static void c_peer_create(void)
{
	const uint32_t IN = VIRTIO_VIDEO_QUEUE_TYPE_INPUT, OUT = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
	const uint32_t SB = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
	const uint32_t GP = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES, VO = VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
	const uint32_t OK = VIRTIO_VIDEO_RESP_OK_NODATA, BADP = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	struct virtio_video_stream_create c = { .hdr = { VIRTIO_VIDEO_CMD_STREAM_CREATE, 1 },
						.in_mem_type = VO, .out_mem_type = VO,
						.coded_format = VIRTIO_VIDEO_FORMAT_H264 };
	struct virtio_video_get_params gp = { { VIRTIO_VIDEO_CMD_GET_PARAMS, 1 }, OUT, { 0 } };
	struct virtio_video_get_params_resp gr;
	struct virtio_video_params_ext p, out;
	struct virtio_video_mem_entry e = { .addr = gmem(65536), .length = 65536 };
	uint32_t one[8] = { 1 }, used = 0;

	if (dev.f.features & (1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT))
		fail("the device offers RESOURCE_VIRTIO_OBJECT: this case needs one without");
	expect(&c, sizeof(c), OK, "STREAM_CREATE virtio objects on both queues, not offered");
	expect_mem(1, IN, VO, 0, "input queue as created");
	expect_mem(1, OUT, VO, 0, "output queue as created");
	res_create(1, IN, 1, SB, 1, one, &e, 1, BADP,
		   "RESOURCE_CREATE on a virtio-object queue, virtio objects not offered");
	out = get_ext(1, OUT);
	if (out.base.frame_width != 640 || out.base.frame_height != 480 ||
	    out.base.format != VIRTIO_VIDEO_FORMAT_NV12 || out.base.num_planes != 2 ||
	    out.base.plane_formats[0].stride < 640 || out.base.plane_formats[1].stride < 640 ||
	    out.base.plane_formats[0].plane_size < 640 * 480 ||
	    out.base.plane_formats[1].plane_size < 640 * 240 || out.base.crop.width != 640 ||
	    out.base.crop.height != 480)
		fail("GET_PARAMS_EXT(output) before the size: %ux%u format %u planes %u, "
		     "stride %u/%u size %u/%u crop %ux%u: not crosvm's 640x480 NV12 placeholder",
		     out.base.frame_width, out.base.frame_height, out.base.format,
		     out.base.num_planes, out.base.plane_formats[0].stride,
		     out.base.plane_formats[1].stride, out.base.plane_formats[0].plane_size,
		     out.base.plane_formats[1].plane_size, out.base.crop.width, out.base.crop.height);
	note("GET_PARAMS_EXT(output) before the size: 640x480 NV12, strides %u/%u",
	     out.base.plane_formats[0].stride, out.base.plane_formats[1].stride);
	if (vv_sync(&dev, &gp, sizeof(gp), &gr, sizeof(gr), &used) !=
	    VIRTIO_VIDEO_RESP_OK_GET_PARAMS || gr.params.frame_width || gr.params.frame_height)
		fail("plain GET_PARAMS(output) before the size: %ux%u (%u bytes), expected 0x0",
		     gr.params.frame_width, gr.params.frame_height, used);
	note("plain GET_PARAMS(output) before the size -> 0x0");
	p = get_ext(1, IN);
	set_ext(1, &p, OK, "SET_PARAMS_EXT input keeping virtio objects (the driver's S_FMT echo)");
	expect_mem(1, IN, VO, 0, "type kept");
	p.resource_type = GP;
	set_ext(1, &p, OK, "SET_PARAMS_EXT input -> guest pages (its REQBUFS)");
	expect_mem(1, IN, GP, 0, "input switched");
	p.resource_type = VO;
	set_ext(1, &p, BADP, "SET_PARAMS_EXT input -> virtio objects, not offered");
	expect_mem(1, IN, GP, 0, "refused switch: nothing changed");
	res_create(1, IN, 1, SB, 1, one, &e, 1, OK, "RESOURCE_CREATE guest pages after the switch");
	out.resource_type = GP;
	set_ext(1, &out, OK, "SET_PARAMS_EXT output (placeholder echoed) -> guest pages");
	expect_mem(1, OUT, GP, 0, "output switched");
	sanity();
}

/* Malformed EXT requests, on any device that has the dialect: nothing changes. */
static void c_params_ext(void)
{
	const uint32_t IN = VIRTIO_VIDEO_QUEUE_TYPE_INPUT, OUT = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
	const uint32_t BADP = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	struct virtio_video_get_params_ext g = { { VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, 1 }, IN, { 0 } };
	struct virtio_video_set_params_ext sx = { .hdr = { VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, 1 } };
	struct virtio_video_params_ext in;
	uint32_t size;
	struct vv_req *req;

	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	in = get_ext(1, IN);
	size = in.base.plane_formats[0].plane_size;
	if (in.resource_type != VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES || in.base.format !=
	    VIRTIO_VIDEO_FORMAT_H264 || !size)
		fail("GET_PARAMS_EXT(input) of a new stream: resource_type %u format 0x%x size %u",
		     in.resource_type, in.base.format, size);
	note("GET_PARAMS_EXT(input) -> OK_GET_PARAMS, 128 bytes, guest pages");
	expect_len(&g, sizeof(g), 8, BADP, "GET_PARAMS_EXT of 8 bytes");
	expect_len(&g, sizeof(g), 15, BADP, "GET_PARAMS_EXT of 15 bytes");
	expect_len(&g, sizeof(g), 17, BADP, "GET_PARAMS_EXT of 17 bytes");
	expect_len(&g, sizeof(g), 128, BADP, "GET_PARAMS_EXT of 128 bytes");
	g.queue_type = 0x555;
	expect(&g, sizeof(g), BADP, "GET_PARAMS_EXT queue 0x555");
	g.queue_type = IN;
	g.hdr.stream_id = 77;
	expect(&g, sizeof(g), VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID, "GET_PARAMS_EXT stream 77");

	/* A response buffer sized for plain GET_PARAMS cannot take the answer. */
	g.hdr.stream_id = 1;
	req = vv_req_new(&dev, sizeof(g), sizeof(struct virtio_video_get_params_resp));
	if (!req)
		fail("out of guest memory");
	memcpy(vv_cmd(req), &g, sizeof(g));
	if (vv_submit(req) || vv_wait(&dev, req))
		fail("GET_PARAMS_EXT with a 120-byte response buffer: no answer");
	if (req->used_len != 8 ||
	    *(uint32_t *)vv_resp(req) != VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER)
		fail("GET_PARAMS_EXT with a 120-byte response buffer: %s, %u bytes",
		     vv_resp_name(*(uint32_t *)vv_resp(req)), req->used_len);
	note("GET_PARAMS_EXT with a 120-byte response buffer -> ERR_INVALID_PARAMETER");
	vv_req_free(req);

	sx.params = in;
	sx.params.base.plane_formats[0].plane_size = size + 4096;
	expect_len(&sx, sizeof(sx), 120, BADP, "SET_PARAMS_EXT of 120 bytes (plain SET_PARAMS size)");
	expect_len(&sx, sizeof(sx), 127, BADP, "SET_PARAMS_EXT of 127 bytes");
	expect_len(&sx, sizeof(sx), 129, BADP, "SET_PARAMS_EXT of 129 bytes");
	expect_len(&sx, sizeof(sx), 256, BADP, "SET_PARAMS_EXT of 256 bytes");
	sx.params.resource_type = 2;
	expect(&sx, sizeof(sx), BADP, "SET_PARAMS_EXT resource_type 2");
	sx.params.resource_type = 0xffffffffu;
	expect(&sx, sizeof(sx), BADP, "SET_PARAMS_EXT resource_type 0xffffffff");
	sx.params.resource_type = VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
	if (!(dev.f.features & (1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT)))
		expect(&sx, sizeof(sx), BADP, "SET_PARAMS_EXT virtio objects, not negotiated");
	sx.params.resource_type = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
	sx.params.base.queue_type = 0x999;
	expect(&sx, sizeof(sx), BADP, "SET_PARAMS_EXT queue 0x999");
	sx.params.base.queue_type = IN;
	sx.params.base.num_planes = 9;
	expect(&sx, sizeof(sx), BADP, "SET_PARAMS_EXT 9 planes");
	sx.params.base.num_planes = 1;
	sx.params.base.format = VIRTIO_VIDEO_FORMAT_NV12;
	expect(&sx, sizeof(sx), BADP, "SET_PARAMS_EXT input raw format");
	sx.params.base.format = VIRTIO_VIDEO_FORMAT_H264;
	sx.hdr.stream_id = 77;
	expect(&sx, sizeof(sx), VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID, "SET_PARAMS_EXT stream 77");
	sx.hdr.stream_id = 1;
	expect_mem(1, IN, VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES, size, "after the refused requests");
	expect(&sx, sizeof(sx), VIRTIO_VIDEO_RESP_OK_NODATA, "SET_PARAMS_EXT input plane size");
	expect_mem(1, IN, VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES, size + 4096, "after SET_PARAMS_EXT");
	expect_mem(1, OUT, VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES, 0, "output untouched");
	sanity();
}

/*
 * Switching a queue's memory type (needs a device that offers virtio
 * objects: the daemon with --gpu-socket-path): entries are read in the
 * queue's current type, bits 30/31 override it for one resource, and the
 * type changes only while the queue has no resources.
 */
static void c_params_ext_switch(void)
{
	const uint32_t IN = VIRTIO_VIDEO_QUEUE_TYPE_INPUT, OUT = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
	const uint32_t SB = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
	const uint32_t GP = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES, VO = VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
	const uint32_t OK = VIRTIO_VIDEO_RESP_OK_NODATA;
	struct virtio_video_get_params gp = { { VIRTIO_VIDEO_CMD_GET_PARAMS, 1 }, IN, { 0 } };
	struct virtio_video_get_params_resp gr;
	struct virtio_video_set_params sp = { { VIRTIO_VIDEO_CMD_SET_PARAMS, 1 }, { 0 } };
	struct virtio_video_resource_destroy_all da = { { VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, 1 },
							IN, { 0 } };
	struct virtio_video_params_ext p = { 0 };
	uint32_t one[8] = { 1 }, used = 0, size;
	struct virtio_video_mem_entry e = { .addr = gmem(65536), .length = 65536 };

	vv_close(&dev, true);
	open_dev(FEAT_ALL | (1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT));
	if (!(dev.f.features & (1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT)))
		fail("the device does not offer RESOURCE_VIRTIO_OBJECT (run the daemon with "
		     "--gpu-socket-path)");
	e.addr = gmem(65536);
	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	/* Plain GET_PARAMS first, so that the first EXT command is a change. */
	if (vv_sync(&dev, &gp, sizeof(gp), &gr, sizeof(gr), &used) !=
	    VIRTIO_VIDEO_RESP_OK_GET_PARAMS || used != sizeof(gr))
		fail("plain GET_PARAMS(input): %u bytes", used);
	size = gr.params.plane_formats[0].plane_size;
	p.base = gr.params;
	p.resource_type = VO;
	set_ext(1, &p, OK, "SET_PARAMS_EXT input -> virtio objects (no resources)");
	expect_mem(1, IN, VO, size, "input switched");
	expect_mem(1, OUT, GP, 0, "output stays");
	res_create(1, IN, 1, SB, 1, one, &e, 1, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
		   "RESOURCE_CREATE guest-page entry on a virtio-object queue (read as a UUID)");
	res_create(1, IN, 1, SB | VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT |
		   VIRTIO_VIDEO_PLANES_LAYOUT_F_GUEST_PAGES, 1, one, &e, 1,
		   VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "RESOURCE_CREATE with bits 30 and 31");
	res_create(1, IN, 1, SB | VIRTIO_VIDEO_PLANES_LAYOUT_F_GUEST_PAGES, 1, one, &e, 1, OK,
		   "RESOURCE_CREATE bit 30 (guest pages) on a virtio-object queue");
	p.resource_type = GP;
	p.base.plane_formats[0].plane_size = size + 8192;
	set_ext(1, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION,
		"SET_PARAMS_EXT input -> guest pages while a resource exists");
	expect_mem(1, IN, VO, size, "refused change: nothing changed");
	p.resource_type = VO;
	set_ext(1, &p, OK, "SET_PARAMS_EXT input, same memory type, while a resource exists");
	expect_mem(1, IN, VO, size + 8192, "params applied, type kept");
	/* Each queue has its own type and its own resources. */
	p.base = gr.params;
	p.base.queue_type = OUT;
	p.base.format = VIRTIO_VIDEO_FORMAT_NV12;
	p.base.num_planes = 2;
	p.resource_type = VO;
	set_ext(1, &p, OK, "SET_PARAMS_EXT output -> virtio objects");
	expect_mem(1, OUT, VO, 0, "output switched");
	/* Plain SET_PARAMS leaves the memory type alone. */
	sp.params = p.base;
	expect(&sp, sizeof(sp), OK, "plain SET_PARAMS output");
	expect_mem(1, OUT, VO, 0, "plain SET_PARAMS kept the type");
	expect(&da, sizeof(da), OK, "RESOURCE_DESTROY_ALL(input)");
	p.base = gr.params;
	p.resource_type = GP;
	set_ext(1, &p, OK, "SET_PARAMS_EXT input -> guest pages (resources gone)");
	expect_mem(1, IN, GP, size, "input back to guest pages");
	res_create(1, IN, 1, SB, 1, one, &e, 1, OK, "RESOURCE_CREATE guest pages, no bit");
	res_create(1, IN, 2, SB | VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT, 1, one, &e, 1,
		   VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
		   "RESOURCE_CREATE bit 31 with a guest-page entry (not a live UUID)");
	p.resource_type = VO;
	set_ext(1, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION,
		"SET_PARAMS_EXT input -> virtio objects while a resource exists");
	expect_mem(1, IN, GP, size, "refused change: nothing changed");
	sanity();
}

/* The daemon with --no-params-ext: 0x10D/0x10E are unknown commands. */
static void c_params_ext_off(void)
{
	const uint32_t BADP = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	struct virtio_video_get_params_ext g = { { VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, 1 },
						 VIRTIO_VIDEO_QUEUE_TYPE_INPUT, { 0 } };
	struct virtio_video_get_params pg = { { VIRTIO_VIDEO_CMD_GET_PARAMS, 1 },
					      VIRTIO_VIDEO_QUEUE_TYPE_INPUT, { 0 } };
	struct virtio_video_set_params_ext sx = { .hdr = { VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, 1 } };
	struct virtio_video_get_params_resp r;
	uint32_t used = 0;

	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	if (vv_sync(&dev, &pg, sizeof(pg), &r, sizeof(r), &used) != VIRTIO_VIDEO_RESP_OK_GET_PARAMS ||
	    used != sizeof(r))
		fail("plain GET_PARAMS: %u bytes", used);
	note("plain GET_PARAMS -> OK_GET_PARAMS");
	sx.params.base = r.params;
	expect(&g, sizeof(g), BADP, "GET_PARAMS_EXT (disabled)");
	expect(&sx, sizeof(sx), BADP, "SET_PARAMS_EXT (disabled)");
	g.hdr.stream_id = 77;
	expect(&g, sizeof(g), BADP, "GET_PARAMS_EXT stream 77 (disabled: not a stream error)");
	g.hdr.type = 0x10f;
	expect(&g, sizeof(g), BADP, "unknown command 0x10f, for comparison");
	sanity();
}

static struct vv_req *async(const void *cmd, uint32_t len)
{
	struct vv_req *r = vv_req_new(&dev, len, 4096);

	if (!r)
		fail("out of guest memory");
	memcpy(vv_cmd(r), cmd, len);
	if (vv_submit(r))
		fail("submit");
	return r;
}

static uint32_t resp_type(struct vv_req *r)
{
	return r->used_len >= 8 ? *(uint32_t *)vv_resp(r) : 0;
}

static void c_busy(void)
{
	struct virtio_video_resource_queue q = { .hdr = { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 1 },
						 .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
						 .resource_id = 100,
						 .num_data_sizes = 3 };
	struct virtio_video_resource_destroy_all da = { { VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, 1 },
							VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, { 0 } };
	struct virtio_video_queue_clear qc = { { VIRTIO_VIDEO_CMD_QUEUE_CLEAR, 1 },
					       VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, { 0 } };
	struct virtio_video_cmd_hdr dr = { VIRTIO_VIDEO_CMD_STREAM_DRAIN, 1 };
	struct virtio_video_cmd_hdr ds = { VIRTIO_VIDEO_CMD_STREAM_DESTROY, 1 };
	uint32_t one[8] = { 1 };
	struct virtio_video_mem_entry e = { .addr = gmem(1 << 20), .length = 1 << 20 };
	struct virtio_video_resource_queue_resp *qr;
	struct vv_req *r1, *r2;

	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	res_create(1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 100, VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER, 1,
		   one, &e, 1, VIRTIO_VIDEO_RESP_OK_NODATA, "RESOURCE_CREATE output");
	/* no picture and no drain: the resource stays queued */
	r1 = async(&q, sizeof(q));
	expect(&q, sizeof(q), VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION, "re-queue of a queued resource");
	expect(&da, sizeof(da), VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION,
	       "RESOURCE_DESTROY_ALL while queued");
	expect(&qc, sizeof(qc), VIRTIO_VIDEO_RESP_OK_NODATA, "QUEUE_CLEAR(OUTPUT)");
	if (vv_wait(&dev, r1))
		fail("queued resource not returned by QUEUE_CLEAR");
	qr = vv_resp(r1);
	if (resp_type(r1) != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE ||
	    !(qr->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) || qr->size)
		fail("QUEUE_CLEAR returned the resource as %s flags 0x%x size %u",
		     vv_resp_name(resp_type(r1)), qr->flags, qr->size);
	note("resource cleared -> OK_RESOURCE_QUEUE with ERR, size 0");
	vv_req_free(r1);
	/* a drain with no output buffer waits; a second one is refused */
	r2 = async(&dr, sizeof(dr));
	expect(&dr, sizeof(dr), VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION, "second STREAM_DRAIN");
	r1 = async(&q, sizeof(q));
	if (vv_wait(&dev, r1) || vv_wait(&dev, r2))
		fail("drain with nothing decoded: not finished by an output buffer");
	qr = vv_resp(r1);
	if (!(qr->flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) || qr->size ||
	    resp_type(r2) != VIRTIO_VIDEO_RESP_OK_NODATA)
		fail("empty drain: buffer flags 0x%x size %u, drain %s", qr->flags, qr->size,
		     vv_resp_name(resp_type(r2)));
	note("empty drain -> EOS buffer of size 0, drain OK_NODATA");
	vv_req_free(r1);
	vv_req_free(r2);
	/* destroy cancels a pending drain */
	r2 = async(&dr, sizeof(dr));
	expect(&ds, sizeof(ds), VIRTIO_VIDEO_RESP_OK_NODATA, "STREAM_DESTROY with a drain pending");
	if (vv_wait(&dev, r2))
		fail("drain pending at STREAM_DESTROY never answered");
	if (resp_type(r2) != VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION)
		fail("a drain cancelled by STREAM_DESTROY answered %s, not ERR_INVALID_OPERATION",
		     vv_resp_name(resp_type(r2)));
	note("drain cancelled by STREAM_DESTROY -> ERR_INVALID_OPERATION");
	vv_req_free(r2);
	sanity();
}

static void c_bad_params(void)
{
	struct virtio_video_get_params g = { { VIRTIO_VIDEO_CMD_GET_PARAMS, 1 }, 0x555, { 0 } };
	struct virtio_video_set_params s = { { VIRTIO_VIDEO_CMD_SET_PARAMS, 1 }, { 0 } };
	struct virtio_video_resource_queue q = { .hdr = { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 1 },
						 .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
						 .resource_id = 1,
						 .num_data_sizes = 1,
						 .data_sizes = { 65537 } };
	const uint32_t BADP = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;

	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	expect(&g, sizeof(g), BADP, "GET_PARAMS queue 0x555");
	s.params.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
	s.params.format = 99;
	s.params.num_planes = 3;
	expect(&s, sizeof(s), BADP, "SET_PARAMS output format 99");
	s.params.format = VIRTIO_VIDEO_FORMAT_H264;
	expect(&s, sizeof(s), BADP, "SET_PARAMS output coded format");
	s.params.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
	s.params.format = VIRTIO_VIDEO_FORMAT_VP9;
	s.params.num_planes = 1;
	{
		/* the doc allows only the stream's format; a V4L2-like device may switch */
		uint8_t resp[64];
		int t = vv_sync(&dev, &s, sizeof(s), resp, sizeof(resp), NULL);

		if (t != (int)BADP && t != VIRTIO_VIDEO_RESP_OK_NODATA)
			fail("SET_PARAMS input format VP9 on an H.264 stream: %s", vv_resp_name(t));
		note("SET_PARAMS input format VP9 on an H.264 stream -> %s", vv_resp_name(t));
	}
	s.params.format = VIRTIO_VIDEO_FORMAT_H264;
	s.params.num_planes = 9;
	expect(&s, sizeof(s), BADP, "SET_PARAMS 9 planes");
	input_resource(1, 1, NULL);
	expect(&q, sizeof(q), BADP, "RESOURCE_QUEUE data size larger than the resource");
	q.data_sizes[0] = 16;
	q.num_data_sizes = 9;
	expect(&q, sizeof(q), BADP, "RESOURCE_QUEUE 9 data sizes");
	q.num_data_sizes = 1;
	q.queue_type = 0x777;
	expect(&q, sizeof(q), BADP, "RESOURCE_QUEUE queue 0x777");
	sanity();
}

static void c_limits(void)
{
	struct virtio_video_stream_create c = { .hdr = { VIRTIO_VIDEO_CMD_STREAM_CREATE, 0 },
						.coded_format = VIRTIO_VIDEO_FORMAT_H264 };
	uint32_t one[8] = { 1 };
	struct virtio_video_mem_entry e = { .addr = gmem(4096), .length = 4096 };
	uint32_t i;

	/* The default budgets (host/budget.c): 64 streams, 64 resources per queue. */
	for (i = 1; i <= 64; i++) {
		uint8_t resp[64];

		c.hdr.stream_id = i;
		if (vv_sync(&dev, &c, sizeof(c), resp, sizeof(resp), NULL) != VIRTIO_VIDEO_RESP_OK_NODATA)
			fail("stream %u of 64 refused", i);
	}
	c.hdr.stream_id = 65;
	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY, "stream 65");
	for (i = 1; i <= 64; i++) {
		struct {
			struct virtio_video_resource_create c;
			struct virtio_video_mem_entry e;
		} rc = { { .hdr = { VIRTIO_VIDEO_CMD_RESOURCE_CREATE, 1 },
			   .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT, .resource_id = i,
			   .planes_layout = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER, .num_planes = 1 },
			 e };
		uint8_t resp[64];

		memcpy(rc.c.num_entries, one, sizeof(one));
		if (vv_sync(&dev, &rc, sizeof(rc), resp, sizeof(resp), NULL) != VIRTIO_VIDEO_RESP_OK_NODATA)
			fail("resource %u of 64 refused", i);
	}
	res_create(1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 65, VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER, 1,
		   one, &e, 1, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY, "resource 65");
	sanity();
}

static void garbage(uint32_t fmt, const char *what)
{
	struct virtio_video_resource_queue q = { .hdr = { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 1 },
						 .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
						 .resource_id = 1,
						 .num_data_sizes = 1 };
	struct virtio_video_cmd_hdr ds = { VIRTIO_VIDEO_CMD_STREAM_DESTROY, 1 };
	uint64_t gpa;
	unsigned int seed = 12345, i, errs = 0, k;

	create_stream(1, fmt);
	input_resource(1, 1, &gpa);
	for (i = 0; i < 200; i++) {
		uint8_t *p = vu_va(&dev.f, gpa, 65536), resp[64];
		uint32_t n = 1 + rand_r(&seed) % 65536;
		struct virtio_video_resource_queue_resp *r = (void *)resp;

		for (k = 0; k < n; k++)
			p[k] = rand_r(&seed);
		if (fmt == VIRTIO_VIDEO_FORMAT_H264 && i % 2 == 0 && n > 5) {
			/* start codes and plausible NAL headers, the rest random */
			p[0] = p[1] = p[2] = 0;
			p[3] = 1;
			p[4] = (i % 3 == 0) ? 0x67 : (i % 3 == 1) ? 0x68 : 0x65;
		}
		q.data_sizes[0] = n;
		q.timestamp = i;
		/*
		 * No OUTPUT buffer is ever queued: a codec that makes pictures of
		 * the garbage stalls once a few wait, and then takes no more input
		 * (backpressure, codec.h VV_CODEC_AGAIN). A seek every 16 buffers
		 * drops them, so every RESOURCE_QUEUE is answered.
		 */
		if (i && i % 16 == 0) {
			struct virtio_video_queue_clear qc = {
				.hdr = { VIRTIO_VIDEO_CMD_QUEUE_CLEAR, 1 },
				.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
			};

			if (vv_sync(&dev, &qc, sizeof(qc), resp, sizeof(resp), NULL) !=
			    VIRTIO_VIDEO_RESP_OK_NODATA)
				fail("%s: QUEUE_CLEAR(INPUT) after %u buffers refused", what, i);
		}
		if (vv_sync(&dev, &q, sizeof(q), resp, sizeof(resp), NULL) !=
		    VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE)
			fail("%s: RESOURCE_QUEUE %u not answered OK_RESOURCE_QUEUE", what, i);
		errs += r->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR;
	}
	note("%s: 200 random buffers, %u came back with ERR, %llu events", what, errs,
	     (unsigned long long)dev.events);
	expect(&ds, sizeof(ds), VIRTIO_VIDEO_RESP_OK_NODATA, "STREAM_DESTROY after garbage");
	sanity();
}

static void c_garbage_h264(void)
{
	garbage(VIRTIO_VIDEO_FORMAT_H264, "random bytes as H.264");
}

static void c_garbage_vp9(void)
{
	garbage(VIRTIO_VIDEO_FORMAT_VP9, "random bytes as VP9");
}

static void c_garbage_hevc(void)
{
	garbage(VIRTIO_VIDEO_FORMAT_HEVC, "random bytes as HEVC");
}

/* vhost-user level: fresh connections set up by hand */
static int raw_connect(void)
{
	memset(&dev, 0, sizeof(dev));
	if (vu_connect(&dev.f, sock_path, 3000) || vu_negotiate(&dev.f, FEAT_ALL))
		fail("connect: %s", dev.f.err);
	return 0;
}

static void expect_refused(int r, const char *what)
{
	if (r == 0)
		fail("%s: accepted", what);
	note("%s -> refused (%s)", what, dev.f.err);
}

static void c_mem_table_bad(void)
{
	struct {
		uint32_t n, pad;
		uint64_t r[8][4];
	} m = { 0 };
	int fd = memfd_create("small", 0), pfd[2];

	if (ftruncate(fd, 1 << 20))
		fail("ftruncate");
	raw_connect();
	m.n = 9;
	expect_refused(vu_call_ack(&dev.f, VU_SET_MEM_TABLE, &m, 8 + 32 * 8, NULL, 0),
		       "SET_MEM_TABLE with 9 regions");
	vu_close(&dev.f);

	raw_connect();
	m.n = 1;
	m.r[0][0] = 0x100000;
	m.r[0][1] = 1 << 20;
	m.r[0][2] = 0x7000000000ull;
	expect_refused(vu_call_ack(&dev.f, VU_SET_MEM_TABLE, &m, 8 + 32, NULL, 0),
		       "SET_MEM_TABLE without fds");
	vu_close(&dev.f);

	raw_connect();
	m.r[0][1] = 64ull << 20; /* larger than the 1 MiB file */
	if (vu_call_ack(&dev.f, VU_SET_MEM_TABLE, &m, 8 + 32, &fd, 1) == 0)
		note("SET_MEM_TABLE region larger than its file -> accepted (see mem-beyond-file)");
	else
		note("SET_MEM_TABLE region larger than its file -> refused");
	vu_close(&dev.f);

	raw_connect();
	m.r[0][1] = 1 << 20;
	m.r[0][3] = 1ull << 40; /* mmap_offset past the end */
	expect_refused(vu_call_ack(&dev.f, VU_SET_MEM_TABLE, &m, 8 + 32, &fd, 1),
		       "SET_MEM_TABLE mmap_offset past the file");
	vu_close(&dev.f);

	raw_connect();
	m.r[0][3] = 0;
	m.r[0][0] = 0xfffffffffff00000ull; /* gpa + size wraps */
	m.r[0][1] = 2 << 20;
	{
		int fd2 = memfd_create("big", 0);

		if (ftruncate(fd2, 2 << 20))
			fail("ftruncate");
		expect_refused(vu_call_ack(&dev.f, VU_SET_MEM_TABLE, &m, 8 + 32, &fd2, 1),
			       "SET_MEM_TABLE region wrapping 2^64");
		close(fd2);
	}
	vu_close(&dev.f);

	raw_connect();
	if (pipe(pfd))
		fail("pipe");
	m.r[0][0] = 0x100000;
	m.r[0][1] = 1 << 20;
	expect_refused(vu_call_ack(&dev.f, VU_SET_MEM_TABLE, &m, 8 + 32, &pfd[0], 1),
		       "SET_MEM_TABLE with a pipe as memory");
	close(pfd[0]);
	close(pfd[1]);
	vu_close(&dev.f);

	raw_connect();
	expect_refused(vu_call_ack(&dev.f, VU_SET_MEM_TABLE, &m, 12, &fd, 1),
		       "SET_MEM_TABLE payload shorter than its region count");
	vu_close(&dev.f);
	close(fd);
	memset(&dev, 0, sizeof(dev));
	dev.f.sock = -1;
}

/*
 * Rings that share bytes: with the used ring on the avail ring every answer
 * would bump avail->idx and the daemon would pop forever (both devices dead,
 * SIGTERM ignored). SET_VRING_ADDR must refuse each overlap.
 */
static void c_ring_overlap(void)
{
	struct {
		uint32_t index, flags;
		uint64_t desc, used, avail, log;
	} a = { 0 };
	struct {
		uint32_t index, num;
	} st = { 0, 64 };
	uint64_t base;

	raw_connect();
	if (vu_mem_create(&dev.f, 1, 16 << 20, 0x100000) || vu_set_mem_table(&dev.f))
		fail("memory: %s", dev.f.err);
	if (vu_call_ack(&dev.f, VU_SET_VRING_NUM, &st, 8, NULL, 0))
		fail("SET_VRING_NUM 64 refused: %s", dev.f.err);
	base = (uintptr_t)dev.f.reg[0].va;
	a.desc = base;
	a.avail = base + 8192;
	a.used = base + 8192;
	expect_refused(vu_call_ack(&dev.f, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
		       "SET_VRING_ADDR used ring on the avail ring");
	a.used = base + 8192 + 64;
	expect_refused(vu_call_ack(&dev.f, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
		       "SET_VRING_ADDR used ring inside the avail ring");
	a.avail = base + 512;	/* the table is 1024 bytes */
	a.used = base + 16384;
	expect_refused(vu_call_ack(&dev.f, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
		       "SET_VRING_ADDR avail ring inside the descriptor table");
	a.avail = base + 8192;
	a.used = base + 16384;
	if (vu_call_ack(&dev.f, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0))
		fail("SET_VRING_ADDR of separate rings refused: %s", dev.f.err);
	printf("ok: overlapping rings refused, separate ones taken\n");
}

static void c_vring_bad(void)
{
	struct {
		uint32_t index, flags;
		uint64_t desc, used, avail, log;
	} a = { 0 };
	struct {
		uint32_t index, num;
	} st;

	raw_connect();
	if (vu_mem_create(&dev.f, 1, 16 << 20, 0x100000) || vu_set_mem_table(&dev.f))
		fail("memory: %s", dev.f.err);
	st.index = 0;
	st.num = 3;
	expect_refused(vu_call_ack(&dev.f, VU_SET_VRING_NUM, &st, 8, NULL, 0), "SET_VRING_NUM 3");
	st.num = 65536;
	expect_refused(vu_call_ack(&dev.f, VU_SET_VRING_NUM, &st, 8, NULL, 0), "SET_VRING_NUM 65536");
	st.index = 7;
	st.num = 64;
	expect_refused(vu_call_ack(&dev.f, VU_SET_VRING_NUM, &st, 8, NULL, 0), "SET_VRING_NUM ring 7");
	st.index = 0;
	if (vu_call_ack(&dev.f, VU_SET_VRING_NUM, &st, 8, NULL, 0))
		fail("SET_VRING_NUM 64 refused: %s", dev.f.err);
	a.index = 0;
	a.desc = 0x10; /* no region maps this address */
	a.avail = (uintptr_t)dev.f.reg[0].va + 8192;
	a.used = (uintptr_t)dev.f.reg[0].va + 16384;
	expect_refused(vu_call_ack(&dev.f, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
		       "SET_VRING_ADDR desc outside memory");
	a.desc = (uintptr_t)dev.f.reg[0].va + dev.f.reg[0].size - 512; /* table runs off the end */
	expect_refused(vu_call_ack(&dev.f, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
		       "SET_VRING_ADDR table past the end of memory");
	a.index = 9;
	a.desc = (uintptr_t)dev.f.reg[0].va;
	expect_refused(vu_call_ack(&dev.f, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
		       "SET_VRING_ADDR ring 9");
	{
		int e = eventfd(0, 0);
		uint64_t v = 5;

		expect_refused(vu_call_ack(&dev.f, VU_SET_VRING_KICK, &v, 8, &e, 1),
			       "SET_VRING_KICK ring 5");
		close(e);
	}
	/* kicking a ring whose address was refused must not crash anything */
	vu_close(&dev.f);
	memset(&dev, 0, sizeof(dev));
	dev.f.sock = -1;
}

/*
 * The region announced is 64 MiB, its file only 2 MiB: a response buffer
 * placed beyond the end of the file must not be written (SIGBUS).
 */
static void c_mem_beyond_file(void)
{
	struct virtio_video_query_capability q = { .hdr.type = VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
						   .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT };
	uint64_t cmd;
	unsigned int i;
	int r;

	raw_connect();
	if (vu_mem_create(&dev.f, 1, 64 << 20, 0x100000))
		fail("memory: %s", dev.f.err);
	if (ftruncate(dev.f.reg[0].fd, 2 << 20))
		fail("ftruncate");
	dev.f.reg[0].npages = (2 << 20) / VU_PAGE; /* our allocator stays below 2 MiB */
	if (vu_set_mem_table(&dev.f)) {
		note("SET_MEM_TABLE of 64 MiB over a 2 MiB file -> refused");
		vu_close(&dev.f);
		memset(&dev, 0, sizeof(dev));
		dev.f.sock = -1;
		return;
	}
	for (i = 0; i < 2; i++)
		if (vu_vq_setup(&dev.f, i, 64))
			fail("vring: %s", dev.f.err);
	cmd = gmem(4096);
	vu_write(&dev.f, cmd, &q, sizeof(q));
	{
		struct rawd d[2] = { { cmd, sizeof(q), VRING_F_NEXT, RAW_BASE % 64 + 1 },
				     { 0x100000 + (32 << 20), 4096, VRING_F_WRITE, 0 } };
		struct vu_vq *vq = &dev.f.vq[0];
		uint64_t one = 1;
		uint16_t before = vq->used->idx;

		vq->desc[RAW_BASE % 64] = (struct vu_desc){ d[0].addr, d[0].len, d[0].flags, d[0].next };
		vq->desc[RAW_BASE % 64 + 1] = (struct vu_desc){ d[1].addr, d[1].len, d[1].flags, 0 };
		vu_vq_raw_publish(&dev.f, vq, RAW_BASE % 64);
		if (write(vq->kick_fd, &one, 8) != 8)
			fail("kick");
		r = vu_wait(&dev.f, 2000);
		note("response beyond the end of the memory file -> %s",
		     r < 0 ? "connection closed" :
		     vq->used->idx != before ? "answered" : "not answered");
	}
	vu_close(&dev.f);
	memset(&dev, 0, sizeof(dev));
	dev.f.sock = -1;
}

/* Memory removed under a resource: re-send SET_MEM_TABLE without region 1. */
static void c_mem_shrink(void)
{
	struct virtio_video_resource_queue q = { .hdr = { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 1 },
						 .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
						 .resource_id = 1,
						 .num_data_sizes = 1,
						 .data_sizes = { 100 } };
	uint32_t one[8] = { 1 };
	struct virtio_video_mem_entry e = { .addr = vu_alloc_in(&dev.f, 1, 65536), .length = 65536 };
	uint8_t resp[64];
	int t;

	create_stream(1, VIRTIO_VIDEO_FORMAT_H264);
	res_create(1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER, 1,
		   one, &e, 1, VIRTIO_VIDEO_RESP_OK_NODATA, "RESOURCE_CREATE in region 2");
	dev.f.nreg = 1; /* the rings live in region 1 */
	if (vu_set_mem_table(&dev.f))
		note("SET_MEM_TABLE without region 2 refused: %s", dev.f.err);
	dev.f.nreg = 2;
	t = vv_sync(&dev, &q, sizeof(q), resp, sizeof(resp), NULL);
	if (t == VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE &&
	    !(((struct virtio_video_resource_queue_resp *)resp)->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR))
		fail("queueing a resource whose memory is gone succeeded");
	note("RESOURCE_QUEUE of a resource whose memory is gone -> %s", vv_resp_name(t));
	sanity();
}

struct hcase {
	const char *name;
	void (*fn)(void);
	bool own_conn;	 /* sets up its own connections */
	bool ring_break; /* may leave the ring unusable: no sanity afterwards */
};

static const struct hcase cases[] = {
	{ "desc-outside", c_desc_outside, false, true },
	{ "desc-wrap", c_desc_wrap, false, true },
	{ "desc-straddle", c_desc_straddle, false, true },
	{ "resp-outside", c_resp_outside, false, true },
	{ "chain-loop", c_chain_loop, false, true },
	{ "next-oob", c_next_oob, false, true },
	{ "head-oob", c_head_oob, false, true },
	{ "indirect-outside", c_indirect_outside, false, true },
	{ "indirect-nested", c_indirect_nested, false, true },
	{ "indirect-bad", c_indirect_bad, false, true },
	{ "avail-jump", c_avail_jump, false, true },
	{ "truncated", c_truncated, false, false },
	{ "resp-small", c_resp_small, false, false },
	{ "unknown-ids", c_unknown_ids, false, false },
	{ "bad-create", c_bad_create, false, false },
	{ "res-create-bad", c_res_create_bad, false, false },
	{ "features-off", c_features_off, false, false },
	{ "busy", c_busy, false, false },
	{ "bad-params", c_bad_params, false, false },
	{ "limits", c_limits, false, false },
	{ "garbage-h264", c_garbage_h264, false, false },
	{ "garbage-hevc", c_garbage_hevc, false, false },
	{ "garbage-vp9", c_garbage_vp9, false, false },
	{ "mem-table-bad", c_mem_table_bad, true, true },
	{ "vring-bad", c_vring_bad, true, true },
	{ "ring-overlap", c_ring_overlap, true, true },
	{ "mem-beyond-file", c_mem_beyond_file, true, true },
	{ "mem-shrink", c_mem_shrink, false, false },
	{ "params-ext", c_params_ext, false, false },
	{ "peer-create", c_peer_create, false, false },
};

/* Cases that need a daemon option: run by name only, not in --list. */
static const struct hcase option_cases[] = {
	{ "params-ext-switch", c_params_ext_switch, false, false },
	{ "params-ext-off", c_params_ext_off, false, false },
	{ "per-res-off", c_per_res_off, false, false },
};

static const struct hcase *find_case(const char *name)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	for (size_t i = 0; i < sizeof(option_cases) / sizeof(option_cases[0]); i++)
		if (!strcmp(option_cases[i].name, name))
			return &option_cases[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "socket", 1, 0, 's' }, { "case", 1, 0, 'c' },
					    { "list", 0, 0, 'l' }, { 0, 0, 0, 0 } };
	const struct hcase *hc;
	const char *name = NULL;
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
		else
			return 2;
	}
	if (list) {
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			puts(cases[i].name);
		return 0;
	}
	if (!sock_path || !name) {
		fprintf(stderr, "usage: vv-hostile --socket PATH (--list | --case NAME)\n");
		return 2;
	}
	hc = find_case(name);
	if (!hc) {
		fprintf(stderr, "vv-hostile: no case %s\n", name);
		return 2;
	}
	cur = name;
	if (!hc->own_conn)
		open_dev(FEAT_ALL);
	hc->fn();
	if (!hc->own_conn) {
		if (hc->ring_break)
			vu_close(&dev.f);
		else
			vv_close(&dev, true);
	}
	printf("vv-hostile %s: ok\n", name);
	return 0;
}
