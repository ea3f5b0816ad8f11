// SPDX-License-Identifier: GPL-2.0
/*
 * gpu-decode: zero-copy decode into virtio-gpu buffers, run in the guest
 * (tests/vm/zero-copy-*.sh).
 *
 * Decodes an H.264 Annex B stream (whole access units, one per OUTPUT
 * buffer) through the virtio-video V4L2 stateful decoder, with CAPTURE
 * buffers that are DRM dumb buffers exported through PRIME and queued as
 * V4L2_MEMORY_DMABUF. Every frame is read back through the dumb buffer's
 * own mapping and written to --output: I420 (visible rectangle) for the
 * YUV formats, packed B,G,R,A rows for --format bgra.
 *
 *   gpu-decode [options] STREAM.h264
 *     --output FILE      frames read back from the dumb buffers
 *     --format F         nv12 (default), yuv420 or bgra
 *     --card PATH        DRM device of the buffers (default: the virtio_gpu card)
 *     --alloc DRIVER     allocate the buffers from the DRM device of that driver
 *                        (e.g. vgem); --card still names the display card
 *     --video PATH       decoder (default: the /dev/video* of driver virtio_video)
 *     --scanout N        show frame N on the display (BGRA): the decoded buffer
 *                        itself when its size is the mode's, else a copy into a
 *                        mode-sized buffer; the display is held until poweroff
 *     --hold S           seconds to show it before exiting (default 4)
 *     --small            first queue a dumb buffer too small for the frame: it
 *                        must be refused at QBUF or come back with ERROR
 *     --extra N          CAPTURE buffers beyond the driver's minimum (default 2)
 *     --mix refuse|accept  one queue, two exporters: the last CAPTURE buffer
 *                        is a vgem dma-buf queued after the others (the
 *                        --alloc ones, virtio-gpu by default). refuse: QBUF
 *                        must fail with EINVAL (a device without
 *                        PER_RESOURCE_MEM_TYPE), then a buffer like the
 *                        others takes its place; accept: it must be taken
 *                        and carry frames
 *     --stop-when-idle   send V4L2_DEC_CMD_STOP only once every OUTPUT buffer
 *                        came back: the ChromeOS/Android driver's STOP
 *                        overtakes bitstream it has not sent to the device yet
 *                        (docs/vm-harness.md, "The ChromeOS/Android driver")
 * Prints "gpu-decode: ..." lines; exits 0 only when every step worked.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libdrm/drm.h>
#include <libdrm/drm_fourcc.h>
#include <libdrm/drm_mode.h>
#include <linux/videodev2.h>

#include "drm-dumb.h"

#define MAX_SRC 4
#define MAX_CAP 32
#define SRC_SIZE (1024 * 1024)
#define STALL_MS 60000

struct cap_buf {
	struct dumb d;
	bool queued;
	bool held;		/* on the display: never given back */
};

static struct {
	const char *output, *card_path, *alloc_drv, *video_path, *stream;
	uint32_t fourcc;
	int scanout;
	int hold;
	bool small, stop_idle;
	int mix;		/* 0, MIX_REFUSE, MIX_ACCEPT */
	unsigned int extra;
} opt = { .fourcc = V4L2_PIX_FMT_NV12, .scanout = -1, .hold = 4, .extra = 2 };

enum { MIX_REFUSE = 1, MIX_ACCEPT };

static int vfd = -1, gpu = -1, alloc_fd = -1, mix_fd = -1;
static int mix_index = -1;	/* the accepted vgem buffer */
static unsigned int mix_frames;
static FILE *out;

/* OUTPUT side */
static uint8_t *src_map[MAX_SRC];
static uint32_t src_len[MAX_SRC];
static bool src_busy[MAX_SRC];
static unsigned int n_src;

/* CAPTURE side */
static struct cap_buf cap[MAX_CAP];
static unsigned int n_cap;
static bool cap_on;
static uint32_t cap_w, cap_h, cap_bpl, cap_size, cap_fourcc;
static struct v4l2_rect vis;
static unsigned int frames;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gpu-decode: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	printf("gpu-decode: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r;
}

