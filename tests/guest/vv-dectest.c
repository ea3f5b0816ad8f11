// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-side test client for the virtio-video decoder (tests/vm/driver-*.sh).
 * Decodes an H.264 Annex B file through the V4L2 stateful decoder interface
 * and writes the visible I420 frames to OUT, so the caller can compare MD5s.
 *
 *   vv-dectest [options] IN OUT
 *   --dmabuf        CAPTURE buffers are DMABUF, exported by a second
 *                   context of the same device (EXPBUF of its MMAP buffers)
 *   --restart       after the drain (LAST, EPIPE, EOS event) DEC_CMD_START
 *                   and decode the file again: OUT holds it twice
 *   --seek          STREAMOFF/STREAMON of OUTPUT halfway, then the whole
 *                   file again; OUT holds only the frames after the seek
 *   --cycles N      N times: open, set up, stream a little, close
 *   --forever       feed the file in a loop until an error (exit 3 on EIO)
 *   --abort-drain   DEC_CMD_STOP, then at once STREAMOFF(CAPTURE): the drain
 *                   is aborted, so no EOS event may follow (the device's
 *                   answer to the drain it cancels must not end it)
 */
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
#include <dirent.h>
#include <linux/videodev2.h>

#define NSRC 8
#define NDST 12
#define CHUNK (8 * 1024)

struct ctx {
	int fd;
	int exp_fd;			/* exporter context for --dmabuf */
	void *src_map[NSRC];
	unsigned int src_len;
	void *dst_map[NDST];
	int dst_dmabuf[NDST];
	unsigned int ndst;
	struct v4l2_format cap;
	struct v4l2_rect vis;
	const unsigned char *in;
	size_t in_len, in_pos;
	bool src_busy[NSRC];
	bool dmabuf, cap_on;
	FILE *out;
	bool write_frames;
	unsigned int frames;
	bool eos_event;
	unsigned int errors;
	unsigned int setups;		/* CAPTURE set up (SOURCE_CHANGE) */
	unsigned int drain_changes;	/* resolution changes during drains */
};

static void die(const char *what)
{
	fprintf(stderr, "vv-dectest: %s: %s\n", what, strerror(errno));
	exit(errno == EIO ? 3 : 1);
}

static void xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	while (ioctl(fd, req, arg)) {
		if (errno != EINTR)
			die(what);
	}
}

static int find_node(void)
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
		if (fd < 0) {
			fprintf(stderr, "vv-dectest: %s: %s\n", path, strerror(errno));
			continue;
		}
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((char *)cap.driver, "virtio_video")) {
			closedir(d);
			return fd;
		}
		close(fd);
	}
	fprintf(stderr, "vv-dectest: no virtio_video node\n");
	exit(2);
}

static void set_src_fmt(int fd, unsigned int w, unsigned int h)
{
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE };

	f.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_H264;
	f.fmt.pix_mp.width = w;
	f.fmt.pix_mp.height = h;
	f.fmt.pix_mp.num_planes = 1;
	f.fmt.pix_mp.plane_fmt[0].sizeimage = CHUNK;
	xioctl(fd, VIDIOC_S_FMT, &f, "S_FMT(OUTPUT)");
}

static void setup_src(struct ctx *c)
{
	struct v4l2_requestbuffers rb = { .count = NSRC, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE,
					  .memory = V4L2_MEMORY_MMAP };
	struct v4l2_event_subscription sub = { .type = V4L2_EVENT_SOURCE_CHANGE };
	unsigned int i;

	set_src_fmt(c->fd, 0, 0);
	xioctl(c->fd, VIDIOC_SUBSCRIBE_EVENT, &sub, "SUBSCRIBE(SOURCE_CHANGE)");
	sub.type = V4L2_EVENT_EOS;
	xioctl(c->fd, VIDIOC_SUBSCRIBE_EVENT, &sub, "SUBSCRIBE(EOS)");
	xioctl(c->fd, VIDIOC_REQBUFS, &rb, "REQBUFS(OUTPUT)");
	if (rb.count > NSRC)
		rb.count = NSRC;
	for (i = 0; i < rb.count; i++) {
		struct v4l2_plane p = { 0 };
		struct v4l2_buffer b = { .index = i, .type = rb.type, .memory = rb.memory,
					 .m.planes = &p, .length = 1 };

		xioctl(c->fd, VIDIOC_QUERYBUF, &b, "QUERYBUF(OUTPUT)");
		c->src_len = p.length;
		c->src_map[i] = mmap(NULL, p.length, PROT_READ | PROT_WRITE, MAP_SHARED,
				     c->fd, p.m.mem_offset);
		if (c->src_map[i] == MAP_FAILED)
			die("mmap(OUTPUT)");
	}
	for (; i < NSRC; i++)
		c->src_busy[i] = true;	/* never allocated */
}

