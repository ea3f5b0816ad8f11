// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * vv-client: a native virtio-video decoder client. It is the vhost-user
 * front-end and the guest driver at once, decodes a file through the host
 * daemon and writes the frames as I420 in display order.
 *
 *   vv-client --socket PATH --codec h264|hevc|vp8|vp9 --input FILE
 *             [--output OUT.yuv] [--format yuv420|nv12] [--layout single|per-plane]
 *             [--scatter] [--chunk N] [--streams N [--sequential]] [--frames N]
 *             [--abort-after N] [--seek-after N] [--regions N] [--no-indirect] [--stride-align N]
 *             [--no-output] [--stats] [--timeout MS] [--latency]
 *             [--params-ext] [--stream-mem TYPE] [--queue-mem TYPE]
 *             [--res-mem-flag none|TYPE] [--no-per-resource-mem]
 *
 * TYPE is guest-pages or virtio-object. --params-ext speaks crosvm's dialect:
 * GET/SET_PARAMS_EXT instead of GET/SET_PARAMS, every answer's resource_type
 * checked, and each queue's memory type set to --queue-mem (default
 * guest-pages) before its resources are created, as the ChromeOS driver does
 * at REQBUFS. --stream-mem is STREAM_CREATE's memory type of both queues
 * (default guest-pages); --res-mem-flag sets planes_layout bit 30/31 on every
 * RESOURCE_CREATE. The buffers themselves are always guest pages.
 *
 * --latency: a low-latency client, one access unit in flight: the next AU is
 * queued once the previous one's picture is back, and each picture must
 * carry its own AU's timestamp. Prints
 *   latency: frames=300 in_flight=1 p50=4.210 ms p99=6.020 ms max=9.900 ms
 * from RESOURCE_QUEUE of the bitstream buffer to the answer of the CAPTURE
 * buffer holding its picture (nearest-rank percentiles, vv_lat.h). A
 * decoder that holds a picture until more input (B-frames, a byte-stream
 * parser, frame threads) fails the run: "AU N gave no picture".
 *
 * vv-client --encode ... is the encoder client (vv-client-enc.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/md5.h>

#include "vv_buf.h"
#include "vv_client.h"
#include "vv_dev.h"
#include "vv_lat.h"

#define MAX_RES 32

struct au {
	uint8_t *data;
	uint32_t size;
	uint64_t ts;
};

struct opts {
	const char *socket, *codec, *input, *output;
	uint32_t coded_format, raw_format;
	bool per_plane, scatter, sequential, no_output, stats, indirect, verify_ts, no_ts_check;
	bool params_ext, no_per_resource_mem, peer, latency;
	uint32_t stream_mem, queue_mem, res_mem_flag;
	uint32_t chunk;
	int seek_after;
	int streams, frames, abort_after, regions, in_bufs, stride_align, timeout_ms;
};

static struct opts o = {
	.raw_format = VIRTIO_VIDEO_FORMAT_YUV420,
	.streams = 1,
	.regions = 1,
	.in_bufs = 4,
	.indirect = true,
	.timeout_ms = 10000,
};

static struct au *aus;
static size_t n_aus;
static uint64_t *expect_ts; /* display order, AU mode */
static size_t n_expect;
static uint64_t frames_total;
static struct vv_dev dev;
/* --latency: when the AU in flight was queued; each picture's latency (ns) */
static int64_t au_queued_ns;
static int64_t *lat_ns;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vv-client: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}


/* ---- guest buffers (vv_buf.c) -------------------------------------------- */

static void buf_alloc(struct vv_buf *b, uint32_t size)
{
	if (!vv_buf_alloc(&dev.f, b, size, o.scatter))
		die("out of guest memory (%u bytes%s)", size, o.scatter ? ", scattered" : "");
}

static void buf_free(struct vv_buf *b)
{
	vv_buf_free(&dev.f, b);
}

/* copies len bytes at offset off of the buffer to/from host memory */
static void buf_io(struct vv_buf *b, uint64_t off, void *p, uint64_t len, bool write)
{
	if (!vv_buf_io(&dev.f, b, off, p, len, write))
		die("internal: buffer access out of range");
}

/* ---- streams ------------------------------------------------------------ */

struct stream;

struct res {
	struct stream *s;
	uint32_t id, queue;
	bool queued, created;
	int nplanes;
	struct vv_buf plane[VIRTIO_VIDEO_MAX_PLANES]; /* [0] only for single buffer */
	uint32_t offset[VIRTIO_VIDEO_MAX_PLANES];
	struct virtio_video_params p; /* layout when created (output) */
	struct vv_req *req;
	uint32_t au_first;
};

struct stream {
	uint32_t id;
	bool started, done, res_change, clearing, destroying, drain_sent, drain_done, eos;
	bool seeked, drain_cancelled, rc_clearing;
	int n_in, n_out;
	struct res in[MAX_RES], out[MAX_RES];
	uint32_t in_size;
	size_t next_au;
	uint64_t frames, out_bytes;
	struct vv_req *drain_req;
	FILE *out_file;
	struct AVMD5 *md5;
	uint8_t digest[16];
	uint8_t *frame_buf;
	size_t frame_buf_size;
	uint64_t stream_frames_limit;
	uint32_t mem[2]; /* memory type of the input, output queue as the device has it */
};

static struct stream *streams;

static struct stream *find_stream(uint32_t id)
{
	int i;

	for (i = 0; i < o.streams; i++)
		if (streams[i].id == id && streams[i].started && !streams[i].done)
			return &streams[i];
	return NULL;
}

static int sync_cmd(struct stream *s, void *cmd, uint32_t len, void *resp, uint32_t cap,
		    uint32_t want)
{
	struct virtio_video_cmd_hdr *h = cmd;
	uint32_t used;
	int t;

	h->stream_id = s->id;
	t = vv_sync(&dev, cmd, len, resp, cap, &used);
	if (t < 0)
		die("stream %u: command 0x%x failed at the transport level", s->id, h->type);
	if ((uint32_t)t != want)
		die("stream %u: command 0x%x answered %s (0x%x, %u bytes), expected 0x%x", s->id,
		    h->type, vv_resp_name(t), t, used, want);
	if (resp && used < cap && want != VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY)
		die("stream %u: command 0x%x: response of %u bytes, expected %u", s->id, h->type,
		    used, cap);
	if (resp && ((struct virtio_video_cmd_hdr *)resp)->stream_id != s->id)
		die("stream %u: response carries stream id %u", s->id,
		    ((struct virtio_video_cmd_hdr *)resp)->stream_id);
	return t;
}

static void simple_cmd(struct stream *s, uint32_t type, uint32_t queue)
{
	struct virtio_video_queue_clear c = { .hdr.type = type, .queue_type = queue };
	struct virtio_video_cmd_hdr r;

	sync_cmd(s, &c, queue ? sizeof(c) : sizeof(c.hdr), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA);
}

static const char *mem_name(uint32_t mem)
{
	return mem == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT ? "virtio-object" : "guest-pages";
}

