// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user-video: the suite's vhost-user backend daemon.
 * Serves one front-end connection at a time on --socket-path (or the
 * connected socket --fd), survives disconnects, exits cleanly on SIGTERM.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../include/virtio_video.h"
#include "budget.h"
#include "codec.h"
#include "display_edid.h"
#include "gpu_dev.h"
#include "log.h"
#include "object_table.h"
#include "sandbox.h"
#include "video_dev.h"

/*
 * The plugin folder when neither --plugin-dir nor $VV_PLUGIN_DIR names one:
 * an installed daemon has it compiled in (make PLUGIN_DIR=...: the package's
 * multiarch folder); the build tree's daemon finds plugins/ next to itself.
 */
#ifdef VV_PLUGIN_DIR
#define VV_PLUGIN_DIR_HELP VV_PLUGIN_DIR
#else
#define VV_PLUGIN_DIR_HELP "plugins/ next to the executable"
#endif

/* make sets it from debian/changelog (mk/host.mk). */
#ifndef VV_VERSION
#define VV_VERSION "unknown"
#endif

static volatile sig_atomic_t terminate;

static void on_signal(int sig)
{
	(void)sig;
	terminate = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vhost-user-video --socket-path PATH | --fd N [options]\n"
		"  --socket-path PATH   listen for the front-end on this unix socket\n"
		"  --fd N               serve the already connected socket N, then exit\n"
		"  --gpu-socket-path PATH  also serve a virtio-gpu 2D device (for QEMU's\n"
		"                       vhost-user-gpu-pci) on PATH, whose resource UUIDs\n"
		"                       the video device accepts as virtio objects\n"
		"  --display-size WxH   the GPU's display mode, in display info and EDID\n"
		"                       (default 1024x768; 320x200 to 3840x2160, W even)\n"
		"  --backend NAME       codec plugin (default ffmpeg)\n"
		"  --plugin-dir DIR     where plugins live (default: $VV_PLUGIN_DIR, else\n"
		"                       " VV_PLUGIN_DIR_HELP ")\n"
		"  --threads N          codec threads (default: the plugin decides)\n"
		"  --backend-opt KEY=VALUE  a plugin option (repeatable); the plugin\n"
		"                       refuses keys it does not know (ffmpeg: hwaccel,\n"
		"                       device, mode=async|sync, input=stream|au;\n"
		"                       gstreamer:\n"
		"                       decoder=[CODEC:]ELEMENT, encoder=[CODEC:]ELEMENT)\n"
		"  --hwaccel TYPE       shorthand for --backend-opt hwaccel=TYPE: hardware\n"
		"                       decoding where the host has it (auto, none, cuda,\n"
		"                       vaapi, vdpau, drm); software where it fails\n"
		"  --device decoder|encoder  the device served: a decoder (virtio ID 31,\n"
		"                       default) or an encoder (virtio ID 30); the QEMU\n"
		"                       front-end must present the same ID\n"
		"  --no-params-ext      answer crosvm's GET/SET_PARAMS_EXT (0x10D/0x10E) like\n"
		"                       unknown commands (ERR_INVALID_PARAMETER): plain v3 only\n"
		"  --no-per-resource-mem  do not offer feature bit 16\n"
		"                       (PER_RESOURCE_MEM_TYPE): planes_layout bits 30/31 are\n"
		"                       refused, as on crosvm's device\n"
		"  --print-capabilities\n"
		"                       print the vhost-user backend capabilities as JSON,\n"
		"                       with the plugin and what serves each codec (loads\n"
		"                       the plugin with the other options)\n"
		"  --user NAME          when started as root, run as NAME once the sockets\n"
		"                       are open (the sockets are handed to NAME)\n"
		"  --no-sandbox         no seccomp filter and no no_new_privs (debugging;\n"
		"                       by default a system call outside the allow-list\n"
		"                       kills the daemon with its number in the log)\n"
		"  --limit NAME=VALUE   change a budget (repeatable); over one the guest\n"
		"                       gets ERR_OUT_OF_MEMORY or waits. NAME, default:\n");
	vv_limits_usage(f);
	fprintf(f, "  -v, --verbose        debug logging\n"
		"  --version            print the version and exit\n");
}

