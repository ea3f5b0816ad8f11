// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * vv-client --encode, the device side: streams, resources, answers, checks
 * (what the options mean: vv-client-enc-opts.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vv_buf.h"
#include "vv_client_enc.h"
#include "vv_dev.h"
#include "vv_lat.h"

#define OUT_BASE_ID 100

static struct vv_dev dev;
static unsigned long answers;	/* see the decoder client: handled while another stream waited */

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

/* The timestamp of frame i: microseconds at --fps (strictly increasing up to 1 MHz). */
static uint64_t frame_ts(uint32_t i)
{
	return (uint64_t)i * 1000000 / o.fps;
}

/* ---- streams ------------------------------------------------------------------ */

struct estream;

struct eres {
	struct estream *s;
	uint32_t id, queue;
	bool queued;
	struct vv_buf b[VIRTIO_VIDEO_MAX_PLANES]; /* [0] only for a single buffer */
	uint32_t frame;	/* input: the frame it carries */
	struct vv_req *req;
};

struct estream {
	uint32_t id;
	bool started, done, destroying, clearing, regrow, eos, drain_done, mid_drained;
	struct vv_req *drain_req;
	struct virtio_video_params in_p;
	uint32_t offset[VIRTIO_VIDEO_MAX_PLANES], in_total, out_size;
	struct eres in[MAX_RES], out[MAX_RES];
	int n_in, n_out;
	uint32_t next_frame, packets;
	bool *got, *key, *bframe;
	int64_t *t_queued, *lat_us, t_start, t_end;
	uint64_t bytes;
	unsigned int too_small, drains;
	FILE *file;
	uint8_t *pkt;
	size_t pkt_cap;
};

static struct estream *streams;

static int sync_cmd(struct estream *s, void *cmd, uint32_t len, void *resp, uint32_t cap,
		    uint32_t want, bool fatal)
{
	struct virtio_video_cmd_hdr *h = cmd;
	uint32_t used = 0;
	int t;

	h->stream_id = s ? s->id : 0;
	t = vv_sync(&dev, cmd, len, resp, cap, &used);
	if (t < 0)
		die("stream %u: command 0x%x failed at the transport level", h->stream_id, h->type);
	if (!fatal)
		return t;
	if ((uint32_t)t != want)
		die("stream %u: command 0x%x answered %s (0x%x, %u bytes), expected %s", h->stream_id,
		    h->type, vv_resp_name(t), t, used, vv_resp_name(want));
	if (resp && used < cap && want != VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY &&
	    want != VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL)
		die("stream %u: command 0x%x: response of %u bytes, expected %u", h->stream_id,
		    h->type, used, cap);
	return t;
}

static void get_params(struct estream *s, uint32_t queue, struct virtio_video_params *p)
{
	struct virtio_video_get_params c = { .hdr.type = VIRTIO_VIDEO_CMD_GET_PARAMS,
					     .queue_type = queue };
	struct virtio_video_get_params_resp r;

	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_GET_PARAMS, true);
	if (r.params.queue_type != queue)
		die("stream %u: GET_PARAMS(0x%x) answered for queue 0x%x", s->id, queue,
		    r.params.queue_type);
	*p = r.params;
}

static void set_params(struct estream *s, const struct virtio_video_params *p)
{
	struct virtio_video_set_params c = { .hdr.type = VIRTIO_VIDEO_CMD_SET_PARAMS, .params = *p };
	struct virtio_video_cmd_hdr r;

	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA, true);
}

/* SET_CONTROL / GET_CONTROL: hdr, le32 control, pad[4], then the 8-byte value. */
struct ctl_cmd {
	struct virtio_video_set_control c;
	struct virtio_video_control_val_bitrate v;
};

struct ctl_resp {
	struct virtio_video_get_control_resp r;
	struct virtio_video_control_val_bitrate v;
};

static void set_control(struct estream *s, uint32_t control, uint32_t value, const char *what)
{
	struct ctl_cmd c = { { .hdr.type = VIRTIO_VIDEO_CMD_SET_CONTROL, .control = control },
			     { .bitrate = value } };
	struct virtio_video_cmd_hdr r;
	int t = sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA, false);

	if (t != VIRTIO_VIDEO_RESP_OK_NODATA)
		die("stream %u: SET_CONTROL %s (0x%x) = %u answered %s (0x%x)", s->id, what, control,
		    value, vv_resp_name(t), t);
}

static void check_control(struct estream *s, uint32_t control, uint32_t value, const char *what)
{
	struct virtio_video_get_control c = { .hdr.type = VIRTIO_VIDEO_CMD_GET_CONTROL,
					      .control = control };
	struct ctl_resp r;

	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_GET_CONTROL, true);
	if (r.v.bitrate != value)
		die("stream %u: GET_CONTROL %s: %u, it was set to %u", s->id, what, r.v.bitrate, value);
}

