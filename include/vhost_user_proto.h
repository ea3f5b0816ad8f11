/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * The vhost-user wire protocol (QEMU docs/interop/vhost-user.rst), as far as
 * this suite speaks it: shared by the backend server (host/vhost_user.c) and
 * the test front-end (tests/tools/vu_front.c). On the wire every message is a
 * packed 12-byte header (request, flags, size) followed by `size` bytes.
 */
#ifndef VHOST_USER_PROTO_H
#define VHOST_USER_PROTO_H

#include <stdint.h>

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_RESET_DEVICE = 34,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_REQUEST_MAX = 44,
};

#define VU_HDR_SIZE 12
#define VU_FLAG_VERSION 0x1u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
/* SET_VRING_KICK/CALL/ERR payload: ring index, and "no fd follows" */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD (1u << 8)

/* virtio transport feature bits, and vhost-user's own */
#define VU_F_NOTIFY_ON_EMPTY 24
#define VU_F_INDIRECT_DESC 28
#define VU_F_EVENT_IDX 29
#define VU_F_PROTOCOL_FEATURES 30
#define VU_F_VERSION_1 32

/* vhost-user protocol feature bits */
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_CONFIG 9
#define VU_PROTOCOL_F_SHARED_OBJECT 18

/* SET_MEM_TABLE: one fd per region, in the same order */
#define VU_MAX_REGIONS 8

struct vu_msg_region {
	uint64_t gpa;		/* guest physical address */
	uint64_t size;
	uint64_t qva;		/* the front-end's virtual address */
	uint64_t mmap_offset;	/* where the region starts in its fd */
};

struct vu_msg_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vu_msg_region regions[VU_MAX_REGIONS];
};

struct vu_msg_vring_state {
	uint32_t index;
	uint32_t num;
};

/* Ring addresses are the front-end's virtual addresses, not GPAs. */
struct vu_msg_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

/* GET_CONFIG/SET_CONFIG header; the config bytes follow */
struct vu_msg_config_hdr {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
};

_Static_assert(sizeof(struct vu_msg_memory) == 8 + 8 * 32, "vu_msg_memory size");
_Static_assert(sizeof(struct vu_msg_vring_addr) == 40, "vu_msg_vring_addr size");

#endif
