// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/* vhost-user front-end for tests: see vu_front.h. */
#include "vu_front.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

static int fail(struct vu_front *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct vu_front *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
	return -1;
}

int vu_connect(struct vu_front *f, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int i;

	memset(f, 0, sizeof(*f));
	f->timeout_ms = timeout_ms;
	for (i = 0; i < VU_MAX_REGIONS; i++)
		f->reg[i].fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return fail(f, "socket path too long");
	strcpy(sa.sun_path, path);
	f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->sock < 0)
		return fail(f, "socket: %s", strerror(errno));
	if (connect(f->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fail(f, "connect %s: %s", path, strerror(errno));
		close(f->sock);
		f->sock = -1;
		return -1;
	}
	return 0;
}

void vu_close(struct vu_front *f)
{
	int i;

	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
	for (i = 0; i < f->nvq; i++) {
		struct vu_vq *vq = &f->vq[i];

		if (vq->kick_fd >= 0)
			close(vq->kick_fd);
		if (vq->call_fd >= 0)
			close(vq->call_fd);
		free(vq->token);
		free(vq->chain_len);
		free(vq->ind_gpa);
		free(vq->ind_bytes);
	}
	f->nvq = 0;
	for (i = 0; i < f->nreg; i++) {
		munmap(f->reg[i].va, f->reg[i].size);
		close(f->reg[i].fd);
		free(f->reg[i].pages);
	}
	f->nreg = 0;
}

int vu_send(struct vu_front *f, uint32_t req, uint32_t flags, const void *payload, uint32_t len,
	    const int *fds, int nfds)
{
	struct vu_hdr hdr = { .request = req, .flags = VU_FLAG_VERSION | flags, .size = len };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)payload, len } };
	char ctl[CMSG_SPACE(sizeof(int) * VU_MAX_REGIONS)];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (nfds > VU_MAX_REGIONS)
		return fail(f, "too many fds");
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(f->sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(sizeof(hdr) + len))
		return fail(f, "sendmsg request %u: %s", req, n < 0 ? strerror(errno) : "short");
	return 0;
}

static int read_full(struct vu_front *f, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = f->sock, .events = POLLIN };
		int r = poll(&pfd, 1, f->timeout_ms);
		ssize_t n;

		if (r == 0)
			return fail(f, "timeout waiting for a reply from the backend");
		if (r < 0 && errno != EINTR)
			return fail(f, "poll: %s", strerror(errno));
		if (r < 0)
			continue;
		n = read(f->sock, p, len);
		if (n == 0)
			return fail(f, "backend closed the connection");
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail(f, "read: %s", strerror(errno));
		}
		p += n;
		len -= n;
	}
	return 0;
}

int vu_recv(struct vu_front *f, uint32_t req, void *reply, uint32_t reply_len, uint32_t *got)
{
	struct vu_hdr hdr;
	uint8_t buf[VU_MAX_PAYLOAD];

	if (read_full(f, &hdr, sizeof(hdr)))
		return -1;
	if (hdr.request != req)
		return fail(f, "reply to request %u carries request %u", req, hdr.request);
	if ((hdr.flags & 0x3) != VU_FLAG_VERSION || !(hdr.flags & VU_FLAG_REPLY))
		return fail(f, "reply to request %u has flags 0x%x", req, hdr.flags);
	if (hdr.size > sizeof(buf))
		return fail(f, "reply to request %u too large (%u)", req, hdr.size);
	if (read_full(f, buf, hdr.size))
		return -1;
	if (got)
		*got = hdr.size;
	else if (hdr.size != reply_len)
		return fail(f, "reply to request %u: size %u, expected %u", req, hdr.size, reply_len);
	memcpy(reply, buf, hdr.size < reply_len ? hdr.size : reply_len);
	return 0;
}

int vu_call(struct vu_front *f, uint32_t req, const void *payload, uint32_t len, const int *fds,
	    int nfds, void *reply, uint32_t reply_len)
{
	if (vu_send(f, req, 0, payload, len, fds, nfds))
		return -1;
	return vu_recv(f, req, reply, reply_len, NULL);
}