#define CHECK(fd, req, arg) \
	do { \
		if (xioctl(fd, req, arg) < 0) \
			die("%s: %s", #req, strerror(errno)); \
	} while (0)

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* ---- DRM ---- */

static int open_card(const char *path, const char *driver)
{
	char found[64];
	int fd;

	if (path) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		return fd;
	}
	fd = drm_find_card(driver, found, sizeof(found));
	if (fd < 0)
		die("no DRM card of driver %s", driver);
	say("%s: %s", driver, found);
	return fd;
}

/* A dumb buffer of @width x @height 32-bit pixels, exported and mapped. */
static void dumb_make(int card, uint32_t width, uint32_t height, struct dumb *d)
{
	if (dumb_create(card, width, height, d))
		die("dumb buffer %ux%u: %s", width, height, strerror(errno));
}

static void dumb_free(struct dumb *d)
{
	if (dumb_destroy(d))
		die("DRM_IOCTL_MODE_DESTROY_DUMB: %s", strerror(errno));
}

/* A dumb buffer on @card for one CAPTURE frame: pitch = bytesperline, >= @bytes. */
static void dumb_on(int card, uint32_t bytes, struct dumb *d)
{
	uint32_t w = cap_bpl / 4, h = (bytes + cap_bpl - 1) / cap_bpl;

	dumb_make(card, w, h, d);
	if (d->size < bytes)
		die("dumb buffer %ux%u is %llu bytes, need %u", w, h,
		    (unsigned long long)d->size, bytes);
}

static void dumb_for_frame(uint32_t bytes, struct dumb *d)
{
	dumb_on(alloc_fd, bytes, d);
}

/* ---- V4L2 ---- */

static int open_video(void)
{
	struct v4l2_capability c;
	glob_t g;
	size_t i;
	int fd;

	if (opt.video_path) {
		fd = open(opt.video_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			die("open %s: %s", opt.video_path, strerror(errno));
		return fd;
	}
	if (glob("/dev/video*", 0, NULL, &g))
		die("no /dev/video*");
	for (i = 0; i < g.gl_pathc; i++) {
		fd = open(g.gl_pathv[i], O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!xioctl(fd, VIDIOC_QUERYCAP, &c) && !strcmp((char *)c.driver, "virtio_video") &&
		    (c.device_caps & V4L2_CAP_VIDEO_M2M_MPLANE)) {
			say("decoder: %s", g.gl_pathv[i]);
			globfree(&g);
			return fd;
		}
		close(fd);
	}
	die("no /dev/video* of driver virtio_video");
	return -1;
}

static void setup_output(void)
{
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE };
	struct v4l2_requestbuffers rb = { 0 };
	struct v4l2_event_subscription sub = { 0 };
	unsigned int i;

	f.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_H264;
	f.fmt.pix_mp.num_planes = 1;
	f.fmt.pix_mp.plane_fmt[0].sizeimage = SRC_SIZE;
	CHECK(vfd, VIDIOC_S_FMT, &f);
	if (f.fmt.pix_mp.pixelformat != V4L2_PIX_FMT_H264)
		die("decoder does not take H.264");

	sub.type = V4L2_EVENT_SOURCE_CHANGE;
	CHECK(vfd, VIDIOC_SUBSCRIBE_EVENT, &sub);
	sub.type = V4L2_EVENT_EOS;
	CHECK(vfd, VIDIOC_SUBSCRIBE_EVENT, &sub);

	rb.type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
	rb.memory = V4L2_MEMORY_MMAP;
	rb.count = MAX_SRC;
	CHECK(vfd, VIDIOC_REQBUFS, &rb);
	if (!rb.count)
		die("no OUTPUT buffers");
	n_src = rb.count < MAX_SRC ? rb.count : MAX_SRC;
	for (i = 0; i < n_src; i++) {
		struct v4l2_plane pl[1] = { 0 };
		struct v4l2_buffer b = {
			.type = rb.type, .memory = rb.memory, .index = i,
			.m.planes = pl, .length = 1,
		};

		CHECK(vfd, VIDIOC_QUERYBUF, &b);
		src_len[i] = pl[0].length;
		src_map[i] = mmap(NULL, pl[0].length, PROT_READ | PROT_WRITE, MAP_SHARED, vfd,
				  pl[0].m.mem_offset);
		if (src_map[i] == MAP_FAILED)
			die("mmap OUTPUT buffer: %s", strerror(errno));
	}
	i = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
	CHECK(vfd, VIDIOC_STREAMON, &i);
}