/* QUERY_CONTROL PROFILE/LEVEL of the coded format: value must be listed. */
static void check_offered(struct estream *s, uint32_t control, uint32_t value, const char *what)
{
	struct {
		struct virtio_video_query_control c;
		struct virtio_video_query_control_profile f;
	} c = { { .hdr.type = VIRTIO_VIDEO_CMD_QUERY_CONTROL, .control = control },
		{ .format = o.coded_format } };
	uint32_t r[2 + 2 + 64];
	char list[512] = "";
	uint32_t n;

	memset(r, 0, sizeof(r));
	sync_cmd(s, &c, sizeof(c), r, sizeof(r), VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL, true);
	n = r[2] > 64 ? 64 : r[2];
	for (uint32_t i = 0; i < n; i++) {
		if (r[4 + i] == value)
			return;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), " 0x%x", r[4 + i]);
	}
	die("--%s: the device does not offer 0x%x for %s (QUERY_CONTROL lists:%s)", what, value,
	    o.codec, n ? list : " nothing");
}

static bool in_range(const struct virtio_video_format_range *r, uint32_t v)
{
	return v >= r->min && v <= r->max && (r->step <= 1 || (v - r->min) % r->step == 0);
}

struct fdesc {
	uint32_t format, layout;
	uint64_t mask;
	bool size_ok, rate_ok;
};

/* QUERY_CAPABILITY(queue): every descriptor, sizes and rates checked against ours. */
static int query_caps(uint32_t queue, struct fdesc *d, int max)
{
	struct virtio_video_query_capability c = { .hdr.type = VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
						   .queue_type = queue };
	uint32_t cap = dev.cfg.max_caps_length, used = 0, off, i, k, n;
	uint8_t *buf = malloc(cap);
	struct virtio_video_query_capability_resp *r = (void *)buf;
	int t;

	t = vv_sync(&dev, &c, sizeof(c), buf, cap, &used);
	if (t != VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY || used < sizeof(*r))
		die("QUERY_CAPABILITY(0x%x) answered %s (0x%x, %u bytes)", queue, vv_resp_name(t), t,
		    used);
	n = r->num_descs;
	if (!n || n > (uint32_t)max)
		die("QUERY_CAPABILITY(0x%x): %u format descriptors", queue, n);
	off = sizeof(*r);
	for (i = 0; i < n; i++) {
		struct virtio_video_format_desc fd;
		bool raw;

		if (off + sizeof(fd) > used)
			die("QUERY_CAPABILITY(0x%x): descriptor %u truncated", queue, i);
		memcpy(&fd, buf + off, sizeof(fd));
		off += sizeof(fd);
		raw = fd.format >= VIRTIO_VIDEO_FORMAT_RAW_MIN && fd.format <= VIRTIO_VIDEO_FORMAT_RAW_MAX;
		/* The encoder's INPUT takes raw frames, its OUTPUT gives bitstream. */
		if (raw != (queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT) ||
		    (!raw && (fd.format < VIRTIO_VIDEO_FORMAT_CODED_MIN ||
			      fd.format > VIRTIO_VIDEO_FORMAT_CODED_MAX)))
			die("QUERY_CAPABILITY(0x%x): format 0x%x on the wrong queue (is this an encoder "
			    "device? vhost-user-video --device encoder)", queue, fd.format);
		if (!fd.planes_layout || !fd.mask || fd.num_frames > 64)
			die("QUERY_CAPABILITY(0x%x): format 0x%x: layout 0x%x mask 0x%llx frames %u",
			    queue, fd.format, fd.planes_layout, (unsigned long long)fd.mask,
			    fd.num_frames);
		d[i] = (struct fdesc){ fd.format, fd.planes_layout, fd.mask, !fd.num_frames, false };
		for (k = 0; k < fd.num_frames; k++) {
			struct virtio_video_format_frame fr;
			struct virtio_video_format_range rate;
			bool size_ok;

			if (off + sizeof(fr) > used)
				die("QUERY_CAPABILITY(0x%x): frame %u of format 0x%x truncated", queue,
				    k, fd.format);
			memcpy(&fr, buf + off, sizeof(fr));
			off += sizeof(fr);
			if (fr.width.min > fr.width.max || fr.height.min > fr.height.max ||
			    fr.num_rates > 64 || off + fr.num_rates * sizeof(rate) > used)
				die("QUERY_CAPABILITY(0x%x): format 0x%x: bad frame ranges", queue,
				    fd.format);
			size_ok = in_range(&fr.width, o.width) && in_range(&fr.height, o.height);
			d[i].size_ok |= size_ok;
			for (uint32_t j = 0; j < fr.num_rates; j++) {
				memcpy(&rate, buf + off + j * sizeof(rate), sizeof(rate));
				d[i].rate_ok |= size_ok && in_range(&rate, o.fps);
			}
			d[i].rate_ok |= size_ok && !fr.num_rates;
			off += fr.num_rates * sizeof(rate);
		}
	}
	if (off != used)
		die("QUERY_CAPABILITY(0x%x): %u bytes used, descriptors take %u", queue, used, off);
	free(buf);
	return (int)n;
}