static void streamon(int fd, unsigned int type)
{
	xioctl(fd, VIDIOC_STREAMON, &type, "STREAMON");
}

static void streamoff(int fd, unsigned int type)
{
	xioctl(fd, VIDIOC_STREAMOFF, &type, "STREAMOFF");
}

/* Queue the next chunk of input into a free OUTPUT buffer; false at EOF. */
static bool feed(struct ctx *c)
{
	static uint64_t ts = 1000;
	unsigned int i, len;

	if (c->in_pos >= c->in_len)
		return false;
	for (i = 0; i < NSRC && c->src_busy[i]; i++)
		;
	if (i == NSRC)
		return true;
	len = c->in_len - c->in_pos;
	if (len > c->src_len)
		len = c->src_len;
	if (len > CHUNK)
		len = CHUNK;
	memcpy(c->src_map[i], c->in + c->in_pos, len);
	c->in_pos += len;

	struct v4l2_plane p = { .bytesused = len };
	struct v4l2_buffer b = { .index = i, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE,
				 .memory = V4L2_MEMORY_MMAP, .m.planes = &p, .length = 1 };

	b.timestamp.tv_sec = ts / 1000000;
	b.timestamp.tv_usec = ts % 1000000;
	ts += 33333;
	xioctl(c->fd, VIDIOC_QBUF, &b, "QBUF(OUTPUT)");
	c->src_busy[i] = true;
	return true;
}

static void reclaim_src(struct ctx *c)
{
	struct v4l2_plane p;
	struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE,
				 .memory = V4L2_MEMORY_MMAP, .m.planes = &p, .length = 1 };

	while (!ioctl(c->fd, VIDIOC_DQBUF, &b))
		c->src_busy[b.index] = false;
	if (errno != EAGAIN)
		die("DQBUF(OUTPUT)");
}

static void queue_dst(struct ctx *c, unsigned int i)
{
	struct v4l2_plane p = { 0 };
	struct v4l2_buffer b = { .index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
				 .memory = c->dmabuf ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP,
				 .m.planes = &p, .length = 1 };

	if (c->dmabuf)
		p.m.fd = c->dst_dmabuf[i];
	xioctl(c->fd, VIDIOC_QBUF, &b, "QBUF(CAPTURE)");
}

static void free_dst(struct ctx *c)
{
	struct v4l2_requestbuffers rb = { .count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
					  .memory = c->dmabuf ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP };
	unsigned int i;

	for (i = 0; i < c->ndst; i++) {
		if (c->dst_map[i])
			munmap(c->dst_map[i], c->cap.fmt.pix_mp.plane_fmt[0].sizeimage);
		c->dst_map[i] = NULL;
		if (c->dmabuf)
			close(c->dst_dmabuf[i]);
	}
	c->ndst = 0;
	xioctl(c->fd, VIDIOC_REQBUFS, &rb, "REQBUFS(CAPTURE, 0)");
	if (c->dmabuf && c->exp_fd >= 0) {
		rb.memory = V4L2_MEMORY_MMAP;
		xioctl(c->exp_fd, VIDIOC_REQBUFS, &rb, "REQBUFS(exporter, 0)");
	}
}