static int qbuf_cap(unsigned int i, int fd, uint32_t length)
{
	struct v4l2_plane pl[1] = { 0 };
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, .memory = V4L2_MEMORY_DMABUF,
		.index = i, .m.planes = pl, .length = 1,
	};

	pl[0].m.fd = fd;
	pl[0].length = length;
	return xioctl(vfd, VIDIOC_QBUF, &b);
}

static void queue_cap(unsigned int i)
{
	if (qbuf_cap(i, cap[i].d.fd, cap[i].d.size) < 0)
		die("QBUF CAPTURE %u (dmabuf fd %d, %llu bytes): %s", i, cap[i].d.fd,
		    (unsigned long long)cap[i].d.size, strerror(errno));
	cap[i].queued = true;
}

static const char *fourcc_str(uint32_t f)
{
	static char s[5];

	memcpy(s, &f, 4);
	return s;
}

/*
 * The "small buffer" check: a dumb buffer half the frame size, queued as
 * DMABUF. It must be refused at QBUF (vb2 checks the dma-buf's size), else
 * come back with V4L2_BUF_FLAG_ERROR (checked when dequeued).
 */
static bool small_pending;

static void try_small(unsigned int index)
{
	struct dumb d = { 0 };

	dumb_for_frame(cap_size / 2, &d);
	if (qbuf_cap(index, d.fd, 0) < 0) {
		if (errno != EINVAL)
			die("small buffer: QBUF failed with %s, not EINVAL", strerror(errno));
		say("small buffer (%llu bytes for a %u-byte frame): refused at QBUF (EINVAL)",
		    (unsigned long long)d.size, cap_size);
		dumb_free(&d);
		return;
	}
	/* Accepted: it has to come back with ERROR; keep it queued in cap[index]. */
	say("small buffer accepted at QBUF; it must come back with ERROR");
	cap[index].d = d;
	cap[index].queued = true;
	small_pending = true;
}

/*
 * The mixing check: a vgem dma-buf into CAPTURE slot @index after the
 * others were queued (the first decided the queue's memory type).
 */
static void try_mix(unsigned int index)
{
	struct dumb d = { 0 };

	dumb_on(mix_fd, cap_size, &d);
	if (qbuf_cap(index, d.fd, d.size) < 0) {
		if (opt.mix == MIX_ACCEPT || errno != EINVAL)
			die("mixed buffer: QBUF of a vgem dma-buf failed with %s (%s expected)",
			    strerror(errno), opt.mix == MIX_ACCEPT ? "success" : "EINVAL");
		say("mixed buffer: vgem dma-buf refused at QBUF (EINVAL)");
		dumb_free(&d);
		dumb_for_frame(cap_size, &cap[index].d);
		queue_cap(index);
		return;
	}
	if (opt.mix == MIX_REFUSE)
		die("mixed buffer: QBUF of a vgem dma-buf succeeded (EINVAL expected)");
	say("mixed buffer: vgem dma-buf accepted at QBUF");
	cap[index].d = d;
	cap[index].queued = true;
	mix_index = index;
}