static void check_caps(void)
{
	struct fdesc in[64], out[64];
	int ni = query_caps(VIRTIO_VIDEO_QUEUE_TYPE_INPUT, in, 64);
	int no = query_caps(VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, out, 64), ri = -1, ci = -1, i;
	uint32_t layout = o.per_plane ? VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE :
					VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;

	for (i = 0; i < ni; i++) {
		if (no < 64 && in[i].mask >> no)
			die("capability mask of raw format %u names OUTPUT descriptors that do not exist",
			    in[i].format);
		if (in[i].format == o.raw_format)
			ri = i;
	}
	for (i = 0; i < no; i++)
		if (out[i].format == o.coded_format)
			ci = i;
	if (ci < 0)
		die("the device does not encode %s (format 0x%x not in QUERY_CAPABILITY(OUTPUT))",
		    o.codec, o.coded_format);
	if (ri < 0)
		die("the device does not take raw format %u", o.raw_format);
	if (!(in[ri].mask & (1ull << ci)))
		die("the device says raw format %u cannot be encoded to %s", o.raw_format, o.codec);
	if (!(in[ri].layout & layout))
		die("the device does not take %s raw frames (planes_layout 0x%x)",
		    o.per_plane ? "per-plane" : "single-buffer", in[ri].layout);
	if (!in[ri].size_ok || !out[ci].size_ok)
		die("%ux%u is outside the device's frame sizes for %s", o.width, o.height, o.codec);
	if (!in[ri].rate_ok)
		die("%u fps is outside the device's frame rates at %ux%u", o.fps, o.width, o.height);
}

/* ---- resources ------------------------------------------------------------------ */

static void create_res(struct estream *s, struct eres *r, uint32_t queue, uint32_t id)
{
	const struct virtio_video_params *p = &s->in_p;
	bool per_plane = queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT && o.per_plane;
	uint32_t nplanes = queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT ? p->num_planes : 1, nent = 0, len;
	struct virtio_video_resource_create *c;
	struct virtio_video_cmd_hdr resp;
	uint8_t *cmd;
	uint32_t i, j = 0;

	memset(r, 0, sizeof(*r));
	r->s = s;
	r->id = id;
	r->queue = queue;
	for (i = 0; i < (per_plane ? nplanes : 1); i++) {
		uint32_t size = queue == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT ? s->out_size :
				per_plane ? p->plane_formats[i].plane_size : s->in_total;

		if (!vv_buf_alloc(&dev.f, &r->b[i], size, o.scatter))
			die("out of guest memory (%u bytes)", size);
		nent += r->b[i].nent;
	}
	len = sizeof(*c) + nent * sizeof(struct virtio_video_mem_entry);
	cmd = calloc(1, len);
	c = (void *)cmd;
	c->hdr.type = VIRTIO_VIDEO_CMD_RESOURCE_CREATE;
	c->queue_type = queue;
	c->resource_id = id;
	c->planes_layout = per_plane ? VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE :
				       VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
	c->num_planes = nplanes;
	for (i = 0; i < nplanes; i++) {
		const struct vv_buf *b = &r->b[per_plane ? i : 0];

		c->plane_offsets[i] = per_plane || queue == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT ? 0 :
										       s->offset[i];
		if (!per_plane && i > 0)
			continue;
		c->num_entries[i] = b->nent;
		for (int k = 0; k < b->nent; k++) {
			struct virtio_video_mem_entry *e = (void *)(cmd + sizeof(*c) + j++ * sizeof(*e));

			e->addr = b->ent[k].gpa;
			e->length = b->ent[k].len;
		}
	}
	sync_cmd(s, c, len, &resp, sizeof(resp), VIRTIO_VIDEO_RESP_OK_NODATA, true);
	free(cmd);
	r->req = vv_req_new(&dev, sizeof(struct virtio_video_resource_queue), dev.cfg.max_resp_length);
	if (!r->req)
		die("out of guest memory");
	r->req->opaque = r;
}

static void free_res(struct eres *r)
{
	for (int i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++)
		if (r->b[i].nent)
			vv_buf_free(&dev.f, &r->b[i]);
	vv_req_free(r->req);
	r->req = NULL;
}

/* Waits until no resource of the stream (and no drain) is outstanding. */
static void wait_idle(struct estream *s, bool in, bool out, const char *why)
{
	for (;;) {
		int n = 0, i;

		for (i = 0; in && i < s->n_in; i++)
			n += s->in[i].queued;
		for (i = 0; out && i < s->n_out; i++)
			n += s->out[i].queued;
		n += s->drain_req && !s->drain_req->done;
		if (!n)
			return;
		if (vv_poll(&dev, o.timeout_ms) <= 0)
			die("stream %u: %d requests not answered (%s)", s->id, n, why);
	}
}

/* ---- answers ------------------------------------------------------------------------ */

static struct virtio_video_resource_queue_resp *check_answer(struct vv_req *req, struct eres *r)
{
	struct virtio_video_resource_queue_resp *resp = vv_resp(req);
	struct estream *s = r->s;

	answers++;
	r->queued = false;
	if (req->used_len < sizeof(struct virtio_video_cmd_hdr))
		die("stream %u: RESOURCE_QUEUE of resource %u dropped by the device", s->id, r->id);
	if (resp->hdr.type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE || req->used_len < sizeof(*resp))
		die("stream %u: RESOURCE_QUEUE of resource %u answered %s (0x%x, %u bytes)", s->id,
		    r->id, vv_resp_name(resp->hdr.type), resp->hdr.type, req->used_len);
	if (resp->hdr.stream_id != s->id)
		die("stream %u: RESOURCE_QUEUE answer for stream %u", s->id, resp->hdr.stream_id);
	return resp;
}

static void on_input_done(struct vv_req *req)
{
	struct eres *r = req->opaque;
	struct virtio_video_resource_queue_resp *resp = check_answer(req, r);

	if ((resp->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) && !r->s->destroying)
		die("stream %u: frame %u (input resource %u) came back with ERR", r->s->id, r->frame,
		    r->id);
}