int vu_call_ack(struct vu_front *f, uint32_t req, const void *payload, uint32_t len, const int *fds,
		int nfds)
{
	uint64_t ack;
	bool need = f->proto_features & (1ull << VU_PROTOCOL_F_REPLY_ACK);

	if (vu_send(f, req, need ? VU_FLAG_NEED_REPLY : 0, payload, len, fds, nfds))
		return -1;
	if (!need)
		return 0;
	if (vu_recv(f, req, &ack, sizeof(ack), NULL))
		return -1;
	if (ack)
		return fail(f, "backend refused request %u (ack %llu)", req, (unsigned long long)ack);
	return 0;
}

int vu_get_u64(struct vu_front *f, uint32_t req, uint64_t *val)
{
	return vu_call(f, req, NULL, 0, NULL, 0, val, sizeof(*val));
}

int vu_set_u64(struct vu_front *f, uint32_t req, uint64_t val)
{
	return vu_call_ack(f, req, &val, sizeof(val), NULL, 0);
}

int vu_negotiate(struct vu_front *f, uint64_t want_dev)
{
	uint64_t ring = (1ull << VU_F_VERSION_1) | (1ull << VU_F_INDIRECT_DESC) |
			(1ull << VU_F_EVENT_IDX) | (1ull << VU_F_PROTOCOL_FEATURES);
	uint64_t pf;

	if (vu_send(f, VU_SET_OWNER, 0, NULL, 0, NULL, 0))
		return -1;
	if (vu_get_u64(f, VU_GET_FEATURES, &f->dev_features))
		return -1;
	if (!(f->dev_features & (1ull << VU_F_VERSION_1)))
		return fail(f, "backend does not offer VERSION_1 (features 0x%llx)",
			    (unsigned long long)f->dev_features);
	if (f->dev_features & (1ull << VU_F_PROTOCOL_FEATURES)) {
		if (vu_get_u64(f, VU_GET_PROTOCOL_FEATURES, &pf))
			return -1;
		pf &= (1ull << VU_PROTOCOL_F_REPLY_ACK) | (1ull << VU_PROTOCOL_F_CONFIG);
		if (vu_set_u64(f, VU_SET_PROTOCOL_FEATURES, pf))
			return -1;
		f->proto_features = pf;
	}
	f->features = f->dev_features & (ring | want_dev);
	if (vu_set_u64(f, VU_SET_FEATURES, f->features))
		return -1;
	f->event_idx = f->features & (1ull << VU_F_EVENT_IDX);
	f->indirect = f->features & (1ull << VU_F_INDIRECT_DESC);
	return 0;
}

int vu_get_config(struct vu_front *f, void *buf, uint32_t len)
{
	uint8_t msg[12 + 256] = { 0 };
	uint32_t got;

	if (len > 256)
		return fail(f, "config too large");
	if (!(f->proto_features & (1ull << VU_PROTOCOL_F_CONFIG)))
		return fail(f, "backend lacks VHOST_USER_PROTOCOL_F_CONFIG");
	memcpy(msg + 4, &len, 4);
	if (vu_send(f, VU_GET_CONFIG, 0, msg, 12 + len, NULL, 0))
		return -1;
	if (vu_recv(f, VU_GET_CONFIG, msg, 12 + len, &got))
		return -1;
	if (got != 12 + len)
		return fail(f, "GET_CONFIG reply of %u bytes, expected %u", got, 12 + len);
	memcpy(buf, msg + 12, len);
	return 0;
}

int vu_mem_create(struct vu_front *f, int nreg, uint64_t size, uint64_t base_gpa)
{
	uint64_t gpa = base_gpa;
	int i;

	if (nreg < 1 || nreg > VU_MAX_REGIONS || size % VU_PAGE)
		return fail(f, "bad memory layout");
	for (i = 0; i < nreg; i++) {
		struct vu_region *r = &f->reg[i];

		r->fd = memfd_create("vu-guest", MFD_CLOEXEC);
		if (r->fd < 0 || ftruncate(r->fd, size) < 0)
			return fail(f, "memfd: %s", strerror(errno));
		r->va = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		if (r->va == MAP_FAILED)
			return fail(f, "mmap guest memory: %s", strerror(errno));
		r->gpa = gpa;
		r->size = size;
		r->npages = size / VU_PAGE;
		r->pages = calloc(r->npages, 1);
		if (!r->pages)
			return fail(f, "out of memory");
		f->nreg = i + 1;
		/* leave a hole between regions so that nothing spans them */
		gpa += size + 0x40000000ull;
	}
	return 0;
}