static void setup_capture(void)
{
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE };
	struct v4l2_selection sel = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .target = V4L2_SEL_TGT_COMPOSE,
	};
	struct v4l2_control ctl = { .id = V4L2_CID_MIN_BUFFERS_FOR_CAPTURE };
	struct v4l2_requestbuffers rb = { 0 };
	unsigned int i, first = 0;

	CHECK(vfd, VIDIOC_G_FMT, &f);
	f.fmt.pix_mp.pixelformat = opt.fourcc;
	CHECK(vfd, VIDIOC_S_FMT, &f);
	if (f.fmt.pix_mp.pixelformat != opt.fourcc)
		die("decoder gave CAPTURE format %s, not the one asked (%s)",
		    fourcc_str(f.fmt.pix_mp.pixelformat), fourcc_str(opt.fourcc));
	if (f.fmt.pix_mp.num_planes != 1)
		die("CAPTURE format has %u memory planes, expected 1", f.fmt.pix_mp.num_planes);
	cap_fourcc = f.fmt.pix_mp.pixelformat;
	cap_w = f.fmt.pix_mp.width;
	cap_h = f.fmt.pix_mp.height;
	cap_bpl = f.fmt.pix_mp.plane_fmt[0].bytesperline;
	cap_size = f.fmt.pix_mp.plane_fmt[0].sizeimage;
	if (!cap_w || !cap_h || cap_bpl % 4 || cap_bpl < cap_w || !cap_size)
		die("bad CAPTURE format %ux%u bpl %u size %u", cap_w, cap_h, cap_bpl, cap_size);
	if (xioctl(vfd, VIDIOC_G_SELECTION, &sel) < 0) {
		sel.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
		if (xioctl(vfd, VIDIOC_G_SELECTION, &sel) < 0)
			sel.r = (struct v4l2_rect){ 0, 0, cap_w, cap_h };
	}
	vis = sel.r;
	if (vis.left < 0 || vis.top < 0 || !vis.width || !vis.height ||
	    vis.left + vis.width > cap_w || vis.top + vis.height > cap_h)
		die("bad visible rectangle %dx%d+%d+%d", vis.width, vis.height, vis.left, vis.top);
	if (xioctl(vfd, VIDIOC_G_CTRL, &ctl) < 0 || ctl.value < 1)
		ctl.value = 4;

	rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	rb.memory = V4L2_MEMORY_DMABUF;
	rb.count = ctl.value + opt.extra + (opt.scanout >= 0) + opt.small;
	if (rb.count > MAX_CAP)
		rb.count = MAX_CAP;
	CHECK(vfd, VIDIOC_REQBUFS, &rb);
	if (rb.count < 2)
		die("REQBUFS CAPTURE DMABUF gave %u buffers", rb.count);
	n_cap = rb.count < MAX_CAP ? rb.count : MAX_CAP;
	say("CAPTURE %s %ux%u (visible %ux%u+%d+%d) bpl %u sizeimage %u, %u DMABUF buffers",
	    fourcc_str(cap_fourcc), cap_w, cap_h, vis.width, vis.height, vis.left, vis.top,
	    cap_bpl, cap_size, n_cap);
	if (opt.small) {
		try_small(0);
		opt.small = false;
		if (cap[0].queued)
			first = 1;
	}
	for (i = first; i < n_cap - (opt.mix != 0); i++) {
		dumb_for_frame(cap_size, &cap[i].d);
		if (i == first)
			say("dumb buffers: pitch %u, %llu bytes", cap[i].d.pitch,
			    (unsigned long long)cap[i].d.size);
		queue_cap(i);
	}
	if (opt.mix) {
		try_mix(n_cap - 1);
		opt.mix = 0;
	}
	i = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	CHECK(vfd, VIDIOC_STREAMON, &i);
	cap_on = true;
}

static void teardown_capture(void)
{
	unsigned int i = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	struct v4l2_requestbuffers rb = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, .memory = V4L2_MEMORY_DMABUF,
	};

	CHECK(vfd, VIDIOC_STREAMOFF, &i);
	CHECK(vfd, VIDIOC_REQBUFS, &rb);
	for (i = 0; i < n_cap; i++)
		if (!cap[i].held)
			dumb_free(&cap[i].d);
	memset(cap, 0, sizeof(cap));
	n_cap = 0;
	mix_index = -1;
	cap_on = false;
}

/* ---- display ---- */

