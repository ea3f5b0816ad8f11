// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The encoder engine (virtio ID 30): raw frames on INPUT, each handed to the
 * codec as soon as it is queued (read in place from guest or virtio-gpu
 * memory where the plane is contiguous in our mapping), packets copied into
 * OUTPUT bitstream buffers with their frame's timestamp and type. Low
 * latency: a frame's packet goes out before the next frame is needed. The
 * core (video_dev.c) has parsed and checked every command before it gets
 * here. Behaviour: docs/protocol.md, "Encoder".
 */
#define _GNU_SOURCE
#include <endian.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "frame_layout.h"
#include "log.h"
#include "video_internal.h"

/* Packets waiting for an OUTPUT buffer before frames stop being taken. */
#define MAX_PENDING_PACKETS vv_limits.pending
/*
 * Frames an asynchronous codec holds before it returns their packets: the
 * daemon copies each frame into the codec and gives the guest its buffer
 * back, so without this a guest cycling its buffers would queue frames in
 * the codec without bound.
 */
#define MAX_FRAMES_IN_CODEC 4
#define DEFAULT_WIDTH 640
#define DEFAULT_HEIGHT 480
#define DEFAULT_BITRATE 1000000u
#define MAX_BITRATE 1000000000u
#define MAX_GOP_SIZE (1u << 16)
#define MIN_BITSTREAM_SIZE (256u << 10)
#define MAX_BITSTREAM_SIZE (64u << 20)
/* An asynchronous codec's packets when it must be emptied before a rebuild. */
#define REBUILD_WAIT_MS 2000

struct pending_packet {
	struct vv_packet pkt;
	bool eos;
};

/* What the guest set by SET_CONTROL; the codec config is made from it. */
struct enc_controls {
	uint32_t bitrate, bitrate_mode, bitrate_peak;	/* peak 0: twice the bitrate */
	uint32_t profile, level, gop_size;
	bool prepend_headers;
};

struct enc_stream {
	struct vv_encoder *enc;		/* NULL: made at the next frame */
	struct vv_encoder_config config;	/* what enc was made with */
	struct enc_controls ctrl;
	bool force_keyframe;		/* the next frame */
	bool reconfigure;		/* rate, gop or fps changed since enc was made */
	bool rebuild;			/* profile, level or headers changed: a new enc */
	bool emptied;			/* the old enc was flushed for the rebuild */
	struct pending_packet *packets;	/* FIFO, packet_count from packet_first */
	unsigned int packet_first, packet_count, packet_cap;
	/* As the decoder's: the codec was flushed, and said all of it was returned. */
	bool drain_flushed, codec_drained, drain_eos_sent;
	unsigned int flushes_out;
	unsigned int in_codec;		/* frames in an async codec, packets not out */
	bool too_small_logged;
	unsigned long long frames_encoded, packets_output, keyframes, bytes_out;
	unsigned long long input_errors, too_small;
};

static struct enc_stream *enc_of(const struct stream *s)
{
	return s->engine;
}

static const struct vv_encoder_ops *ops(const struct vv_video_dev *dev)
{
	return dev->codec->encoder;
}

/* ---- packets ---- */

static struct pending_packet *packet_at(struct enc_stream *e, unsigned int i)
{
	return &e->packets[(e->packet_first + i) % e->packet_cap];
}

static bool packet_push(struct enc_stream *e, const struct vv_packet *pkt)
{
	if (e->packet_count == e->packet_cap) {
		unsigned int cap = e->packet_cap ? e->packet_cap * 2 : 32;
		struct pending_packet *n = calloc(cap, sizeof(*n));

		if (!n)
			return false;
		for (unsigned int i = 0; i < e->packet_count; i++)
			n[i] = *packet_at(e, i);
		free(e->packets);
		e->packets = n;
		e->packet_cap = cap;
		e->packet_first = 0;
	}
	*packet_at(e, e->packet_count) = (struct pending_packet){ .pkt = *pkt };
	e->packet_count++;
	return true;
}