/* The frame whose timestamp ts is (timestamps grow with the frame number). */
static int64_t frame_of(uint64_t ts)
{
	uint32_t lo = 0, hi = nframes;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (frame_ts(mid) < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nframes && frame_ts(lo) == ts ? (int64_t)lo : -1;
}

static void write_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool ivf(void)
{
	return o.coded_format == VIRTIO_VIDEO_FORMAT_VP8 || o.coded_format == VIRTIO_VIDEO_FORMAT_VP9;
}

static void on_output_done(struct vv_req *req)
{
	struct eres *r = req->opaque;
	struct estream *s = r->s;
	struct virtio_video_resource_queue_resp *resp = check_answer(req, r);
	uint32_t kind = resp->flags & (VIRTIO_VIDEO_BUFFER_FLAG_IFRAME |
				       VIRTIO_VIDEO_BUFFER_FLAG_PFRAME |
				       VIRTIO_VIDEO_BUFFER_FLAG_BFRAME);
	int64_t f;

	if (s->destroying)
		return;
	if ((resp->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) && s->clearing && !resp->size)
		return;
	if (resp->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) {
		/* Too small for the packet: the device keeps it for a bigger buffer. */
		if (resp->size)
			die("stream %u: OUTPUT buffer %u came back with ERR and size %u", s->id, r->id,
			    resp->size);
		s->too_small++;
		s->regrow = true;
		return;
	}
	if (resp->size > r->b[0].size)
		die("stream %u: packet of %u bytes in a %u-byte buffer", s->id, resp->size, r->b[0].size);
	if (resp->size) {
		f = frame_of(resp->timestamp);
		if (f < 0 || f >= s->next_frame)
			die("stream %u: packet with timestamp %llu that no queued frame carried", s->id,
			    (unsigned long long)resp->timestamp);
		if (s->got[f])
			die("stream %u: a second packet for frame %lld", s->id, (long long)f);
		if (kind != VIRTIO_VIDEO_BUFFER_FLAG_IFRAME && kind != VIRTIO_VIDEO_BUFFER_FLAG_PFRAME &&
		    kind != VIRTIO_VIDEO_BUFFER_FLAG_BFRAME)
			die("stream %u: packet of frame %lld has flags 0x%x: not one of IFRAME, PFRAME, "
			    "BFRAME", s->id, (long long)f, resp->flags);
		s->got[f] = true;
		s->key[f] = kind == VIRTIO_VIDEO_BUFFER_FLAG_IFRAME;
		s->bframe[f] = kind == VIRTIO_VIDEO_BUFFER_FLAG_BFRAME;
		s->lat_us[f] = now_us() - s->t_queued[f];
		s->packets++;
		s->bytes += resp->size;
		if (s->pkt_cap < resp->size + 12) {
			free(s->pkt);
			s->pkt_cap = resp->size + 12;
			s->pkt = malloc(s->pkt_cap);
			if (!s->pkt)
				die("out of memory");
		}
		/* IVF frame header: size, timestamp (the packet's) */
		write_le(s->pkt, resp->size, 4);
		write_le(s->pkt + 4, resp->timestamp, 8);
		if (!vv_buf_io(&dev.f, &r->b[0], 0, s->pkt + 12, resp->size, false))
			die("internal: packet read");
		if (fwrite(s->pkt + (ivf() ? 0 : 12), 1, resp->size + (ivf() ? 12 : 0), s->file) !=
		    resp->size + (ivf() ? 12u : 0u))
			die("write the output: %s", strerror(errno));
	} else if (!(resp->flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS)) {
		die("stream %u: empty OUTPUT buffer without EOS (flags 0x%x)", s->id, resp->flags);
	}
	if (resp->flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) {
		if (!s->drain_req || s->eos)
			die("stream %u: EOS without a drain", s->id);
		if (s->packets != s->next_frame)
			die("stream %u: EOS after %u packets, %u frames were queued", s->id, s->packets,
			    s->next_frame);
		s->eos = true;
		s->t_end = now_us();
	}
}

static void on_drain_done(struct vv_req *req)
{
	struct estream *s = req->opaque;
	struct virtio_video_cmd_hdr *h = vv_resp(req);

	answers++;
	if (s->destroying)
		return;
	if (req->used_len < sizeof(*h) || h->type != VIRTIO_VIDEO_RESP_OK_NODATA)
		die("stream %u: STREAM_DRAIN answered %s (0x%x)", s->id, vv_resp_name(h->type), h->type);
	if (!s->eos)
		die("stream %u: STREAM_DRAIN answered before the EOS buffer", s->id);
	s->drain_done = true;
	s->drains++;
}

static void on_event(struct vv_dev *d, const struct virtio_video_event *ev)
{
	(void)d;
	answers++;
	if (ev->event_type == VIRTIO_VIDEO_EVENT_ERROR)
		die("stream %u: ERROR event from the device", ev->stream_id);
	die("stream %u: unexpected event 0x%x from an encoder", ev->stream_id, ev->event_type);
}

/* ---- the stream ------------------------------------------------------------------------ */

static void queue_res(struct estream *s, struct eres *r, uint64_t ts)
{
	struct virtio_video_resource_queue *c = vv_cmd(r->req);

	memset(c, 0, sizeof(*c));
	c->hdr.type = VIRTIO_VIDEO_CMD_RESOURCE_QUEUE;
	c->hdr.stream_id = s->id;
	c->queue_type = r->queue;
	c->resource_id = r->id;
	c->timestamp = ts;
	if (r->queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT) {
		c->num_data_sizes = s->in_p.num_planes;
		for (uint32_t i = 0; i < s->in_p.num_planes; i++)
			c->data_sizes[i] = s->in_p.plane_formats[i].plane_size;
		r->req->complete = on_input_done;
	} else {
		c->num_data_sizes = 1;
		r->req->complete = on_output_done;
	}
	memset(vv_resp(r->req), 0xcc, r->req->resp_len);
	r->queued = true;
	if (vv_submit(r->req))
		die("stream %u: cannot queue resource %u", s->id, r->id);
}

/* Packed rows of plane i of the input file's frame, and their geometry. */
static const uint8_t *src_plane(const uint8_t *f, uint32_t i, uint32_t *row_bytes, uint32_t *rows)
{
	uint32_t cw = (o.width + 1) / 2, ch = (o.height + 1) / 2;
	size_t luma = (size_t)o.width * o.height;

	*row_bytes = i == 0 ? o.width : o.raw_format == VIRTIO_VIDEO_FORMAT_NV12 ? 2 * cw : cw;
	*rows = i == 0 ? o.height : ch;
	return i == 0 ? f : f + luma + (i == 2 ? (size_t)cw * ch : 0);
}

static void queue_frame(struct estream *s, struct eres *r)
{
	const uint8_t *f = input + (size_t)s->next_frame * frame_bytes;
	uint32_t i, y, k;

	/* Mid-stream changes: they apply from the next frame queued after the answer. */
	for (k = 0; k < o.n_force; k++)
		if (o.force[k] == s->next_frame)
			set_control(s, VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME, 1, "FORCE_KEYFRAME");
	for (k = 0; k < o.n_rate; k++)
		if (o.rate_frame[k] == s->next_frame && s->next_frame)
			set_control(s, VIRTIO_VIDEO_CONTROL_BITRATE, o.rate_bps[k], "BITRATE");
	for (i = 0; i < s->in_p.num_planes; i++) {
		const struct vv_buf *b = &r->b[o.per_plane ? i : 0];
		uint64_t base = o.per_plane ? 0 : s->offset[i];
		uint32_t stride = s->in_p.plane_formats[i].stride, row_bytes, rows;
		const uint8_t *p = src_plane(f, i, &row_bytes, &rows);

		for (y = 0; y < rows; y++)
			if (!vv_buf_io(&dev.f, b, base + (uint64_t)y * stride, (void *)(p + (size_t)y * row_bytes),
				       row_bytes, true))
				die("internal: frame write");
	}
	r->frame = s->next_frame;
	if (!s->t_start)
		s->t_start = now_us();
	s->t_queued[s->next_frame] = now_us();
	queue_res(s, r, frame_ts(s->next_frame));
	s->next_frame++;
}

static void send_drain(struct estream *s)
{
	struct virtio_video_stream_drain *c;

	vv_req_free(s->drain_req);
	s->drain_req = vv_req_new(&dev, sizeof(*c), dev.cfg.max_resp_length);
	if (!s->drain_req)
		die("out of guest memory");
	c = vv_cmd(s->drain_req);
	c->hdr.type = VIRTIO_VIDEO_CMD_STREAM_DRAIN;
	c->hdr.stream_id = s->id;
	s->drain_req->opaque = s;
	s->drain_req->complete = on_drain_done;
	s->eos = s->drain_done = false;
	if (vv_submit(s->drain_req))
		die("stream %u: cannot send STREAM_DRAIN", s->id);
}

/*
 * An OUTPUT buffer came back too small: the other queued ones are taken back
 * (QUEUE_CLEAR(OUTPUT) keeps the device's pending packets), all replaced by
 * buffers four times the size, and the packet the device kept goes into the
 * first of them. The device's bitstream size follows where it takes the
 * change mid-stream (SET_PARAMS(OUTPUT); its answer is not checked).
 */
static void regrow(struct estream *s)
{
	struct virtio_video_queue_clear c = { .hdr.type = VIRTIO_VIDEO_CMD_QUEUE_CLEAR,
					      .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT };
	struct virtio_video_set_params sp = { .hdr.type = VIRTIO_VIDEO_CMD_SET_PARAMS };
	struct virtio_video_cmd_hdr r;
	int i;

	s->clearing = true;
	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA, true);
	wait_idle(s, false, true, "OUTPUT buffers after QUEUE_CLEAR(OUTPUT)");
	s->clearing = false;
	s->regrow = false;
	c.hdr.type = VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL;
	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA, true);
	for (i = 0; i < s->n_out; i++)
		free_res(&s->out[i]);
	if (s->out_size >= frame_bytes * 4 + (1 << 20))
		die("stream %u: OUTPUT buffers of %u bytes still too small for a packet", s->id,
		    s->out_size);
	s->out_size = (s->out_size * 4 + VU_PAGE - 1) / VU_PAGE * VU_PAGE;
	get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &sp.params);
	sp.params.plane_formats[0].plane_size = s->out_size;
	(void)sync_cmd(s, &sp, sizeof(sp), &r, sizeof(r), 0, false);
	for (i = 0; i < s->n_out; i++)
		create_res(s, &s->out[i], VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, OUT_BASE_ID + i);
}