static void show(const struct dumb *frame)
{
	struct drm_mode_card_res res = { 0 };
	struct drm_mode_get_connector conn = { 0 };
	struct drm_mode_modeinfo *modes;
	struct drm_mode_fb_cmd2 fb = { 0 };
	struct drm_mode_crtc crtc = { 0 };
	uint32_t *conns, *crtcs, conn_id = 0, handle, pitch;
	struct dumb screen = { 0 };
	unsigned int i, y;
	bool direct;

	CHECK(gpu, DRM_IOCTL_MODE_GETRESOURCES, &res);
	if (!res.count_connectors || !res.count_crtcs)
		die("display card has %u connectors, %u CRTCs", res.count_connectors,
		    res.count_crtcs);
	conns = calloc(res.count_connectors, sizeof(*conns));
	crtcs = calloc(res.count_crtcs, sizeof(*crtcs));
	if (!conns || !crtcs)
		die("out of memory");
	res.connector_id_ptr = (uintptr_t)conns;
	res.crtc_id_ptr = (uintptr_t)crtcs;
	res.count_fbs = res.count_encoders = 0;
	CHECK(gpu, DRM_IOCTL_MODE_GETRESOURCES, &res);

	modes = NULL;
	for (i = 0; i < res.count_connectors && !conn_id; i++) {
		memset(&conn, 0, sizeof(conn));
		conn.connector_id = conns[i];
		CHECK(gpu, DRM_IOCTL_MODE_GETCONNECTOR, &conn);
		if (conn.connection != 1 || !conn.count_modes)
			continue;
		modes = calloc(conn.count_modes, sizeof(*modes));
		if (!modes)
			die("out of memory");
		conn.modes_ptr = (uintptr_t)modes;
		conn.count_props = conn.count_encoders = 0;
		CHECK(gpu, DRM_IOCTL_MODE_GETCONNECTOR, &conn);
		conn_id = conns[i];
	}
	if (!conn_id)
		die("no connected connector with a mode");

	/* The decoded buffer itself when it has the mode's size, else a copy. */
	direct = vis.left == 0 && vis.top == 0 && vis.width == modes[0].hdisplay &&
		 vis.height == modes[0].vdisplay && frame->card == gpu;
	if (direct) {
		handle = frame->handle;
		pitch = cap_bpl;
	} else {
		dumb_make(gpu, modes[0].hdisplay, modes[0].vdisplay, &screen);
		memset(screen.map, 0, screen.size);
		for (y = 0; y < vis.height && y < modes[0].vdisplay; y++)
			memcpy(screen.map + (size_t)y * screen.pitch,
			       frame->map + (size_t)(vis.top + y) * cap_bpl + vis.left * 4,
			       4 * (vis.width < modes[0].hdisplay ? vis.width : modes[0].hdisplay));
		handle = screen.handle;
		pitch = screen.pitch;
	}
	fb.width = modes[0].hdisplay;
	fb.height = modes[0].vdisplay;
	fb.pixel_format = DRM_FORMAT_XRGB8888;
	fb.handles[0] = handle;
	fb.pitches[0] = pitch;
	CHECK(gpu, DRM_IOCTL_MODE_ADDFB2, &fb);

	crtc.crtc_id = crtcs[0];
	crtc.fb_id = fb.fb_id;
	crtc.set_connectors_ptr = (uintptr_t)&conn_id;
	crtc.count_connectors = 1;
	crtc.mode = modes[0];
	crtc.mode_valid = 1;
	CHECK(gpu, DRM_IOCTL_MODE_SETCRTC, &crtc);
	say("scanout: frame %d on CRTC %u, connector %u, mode %s %ux%u, %s", opt.scanout,
	    crtcs[0], conn_id, modes[0].name, modes[0].hdisplay, modes[0].vdisplay,
	    direct ? "framebuffer = the decoded dumb buffer (no copy)" :
		     "frame copied into a mode-sized dumb buffer at 0,0");
	free(conns);
	free(crtcs);
	free(modes);
}

/* ---- frames ---- */