static int queue_slot(uint32_t queue)
{
	return queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT ? 0 : 1;
}

/* GET_PARAMS_EXT: the params, and the queue's memory type must be s->mem[]. */
static void get_params_ext(struct stream *s, uint32_t queue, struct virtio_video_params *p)
{
	struct virtio_video_get_params_ext c = { .hdr.type = VIRTIO_VIDEO_CMD_GET_PARAMS_EXT,
						 .queue_type = queue };
	struct virtio_video_get_params_ext_resp r;

	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
	if (r.params.base.queue_type != queue)
		die("stream %u: GET_PARAMS_EXT for queue 0x%x answered for 0x%x", s->id, queue,
		    r.params.base.queue_type);
	if (r.params.resource_type != s->mem[queue_slot(queue)])
		die("stream %u: GET_PARAMS_EXT(0x%x): resource_type %u (%s), expected %s", s->id,
		    queue, r.params.resource_type, mem_name(r.params.resource_type),
		    mem_name(s->mem[queue_slot(queue)]));
	*p = r.params.base;
}

/* SET_PARAMS_EXT with resource_type mem; s->mem[] follows. */
static void set_params_ext(struct stream *s, const struct virtio_video_params *p, uint32_t mem)
{
	struct virtio_video_set_params_ext c = { .hdr.type = VIRTIO_VIDEO_CMD_SET_PARAMS_EXT,
						 .params = { .base = *p, .resource_type = mem } };
	struct virtio_video_cmd_hdr r;

	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA);
	s->mem[queue_slot(p->queue_type)] = mem;
}

static void get_params(struct stream *s, uint32_t queue, struct virtio_video_params *p)
{
	struct virtio_video_get_params c = { .hdr.type = VIRTIO_VIDEO_CMD_GET_PARAMS,
					     .queue_type = queue };
	struct virtio_video_get_params_resp r;

	if (o.params_ext) {
		get_params_ext(s, queue, p);
		return;
	}
	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
	if (r.params.queue_type != queue)
		die("stream %u: GET_PARAMS for queue 0x%x answered for 0x%x", s->id, queue,
		    r.params.queue_type);
	*p = r.params;
}

/*
 * Every SET_PARAMS comes before the queue's resources are (re)created, the
 * point where crosvm's driver sets the queue's memory type: --queue-mem.
 */
static void set_params(struct stream *s, const struct virtio_video_params *p)
{
	struct virtio_video_set_params c = { .hdr.type = VIRTIO_VIDEO_CMD_SET_PARAMS, .params = *p };
	struct virtio_video_cmd_hdr r;

	if (o.params_ext) {
		set_params_ext(s, p, o.queue_mem);
		return;
	}
	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA);
}

static int want_planes(uint32_t fmt)
{
	return fmt == VIRTIO_VIDEO_FORMAT_NV12 ? 2 : 3;
}

/* plane geometry (bytes per row used, rows) of the visible picture */
static void plane_geom(const struct virtio_video_params *p, int i, uint32_t *bw, uint32_t *rows)
{
	uint32_t w = p->crop.width ? p->crop.width : p->frame_width;
	uint32_t h = p->crop.height ? p->crop.height : p->frame_height;

	if (i == 0) {
		*bw = w;
		*rows = h;
	} else if (p->format == VIRTIO_VIDEO_FORMAT_NV12) {
		*bw = (w + 1) / 2 * 2;
		*rows = (h + 1) / 2;
	} else {
		*bw = (w + 1) / 2;
		*rows = (h + 1) / 2;
	}
}

static void check_out_params(struct stream *s, const struct virtio_video_params *p)
{
	int i;

	if (p->format != o.raw_format)
		die("stream %u: output format %u, asked for %u", s->id, p->format, o.raw_format);
	if (!p->frame_width || !p->frame_height || p->frame_width > 16384 || p->frame_height > 16384)
		die("stream %u: output size %ux%u", s->id, p->frame_width, p->frame_height);
	if (p->crop.left + p->crop.width > p->frame_width ||
	    p->crop.top + p->crop.height > p->frame_height)
		die("stream %u: crop outside the frame", s->id);
	if (p->num_planes != (uint32_t)want_planes(p->format))
		die("stream %u: %u planes for format %u", s->id, p->num_planes, p->format);
	for (i = 0; i < (int)p->num_planes; i++) {
		uint32_t bw, rows;

		plane_geom(p, i, &bw, &rows);
		if (p->plane_formats[i].stride < bw ||
		    (uint64_t)p->plane_formats[i].plane_size <
			    (uint64_t)p->plane_formats[i].stride * (rows - 1) + bw)
			die("stream %u: plane %d stride %u size %u too small for %ux%u", s->id, i,
			    p->plane_formats[i].stride, p->plane_formats[i].plane_size, bw, rows);
	}
}

static void create_res(struct stream *s, struct res *r, uint32_t queue, uint32_t id,
		       const struct virtio_video_params *p, uint32_t in_size)
{
	struct virtio_video_resource_create *c;
	struct virtio_video_cmd_hdr resp;
	uint32_t nent = 0, len, total = 0;
	uint8_t *buf;
	int i, k, j;

	memset(r, 0, sizeof(*r));
	r->s = s;
	r->id = id;
	r->queue = queue;
	if (queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT) {
		r->nplanes = 1;
		buf_alloc(&r->plane[0], in_size);
	} else {
		r->p = *p;
		r->nplanes = p->num_planes;
		for (i = 0; i < r->nplanes; i++) {
			r->offset[i] = total;
			total += p->plane_formats[i].plane_size;
		}
		if (o.per_plane)
			for (i = 0; i < r->nplanes; i++)
				buf_alloc(&r->plane[i], p->plane_formats[i].plane_size);
		else
			buf_alloc(&r->plane[0], total);
	}
	for (i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++)
		nent += r->plane[i].nent;
	len = sizeof(*c) + nent * sizeof(struct virtio_video_mem_entry);
	buf = calloc(1, len);
	c = (void *)buf;
	c->hdr.type = VIRTIO_VIDEO_CMD_RESOURCE_CREATE;
	c->queue_type = queue;
	c->resource_id = id;
	c->planes_layout = queue == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT && o.per_plane ?
				   VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE :
				   VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
	c->planes_layout |= o.res_mem_flag;
	c->num_planes = r->nplanes;
	j = 0;
	for (i = 0; i < r->nplanes; i++) {
		bool per_plane = queue == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT && o.per_plane;
		struct vv_buf *b = &r->plane[per_plane ? i : 0];

		c->plane_offsets[i] = per_plane ? 0 : r->offset[i];
		if (!per_plane && i > 0)
			continue;
		c->num_entries[i] = b->nent;
		for (k = 0; k < b->nent; k++) {
			struct virtio_video_mem_entry *e =
				(void *)(buf + sizeof(*c) + (j++) * sizeof(*e));

			e->addr = b->ent[k].gpa;
			e->length = b->ent[k].len;
		}
	}
	sync_cmd(s, c, len, &resp, sizeof(resp), VIRTIO_VIDEO_RESP_OK_NODATA);
	free(buf);
	r->created = true;
	r->req = vv_req_new(&dev, sizeof(struct virtio_video_resource_queue), dev.cfg.max_resp_length);
	if (!r->req)
		die("out of guest memory");
	r->req->opaque = r;
}

