/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * A small vhost-user front-end for tests: it plays the part of QEMU (the
 * vhost-user master) and of a guest's virtqueue driver in one process.
 *
 * Guest memory is one or more memfd regions mapped here and handed to the
 * backend with SET_MEM_TABLE; guest physical addresses (GPAs) are offsets
 * from a base chosen at creation. Vrings are split rings living in that
 * memory. Besides the well-behaved path (vu_vq_add/vu_vq_get), the ring
 * structures are public so that hostile tests can write anything into them.
 */
#ifndef VU_FRONT_H
#define VU_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../include/vhost_user_proto.h"

#define VU_MAX_VQS 8
#define VU_MAX_PAYLOAD 4096
#define VU_PAGE 4096u

/* Split virtqueue layout (virtio 1.x, little endian on x86) */
#define VRING_F_NEXT 1
#define VRING_F_WRITE 2
#define VRING_F_INDIRECT 4

struct vu_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vu_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* num entries, then used_event */
};

struct vu_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vu_used {
	uint16_t flags;
	uint16_t idx;
	struct vu_used_elem ring[]; /* num entries, then avail_event */
};

struct vu_region {
	int fd;
	uint64_t gpa;
	uint64_t size;
	uint8_t *va;
	uint8_t *pages; /* allocation map, one byte per page */
	uint64_t npages;
	uint64_t hint; /* next page to try */
};

struct vu_vq {
	unsigned int index;
	unsigned int num;
	bool ready;
	struct vu_desc *desc;
	struct vu_avail *avail;
	struct vu_used *used;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	int kick_fd, call_fd;
	uint16_t avail_idx; /* next avail idx to publish */
	uint16_t last_used; /* next used idx to consume */
	uint16_t kicked_idx; /* avail idx at the last kick */
	uint16_t free_head, num_free;
	void **token;		 /* per head */
	uint16_t *chain_len;	 /* descriptors of the chain at head */
	uint64_t *ind_gpa;	 /* indirect table of the chain at head, or 0 */
	uint32_t *ind_bytes;
	uint64_t kicks, calls;
};

struct vu_front {
	int sock;
	int timeout_ms;
	uint64_t dev_features;	/* offered by the backend */
	uint64_t features;	/* acked */
	uint64_t proto_features; /* acked */
	int nreg;
	struct vu_region reg[VU_MAX_REGIONS];
	int nvq;
	struct vu_vq vq[VU_MAX_VQS];
	bool event_idx, indirect;
	char err[256];
};

/* One element of a descriptor chain to submit. */
struct vu_sg {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

int vu_connect(struct vu_front *f, const char *path, int timeout_ms);
void vu_close(struct vu_front *f);

/*
 * Sends one message (payload and optional fds). With need_reply or for a
 * request that has a reply, reads the reply into reply (reply_len bytes
 * expected, the actual size stored in *got if got != NULL). Returns 0, or
 * -1 with f->err set.
 */
int vu_send(struct vu_front *f, uint32_t req, uint32_t flags, const void *payload, uint32_t len,
	    const int *fds, int nfds);
int vu_recv(struct vu_front *f, uint32_t req, void *reply, uint32_t reply_len, uint32_t *got);
int vu_call(struct vu_front *f, uint32_t req, const void *payload, uint32_t len, const int *fds,
	    int nfds, void *reply, uint32_t reply_len);
/* A request without a natural reply: asks for REPLY_ACK when negotiated. */
int vu_call_ack(struct vu_front *f, uint32_t req, const void *payload, uint32_t len, const int *fds,
		int nfds);
int vu_get_u64(struct vu_front *f, uint32_t req, uint64_t *val);
int vu_set_u64(struct vu_front *f, uint32_t req, uint64_t val);

/*
 * SET_OWNER, feature negotiation (ring bits we support & device bits in
 * want_dev), protocol features (REPLY_ACK, CONFIG).
 */
int vu_negotiate(struct vu_front *f, uint64_t want_dev);
int vu_get_config(struct vu_front *f, void *buf, uint32_t len);

/* Guest memory: nreg regions of size bytes each, the first at base_gpa. */
int vu_mem_create(struct vu_front *f, int nreg, uint64_t size, uint64_t base_gpa);
int vu_set_mem_table(struct vu_front *f);
/* Page-granular allocator; returns 0 when nothing fits. */
uint64_t vu_alloc(struct vu_front *f, uint64_t size);
uint64_t vu_alloc_in(struct vu_front *f, int region, uint64_t size);
void vu_free(struct vu_front *f, uint64_t gpa, uint64_t size);
void *vu_va(struct vu_front *f, uint64_t gpa, uint64_t len);
/* Copy to/from guest memory (returns -1 if out of range). */
int vu_write(struct vu_front *f, uint64_t gpa, const void *src, uint64_t len);
int vu_read(struct vu_front *f, uint64_t gpa, void *dst, uint64_t len);

/* Creates the rings in guest memory and sends the vring messages. */
int vu_vq_setup(struct vu_front *f, unsigned int index, unsigned int num);
/* Adds a chain (indirect if asked and negotiated); does not kick. */
int vu_vq_add(struct vu_front *f, struct vu_vq *vq, const struct vu_sg *sg, int n, bool indirect,
	      void *token);
void vu_vq_kick(struct vu_front *f, struct vu_vq *vq);
/* Pops one used entry; returns 1 with token/len, 0 if none. */
int vu_vq_get(struct vu_front *f, struct vu_vq *vq, void **token, uint32_t *len);
/*
 * Waits until a call eventfd of any ring fires or timeout_ms passes:
 * returns 1, 0 on timeout, -1 on error (e.g. backend socket hung up).
 */
int vu_wait(struct vu_front *f, int timeout_ms);
/* GET_VRING_BASE: stops the ring, returns its last avail index. */
int vu_vq_stop(struct vu_front *f, unsigned int index, uint32_t *base);

/* Raw access for hostile tests: publish head as the next avail entry. */
void vu_vq_raw_publish(struct vu_front *f, struct vu_vq *vq, uint16_t head);

/* Everything a test needs in one call: connect, negotiate, memory, rings. */
int vu_start(struct vu_front *f, const char *path, uint64_t want_dev, int nreg, uint64_t mem_size,
	     unsigned int nvq, unsigned int qsize);

#endif /* VU_FRONT_H */
