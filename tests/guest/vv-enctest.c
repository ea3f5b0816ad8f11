// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-side test client for the virtio-video encoder (tests/vm/driver-enc-*.sh).
 * Encodes a raw NV12 file through the V4L2 stateful encoder interface
 * (dev-encoder.rst), writes the bitstream to OUT and checks what a client
 * relies on: one packet per frame, in order, each with its frame's timestamp;
 * the drain (ENC_CMD_STOP) ends with a LAST buffer and an EOS event.
 *
 *   vv-enctest [options] RAW.nv12 WxH OUT
 *   --codec h264|hevc|vp8|vp9   (default h264)
 *   --bitrate B          V4L2_CID_MPEG_VIDEO_BITRATE before streaming
 *   --set-bitrate-at F:B the same control while streaming, before frame F
 *   --force-key F[,F...] V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME before frame F
 *   --frames N           encode the first N frames (default: the whole file)
 *   --restart            after the drain, ENC_CMD_START and encode again
 *   --cycles N           N times: open, set up, encode 3 frames, drain, close
 *   --forever            encode the file in a loop until an error (exit 3 on EIO)
 *   --dmabuf DRIVER      OUTPUT buffers are DMABUF: dumb buffers of the DRM
 *                        card of DRIVER (virtio_gpu: the device reads them by
 *                        UUID; vgem: as guest pages), frames drawn into them
 * Prints "frames=N bytes=B keyframes=K,K,..." (keyframes from the buffers'
 * KEYFRAME flags, counted from 0 across restarts); with --forever
 * "streaming" once the first packet is out. Exit 1 on any failed check, 3 on EIO.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/videodev2.h>

#include "drm-dumb.h"

#define NSRC 4
#define NDST 6
#define MAX_KEYS 64

struct ctx {
	int fd;
	unsigned int w, h;
	void *src_map[NSRC];
	unsigned int stride, sizeimage, dst_len;
	bool src_busy[NSRC];
	void *dst_map[NDST];
	const unsigned char *in;
	size_t in_len;
	unsigned int frame_size, nframes;
	unsigned int queued, done;	/* frames queued / packets back, this run */
	unsigned int total;		/* packets over all runs */
	unsigned long long bytes;
	unsigned int keys[MAX_KEYS], nkeys;
	unsigned int force[MAX_KEYS], nforce;
	unsigned int rate_at, rate;	/* --set-bitrate-at */
	bool eos_event, last;
	bool forever;
	const char *dmabuf;		/* DRM driver of the OUTPUT buffers */
	struct dumb dumb[NSRC];
	int card;
	FILE *out;
};

static void die(const char *what)
{
	fprintf(stderr, "vv-enctest: %s: %s\n", what, strerror(errno));
	exit(errno == EIO ? 3 : 1);
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "vv-enctest: check failed: %s\n", what);
		exit(1);
	}
}

static void xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	while (ioctl(fd, req, arg)) {
		if (errno != EINTR)
			die(what);
	}
}

static int find_encoder(void)
{
	struct v4l2_capability cap;
	char path[300];
	DIR *d = opendir("/dev");
	struct dirent *e;
	int fd;

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "video", 5))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		fd = open(path, O_RDWR | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((char *)cap.driver, "virtio_video") &&
		    !strcmp((char *)cap.card, "virtio-video encoder")) {
			closedir(d);
			return fd;
		}
		close(fd);
	}
	fprintf(stderr, "vv-enctest: no virtio-video encoder node\n");
	exit(2);
}

static void set_ctrl(int fd, unsigned int id, int value, const char *what)
{
	struct v4l2_ext_control c = { .id = id, .value = value };
	struct v4l2_ext_controls cs = { .which = V4L2_CTRL_WHICH_CUR_VAL, .count = 1,
					.controls = &c };

	xioctl(fd, VIDIOC_S_EXT_CTRLS, &cs, what);
}

static void streamon(int fd, unsigned int type)
{
	xioctl(fd, VIDIOC_STREAMON, &type, "STREAMON");
}

static unsigned int codec_fourcc(const char *name)
{
	if (!strcmp(name, "hevc"))
		return V4L2_PIX_FMT_HEVC;
	if (!strcmp(name, "vp8"))
		return V4L2_PIX_FMT_VP8;
	if (!strcmp(name, "vp9"))
		return V4L2_PIX_FMT_VP9;
	return V4L2_PIX_FMT_H264;
}

