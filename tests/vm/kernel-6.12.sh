#!/usr/bin/env bash
# The guest driver on bookworm-backports' 6.12 kernel (VV_KERNEL_VERSION set
# to what `scripts/kernel-version --backports` prints, or $VV_KERNEL_612):
# kernel/build.sh builds it without a warning into kernel/build-ABI/ (with
# the companion v4l2-mem2mem.ko exactly when the kernel's .config lacks
# CONFIG_V4L2_MEM2MEM_DEV), and the 6.1 subset passes in a 6.12 guest.
# Two boots:
#   1. (--gpu) uname -r is that kernel and both modules loaded from
#      kernel/build-ABI/; v4l2-compliance (byte stream, one access unit per
#      buffer, DMABUF from vivid: "Failed: 0" each, as driver-compliance,
#      but for the one check that bookworm's v4l2-compliance fails on 6.10+
#      for any vb2 driver: accepted only if vivid fails it too, below);
#      GStreamer and FFmpeg decodes of every test stream (14 decodes, MD5 =
#      the host's software decode, as driver-decode); a zero-copy decode into
#      virtio-gpu dumb buffers imported by UUID (only virtio objects on the
#      frame queue, MD5 = the host's, as zero-copy-decode).
#   2. The daemon killed mid-stream: the client gets EIO, both modules
#      unload, no WARNING/BUG/Oops (as driver-robust).
# backends: ffmpeg (the kernel is what changes here; the plugins are covered on 6.1)
. "$(dirname "$0")/lib"
kver=${VV_KERNEL_612:-$("$top/scripts/kernel-version" --backports)} ||
	fail "no 6.12 kernel in bookworm-backports (apt-get update? scripts/install-deps)"
export VV_KERNEL_VERSION=$kver
echo "guest kernel: $kver"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"

# The driver for this kernel: any warning fails the build.
"$top/kernel/build.sh" >"$TMP/build.log" 2>&1 ||
	{ cat "$TMP/build.log"; fail "the driver does not build cleanly against $kver"; }
cat "$TMP/build.log"
moddir=$("$top/scripts/kernel-version" --module-dir)
[ "$moddir" = "$top/kernel/build-$kver" ] || fail "modules for $kver would go to $moddir, not kernel/build-$kver"
[ "$(modinfo -F vermagic "$moddir/virtio_video.ko" | cut -d' ' -f1)" = "$kver" ] ||
	fail "$moddir/virtio_video.ko is not built for $kver"
kdir=$("$top/scripts/kernel-headers" "$kver") || fail "no headers for $kver"
if grep -qE '^CONFIG_V4L2_MEM2MEM_DEV=[ym]' "$kdir/.config"; then
	[ ! -e "$moddir/v4l2-mem2mem.ko" ] || fail "$kver has v4l2-mem2mem, yet the companion was built"
	m2m=kernel
else
	[ -f "$moddir/v4l2-mem2mem.ko" ] || fail "$kver lacks v4l2-mem2mem and no companion was built"
	m2m=companion
fi
echo "v4l2-mem2mem: $m2m"

need_dectest
zc_need_prog
basic="h264.h264 hevc.hevc vp8.ivf vp9.ivf"
change="h264-reschange.h264 vp9-reschange.ivf"
odd="h264-odd.h264 vp9-odd.ivf"
# shellcheck disable=SC2086
need_streams $basic $change $odd
hdr=$VV_BUILD/guest/h264.hdr
python3 "$top/tests/guest/annexb-to-hdr.py" "$src" "$hdr" || fail "cannot frame $src"
clip=$(zc_stream 320x240 30)

# 1. compliance, decodes, zero copy
run_vm k612 --gpu --timeout 900 -- bash -c "
	echo \"uname \$(uname -r)\"
	echo \"loaded \$(grep -oE '^(virtio_video|v4l2_mem2mem) ' /proc/modules | sort | tr -d '\n')\"
	bash tests/guest/dec-compliance.sh $src $hdr
	bash tests/guest/vivid-compliance.sh
	$(guest_decode gst $basic $change $odd)
	$(guest_decode ffmpeg $basic $change)
	$(zc_decode "$clip" nv12 --format nv12)"
[ $rc = 0 ] || fail "k612: guest run failed (exit $rc)"
[ "$(run_field k612 uname)" = "$kver" ] || fail "k612: the guest runs $(run_field k612 uname), not $kver"
[ "$(run_field k612 loaded)" = "v4l2_mem2mem virtio_video " ] ||
	fail "k612: modules loaded: '$(run_field k612 loaded)'"
run_dir=$(run_folder k612)
# v4l2-compliance 1.22.1 (bookworm) predates 6.10, which took reserved[0] of
# struct v4l2_create_buffers for max_num_buffers (vb2 fills it in): on 6.12
# it fails CREATE_BUFS for every vb2 driver. That one failure is accepted,
# and only when vivid fails it the same way in the same guest.
known='check_0(crbufs.reserved, sizeof(crbufs.reserved))'
# (vivid fails more there, its controls and format names having changed.)
vivid_known=0
grep -qF "fail: v4l2-test-buffers.cpp(703): $known" "$run_dir/vivid.txt" 2>/dev/null && vivid_known=1
echo "k612: $(grep '^vivid: ' "$TMP/k612.out") (the CREATE_BUFS reserved check among them: $vivid_known)"
for f in stream-from stream-from-hdr expbuf; do
	line=$(grep "^$f: " "$TMP/k612.out")
	failed=$(echo "$line" | sed -n 's/.*Failed: \([0-9]*\),.*/\1/p')
	nknown=$(grep -cF "fail: v4l2-test-buffers.cpp(703): $known" "$run_dir/$f.txt" 2>/dev/null)
	other=$(grep 'fail:' "$run_dir/$f.txt" 2>/dev/null | grep -vF "$known")
	if [ "$failed" = 0 ]; then
		echo "ok   k612: v4l2-compliance $f: ${line#*: }"
	elif [ -z "$other" ] && [ "$failed" = "$nknown" ] && [ $vivid_known = 1 ]; then
		echo "ok   k612: v4l2-compliance $f: ${line#*: } (the CREATE_BUFS reserved check, as vivid)"
	else
		grep -E "fail:|FAIL" "$run_dir/$f.txt" 2>/dev/null | head -n 20
		fail "k612: v4l2-compliance $f: ${line:-no summary}"
	fi
done
check_run_decodes k612 14
zc_check_run k612 nv12 "$(zc_ref_i420 "$clip")"
[ "$zc_pages" = 0 ] && [ "${zc_objs:-0}" -ge 1 ] ||
	fail "k612: frame queue not all virtio objects (pages=$zc_pages objects=$zc_objs)"

# 2. the daemon dies mid-stream
run_vm_kill_daemon kill --timeout 300 -- bash -c "
	$prog --forever $src /dev/null
	echo client-exit=\$?
	rmmod virtio_video && rmmod v4l2_mem2mem && echo unloaded"
[ $rc = 0 ] || fail "kill: guest run failed (exit $rc)"
grep -q '^client-exit=3$' "$TMP/kill.out" || fail "kill: the client did not get EIO"
grep -qx unloaded "$TMP/kill.out" || fail "kill: modules did not unload"
echo ok
