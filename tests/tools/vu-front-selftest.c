// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * Unit check of vu_front/vv_dev without the daemon: a fake backend thread on
 * a unix socket checks the wire encoding of every vhost-user message the
 * front-end sends, maps guest memory from the passed fds, and answers each
 * command-queue chain (direct or indirect) with OK_NODATA.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vv_dev.h"

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "selftest: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                              \
		}                                                             \
	} while (0)

struct fake {
	int lsock, sock;
	int nreg;
	uint64_t gpa[8], size[8], uaddr[8];
	uint8_t *va[8];
	uint64_t ring_uaddr[2][3];
	unsigned int num[2];
	int kick[2], call[2];
	uint16_t last_avail[2];
	int seen[32];
	uint64_t features, proto;
};

static uint8_t *gpa_va(struct fake *fk, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < fk->nreg; i++)
		if (gpa >= fk->gpa[i] && gpa + len <= fk->gpa[i] + fk->size[i])
			return fk->va[i] + (gpa - fk->gpa[i]);
	return NULL;
}

static uint8_t *ua_va(struct fake *fk, uint64_t ua)
{
	for (int i = 0; i < fk->nreg; i++)
		if (ua >= fk->uaddr[i] && ua < fk->uaddr[i] + fk->size[i])
			return fk->va[i] + (ua - fk->uaddr[i]);
	return NULL;
}

static void reply(struct fake *fk, uint32_t req, const void *p, uint32_t len)
{
	uint32_t h[3] = { req, 0x5, len };

	CHECK(write(fk->sock, h, 12) == 12);
	if (len)
		CHECK(write(fk->sock, p, len) == len);
}

/* serve one used chain: respond OK_NODATA into the first writable buffer */
static void serve_queue(struct fake *fk, int q)
{
	struct vu_desc *desc = (void *)ua_va(fk, fk->ring_uaddr[q][0]);
	struct vu_avail *avail = (void *)ua_va(fk, fk->ring_uaddr[q][1]);
	struct vu_used *used = (void *)ua_va(fk, fk->ring_uaddr[q][2]);
	unsigned int num = fk->num[q];

again:
	while (fk->last_avail[q] != __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE)) {
		uint16_t head = avail->ring[fk->last_avail[q] % num], d = head;
		struct vu_desc *tab = desc;
		uint32_t written = 0, readable = 0;
		int guard = 0;

		fk->last_avail[q]++;
		if (desc[head].flags & VRING_F_INDIRECT) {
			tab = (void *)gpa_va(fk, desc[head].addr, desc[head].len);
			CHECK(tab && desc[head].len % 16 == 0);
			d = 0;
		}
		for (;;) {
			uint8_t *p = gpa_va(fk, tab[d].addr, tab[d].len);

			CHECK(p && guard++ < 64);
			if (tab[d].flags & VRING_F_WRITE) {
				if (q == 0 && !written && tab[d].len >= 8) {
					uint32_t ok[2] = { VIRTIO_VIDEO_RESP_OK_NODATA, 0 };

					memcpy(p, ok, 8);
					written = 8;
				} else if (q == 1 && !written) {
					uint32_t ev[2] = { VIRTIO_VIDEO_EVENT_ERROR, 99 };

					memcpy(p, ev, 8);
					written = 8;
				}
			} else {
				CHECK(!written); /* readable after writable is invalid */
				readable += tab[d].len;
			}
			if (!(tab[d].flags & VRING_F_NEXT))
				break;
			d = tab[d].next;
		}
		if (q == 1 && fk->last_avail[q] > 40)
			continue; /* keep event buffers */
		if (q == 1)
			continue;
		used->ring[used->idx % num] = (struct vu_used_elem){ head, written };
		__atomic_store_n(&used->idx, used->idx + 1, __ATOMIC_RELEASE);
		uint64_t one = 1;
		CHECK(write(fk->call[q], &one, 8) == 8);
	}
	/* EVENT_IDX: ask for a kick at the next entry, then look again */
	__atomic_store_n((uint16_t *)&used->ring[num], fk->last_avail[q], __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (fk->last_avail[q] != __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE))
		goto again;
}