static void stream_start(struct estream *s)
{
	struct virtio_video_stream_create c = { .hdr.type = VIRTIO_VIDEO_CMD_STREAM_CREATE,
						.coded_format = o.coded_format };
	struct virtio_video_cmd_hdr r;
	struct virtio_video_params p;
	uint32_t i, want = o.raw_format == VIRTIO_VIDEO_FORMAT_NV12 ? 2 : 3;
	char name[4096];

	s->started = true;
	snprintf((char *)c.tag, sizeof(c.tag), "vv-client encode %u", s->id);
	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA, true);

	/* Raw frames in: format, visible size, rate, strides (0: the device's). */
	get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &p);
	p.format = o.raw_format;
	p.frame_width = o.width;
	p.frame_height = o.height;
	p.frame_rate = o.fps;
	p.num_planes = want;
	for (i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++)
		p.plane_formats[i] = (struct virtio_video_plane_format){ 0 };
	for (i = 0; o.stride && i < want; i++)
		p.plane_formats[i].stride = i && o.raw_format == VIRTIO_VIDEO_FORMAT_YUV420 ?
						    o.stride / 2 : o.stride;
	set_params(s, &p);
	get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &s->in_p);
	p = s->in_p;
	if (p.format != o.raw_format || p.frame_width != o.width || p.frame_height != o.height ||
	    p.num_planes != want)
		die("stream %u: INPUT params after SET_PARAMS: format %u %ux%u, %u planes", s->id,
		    p.format, p.frame_width, p.frame_height, p.num_planes);
	if (p.frame_rate != o.fps)
		die("stream %u: INPUT frame rate %u after SET_PARAMS, asked %u", s->id, p.frame_rate,
		    o.fps);
	s->in_total = 0;
	for (i = 0; i < want; i++) {
		uint32_t row_bytes, rows, stride = p.plane_formats[i].stride;

		src_plane(input, i, &row_bytes, &rows);
		if (stride < row_bytes ||
		    (uint64_t)p.plane_formats[i].plane_size < (uint64_t)stride * rows)
			die("stream %u: INPUT plane %u: stride %u size %u for %u bytes x %u rows", s->id,
			    i, stride, p.plane_formats[i].plane_size, row_bytes, rows);
		if (o.stride && stride != (i && want == 3 ? o.stride / 2 : o.stride))
			die("stream %u: the device ignored --stride (plane %u stride %u)", s->id, i,
			    stride);
		s->offset[i] = s->in_total;
		s->in_total += p.plane_formats[i].plane_size;
	}

	/* Bitstream out: the coded format and the buffer size we will allocate. */
	get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p);
	if (!o.out_buffer_size && !p.plane_formats[0].plane_size)
		die("stream %u: GET_PARAMS(OUTPUT) suggests no bitstream buffer size", s->id);
	s->out_size = o.out_buffer_size ? o.out_buffer_size : p.plane_formats[0].plane_size;
	p.format = o.coded_format;
	p.num_planes = 1;
	p.plane_formats[0].plane_size = s->out_size;
	set_params(s, &p);
	get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p);
	if (p.format != o.coded_format)
		die("stream %u: OUTPUT format 0x%x after SET_PARAMS", s->id, p.format);

	/* Controls, each read back. */
	if (o.profile >= 0) {
		check_offered(s, VIRTIO_VIDEO_CONTROL_PROFILE, (uint32_t)o.profile, "profile");
		set_control(s, VIRTIO_VIDEO_CONTROL_PROFILE, (uint32_t)o.profile, "PROFILE");
		check_control(s, VIRTIO_VIDEO_CONTROL_PROFILE, (uint32_t)o.profile, "PROFILE");
	}
	if (o.level >= 0) {
		check_offered(s, VIRTIO_VIDEO_CONTROL_LEVEL, (uint32_t)o.level, "level");
		set_control(s, VIRTIO_VIDEO_CONTROL_LEVEL, (uint32_t)o.level, "LEVEL");
		check_control(s, VIRTIO_VIDEO_CONTROL_LEVEL, (uint32_t)o.level, "LEVEL");
	}
	if (o.mode >= 0) {
		set_control(s, VIRTIO_VIDEO_CONTROL_BITRATE_MODE, (uint32_t)o.mode, "BITRATE_MODE");
		check_control(s, VIRTIO_VIDEO_CONTROL_BITRATE_MODE, (uint32_t)o.mode, "BITRATE_MODE");
	}
	/* The peak first when it rises above the current bitrate, a device may check peak >= bitrate */
	if (o.peak >= 0)
		set_control(s, VIRTIO_VIDEO_CONTROL_BITRATE_PEAK, (uint32_t)o.peak, "BITRATE_PEAK");
	if (o.bitrate >= 0) {
		set_control(s, VIRTIO_VIDEO_CONTROL_BITRATE, (uint32_t)o.bitrate, "BITRATE");
		check_control(s, VIRTIO_VIDEO_CONTROL_BITRATE, (uint32_t)o.bitrate, "BITRATE");
	}
	if (o.peak >= 0)
		check_control(s, VIRTIO_VIDEO_CONTROL_BITRATE_PEAK, (uint32_t)o.peak, "BITRATE_PEAK");
	if (o.prepend >= 0) {
		set_control(s, VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR, (uint32_t)o.prepend,
			    "PREPEND_SPSPPS_TO_IDR");
		check_control(s, VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR, (uint32_t)o.prepend,
			      "PREPEND_SPSPPS_TO_IDR");
	}
	if (o.gop >= 0) {
		set_control(s, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, (uint32_t)o.gop, "EXT_GOP_SIZE");
		check_control(s, VIRTIO_VIDEO_CONTROL_EXT_GOP_SIZE, (uint32_t)o.gop, "EXT_GOP_SIZE");
	}
	for (i = 0; i < o.n_rate; i++)
		if (o.rate_frame[i] == 0)
			set_control(s, VIRTIO_VIDEO_CONTROL_BITRATE, o.rate_bps[i], "BITRATE");

	s->n_in = o.in_flight + 1 > MAX_RES ? MAX_RES : o.in_flight + 1;
	s->n_out = o.in_flight + 2 > MAX_RES ? MAX_RES : o.in_flight + 2;
	for (i = 0; i < (uint32_t)s->n_in; i++)
		create_res(s, &s->in[i], VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1 + i);
	for (i = 0; i < (uint32_t)s->n_out; i++)
		create_res(s, &s->out[i], VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, OUT_BASE_ID + i);

	s->got = calloc(nframes, sizeof(*s->got));
	s->key = calloc(nframes, sizeof(*s->key));
	s->bframe = calloc(nframes, sizeof(*s->bframe));
	s->t_queued = calloc(nframes, sizeof(*s->t_queued));
	s->lat_us = calloc(nframes, sizeof(*s->lat_us));
	if (!s->got || !s->key || !s->bframe || !s->t_queued || !s->lat_us)
		die("out of memory");
	if (s->id == 1)
		snprintf(name, sizeof(name), "%s", o.output);
	else
		snprintf(name, sizeof(name), "%s.%u", o.output, s->id);
	s->file = fopen(name, "wb");
	if (!s->file)
		die("open %s: %s", name, strerror(errno));
	if (ivf()) {
		uint8_t h[32] = "DKIF";

		write_le(h + 4, 0, 2);
		write_le(h + 6, 32, 2);
		memcpy(h + 8, o.coded_format == VIRTIO_VIDEO_FORMAT_VP8 ? "VP80" : "VP90", 4);
		write_le(h + 12, o.width, 2);
		write_le(h + 14, o.height, 2);
		write_le(h + 16, 1000000, 4);	/* time base 1/1000000: microseconds */
		write_le(h + 20, 1, 4);
		write_le(h + 24, nframes, 4);
		if (fwrite(h, 1, sizeof(h), s->file) != sizeof(h))
			die("write %s: %s", name, strerror(errno));
	}
}