/* One dumb buffer per OUTPUT buffer, at least a frame of the driver's layout. */
static void setup_dumb(struct ctx *c)
{
	unsigned int i;

	c->card = drm_find_card(c->dmabuf, NULL, 0);
	if (c->card < 0)
		die(c->dmabuf);
	for (i = 0; i < NSRC; i++) {
		if (dumb_create(c->card, c->stride / 4, (c->sizeimage + c->stride - 1) / c->stride,
				&c->dumb[i]))
			die("dumb buffer");
		check(c->dumb[i].size >= c->sizeimage, "dumb buffer holds a frame");
		c->src_map[i] = c->dumb[i].map;
	}
}

/* CAPTURE format first (dev-encoder.rst), then OUTPUT; buffers; streaming. */
static void setup(struct ctx *c, unsigned int coded, int bitrate)
{
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE };
	struct v4l2_requestbuffers rb = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
					  .memory = V4L2_MEMORY_MMAP, .count = NDST };
	struct v4l2_event_subscription sub = { .type = V4L2_EVENT_EOS };
	unsigned int i, q;

	f.fmt.pix_mp.pixelformat = coded;
	f.fmt.pix_mp.num_planes = 1;
	xioctl(c->fd, VIDIOC_S_FMT, &f, "S_FMT(CAPTURE)");
	memset(&f, 0, sizeof(f));
	f.type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
	f.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_NV12;
	f.fmt.pix_mp.width = c->w;
	f.fmt.pix_mp.height = c->h;
	f.fmt.pix_mp.num_planes = 1;
	xioctl(c->fd, VIDIOC_S_FMT, &f, "S_FMT(OUTPUT)");
	check(f.fmt.pix_mp.width == c->w && f.fmt.pix_mp.height == c->h, "OUTPUT size kept");
	check(f.fmt.pix_mp.plane_fmt[0].bytesperline >= c->w, "bytesperline >= width");
	c->sizeimage = f.fmt.pix_mp.plane_fmt[0].sizeimage;
	c->stride = f.fmt.pix_mp.plane_fmt[0].bytesperline;
	if (bitrate)
		set_ctrl(c->fd, V4L2_CID_MPEG_VIDEO_BITRATE, bitrate, "S_CTRL(BITRATE)");
	xioctl(c->fd, VIDIOC_SUBSCRIBE_EVENT, &sub, "SUBSCRIBE(EOS)");

	for (q = 0; q < 2; q++) {
		void **map = q ? c->src_map : c->dst_map;

		rb.type = q ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
		rb.count = q ? NSRC : NDST;
		rb.memory = q && c->dmabuf ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP;
		xioctl(c->fd, VIDIOC_REQBUFS, &rb, "REQBUFS");
		check(rb.count >= (q ? NSRC : NDST), "REQBUFS count");
		if (q && c->dmabuf) {
			setup_dumb(c);
			continue;
		}
		for (i = 0; i < (q ? NSRC : NDST); i++) {
			struct v4l2_plane p = { 0 };
			struct v4l2_buffer b = { .index = i, .type = rb.type, .memory = rb.memory,
						 .m.planes = &p, .length = 1 };

			xioctl(c->fd, VIDIOC_QUERYBUF, &b, "QUERYBUF");
			map[i] = mmap(NULL, p.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd,
				      p.m.mem_offset);
			if (map[i] == MAP_FAILED)
				die("mmap");
			if (!q) {
				c->dst_len = p.length;
				b.flags = 0;
				xioctl(c->fd, VIDIOC_QBUF, &b, "QBUF(CAPTURE)");
			}
		}
	}
	streamon(c->fd, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
	streamon(c->fd, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE);
}

/* Frame n of the file into buffer i, rows at the driver's stride. */
static void queue_frame(struct ctx *c, unsigned int i, unsigned int n)
{
	const unsigned char *src = c->in + (size_t)(n % c->nframes) * c->frame_size;
	unsigned char *dst = c->src_map[i];
	struct v4l2_plane p = { .bytesused = c->sizeimage };
	struct v4l2_buffer b = { .index = i, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE,
				 .memory = V4L2_MEMORY_MMAP, .m.planes = &p, .length = 1 };
	unsigned int row, k;

	for (row = 0; row < c->h * 3 / 2; row++)
		memcpy(dst + (size_t)row * c->stride, src + (size_t)row * c->w, c->w);
	for (k = 0; k < c->nforce; k++)
		if (c->force[k] == c->total + c->queued)
			set_ctrl(c->fd, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, 1, "FORCE_KEY_FRAME");
	if (c->rate && c->total + c->queued == c->rate_at)
		set_ctrl(c->fd, V4L2_CID_MPEG_VIDEO_BITRATE, c->rate, "S_CTRL(BITRATE) streaming");
	/* The frame's number as its timestamp: the packet must carry it back. */
	if (c->dmabuf) {
		b.memory = V4L2_MEMORY_DMABUF;
		p.m.fd = c->dumb[i].fd;
		p.length = c->dumb[i].size;
	}
	b.timestamp.tv_sec = c->total + c->queued;
	b.timestamp.tv_usec = 1000;
	xioctl(c->fd, VIDIOC_QBUF, &b, "QBUF(OUTPUT)");
	c->src_busy[i] = true;
	c->queued++;
}

