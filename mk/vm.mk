# VM harness (issue 3): QEMU with our vhost-user-video front-end, the guest
# kernel and initramfs. All of it lives in the cache outside the clone
# (${XDG_CACHE_HOME:-~/.cache}/virtio-video-suite), so a clean clone reuses it.
#   make vm-image   build QEMU (cold: ~2-5 min) and prepare the guest (~10 s)
#   make demo       720p in a guest: device vs software, MD5, a PNG of the display
.PHONY: vm-image qemu demo

qemu:
	scripts/build-qemu >/dev/null

vm-image:
	scripts/vm-image >/dev/null

CHECK_DEPS += vm-image

# Like check: dependencies first, then the build, then the demo.
demo: deps
	$(MAKE) all vm-image
	scripts/demo
