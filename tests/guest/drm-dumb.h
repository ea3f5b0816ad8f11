/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DRM dumb buffers for the guest test programs (gpu-decode.c, vv-enctest.c):
 * find a card by driver name, make an exported (PRIME) mapped dumb buffer.
 * Functions return 0 or -1 with errno set; callers report.
 */
#ifndef DRM_DUMB_H
#define DRM_DUMB_H

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <libdrm/drm.h>
#include <libdrm/drm_mode.h>

struct dumb {
	int card;		/* DRM fd it was made on */
	uint32_t handle, pitch;
	uint64_t size;
	int fd;			/* PRIME fd */
	uint8_t *map;
};

static inline int drm_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && (errno == EINTR || errno == EAGAIN));
	return r;
}

static inline bool drm_driver_is(int fd, const char *name)
{
	char buf[64] = "";
	struct drm_version v = { .name = buf, .name_len = sizeof(buf) - 1 };

	if (drm_ioctl(fd, DRM_IOCTL_VERSION, &v) < 0)
		return false;
	return !strcmp(buf, name);
}

/* The first /dev/dri/card* of @driver; its path into @found (if not NULL). */
static inline int drm_find_card(const char *driver, char *found, size_t len)
{
	glob_t g;
	size_t i;
	int fd;

	if (glob("/dev/dri/card*", 0, NULL, &g)) {
		errno = ENODEV;
		return -1;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		fd = open(g.gl_pathv[i], O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (drm_driver_is(fd, driver)) {
			if (found)
				snprintf(found, len, "%s", g.gl_pathv[i]);
			globfree(&g);
			return fd;
		}
		close(fd);
	}
	globfree(&g);
	errno = ENODEV;
	return -1;
}

/* A 32-bit dumb buffer of @width x @height pixels, exported and mapped. */
static inline int dumb_create(int card, uint32_t width, uint32_t height, struct dumb *d)
{
	struct drm_mode_create_dumb c = { .width = width, .height = height, .bpp = 32 };
	struct drm_prime_handle p = { 0 };
	struct drm_mode_map_dumb m = { 0 };

	if (drm_ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &c) < 0)
		return -1;
	d->card = card;
	d->handle = c.handle;
	d->pitch = c.pitch;
	d->size = c.size;
	p.handle = c.handle;
	p.flags = DRM_CLOEXEC | DRM_RDWR;
	if (drm_ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p) < 0)
		return -1;
	d->fd = p.fd;
	m.handle = c.handle;
	if (drm_ioctl(card, DRM_IOCTL_MODE_MAP_DUMB, &m) < 0)
		return -1;
	d->map = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, card, m.offset);
	if (d->map == MAP_FAILED) {
		d->map = NULL;
		return -1;
	}
	return 0;
}

static inline int dumb_destroy(struct dumb *d)
{
	struct drm_mode_destroy_dumb x = { .handle = d->handle };
	int card = d->card;

	if (!d->map)
		return 0;
	munmap(d->map, d->size);
	close(d->fd);
	memset(d, 0, sizeof(*d));
	return drm_ioctl(card, DRM_IOCTL_MODE_DESTROY_DUMB, &x);
}

#endif /* DRM_DUMB_H */
