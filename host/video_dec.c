// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The decoder engine (virtio ID 31): bitstream on INPUT, decoded pictures
 * written into OUTPUT resources, resolution changes, drain. The core
 * (video_dev.c) has parsed and checked every command before it gets here.
 * Behaviour: docs/protocol.md.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "frame_layout.h"
#include "log.h"
#include "video_internal.h"

/* Decoded pictures waiting for an OUTPUT resource before input stalls (budget.h). */
#define MAX_PENDING_PICTURES vv_limits.pending
#define DEFAULT_BITSTREAM_SIZE (1u << 20)
#define OUTPUT_MIN_BUFFERS 4
/*
 * What crosvm's decoder answers for the picture before the stream's size is
 * known (devices/src/virtio/video/decoder/mod.rs, Context::new): 640x480.
 */
#define PLACEHOLDER_WIDTH 640
#define PLACEHOLDER_HEIGHT 480

struct pending_picture {
	struct vv_picture pic;
	bool eos;
};

struct dec_stream {
	struct vv_decoder *dec;
	struct pending_picture *pictures;	/* FIFO, picture_count from picture_first */
	unsigned int picture_first, picture_count, picture_cap;
	bool size_known;		/* a picture's size has been announced */
	bool res_change_pending;	/* waiting for the driver's acknowledgement */
	bool late_error;		/* receive() reported corrupt input: ERR next */
	/*
	 * The codec was flushed since its last input, and (codec_drained) said
	 * every picture of that flush was returned. Both outlive a drain that
	 * QUEUE_CLEAR(OUTPUT) cancelled (a resolution change found during the
	 * drain): a STREAM_DRAIN sent again resumes it without a second flush.
	 * New bitstream, QUEUE_CLEAR(INPUT) and a new codec forget them.
	 */
	bool drain_flushed;
	bool codec_drained;
	unsigned int flushes_out;	/* flush() calls whose VV_CODEC_DRAINED is due */
	bool drain_eos_sent;
	unsigned long long frames_decoded, frames_output, input_errors, bitstream_buffers;
	unsigned long long input_refused;	/* decode() said VV_CODEC_AGAIN */
};

static struct dec_stream *dec_of(const struct stream *s)
{
	return s->engine;
}

static const struct vv_decoder_ops *ops(const struct vv_video_dev *dev)
{
	return dev->codec->decoder;
}

/* ---- decoded pictures ---- */

static struct pending_picture *picture_at(struct dec_stream *d, unsigned int i)
{
	return &d->pictures[(d->picture_first + i) % d->picture_cap];
}

/* The codec takes new input (or was reset): a later drain flushes it again. */
static void forget_flush(struct dec_stream *d)
{
	d->drain_flushed = false;
	d->codec_drained = false;
}

/*
 * A drain in progress was answered with an error. Whether the codec was
 * flushed (and drained) is kept: QUEUE_CLEAR(INPUT) forgets it, a drain
 * sent again resumes from it.
 */
static void dec_drain_cancelled(struct vv_video_dev *dev, struct stream *s)
{
	struct dec_stream *d = dec_of(s);

	(void)dev;
	if (s->drain_elem) {
		/* No drain waits for the EOS mark any more. */
		for (unsigned int i = 0; i < d->picture_count; i++)
			picture_at(d, i)->eos = false;
	}
	d->drain_eos_sent = false;
}

static bool picture_push(struct dec_stream *d, const struct vv_picture *pic)
{
	if (d->picture_count == d->picture_cap) {
		unsigned int cap = d->picture_cap ? d->picture_cap * 2 : 32;
		struct pending_picture *n = calloc(cap, sizeof(*n));

		if (!n)
			return false;
		for (unsigned int i = 0; i < d->picture_count; i++)
			n[i] = *picture_at(d, i);
		free(d->pictures);
		d->pictures = n;
		d->picture_cap = cap;
		d->picture_first = 0;
	}
	*picture_at(d, d->picture_count) = (struct pending_picture){ .pic = *pic };
	d->picture_count++;
	return true;
}

static void picture_drop_first(struct vv_video_dev *dev, struct dec_stream *d)
{
	ops(dev)->release(d->dec, &picture_at(d, 0)->pic);
	d->picture_first = (d->picture_first + 1) % d->picture_cap;
	d->picture_count--;
}

static void drop_pictures(struct vv_video_dev *dev, struct dec_stream *d)
{
	while (d->picture_count)
		picture_drop_first(dev, d);
}