int vu_set_mem_table(struct vu_front *f)
{
	struct vu_msg_memory m = { .nregions = f->nreg };
	int fds[VU_MAX_REGIONS];
	int i;

	for (i = 0; i < f->nreg; i++) {
		m.regions[i].gpa = f->reg[i].gpa;
		m.regions[i].size = f->reg[i].size;
		m.regions[i].qva = (uintptr_t)f->reg[i].va;
		m.regions[i].mmap_offset = 0;
		fds[i] = f->reg[i].fd;
	}
	return vu_call_ack(f, VU_SET_MEM_TABLE, &m, 8 + 32 * f->nreg, fds, f->nreg);
}

uint64_t vu_alloc_in(struct vu_front *f, int region, uint64_t size)
{
	struct vu_region *r = &f->reg[region];
	uint64_t n = (size + VU_PAGE - 1) / VU_PAGE, start, i, run = 0;

	if (!n)
		n = 1;
	if (n > r->npages)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		start = pass ? 0 : r->hint;
		run = 0;
		for (i = start; i < r->npages; i++) {
			run = r->pages[i] ? 0 : run + 1;
			if (run == n) {
				uint64_t first = i + 1 - n;

				memset(r->pages + first, 1, n);
				r->hint = i + 1;
				return r->gpa + first * VU_PAGE;
			}
		}
	}
	return 0;
}

uint64_t vu_alloc(struct vu_front *f, uint64_t size)
{
	int i;

	for (i = 0; i < f->nreg; i++) {
		uint64_t g = vu_alloc_in(f, i, size);

		if (g)
			return g;
	}
	return 0;
}

void vu_free(struct vu_front *f, uint64_t gpa, uint64_t size)
{
	uint64_t n = (size + VU_PAGE - 1) / VU_PAGE;
	int i;

	if (!n)
		n = 1;
	for (i = 0; i < f->nreg; i++) {
		struct vu_region *r = &f->reg[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			uint64_t first = (gpa - r->gpa) / VU_PAGE;

			memset(r->pages + first, 0, n);
			if (first < r->hint)
				r->hint = first;
			return;
		}
	}
}

