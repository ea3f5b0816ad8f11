// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest buffers of the video device: resources' entries translated through
 * the memory table each time they are touched, plane locations, contiguous
 * views of scattered pages, and frame mappings for the codec.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "video_internal.h"

int vv_map_entries(struct vv_video_dev *dev, const struct vv_object_entry *entries,
		   unsigned int n, uint64_t offset, uint64_t len, struct iovec *iov,
		   unsigned int max)
{
	unsigned int count = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t take;
		int got;

		if (offset >= entries[i].len) {
			offset -= entries[i].len;
			continue;
		}
		take = entries[i].len - offset;
		if (take > len)
			take = len;
		got = vu_gpa_to_iov(&dev->vu, entries[i].addr + offset, take, iov + count,
				    max - count);
		if (got < 0)
			return -1;
		count += (unsigned int)got;
		len -= take;
		offset = 0;
	}
	return len ? -1 : (int)count;
}

uint64_t vv_entries_length(const struct vv_object_entry *entries, unsigned int n)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < n; i++)
		total += entries[i].len;
	return total;
}

bool vv_plane_location(const struct resource *r, const struct params *p, unsigned int plane,
		       const struct vv_object_entry **entries, unsigned int *n, uint64_t *offset,
		       uint64_t *limit)
{
	bool per_plane = r->layout == VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE;

	if (r->mem_type == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT) {
		const struct vv_object *obj = r->objects[per_plane ? plane : 0];
		uint64_t size;

		if (!obj || !obj->alive || !obj->num_entries)
			return false;
		*entries = obj->entries;
		*n = obj->num_entries;
		size = vv_entries_length(obj->entries, obj->num_entries);
		/* Never past what the GPU resource itself is. */
		if (obj->stride && (uint64_t)obj->stride * obj->height < size)
			size = (uint64_t)obj->stride * obj->height;
		*limit = size;
	} else if (per_plane) {
		*entries = r->entries + r->first_entry[plane];
		*n = r->num_entries[plane];
		*limit = vv_entries_length(*entries, *n);
	} else {
		*entries = r->entries;
		*n = r->total_entries;
		*limit = vv_entries_length(*entries, *n);
	}
	if (per_plane || r->num_planes == p->num_planes) {
		*offset = r->plane_offsets[plane];
	} else {
		/* Planes packed one after the other. */
		*offset = 0;
		for (unsigned int i = 0; i < plane; i++)
			*offset += p->plane_size[i];
	}
	return true;
}

static void view_drop(struct vv_video_dev *dev, struct view *v)
{
	if (v->reservation)
		munmap(v->reservation, v->reservation_len);
	dev->mappings_used -= v->mappings;
	memset(v, 0, sizeof(*v));
}

void vv_resource_free(struct vv_video_dev *dev, struct resource *r)
{
	for (unsigned int i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
		view_drop(dev, &r->views[i]);
		vv_object_put(r->objects[i]);
	}
	dev->entries_used -= r->total_entries;
	free(r->entries);
	free(r);
}

/*
 * Maps entries[0..n) one after the other. Possible when every entry but the
 * first starts on a page and every entry but the last ends on one (what a
 * scatter list of pages is), and the front-end's memory is in files.
 */
static bool view_build(struct vv_video_dev *dev, struct view *v,
		       const struct vv_object_entry *entries, unsigned int n)
{
	const uint64_t page = 4096;
	uint64_t lead = entries[0].addr % page, total = vv_entries_length(entries, n);
	size_t pos = 0;

	for (unsigned int i = 0; i < n; i++)
		if ((i > 0 && entries[i].addr % page) ||
		    (i + 1 < n && (entries[i].addr + entries[i].len) % page))
			return false;
	/*
	 * Each entry is at least one mmap() (one VMA, for vm.max_map_count):
	 * over the device's budget the plane goes through the bounce buffer.
	 */
	if (dev->mappings_used + n + 1 > vv_limits.mappings)
		return false;
	v->reservation_len = (lead + total + page - 1) / page * page;
	v->reservation = mmap(NULL, v->reservation_len, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->reservation == MAP_FAILED) {
		v->reservation = NULL;
		return false;
	}
	v->mappings = 1;
	dev->mappings_used++;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = entries[i].addr - (i ? 0 : lead);
		uint64_t len = (entries[i].len + (i ? 0 : lead) + page - 1) / page * page;

		while (len) {
			uint64_t offset, avail, chunk;
			int fd;

			if (!vu_gpa_to_file(&dev->vu, gpa, &fd, &offset, &avail) ||
			    offset % page)
				goto fail;
			chunk = len < avail ? len : avail;
			if (chunk % page ||
			    mmap(v->reservation + pos, chunk, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, fd, (off_t)offset) == MAP_FAILED)
				goto fail;
			v->mappings++;
			dev->mappings_used++;
			pos += chunk;
			gpa += chunk;
			len -= chunk;
		}
	}
	v->data = v->reservation + lead;
	v->entries = entries;
	return true;