/*
 * Marks the end of a drain: the last pending picture, else an empty buffer.
 * A stream that speaks crosvm's dialect always gets the empty buffer, as
 * crosvm's device gives it: the ChromeOS/Android driver takes every EOS
 * buffer as empty (bytesused 0), so a picture carrying EOS would be lost.
 */
static void mark_drain_end(struct stream *s)
{
	struct dec_stream *d = dec_of(s);

	if (s->drain_elem && d->picture_count && !s->params_ext_seen)
		picture_at(d, d->picture_count - 1)->eos = true;
}

static void codec_drained(struct stream *s)
{
	dec_of(s)->codec_drained = true;
	mark_drain_end(s);
}

/*
 * Takes the pictures the codec has ready, up to MAX_PENDING_PICTURES
 * pending; the rest wait in the codec (which stops decoding while a few
 * wait there: codec.h) until OUTPUT resources make room. A late
 * VV_CODEC_ERR_INVALID_DATA flags the next OUTPUT resource returned;
 * decoding goes on.
 */
static void collect_pictures(struct vv_video_dev *dev, struct stream *s)
{
	struct dec_stream *d = dec_of(s);
	unsigned int errors = 0;
	struct vv_picture pic;
	int ret;

	for (;;) {
		if (s->failed || d->picture_count >= MAX_PENDING_PICTURES)
			return;
		ret = ops(dev)->receive(d->dec, &pic);
		if (ret == 1) {
			if (!picture_push(d, &pic)) {
				ops(dev)->release(d->dec, &pic);
				vv_stream_fail(dev, s, "out of memory for pictures");
				return;
			}
			d->frames_decoded++;
		} else if (ret == VV_CODEC_DRAINED ||
			   (ret == 0 && d->flushes_out && s->event_fd < 0)) {
			/*
			 * A synchronous codec has everything out after flush().
			 * An earlier flush's end (new input came after it) does
			 * not end the last one's.
			 */
			d->flushes_out = ret == VV_CODEC_DRAINED && d->flushes_out ?
					 d->flushes_out - 1 : 0;
			if (d->drain_flushed && !d->flushes_out && !d->codec_drained)
				codec_drained(s);
			return;
		} else if (ret == 0) {
			return;
		} else if (ret == VV_CODEC_ERR_INVALID_DATA && ++errors <= MAX_PENDING_PICTURES) {
			log_debug("stream %u: the codec reports corrupt input", s->id);
			d->input_errors++;
			d->late_error = true;
		} else {
			vv_stream_fail(dev, s, ret == VV_CODEC_ERR_UNSUPPORTED ?
				       "unsupported picture format" : "codec error");
			return;
		}
	}
}

/*
 * Writes a picture into an OUTPUT resource in the stream's layout. Returns
 * the bytes written, 0 if the resource cannot hold it, -1 on codec failure.
 */
static long write_picture(struct vv_video_dev *dev, struct stream *s, struct resource *r,
			  const struct vv_picture *pic)
{
	const struct params *p = &s->params[Q_OUT];
	struct frame_map m;
	long written = 0;
	int ret;

	ret = vv_frame_map(dev, r, p, false, &m);
	if (ret <= 0)
		return ret;
	if (ops(dev)->write(dec_of(s)->dec, pic, p->format, m.planes, p->num_planes) < 0) {
		vv_frame_unmap(&m, false);
		return -1;
	}
	vv_frame_unmap(&m, true);
	for (unsigned int i = 0; i < p->num_planes; i++)
		written += (long)p->plane_size[i];
	s->stats.bytes_copied += (unsigned long long)written + m.bounce_total;
	return written;
}

/* ---- the stream engine ---- */

/*
 * A new picture size, from the codec: checked against the device's own
 * limits like any size from the guest (the layout is computed in 64 bits and
 * must fit the wire's 32), else the stream fails rather than announce it.
 */
static void announce_size(struct vv_video_dev *dev, struct stream *s, uint32_t width,
			  uint32_t height)
{
	const struct vv_codec_format *caps = vv_coded_caps(dev, s->coded_format);
	struct params *p = &s->params[Q_OUT], next = *p;
	struct dec_stream *d = dec_of(s);

	next.width = width;
	next.height = height;
	if (!caps || !width || !height || width > caps->max_width ||
	    height > caps->max_height || !vv_params_layout(&next, NULL)) {
		log_warn("stream %u: decoded picture size %ux%u is outside the device's limits",
			 s->id, width, height);
		drop_pictures(dev, d);
		vv_stream_fail(dev, s, "picture size out of range");
		return;
	}
	log_info("stream %u: picture size %ux%u (was %ux%u)", s->id, width, height,
		 p->width, p->height);
	*p = next;
	d->size_known = true;
	d->res_change_pending = true;
	vv_post_event(dev, VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED, s->id);
}