static void write_frame(const uint8_t *p)
{
	uint32_t y, x, cw = (vis.width + 1) / 2, ch = (vis.height + 1) / 2;
	const uint8_t *row;
	uint8_t *line;

	if (cap_fourcc == V4L2_PIX_FMT_ABGR32) {
		for (y = 0; y < vis.height; y++)
			if (fwrite(p + (size_t)(vis.top + y) * cap_bpl + vis.left * 4, 4,
				   vis.width, out) != vis.width)
				die("write: %s", strerror(errno));
		return;
	}
	if (vis.left % 2 || vis.top % 2)
		die("odd visible offset %d,%d", vis.left, vis.top);
	for (y = 0; y < vis.height; y++)
		if (fwrite(p + (size_t)(vis.top + y) * cap_bpl + vis.left, 1, vis.width, out) !=
		    vis.width)
			die("write: %s", strerror(errno));
	if (cap_fourcc == V4L2_PIX_FMT_YUV420) {
		const uint8_t *u = p + (size_t)cap_bpl * cap_h;
		const uint8_t *v = u + (size_t)(cap_bpl / 2) * ((cap_h + 1) / 2);
		uint32_t cs = cap_bpl / 2;

		for (y = 0; y < ch; y++)
			if (fwrite(u + (size_t)(vis.top / 2 + y) * cs + vis.left / 2, 1, cw, out) != cw)
				die("write: %s", strerror(errno));
		for (y = 0; y < ch; y++)
			if (fwrite(v + (size_t)(vis.top / 2 + y) * cs + vis.left / 2, 1, cw, out) != cw)
				die("write: %s", strerror(errno));
		return;
	}
	/* NV12: split the interleaved chroma into U and V planes. */
	line = malloc(cw);
	if (!line)
		die("out of memory");
	for (int plane = 0; plane < 2; plane++) {
		for (y = 0; y < ch; y++) {
			row = p + (size_t)cap_bpl * cap_h + (size_t)(vis.top / 2 + y) * cap_bpl +
			      vis.left;
			for (x = 0; x < cw; x++)
				line[x] = row[2 * x + plane];
			if (fwrite(line, 1, cw, out) != cw)
				die("write: %s", strerror(errno));
		}
	}
	free(line);
}

/* Dequeues CAPTURE buffers; returns true once the LAST one came back. */
static bool pump_capture(bool *reconfigure)
{
	struct v4l2_plane pl[1];
	struct v4l2_buffer b;
	bool last;

	for (;;) {
		memset(pl, 0, sizeof(pl));
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
		b.memory = V4L2_MEMORY_DMABUF;
		b.m.planes = pl;
		b.length = 1;
		if (xioctl(vfd, VIDIOC_DQBUF, &b) < 0) {
			if (errno == EAGAIN)
				return false;
			if (errno == EPIPE)	/* the LAST buffer was dequeued already */
				return true;
			die("DQBUF CAPTURE: %s", strerror(errno));
		}
		if (b.index >= n_cap)
			die("DQBUF CAPTURE gave index %u of %u", b.index, n_cap);
		cap[b.index].queued = false;
		last = b.flags & V4L2_BUF_FLAG_LAST;
		if (small_pending && b.index == 0) {
			if (!(b.flags & V4L2_BUF_FLAG_ERROR))
				die("the too-small buffer came back without ERROR (%u bytes used)",
				    pl[0].bytesused);
			say("small buffer: came back with V4L2_BUF_FLAG_ERROR");
			small_pending = false;
			dumb_free(&cap[0].d);
			dumb_for_frame(cap_size, &cap[0].d);
			if (!last)
				queue_cap(0);
			continue;
		}
		if (b.flags & V4L2_BUF_FLAG_ERROR)
			die("CAPTURE buffer %u came back with ERROR", b.index);
		if (pl[0].bytesused) {
			if (pl[0].bytesused < cap_size && cap_fourcc != V4L2_PIX_FMT_ABGR32)
				die("frame %u: %u bytes used of %u", frames, pl[0].bytesused,
				    cap_size);
			write_frame(cap[b.index].d.map);
			if ((int)b.index == mix_index)
				mix_frames++;
			if ((int)frames == opt.scanout) {
				show(&cap[b.index].d);
				cap[b.index].held = true;
			}
			frames++;
		} else if (!last) {
			die("empty CAPTURE buffer without LAST");
		}
		if (last) {
			if (*reconfigure) {
				*reconfigure = false;
				teardown_capture();
				setup_capture();
				continue;
			}
			return true;
		}
		if (!cap[b.index].held)
			queue_cap(b.index);
	}
}

static void dequeue_src(void)
{
	struct v4l2_plane pl[1];
	struct v4l2_buffer b;

	for (;;) {
		memset(pl, 0, sizeof(pl));
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
		b.memory = V4L2_MEMORY_MMAP;
		b.m.planes = pl;
		b.length = 1;
		if (xioctl(vfd, VIDIOC_DQBUF, &b) < 0) {
			if (errno == EAGAIN)
				return;
			die("DQBUF OUTPUT: %s", strerror(errno));
		}
		if (b.flags & V4L2_BUF_FLAG_ERROR)
			die("OUTPUT buffer %u came back with ERROR", b.index);
		if (b.index < n_src)
			src_busy[b.index] = false;
	}
}