static int recv_msg(struct fake *fk, uint32_t *h, uint8_t *payload, int *fds, int *nfds)
{
	char ctl[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov = { h, 12 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	ssize_t n = recvmsg(fk->sock, &mh, 0);
	struct cmsghdr *cm;

	if (n == 0)
		return 0;
	CHECK(n == 12);
	*nfds = 0;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_type == SCM_RIGHTS) {
			*nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(cm), *nfds * sizeof(int));
		}
	CHECK((h[1] & 3) == 1 && h[2] <= 4096);
	if (h[2])
		CHECK(read(fk->sock, payload, h[2]) == (ssize_t)h[2]);
	return 1;
}

static void *backend(void *arg)
{
	struct fake *fk = arg;
	uint32_t h[3];
	uint8_t p[4096];
	int fds[8], nfds;
	uint64_t v;

	fk->sock = accept(fk->lsock, NULL, NULL);
	CHECK(fk->sock >= 0);
	while (recv_msg(fk, h, p, fds, &nfds)) {
		uint32_t req = h[0];
		bool need = h[1] & VU_FLAG_NEED_REPLY;

		CHECK(req < 32);
		fk->seen[req]++;
		switch (req) {
		case VU_SET_OWNER:
			CHECK(h[2] == 0);
			break;
		case VU_GET_FEATURES:
			v = (1ull << 32) | (1ull << 28) | (1ull << 29) | (1ull << 30) | 3 | (1ull << 16);
			reply(fk, req, &v, 8);
			break;
		case VU_GET_PROTOCOL_FEATURES:
			v = (1ull << 3) | (1ull << 9) | (1ull << 0);
			reply(fk, req, &v, 8);
			break;
		case VU_SET_PROTOCOL_FEATURES:
			CHECK(h[2] == 8);
			memcpy(&fk->proto, p, 8);
			CHECK(fk->proto == ((1ull << 3) | (1ull << 9)));
			break;
		case VU_SET_FEATURES:
			CHECK(h[2] == 8);
			memcpy(&fk->features, p, 8);
			CHECK(fk->features & (1ull << 32));
			CHECK(fk->features & (1ull << 30));
			CHECK(!(fk->features & (1ull << 24)));
			break;
		case VU_GET_CONFIG: {
			uint32_t cfg[3] = { 0, 4096, 4096 };

			CHECK(h[2] == 12 + 12);
			memcpy(p + 12, cfg, 12);
			reply(fk, req, p, 24);
			break;
		}
		case VU_SET_MEM_TABLE: {
			uint32_t n;

			memcpy(&n, p, 4);
			CHECK(n >= 1 && n <= 8 && nfds == (int)n && h[2] == 8 + 32 * n);
			fk->nreg = n;
			for (uint32_t i = 0; i < n; i++) {
				uint64_t r[4];

				memcpy(r, p + 8 + 32 * i, 32);
				fk->gpa[i] = r[0];
				fk->size[i] = r[1];
				fk->uaddr[i] = r[2];
				CHECK(r[3] == 0);
				fk->va[i] = mmap(NULL, r[1], PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
				CHECK(fk->va[i] != MAP_FAILED);
				close(fds[i]);
			}
			CHECK(n < 2 || fk->gpa[1] >= fk->gpa[0] + fk->size[0]);
			break;
		}
		case VU_SET_VRING_NUM:
			CHECK(h[2] == 8);
			memcpy(&fk->num[p[0]], p + 4, 4);
			break;
		case VU_SET_VRING_BASE:
			CHECK(h[2] == 8 && p[4] == 0);
			break;
		case VU_SET_VRING_ADDR: {
			uint32_t idx;

			CHECK(h[2] == 40);
			memcpy(&idx, p, 4);
			CHECK(idx < 2);
			memcpy(&fk->ring_uaddr[idx][0], p + 8, 8);
			memcpy(&fk->ring_uaddr[idx][2], p + 16, 8);
			memcpy(&fk->ring_uaddr[idx][1], p + 24, 8);
			CHECK(ua_va(fk, fk->ring_uaddr[idx][0]) && ua_va(fk, fk->ring_uaddr[idx][1]));
			break;
		}
		case VU_SET_VRING_KICK:
		case VU_SET_VRING_CALL:
			CHECK(h[2] == 8 && nfds == 1 && p[0] < 2 && !(p[1] & 1));
			if (req == VU_SET_VRING_KICK)
				fk->kick[p[0]] = fds[0];
			else
				fk->call[p[0]] = fds[0];
			break;
		case VU_SET_VRING_ENABLE:
			CHECK(h[2] == 8 && p[4] == 1);
			break;
		case VU_GET_VRING_BASE:
			CHECK(h[2] == 8);
			memcpy(p + 4, &fk->last_avail[p[0]], 2);
			p[6] = p[7] = 0;
			reply(fk, req, p, 8);
			break;
		default:
			CHECK(!"unexpected request");
		}
		if (need) {
			v = 0;
			reply(fk, req, &v, 8);
		}
	}
	return NULL;
}

/* the fake serves rings on each message; a NOP message pumps it */
static void *pump(void *arg)
{
	struct fake *fk = arg;

	for (;;) {
		uint64_t v;

		if (fk->kick[0] > 0 && read(fk->kick[0], &v, 8) == 8)
			serve_queue(fk, 0);
		if (fk->kick[1] > 0 && read(fk->kick[1], &v, 8) == 8)
			serve_queue(fk, 1);
		usleep(200);
	}
	return NULL;
}

int main(void)
{
	static struct fake fk;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static struct vv_dev dev;
	pthread_t th, th2;
	uint32_t used;
	int pass;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/vu-selftest.%d", getpid());
	fk.lsock = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fk.lsock, (void *)&sa, sizeof(sa)) == 0 && listen(fk.lsock, 1) == 0);
	pthread_create(&th, NULL, backend, &fk);
	CHECK(vv_open(&dev, sa.sun_path, 3, 2, 64 << 20) == 0);
	unlink(sa.sun_path);
	CHECK(dev.cfg.max_caps_length == 4096 && dev.cfg.max_resp_length == 4096);
	CHECK(dev.f.event_idx && dev.f.indirect);
	CHECK(dev.f.features == (fk.features) && (fk.features & 3) == 3);
	CHECK(!(fk.features & (1ull << 16))); /* not asked for */
	pthread_create(&th2, NULL, pump, &fk);
	/* direct, indirect and split chains, more than the ring holds */
	for (pass = 0; pass < 4; pass++) {
		dev.indirect = pass & 1;
		dev.split = pass & 2;
		for (int i = 0; i < 600; i++) {
			struct virtio_video_cmd_hdr c = { VIRTIO_VIDEO_CMD_STREAM_DESTROY, i }, r;

			CHECK(vv_sync(&dev, &c, sizeof(c), &r, sizeof(r), &used) ==
			      VIRTIO_VIDEO_RESP_OK_NODATA);
			CHECK(used == 8);
		}
	}
	CHECK(fk.seen[VU_SET_MEM_TABLE] == 1 && fk.seen[VU_SET_VRING_KICK] == 2 &&
	      fk.seen[VU_SET_VRING_ENABLE] == 2 && fk.seen[VU_SET_OWNER] == 1);
	vv_close(&dev, true);
	CHECK(fk.seen[VU_GET_VRING_BASE] == 2);
	printf("vu-front selftest: ok (%llu kicks for 2400 commands)\n",
	       (unsigned long long)dev.f.vq[0].kicks);
	return 0;
}