static void destroy_res_all(struct stream *s, uint32_t queue)
{
	struct res *rs = queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT ? s->in : s->out;
	int *n = queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT ? &s->n_in : &s->n_out;
	int i, k;

	for (i = 0; i < *n; i++)
		if (rs[i].queued)
			die("internal: destroying a queued resource");
	if (*n)
		simple_cmd(s, VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, queue);
	for (i = 0; i < *n; i++) {
		for (k = 0; k < VIRTIO_VIDEO_MAX_PLANES; k++)
			if (rs[i].plane[k].nent)
				buf_free(&rs[i].plane[k]);
		vv_req_free(rs[i].req);
	}
	*n = 0;
}

static void write_frame(struct stream *s, struct res *r)
{
	const struct virtio_video_params *p = &r->p;
	uint32_t w = p->crop.width ? p->crop.width : p->frame_width;
	uint32_t h = p->crop.height ? p->crop.height : p->frame_height;
	uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2, y;
	size_t need = (size_t)w * h + 2 * (size_t)cw * ch;
	uint8_t *dst, *row;
	int i;

	if (s->frame_buf_size < need) {
		free(s->frame_buf);
		s->frame_buf = malloc(need);
		s->frame_buf_size = need;
	}
	dst = s->frame_buf;
	row = malloc(p->plane_formats[0].stride + 2 * cw + 16);
	for (i = 0; i < r->nplanes; i++) {
		struct vv_buf *b = &r->plane[o.per_plane ? i : 0];
		uint64_t base = o.per_plane ? 0 : r->offset[i];
		uint32_t stride = p->plane_formats[i].stride, bw, rows;

		plane_geom(p, i, &bw, &rows);
		for (y = 0; y < rows; y++) {
			uint64_t off = base + (uint64_t)(y + (i ? p->crop.top / 2 : p->crop.top)) * stride +
				       (i && p->format == VIRTIO_VIDEO_FORMAT_NV12 ? p->crop.left / 2 * 2 :
					i ? p->crop.left / 2 : p->crop.left);

			if (p->format == VIRTIO_VIDEO_FORMAT_NV12 && i == 1) {
				uint32_t x;

				buf_io(b, off, row, 2 * cw, false);
				for (x = 0; x < cw; x++) {
					dst[(size_t)w * h + (size_t)y * cw + x] = row[2 * x];
					dst[(size_t)w * h + (size_t)cw * ch + (size_t)y * cw + x] =
						row[2 * x + 1];
				}
			} else {
				size_t at = i == 0 ? (size_t)y * w :
					    (size_t)w * h + (size_t)(i - 1) * cw * ch + (size_t)y * cw;

				buf_io(b, off, dst + at, bw, false);
			}
		}
	}
	free(row);
	if (p->format == VIRTIO_VIDEO_FORMAT_YVU420) {
		/* swap U and V into I420 order */
		for (y = 0; y < cw * ch; y++) {
			uint8_t t = dst[(size_t)w * h + y];

			dst[(size_t)w * h + y] = dst[(size_t)w * h + (size_t)cw * ch + y];
			dst[(size_t)w * h + (size_t)cw * ch + y] = t;
		}
	}
	av_md5_update(s->md5, dst, need);
	s->out_bytes += need;
	if (s->out_file && fwrite(dst, 1, need, s->out_file) != need)
		die("write output: %s", strerror(errno));
}

static void check_ts(struct stream *s, uint64_t ts)
{
	size_t i;

	if (o.no_ts_check)
		return;
	if (o.chunk) {
		for (i = 0; i < n_aus; i++)
			if (aus[i].ts == ts)
				return;
		die("stream %u: frame %llu has timestamp %llu that no input buffer carried", s->id,
		    (unsigned long long)s->frames, (unsigned long long)ts);
	}
	if (!o.verify_ts)
		return;
	if (s->frames >= n_expect)
		die("stream %u: more frames than the reference decode (%zu)", s->id, n_expect);
	if (expect_ts[s->frames] != ts)
		die("stream %u: frame %llu has timestamp %llu, expected %llu (display order)", s->id,
		    (unsigned long long)s->frames, (unsigned long long)ts,
		    (unsigned long long)expect_ts[s->frames]);
}

/*
 * Answers and events handled so far. A stream that waits (STREAM_DESTROY,
 * a seek) polls the device and so handles the other streams' answers too:
 * the main loop must then step them again before it sleeps.
 */
static unsigned long answers;

static void on_queue_done(struct vv_req *req)
{
	struct res *r = req->opaque;
	struct stream *s = r->s;
	struct virtio_video_resource_queue_resp *resp = vv_resp(req);
	bool cancel = s->clearing || s->destroying;

	answers++;
	r->queued = false;
	if (req->used_len < sizeof(struct virtio_video_cmd_hdr))
		die("stream %u: RESOURCE_QUEUE of resource %u dropped by the device", s->id, r->id);
	if (resp->hdr.type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE)
		die("stream %u: RESOURCE_QUEUE of resource %u answered %s (0x%x)", s->id, r->id,
		    vv_resp_name(resp->hdr.type), resp->hdr.type);
	if (req->used_len < sizeof(*resp))
		die("stream %u: RESOURCE_QUEUE response of %u bytes", s->id, req->used_len);
	if (resp->hdr.stream_id != s->id)
		die("stream %u: RESOURCE_QUEUE response for stream %u", s->id, resp->hdr.stream_id);
	if (r->queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT) {
		if ((resp->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) && !cancel)
			die("stream %u: input buffer %u (AU %u) came back with ERR", s->id, r->id,
			    r->au_first);
		return;
	}
	if (resp->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) {
		if (cancel && resp->size == 0)
			return;
		die("stream %u: output buffer %u came back with ERR (size %u)", s->id, r->id,
		    resp->size);
	}
	/*
	 * --peer: the ChromeOS/Android driver takes every EOS buffer as empty
	 * (virtio_video_buf_done: bytesused 0), as crosvm's device sends it: a
	 * picture that carries EOS would never reach its client.
	 */
	if (o.peer && (resp->flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) && resp->size)
		die("stream %u: the drain's EOS came on a picture (%u bytes, timestamp %llu): the "
		    "ChromeOS driver would lose it (crosvm's device sends an empty EOS buffer)",
		    s->id, resp->size, (unsigned long long)resp->timestamp);
	if (resp->size) {
		if (o.latency) {
			/* one AU in flight: this is the picture of AU s->frames */
			if (s->frames >= n_aus || resp->timestamp != aus[s->frames].ts)
				die("stream %u: picture %llu has timestamp %llu, not that of the AU in "
				    "flight (%llu)", s->id, (unsigned long long)s->frames,
				    (unsigned long long)resp->timestamp,
				    s->frames < n_aus ? (unsigned long long)aus[s->frames].ts : 0ull);
			lat_ns[s->frames] = vv_lat_now_ns() - au_queued_ns;
		}
		check_ts(s, resp->timestamp);
		if (!o.no_output)
			write_frame(s, r);
		s->frames++;
		frames_total++;
		if (o.abort_after && frames_total >= (uint64_t)o.abort_after) {
			fprintf(stderr, "vv-client: disconnecting after %llu frames\n",
				(unsigned long long)frames_total);
			_exit(0);
		}
	}
	if (resp->flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) {
		if (!s->drain_sent)
			die("stream %u: EOS without a drain", s->id);
		s->eos = true;
	}
}