/* Capture setup after SOURCE_CHANGE (dev-decoder.rst "Capture Setup"). */
static void setup_dst(struct ctx *c)
{
	struct v4l2_selection sel = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				      .target = V4L2_SEL_TGT_COMPOSE };
	struct v4l2_requestbuffers rb = { .count = NDST, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
					  .memory = V4L2_MEMORY_MMAP };
	struct v4l2_control ctrl = { .id = V4L2_CID_MIN_BUFFERS_FOR_CAPTURE };
	unsigned int i, size;

	if (c->cap_on) {
		streamoff(c->fd, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
		free_dst(c);
	}
	c->cap.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	xioctl(c->fd, VIDIOC_G_FMT, &c->cap, "G_FMT(CAPTURE)");
	c->cap.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_YUV420;
	xioctl(c->fd, VIDIOC_S_FMT, &c->cap, "S_FMT(CAPTURE)");
	if (c->cap.fmt.pix_mp.pixelformat != V4L2_PIX_FMT_YUV420) {
		fprintf(stderr, "vv-dectest: no YUV420 on CAPTURE\n");
		exit(1);
	}
	xioctl(c->fd, VIDIOC_G_SELECTION, &sel, "G_SELECTION(COMPOSE)");
	c->vis = sel.r;
	xioctl(c->fd, VIDIOC_G_CTRL, &ctrl, "G_CTRL(MIN_BUFFERS_FOR_CAPTURE)");
	if (ctrl.value < 1 || ctrl.value > NDST) {
		fprintf(stderr, "vv-dectest: MIN_BUFFERS_FOR_CAPTURE %d\n", ctrl.value);
		exit(1);
	}
	size = c->cap.fmt.pix_mp.plane_fmt[0].sizeimage;

	if (c->dmabuf) {
		/* The exporter: the same device, another context, same format. */
		struct v4l2_format f = c->cap;

		set_src_fmt(c->exp_fd, c->cap.fmt.pix_mp.width, c->cap.fmt.pix_mp.height);
		xioctl(c->exp_fd, VIDIOC_S_FMT, &f, "S_FMT(exporter)");
		xioctl(c->exp_fd, VIDIOC_REQBUFS, &rb, "REQBUFS(exporter)");
		if (f.fmt.pix_mp.plane_fmt[0].sizeimage < size) {
			fprintf(stderr, "vv-dectest: exporter buffers too small\n");
			exit(1);
		}
		for (i = 0; i < rb.count && i < NDST; i++) {
			struct v4l2_exportbuffer eb = { .type = rb.type, .index = i,
							.flags = O_RDWR };

			xioctl(c->exp_fd, VIDIOC_EXPBUF, &eb, "EXPBUF");
			c->dst_dmabuf[i] = eb.fd;
		}
		rb.memory = V4L2_MEMORY_DMABUF;
		rb.count = i;
	}
	xioctl(c->fd, VIDIOC_REQBUFS, &rb, "REQBUFS(CAPTURE)");
	c->ndst = rb.count > NDST ? NDST : rb.count;
	for (i = 0; i < c->ndst; i++) {
		int mfd = c->dmabuf ? c->dst_dmabuf[i] : c->fd;
		off_t off = 0;

		if (!c->dmabuf) {
			struct v4l2_plane p = { 0 };
			struct v4l2_buffer b = { .index = i, .type = rb.type, .memory = rb.memory,
						 .m.planes = &p, .length = 1 };

			xioctl(c->fd, VIDIOC_QUERYBUF, &b, "QUERYBUF(CAPTURE)");
			off = p.m.mem_offset;
		}
		c->dst_map[i] = mmap(NULL, size, PROT_READ, MAP_SHARED, mfd, off);
		if (c->dst_map[i] == MAP_FAILED)
			die("mmap(CAPTURE)");
		queue_dst(c, i);
	}
	streamon(c->fd, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
	c->cap_on = true;
	c->setups++;
}

static void write_frame(struct ctx *c, const unsigned char *base)
{
	unsigned int bpl = c->cap.fmt.pix_mp.plane_fmt[0].bytesperline;
	unsigned int h = c->cap.fmt.pix_mp.height;
	unsigned int w = c->vis.width, vh = c->vis.height;
	const unsigned char *u = base + bpl * h;
	const unsigned char *v = u + bpl / 2 * ((h + 1) / 2);
	unsigned int y;

	for (y = 0; y < vh; y++)
		fwrite(base + y * bpl, 1, w, c->out);
	for (y = 0; y < (vh + 1) / 2; y++)
		fwrite(u + y * (bpl / 2), 1, (w + 1) / 2, c->out);
	for (y = 0; y < (vh + 1) / 2; y++)
		fwrite(v + y * (bpl / 2), 1, (w + 1) / 2, c->out);
}

static void handle_events(struct ctx *c)
{
	struct v4l2_event ev;

	while (!ioctl(c->fd, VIDIOC_DQEVENT, &ev)) {
		if (ev.type == V4L2_EVENT_EOS)
			c->eos_event = true;
		else if (ev.type == V4L2_EVENT_SOURCE_CHANGE &&
			 (ev.u.src_change.changes & V4L2_EVENT_SRC_CH_RESOLUTION))
			setup_dst(c);
	}
}

/* Dequeue frames; returns true when the LAST buffer came. */
static bool drain_dst(struct ctx *c)
{
	struct v4l2_plane p;
	struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
				 .memory = c->dmabuf ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP,
				 .m.planes = &p, .length = 1 };
	bool last = false;

	while (c->cap_on && !last) {
		if (ioctl(c->fd, VIDIOC_DQBUF, &b)) {
			if (errno == EAGAIN)
				break;
			die("DQBUF(CAPTURE)");
		}
		last = b.flags & V4L2_BUF_FLAG_LAST;
		if (b.flags & V4L2_BUF_FLAG_ERROR) {
			if (++c->errors == 1)
				fprintf(stderr, "vv-dectest: CAPTURE buffer with ERROR\n");
		} else if (p.bytesused) {
			c->frames++;
			if (c->write_frames)
				write_frame(c, c->dst_map[b.index]);
		}
		if (!last)
			queue_dst(c, b.index);
	}
	return last;
}