static const struct vv_codec_ops *load_plugin(const char *dir, const char *name)
{
	const struct vv_codec_ops *ops;
	char path[PATH_MAX];
	void *handle;

	if (strchr(name, '/') || strlen(name) > 64) {
		log_error("bad backend name '%s'", name);
		return NULL;
	}
	if (snprintf(path, sizeof(path), "%s/vv-%s.so", dir, name) >= (int)sizeof(path)) {
		log_error("plugin path too long");
		return NULL;
	}
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		log_error("cannot load backend %s: %s", name, dlerror());
		return NULL;
	}
	ops = dlsym(handle, VV_CODEC_PLUGIN_SYMBOL);
	if (!ops || ops->abi_version != VV_CODEC_ABI_VERSION) {
		log_error("%s is not a compatible codec plugin", path);
		dlclose(handle);
		return NULL;
	}
	return ops;
}

static void default_plugin_dir(char *buf, size_t len)
{
	const char *env = getenv("VV_PLUGIN_DIR");

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
#ifdef VV_PLUGIN_DIR
	snprintf(buf, len, "%s", VV_PLUGIN_DIR);
#else
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0) {
		snprintf(buf, len, "plugins");
		return;
	}
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	if (snprintf(buf, len, "%s/plugins", exe) >= (int)len)
		snprintf(buf, len, "plugins");
#endif
}

static const char *coded_format_name(uint32_t format)
{
	switch (format) {
	case VIRTIO_VIDEO_FORMAT_MPEG2: return "mpeg2";
	case VIRTIO_VIDEO_FORMAT_MPEG4: return "mpeg4";
	case VIRTIO_VIDEO_FORMAT_H264: return "h264";
	case VIRTIO_VIDEO_FORMAT_HEVC: return "hevc";
	case VIRTIO_VIDEO_FORMAT_VP8: return "vp8";
	case VIRTIO_VIDEO_FORMAT_VP9: return "vp9";
	default: return "unknown";
	}
}

/* The plugin's formats of the role (none if it lacks the role's ops). */
static const struct vv_codec_role_caps *role_caps(const struct vv_codec_ops *codec,
						  enum vv_video_role role,
						  struct vv_codec_caps *caps)
{
	static const struct vv_codec_role_caps none;

	memset(caps, 0, sizeof(*caps));
	codec->get_caps(caps);
	if (role == VV_ROLE_ENCODER)
		return codec->encoder ? &caps->encoder : &none;
	return codec->decoder ? &caps->decoder : &none;
}

/* The startup log: which plugin and implementation serve each coded format. */
static void log_codecs(const struct vv_codec_ops *codec, enum vv_video_role role)
{
	struct vv_codec_caps caps;
	const struct vv_codec_role_caps *c = role_caps(codec, role, &caps);

	for (unsigned int i = 0; i < c->num_coded && i < VV_CODEC_MAX_FORMATS; i++)
		log_info("%s: %s plugin, %s", coded_format_name(c->coded[i].format), codec->name,
			 c->coded[i].impl ? c->coded[i].impl : "(no details)");
}

static void json_string(const char *str)
{
	putchar('"');
	for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	}
	putchar('"');
}

/*
 * vhost-user backend capabilities (docs/interop/vhost-user.rst: "type" and
 * "features"), plus what this daemon serves: the plugin and, per coded
 * format, its implementation.
 */
static void print_capabilities(const struct vv_codec_ops *codec, enum vv_video_role role)
{
	struct vv_codec_caps caps;
	const struct vv_codec_role_caps *c = role_caps(codec, role, &caps);

	printf("{\n  \"type\": \"video\",\n  \"features\": [],\n  \"device\": \"%s\",\n"
	       "  \"backend\": ", role == VV_ROLE_ENCODER ? "encoder" : "decoder");
	json_string(codec->name);
	printf(",\n  \"codecs\": [");
	for (unsigned int i = 0; i < c->num_coded && i < VV_CODEC_MAX_FORMATS; i++) {
		printf("%s\n    { \"format\": ", i ? "," : "");
		json_string(coded_format_name(c->coded[i].format));
		printf(", \"implementation\": ");
		json_string(c->coded[i].impl ? c->coded[i].impl : "");
		printf(" }");
	}
	printf("%s]\n}\n", c->num_coded ? "\n  " : "");
	fflush(stdout);
}

