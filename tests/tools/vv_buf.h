/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * Guest buffers of the native clients (vv-client's decoder and encoder
 * modes): one contiguous run of guest pages, or (scatter) one 4 KiB entry per
 * page, non-adjacent and in reverse order, spread over every memory region,
 * so the device must honour each entry (RESOURCE_NON_CONTIG).
 */
#ifndef VV_BUF_H
#define VV_BUF_H

#include <stdbool.h>
#include <stdint.h>

#include "vu_front.h"

struct vv_buf {
	int nent;
	struct vu_sg *ent;	/* the entries, in buffer order */
	int nalloc;
	uint64_t alloc_gpa[VU_MAX_REGIONS];
	uint64_t alloc_len[VU_MAX_REGIONS];
	uint32_t size;
};

/* size bytes; false (nothing allocated) when guest memory is short. */
bool vv_buf_alloc(struct vu_front *f, struct vv_buf *b, uint32_t size, bool scatter);
void vv_buf_free(struct vu_front *f, struct vv_buf *b);
/* Copies len bytes at offset off of the buffer to (write) or from guest memory. */
bool vv_buf_io(struct vu_front *f, const struct vv_buf *b, uint64_t off, void *p, uint64_t len,
	       bool write);

#endif /* VV_BUF_H */
