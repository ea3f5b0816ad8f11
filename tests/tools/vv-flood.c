// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * vv-flood: a guest that tries to make the daemon use memory (or log lines)
 * without bound. tests/native/budgets.sh runs each case and checks the
 * daemon's peak RSS (VmHWM) and log against a stated bound.
 *
 *   vv-flood --socket PATH --case frames --stream FILE [--copies N] [--size B]
 *            [--rounds R] --hold-file F
 *     queues the bitstream FILE (repeated to fill B bytes, default once) in
 *     N INPUT resources (default 2) and never an OUTPUT resource, queues
 *     each again as it is answered, R times in all (default 1), and keeps
 *     the connection until F exists; prints how many inputs were answered.
 *   vv-flood --socket PATH --case entries [--streams S]
 *     RESOURCE_CREATE of 65,536 entries (all naming one page) on the INPUT
 *     queue of S streams (default 16) x 64 resources, until refused; every
 *     refusal must be ERR_OUT_OF_MEMORY. Then everything is destroyed and a
 *     new stream with a resource must work.
 *   vv-flood --socket PATH --case warn [--count N]
 *     N unknown commands (default 5000), each answered with an error and
 *     worth a warning in the daemon's log.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vv_dev.h"

#define FEAT ((1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) | \
	      (1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG))
#define ENTRIES 65536
#define RESOURCES 64

static struct vv_dev dev;
static const char *cur = "?";

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vv-flood %s: FAIL: ", cur);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint32_t sync_cmd(const void *cmd, uint32_t len)
{
	uint8_t resp[256];
	int t = vv_sync(&dev, cmd, len, resp, sizeof(resp), NULL);

	if (t < 0)
		fail("command 0x%x: no answer", ((const struct virtio_video_cmd_hdr *)cmd)->type);
	return (uint32_t)t;
}

static void expect(const void *cmd, uint32_t len, uint32_t want, const char *what)
{
	uint32_t t = sync_cmd(cmd, len);

	if (t != want)
		fail("%s: got %s, expected %s", what, vv_resp_name(t), vv_resp_name(want));
}

static void create_stream(uint32_t id)
{
	struct virtio_video_stream_create c = { .hdr = { VIRTIO_VIDEO_CMD_STREAM_CREATE, id },
						.coded_format = VIRTIO_VIDEO_FORMAT_H264 };

	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA, "STREAM_CREATE");
}

static void destroy_stream(uint32_t id)
{
	struct virtio_video_cmd_hdr c = { VIRTIO_VIDEO_CMD_STREAM_DESTROY, id };

	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_NODATA, "STREAM_DESTROY");
}

/* RESOURCE_CREATE on INPUT of n entries, each the page at gpa. */
static uint32_t input_resource(uint32_t stream, uint32_t id, uint64_t gpa, uint32_t len,
			       uint32_t n)
{
	uint32_t size = sizeof(struct virtio_video_resource_create) + n * 16;
	struct virtio_video_resource_create *c = calloc(1, size);
	struct virtio_video_mem_entry *e = (void *)(c + 1);
	uint32_t t;

	if (!c)
		fail("out of memory");
	c->hdr = (struct virtio_video_cmd_hdr){ VIRTIO_VIDEO_CMD_RESOURCE_CREATE, stream };
	c->queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
	c->resource_id = id;
	c->planes_layout = VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
	c->num_planes = 1;
	c->num_entries[0] = n;
	for (uint32_t i = 0; i < n; i++)
		e[i] = (struct virtio_video_mem_entry){ .addr = gpa, .length = len };
	t = sync_cmd(c, size);
	free(c);
	return t;
}

static void sanity(void)
{
	struct virtio_video_query_capability c = { .hdr.type = VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
						   .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT };

	expect(&c, sizeof(c), VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY, "QUERY_CAPABILITY");
}

static void c_frames(const char *stream, unsigned int copies, uint32_t fill, unsigned int rounds,
		     const char *hold)
{
	struct vv_req *req[RESOURCES];
	unsigned int answered = 0, refused = 0, left[RESOURCES];
	unsigned long long queued = 0;
	uint8_t *data;
	FILE *f = fopen(stream, "rb");
	long size;
	int waited = 0;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
		fail("cannot read %s", stream);
	data = malloc((size_t)size);
	if (!data || fread(data, 1, (size_t)size, f) != (size_t)size)
		fail("cannot read %s", stream);
	fclose(f);
	if (fill < (uint32_t)size)
		fill = (uint32_t)size;
	if (!copies || copies > RESOURCES || !rounds)
		fail("--copies 1..%u", RESOURCES);
	create_stream(1);
	for (unsigned int i = 0; i < copies; i++) {
		uint32_t len = (fill + 4095) & ~4095u;
		uint64_t gpa = vu_alloc(&dev.f, len);
		struct virtio_video_resource_queue *q;
		uint8_t *va;

		if (!gpa)
			fail("out of guest memory");
		va = vu_va(&dev.f, gpa, len);
		for (uint32_t off = 0; off < fill; off += (uint32_t)size)
			memcpy(va + off, data, fill - off < size ? fill - off : (size_t)size);
		if (input_resource(1, i + 1, gpa, len, 1) != VIRTIO_VIDEO_RESP_OK_NODATA)
			fail("RESOURCE_CREATE %u refused", i + 1);
		req[i] = vv_req_new(&dev, sizeof(*q), sizeof(struct virtio_video_resource_queue_resp));
		if (!req[i])
			fail("out of guest memory");
		q = vv_cmd(req[i]);
		*q = (struct virtio_video_resource_queue){
			.hdr = { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 1 },
			.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT, .resource_id = i + 1,
			.timestamp = i, .num_data_sizes = 1, .data_sizes = { fill },
		};
		if (vv_submit(req[i]))
			fail("submit");
		left[i] = rounds - 1;
		queued++;
	}
	free(data);
	printf("vv-flood frames: %u inputs of %u bytes queued, %u times each, no OUTPUT resource\n",
	       copies, fill, rounds);
	fflush(stdout);
	/* The test script looks at the daemon meanwhile, then creates F. */
	while (access(hold, F_OK)) {
		if (vv_poll(&dev, 100) < 0)
			fail("connection lost while holding");
		for (unsigned int i = 0; i < copies; i++) {
			if (!req[i]->done || !left[i])
				continue;
			left[i]--;
			queued++;
			if (vv_submit(req[i]))
				fail("submit");
		}
		if (++waited > 1200)
			fail("%s did not appear in 120 s", hold);
	}
	for (unsigned int i = 0; i < copies; i++) {
		if (req[i]->done) {
			const struct virtio_video_resource_queue_resp *r = vv_resp(req[i]);

			answered++;
			refused += !!(r->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR);
		}
	}
	printf("vv-flood frames: %llu inputs queued, the last %u of them: %u answered (%u with ERR)\n",
	       queued, copies, answered, refused);
	destroy_stream(1);
	/* STREAM_DESTROY answers the inputs still queued. */
	while (dev.inflight)
		if (vv_poll(&dev, dev.timeout_ms) <= 0)
			fail("queued inputs not answered after STREAM_DESTROY");
	for (unsigned int i = 0; i < copies; i++)
		vv_req_free(req[i]);
	sanity();
}