static void wait_io(struct ctx *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN | POLLOUT | POLLPRI };

	if (poll(&pfd, 1, 20000) <= 0) {
		fprintf(stderr, "vv-dectest: no progress for 20 s\n");
		exit(4);
	}
	if (pfd.revents & POLLERR) {
		errno = EIO;
		if (c->cap_on)
			die("poll");
	}
}

/* Feed the input until EOF (looping with @forever), dequeuing as we go. */
static void decode_input(struct ctx *c, bool forever)
{
	for (;;) {
		handle_events(c);
		reclaim_src(c);
		drain_dst(c);
		if (!feed(c)) {
			if (!forever)
				return;
			c->in_pos = 0;
		}
		wait_io(c);
	}
}

/*
 * DEC_CMD_STOP, frames until LAST, then EPIPE and the EOS event. A resolution
 * change found during the drain (bitstream queued before the STOP) ends with
 * a LAST buffer too, after its SOURCE_CHANGE event: CAPTURE is set up again
 * and the drain goes on (dev-decoder.rst, Drain step 2).
 */
static void drain(struct ctx *c)
{
	struct v4l2_decoder_cmd cmd = { .cmd = V4L2_DEC_CMD_STOP };
	struct v4l2_plane p;
	struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
				 .memory = c->dmabuf ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP,
				 .m.planes = &p, .length = 1 };

	xioctl(c->fd, VIDIOC_DECODER_CMD, &cmd, "DECODER_CMD(STOP)");
	/* EBUSY while the drain runs; 0 (nothing to do) if it is already over. */
	if (ioctl(c->fd, VIDIOC_DECODER_CMD, &cmd) && errno != EBUSY) {
		fprintf(stderr, "vv-dectest: second STOP: %s\n", strerror(errno));
		exit(1);
	}
	for (;;) {
		unsigned int setups = c->setups;

		handle_events(c);
		reclaim_src(c);
		if (drain_dst(c)) {
			handle_events(c);
			if (c->setups == setups)
				break;
		}
		if (c->setups != setups) {
			c->drain_changes++;
			continue;
		}
		wait_io(c);
	}
	if (!ioctl(c->fd, VIDIOC_DQBUF, &b) || errno != EPIPE) {
		fprintf(stderr, "vv-dectest: DQBUF after LAST: not EPIPE\n");
		exit(1);
	}
	handle_events(c);
	if (!c->eos_event) {
		fprintf(stderr, "vv-dectest: no EOS event\n");
		exit(1);
	}
	c->eos_event = false;
}