fail:
	view_drop(dev, v);
	return false;
}

/* Plane buffer b of r seen contiguously, or NULL (then a bounce buffer serves). */
static uint8_t *resource_view(struct vv_video_dev *dev, struct resource *r, unsigned int b,
			      const struct vv_object_entry *entries, unsigned int n)
{
	struct view *v = &r->views[b];
	const struct vv_object *obj = r->objects[b];
	unsigned long long generation = obj ? obj->backing_generation : 0;

	if (v->reservation && (v->entries != entries || v->generation != generation))
		view_drop(dev, v);
	if (!v->reservation) {
		if (!view_build(dev, v, entries, n))
			return NULL;
		v->generation = generation;
	}
	return v->data;
}

static uint8_t *bounce_buffer(struct vv_video_dev *dev, size_t size)
{
	if (size > dev->bounce_size) {
		uint8_t *b = realloc(dev->bounce, size);

		if (!b)
			return NULL;
		dev->bounce = b;
		dev->bounce_size = size;
	}
	return dev->bounce;
}

struct iovec *vv_map_bitstream(struct vv_video_dev *dev, struct resource *r,
			       const struct params *p, uint64_t len, int *count)
{
	const struct vv_object_entry *entries;
	unsigned int n, max;
	uint64_t offset, limit;
	struct iovec *iov;

	*count = -1;
	if (!vv_plane_location(r, p, 0, &entries, &n, &offset, &limit) || offset + len > limit)
		return NULL;
	max = n + 2 * dev->vu.nregions + 2;
	iov = malloc(max * sizeof(*iov));
	if (iov)
		*count = vv_map_entries(dev, entries, n, offset, len, iov, max);
	if (*count < 0) {
		free(iov);
		return NULL;
	}
	return iov;
}

void vv_frame_unmap(struct frame_map *m, bool write_back)
{
	for (unsigned int i = 0; i < m->num_planes; i++) {
		if (write_back && m->bounced[i])
			iov_from_buf(m->iovs[i], (unsigned int)m->iov_count[i], 0, m->planes[i].data,
				     m->planes[i].size);
		free(m->iovs[i]);
		m->iovs[i] = NULL;
	}
}

int vv_frame_map(struct vv_video_dev *dev, struct resource *r, const struct params *p,
		 bool read, struct frame_map *m)
{
	uint8_t *in_place[VIRTIO_VIDEO_MAX_PLANES] = { 0 };
	bool per_plane = r->layout == VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE;
	size_t bounce_off = 0;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	m->num_planes = p->num_planes;
	if (per_plane && r->num_planes < p->num_planes)
		return 0;
	for (unsigned int i = 0; i < p->num_planes; i++) {
		const struct vv_object_entry *entries;
		unsigned int n, max;
		uint64_t offset, limit;

		if (!vv_plane_location(r, p, i, &entries, &n, &offset, &limit) ||
		    offset + p->plane_size[i] > limit)
			goto out;
		max = n + 2 * dev->vu.nregions + 2;
		m->iovs[i] = malloc(max * sizeof(struct iovec));
		if (!m->iovs[i]) {
			ret = -1;
			goto out;
		}
		m->iov_count[i] = vv_map_entries(dev, entries, n, offset, p->plane_size[i],
						 m->iovs[i], max);
		if (m->iov_count[i] < 0)
			goto out;
		if (m->iov_count[i] == 1) {
			in_place[i] = m->iovs[i][0].iov_base;
		} else {
			uint8_t *view = resource_view(dev, r, per_plane ? i : 0, entries, n);

			if (view) {
				in_place[i] = view + offset;
			} else {
				m->bounced[i] = true;
				m->bounce_total += p->plane_size[i];
			}
		}
	}
	if (m->bounce_total && !bounce_buffer(dev, m->bounce_total)) {
		ret = -1;
		goto out;
	}
	for (unsigned int i = 0; i < p->num_planes; i++) {
		m->planes[i].stride = p->stride[i];
		m->planes[i].size = p->plane_size[i];
		if (in_place[i]) {
			m->planes[i].data = in_place[i];
		} else {
			m->planes[i].data = dev->bounce + bounce_off;
			bounce_off += p->plane_size[i];
			if (read)
				iov_to_buf(m->iovs[i], (unsigned int)m->iov_count[i], 0,
					   m->planes[i].data, m->planes[i].size);
		}
	}
	return 1;
out:
	vv_frame_unmap(m, false);
	return ret;
}