/*
 * The keyframes the flags said against those asked for; their list into out.
 * Frame 0, every forced frame and the first frame after a --drain-at drain
 * (a new encoder) must be keyframes. With --gop N any other keyframe must be
 * N frames after the previous keyframe, or after the previous unforced one:
 * encoders differ in whether a forced keyframe restarts the GOP (x264) or
 * the GOP keeps its grid (libvpx); and no N frames may go without one.
 */
static void check_keys(struct estream *s, char *out, size_t cap)
{
	uint32_t i, last = 0, grid = 0, k;
	size_t n = 0;

	out[0] = 0;
	for (i = 0; i < nframes; i++) {
		bool forced = false, restart = i == 0 || (o.drain_at >= 0 && i == (uint32_t)o.drain_at);

		for (k = 0; k < o.n_force; k++)
			forced |= o.force[k] == i;
		if (s->key[i] && n < cap)
			n += (size_t)snprintf(out + n, cap - n, "%s%u", n ? "," : "", i);
		if ((forced || restart) && !s->key[i])
			die("stream %u: frame %u must be a keyframe (%s), its packet is flagged %s", s->id,
			    i, forced ? "--force-key" : i ? "first after a drain" : "the first frame",
			    s->bframe[i] ? "BFRAME" : "PFRAME");
		if (o.gop > 0 && i && !restart) {
			if (s->key[i] && !forced && i - last != (uint32_t)o.gop && i - grid != (uint32_t)o.gop)
				die("stream %u: keyframe at %u, %u frames after the one at %u (gop %lld)",
				    s->id, i, i - last, last, (long long)o.gop);
			if (!s->key[i] && i - last >= (uint32_t)o.gop)
				die("stream %u: no keyframe at %u, %u frames after the one at %u (gop %lld)",
				    s->id, i, i - last, last, (long long)o.gop);
		}
		if (s->key[i])
			last = i;
		if (s->key[i] && (!forced || restart))
			grid = i;
	}
}

