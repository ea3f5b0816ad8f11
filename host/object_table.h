/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exported objects shared between the devices of one daemon: the GPU device
 * assigns a UUID to a resource (RESOURCE_ASSIGN_UUID), the video device
 * resolves a VIRTIO_OBJECT entry to that resource's backing pages.
 *
 * An object is reference counted. The GPU device holds one reference while
 * the resource exists; the video device holds one per video resource that
 * names it. When the GPU resource goes away the object is killed: it leaves
 * the table and loses its backing, so a holder sees `alive == false` and never
 * writes into pages the guest may have reused.
 */
#ifndef VV_OBJECT_TABLE_H
#define VV_OBJECT_TABLE_H

#include <stdbool.h>
#include <stdint.h>

struct vv_object_entry {
	uint64_t addr;		/* guest physical address */
	uint32_t len;
};

struct vv_object {
	uint8_t uuid[16];
	unsigned int refcount;
	bool alive;
	/* Layout of the resource (2D: one plane, stride = width * bpp). */
	uint32_t gpu_format;	/* VIRTIO_GPU_FORMAT_* */
	uint32_t width, height, stride;
	/* Current backing; may be replaced while the object lives. */
	unsigned int num_entries;
	struct vv_object_entry *entries;
	unsigned long long backing_generation;	/* bumped at every change */
	/* Counters for logs and tests */
	unsigned long long writes;
};

struct vv_object_table;

struct vv_object_table *vv_object_table_new(void);
void vv_object_table_free(struct vv_object_table *table);

/* GPU side: a new object with a fresh random (v4) UUID, refcount 1. */
struct vv_object *vv_object_create(struct vv_object_table *table);
/* Replaces the backing (entries copied); NULL/0 detaches it. */
bool vv_object_set_backing(struct vv_object *obj, const struct vv_object_entry *entries,
			   unsigned int n);
/* The resource is gone: drop it from the table, forget its backing, put. */
void vv_object_kill(struct vv_object_table *table, struct vv_object *obj);

/* Video side: a reference to a live object, or NULL (unknown or freed). */
struct vv_object *vv_object_lookup(struct vv_object_table *table, const uint8_t uuid[16]);
void vv_object_get(struct vv_object *obj);
void vv_object_put(struct vv_object *obj);
/* Objects in the table (alive). */
unsigned int vv_object_table_count(const struct vv_object_table *table);

#endif