static void handle_events(bool *reconfigure)
{
	struct v4l2_event ev;

	while (!xioctl(vfd, VIDIOC_DQEVENT, &ev)) {
		if (ev.type == V4L2_EVENT_SOURCE_CHANGE) {
			say("source change event (changes 0x%x)", ev.u.src_change.changes);
			if (!cap_on)
				setup_capture();
			else
				*reconfigure = true;
		}
	}
}

/* ---- the stream ---- */

static uint8_t *data;
static size_t data_len, pos;

/* Start code at @i: its length (3 or 4), else 0. */
static size_t start_code(size_t i)
{
	if (i + 3 <= data_len && !data[i] && !data[i + 1] && data[i + 2] == 1)
		return 3;
	if (i + 4 <= data_len && !data[i] && !data[i + 1] && !data[i + 2] && data[i + 3] == 1)
		return 4;
	return 0;
}

/* Next access unit [pos, end): a new one starts at a non-VCL NAL that
 * precedes pictures (AUD, SEI, SPS, PPS, 14-18) or at a slice with
 * first_mb_in_slice 0, once a picture has been seen. */
static size_t next_au(void)
{
	size_t i = pos, nal_start;
	bool vcl = false;
	unsigned int type;

	while (i < data_len) {
		size_t sc = start_code(i);

		if (!sc) {
			i++;
			continue;
		}
		nal_start = i;
		if (nal_start + sc >= data_len)
			break;
		type = data[nal_start + sc] & 0x1f;
		if (type == 1 || type == 5) {
			bool first_mb0 = nal_start + sc + 1 < data_len &&
					 (data[nal_start + sc + 1] & 0x80);

			if (vcl && first_mb0)
				return nal_start;
			vcl = true;
		} else if (vcl && (type == 6 || type == 7 || type == 8 || type == 9 ||
				   (type >= 14 && type <= 18))) {
			return nal_start;
		}
		i = nal_start + sc;
	}
	return data_len;
}

static void read_stream(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	if (!f || fstat(fileno(f), &st))
		die("open %s: %s", path, strerror(errno));
	data_len = st.st_size;
	data = malloc(data_len ? data_len : 1);
	if (!data || fread(data, 1, data_len, f) != data_len)
		die("read %s", path);
	fclose(f);
	while (pos < data_len && !start_code(pos))
		pos++;
	if (pos == data_len)
		die("%s is not an H.264 Annex B stream", path);
}

/* Every OUTPUT buffer is back from the driver. */
static bool src_idle(void)
{
	for (unsigned int i = 0; i < n_src; i++)
		if (src_busy[i])
			return false;
	return true;
}

/* Queue the next access unit into a free OUTPUT buffer; false if none is free. */
static bool queue_au(unsigned int *aus)
{
	struct v4l2_plane pl[1] = { 0 };
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, .memory = V4L2_MEMORY_MMAP,
		.m.planes = pl, .length = 1,
	};
	size_t end, len;
	unsigned int i;

	for (i = 0; i < n_src && src_busy[i]; i++)
		;
	if (i == n_src)
		return false;
	end = next_au();
	len = end - pos;
	if (len > src_len[i])
		die("access unit of %zu bytes > OUTPUT buffer of %u", len, src_len[i]);
	memcpy(src_map[i], data + pos, len);
	b.index = i;
	b.timestamp.tv_sec = *aus;
	pl[0].bytesused = len;
	pl[0].length = src_len[i];
	CHECK(vfd, VIDIOC_QBUF, &b);
	src_busy[i] = true;
	pos = end;
	(*aus)++;
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: gpu-decode [--output FILE] [--format nv12|yuv420|bgra] "
		"[--card PATH] [--alloc DRIVER] [--video PATH] [--scanout N] [--hold S] "
		"[--small] [--extra N] [--mix refuse|accept] [--stop-when-idle] STREAM.h264\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", 1, NULL, 'o' }, { "format", 1, NULL, 'f' },
		{ "card", 1, NULL, 'c' }, { "alloc", 1, NULL, 'a' },
		{ "video", 1, NULL, 'v' }, { "scanout", 1, NULL, 's' },
		{ "hold", 1, NULL, 'H' }, { "small", 0, NULL, 'S' },
		{ "extra", 1, NULL, 'e' }, { "mix", 1, NULL, 'm' },
		{ "stop-when-idle", 0, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'o': opt.output = optarg; break;
		case 'f':
			if (!strcmp(optarg, "nv12"))
				opt.fourcc = V4L2_PIX_FMT_NV12;
			else if (!strcmp(optarg, "yuv420"))
				opt.fourcc = V4L2_PIX_FMT_YUV420;
			else if (!strcmp(optarg, "bgra"))
				opt.fourcc = V4L2_PIX_FMT_ABGR32;
			else
				usage();
			break;
		case 'c': opt.card_path = optarg; break;
		case 'a': opt.alloc_drv = optarg; break;
		case 'v': opt.video_path = optarg; break;
		case 's': opt.scanout = atoi(optarg); opt.fourcc = V4L2_PIX_FMT_ABGR32; break;
		case 'H': opt.hold = atoi(optarg); break;
		case 'S': opt.small = true; break;
		case 'e': opt.extra = atoi(optarg); break;
		case 'I': opt.stop_idle = true; break;
		case 'm':
			if (!strcmp(optarg, "refuse"))
				opt.mix = MIX_REFUSE;
			else if (!strcmp(optarg, "accept"))
				opt.mix = MIX_ACCEPT;
			else
				usage();
			break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	opt.stream = argv[optind];
}