static void take_event(struct ctx *c)
{
	struct v4l2_event ev;

	while (!ioctl(c->fd, VIDIOC_DQEVENT, &ev))
		if (ev.type == V4L2_EVENT_EOS)
			c->eos_event = true;
}

/* Packets back; returns false once the LAST buffer came. */
static bool take_packets(struct ctx *c)
{
	for (;;) {
		struct v4l2_plane p = { 0 };
		struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
					 .memory = V4L2_MEMORY_MMAP, .m.planes = &p, .length = 1 };
		unsigned int n;

		if (ioctl(c->fd, VIDIOC_DQBUF, &b)) {
			if (errno == EAGAIN)
				return true;
			if (errno == EPIPE)
				return false;
			die("DQBUF(CAPTURE)");
		}
		if (b.flags & V4L2_BUF_FLAG_ERROR) {
			errno = EIO;
			die("CAPTURE buffer with ERROR");
		}
		if (p.bytesused) {
			n = c->total + c->done;
			check(b.timestamp.tv_sec == (long)n && b.timestamp.tv_usec == 1000,
			      "packet timestamp = its frame's, in order");
			check(!!(b.flags & V4L2_BUF_FLAG_KEYFRAME) +
			      !!(b.flags & V4L2_BUF_FLAG_PFRAME) +
			      !!(b.flags & V4L2_BUF_FLAG_BFRAME) == 1, "one frame-type flag");
			if ((b.flags & V4L2_BUF_FLAG_KEYFRAME) && c->nkeys < MAX_KEYS)
				c->keys[c->nkeys++] = n;
			if (c->out && fwrite(c->dst_map[b.index], 1, p.bytesused, c->out) !=
				      p.bytesused)
				die("write");
			c->bytes += p.bytesused;
			c->done++;
			if (c->forever && c->done == 1 && !c->total) {
				printf("streaming\n");
				fflush(stdout);
			}
		}
		if (b.flags & V4L2_BUF_FLAG_LAST) {
			c->last = true;
			return false;
		}
		b.flags = 0;
		p.bytesused = 0;
		xioctl(c->fd, VIDIOC_QBUF, &b, "QBUF(CAPTURE)");
	}
}

static void reclaim_frames(struct ctx *c)
{
	for (;;) {
		struct v4l2_plane p = { 0 };
		struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE,
					 .memory = c->dmabuf ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP,
					 .m.planes = &p, .length = 1 };

		if (ioctl(c->fd, VIDIOC_DQBUF, &b)) {
			if (errno == EAGAIN)
				return;
			die("DQBUF(OUTPUT)");
		}
		if (b.flags & V4L2_BUF_FLAG_ERROR) {
			errno = EIO;
			die("OUTPUT buffer with ERROR");
		}
		c->src_busy[b.index] = false;
	}
}

static void wait_io(struct ctx *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN | POLLOUT | POLLPRI };
	int r = poll(&pfd, 1, 20000);

	if (r < 0 && errno != EINTR)
		die("poll");
	if (!r) {
		fprintf(stderr, "vv-enctest: no progress in 20 s\n");
		exit(4);
	}
	if (pfd.revents & POLLERR) {
		errno = EIO;
		die("poll: POLLERR");
	}
}

/* Encode @n frames, then drain: every packet back, LAST, EOS event. */
static void encode_run(struct ctx *c, unsigned int n, bool forever)
{
	struct v4l2_encoder_cmd cmd = { .cmd = V4L2_ENC_CMD_STOP };
	unsigned int i;
	bool more = true;

	c->queued = c->done = 0;
	c->eos_event = c->last = false;
	while (forever || c->queued < n) {
		for (i = 0; i < NSRC && (forever || c->queued < n); i++)
			if (!c->src_busy[i])
				queue_frame(c, i, c->total + c->queued);
		wait_io(c);
		reclaim_frames(c);
		take_event(c);
		check(take_packets(c), "no LAST before the drain");
	}
	xioctl(c->fd, VIDIOC_ENCODER_CMD, &cmd, "ENC_CMD_STOP");
	while (more) {
		wait_io(c);
		reclaim_frames(c);
		take_event(c);
		more = take_packets(c);
	}
	take_event(c);
	check(c->done == n, "one packet per frame queued");
	check(c->last, "the drain ends with a LAST buffer");
	check(c->eos_event, "an EOS event with the drain");
	c->total += c->done;
}

