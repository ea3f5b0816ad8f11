/*
 * LD_PRELOAD shim for tests/vm/driver-dmabuf-import.sh: kmssink leaves its
 * last frame on the display. drmModeRmFB is a no-op, and drmClose first forks
 * a child that keeps the DRM file (and so its framebuffers and the CRTC
 * setup) open until poweroff, when vm-run takes the screenshot.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdint.h>
#include <unistd.h>

int drmModeRmFB(int fd, uint32_t fb_id)
{
	(void)fd;
	(void)fb_id;
	return 0;
}

int drmClose(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "drmClose");

	if (fork() == 0) {
		setsid();
		for (;;)
			pause();
	}
	return real ? real(fd) : close(fd);
}