int main(int argc, char **argv)
{
	struct v4l2_decoder_cmd stop = { .cmd = V4L2_DEC_CMD_STOP };
	bool done = false, draining = false, reconfigure = false;
	unsigned int aus = 0;
	long last_progress;
	struct pollfd pfd;

	parse_args(argc, argv);
	read_stream(opt.stream);
	out = fopen(opt.output ? opt.output : "/dev/null", "wb");
	if (!out)
		die("open %s: %s", opt.output, strerror(errno));
	gpu = open_card(opt.card_path, "virtio_gpu");
	alloc_fd = opt.alloc_drv ? open_card(NULL, opt.alloc_drv) : gpu;
	if (opt.mix)
		mix_fd = open_card(NULL, "vgem");
	vfd = open_video();
	setup_output();

	last_progress = now_ms();
	while (!done) {
		unsigned int before = frames + aus;

		dequeue_src();
		while (pos < data_len && queue_au(&aus))
			;
		/* dev-decoder.rst: a drain starts only with both queues streaming. */
		if (pos >= data_len && !draining && cap_on && (!opt.stop_idle || src_idle())) {
			CHECK(vfd, VIDIOC_DECODER_CMD, &stop);
			draining = true;
			say("%u access units queued, draining", aus);
		}
		handle_events(&reconfigure);
		if (cap_on)
			done = pump_capture(&reconfigure);
		if (frames + aus != before)
			last_progress = now_ms();
		else if (now_ms() - last_progress > STALL_MS)
			die("no progress for %d s (%u access units, %u frames)", STALL_MS / 1000,
			    aus, frames);
		if (!done) {
			pfd.fd = vfd;
			pfd.events = POLLIN | POLLOUT | POLLPRI;
			poll(&pfd, 1, 50);
		}
	}
	if (small_pending)
		die("the too-small buffer never came back");
	if (mix_index >= 0) {
		if (!mix_frames)
			die("the mixed vgem buffer carried no frame");
		say("mixed buffer: %u frames decoded into the vgem buffer", mix_frames);
	}
	if (fclose(out))
		die("close output: %s", strerror(errno));
	say("frames=%u access_units=%u format=%s size=%ux%u", frames, aus,
	    fourcc_str(cap_fourcc), vis.width, vis.height);
	if (!frames)
		die("no frame decoded");
	if (opt.scanout >= 0) {
		if ((unsigned int)opt.scanout >= frames)
			die("frame %d was never decoded (%u frames)", opt.scanout, frames);
		sleep(opt.hold);
		/* Keep the DRM fd open until poweroff so that the display keeps the
		 * frame (closing it would restore the console's framebuffer). */
		if (fork() == 0) {
			close(STDIN_FILENO);
			close(STDOUT_FILENO);
			close(STDERR_FILENO);
			close(vfd);
			setsid();
			sleep(600);
			_exit(0);
		}
	}
	return 0;
}