static void c_entries(unsigned int streams)
{
	uint64_t page = vu_alloc(&dev.f, 4096);
	unsigned long long entries = 0, resources = 0;
	uint32_t t = VIRTIO_VIDEO_RESP_OK_NODATA;

	if (!page)
		fail("out of guest memory");
	for (unsigned int s = 1; s <= streams; s++)
		create_stream(s);
	for (unsigned int s = 1; s <= streams && t == VIRTIO_VIDEO_RESP_OK_NODATA; s++) {
		for (unsigned int r = 1; r <= RESOURCES; r++) {
			t = input_resource(s, r, page, 4096, ENTRIES);
			if (t != VIRTIO_VIDEO_RESP_OK_NODATA)
				break;
			resources++;
			entries += ENTRIES;
		}
	}
	printf("vv-flood entries: %llu resources of %u entries accepted (%llu entries, %llu MiB "
	       "of entry lists)\n", resources, ENTRIES, entries, entries * 16 >> 20);
	if (t != VIRTIO_VIDEO_RESP_OK_NODATA) {
		if (t != VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY)
			fail("refused with %s, expected ERR_OUT_OF_MEMORY", vv_resp_name(t));
		printf("vv-flood entries: then %s\n", vv_resp_name(t));
	}
	sanity();
	for (unsigned int s = 1; s <= streams; s++) {
		struct virtio_video_cmd_hdr c = { VIRTIO_VIDEO_CMD_STREAM_DESTROY, s };

		sync_cmd(&c, sizeof(c));
	}
	/* The budget is given back: a new stream and a big resource work. */
	create_stream(streams + 1);
	t = input_resource(streams + 1, 1, page, 4096, ENTRIES);
	if (t != VIRTIO_VIDEO_RESP_OK_NODATA)
		fail("after the flood, a new resource got %s", vv_resp_name(t));
	destroy_stream(streams + 1);
	printf("vv-flood entries: after destroying them a new stream and resource work\n");
}

static void c_warn(unsigned int count)
{
	struct virtio_video_cmd_hdr c = { 0x1234, 0 };

	for (unsigned int i = 0; i < count; i++)
		if (sync_cmd(&c, sizeof(c)) != VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER)
			fail("unknown command %u not answered ERR_INVALID_PARAMETER", i);
	sanity();
	printf("vv-flood warn: %u unknown commands answered\n", count);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", 1, 0, 's' }, { "case", 1, 0, 'c' }, { "stream", 1, 0, 'f' },
		{ "copies", 1, 0, 'n' }, { "hold-file", 1, 0, 'H' }, { "streams", 1, 0, 'S' },
		{ "count", 1, 0, 'C' }, { "size", 1, 0, 'B' }, { "rounds", 1, 0, 'R' },
		{ 0, 0, 0, 0 },
	};
	const char *sock = NULL, *stream = NULL, *hold = NULL;
	unsigned int copies = 2, streams = 16, count = 5000, rounds = 1;
	uint32_t fill = 0;
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'c': cur = optarg; break;
		case 'f': stream = optarg; break;
		case 'n': copies = (unsigned int)atoi(optarg); break;
		case 'H': hold = optarg; break;
		case 'S': streams = (unsigned int)atoi(optarg); break;
		case 'C': count = (unsigned int)atoi(optarg); break;
		case 'B': fill = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'R': rounds = (unsigned int)atoi(optarg); break;
		default: return 2;
		}
	}
	if (!sock || !strcmp(cur, "?")) {
		fprintf(stderr, "usage: vv-flood --socket PATH --case frames|entries|warn ...\n");
		return 2;
	}
	if (vv_open(&dev, sock, FEAT, 2, 64ull << 20))
		fail("cannot connect");
	dev.timeout_ms = 10000;
	if (!strcmp(cur, "frames")) {
		if (!stream || !hold)
			fail("frames wants --stream and --hold-file");
		c_frames(stream, copies, fill, rounds, hold);
	} else if (!strcmp(cur, "entries")) {
		c_entries(streams);
	} else if (!strcmp(cur, "warn")) {
		c_warn(count);
	} else {
		fail("no such case");
	}
	vv_close(&dev, true);
	printf("vv-flood %s: ok\n", cur);
	return 0;
}