/* STOP, then STREAMOFF(CAPTURE) while the drain runs: no EOS may follow. */
static void abort_drain(struct ctx *c)
{
	struct v4l2_decoder_cmd cmd = { .cmd = V4L2_DEC_CMD_STOP };

	/* CAPTURE must stream for its STREAMOFF to abort anything. */
	while (c->frames < 5) {
		handle_events(c);
		reclaim_src(c);
		drain_dst(c);
		if (c->frames < 5)
			wait_io(c);
	}
	xioctl(c->fd, VIDIOC_DECODER_CMD, &cmd, "DECODER_CMD(STOP)");
	streamoff(c->fd, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
	c->cap_on = false;
	usleep(500 * 1000);
	handle_events(c);
	if (c->eos_event) {
		fprintf(stderr, "vv-dectest: EOS event after the drain was aborted\n");
		exit(1);
	}
	printf("drain aborted after %u frames, no EOS event\n", c->frames);
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
}

static void cycles(const char *in, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct ctx c = { .exp_fd = -1 };
		unsigned int k;

		load(&c, in);
		c.fd = find_node();
		setup_src(&c);
		streamon(c.fd, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE);
		for (k = 0; k < 3 && feed(&c); k++)
			;
		if (i % 2)
			usleep(20000);
		/* A mapping keeps the file open: unmap, or nothing is released. */
		for (k = 0; k < NSRC; k++)
			if (c.src_map[k])
				munmap(c.src_map[k], c.src_len);
		close(c.fd);
		if (i % 50 == 49)
			printf("cycle %u\n", i + 1);
		munmap((void *)c.in, c.in_len);
	}
	printf("cycles: %u\n", n);
}

int main(int argc, char **argv)
{
	struct ctx c = { .exp_fd = -1 };
	bool restart = false, seek = false, forever = false, abort = false;
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--dmabuf")) {
			c.dmabuf = true;
		} else if (!strcmp(argv[i], "--restart")) {
			restart = true;
		} else if (!strcmp(argv[i], "--seek")) {
			seek = true;
		} else if (!strcmp(argv[i], "--abort-drain")) {
			abort = true;
		} else if (!strcmp(argv[i], "--forever")) {
			forever = true;
		} else if (!strcmp(argv[i], "--cycles") && i + 2 < argc) {
			cycles(argv[i + 2], atoi(argv[i + 1]));
			return 0;
		} else {
			fprintf(stderr, "vv-dectest: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: vv-dectest [--dmabuf] [--restart|--seek|--forever|--abort-drain] IN OUT\n");
		return 2;
	}
	load(&c, argv[i]);
	c.out = fopen(argv[i + 1], "wb");
	if (!c.out)
		die(argv[i + 1]);
	c.fd = find_node();
	if (c.dmabuf)
		c.exp_fd = find_node();
	c.write_frames = !seek;
	setup_src(&c);
	streamon(c.fd, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE);
	printf("streaming\n");

	if (forever)
		decode_input(&c, true);
	if (seek) {
		c.in_len /= 2;
		decode_input(&c, false);
		/* Let some frames out before seeking back to the start. */
		while (c.frames < 5) {
			handle_events(&c);
			reclaim_src(&c);
			drain_dst(&c);
			if (c.frames < 5)
				wait_io(&c);
		}
		streamoff(c.fd, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE);
		for (unsigned int k = 0; k < NSRC; k++)
			if (c.src_map[k])
				c.src_busy[k] = false;
		drain_dst(&c);
		printf("seek after %u frames\n", c.frames);
		c.in_len *= 2;
		c.in_pos = 0;
		c.write_frames = true;
		streamon(c.fd, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE);
	}
	decode_input(&c, false);
	if (abort) {
		abort_drain(&c);
		return 0;
	}
	drain(&c);
	printf("drained after %u frames, %u resolution changes during drains\n", c.frames,
	       c.drain_changes);
	if (restart) {
		struct v4l2_decoder_cmd cmd = { .cmd = V4L2_DEC_CMD_START };

		xioctl(c.fd, VIDIOC_DECODER_CMD, &cmd, "DECODER_CMD(START)");
		c.in_pos = 0;
		decode_input(&c, false);
		drain(&c);
		printf("drained again after %u frames, %u resolution changes during drains\n",
		       c.frames, c.drain_changes);
	}
	fclose(c.out);
	close(c.fd);
	if (c.exp_fd >= 0)
		close(c.exp_fd);
	return 0;
}