/* Writes pending pictures into queued OUTPUT resources; true if any progress. */
static bool output_pictures(struct vv_video_dev *dev, struct stream *s)
{
	struct dec_stream *d = dec_of(s);
	bool progress = false;

	while (d->picture_count && !d->res_change_pending) {
		struct pending_picture *pp = picture_at(d, 0);
		struct resource *r;
		long written;

		/* Announced even with no buffer queued: the driver waits for it. */
		if (!d->size_known || pp->pic.width != s->params[Q_OUT].width ||
		    pp->pic.height != s->params[Q_OUT].height) {
			announce_size(dev, s, pp->pic.width, pp->pic.height);
			return !s->failed;
		}
		if (!s->queued_head[Q_OUT])
			break;
		r = vv_dequeue(s, Q_OUT);
		written = write_picture(dev, s, r, &pp->pic);
		if (written <= 0) {
			if (written < 0)
				vv_stream_fail(dev, s, "cannot write picture");
			else
				log_warn("stream %u: OUTPUT resource %u too small for %ux%u",
					 s->id, r->id, pp->pic.width, pp->pic.height);
			vv_complete_resource(dev, s, r, pp->pic.timestamp,
					     VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
			d->late_error = false;
			if (written < 0)
				return true;
			progress = true;
			continue;
		}
		vv_complete_resource(dev, s, r, pp->pic.timestamp,
				     (pp->eos ? VIRTIO_VIDEO_BUFFER_FLAG_EOS : 0) |
				     (d->late_error ? VIRTIO_VIDEO_BUFFER_FLAG_ERR : 0),
				     (uint32_t)written);
		d->late_error = false;
		if (pp->eos)
			d->drain_eos_sent = true;
		d->frames_output++;
		picture_drop_first(dev, d);
		progress = true;
	}
	return progress;
}

/*
 * The first size of a stream goes out as soon as the codec has parsed the
 * headers, not when the first picture is out (with B-frames and frame
 * threads that is several bitstream buffers later, and a driver may hold no
 * more). Later changes follow the pictures, so old-size ones go out first.
 */
static void announce_early(struct vv_video_dev *dev, struct stream *s)
{
	const struct vv_codec_format *caps = vv_coded_caps(dev, s->coded_format);
	struct dec_stream *d = dec_of(s);
	uint32_t width, height;

	if (d->size_known || d->picture_count || !ops(dev)->stream_info || !caps ||
	    ops(dev)->stream_info(d->dec, &width, &height) != 1 ||
	    !width || !height || width > caps->max_width || height > caps->max_height)
		return;
	announce_size(dev, s, width, height);
}

/*
 * Hands the first queued INPUT resource to the codec and answers it; false
 * (it stays queued) when the codec has no room for it now (VV_CODEC_AGAIN).
 */
static bool decode_input(struct vv_video_dev *dev, struct stream *s)
{
	struct dec_stream *d = dec_of(s);
	struct resource *r = s->queued_head[Q_IN];
	struct iovec *iov;
	uint32_t flags = 0;
	int count, ret;

	if (s->failed) {
		vv_dequeue(s, Q_IN);
		vv_complete_resource(dev, s, r, r->timestamp, VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
		return true;
	}
	iov = vv_map_bitstream(dev, r, &s->params[Q_IN], r->data_size, &count);
	if (count < 0) {
		flags = VIRTIO_VIDEO_BUFFER_FLAG_ERR;
	} else if (r->data_size) {
		ret = ops(dev)->decode(d->dec, iov, (unsigned int)count, r->timestamp);
		if (ret == VV_CODEC_AGAIN) {
			free(iov);
			d->input_refused++;
			return false;
		}
		/* After a cancelled drain: the codec decodes again. */
		if (!s->drain_elem)
			forget_flush(d);
		d->bitstream_buffers++;
		if (ret == VV_CODEC_ERR_INVALID_DATA) {
			d->input_errors++;
			flags = VIRTIO_VIDEO_BUFFER_FLAG_ERR;
		} else if (ret < 0) {
			flags = VIRTIO_VIDEO_BUFFER_FLAG_ERR;
			vv_stream_fail(dev, s, "codec rejected the stream");
		}
		collect_pictures(dev, s);
		announce_early(dev, s);
	}
	free(iov);
	vv_dequeue(s, Q_IN);
	vv_complete_resource(dev, s, r, r->timestamp, flags, 0);
	return true;
}

/* Finishes a drain once its EOS buffer went out. */
static bool advance_drain(struct vv_video_dev *dev, struct stream *s)
{
	struct dec_stream *d = dec_of(s);

	if (!s->drain_elem || s->queued_head[Q_IN])
		return false;
	if (!d->drain_flushed) {
		d->drain_flushed = true;
		if (!s->failed && ops(dev)->flush(d->dec) == VV_CODEC_OK) {
			d->flushes_out++;
			collect_pictures(dev, s);
		} else {
			codec_drained(s);
		}
		return true;
	}
	/* A failed codec returns nothing more. */
	if (s->failed && !d->codec_drained)
		codec_drained(s);
	if (d->codec_drained && !d->drain_eos_sent && !d->picture_count &&
	    !d->res_change_pending && s->queued_head[Q_OUT]) {
		struct resource *r = vv_dequeue(s, Q_OUT);

		vv_complete_resource(dev, s, r, 0, VIRTIO_VIDEO_BUFFER_FLAG_EOS |
				     (d->late_error ? VIRTIO_VIDEO_BUFFER_FLAG_ERR : 0), 0);
		d->late_error = false;
		d->drain_eos_sent = true;
	}
	if (d->drain_eos_sent) {
		vv_reply_hdr(dev, s->drain_elem, VIRTIO_VIDEO_RESP_OK_NODATA, s->id);
		s->drain_elem = NULL;
		forget_flush(d);
		d->drain_eos_sent = false;
		return true;
	}
	return false;
}

/*
 * Moves the stream on: pictures out, then more from a synchronous codec
 * (which held back the rest of a buffer until there is room), then input
 * while fewer than MAX_PENDING_PICTURES wait and the codec takes it.
 */
static void dec_pump(struct vv_video_dev *dev, struct stream *s)
{
	struct dec_stream *d = dec_of(s);
	bool progress, codec_full = false;

	do {
		progress = output_pictures(dev, s);
		if (s->event_fd < 0 && !s->failed && d->picture_count < MAX_PENDING_PICTURES) {
			unsigned long long before = d->frames_decoded;

			collect_pictures(dev, s);
			progress |= d->frames_decoded != before;
		}
		if (!codec_full && d->picture_count < MAX_PENDING_PICTURES && s->queued_head[Q_IN]) {
			if (decode_input(dev, s))
				progress = true;
			else
				codec_full = true;
		}
		progress |= advance_drain(dev, s);
	} while (progress);
}

static void dec_drain_begin(struct vv_video_dev *dev, struct stream *s)
{
	struct dec_stream *d = dec_of(s);

	(void)dev;
	if (s->queued_head[Q_IN]) {
		/* New bitstream first; then the codec is flushed (again). */
		forget_flush(d);
	} else if (d->drain_flushed) {
		/*
		 * A drain that QUEUE_CLEAR(OUTPUT) cancelled (a resolution
		 * change found after the flush), sent again: no second flush;
		 * it ends with the pictures left, on the DRAINED still due or
		 * already seen.
		 */
		log_info("stream %u: drain resumed (codec flushed before, %s)", s->id,
			 d->codec_drained ? "drained" : "drain end due");
		if (d->codec_drained)
			mark_drain_end(s);
	}
}

/* ---- streams, params, queues ---- */

static int decoder_event_fd(struct vv_video_dev *dev, struct vv_decoder *dec)
{
	int fd = ops(dev)->event_fd ? ops(dev)->event_fd(dec) : -1;

	return fd < 0 ? -1 : fd;
}

static void init_params(struct stream *s)
{
	struct params *in = &s->params[Q_IN], *out = &s->params[Q_OUT];

	*in = (struct params){
		.format = s->coded_format, .min_buffers = 1, .max_buffers = 32,
		.frame_rate = 30, .num_planes = 1,
	};
	in->plane_size[0] = DEFAULT_BITSTREAM_SIZE;
	*out = (struct params){
		.format = VIRTIO_VIDEO_FORMAT_NV12, .min_buffers = OUTPUT_MIN_BUFFERS,
		.max_buffers = 32, .frame_rate = 30,
	};
	vv_params_layout(out, NULL);
}

static uint32_t create_status(int ret)
{
	return ret == VV_CODEC_ERR_NOMEM ? VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY :
	       VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
}

static uint32_t dec_stream_init(struct vv_video_dev *dev, struct stream *s)
{
	struct dec_stream *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
	ret = ops(dev)->create(s->coded_format, &d->dec);
	if (ret < 0) {
		free(d);
		return create_status(ret);
	}
	s->engine = d;
	s->event_fd = decoder_event_fd(dev, d->dec);
	init_params(s);
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

static void dec_stream_fini(struct vv_video_dev *dev, struct stream *s)
{
	struct dec_stream *d = dec_of(s);
	const struct res_counters *c = &s->stats;

	drop_pictures(dev, d);
	ops(dev)->destroy(d->dec);
	free(d->pictures);
	log_info("stream %u end: frames_decoded=%llu frames_output=%llu input_errors=%llu "
		 "bitstream_buffers=%llu input_refused=%llu res_guest_pages_in=%llu res_guest_pages_out=%llu res_virtio_object_in=%llu "
		 "res_virtio_object_out=%llu bytes_copied=%llu",
		 s->id, d->frames_decoded, d->frames_output, d->input_errors, d->bitstream_buffers,
		 d->input_refused,
		 c->res_pages[Q_IN], c->res_pages[Q_OUT], c->res_objects[Q_IN],
		 c->res_objects[Q_OUT], c->bytes_copied);
	free(d);
	s->engine = NULL;
}

static uint32_t set_input_params(struct vv_video_dev *dev, struct stream *s,
				 const struct virtio_video_params *w)
{
	struct dec_stream *d = dec_of(s);
	uint32_t format = le32toh(w->format);
	uint32_t size = le32toh(w->plane_formats[0].plane_size);
	struct params *p = &s->params[Q_IN];

	if (!vv_coded_caps(dev, format))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	if (format != s->coded_format) {
		struct vv_decoder *dec;

		if (s->queued_head[Q_IN] || s->drain_elem)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
		if (ops(dev)->create(format, &dec) < 0)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		drop_pictures(dev, d);
		ops(dev)->destroy(d->dec);
		d->dec = dec;
		s->event_fd = decoder_event_fd(dev, dec);
		forget_flush(d);
		d->flushes_out = 0;
		s->coded_format = format;
		s->failed = false;
		d->late_error = false;
		p->format = format;
	}
	if (size)
		p->plane_size[0] = size;
	p->width = le32toh(w->frame_width);
	p->height = le32toh(w->frame_height);
	if (le32toh(w->frame_rate))
		p->frame_rate = le32toh(w->frame_rate);
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

static uint32_t set_output_params(struct vv_video_dev *dev, struct stream *s,
				  const struct virtio_video_params *w)
{
	const struct vv_codec_format *caps = vv_coded_caps(dev, s->coded_format);
	struct dec_stream *d = dec_of(s);
	uint32_t format = le32toh(w->format);
	uint32_t stride[VIRTIO_VIDEO_MAX_PLANES];
	struct params p = s->params[Q_OUT];

	if (!vv_raw_format_offered(dev, format))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	p.format = format;
	if (!d->size_known) {
		/* Before the first picture the driver's size stands. */
		p.width = le32toh(w->frame_width);
		p.height = le32toh(w->frame_height);
		if (!caps || p.width > caps->max_width || p.height > caps->max_height)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	}
	if (!vv_wire_strides(w, format, p.width, p.height, stride) ||
	    !vv_params_layout(&p, stride))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	s->params[Q_OUT] = p;
	d->res_change_pending = false;
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

/*
 * GET_PARAMS_EXT(OUTPUT) before the stream's size is known, while the driver
 * set none: crosvm's placeholder picture (640x480, laid out in the queue's
 * format) instead of 0x0. The ChromeOS driver hands that answer to G_FMT,
 * and a client that reads G_FMT(CAPTURE) early (GStreamer 1.22's
 * v4l2videodec) refuses 0x0. Nothing changes in the stream: the first size
 * is still announced (DECODER_RESOLUTION_CHANGED) even if it is 640x480,
 * and plain GET_PARAMS still says 0x0 (docs/protocol.md).
 */
static void dec_ext_params(const struct stream *s, int q, struct params *p)
{
	const struct dec_stream *d = s->engine;

	if (q != Q_OUT || d->size_known || p->width || p->height)
		return;
	p->width = PLACEHOLDER_WIDTH;
	p->height = PLACEHOLDER_HEIGHT;
	vv_params_layout(p, NULL);
}

static uint32_t dec_set_params(struct vv_video_dev *dev, struct stream *s, int q,
			       const struct virtio_video_params *w)
{
	return q == Q_IN ? set_input_params(dev, s, w) : set_output_params(dev, s, w);
}

/* A bitstream buffer must hold the bytes it claims. */
static uint32_t dec_check_queue(struct vv_video_dev *dev, struct stream *s, int q,
				struct resource *r, const struct virtio_video_resource_queue *req)
{
	const struct vv_object_entry *entries;
	unsigned int n;
	uint64_t offset, limit;

	(void)dev;
	if (q != Q_IN)
		return VIRTIO_VIDEO_RESP_OK_NODATA;
	r->data_size = le32toh(req->num_data_sizes) ? le32toh(req->data_sizes[0]) : 0;
	if (!vv_plane_location(r, &s->params[Q_IN], 0, &entries, &n, &offset, &limit) ||
	    offset + r->data_size > limit)
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

static void dec_queue_clear(struct vv_video_dev *dev, struct stream *s, int q)
{
	struct dec_stream *d = dec_of(s);

	if (q == Q_IN) {
		drop_pictures(dev, d);
		ops(dev)->reset(d->dec);
		forget_flush(d);
		d->flushes_out = 0;
		s->failed = false;
		d->late_error = false;
	} else {
		d->res_change_pending = false;
	}
}

/*
 * QUEUE_CLEAR(OUTPUT) while a resolution change waits for its
 * acknowledgement is that acknowledgement: a drain in progress goes on
 * (its pictures of the new size, then the EOS). Nothing else keeps it.
 */
static bool dec_drain_survives_clear(const struct stream *s, int q)
{
	const struct dec_stream *d = s->engine;

	return q == Q_OUT && d->res_change_pending;
}

static void dec_resources_destroyed(struct vv_video_dev *dev, struct stream *s, int q)
{
	(void)dev;
	if (q == Q_OUT)
		dec_of(s)->res_change_pending = false;
}

/*
 * An asynchronous decoder's fd is polled while the stream can take a
 * picture: not failed, fewer than MAX_PENDING_PICTURES pending, and an
 * OUTPUT resource queued to write into (before the first size is known the
 * picture is wanted anyway: it announces the size). Otherwise the pictures
 * wait in the codec and the fd is polled again once RESOURCE_QUEUE on OUTPUT
 * (or a drain) made room, so a readable fd never makes the loop spin.
 */
static bool dec_wants_events(const struct stream *s)
{
	const struct dec_stream *d = s->engine;

	return s->event_fd >= 0 && !s->failed && d->picture_count < MAX_PENDING_PICTURES &&
	       (!d->size_known || s->queued_head[Q_OUT]);
}

/* The same path as after decode(): at most MAX_PENDING_PICTURES. */
static void dec_event_ready(struct vv_video_dev *dev, struct stream *s)
{
	collect_pictures(dev, s);
	announce_early(dev, s);
	dec_pump(dev, s);
}

static const struct vv_codec_role_caps *dec_caps(const struct vv_codec_caps *caps,
						 const struct vv_codec_ops *codec)
{
	return codec->decoder ? &caps->decoder : NULL;
}

const struct vv_role_ops vv_decoder_role = {
	.name = "decoder",
	.device_id = VIRTIO_VIDEO_DEVICE_ID_DECODER,
	.caps = dec_caps,
	.coded_queue = Q_IN,
	.stream_init = dec_stream_init,
	.stream_fini = dec_stream_fini,
	.set_params = dec_set_params,
	.check_queue = dec_check_queue,
	.pump = dec_pump,
	.drain_begin = dec_drain_begin,
	.drain_cancelled = dec_drain_cancelled,
	.drain_survives_clear = dec_drain_survives_clear,
	.queue_clear = dec_queue_clear,
	.resources_destroyed = dec_resources_destroyed,
	.wants_events = dec_wants_events,
	.event_ready = dec_event_ready,
	.ext_params = dec_ext_params,
};
