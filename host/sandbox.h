/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's sandbox: user drop, no_new_privs, seccomp (sandbox.c). */
#ifndef VV_SANDBOX_H
#define VV_SANDBOX_H

#include <stdbool.h>

struct vv_sandbox_opts {
	const char *user;		/* --user: drop to it when root (NULL: none) */
	bool enabled;			/* false: --no-sandbox (the user drop still) */
	const char *const *owned;	/* files to hand to the user (our sockets) */
	unsigned int nowned;
};

/* After the sockets are open and the plugin initialised; -1: do not serve. */
int vv_sandbox_enter(const struct vv_sandbox_opts *opts);
/* Makes a system call the filter forbids (the daemon should die of it). */
void vv_sandbox_selftest(void);

#endif
