// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/* Guest buffers for the native clients: see vv_buf.h. */
#include "vv_buf.h"

#include <stdlib.h>
#include <string.h>

bool vv_buf_alloc(struct vu_front *f, struct vv_buf *b, uint32_t size, bool scatter)
{
	uint32_t pages = (size + VU_PAGE - 1) / VU_PAGE, i;
	int r;

	memset(b, 0, sizeof(*b));
	b->size = size;
	if (!scatter || pages <= 1) {
		b->ent = calloc(1, sizeof(*b->ent));
		b->alloc_gpa[0] = vu_alloc(f, size);
		b->alloc_len[0] = size;
		b->nalloc = 1;
		if (!b->alloc_gpa[0] || !b->ent)
			goto fail;
		b->nent = 1;
		b->ent[0] = (struct vu_sg){ b->alloc_gpa[0], size, true };
		return true;
	}
	b->ent = calloc(pages, sizeof(*b->ent));
	if (!b->ent)
		goto fail;
	/*
	 * Twice the pages in each region, every other one used, from the end
	 * backwards: no two entries adjacent, so no device can merge them.
	 */
	for (r = 0; r < f->nreg; r++) {
		uint32_t mine = (pages - r + f->nreg - 1) / f->nreg;

		b->alloc_len[r] = 2ull * mine * VU_PAGE;
		b->alloc_gpa[r] = vu_alloc_in(f, r, b->alloc_len[r]);
		b->nalloc = r + 1;
		if (!b->alloc_gpa[r])
			goto fail;
	}
	for (i = 0; i < pages; i++) {
		int reg = i % f->nreg;
		uint32_t k = i / f->nreg, mine = (pages - reg + f->nreg - 1) / f->nreg;
		uint64_t gpa = b->alloc_gpa[reg] + (2ull * (mine - 1 - k) + 1) * VU_PAGE;

		b->ent[i] = (struct vu_sg){ gpa, i + 1 < pages ? VU_PAGE : size - i * VU_PAGE, true };
	}
	b->nent = pages;
	return true;
fail:
	vv_buf_free(f, b);
	return false;
}

void vv_buf_free(struct vu_front *f, struct vv_buf *b)
{
	int i;

	for (i = 0; i < b->nalloc; i++)
		if (b->alloc_gpa[i])
			vu_free(f, b->alloc_gpa[i], b->alloc_len[i]);
	free(b->ent);
	memset(b, 0, sizeof(*b));
}

bool vv_buf_io(struct vu_front *f, const struct vv_buf *b, uint64_t off, void *p, uint64_t len,
	       bool write)
{
	uint8_t *q = p;
	int i;

	if (off + len > b->size)
		return false;
	for (i = 0; i < b->nent && len; i++) {
		uint64_t el = b->ent[i].len, n;
		uint8_t *g;

		if (off >= el) {
			off -= el;
			continue;
		}
		n = el - off < len ? el - off : len;
		g = vu_va(f, b->ent[i].gpa + off, n);
		if (!g)
			return false;
		if (write)
			memcpy(g, q, n);
		else
			memcpy(q, g, n);
		q += n;
		len -= n;
		off = 0;
	}
	return len == 0;
}