static void stream_finish(struct estream *s)
{
	struct virtio_video_cmd_hdr c = { .type = VIRTIO_VIDEO_CMD_STREAM_DESTROY }, r;
	char keys[4096];
	double secs;
	int i;

	if (s->packets != nframes)
		die("stream %u: %u packets for %u frames", s->id, s->packets, nframes);
	check_keys(s, keys, sizeof(keys));
	s->destroying = true;
	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA, true);
	wait_idle(s, true, true, "after STREAM_DESTROY");
	for (i = 0; i < s->n_in; i++)
		free_res(&s->in[i]);
	for (i = 0; i < s->n_out; i++)
		free_res(&s->out[i]);
	vv_req_free(s->drain_req);
	s->drain_req = NULL;
	if (fclose(s->file))
		die("close the output: %s", strerror(errno));
	free(s->pkt);
	secs = (s->t_end - s->t_start) / 1e6;
	printf("stream %u: frames=%u bytes=%llu keyframes=%s fps=%.1f too_small=%u drains=%u\n",
	       s->id, s->packets, (unsigned long long)s->bytes, keys,
	       secs > 0 ? s->packets / secs : 0.0, s->too_small, s->drains);
	s->done = true;
}

/* One step: queue what can be queued. */
static void stream_step(struct estream *s)
{
	int i;

	if (!s->started)
		stream_start(s);
	if (s->regrow)
		regrow(s);
	if (s->drain_req && s->drain_done && s->eos) {
		if (s->next_frame == nframes) {
			stream_finish(s);
			return;
		}
		/* --drain-at: the drain is over; encoding goes on */
		vv_req_free(s->drain_req);
		s->drain_req = NULL;
		s->mid_drained = true;
	}
	if (!s->drain_req) {
		for (i = 0; i < s->n_in && s->next_frame < nframes; i++) {
			if (s->in[i].queued || s->next_frame - s->packets >= (uint32_t)o.in_flight)
				continue;
			if (o.drain_at >= 0 && s->next_frame == o.drain_at && !s->mid_drained) {
				send_drain(s);
				break;
			}
			queue_frame(s, &s->in[i]);
		}
		if (s->next_frame == nframes && !s->drain_req)
			send_drain(s);
	}
	if (s->regrow)
		return;
	for (i = 0; i < s->n_out; i++)
		if (!s->out[i].queued && !(s->drain_req && s->eos))
			queue_res(s, &s->out[i], 0);
}