static void packet_drop_first(struct vv_video_dev *dev, struct enc_stream *e)
{
	ops(dev)->release(e->enc, &packet_at(e, 0)->pkt);
	e->packet_first = (e->packet_first + 1) % e->packet_cap;
	e->packet_count--;
}

static void drop_packets(struct vv_video_dev *dev, struct enc_stream *e)
{
	while (e->packet_count)
		packet_drop_first(dev, e);
}

static void forget_flush(struct enc_stream *e)
{
	e->drain_flushed = false;
	e->codec_drained = false;
}

/* Marks the end of a drain: the last pending packet, else an empty buffer. */
static void codec_drained(struct stream *s)
{
	struct enc_stream *e = enc_of(s);

	e->codec_drained = true;
	e->in_codec = 0;
	if (s->drain_elem && e->packet_count)
		packet_at(e, e->packet_count - 1)->eos = true;
}

/* Takes the packets the codec has ready (as the decoder takes pictures). */
static void collect_packets(struct vv_video_dev *dev, struct stream *s)
{
	struct enc_stream *e = enc_of(s);
	struct vv_packet pkt;
	int ret;

	while (e->enc && !s->failed) {
		if (s->event_fd >= 0 && e->packet_count >= MAX_PENDING_PACKETS)
			return;
		memset(&pkt, 0, sizeof(pkt));
		ret = ops(dev)->receive(e->enc, &pkt);
		if (ret == 1) {
			if (e->in_codec)
				e->in_codec--;
			if (!packet_push(e, &pkt)) {
				ops(dev)->release(e->enc, &pkt);
				vv_stream_fail(dev, s, "out of memory for packets");
				return;
			}
		} else if (ret == VV_CODEC_DRAINED ||
			   (ret == 0 && e->flushes_out && s->event_fd < 0)) {
			e->flushes_out = ret == VV_CODEC_DRAINED && e->flushes_out ?
					 e->flushes_out - 1 : 0;
			if (e->drain_flushed && !e->flushes_out && !e->codec_drained)
				codec_drained(s);
			return;
		} else if (ret == 0) {
			return;
		} else {
			vv_stream_fail(dev, s, "encoder error");
			return;
		}
	}
}

static uint32_t packet_flags(const struct vv_packet *pkt)
{
	switch (pkt->type) {
	case VV_PACKET_KEY:
		return VIRTIO_VIDEO_BUFFER_FLAG_IFRAME;
	case VV_PACKET_B:
		return VIRTIO_VIDEO_BUFFER_FLAG_BFRAME;
	default:
		return VIRTIO_VIDEO_BUFFER_FLAG_PFRAME;
	}
}

/*
 * Copies pending packets into queued OUTPUT buffers. A buffer too small for
 * the next packet goes back with ERR and the packet waits for the next one.
 */
