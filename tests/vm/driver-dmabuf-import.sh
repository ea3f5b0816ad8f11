#!/usr/bin/env bash
# GStreamer capture-io-mode=dmabuf-import: v4l2h264dec decodes into dma-bufs
# that kmssink (downstream) exports from its dumb buffers, straight to the
# display. Two boots, each:
#   gst-launch-1.0 -e filesrc ! h264parse ! v4l2h264dec capture-io-mode=dmabuf-import !
#       video/x-raw,format=BGRx ! kmssink driver-name=virtio_gpu force-modesetting=true
# on a 1024x768 clip (the mode's size) of 30 frames:
#   1. --gpu (the daemon's GPU): the dumb buffers are virtio dma-bufs with
#      UUIDs, so the frame queue holds only virtio objects
#      (res_virtio_object_out>0, res_guest_pages_out=0);
#   2. --gpu=qemu (QEMU's virtio-gpu-pci, no UUIDs): the same buffers go as
#      guest pages (res_guest_pages_out>0, res_virtio_object_out=0).
# Each: exit 0, EOS, no ERROR/WARNING, the daemon decoded and output all 30
# frames, and the screenshot taken at the end shows the last frame (29): the
# host's decode in RGB as the plugin converts it (tests/ref-rgb), per channel
# mean absolute difference < 3, max < 40 (as zero-copy-scanout).
# BGRx = V4L2 XBGR32 (virtio BGRA8888). kmssink would take its framebuffers
# down at the end; tests/guest/kms-keep.c (LD_PRELOAD, with restore-crtc=false)
# keeps the last one up for the screenshot. The guest then waits 4 s: vm-run
# takes a screenshot every 2 s and one when the guest reports, which can lose
# the race with the poweroff (then an earlier one, mid-clip, would remain). PNGs: $VV_BUILD/zero-copy/dmabuf-import-*.png
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
guest_modules || skip "guest driver not built (no kernel/*.ko)"
gst-inspect-1.0 kmssink >/dev/null 2>&1 || skip "no kmssink (gstreamer1.0-plugins-bad)"
keep=$VV_BUILD/guest/kms-keep.so
src=$top/tests/guest/kms-keep.c
if [ ! -s "$keep" ] || [ "$src" -nt "$keep" ]; then
	mkdir -p "${keep%/*}"
	cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$keep" "$src" -ldl || fail "cannot build $keep"
fi
frames=30 last=29
clip=$(zc_stream 1024x768 $frames)

# compare SHOT: the screenshot against the last frame of the clip (whole mode).
compare() {
	ffmpeg -nostdin -v error -y -i "$1" -f rawvideo -pix_fmt rgb24 "$TMP/shot.rgb" || fail "cannot read $1"
	"$(dirname "$0")/../ref-rgb" "$clip" rgb24 "$last" >"$TMP/ref.rgb" ||
		fail "cannot decode frame $last of $clip"
	python3 - "$TMP/shot.rgb" "$TMP/ref.rgb" <<'PY' || fail "screenshot $1 does not show frame $last"
import sys
shot, ref = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
n = 1024 * 768
if len(shot) != n * 3 or len(ref) != n * 3:
    sys.exit(f'sizes: screenshot {len(shot)} bytes, reference {len(ref)} bytes')
mean, mx = [], []
for c in range(3):
    d = [abs(a - b) for a, b in zip(shot[c::3], ref[c::3])]
    mean.append(sum(d) / n)
    mx.append(max(d))
print(f'frame 1024x768: mean abs diff R,G,B = {mean[0]:.3f},{mean[1]:.3f},{mean[2]:.3f}; max = {mx}')
sys.exit(0 if all(m < 3 for m in mean) and all(m < 40 for m in mx) else 1)
PY
}

# play NAME GPU-OPTION: one boot; the checks common to both.
play() {
	local name=$1 shot=$zc_dir/dmabuf-import-$1.png
	rm -f "$shot"
	# gst-launch prints its position with a carriage return: its output goes
	# to a file in the run folder, of which the last lines are shown
	# (tests/guest/gst-kms.sh).
	run_vm "$name" "$2" --screenshot "$shot" --timeout 240 -- bash tests/guest/gst-kms.sh \
		--preload "$keep" --sleep 4 150 filesrc location="$clip" ! h264parse ! \
		v4l2h264dec capture-io-mode=dmabuf-import ! video/x-raw,format=BGRx ! \
		kmssink driver-name=virtio_gpu force-modesetting=true restore-crtc=false
	[ "$rc" = 0 ] || fail "$name: guest run failed (exit $rc)"
	zc_check_gst "$name"
	line=$(zc_counters "$name" 1)
	echo "$name: $line"
	[ -n "$line" ] || fail "$name: no stream counters in the daemon log"
	[ "$(zc_field "$line" frames_decoded)" = $frames ] && [ "$(zc_field "$line" frames_output)" = $frames ] ||
		fail "$name: the daemon did not decode and output all $frames frames"
	[ -s "$shot" ] || fail "$name: no screenshot"
	compare "$shot"
}

play virtio --gpu
[ "$(zc_field "$line" res_guest_pages_out)" = 0 ] && [ "$(zc_field "$line" res_virtio_object_out)" -ge 1 ] ||
	fail "virtio: frame queue not all virtio objects"
play qemu --gpu=qemu
[ "$(zc_field "$line" res_guest_pages_out)" -ge 1 ] && [ "$(zc_field "$line" res_virtio_object_out)" = 0 ] ||
	fail "qemu: frames not imported as guest pages"
echo ok
