#!/usr/bin/env bash
# vm-run --driver (issue 6): kernel/'s sources built as another module,
# vv_alt.ko, outside the tree (kernel/build.sh --as, the same kbuild flow).
# 1. --driver vv_alt.ko --driver kernel/virtio_video.ko: both load, in that
#    order (lsmod lists the newest first), vv_alt binds the decoder (the first
#    to register wins), its /dev/video node is the only one and GStreamer
#    decodes H.264 through it bit-exactly.
# 2. The order reversed: virtio_video binds (so the check above can fail).
# 3. --driver of a missing file: vm-run refuses before booting.
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
guest_modules || skip "guest driver not built (no kernel/*.ko)"
need_streams h264.h264
alt=$VV_BUILD/vm-run-driver
"$top/kernel/build.sh" --as vv_alt --out "$alt" || fail "cannot build vv_alt.ko"
alt_ko=$alt/kernel/vv_alt.ko
[ "$(modinfo -F name "$alt_ko")" = vv_alt ] || fail "the module built is not named vv_alt"
ours=$top/kernel/virtio_video.ko

# Which module bound the decoder, which are loaded (newest first), and the
# module behind each video node (tests/guest/vv-dev.sh).
check="bash tests/guest/vv-dev.sh"

run_vm alt --driver "$alt_ko" --driver "$ours" --timeout 300 -- bash -c "
	$check
	$(guest_decode gst h264.h264)"
[ "$rc" = 0 ] || fail "run with vv_alt first failed (exit $rc)"
grep -q 'vm-run: guest: insmod' "$TMP/alt.err" && fail "a module did not load"
[ "$(run_field alt BOUND)" = vv_alt ] || fail "vv_alt first: the decoder is bound by '$(run_field alt BOUND)'"
[ "$(run_field alt LOADED)" = "virtio_video vv_alt " ] ||
	fail "vv_alt first: loaded (newest first) '$(run_field alt LOADED)', expected virtio_video vv_alt"
[ "$(grep -c '^NODE ' "$TMP/alt.out")" = 1 ] && grep -q '^NODE video[0-9]* vv_alt$' "$TMP/alt.out" ||
	fail "vv_alt first: the video node is not vv_alt's only"
check_run_decodes alt 1

run_vm ours --driver "$ours" --driver "$alt_ko" --timeout 120 -- bash tests/guest/vv-dev.sh
[ "$rc" = 0 ] || fail "run with virtio_video first failed (exit $rc)"
[ "$(run_field ours BOUND)" = virtio_video ] || fail "virtio_video first: the decoder is bound by '$(run_field ours BOUND)'"
[ "$(run_field ours LOADED)" = "vv_alt virtio_video " ] ||
	fail "virtio_video first: loaded (newest first) '$(run_field ours LOADED)', expected vv_alt virtio_video"

run_vm missing --driver "$alt/no-such.ko" -- true
[ "$rc" != 0 ] && grep -q -- '--driver: no module' "$TMP/missing.err" ||
	fail "vm-run accepted a missing --driver module"
grep -q 'accel' "$TMP/missing.err" && fail "vm-run booted with a missing --driver module"
echo ok