void *vu_va(struct vu_front *f, uint64_t gpa, uint64_t len)
{
	int i;

	for (i = 0; i < f->nreg; i++) {
		struct vu_region *r = &f->reg[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r->va + (gpa - r->gpa);
	}
	return NULL;
}

int vu_write(struct vu_front *f, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = vu_va(f, gpa, len);

	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

int vu_read(struct vu_front *f, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = vu_va(f, gpa, len);

	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

static int set_state(struct vu_front *f, uint32_t req, uint32_t index, uint32_t num)
{
	struct vu_msg_vring_state s = { index, num };

	return vu_call_ack(f, req, &s, sizeof(s), NULL, 0);
}

static int set_fd(struct vu_front *f, uint32_t req, uint32_t index, int fd)
{
	uint64_t v = index;

	return vu_call_ack(f, req, &v, sizeof(v), &fd, 1);
}

int vu_vq_setup(struct vu_front *f, unsigned int index, unsigned int num)
{
	struct vu_vq *vq = &f->vq[index];
	uint64_t dsz = 16ull * num, asz = 6 + 2ull * num, usz = 6 + 8ull * num;
	struct vu_msg_vring_addr a;
	unsigned int i;

	if (index >= VU_MAX_VQS || !num || num > 32768 || (num & (num - 1)))
		return fail(f, "bad vring %u size %u", index, num);
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->num = num;
	vq->kick_fd = vq->call_fd = -1;
	if ((int)index >= f->nvq)
		f->nvq = index + 1;
	vq->desc_gpa = vu_alloc(f, dsz);
	vq->avail_gpa = vu_alloc(f, asz);
	vq->used_gpa = vu_alloc(f, usz);
	if (!vq->desc_gpa || !vq->avail_gpa || !vq->used_gpa)
		return fail(f, "no guest memory for vring %u", index);
	vq->desc = vu_va(f, vq->desc_gpa, dsz);
	vq->avail = vu_va(f, vq->avail_gpa, asz);
	vq->used = vu_va(f, vq->used_gpa, usz);
	memset(vq->desc, 0, dsz);
	memset(vq->avail, 0, asz);
	memset(vq->used, 0, usz);
	vq->token = calloc(num, sizeof(*vq->token));
	vq->chain_len = calloc(num, sizeof(*vq->chain_len));
	vq->ind_gpa = calloc(num, sizeof(*vq->ind_gpa));
	vq->ind_bytes = calloc(num, sizeof(*vq->ind_bytes));
	if (!vq->token || !vq->chain_len || !vq->ind_gpa || !vq->ind_bytes)
		return fail(f, "out of memory");
	for (i = 0; i < num; i++)
		vq->desc[i].next = (i + 1) % num;
	vq->num_free = num;
	vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vq->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vq->kick_fd < 0 || vq->call_fd < 0)
		return fail(f, "eventfd: %s", strerror(errno));

	if (set_state(f, VU_SET_VRING_NUM, index, num) || set_state(f, VU_SET_VRING_BASE, index, 0))
		return -1;
	memset(&a, 0, sizeof(a));
	a.index = index;
	a.desc = (uintptr_t)vq->desc;
	a.avail = (uintptr_t)vq->avail;
	a.used = (uintptr_t)vq->used;
	if (vu_call_ack(f, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0))
		return -1;
	if (set_fd(f, VU_SET_VRING_CALL, index, vq->call_fd) ||
	    set_fd(f, VU_SET_VRING_KICK, index, vq->kick_fd))
		return -1;
	if (f->features & (1ull << VU_F_PROTOCOL_FEATURES))
		if (set_state(f, VU_SET_VRING_ENABLE, index, 1))
			return -1;
	vq->ready = true;
	return 0;
}

int vu_vq_add(struct vu_front *f, struct vu_vq *vq, const struct vu_sg *sg, int n, bool indirect,
	      void *token)
{
	uint16_t head, d, prev = 0;
	int i;

	if (n < 1)
		return fail(f, "empty chain");
	indirect = indirect && f->indirect;
	if (indirect) {
		uint32_t bytes = 16u * n;
		uint64_t g = vu_alloc(f, bytes);
		struct vu_desc *t;

		if (!vq->num_free)
			return 1;
		if (!g)
			return fail(f, "no guest memory for an indirect table");
		t = vu_va(f, g, bytes);
		for (i = 0; i < n; i++) {
			t[i].addr = sg[i].gpa;
			t[i].len = sg[i].len;
			t[i].flags = (sg[i].write ? VRING_F_WRITE : 0) | (i + 1 < n ? VRING_F_NEXT : 0);
			t[i].next = i + 1 < n ? i + 1 : 0;
		}
		head = vq->free_head;
		vq->free_head = vq->desc[head].next;
		vq->num_free--;
		vq->desc[head].addr = g;
		vq->desc[head].len = bytes;
		vq->desc[head].flags = VRING_F_INDIRECT;
		vq->chain_len[head] = 1;
		vq->ind_gpa[head] = g;
		vq->ind_bytes[head] = bytes;
	} else {
		if (vq->num_free < n)
			return 1;
		head = d = vq->free_head;
		for (i = 0; i < n; i++) {
			vq->desc[d].addr = sg[i].gpa;
			vq->desc[d].len = sg[i].len;
			vq->desc[d].flags = (sg[i].write ? VRING_F_WRITE : 0) | (i + 1 < n ? VRING_F_NEXT : 0);
			prev = d;
			d = vq->desc[d].next;
		}
		vq->free_head = d;
		vq->num_free -= n;
		(void)prev;
		vq->chain_len[head] = n;
		vq->ind_gpa[head] = 0;
	}
	vq->token[head] = token;
	vu_vq_raw_publish(f, vq, head);
	return 0;
}

void vu_vq_raw_publish(struct vu_front *f, struct vu_vq *vq, uint16_t head)
{
	(void)f;
	vq->avail->ring[vq->avail_idx % vq->num] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
}

void vu_vq_kick(struct vu_front *f, struct vu_vq *vq)
{
	uint64_t one = 1;
	bool need = true;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (f->event_idx) {
		/* vring_need_event(avail_event, new, old), old = idx at last kick */
		uint16_t ev = __atomic_load_n((uint16_t *)&vq->used->ring[vq->num], __ATOMIC_ACQUIRE);

		need = (uint16_t)(vq->avail_idx - ev - 1) < (uint16_t)(vq->avail_idx - vq->kicked_idx);
	} else {
		need = !(__atomic_load_n(&vq->used->flags, __ATOMIC_ACQUIRE) & 1);
	}
	vq->kicked_idx = vq->avail_idx;
	if (need) {
		vq->kicks++;
		if (write(vq->kick_fd, &one, sizeof(one)) < 0) {
			/* eventfd overflow cannot happen with these counts */
		}
	}
}

int vu_vq_get(struct vu_front *f, struct vu_vq *vq, void **token, uint32_t *len)
{
	uint16_t idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	struct vu_used_elem e;
	uint16_t head, d;
	unsigned int i;

	if (idx == vq->last_used) {
		/* ask for a call on the next used entry */
		if (f->event_idx)
			__atomic_store_n(&vq->avail->ring[vq->num], vq->last_used, __ATOMIC_RELEASE);
		return 0;
	}
	e = vq->used->ring[vq->last_used % vq->num];
	vq->last_used++;
	if (f->event_idx)
		__atomic_store_n(&vq->avail->ring[vq->num], vq->last_used, __ATOMIC_RELEASE);
	if (e.id >= vq->num || !vq->chain_len[e.id])
		return fail(f, "vring %u: used id %u is not a head in flight", vq->index, e.id);
	head = e.id;
	*token = vq->token[head];
	*len = e.len;
	if (vq->ind_gpa[head])
		vu_free(f, vq->ind_gpa[head], vq->ind_bytes[head]);
	/* give the chain back: walk chain_len descriptors from head */
	d = head;
	for (i = 1; i < vq->chain_len[head]; i++)
		d = vq->desc[d].next;
	vq->desc[d].next = vq->free_head;
	vq->free_head = head;
	vq->num_free += vq->chain_len[head];
	vq->chain_len[head] = 0;
	vq->ind_gpa[head] = 0;
	vq->token[head] = NULL;
	return 1;
}

int vu_wait(struct vu_front *f, int timeout_ms)
{
	struct pollfd pfd[VU_MAX_VQS + 1];
	int i, n = 0, r;

	for (i = 0; i < f->nvq; i++) {
		if (!f->vq[i].ready)
			continue;
		pfd[n].fd = f->vq[i].call_fd;
		pfd[n].events = POLLIN;
		n++;
	}
	pfd[n].fd = f->sock;
	pfd[n].events = POLLIN | POLLRDHUP;
	n++;
	do
		r = poll(pfd, n, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return fail(f, "poll: %s", strerror(errno));
	if (r == 0)
		return 0;
	for (i = 0; i < n - 1; i++) {
		uint64_t v;

		if (pfd[i].revents & POLLIN)
			if (read(pfd[i].fd, &v, sizeof(v)) == sizeof(v))
				f->vq[i].calls++;
	}
	if (pfd[n - 1].revents & (POLLHUP | POLLRDHUP | POLLERR))
		return fail(f, "backend closed the connection");
	if (pfd[n - 1].revents & POLLIN)
		return fail(f, "unexpected message from the backend");
	return 1;
}

int vu_vq_stop(struct vu_front *f, unsigned int index, uint32_t *base)
{
	struct vu_msg_vring_state s = { index, 0 };

	if (vu_call(f, VU_GET_VRING_BASE, &s, sizeof(s), NULL, 0, &s, sizeof(s)))
		return -1;
	if (s.index != index)
		return fail(f, "GET_VRING_BASE answered for ring %u, not %u", s.index, index);
	*base = s.num;
	f->vq[index].ready = false;
	return 0;
}

int vu_start(struct vu_front *f, const char *path, uint64_t want_dev, int nreg, uint64_t mem_size,
	     unsigned int nvq, unsigned int qsize)
{
	unsigned int i;

	if (vu_connect(f, path, 10000))
		return -1;
	if (vu_negotiate(f, want_dev))
		return -1;
	if (vu_mem_create(f, nreg, mem_size, 0x100000) || vu_set_mem_table(f))
		return -1;
	for (i = 0; i < nvq; i++)
		if (vu_vq_setup(f, i, qsize))
			return -1;
	return 0;
}