static int listen_on(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error("socket path too long: %s", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	/* Replace a stale socket, never any other file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("%s exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, 1) < 0) {
		log_error("cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* One served device: its listening socket (or none with --fd). */
struct endpoint {
	struct vu_dev *vu;
	int listen_fd;
	/* Optional: called after a connection of this device ended. */
	void (*connection_end)(void *opaque);
	void *opaque;
	/* Optional: more fds to poll (asynchronous decoders), and their handler. */
	unsigned int (*poll_fds)(void *opaque, int *fds, unsigned int max);
	void (*fd_ready)(void *opaque, int fd);
};

static unsigned int video_poll_fds(void *dev, int *fds, unsigned int max)
{
	return vv_video_dev_poll_fds(dev, fds, max);
}

static void video_fd_ready(void *dev, int fd)
{
	vv_video_dev_fd_ready(dev, fd);
}

static void gpu_connection_end(void *gpu)
{
	vv_gpu_dev_connection_end(gpu);
}

#define MAX_ENDPOINTS 2
/* Decoder fds polled at most per round (one per stream: at most 256 streams). */
#define MAX_EXTRA_FDS 256
#define MAX_POLL_FDS (MAX_ENDPOINTS * (1 + VU_MAX_QUEUES) + MAX_EXTRA_FDS)

/*
 * Serves every endpoint until SIGTERM; an endpoint without a listening
 * socket (--fd) ends the loop when its connection ends.
 */
static void serve(struct endpoint *eps, unsigned int neps)
{
	sigset_t empty;

	sigemptyset(&empty);
	while (!terminate) {
		/* queue: a kick's queue; -1 the socket; -2 an extra fd */
		struct pollfd fds[MAX_POLL_FDS];
		struct { unsigned int ep; int queue; } map[MAX_POLL_FDS];
		int extra[MAX_EXTRA_FDS];
		unsigned int nextra = 0;
		nfds_t n = 0;

		for (unsigned int e = 0; e < neps; e++) {
			struct vu_dev *vu = eps[e].vu;

			if (vu->sock < 0) {
				if (eps[e].listen_fd < 0)
					return;
				map[n].ep = e;
				map[n].queue = -1;
				fds[n++] = (struct pollfd){ .fd = eps[e].listen_fd, .events = POLLIN };
				continue;
			}
			/* Kicks before messages: a message may change the rings. */
			for (unsigned int q = 0; q < vu->nqueues; q++) {
				int kick = vu_kick_fd(vu, q);

				if (kick >= 0) {
					map[n].ep = e;
					map[n].queue = (int)q;
					fds[n++] = (struct pollfd){ .fd = kick, .events = POLLIN };
				}
			}
			if (eps[e].poll_fds) {
				unsigned int k = eps[e].poll_fds(eps[e].opaque, extra + nextra,
								 MAX_EXTRA_FDS - nextra);

				for (unsigned int x = nextra; x < nextra + k; x++) {
					map[n].ep = e;
					map[n].queue = -2;
					fds[n++] = (struct pollfd){ .fd = extra[x], .events = POLLIN };
				}
				nextra += k;
			}
			map[n].ep = e;
			map[n].queue = -1;
			fds[n++] = (struct pollfd){ .fd = vu->sock, .events = POLLIN };
		}
		if (ppoll(fds, n, NULL, &empty) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return;
		}
		for (nfds_t i = 0; i < n; i++) {
			struct endpoint *ep = &eps[map[i].ep];

			if (!fds[i].revents)
				continue;
			if (map[i].queue >= 0) {
				/* Skip kicks of a connection dropped in this round. */
				if (ep->vu->sock >= 0)
					vu_handle_kick(ep->vu, (unsigned int)map[i].queue);
			} else if (map[i].queue == -2) {
				/* The device ignores an fd whose stream went this round. */
				if (ep->vu->sock >= 0)
					ep->fd_ready(ep->opaque, fds[i].fd);
			} else if (ep->vu->sock < 0) {
				int c = accept4(ep->listen_fd, NULL, NULL, SOCK_CLOEXEC);

				if (c >= 0) {
					log_info("%s: front-end connected", ep->vu->name);
					vu_attach(ep->vu, c);
				}
			} else if (fds[i].fd == ep->vu->sock && !vu_dispatch(ep->vu)) {
				vu_detach(ep->vu);
				if (ep->connection_end)
					ep->connection_end(ep->opaque);
				/* Logged once everything of the connection is released. */
				log_info("%s: front-end disconnected", ep->vu->name);
			}
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket-path", required_argument, NULL, 's' },
		{ "fd", required_argument, NULL, 'f' },
		{ "gpu-socket-path", required_argument, NULL, 'g' },
		{ "display-size", required_argument, NULL, 'D' },
		{ "backend", required_argument, NULL, 'b' },
		{ "plugin-dir", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "hwaccel", required_argument, NULL, 'a' },
		{ "backend-opt", required_argument, NULL, 'o' },
		{ "device", required_argument, NULL, 'd' },
		{ "no-params-ext", no_argument, NULL, 'x' },
		{ "no-per-resource-mem", no_argument, NULL, 'm' },
		{ "print-capabilities", no_argument, NULL, 'c' },
		{ "limit", required_argument, NULL, 'l' },
		{ "user", required_argument, NULL, 'u' },
		{ "no-sandbox", no_argument, NULL, 'N' },
		{ "sandbox-selftest", no_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *socket_path = NULL, *backend = "ffmpeg", *plugin_dir = NULL;
	const char *gpu_socket_path = NULL;
	uint32_t display_width = VV_DISPLAY_DEFAULT_WIDTH, display_height = VV_DISPLAY_DEFAULT_HEIGHT;
	struct vv_object_table *objects = NULL;
	struct vv_gpu_dev *gpu = NULL;
	struct vv_codec_options codec_options = { 0 };
	/* --backend-opt strings; --hwaccel X becomes hwaccel=X (kept to exit). */
	static const char *backend_opts[64];
	static char hwaccel_opts[8][80];
	unsigned int num_hwaccel = 0;
	bool print_caps = false, sandbox_selftest = false;
	struct vv_sandbox_opts sandbox = { .enabled = true };
	const char *owned[2];
	const struct vv_codec_ops *codec;
	struct vv_video_dev *dev;
	char dir[PATH_MAX];
	int conn_fd = -1, listen_fd = -1, opt;
	bool params_ext = true, per_res_mem = true;
	enum vv_video_role role = VV_ROLE_DECODER;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;
	char *end;

	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'f':
			conn_fd = (int)strtol(optarg, &end, 10);
			if (*end || conn_fd < 0) {
				fprintf(stderr, "vhost-user-video: bad --fd '%s'\n", optarg);
				return 2;
			}
			break;
		case 'g':
			gpu_socket_path = optarg;
			break;
		case 'D':
			if (!vv_display_size_parse(optarg, &display_width, &display_height)) {
				log_error("--display-size %s: want WxH, %ux%u to %ux%u, W even",
					  optarg, VV_DISPLAY_MIN_WIDTH, VV_DISPLAY_MIN_HEIGHT,
					  VV_DISPLAY_MAX_WIDTH, VV_DISPLAY_MAX_HEIGHT);
				return 2;
			}
			break;
		case 'b':
			backend = optarg;
			break;
		case 'p':
			plugin_dir = optarg;
			break;
		case 't':
			codec_options.threads = (int)strtol(optarg, &end, 10);
			if (*end || codec_options.threads < 0 || codec_options.threads > 64) {
				fprintf(stderr, "vhost-user-video: bad --threads '%s'\n", optarg);
				return 2;
			}
			break;
		case 'a':
		case 'o':
			if (codec_options.num_backend_opts == sizeof(backend_opts) / sizeof(backend_opts[0]) ||
			    (opt == 'a' && num_hwaccel == sizeof(hwaccel_opts) / sizeof(hwaccel_opts[0]))) {
				fprintf(stderr, "vhost-user-video: too many backend options\n");
				return 2;
			}
			if (opt == 'a') {
				if (snprintf(hwaccel_opts[num_hwaccel], sizeof(hwaccel_opts[0]),
					     "hwaccel=%s", optarg) >= (int)sizeof(hwaccel_opts[0])) {
					fprintf(stderr, "vhost-user-video: bad --hwaccel '%s'\n", optarg);
					return 2;
				}
				backend_opts[codec_options.num_backend_opts++] = hwaccel_opts[num_hwaccel++];
				codec_options.hwaccel = optarg;
				break;
			}
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fprintf(stderr, "vhost-user-video: --backend-opt wants KEY=VALUE, not '%s'\n",
					optarg);
				return 2;
			}
			backend_opts[codec_options.num_backend_opts++] = optarg;
			if (!strncmp(optarg, "hwaccel=", 8))
				codec_options.hwaccel = optarg + 8;
			break;
		case 'd':
			if (!strcmp(optarg, "decoder")) {
				role = VV_ROLE_DECODER;
			} else if (!strcmp(optarg, "encoder")) {
				role = VV_ROLE_ENCODER;
			} else {
				fprintf(stderr, "vhost-user-video: unknown device '%s' (decoder or encoder)\n",
					optarg);
				return 2;
			}
			break;
		case 'x':
			params_ext = false;
			break;
		case 'm':
			per_res_mem = false;
			break;
		case 'c':
			print_caps = true;
			break;
		case 'l':
			if (!vv_limit_set(optarg))
				return 2;
			break;
		case 'u':
			sandbox.user = optarg;
			break;
		case 'N':
			sandbox.enabled = false;
			break;
		case 'T':
			sandbox_selftest = true;
			break;
		case 'v':
			vv_log_level = VV_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vhost-user-video %s\n", VV_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	codec_options.backend_opts = backend_opts;
	codec_options.max_input_bytes = (size_t)vv_limits.input_bytes;
	if (optind < argc || (!print_caps && (!socket_path) == (conn_fd < 0))) {
		usage(stderr);
		return 2;
	}
	if (!plugin_dir) {
		default_plugin_dir(dir, sizeof(dir));
		plugin_dir = dir;
	}
	codec = load_plugin(plugin_dir, backend);
	if (!codec)
		return 1;
	if (codec->init(&codec_options) < 0) {
		log_error("backend %s failed to initialise", backend);
		return 1;
	}
	if (print_caps) {
		print_capabilities(codec, role);
		codec->fini();
		return 0;
	}
	log_codecs(codec, role);
	/* One UUID table: the GPU assigns, the video device resolves. */
	if (gpu_socket_path) {
		objects = vv_object_table_new();
		gpu = objects ? vv_gpu_dev_new(objects, display_width, display_height) : NULL;
		if (!gpu)
			return 1;
	}
	dev = vv_video_dev_new(codec, objects, role);
	if (!dev)
		return 1;
	log_info("%s device (virtio ID %u)", role == VV_ROLE_ENCODER ? "encoder" : "decoder",
		 vv_video_dev_id(dev));
	vv_video_dev_set_params_ext(dev, params_ext);
	if (!params_ext)
		log_info("GET/SET_PARAMS_EXT disabled (--no-params-ext)");
	vv_video_dev_set_per_resource_mem(dev, per_res_mem);
	if (!per_res_mem)
		log_info("PER_RESOURCE_MEM_TYPE (feature 16) not offered (--no-per-resource-mem)");
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Signals arrive only inside ppoll, so no wakeup is lost. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if (socket_path) {
		listen_fd = listen_on(socket_path);
		if (listen_fd < 0)
			return 1;
		log_info("listening on %s (backend %s)", socket_path, codec->name);
	}
	struct endpoint eps[MAX_ENDPOINTS] = {
		{ .vu = vv_video_dev_vu(dev), .listen_fd = listen_fd,
		  .poll_fds = video_poll_fds, .fd_ready = video_fd_ready, .opaque = dev },
	};
	unsigned int neps = 1;

	if (gpu) {
		eps[neps] = (struct endpoint){
			.vu = vv_gpu_dev_vu(gpu),
			.listen_fd = listen_on(gpu_socket_path),
			.connection_end = gpu_connection_end,
			.opaque = gpu,
		};
		if (eps[neps].listen_fd < 0)
			return 1;
		log_info("gpu device listening on %s", gpu_socket_path);
		neps++;
	}

	/* Everything is open and the plugin initialised: lock ourselves in. */
	owned[0] = socket_path;
	owned[1] = gpu_socket_path;
	sandbox.owned = owned;
	sandbox.nowned = 2;
	if (vv_sandbox_enter(&sandbox) < 0)
		return 1;
	if (sandbox_selftest)
		vv_sandbox_selftest();
	if (conn_fd >= 0) {
		vu_attach(eps[0].vu, conn_fd);
		log_info("serving fd %d", conn_fd);
	}
	serve(eps, neps);
	for (unsigned int e = 0; e < neps; e++) {
		bool connected = eps[e].vu->sock >= 0;

		vu_detach(eps[e].vu);
		if (connected && eps[e].connection_end)
			eps[e].connection_end(eps[e].opaque);
	}
	/* The video device drops its object references before the table goes. */
	vv_video_dev_free(dev);
	vv_gpu_dev_free(gpu);
	vv_object_table_free(objects);
	if (gpu) {
		close(eps[1].listen_fd);
		unlink(gpu_socket_path);
	}
	codec->fini();
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(socket_path);
	}
	log_info("exiting");
	return 0;
}
