/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * The GPU side of the native clients that use both devices: see gpu_front.c.
 * The program defines `video` (the video connection whose guest memory the
 * GPU connection shares), `timeout_ms` and die().
 */
#ifndef GPU_FRONT_H
#define GPU_FRONT_H

#include <linux/virtio_gpu.h>
#include <stdbool.h>
#include <stdint.h>

#include "vv_dev.h"

extern struct vv_dev video;
extern int timeout_ms;
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

extern struct vu_front gpu;
/* gpu_buf_new() backs resources with one entry per page, scattered. */
extern bool scatter_backing;

/* Connects to the GPU device with the video connection's guest memory. */
void gpu_open(const char *path);
void gpu_close(void);
/* One command on queue q, waited for; returns the used length, resp filled. */
uint32_t gpu_submit(unsigned int q, const void *cmd, uint32_t len, void *resp,
		    uint32_t resp_len);
/* A control command answered with a bare header: returns the response type. */
uint32_t gpu_cmd(const void *cmd, uint32_t len);
uint32_t gpu_create(uint32_t id, uint32_t format, uint32_t w, uint32_t h);
uint32_t gpu_attach(uint32_t id, const struct virtio_gpu_mem_entry *e, uint32_t n);
uint32_t gpu_simple(uint32_t type, uint32_t id);
/* Returns the response type; the UUID in uuid when OK. */
uint32_t gpu_assign_uuid(uint32_t id, uint8_t uuid[16]);

/*
 * A GPU resource exported by UUID. Its backing is one run of guest pages, or
 * (scatter, as a guest's shmem pages would be) one entry per page, every
 * other page, in reverse order.
 */
struct gpu_buf {
	uint32_t id, width, height;
	uint64_t gpa, size, alloc_size;
	uint32_t nentries;
	struct virtio_gpu_mem_entry *entries;
	uint8_t uuid[16];
};

/* A B8G8R8A8 resource of width x height, backed, exported: dies on failure. */
void gpu_buf_new(struct gpu_buf *b, uint32_t id, uint32_t width, uint32_t height);
/* The resource's bytes, gathered from its backing entries into dst / written from src. */
void gpu_buf_read(const struct gpu_buf *b, uint8_t *dst);
void gpu_buf_write(const struct gpu_buf *b, const uint8_t *src);
/* Unrefs the GPU resource; the pages stay allocated (the guest's memory). */
void gpu_buf_unref(struct gpu_buf *b);
void gpu_buf_free(struct gpu_buf *b);

#endif
