// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * The GPU side of the native clients that use both devices (vv-gpu-client,
 * vv-enc-client): a vhost-user connection to the daemon's virtio-gpu device
 * sharing the video connection's guest memory, its commands, and GPU
 * resources exported by UUID.
 */
#include <stdlib.h>
#include <string.h>

#include "gpu_front.h"

#define GPU_QSIZE 64

struct vu_front gpu;

/*
 * Connects to the GPU device with the video connection's guest memory, so
 * that both devices see the same pages at the same guest addresses.
 */
void gpu_open(const char *path)
{
	uint64_t want = (1ull << VIRTIO_GPU_F_EDID) | (1ull << VIRTIO_GPU_F_RESOURCE_UUID);

	memset(&gpu, 0, sizeof(gpu));
	if (vu_connect(&gpu, path, timeout_ms) || vu_negotiate(&gpu, want))
		die("gpu: %s", gpu.err);
	if ((gpu.features & want) != want)
		die("gpu: device lacks EDID or RESOURCE_UUID (features 0x%llx)",
		    (unsigned long long)gpu.dev_features);
	gpu.nreg = video.f.nreg;
	memcpy(gpu.reg, video.f.reg, sizeof(gpu.reg));
	if (vu_set_mem_table(&gpu) || vu_vq_setup(&gpu, 0, GPU_QSIZE) ||
	    vu_vq_setup(&gpu, 1, GPU_QSIZE))
		die("gpu: %s", gpu.err);
}

void gpu_close(void)
{
	/* The memory belongs to the video connection. */
	gpu.nreg = 0;
	vu_close(&gpu);
}

/*
 * Sends one command on queue q and waits for its answer; returns the used
 * length and copies the response into resp.
 */
uint32_t gpu_submit(unsigned int q, const void *cmd, uint32_t len, void *resp,
			   uint32_t resp_len)
{
	uint64_t cmd_gpa = vu_alloc(&video.f, len), resp_gpa = vu_alloc(&video.f, resp_len);
	struct vu_sg sg[2] = { { cmd_gpa, len, false }, { resp_gpa, resp_len, true } };
	void *token;
	uint32_t used = 0;
	int r;

	if (!cmd_gpa || !resp_gpa)
		die("out of guest memory");
	vu_write(&video.f, cmd_gpa, cmd, len);
	memset(vu_va(&video.f, resp_gpa, resp_len), 0xcc, resp_len);
	if (vu_vq_add(&gpu, &gpu.vq[q], sg, 2, false, (void *)1))
		die("gpu: %s", gpu.err);
	vu_vq_kick(&gpu, &gpu.vq[q]);
	while ((r = vu_vq_get(&gpu, &gpu.vq[q], &token, &used)) == 0)
		if (vu_wait(&gpu, timeout_ms) <= 0)
			die("gpu: no answer to command 0x%x", ((const struct virtio_gpu_ctrl_hdr *)cmd)->type);
	if (r < 0)
		die("gpu: %s", gpu.err);
	if (used > resp_len)
		die("gpu: device used %u bytes of a %u-byte response", used, resp_len);
	vu_read(&video.f, resp_gpa, resp, resp_len);
	vu_free(&video.f, cmd_gpa, len);
	vu_free(&video.f, resp_gpa, resp_len);
	return used;
}

/* A control command answered with a bare header: returns the response type. */
uint32_t gpu_cmd(const void *cmd, uint32_t len)
{
	struct virtio_gpu_ctrl_hdr resp;

	if (gpu_submit(0, cmd, len, &resp, sizeof(resp)) < sizeof(resp))
		return 0;
	return resp.type;
}

uint32_t gpu_create(uint32_t id, uint32_t format, uint32_t w, uint32_t h)
{
	struct virtio_gpu_resource_create_2d c = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
		.resource_id = id, .format = format, .width = w, .height = h,
	};

	return gpu_cmd(&c, sizeof(c));
}

uint32_t gpu_attach(uint32_t id, const struct virtio_gpu_mem_entry *e, uint32_t n)
{
	struct virtio_gpu_resource_attach_backing a = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, .resource_id = id, .nr_entries = n,
	};
	uint32_t len = sizeof(a) + n * sizeof(*e), t;
	uint8_t *c = malloc(len);

	if (!c)
		die("out of memory");
	memcpy(c, &a, sizeof(a));
	memcpy(c + sizeof(a), e, n * sizeof(*e));
	t = gpu_cmd(c, len);
	free(c);
	return t;
}

