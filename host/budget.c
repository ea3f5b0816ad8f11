// SPDX-License-Identifier: GPL-2.0-or-later
/* Budgets (budget.h): the table of names, defaults and ranges. */
#define _GNU_SOURCE
#include "budget.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct vv_limits vv_limits = {
	.streams = 64,
	.resources = 64,
	.entries = 65536,
	.device_entries = 1u << 20,
	.mappings = 32768,
	.pending = 16,
	.input_bytes = 32u << 20,
};

static const struct {
	const char *name;
	size_t offset;
	unsigned long long min, max;
	const char *what;
} table[] = {
	{ "streams", offsetof(struct vv_limits, streams), 1, 256,
	  "streams per device (each a codec and its threads)" },
	{ "resources", offsetof(struct vv_limits, resources), 1, 1024,
	  "resources per queue of a stream" },
	{ "entries", offsetof(struct vv_limits, entries), 1, 65536,
	  "guest-page entries per resource" },
	{ "device-entries", offsetof(struct vv_limits, device_entries), 1, 1ull << 26,
	  "entries of all resources of a device (16 B each)" },
	{ "mappings", offsetof(struct vv_limits, mappings), 0, 1u << 20,
	  "mmap()s of scattered-buffer views per device" },
	{ "pending", offsetof(struct vv_limits, pending), 1, 256,
	  "pictures (packets) a stream holds for OUTPUT" },
	{ "input-bytes", offsetof(struct vv_limits, input_bytes), 1u << 20, 1ull << 30,
	  "bitstream bytes queued in a stream's plugin" },
};

#define NUM_LIMITS (sizeof(table) / sizeof(table[0]))

static unsigned long long *field(unsigned int i)
{
	return (unsigned long long *)((char *)&vv_limits + table[i].offset);
}

bool vv_limit_set(const char *arg)
{
	const char *eq = strchr(arg, '=');
	unsigned long long v;
	char *end;

	for (unsigned int i = 0; eq && i < NUM_LIMITS; i++) {
		if (strlen(table[i].name) != (size_t)(eq - arg) ||
		    strncmp(arg, table[i].name, (size_t)(eq - arg)))
			continue;
		errno = 0;
		v = strtoull(eq + 1, &end, 0);
		if (errno || end == eq + 1 || *end || eq[1] == '-' || v < table[i].min ||
		    v > table[i].max) {
			fprintf(stderr, "vhost-user-video: --limit %s: want %llu .. %llu\n",
				table[i].name, table[i].min, table[i].max);
			return false;
		}
		*field(i) = v;
		return true;
	}
	fprintf(stderr, "vhost-user-video: --limit wants NAME=VALUE, NAME one of:");
	for (unsigned int i = 0; i < NUM_LIMITS; i++)
		fprintf(stderr, " %s", table[i].name);
	fputc('\n', stderr);
	return false;
}

void vv_limits_usage(FILE *f)
{
	for (unsigned int i = 0; i < NUM_LIMITS; i++)
		fprintf(f, "      %-15s %-9llu %s\n%27s(%llu .. %llu)\n", table[i].name, *field(i),
			table[i].what, "", table[i].min, table[i].max);
}
