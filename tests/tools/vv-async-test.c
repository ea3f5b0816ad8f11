// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vv-async-test.so: an asynchronous codec plugin for the daemon's tests
 * (tests/native/async-plugin.sh). It wraps another plugin (vv-ffmpeg.so) and
 * hands out everything late: pictures, drain completion (VV_CODEC_DRAINED)
 * and errors become receivable delay-ms after the decode() or flush() that
 * made them, through a timerfd as the decoder's event_fd (armed at the due
 * time of the oldest entry, so it is readable exactly while receive() has
 * something). No threads: the timing is the only asynchronous part.
 *
 * Options (--backend-opt), the others go to the wrapped plugin:
 *   inner=PATH        the wrapped plugin (default: ../plugins/vv-ffmpeg.so
 *                     next to this file's folder)
 *   delay-ms=N        lateness (default 3)
 *   fail-at=N         the Nth decode() of the plugin's life reports
 *                     VV_CODEC_ERR_INVALID_DATA late, from receive()
 *   unsupported-at=N  same with VV_CODEC_ERR_UNSUPPORTED
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../../host/codec.h"

enum kind { PICTURE, LATE_INVALID, LATE_UNSUPPORTED, DRAINED };

struct entry {
	enum kind kind;
	struct vv_picture pic;
	struct timespec due;
};

struct vv_decoder {
	struct vv_decoder *inner;
	int tfd;
	struct entry *q;	/* FIFO: first, count of cap; due times ascending */
	unsigned int first, count, cap;
};

static const struct vv_codec_ops *in_ops;
static const struct vv_decoder_ops *in_dec;	/* in_ops->decoder */
static void *in_handle;
static unsigned int delay_ms = 3;
static unsigned long fail_at, unsupported_at, decodes;
static char impl_text[VV_CODEC_MAX_FORMATS][200];

static int at_init(const struct vv_codec_options *options)
{
	struct vv_codec_options inner = *options;
	const char **rest = calloc(options->num_backend_opts + 1, sizeof(*rest));
	char path[PATH_MAX] = "";
	Dl_info info;
	int ret;

	if (!rest)
		return -1;
	inner.num_backend_opts = 0;
	inner.backend_opts = rest;
	for (unsigned int i = 0; i < options->num_backend_opts; i++) {
		const char *o = options->backend_opts[i];

		if (!strncmp(o, "inner=", 6))
			snprintf(path, sizeof(path), "%s", o + 6);
		else if (!strncmp(o, "delay-ms=", 9))
			delay_ms = (unsigned int)strtoul(o + 9, NULL, 10);
		else if (!strncmp(o, "fail-at=", 8))
			fail_at = strtoul(o + 8, NULL, 10);
		else if (!strncmp(o, "unsupported-at=", 15))
			unsupported_at = strtoul(o + 15, NULL, 10);
		else
			rest[inner.num_backend_opts++] = o;
	}
	if (!path[0] && dladdr((void *)at_init, &info) && info.dli_fname) {
		snprintf(path, sizeof(path), "%s", info.dli_fname);
		if (strrchr(path, '/'))
			strcpy(strrchr(path, '/'), "/../plugins/vv-ffmpeg.so");
	}
	in_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	in_ops = in_handle ? dlsym(in_handle, VV_CODEC_PLUGIN_SYMBOL) : NULL;
	/* ABI 5: the decoder role is optional; this wrapper needs it. */
	if (!in_ops || in_ops->abi_version != VV_CODEC_ABI_VERSION || !in_ops->decoder) {
		fprintf(stderr, "vv-async-test: cannot use '%s' as the inner plugin\n", path);
		if (in_handle)
			dlclose(in_handle);
		in_handle = NULL;
		free(rest);
		return -1;
	}
	in_dec = in_ops->decoder;
	ret = in_ops->init(&inner);
	free(rest);
	if (ret < 0) {
		dlclose(in_handle);
		in_handle = NULL;
	}
	return ret;
}

static void at_fini(void)
{
	if (!in_handle)
		return;
	in_ops->fini();
	/* Not dlclose()d: leak reports keep the inner plugin's symbols. */
}

/*
 * The inner plugin's decoder caps (formats, profiles, sizes, rates) as they
 * are, with the impl text saying who is late; no encoder: this wrapper only
 * delays decoders, so caps->encoder stays empty.
 */
static void at_get_caps(struct vv_codec_caps *caps)
{
	struct vv_codec_caps in = { 0 };
	struct vv_codec_role_caps *dec = &caps->decoder;

	in_ops->get_caps(&in);
	memset(caps, 0, sizeof(*caps));
	*dec = in.decoder;
	if (dec->num_coded > VV_CODEC_MAX_FORMATS)
		dec->num_coded = VV_CODEC_MAX_FORMATS;
	for (unsigned int i = 0; i < dec->num_coded; i++) {
		snprintf(impl_text[i], sizeof(impl_text[i]), "%u ms late: %s plugin, %s", delay_ms,
			 in_ops->name, dec->coded[i].impl ? dec->coded[i].impl : "?");
		dec->coded[i].impl = impl_text[i];
	}
}

/* Arms the timer for the oldest entry (a due time past fires at once). */
static void arm(struct vv_decoder *d)
{
	struct itimerspec its = { 0 };

	if (d->count) {
		its.it_value = d->q[d->first].due;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int push(struct vv_decoder *d, enum kind kind, const struct vv_picture *pic)
{
	struct entry *e;

	if (d->count == d->cap) {
		unsigned int cap = d->cap ? 2 * d->cap : 32;
		struct entry *n = calloc(cap, sizeof(*n));

		if (!n)
			return VV_CODEC_ERR_NOMEM;
		for (unsigned int i = 0; i < d->count; i++)
			n[i] = d->q[(d->first + i) % d->cap];
		free(d->q);
		d->q = n;
		d->cap = cap;
		d->first = 0;
	}
	e = &d->q[(d->first + d->count++) % d->cap];
	e->kind = kind;
	if (pic)
		e->pic = *pic;
	clock_gettime(CLOCK_MONOTONIC, &e->due);
	e->due.tv_nsec += (long)(delay_ms % 1000) * 1000000;
	e->due.tv_sec += delay_ms / 1000 + e->due.tv_nsec / 1000000000;
	e->due.tv_nsec %= 1000000000;
	if (d->count == 1)
		arm(d);
	return VV_CODEC_OK;
}

static void clear(struct vv_decoder *d)
{
	uint64_t n;

	while (d->count) {
		struct entry *e = &d->q[d->first];

		if (e->kind == PICTURE)
			in_dec->release(d->inner, &e->pic);
		d->first = (d->first + 1) % d->cap;
		d->count--;
	}
	arm(d);
	if (read(d->tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		perror("vv-async-test: timerfd");
}

static void at_decoder_destroy(struct vv_decoder *d)
{
	if (!d)
		return;
	clear(d);
	in_dec->destroy(d->inner);
	close(d->tfd);
	free(d->q);
	free(d);
}

static int at_decoder_create(uint32_t format, struct vv_decoder **out)
{
	struct vv_decoder *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return VV_CODEC_ERR_NOMEM;
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->tfd < 0) {
		free(d);
		return VV_CODEC_ERR_NOMEM;
	}
	ret = in_dec->create(format, &d->inner);
	if (ret < 0) {
		close(d->tfd);
		free(d);
		return ret;
	}
	*out = d;
	return VV_CODEC_OK;
}

/* Everything the inner (synchronous) decoder has becomes due later. */
static int take_inner(struct vv_decoder *d)
{
	struct vv_picture pic;
	int ret;

	while ((ret = in_dec->receive(d->inner, &pic)) != 0) {
		if (ret == 1)
			ret = push(d, PICTURE, &pic);
		else if (ret == VV_CODEC_DRAINED)
			return push(d, DRAINED, NULL);
		else if (ret == VV_CODEC_ERR_INVALID_DATA)
			ret = push(d, LATE_INVALID, NULL);
		else if (ret == VV_CODEC_ERR_UNSUPPORTED)
			ret = push(d, LATE_UNSUPPORTED, NULL);
		if (ret < 0)
			return ret;
	}
	return VV_CODEC_OK;
}

static int at_decode(struct vv_decoder *d, const struct iovec *iov, unsigned int iovcnt,
		     uint64_t timestamp)
{
	int ret = in_dec->decode(d->inner, iov, iovcnt, timestamp);

	decodes++;
	if (ret == VV_CODEC_ERR_NOMEM)
		return ret;
	/* Errors are found out late, as a decoder in another thread would. */
	if (ret == VV_CODEC_ERR_INVALID_DATA || decodes == fail_at)
		push(d, LATE_INVALID, NULL);
	else if (ret == VV_CODEC_ERR_UNSUPPORTED || decodes == unsupported_at)
		push(d, LATE_UNSUPPORTED, NULL);
	return take_inner(d);
}

static int at_flush(struct vv_decoder *d)
{
	int ret = in_dec->flush(d->inner);

	if (ret < 0)
		return ret;
	return take_inner(d);
}

static void at_reset(struct vv_decoder *d)
{
	clear(d);
	in_dec->reset(d->inner);
}

static int at_receive(struct vv_decoder *d, struct vv_picture *pic)
{
	struct timespec now;
	struct entry *e;
	uint64_t n;

	/* Cleared first: arm() below sets it again for what is left. */
	if (read(d->tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return VV_CODEC_ERR_NOMEM;
	if (!d->count)
		return 0;
	e = &d->q[d->first];
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < e->due.tv_sec ||
	    (now.tv_sec == e->due.tv_sec && now.tv_nsec < e->due.tv_nsec)) {
		arm(d);
		return 0;
	}
	d->first = (d->first + 1) % d->cap;
	d->count--;
	arm(d);
	switch (e->kind) {
	case PICTURE:
		*pic = e->pic;
		return 1;
	case LATE_INVALID:
		return VV_CODEC_ERR_INVALID_DATA;
	case LATE_UNSUPPORTED:
		return VV_CODEC_ERR_UNSUPPORTED;
	default:
		return VV_CODEC_DRAINED;
	}
}

static int at_write(struct vv_decoder *d, const struct vv_picture *pic, uint32_t format,
		    const struct vv_plane *planes, unsigned int num_planes)
{
	return in_dec->write(d->inner, pic, format, planes, num_planes);
}

static void at_release(struct vv_decoder *d, struct vv_picture *pic)
{
	in_dec->release(d->inner, pic);
}

static int at_stream_info(struct vv_decoder *d, uint32_t *width, uint32_t *height)
{
	return in_dec->stream_info ? in_dec->stream_info(d->inner, width, height) : 0;
}

static int at_event_fd(struct vv_decoder *d)
{
	return d->tfd;
}

static const struct vv_decoder_ops at_decoder_ops = {
	.create = at_decoder_create,
	.destroy = at_decoder_destroy,
	.decode = at_decode,
	.flush = at_flush,
	.reset = at_reset,
	.receive = at_receive,
	.write = at_write,
	.release = at_release,
	.stream_info = at_stream_info,
	.event_fd = at_event_fd,
};

__attribute__((visibility("default"))) const struct vv_codec_ops vv_codec_plugin = {
	.abi_version = VV_CODEC_ABI_VERSION,
	.name = "async-test",
	.init = at_init,
	.fini = at_fini,
	.get_caps = at_get_caps,
	.decoder = &at_decoder_ops,
};