static void on_drain_done(struct vv_req *req)
{
	struct stream *s = req->opaque;
	struct virtio_video_cmd_hdr *h = vv_resp(req);

	answers++;
	/*
	 * Our QUEUE_CLEAR cancels a drain: a seek, or a resolution change
	 * found after the drain was sent (an asynchronous codec's pictures come
	 * late). Like V4L2 after STREAMOFF(CAPTURE), the drain is sent again.
	 * Our STREAM_DESTROY (--frames) cancels it too (docs/protocol.md).
	 */
	if ((s->clearing || s->destroying) && req->used_len >= sizeof(*h) &&
	    h->type == VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION) {
		/*
		 * --peer: the ChromeOS driver acknowledges a resolution change
		 * found during its drain with QUEUE_CLEAR(OUTPUT) and never
		 * sends the drain again (its DEC_CMD_STOP is refused while it
		 * drains): the drain must go on, as on crosvm's device.
		 */
		if (o.peer && s->rc_clearing)
			die("stream %u: the QUEUE_CLEAR(OUTPUT) of a resolution change cancelled the "
			    "drain: the ChromeOS driver would wait for its EOS for ever", s->id);
		s->drain_cancelled = true;
		return;
	}
	if (req->used_len < sizeof(*h) || h->type != VIRTIO_VIDEO_RESP_OK_NODATA)
		die("stream %u: STREAM_DRAIN answered %s (0x%x)", s->id, vv_resp_name(h->type), h->type);
	if (!s->eos)
		die("stream %u: STREAM_DRAIN answered before the EOS buffer", s->id);
	s->drain_done = true;
}

static void on_event(struct vv_dev *d, const struct virtio_video_event *ev)
{
	struct stream *s = find_stream(ev->stream_id);

	(void)d;
	answers++;
	if (!s) {
		/* a stream we destroyed may still have had an event on its way */
		fprintf(stderr, "vv-client: note: event 0x%x for stream %u that is gone\n",
			ev->event_type, ev->stream_id);
		return;
	}
	if (ev->event_type == VIRTIO_VIDEO_EVENT_ERROR)
		die("stream %u: ERROR event from the device", s->id);
	if (ev->event_type != VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED)
		die("stream %u: unknown event 0x%x", s->id, ev->event_type);
	s->res_change = true;
}

static void queue_res(struct stream *s, struct res *r, uint64_t ts, uint32_t bytes)
{
	struct virtio_video_resource_queue *c = vv_cmd(r->req);
	int i;

	memset(c, 0, sizeof(*c));
	c->hdr.type = VIRTIO_VIDEO_CMD_RESOURCE_QUEUE;
	c->hdr.stream_id = s->id;
	c->queue_type = r->queue;
	c->resource_id = r->id;
	c->timestamp = ts;
	if (r->queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT) {
		c->num_data_sizes = 1;
		c->data_sizes[0] = bytes;
	} else {
		c->num_data_sizes = r->nplanes;
		for (i = 0; i < r->nplanes; i++)
			c->data_sizes[i] = 0;
	}
	memset(vv_resp(r->req), 0xcc, r->req->resp_len);
	r->req->complete = on_queue_done;
	r->queued = true;
	if (o.latency && r->queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT)
		au_queued_ns = vv_lat_now_ns();
	if (vv_submit(r->req))
		die("stream %u: cannot queue resource %u", s->id, r->id);
}

static void handle_res_change(struct stream *s)
{
	struct virtio_video_params p;
	int i, n, want;

	s->res_change = false;
	get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p);
	if (s->n_out) {
		s->clearing = true;
		s->rc_clearing = true;
		simple_cmd(s, VIRTIO_VIDEO_CMD_QUEUE_CLEAR, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
		for (;;) {
			for (i = 0, n = 0; i < s->n_out; i++)
				n += s->out[i].queued;
			if (!n)
				break;
			if (vv_poll(&dev, o.timeout_ms) <= 0)
				die("stream %u: output buffers not returned after QUEUE_CLEAR", s->id);
		}
		s->clearing = false;
		s->rc_clearing = false;
		destroy_res_all(s, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
	}
	p.format = o.raw_format;
	p.num_planes = want_planes(o.raw_format);
	if (o.stride_align) {
		for (i = 0; i < (int)p.num_planes; i++) {
			uint32_t bw, rows;

			plane_geom(&p, i, &bw, &rows);
			p.plane_formats[i].stride = (bw + o.stride_align - 1) / o.stride_align *
						    o.stride_align;
			p.plane_formats[i].plane_size = 0;
		}
	}
	set_params(s, &p);
	get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p);
	check_out_params(s, &p);
	if (o.stride_align)
		for (i = 0; i < (int)p.num_planes; i++)
			if (p.plane_formats[i].stride % o.stride_align)
				die("stream %u: device ignored the requested stride", s->id);
	want = p.min_buffers + 2;
	if (want < 4)
		want = 4;
	if (want > MAX_RES)
		want = MAX_RES;
	for (i = 0; i < want; i++)
		create_res(s, &s->out[i], VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 100 + i, &p, 0);
	s->n_out = want;
}

/*
 * --peer: what the ChromeOS/Android driver does at open and S_FMT(OUTPUT),
 * between STREAM_CREATE (virtio objects on both queues, whatever the
 * device offers) and its first REQBUFS. Its G_FMT(CAPTURE) is this
 * GET_PARAMS_EXT(OUTPUT) answer: a client that reads it before the stream's
 * size is known (GStreamer 1.22) needs a usable size, as crosvm's 640x480.
 * Plain GET_PARAMS keeps saying 0x0 (docs/protocol.md). Its S_FMT(OUTPUT)
 * sends the params back with the memory type GET_PARAMS_EXT reported, and
 * ignores the answer: it must be OK, or the format silently stays.
 */