uint32_t gpu_simple(uint32_t type, uint32_t id)
{
	struct virtio_gpu_resource_unref c = { .hdr.type = type, .resource_id = id };

	return gpu_cmd(&c, sizeof(c));
}

/* Returns the response type; the UUID in uuid when OK. */
uint32_t gpu_assign_uuid(uint32_t id, uint8_t uuid[16])
{
	struct virtio_gpu_resource_assign_uuid c = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID, .resource_id = id,
	};
	struct virtio_gpu_resp_resource_uuid r;

	if (gpu_submit(0, &c, sizeof(c), &r, sizeof(r)) < sizeof(r.hdr))
		return 0;
	memcpy(uuid, r.uuid, 16);
	return r.hdr.type;
}


bool scatter_backing;

void gpu_buf_new(struct gpu_buf *b, uint32_t id, uint32_t width, uint32_t height)
{
	uint64_t pages;
	uint32_t t;

	memset(b, 0, sizeof(*b));
	b->id = id;
	b->width = width;
	b->height = height;
	b->size = (uint64_t)width * height * 4;
	pages = (b->size + VU_PAGE - 1) / VU_PAGE;
	b->nentries = scatter_backing ? (uint32_t)pages : 1;
	b->alloc_size = scatter_backing ? 2 * pages * VU_PAGE : b->size;
	b->gpa = vu_alloc(&video.f, b->alloc_size);
	b->entries = calloc(b->nentries, sizeof(*b->entries));
	if (!b->gpa || !b->entries)
		die("out of guest memory for a %ux%u resource", width, height);
	memset(vu_va(&video.f, b->gpa, b->alloc_size), 0, b->alloc_size);
	for (uint32_t i = 0; i < b->nentries; i++) {
		uint64_t left = b->size - (uint64_t)i * VU_PAGE;

		b->entries[i] = scatter_backing ?
			(struct virtio_gpu_mem_entry){
				.addr = b->gpa + (2 * (pages - 1 - i) + 1) * VU_PAGE,
				.length = left < VU_PAGE ? (uint32_t)left : VU_PAGE } :
			(struct virtio_gpu_mem_entry){ .addr = b->gpa, .length = (uint32_t)b->size };
	}
	if ((t = gpu_create(id, VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, width, height)) !=
		    VIRTIO_GPU_RESP_OK_NODATA ||
	    (t = gpu_attach(id, b->entries, b->nentries)) != VIRTIO_GPU_RESP_OK_NODATA ||
	    (t = gpu_assign_uuid(id, b->uuid)) != VIRTIO_GPU_RESP_OK_RESOURCE_UUID)
		die("gpu: resource %u %ux%u: answered 0x%x", id, width, height, t);
}

/* The resource's bytes, gathered from its backing entries into dst. */
void gpu_buf_read(const struct gpu_buf *b, uint8_t *dst)
{
	for (uint32_t i = 0; i < b->nentries; i++) {
		vu_read(&video.f, b->entries[i].addr, dst, b->entries[i].length);
		dst += b->entries[i].length;
	}
}

/* Unrefs the GPU resource; the pages stay allocated (the guest's memory). */
void gpu_buf_unref(struct gpu_buf *b)
{
	uint32_t t = gpu_simple(VIRTIO_GPU_CMD_RESOURCE_UNREF, b->id);

	if (t != VIRTIO_GPU_RESP_OK_NODATA)
		die("gpu: unref of %u answered 0x%x", b->id, t);
}

void gpu_buf_free(struct gpu_buf *b)
{
	vu_free(&video.f, b->gpa, b->alloc_size);
	free(b->entries);
	memset(b, 0, sizeof(*b));
}
void gpu_buf_write(const struct gpu_buf *b, const uint8_t *src)
{
	for (uint32_t i = 0; i < b->nentries; i++) {
		vu_write(&video.f, b->entries[i].addr, src, b->entries[i].length);
		src += b->entries[i].length;
	}
}