static bool output_packets(struct vv_video_dev *dev, struct stream *s)
{
	struct enc_stream *e = enc_of(s);
	bool progress = false;

	while (e->packet_count && s->queued_head[Q_OUT]) {
		struct pending_packet *pp = packet_at(e, 0);
		struct resource *r;

		/*
		 * During a drain an asynchronous codec's last packet waits for
		 * the codec's end (or the next packet), so that it carries EOS
		 * itself instead of an extra empty buffer the guest may not have.
		 */
		if (s->drain_elem && e->drain_flushed && !e->codec_drained && !s->failed &&
		    e->packet_count == 1)
			break;
		r = vv_dequeue(s, Q_OUT);
		struct iovec *iov;
		int count;

		iov = vv_map_bitstream(dev, r, &s->params[Q_OUT], pp->pkt.size, &count);
		progress = true;
		if (!iov) {
			e->too_small++;
			if (!e->too_small_logged)
				log_warn("stream %u: OUTPUT resource %u cannot hold a %zu-byte packet; "
					 "it waits for a larger buffer", s->id, r->id, pp->pkt.size);
			e->too_small_logged = true;
			vv_complete_resource(dev, s, r, pp->pkt.timestamp,
					     VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
			continue;
		}
		iov_from_buf(iov, (unsigned int)count, 0, pp->pkt.data, pp->pkt.size);
		free(iov);
		s->stats.bytes_copied += pp->pkt.size;
		e->bytes_out += pp->pkt.size;
		e->packets_output++;
		if (pp->pkt.type == VV_PACKET_KEY)
			e->keyframes++;
		vv_complete_resource(dev, s, r, pp->pkt.timestamp, packet_flags(&pp->pkt) |
				     (pp->eos ? VIRTIO_VIDEO_BUFFER_FLAG_EOS : 0),
				     (uint32_t)pp->pkt.size);
		if (pp->eos)
			e->drain_eos_sent = true;
		packet_drop_first(dev, e);
	}
	return progress;
}

/* ---- the codec and its configuration ---- */

static void make_config(const struct stream *s, struct vv_encoder_config *c)
{
	const struct enc_stream *e = s->engine;
	const struct params *in = &s->params[Q_IN];
	uint32_t peak = e->ctrl.bitrate_peak ? e->ctrl.bitrate_peak : 2 * e->ctrl.bitrate;

	memset(c, 0, sizeof(*c));
	c->coded_format = s->coded_format;
	c->raw_format = in->format;
	c->width = in->width;
	c->height = in->height;
	for (unsigned int i = 0; i < 3 && i < in->num_planes; i++)
		c->strides[i] = in->stride[i];
	c->fps_num = in->frame_rate;
	c->fps_den = 1;
	c->rate_control = e->ctrl.bitrate_mode == VIRTIO_VIDEO_BITRATE_MODE_CBR ? VV_RC_CBR :
			  VV_RC_VBR;
	c->bitrate = e->ctrl.bitrate;
	c->bitrate_peak = peak < e->ctrl.bitrate ? e->ctrl.bitrate : peak;
	c->profile = e->ctrl.profile;
	c->level = e->ctrl.level;
	c->gop_size = e->ctrl.gop_size;
	c->prepend_headers = e->ctrl.prepend_headers;
}

static void destroy_encoder(struct vv_video_dev *dev, struct stream *s)
{
	struct enc_stream *e = enc_of(s);

	drop_packets(dev, e);
	if (e->enc)
		ops(dev)->destroy(e->enc);
	e->enc = NULL;
	e->emptied = false;
	s->event_fd = -1;
	e->flushes_out = 0;
	e->in_codec = 0;
	forget_flush(e);
}

/*
 * Before a rebuild the old encoder's packets are taken: flushed, and from an
 * asynchronous one awaited for a bounded time, so no frame is lost.
 */
static void empty_encoder(struct vv_video_dev *dev, struct stream *s)
{
	struct enc_stream *e = enc_of(s);
	struct vv_packet pkt;
	int ret, waited = 0;

	if (!e->enc || s->failed || ops(dev)->flush(e->enc) != VV_CODEC_OK)
		return;
	for (;;) {
		memset(&pkt, 0, sizeof(pkt));
		ret = ops(dev)->receive(e->enc, &pkt);
		if (ret == 1) {
			if (e->in_codec)
				e->in_codec--;
			if (!packet_push(e, &pkt)) {
				ops(dev)->release(e->enc, &pkt);
				return;
			}
			continue;
		}
		if (ret != 0 || s->event_fd < 0 || waited >= REBUILD_WAIT_MS)
			return;
		poll(&(struct pollfd){ .fd = s->event_fd, .events = POLLIN }, 1, 50);
		waited += 50;
	}
}

/* The codec for the next frame: made, reconfigured or rebuilt as the controls say. */
static bool ready_encoder(struct vv_video_dev *dev, struct stream *s)
{
	struct enc_stream *e = enc_of(s);
	struct vv_encoder_config c;
	int ret, fd;

	make_config(s, &c);
	/* Flushed by a drain that was then cancelled: it takes no more frames. */
	if (e->enc && e->drain_flushed && !s->drain_elem)
		e->rebuild = true;
	if (e->enc && e->reconfigure && !e->rebuild) {
		ret = ops(dev)->reconfigure ? ops(dev)->reconfigure(e->enc, &c) :
		      VV_CODEC_ERR_UNSUPPORTED;
		if (ret == VV_CODEC_OK) {
			log_debug("stream %u: reconfigured (%u bps, mode %u, gop %u, %u fps)", s->id,
				  c.bitrate, c.rate_control, c.gop_size, c.fps_num);
			e->config = c;
			e->reconfigure = false;
			return true;
		}
		e->rebuild = true;
	}
	if (e->enc && e->rebuild) {
		/* The old encoder's packets go out before the new one starts. */
		if (!e->emptied) {
			empty_encoder(dev, s);
			e->emptied = true;
			log_info("stream %u: encoder rebuilt for new settings", s->id);
		}
		/* Packets are the codec's memory: it goes once they are out. */
		if (e->packet_count)
			return false;
		destroy_encoder(dev, s);
	}
	e->reconfigure = false;
	e->rebuild = false;
	if (e->enc)
		return true;
	ret = ops(dev)->create(&c, &e->enc);
	if (ret < 0) {
		e->enc = NULL;
		vv_stream_fail(dev, s, ret == VV_CODEC_ERR_NOMEM ? "out of memory for the encoder" :
			       "the encoder refused the settings");
		return false;
	}
	e->config = c;
	fd = ops(dev)->event_fd ? ops(dev)->event_fd(e->enc) : -1;
	s->event_fd = fd < 0 ? -1 : fd;
	log_debug("stream %u: encoder made: %ux%u format %u, %u bps, profile 0x%x", s->id,
		  c.width, c.height, c.raw_format, c.bitrate, c.profile);
	return true;
}

static void encode_input(struct vv_video_dev *dev, struct stream *s, struct resource *r)
{
	struct enc_stream *e = enc_of(s);
	const struct params *p = &s->params[Q_IN];
	struct frame_map m;
	struct vv_frame frame;
	uint32_t flags = 0;
	int ret;

	if (s->failed) {
		vv_complete_resource(dev, s, r, r->timestamp, VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
		return;
	}
	ret = vv_frame_map(dev, r, p, true, &m);
	if (ret <= 0) {
		if (!ret)
			log_warn("stream %u: INPUT resource %u cannot hold a %ux%u frame", s->id,
				 r->id, p->width, p->height);
		e->input_errors++;
		vv_complete_resource(dev, s, r, r->timestamp, VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
		return;
	}
	memset(&frame, 0, sizeof(frame));
	frame.format = p->format;
	frame.width = p->width;
	frame.height = p->height;
	frame.num_planes = p->num_planes < 3 ? p->num_planes : 3;
	for (unsigned int i = 0; i < frame.num_planes; i++)
		frame.planes[i] = m.planes[i];
	frame.timestamp = r->timestamp;
	frame.force_keyframe = e->force_keyframe;
	/* After a cancelled drain: the codec encodes again. */
	if (!s->drain_elem)
		forget_flush(e);
	ret = ops(dev)->encode(e->enc, &frame);
	vv_frame_unmap(&m, false);
	s->stats.bytes_copied += m.bounce_total;
	if (ret == VV_CODEC_OK) {
		e->frames_encoded++;
		if (s->event_fd >= 0)
			e->in_codec++;
		e->force_keyframe = false;
	} else if (ret == VV_CODEC_ERR_INVALID_DATA) {
		e->input_errors++;
		flags = VIRTIO_VIDEO_BUFFER_FLAG_ERR;
	} else {
		flags = VIRTIO_VIDEO_BUFFER_FLAG_ERR;
		vv_stream_fail(dev, s, "the encoder failed");
	}
	collect_packets(dev, s);
	vv_complete_resource(dev, s, r, r->timestamp, flags, 0);
}

/* Finishes a drain once its EOS buffer went out. */
static bool advance_drain(struct vv_video_dev *dev, struct stream *s)
{
	struct enc_stream *e = enc_of(s);

	if (!s->drain_elem || s->queued_head[Q_IN])
		return false;
	if (!e->drain_flushed) {
		e->drain_flushed = true;
		if (e->enc && !s->failed && ops(dev)->flush(e->enc) == VV_CODEC_OK) {
			e->flushes_out++;
			collect_packets(dev, s);
		} else {
			codec_drained(s);
		}
		return true;
	}
	if (s->failed && !e->codec_drained)
		codec_drained(s);
	if (e->codec_drained && !e->drain_eos_sent && !e->packet_count && s->queued_head[Q_OUT]) {
		vv_complete_resource(dev, s, vv_dequeue(s, Q_OUT), 0, VIRTIO_VIDEO_BUFFER_FLAG_EOS, 0);
		e->drain_eos_sent = true;
	}
	if (e->drain_eos_sent) {
		vv_reply_hdr(dev, s->drain_elem, VIRTIO_VIDEO_RESP_OK_NODATA, s->id);
		s->drain_elem = NULL;
		e->drain_eos_sent = false;
		/* A flushed codec takes no more frames: the next one gets a new encoder. */
		if (!e->packet_count)
			destroy_encoder(dev, s);
		else
			e->rebuild = true;
		return true;
	}
	return false;
}

static void enc_pump(struct vv_video_dev *dev, struct stream *s)
{
	struct enc_stream *e = enc_of(s);
	bool progress;

	do {
		progress = output_packets(dev, s);
		if (e->packet_count < MAX_PENDING_PACKETS && e->in_codec < MAX_FRAMES_IN_CODEC &&
		    s->queued_head[Q_IN] &&
		    (s->failed || ready_encoder(dev, s))) {
			encode_input(dev, s, vv_dequeue(s, Q_IN));
			progress = true;
		}
		progress |= advance_drain(dev, s);
	} while (progress);
}

static void enc_drain_begin(struct vv_video_dev *dev, struct stream *s)
{
	(void)dev;
	forget_flush(enc_of(s));
}

static void enc_drain_cancelled(struct vv_video_dev *dev, struct stream *s)
{
	struct enc_stream *e = enc_of(s);

	(void)dev;
	for (unsigned int i = 0; i < e->packet_count; i++)
		packet_at(e, i)->eos = false;
	e->drain_eos_sent = false;
}

/* ---- streams, params, queues ---- */

static uint32_t default_bitstream_size(uint32_t width, uint32_t height)
{
	uint64_t size = (uint64_t)width * height * 3 / 2 + (64u << 10);

	if (size < MIN_BITSTREAM_SIZE)
		size = MIN_BITSTREAM_SIZE;
	return size > MAX_BITSTREAM_SIZE ? MAX_BITSTREAM_SIZE : (uint32_t)size;
}

/* The OUTPUT queue mirrors the frame size and suggests a buffer for it. */
static void sync_output_params(struct stream *s, bool resize_buffer)
{
	struct params *in = &s->params[Q_IN], *out = &s->params[Q_OUT];

	out->width = in->width;
	out->height = in->height;
	out->frame_rate = in->frame_rate;
	if (resize_buffer)
		out->plane_size[0] = default_bitstream_size(in->width, in->height);
}

static void init_params(struct vv_video_dev *dev, struct stream *s)
{
	const struct vv_codec_format *caps = vv_coded_caps(dev, s->coded_format);
	struct params *in = &s->params[Q_IN], *out = &s->params[Q_OUT];
	uint32_t width = DEFAULT_WIDTH, height = DEFAULT_HEIGHT;

	if (caps && (width > caps->max_width || height > caps->max_height)) {
		width = caps->min_width;
		height = caps->min_height;
	}
	*in = (struct params){
		.format = vv_raw_format_offered(dev, VIRTIO_VIDEO_FORMAT_NV12) ?
			  VIRTIO_VIDEO_FORMAT_NV12 : dev->caps->raw[0],
		.width = width, .height = height, .min_buffers = 1, .max_buffers = 32,
		.frame_rate = 30,
	};
	vv_params_layout(in, NULL);
	*out = (struct params){
		.format = s->coded_format, .min_buffers = 1, .max_buffers = 32, .num_planes = 1,
	};
	sync_output_params(s, true);
}

static void default_controls(struct enc_controls *c)
{
	*c = (struct enc_controls){
		.bitrate = DEFAULT_BITRATE, .bitrate_mode = VIRTIO_VIDEO_BITRATE_MODE_VBR,
	};
}

static uint32_t enc_stream_init(struct vv_video_dev *dev, struct stream *s)
{
	struct enc_stream *e = calloc(1, sizeof(*e));

	if (!e)
		return VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
	s->engine = e;
	default_controls(&e->ctrl);
	init_params(dev, s);
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

static void enc_stream_fini(struct vv_video_dev *dev, struct stream *s)
{
	struct enc_stream *e = enc_of(s);
	const struct res_counters *c = &s->stats;

	destroy_encoder(dev, s);
	free(e->packets);
	log_info("stream %u end: frames_encoded=%llu packets_output=%llu keyframes=%llu "
		 "bytes_out=%llu input_errors=%llu output_too_small=%llu "
		 "res_guest_pages_in=%llu res_guest_pages_out=%llu res_virtio_object_in=%llu "
		 "res_virtio_object_out=%llu bytes_copied=%llu",
		 s->id, e->frames_encoded, e->packets_output, e->keyframes, e->bytes_out,
		 e->input_errors, e->too_small, c->res_pages[Q_IN], c->res_pages[Q_OUT],
		 c->res_objects[Q_IN], c->res_objects[Q_OUT], c->bytes_copied);
	free(e);
	s->engine = NULL;
}

static bool busy(const struct stream *s)
{
	return s->queued_head[Q_IN] || s->drain_elem;
}

/* A change the running codec cannot take: the next frame gets a new one. */
static void settings_changed(struct stream *s)
{
	if (enc_of(s)->enc)
		enc_of(s)->rebuild = true;
}

static uint32_t set_input_params(struct vv_video_dev *dev, struct stream *s,
				 const struct virtio_video_params *w)
{
	const struct vv_codec_format *caps = vv_coded_caps(dev, s->coded_format);
	uint32_t stride[VIRTIO_VIDEO_MAX_PLANES];
	struct params p = s->params[Q_IN];
	bool changed;

	p.format = le32toh(w->format);
	p.width = le32toh(w->frame_width);
	p.height = le32toh(w->frame_height);
	if (!vv_raw_format_offered(dev, p.format) || !caps ||
	    p.width < caps->min_width || p.width > caps->max_width ||
	    p.height < caps->min_height || p.height > caps->max_height ||
	    (caps->width_step > 1 && (p.width - caps->min_width) % caps->width_step) ||
	    (caps->height_step > 1 && (p.height - caps->min_height) % caps->height_step))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	if (!vv_wire_strides(w, p.format, p.width, p.height, stride) ||
	    !vv_params_layout(&p, stride))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	if (le32toh(w->frame_rate))
		p.frame_rate = le32toh(w->frame_rate);
	if (p.frame_rate > (caps->max_fps ? caps->max_fps : 120))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	changed = p.format != s->params[Q_IN].format || p.width != s->params[Q_IN].width ||
		  p.height != s->params[Q_IN].height ||
		  memcmp(p.stride, s->params[Q_IN].stride, sizeof(p.stride));
	if (changed && busy(s))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
	if (changed)
		settings_changed(s);
	else if (p.frame_rate != s->params[Q_IN].frame_rate && enc_of(s)->enc)
		enc_of(s)->reconfigure = true;
	s->params[Q_IN] = p;
	sync_output_params(s, changed);
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

static uint32_t set_output_params(struct vv_video_dev *dev, struct stream *s,
				  const struct virtio_video_params *w)
{
	uint32_t format = le32toh(w->format), size = le32toh(w->plane_formats[0].plane_size);
	uint32_t rate = le32toh(w->frame_rate);
	const struct vv_codec_format *caps = vv_coded_caps(dev, format);

	if (!caps || (size && (size < 1024 || size > MAX_BITSTREAM_SIZE)) ||
	    rate > (caps->max_fps ? caps->max_fps : 120))
		return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
	if (format != s->coded_format) {
		if (busy(s))
			return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
		settings_changed(s);
		s->coded_format = format;
		s->params[Q_OUT].format = format;
		/* Profile and level belong to the old format. */
		enc_of(s)->ctrl.profile = 0;
		enc_of(s)->ctrl.level = 0;
	}
	if (size)
		s->params[Q_OUT].plane_size[0] = size;
	if (rate && rate != s->params[Q_IN].frame_rate) {
		s->params[Q_IN].frame_rate = rate;
		s->params[Q_OUT].frame_rate = rate;
		if (enc_of(s)->enc)
			enc_of(s)->reconfigure = true;
	}
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

static uint32_t enc_set_params(struct vv_video_dev *dev, struct stream *s, int q,
			       const struct virtio_video_params *w)
{
	return q == Q_IN ? set_input_params(dev, s, w) : set_output_params(dev, s, w);
}

static void enc_queue_clear(struct vv_video_dev *dev, struct stream *s, int q)
{
	struct enc_stream *e = enc_of(s);

	if (q != Q_IN)
		return;
	/* A new encoder, not reset(): it may have been flushed, and it starts on a keyframe. */
	destroy_encoder(dev, s);
	e->reconfigure = false;
	e->rebuild = false;
	s->failed = false;
}

static void enc_resources_destroyed(struct vv_video_dev *dev, struct stream *s, int q)
{
	(void)dev;
	(void)s;
	(void)q;
}

static bool enc_wants_events(const struct stream *s)
{
	const struct enc_stream *e = s->engine;

	return s->event_fd >= 0 && e->enc && !s->failed && e->packet_count < MAX_PENDING_PACKETS;
}

static void enc_event_ready(struct vv_video_dev *dev, struct stream *s)
{
	collect_packets(dev, s);
	enc_pump(dev, s);
}

/* ---- controls ---- */

static bool offered(const uint32_t *list, unsigned int n, uint32_t v)
{
	return vv_has_format(list, n, v);
}

static bool ext_controls(struct vv_video_dev *dev)
{
	return vu_has_feature(&dev->vu, VIRTIO_VIDEO_F_EXT_CONTROLS);
}

static uint32_t enc_get_control(struct vv_video_dev *dev, struct stream *s, uint32_t control,
				uint32_t *value)
{
	const struct enc_controls *c = &enc_of(s)->ctrl;
	const struct vv_codec_format *caps = vv_coded_caps(dev, s->coded_format);

	switch (control) {
	case VIRTIO_VIDEO_CONTROL_BITRATE:
		*value = c->bitrate;
		break;
	case VIRTIO_VIDEO_CONTROL_BITRATE_MODE:
		*value = c->bitrate_mode;
		break;
	case VIRTIO_VIDEO_CONTROL_BITRATE_PEAK:
		*value = c->bitrate_peak ? c->bitrate_peak : 2 * c->bitrate;
		break;
	case VIRTIO_VIDEO_CONTROL_PROFILE:
		if (!caps || !caps->num_profiles)
			return VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
		*value = c->profile ? c->profile : caps->profiles[0];
		break;
	case VIRTIO_VIDEO_CONTROL_LEVEL:
		if (!caps || !caps->num_levels)
			return VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
		*value = c->level ? c->level : caps->levels[caps->num_levels - 1];
		break;
	case VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR:
		*value = c->prepend_headers;
		break;
	case VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME:
		*value = enc_of(s)->force_keyframe;
		break;
	case VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE:
		if (!ext_controls(dev))
			return VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
		*value = c->gop_size;
		break;
	default:
		return VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
	}
	return VIRTIO_VIDEO_RESP_OK_GET_CONTROL;
}

/* Every value is checked before anything changes; changes apply from the next frame. */
static uint32_t enc_set_control(struct vv_video_dev *dev, struct stream *s, uint32_t control,
				uint32_t value)
{
	struct enc_stream *e = enc_of(s);
	struct enc_controls *c = &e->ctrl;
	const struct vv_codec_format *caps = vv_coded_caps(dev, s->coded_format);
	bool rate = false, rebuild = false;

	switch (control) {
	case VIRTIO_VIDEO_CONTROL_BITRATE:
		if (!value || value > MAX_BITRATE)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		rate = value != c->bitrate;
		c->bitrate = value;
		break;
	case VIRTIO_VIDEO_CONTROL_BITRATE_MODE:
		if (value != VIRTIO_VIDEO_BITRATE_MODE_VBR && value != VIRTIO_VIDEO_BITRATE_MODE_CBR)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		rate = value != c->bitrate_mode;
		c->bitrate_mode = value;
		break;
	case VIRTIO_VIDEO_CONTROL_BITRATE_PEAK:
		if (!value || value > MAX_BITRATE)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		rate = value != c->bitrate_peak;
		c->bitrate_peak = value;
		break;
	case VIRTIO_VIDEO_CONTROL_PROFILE:
		if (!caps || !caps->num_profiles)
			return VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
		if (!offered(caps->profiles, caps->num_profiles, value))
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		rebuild = value != c->profile;
		c->profile = value;
		break;
	case VIRTIO_VIDEO_CONTROL_LEVEL:
		if (!caps || !caps->num_levels)
			return VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
		if (!offered(caps->levels, caps->num_levels, value))
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		rebuild = value != c->level;
		c->level = value;
		break;
	case VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR:
		if (value > 1)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		rebuild = value != c->prepend_headers;
		c->prepend_headers = value;
		break;
	case VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME:
		e->force_keyframe = true;
		break;
	case VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE:
		if (!ext_controls(dev))
			return VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
		if (value > MAX_GOP_SIZE)
			return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
		rate = value != c->gop_size;
		c->gop_size = value;
		break;
	default:
		return VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
	}
	if (e->enc && rate)
		e->reconfigure = true;
	if (e->enc && rebuild)
		e->rebuild = true;
	return VIRTIO_VIDEO_RESP_OK_NODATA;
}

static const struct vv_codec_role_caps *enc_caps(const struct vv_codec_caps *caps,
						 const struct vv_codec_ops *codec)
{
	return codec->encoder ? &caps->encoder : NULL;
}

const struct vv_role_ops vv_encoder_role = {
	.name = "encoder",
	.device_id = VIRTIO_VIDEO_DEVICE_ID_ENCODER,
	.features = 1ull << VIRTIO_VIDEO_F_EXT_CONTROLS,
	.caps = enc_caps,
	.coded_queue = Q_OUT,
	.stream_init = enc_stream_init,
	.stream_fini = enc_stream_fini,
	.set_params = enc_set_params,
	.pump = enc_pump,
	.drain_begin = enc_drain_begin,
	.drain_cancelled = enc_drain_cancelled,
	.queue_clear = enc_queue_clear,
	.resources_destroyed = enc_resources_destroyed,
	.wants_events = enc_wants_events,
	.event_ready = enc_event_ready,
	.get_control = enc_get_control,
	.set_control = enc_set_control,
};