static void peer_open(struct stream *s)
{
	struct virtio_video_get_params c = { .hdr.type = VIRTIO_VIDEO_CMD_GET_PARAMS,
					     .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT };
	struct virtio_video_get_params_resp r;
	struct virtio_video_params p;
	uint32_t fmt = o.raw_format;

	get_params_ext(s, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p);
	o.raw_format = p.format;
	check_out_params(s, &p);
	o.raw_format = fmt;
	fprintf(stderr, "vv-client: stream %u: GET_PARAMS_EXT(OUTPUT) before the size: %ux%u, "
		"format %u, stride %u\n", s->id, p.frame_width, p.frame_height, p.format,
		p.plane_formats[0].stride);
	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
	if (r.params.frame_width || r.params.frame_height)
		die("stream %u: plain GET_PARAMS(OUTPUT) before the size: %ux%u, expected 0x0",
		    s->id, r.params.frame_width, r.params.frame_height);
	get_params_ext(s, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &p);
	p.format = o.coded_format;
	set_params_ext(s, &p, s->mem[0]);
}

static void stream_start(struct stream *s)
{
	struct virtio_video_stream_create c = { .hdr.type = VIRTIO_VIDEO_CMD_STREAM_CREATE };
	struct virtio_video_cmd_hdr r;
	struct virtio_video_params p;
	uint32_t max = o.chunk;
	size_t i;

	s->started = true;
	c.in_mem_type = o.stream_mem;
	c.out_mem_type = o.stream_mem;
	c.coded_format = o.coded_format;
	snprintf((char *)c.tag, sizeof(c.tag), "vv-client %u", s->id);
	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA);
	s->mem[0] = s->mem[1] = o.stream_mem;
	if (o.params_ext) {
		/* The device reports STREAM_CREATE's memory types until they change. */
		get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &p);
		get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p);
	}
	if (o.peer)
		peer_open(s);

	for (i = 0; i < n_aus; i++)
		if (aus[i].size > max)
			max = aus[i].size;
	s->in_size = (max + VU_PAGE - 1) / VU_PAGE * VU_PAGE;
	get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &p);
	p.format = o.coded_format;
	p.num_planes = 1;
	p.plane_formats[0].plane_size = s->in_size;
	set_params(s, &p);
	get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &p);
	if (p.format != o.coded_format)
		die("stream %u: input format %u after SET_PARAMS", s->id, p.format);
	if (p.plane_formats[0].plane_size > s->in_size)
		s->in_size = p.plane_formats[0].plane_size;

	get_params(s, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &p);
	p.format = o.raw_format;
	p.num_planes = want_planes(o.raw_format);
	set_params(s, &p);

	for (i = 0; i < (size_t)o.in_bufs; i++)
		create_res(s, &s->in[i], VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1 + i, NULL, s->in_size);
	s->n_in = o.in_bufs;
	s->md5 = av_md5_alloc();
	av_md5_init(s->md5);
}

static void stream_finish(struct stream *s, bool destroy_mid)
{
	struct virtio_video_cmd_hdr c = { .type = VIRTIO_VIDEO_CMD_STREAM_DESTROY };
	struct virtio_video_cmd_hdr r;
	int i, n;

	s->destroying = true;
	sync_cmd(s, &c, sizeof(c), &r, sizeof(r), VIRTIO_VIDEO_RESP_OK_NODATA);
	/* every buffer the stream had must come back */
	for (;;) {
		n = 0;
		for (i = 0; i < s->n_in; i++)
			n += s->in[i].queued;
		for (i = 0; i < s->n_out; i++)
			n += s->out[i].queued;
		if (s->drain_req && !s->drain_req->done)
			n++;
		if (!n)
			break;
		if (vv_poll(&dev, o.timeout_ms) <= 0)
			die("stream %u: %d requests not answered after STREAM_DESTROY", s->id, n);
	}
	(void)destroy_mid;
	for (i = 0; i < s->n_in; i++) {
		buf_free(&s->in[i].plane[0]);
		vv_req_free(s->in[i].req);
	}
	for (i = 0; i < s->n_out; i++) {
		for (n = 0; n < VIRTIO_VIDEO_MAX_PLANES; n++)
			if (s->out[i].plane[n].nent)
				buf_free(&s->out[i].plane[n]);
		vv_req_free(s->out[i].req);
	}
	s->n_in = s->n_out = 0;
	vv_req_free(s->drain_req);
	s->drain_req = NULL;
	av_md5_final(s->md5, s->digest);
	av_free(s->md5);
	s->md5 = NULL;
	free(s->frame_buf);
	s->frame_buf = NULL;
	s->frame_buf_size = 0;
	s->done = true;
}

/*
 * --seek-after N: after N frames, QUEUE_CLEAR both queues (a V4L2 seek:
 * STREAMOFF/STREAMON) and decode the stream again from its first access
 * unit; the output and its MD5 are those of the run after the seek.
 */