static void restart(struct ctx *c)
{
	struct v4l2_encoder_cmd cmd = { .cmd = V4L2_ENC_CMD_START };
	unsigned int i;

	xioctl(c->fd, VIDIOC_ENCODER_CMD, &cmd, "ENC_CMD_START");
	for (i = 0; i < NDST; i++) {
		struct v4l2_plane p = { 0 };
		struct v4l2_buffer b = { .index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
					 .memory = V4L2_MEMORY_MMAP, .m.planes = &p, .length = 1 };

		xioctl(c->fd, VIDIOC_QUERYBUF, &b, "QUERYBUF(CAPTURE)");
		if (!(b.flags & (V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_DONE)))
			xioctl(c->fd, VIDIOC_QBUF, &b, "QBUF(CAPTURE) after START");
	}
}

static void load(struct ctx *c, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		die(path);
	c->in_len = st.st_size;
	c->in = mmap(NULL, c->in_len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (c->in == MAP_FAILED)
		die("mmap(input)");
	close(fd);
	c->frame_size = c->w * c->h * 3 / 2;
	c->nframes = c->in_len / c->frame_size;
	check(c->nframes > 0, "input holds a frame");
}

static void unmap_all(struct ctx *c)
{
	unsigned int i;

	for (i = 0; i < NSRC; i++)
		munmap(c->src_map[i], c->sizeimage);
	for (i = 0; i < NDST; i++)
		munmap(c->dst_map[i], c->dst_len);
	memset(c->src_busy, 0, sizeof(c->src_busy));
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	const char *codec = "h264";
	unsigned int frames = 0, cycles = 0, i;
	bool forever = false, again = false;
	int bitrate = 0;
	char *tok;

	for (i = 1; i < (unsigned int)argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i], *v = i + 1 < (unsigned int)argc ? argv[i + 1] : "";

		if (!strcmp(o, "--codec"))
			codec = v, i++;
		else if (!strcmp(o, "--bitrate"))
			bitrate = atoi(v), i++;
		else if (!strcmp(o, "--frames"))
			frames = atoi(v), i++;
		else if (!strcmp(o, "--cycles"))
			cycles = atoi(v), i++;
		else if (!strcmp(o, "--set-bitrate-at"))
			sscanf(v, "%u:%u", &c.rate_at, &c.rate), i++;
		else if (!strcmp(o, "--force-key")) {
			char *list = strdup(v);

			for (tok = strtok(list, ","); tok && c.nforce < MAX_KEYS; tok = strtok(NULL, ","))
				c.force[c.nforce++] = atoi(tok);
			i++;
		} else if (!strcmp(o, "--restart"))
			again = true;
		else if (!strcmp(o, "--forever"))
			forever = true;
		else if (!strcmp(o, "--dmabuf"))
			c.dmabuf = v, i++;
		else {
			fprintf(stderr, "vv-enctest: unknown option %s\n", o);
			return 2;
		}
	}
	if (argc - i < 3 || sscanf(argv[i + 1], "%ux%u", &c.w, &c.h) != 2) {
		fprintf(stderr, "usage: vv-enctest [options] RAW.nv12 WxH OUT\n");
		return 2;
	}
	load(&c, argv[i]);
	if (!frames || frames > c.nframes)
		frames = c.nframes;

	if (cycles) {
		unsigned int n;

		for (n = 0; n < cycles; n++) {
			c.fd = find_encoder();
			setup(&c, codec_fourcc(codec), bitrate);
			c.total = 0;
			encode_run(&c, 3, false);
			unmap_all(&c);
			close(c.fd);
		}
		printf("cycles: %u\n", cycles);
		return 0;
	}
	c.out = fopen(argv[i + 2], "wb");
	if (!c.out)
		die(argv[i + 2]);
	c.fd = find_encoder();
	setup(&c, codec_fourcc(codec), bitrate);
	c.forever = forever;
	encode_run(&c, frames, forever);
	if (again) {
		restart(&c);
		encode_run(&c, frames, false);
	}
	fclose(c.out);
	printf("frames=%u bytes=%llu keyframes=", c.total, c.bytes);
	for (i = 0; i < c.nkeys; i++)
		printf("%s%u", i ? "," : "", c.keys[i]);
	printf("\n");
	return 0;
}
