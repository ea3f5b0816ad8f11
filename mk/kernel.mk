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
	+kernel/build.sh

kernel-check:
	kernel/build.sh --check-6.12
	scripts/checkpatch

# Small test programs run inside the guest (tests/vm/driver-*.sh).
# kms-keep.c is an LD_PRELOAD library, not a program.
GUEST_PRELOADS := $(BUILD)/guest/kms-keep.so
GUEST_PROGS := $(patsubst tests/guest/%.c,$(BUILD)/guest/%,\
	$(filter-out tests/guest/kms-keep.c,$(wildcard tests/guest/*.c)))
$(BUILD)/guest/%: tests/guest/%.c $(wildcard tests/guest/*.h)
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -o $@ $<
$(BUILD)/guest/%.so: tests/guest/%.c
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -shared -fPIC -o $@ $< -ldl
guest-progs: $(GUEST_PROGS) $(GUEST_PRELOADS)

ALL_TARGETS += kernel guest-progs
CHECK_DEPS += kernel-check
