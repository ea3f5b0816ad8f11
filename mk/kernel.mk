# Guest driver (issue 4): virtio_video.ko and the companion v4l2-mem2mem.ko
# (Debian's kernels lack it), built out of tree against the guest kernel's
# headers by kernel/build.sh; kernel sources, 6.12 headers and build trees
# live in ${XDG_CACHE_HOME:-~/.cache}/virtio-video-suite.
#   make kernel          build both modules into kernel/
#   make kernel-check    + compile check against 6.12, checkpatch --strict
GUEST_CC ?= cc
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE

.PHONY: kernel kernel-check guest-progs
kernel:
	kernel/build.sh

kernel-check:
	kernel/build.sh --check-6.12
	scripts/checkpatch

# Small test programs run inside the guest (tests/vm/driver-*.sh).
GUEST_PROGS := $(patsubst tests/guest/%.c,$(BUILD)/guest/%,$(wildcard tests/guest/*.c))
$(BUILD)/guest/%: tests/guest/%.c
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -o $@ $<
guest-progs: $(GUEST_PROGS)

ALL_TARGETS += kernel guest-progs
CHECK_DEPS += kernel-check
