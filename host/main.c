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

#include "codec.h"
#include "gpu_dev.h"
#include "log.h"
#include "object_table.h"
#include "video_dev.h"

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
		"  --backend NAME       codec plugin (default ffmpeg)\n"
		"  --plugin-dir DIR     where plugins live (default: plugins/ next to\n"
		"                       the executable, or $VV_PLUGIN_DIR)\n"
		"  --threads N          decoder threads (default: the plugin decides)\n"
		"  --hwaccel TYPE       hardware decoding where the host has it (auto, cuda,\n"
		"                       vaapi, vdpau...); software where it fails\n"
		"  --device decoder     device type (the encoder is not available yet)\n"
		"  --print-capabilities print the backend's capabilities as JSON\n"
		"  -v, --verbose        debug logging\n");
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
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(buf, len, "plugins");
		return;
	}
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	if (snprintf(buf, len, "%s/plugins", exe) >= (int)len)
		snprintf(buf, len, "plugins");
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
};

static void gpu_connection_end(void *gpu)
{
	vv_gpu_dev_connection_end(gpu);
}

#define MAX_ENDPOINTS 2

/*
 * Serves every endpoint until SIGTERM; an endpoint without a listening
 * socket (--fd) ends the loop when its connection ends.
 */
static void serve(struct endpoint *eps, unsigned int neps)
{
	sigset_t empty;

	sigemptyset(&empty);
	while (!terminate) {
		struct pollfd fds[MAX_ENDPOINTS * (1 + VU_MAX_QUEUES)];
		struct { unsigned int ep; int queue; } map[MAX_ENDPOINTS * (1 + VU_MAX_QUEUES)];
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
		{ "backend", required_argument, NULL, 'b' },
		{ "plugin-dir", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "hwaccel", required_argument, NULL, 'a' },
		{ "device", required_argument, NULL, 'd' },
		{ "print-capabilities", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_path = NULL, *backend = "ffmpeg", *plugin_dir = NULL;
	const char *gpu_socket_path = NULL;
	struct vv_object_table *objects = NULL;
	struct vv_gpu_dev *gpu = NULL;
	struct vv_codec_options codec_options = { 0 };
	const struct vv_codec_ops *codec;
	struct vv_video_dev *dev;
	char dir[PATH_MAX];
	int conn_fd = -1, listen_fd = -1, opt;
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
			codec_options.hwaccel = optarg;
			break;
		case 'd':
			if (strcmp(optarg, "decoder")) {
				fprintf(stderr, "vhost-user-video: device '%s' is not available (only decoder)\n",
					optarg);
				return 2;
			}
			break;
		case 'c':
			printf("{\n  \"type\": \"video\",\n  \"features\": []\n}\n");
			return 0;
		case 'v':
			vv_log_level = VV_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || (!socket_path) == (conn_fd < 0)) {
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
	/* One UUID table: the GPU assigns, the video device resolves. */
	if (gpu_socket_path) {
		objects = vv_object_table_new();
		gpu = objects ? vv_gpu_dev_new(objects) : NULL;
		if (!gpu)
			return 1;
	}
	dev = vv_video_dev_new(codec, objects);
	if (!dev)
		return 1;
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
		{ .vu = vv_video_dev_vu(dev), .listen_fd = listen_fd },
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