/* ---- the run ----------------------------------------------------------------------- */

/* --latency: nearest-rank percentiles of every stream's frame latencies. */
static void print_latency(void)
{
	size_t n = (size_t)o.streams * nframes, k = 0;
	int64_t *all = malloc(n * sizeof(*all));
	struct vv_lat l;

	if (!all)
		die("out of memory");
	for (int i = 0; i < o.streams; i++)
		for (uint32_t f = 0; f < nframes; f++)
			all[k++] = streams[i].lat_us[f];
	if (vv_lat_summary(all, n, 1e3, &l))
		die("out of memory");
	printf("latency: frames=%zu in_flight=%d p50=%.3f ms p99=%.3f ms max=%.3f ms\n", l.n,
	       o.in_flight, l.p50, l.p99, l.max);
	free(all);
}

int enc_run(void)
{
	uint64_t feat = (1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) |
			(1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG) |
			(1ull << VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE) |
			(1ull << VIRTIO_VIDEO_F_EXT_CONTROLS);
	uint64_t mem;
	int c, i, active;

	/* Guest memory per region: every stream's buffers, scattered ones on twice the pages. */
	mem = (uint64_t)o.streams * (uint64_t)(2 * o.in_flight + 3) * 2 *
	      (4 * frame_bytes + 2ull * o.stride * o.height + 4ull * o.out_buffer_size + (1 << 20));
	mem = (mem + (64ull << 20) + (2 << 20) - 1) & ~((2ull << 20) - 1);
	if (vv_open(&dev, o.socket, feat, o.regions, mem))
		die("cannot set up the device");
	dev.timeout_ms = o.timeout_ms;
	dev.split = o.scatter;
	dev.on_event = on_event;
	if (!(dev.f.features & (1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES)))
		die("the device does not offer RESOURCE_GUEST_PAGES");
	if (o.scatter && !(dev.f.features & (1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG)))
		die("--scatter: the device does not offer RESOURCE_NON_CONTIG");
	if (o.gop >= 0 && !(dev.f.features & (1ull << VIRTIO_VIDEO_F_EXT_CONTROLS)))
		die("--gop: the device does not offer EXT_CONTROLS (feature 17)");
	check_caps();

	streams = calloc((size_t)o.streams, sizeof(*streams));
	for (i = 0; i < o.streams; i++)
		streams[i].id = (uint32_t)i + 1;
	for (;;) {
		unsigned long before = answers;

		for (i = 0, active = 0; i < o.streams; i++) {
			if (!streams[i].done)
				stream_step(&streams[i]);
			active += !streams[i].done;
		}
		if (!active)
			break;
		if (answers != before)
			continue;
		c = vv_poll(&dev, o.timeout_ms);
		if (c < 0)
			die("device error");
		if (c == 0)
			die("timeout: no progress for %d ms (stream 1: %u frames queued, %u packets)",
			    o.timeout_ms, streams[0].next_frame, streams[0].packets);
	}
	vv_close(&dev, true);
	if (o.latency)
		print_latency();
	if (o.latency_log) {
		FILE *f = fopen(o.latency_log, "w");

		if (!f)
			die("open %s: %s", o.latency_log, strerror(errno));
		for (i = 0; i < o.streams; i++)
			for (uint32_t k = 0; k < nframes; k++)
				fprintf(f, "%lld\n", (long long)streams[i].lat_us[k]);
		if (fclose(f))
			die("write %s: %s", o.latency_log, strerror(errno));
	}
	return 0;
}
