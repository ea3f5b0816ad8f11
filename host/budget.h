/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Budgets: what one guest may make the daemon hold, per stream and per
 * device (connection). Defaults below; `--limit NAME=VALUE` changes one
 * (docs/host.md, "Budgets"). A guest that goes over one gets the
 * protocol's ERR_OUT_OF_MEMORY (or backpressure), never a bigger daemon.
 */
#ifndef VV_BUDGET_H
#define VV_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct vv_limits {
	unsigned long long streams;		/* per device */
	unsigned long long resources;		/* per queue of a stream */
	unsigned long long entries;		/* per resource */
	unsigned long long device_entries;	/* all resources of a device */
	unsigned long long mappings;		/* view mappings of a device */
	unsigned long long pending;		/* pictures / packets per stream */
	unsigned long long input_bytes;		/* bitstream in a stream's codec */
};

extern struct vv_limits vv_limits;

/* "NAME=VALUE": false (with a message on stderr) if unknown or out of range. */
bool vv_limit_set(const char *arg);
/* The --help lines: every name, its default and range. */
void vv_limits_usage(FILE *f);

#endif