static void seek_to_start(struct stream *s)
{
	int i, n;

	s->seeked = true;
	s->clearing = true;
	simple_cmd(s, VIRTIO_VIDEO_CMD_QUEUE_CLEAR, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
	simple_cmd(s, VIRTIO_VIDEO_CMD_QUEUE_CLEAR, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
	for (;;) {
		n = s->drain_req && !s->drain_req->done;
		for (i = 0; i < s->n_in; i++)
			n += s->in[i].queued;
		for (i = 0; i < s->n_out; i++)
			n += s->out[i].queued;
		if (!n)
			break;
		if (vv_poll(&dev, o.timeout_ms) <= 0)
			die("stream %u: buffers not returned after the seek's QUEUE_CLEAR", s->id);
	}
	s->clearing = false;
	vv_req_free(s->drain_req);
	s->drain_req = NULL;
	s->drain_sent = s->drain_done = s->eos = s->drain_cancelled = false;
	s->next_au = 0;
	s->frames = 0;
	s->out_bytes = 0;
	av_md5_init(s->md5);
	if (s->out_file && (fflush(s->out_file) || ftruncate(fileno(s->out_file), 0) ||
			    fseek(s->out_file, 0, SEEK_SET)))
		die("truncate the output: %s", strerror(errno));
}

/* One step of a stream: queue what can be queued. */
static void stream_step(struct stream *s)
{
	int i;

	if (!s->started)
		stream_start(s);
	if (s->res_change)
		handle_res_change(s);
	if (o.seek_after && !s->seeked && s->frames >= (uint64_t)o.seek_after)
		seek_to_start(s);
	if (s->drain_cancelled && s->drain_req->done) {
		vv_req_free(s->drain_req);
		s->drain_req = NULL;
		s->drain_sent = s->drain_cancelled = false;
	}
	if (o.frames && s->frames >= (uint64_t)o.frames) {
		stream_finish(s, true);
		return;
	}
	/* --latency: the pictures' buffers first, the next AU once the last one's picture came */
	if (o.latency && !s->eos)
		for (i = 0; i < s->n_out; i++)
			if (!s->out[i].queued)
				queue_res(s, &s->out[i], 0, 0);
	for (i = 0; i < s->n_in && s->next_au < n_aus; i++) {
		struct res *r = &s->in[i];
		struct au *a;

		if (o.latency && s->frames < s->next_au)
			break;
		if (r->queued)
			continue;
		a = &aus[s->next_au];
		if (a->size > r->plane[0].size)
			die("AU %zu (%u bytes) larger than the input buffer", s->next_au, a->size);
		buf_io(&r->plane[0], 0, a->data, a->size, true);
		r->au_first = s->next_au++;
		queue_res(s, r, a->ts, a->size);
	}
	if (!s->eos)
		for (i = 0; i < s->n_out; i++)
			if (!s->out[i].queued)
				queue_res(s, &s->out[i], 0, 0);
	if (s->next_au == n_aus && !s->drain_sent && (!o.latency || s->frames == n_aus)) {
		struct virtio_video_stream_drain *c;

		s->drain_req = vv_req_new(&dev, sizeof(*c), dev.cfg.max_resp_length);
		if (!s->drain_req)
			die("out of guest memory");
		c = vv_cmd(s->drain_req);
		c->hdr.type = VIRTIO_VIDEO_CMD_STREAM_DRAIN;
		c->hdr.stream_id = s->id;
		s->drain_req->opaque = s;
		s->drain_req->complete = on_drain_done;
		s->drain_sent = true;
		if (vv_submit(s->drain_req))
			die("stream %u: cannot send STREAM_DRAIN", s->id);
	}
	if (s->drain_done && s->eos)
		stream_finish(s, false);
}

/* ---- capabilities ------------------------------------------------------- */

struct caps {
	int n;
	uint32_t format[64];
	uint64_t mask[64];
};

static void query_caps(uint32_t queue, struct caps *cp)
{
	struct virtio_video_query_capability c = { .hdr.type = VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
						   .queue_type = queue };
	uint32_t cap = dev.cfg.max_caps_length, used, off, i, k;
	uint8_t *buf = malloc(cap);
	struct virtio_video_query_capability_resp *r = (void *)buf;
	int t = vv_sync(&dev, &c, sizeof(c), buf, cap, &used);

	if (t != VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY)
		die("QUERY_CAPABILITY(0x%x) answered %s (0x%x)", queue, vv_resp_name(t), t);
	if (used < sizeof(*r))
		die("QUERY_CAPABILITY: response of %u bytes", used);
	if (!r->num_descs || r->num_descs > 64)
		die("QUERY_CAPABILITY(0x%x): %u format descriptors", queue, r->num_descs);
	off = sizeof(*r);
	cp->n = r->num_descs;
	for (i = 0; i < r->num_descs; i++) {
		struct virtio_video_format_desc d;

		if (off + sizeof(d) > used)
			die("QUERY_CAPABILITY(0x%x): descriptor %u truncated", queue, i);
		memcpy(&d, buf + off, sizeof(d));
		off += sizeof(d);
		cp->format[i] = d.format;
		cp->mask[i] = d.mask;
		if (queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT ?
			    d.format < VIRTIO_VIDEO_FORMAT_CODED_MIN ||
				    d.format > VIRTIO_VIDEO_FORMAT_CODED_MAX :
			    d.format < VIRTIO_VIDEO_FORMAT_RAW_MIN || d.format > VIRTIO_VIDEO_FORMAT_RAW_MAX)
			die("QUERY_CAPABILITY(0x%x): format %u on the wrong queue", queue, d.format);
		if (!d.planes_layout || !d.mask || d.num_frames > 64)
			die("QUERY_CAPABILITY(0x%x): format %u: layout 0x%x mask 0x%llx frames %u",
			    queue, d.format, d.planes_layout, (unsigned long long)d.mask, d.num_frames);
		for (k = 0; k < d.num_frames; k++) {
			struct virtio_video_format_frame fr;

			if (off + sizeof(fr) > used)
				die("QUERY_CAPABILITY(0x%x): frame %u of format %u truncated", queue, k,
				    d.format);
			memcpy(&fr, buf + off, sizeof(fr));
			off += sizeof(fr);
			if (fr.width.min > fr.width.max || fr.height.min > fr.height.max ||
			    fr.num_rates > 64)
				die("QUERY_CAPABILITY(0x%x): format %u: bad frame ranges", queue,
				    d.format);
			if (off + (uint64_t)fr.num_rates * sizeof(struct virtio_video_format_range) > used)
				die("QUERY_CAPABILITY(0x%x): rates truncated", queue);
			off += fr.num_rates * sizeof(struct virtio_video_format_range);
		}
	}
	if (off != used)
		die("QUERY_CAPABILITY(0x%x): %u bytes used, descriptors take %u", queue, used, off);
	free(buf);
}

static void check_caps(void)
{
	struct caps in, out;
	int i, ci = -1, ri = -1;

	query_caps(VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &in);
	query_caps(VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &out);
	for (i = 0; i < in.n; i++) {
		if (in.mask[i] >> out.n)
			die("capability mask of format %u names output descriptors that do not exist",
			    in.format[i]);
		if (in.format[i] == o.coded_format)
			ci = i;
	}
	for (i = 0; i < out.n; i++) {
		if (out.mask[i] >> in.n)
			die("capability mask of format %u names input descriptors that do not exist",
			    out.format[i]);
		if (out.format[i] == o.raw_format)
			ri = i;
	}
	if (ci < 0)
		die("the device does not list coded format 0x%x", o.coded_format);
	if (ri < 0)
		die("the device does not list raw format %u", o.raw_format);
	if (!(in.mask[ci] & (1ull << ri)) || !(out.mask[ri] & (1ull << ci)))
		die("the device says formats 0x%x and %u do not go together", o.coded_format,
		    o.raw_format);
}

/* ---- input -------------------------------------------------------------- */

static void add_au(const uint8_t *data, uint32_t size, uint64_t ts)
{
	static size_t cap;

	if (n_aus == cap) {
		cap = cap ? 2 * cap : 256;
		aus = realloc(aus, cap * sizeof(*aus));
	}
	aus[n_aus].data = malloc(size ? size : 1);
	memcpy(aus[n_aus].data, data, size);
	aus[n_aus].size = size;
	aus[n_aus].ts = ts;
	n_aus++;
}

static void load_input(void)
{
	const char *fmt = !strcmp(o.codec, "h264") ? "h264" : !strcmp(o.codec, "hevc") ? "hevc" : "ivf";
	AVFormatContext *fc = NULL;
	AVPacket *pkt = av_packet_alloc();
	bool pts_ok = true;
	size_t i;
	int r;

	if (o.chunk) {
		FILE *f = fopen(o.input, "rb");
		uint8_t *b = malloc(o.chunk);
		size_t n;

		if (!f)
			die("open %s: %s", o.input, strerror(errno));
		while ((n = fread(b, 1, o.chunk, f)) > 0)
			add_au(b, n, 1000 * n_aus + 7);
		fclose(f);
		free(b);
		av_packet_free(&pkt);
		return;
	}
	r = avformat_open_input(&fc, o.input, av_find_input_format(fmt), NULL);
	if (r < 0)
		die("cannot open %s as %s: %s", o.input, fmt, av_err2str(r));
	if (fc->nb_streams < 1)
		die("%s: no stream", o.input);
	while ((r = av_read_frame(fc, pkt)) >= 0) {
		if (pkt->stream_index == 0) {
			if (pkt->pts == AV_NOPTS_VALUE || pkt->pts < 0)
				pts_ok = false;
			add_au(pkt->data, pkt->size, pkt->pts);
		}
		av_packet_unref(pkt);
	}
	if (r != AVERROR_EOF)
		die("%s: read error: %s", o.input, av_err2str(r));
	avformat_close_input(&fc);
	av_packet_free(&pkt);
	for (i = 0; i < n_aus && pts_ok; i++)
		for (size_t k = 0; k < i; k++)
			if (aus[k].ts == aus[i].ts)
				pts_ok = false;
	if (!pts_ok)
		for (i = 0; i < n_aus; i++)
			aus[i].ts = 1000 * i + 7;
	if (!n_aus)
		die("%s: no access unit", o.input);
}

/* The display order of the timestamps, from a local libavcodec decode. */
static void reference_order(void)
{
	enum AVCodecID id = !strcmp(o.codec, "h264") ? AV_CODEC_ID_H264 :
			    !strcmp(o.codec, "hevc") ? AV_CODEC_ID_HEVC :
			    !strcmp(o.codec, "vp8")  ? AV_CODEC_ID_VP8 :
						       AV_CODEC_ID_VP9;
	const AVCodec *codec = avcodec_find_decoder(id);
	AVCodecContext *c = avcodec_alloc_context3(codec);
	AVPacket *pkt = av_packet_alloc();
	AVFrame *fr = av_frame_alloc();
	size_t i;

	c->thread_count = 1;
	if (avcodec_open2(c, codec, NULL) < 0)
		die("cannot open a local %s decoder", o.codec);
	expect_ts = calloc(n_aus + 64, sizeof(*expect_ts));
	for (i = 0; i <= n_aus; i++) {
		if (i < n_aus) {
			av_new_packet(pkt, aus[i].size);
			memcpy(pkt->data, aus[i].data, aus[i].size);
			pkt->pts = aus[i].ts;
			avcodec_send_packet(c, pkt);
			av_packet_unref(pkt);
		} else {
			avcodec_send_packet(c, NULL);
		}
		while (avcodec_receive_frame(c, fr) >= 0) {
			if (n_expect < n_aus + 64)
				expect_ts[n_expect++] = fr->pts;
			av_frame_unref(fr);
		}
	}
	av_frame_free(&fr);
	av_packet_free(&pkt);
	avcodec_free_context(&c);
}

/* ---- main --------------------------------------------------------------- */

static void usage(void) __attribute__((noreturn));

static uint32_t parse_mem(const char *name)
{
	if (!strcmp(name, "guest-pages"))
		return VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
	if (!strcmp(name, "virtio-object"))
		return VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
	usage();
}

static void print_latency(void)
{
	struct vv_lat l;

	if (vv_lat_summary(lat_ns, n_aus, 1e6, &l))
		die("out of memory");
	printf("latency: frames=%zu in_flight=1 p50=%.3f ms p99=%.3f ms max=%.3f ms\n", l.n, l.p50,
	       l.p99, l.max);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vv-client --socket PATH --codec h264|hevc|vp8|vp9 --input FILE\n"
		"        [--output OUT.yuv] [--format yuv420|nv12|yvu420] [--layout single|per-plane]\n"
		"        [--scatter] [--chunk N] [--streams N] [--sequential] [--frames N]\n"
		"        [--abort-after N] [--seek-after N] [--regions N] [--in-bufs N] [--no-indirect]\n"
		"        [--stride-align N] [--no-output] [--stats] [--timeout MS]\n"
		"        [--latency]  (one AU in flight; prints its queue-to-picture latency)\n"
		"        [--no-ts-check]  (diagnosis only: skip the timestamp checks)\n"
		"        [--params-ext] [--stream-mem TYPE] [--queue-mem TYPE]\n"
		"        [--res-mem-flag none|TYPE] [--no-per-resource-mem]\n"
		"        [--peer]  (the ChromeOS/Android driver's sequence: --params-ext,\n"
		"                   --stream-mem virtio-object, --queue-mem guest-pages, no bit 16)\n"
		"        TYPE: guest-pages|virtio-object\n"
		"   or: vv-client --encode ...  (the encoder client; vv-client --encode --help)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", 1, 0, 's' },	{ "codec", 1, 0, 'c' },	     { "input", 1, 0, 'i' },
		{ "output", 1, 0, 'o' },	{ "format", 1, 0, 'f' },     { "layout", 1, 0, 'l' },
		{ "scatter", 0, 0, 'S' },	{ "chunk", 1, 0, 'C' },	     { "streams", 1, 0, 'n' },
		{ "sequential", 0, 0, 'q' },	{ "frames", 1, 0, 'F' },     { "abort-after", 1, 0, 'A' },
		{ "regions", 1, 0, 'R' },	{ "no-indirect", 0, 0, 'I' }, { "stride-align", 1, 0, 'a' },
		{ "no-output", 0, 0, 'N' },	{ "stats", 0, 0, 'T' },	     { "timeout", 1, 0, 't' },
		{ "seek-after", 1, 0, 'k' },	{ "in-bufs", 1, 0, 'b' },	{ "no-ts-check", 0, 0, 'X' }, { "params-ext", 0, 0, 'E' },
		{ "stream-mem", 1, 0, 'M' },	{ "queue-mem", 1, 0, 'Q' },   { "res-mem-flag", 1, 0, 'r' },
		{ "no-per-resource-mem", 0, 0, 'P' }, { "peer", 0, 0, 'Z' }, { "latency", 0, 0, 'L' },
		{ 0, 0, 0, 0 },
	};
	struct timespec t0, t1;
	double secs;
	int c, i, active;
	uint64_t feat = (1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) |
			(1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG) |
			(1ull << VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE);

	/* The encoder client has options of its own: it parses the whole line. */
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--encode"))
			return vv_client_encode(argc, argv);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'c': o.codec = optarg; break;
		case 'i': o.input = optarg; break;
		case 'o': o.output = optarg; break;
		case 'f':
			o.raw_format = !strcmp(optarg, "nv12")	 ? VIRTIO_VIDEO_FORMAT_NV12 :
				       !strcmp(optarg, "yvu420") ? VIRTIO_VIDEO_FORMAT_YVU420 :
				       !strcmp(optarg, "yuv420") ? VIRTIO_VIDEO_FORMAT_YUV420 : 0;
			if (!o.raw_format)
				usage();
			break;
		case 'l':
			if (strcmp(optarg, "single") && strcmp(optarg, "per-plane"))
				usage();
			o.per_plane = !strcmp(optarg, "per-plane");
			break;
		case 'S': o.scatter = true; break;
		case 'C': o.chunk = strtoul(optarg, NULL, 0); break;
		case 'n': o.streams = atoi(optarg); break;
		case 'q': o.sequential = true; break;
		case 'F': o.frames = atoi(optarg); break;
		case 'A': o.abort_after = atoi(optarg); break;
		case 'R': o.regions = atoi(optarg); break;
		case 'I': o.indirect = false; break;
		case 'a': o.stride_align = atoi(optarg); break;
		case 'N': o.no_output = true; break;
		case 'T': o.stats = true; break;
		case 't': o.timeout_ms = atoi(optarg); break;
		case 'b': o.in_bufs = atoi(optarg); break;
		case 'k': o.seek_after = atoi(optarg); break;
		case 'X': o.no_ts_check = true; break;
		case 'E': o.params_ext = true; break;
		case 'M': o.stream_mem = parse_mem(optarg); break;
		case 'Q': o.queue_mem = parse_mem(optarg); break;
		case 'r':
			o.res_mem_flag = !strcmp(optarg, "none") ? 0 :
					 parse_mem(optarg) == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT ?
					 VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT :
					 VIRTIO_VIDEO_PLANES_LAYOUT_F_GUEST_PAGES;
			break;
		case 'P': o.no_per_resource_mem = true; break;
		case 'Z': o.peer = true; break;
		case 'L': o.latency = true; break;
		default: usage();
		}
	}
	if (!o.socket || !o.codec || !o.input || o.streams < 1 || o.regions < 1 || o.regions > 4 ||
	    o.in_bufs < 1 || o.in_bufs > MAX_RES)
		usage();
	o.coded_format = !strcmp(o.codec, "h264") ? VIRTIO_VIDEO_FORMAT_H264 :
			 !strcmp(o.codec, "hevc") ? VIRTIO_VIDEO_FORMAT_HEVC :
			 !strcmp(o.codec, "vp8")  ? VIRTIO_VIDEO_FORMAT_VP8 :
			 !strcmp(o.codec, "vp9")  ? VIRTIO_VIDEO_FORMAT_VP9 : 0;
	if (!o.coded_format)
		usage();
	if (o.chunk && o.coded_format != VIRTIO_VIDEO_FORMAT_H264 &&
	    o.coded_format != VIRTIO_VIDEO_FORMAT_HEVC)
		die("--chunk needs a byte-stream codec (h264, hevc)");
	if (!o.output && !o.no_output)
		die("--output or --no-output is required");
	if (o.latency && (o.streams != 1 || o.chunk || o.seek_after || o.frames || o.abort_after))
		die("--latency: one stream of whole access units, without --chunk, --seek-after, "
		    "--frames or --abort-after");
	if (o.peer) {
		/*
		 * The ChromeOS driver asks for virtio objects (taken only where
		 * offered: --gpu-socket-path) and knows nothing of bit 16.
		 */
		o.params_ext = true;
		o.stream_mem = VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
		o.queue_mem = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
		o.no_per_resource_mem = true;
	}
	if (o.no_per_resource_mem)
		feat &= ~(1ull << VIRTIO_VIDEO_F_PER_RESOURCE_MEM_TYPE);
	/* Asked for only where named: plain runs negotiate what they always did. */
	if (o.stream_mem == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT ||
	    o.queue_mem == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT ||
	    o.res_mem_flag == VIRTIO_VIDEO_PLANES_LAYOUT_F_VIRTIO_OBJECT)
		feat |= 1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT;

	load_input();
	if (o.latency && !(lat_ns = calloc(n_aus, sizeof(*lat_ns))))
		die("out of memory");
	o.verify_ts = !o.chunk && !o.no_output && !o.no_ts_check;
	if (o.verify_ts)
		reference_order();

	if (vv_open(&dev, o.socket, feat, o.regions, 512ull << 20))
		die("cannot set up the device");
	dev.indirect = o.indirect;
	dev.split = o.scatter;
	dev.timeout_ms = o.timeout_ms;
	dev.on_event = on_event;
	if (o.scatter && !(dev.f.features & (1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG)))
		die("--scatter: the device does not offer RESOURCE_NON_CONTIG");
	if (!(dev.f.features & (1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES)))
		die("the device does not offer RESOURCE_GUEST_PAGES");
	check_caps();

	streams = calloc(o.streams, sizeof(*streams));
	for (i = 0; i < o.streams; i++)
		streams[i].id = i + 1;
	if (o.output && !o.no_output) {
		streams[0].out_file = fopen(o.output, "wb");
		if (!streams[0].out_file)
			die("open %s: %s", o.output, strerror(errno));
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		unsigned long before = answers;

		active = 0;
		for (i = 0; i < o.streams; i++) {
			struct stream *s = &streams[i];

			if (s->done)
				continue;
			if (o.sequential && active)
				break;
			stream_step(s);
			active += !s->done;
		}
		if (o.sequential && !active) {
			for (i = 0; i < o.streams && streams[i].done; i++)
				;
			if (i < o.streams)
				continue; /* the next stream starts at once */
		}
		for (i = 0, active = 0; i < o.streams; i++)
			active += !streams[i].done;
		if (!active)
			break;
		if (answers != before)
			continue;	/* handled while a stream waited: step again */
		c = vv_poll(&dev, o.timeout_ms);
		if (c < 0)
			die("device error");
		if (c == 0 && o.latency && streams[0].frames < streams[0].next_au)
			die("timeout: AU %llu gave no picture in %d ms with one AU in flight (the decoder "
			    "holds it until more input: B-frames, a byte-stream parser, frame threads)",
			    (unsigned long long)streams[0].frames, o.timeout_ms);
		if (c == 0)
			die("timeout: no progress for %d ms (frames so far %llu)", o.timeout_ms,
			    (unsigned long long)frames_total);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	for (i = 0; i < o.streams; i++) {
		struct stream *s = &streams[i];

		if (o.latency && s->frames != n_aus)
			die("stream %u: %llu pictures of %zu access units", s->id,
			    (unsigned long long)s->frames, n_aus);
		if (!o.frames && o.verify_ts && s->frames != n_expect)
			die("stream %u: %llu frames, the reference decode has %zu", s->id,
			    (unsigned long long)s->frames, n_expect);
		if (o.frames && s->frames < (uint64_t)o.frames && s->frames < n_expect)
			die("stream %u: only %llu frames", s->id, (unsigned long long)s->frames);
		if (!o.frames && memcmp(s->digest, streams[0].digest, 16))
			die("stream %u: output differs from stream 1", s->id);
		if (s->out_file && fclose(s->out_file))
			die("close output: %s", strerror(errno));
	}
	vv_close(&dev, true);
	if (o.stats) {
		char hex[33];

		for (i = 0; i < 16; i++)
			sprintf(hex + 2 * i, "%02x", streams[0].digest[i]);
		printf("frames=%llu seconds=%.3f fps=%.2f streams=%d md5=%s\n",
		       (unsigned long long)frames_total, secs, frames_total / secs, o.streams, hex);
	}
	if (o.latency)
		print_latency();
	return 0;
}
