#!/usr/bin/env bash
# GStreamer to the display (issue 5), one boot with --gpu (the daemon's GPU),
# two pipelines:
#   copy: filesrc ! h264parse ! v4l2h264dec capture-io-mode=dmabuf !
#         videoconvert ! kmssink driver-name=virtio_gpu force-modesetting=true
#   zero copy: ... v4l2h264dec capture-io-mode=dmabuf-import !
#         video/x-raw,format=BGRx ! kmssink ...  (kmssink's virtio-gpu buffers
#         imported by the decoder: the daemon writes BGRx into them by UUID)
# Each must run to EOS with no ERROR or WARNING, and every frame the daemon
# decoded must have reached the guest (frames_output = frames_decoded = the
# clip's); the zero-copy stream's frame queue holds virtio objects only
# (res_virtio_object_out > 0, res_guest_pages_out = 0), the copy stream's
# guest pages only. (The pixels of the zero-copy path on the display:
# tests/vm/demo.sh.) The caps filter is needed: kmssink offers only BGRx
# (virtio_gpu's XRGB8888 plane), and v4l2h264dec 1.22 fixes its caps while
# the driver lists only YUV420 (before the stream is known), unless told. The
# clip is 1024x768, the mode's size:
# virtio_gpu's primary plane cannot scale or position a smaller frame
# (kmssink's SetPlane fails with EINVAL). force-modesetting: kmssink sets the
# CRTC itself and waits on page flips; virtio_gpu has no drmWaitVBlank, which
# stalls kmssink's default path after a few frames.
. "$(dirname "$0")/lib"
zc_need_prog
clip=$(zc_stream 1024x768 30)
# gst-launch prints its position with a carriage return on a tty: its output
# goes to a file in the run folder, of which the last lines are shown
# (tests/guest/gst-kms.sh).
kms="kmssink driver-name=virtio_gpu force-modesetting=true"

# show NAME LABEL PAGES|OBJECTS DECODER-AND-CONVERSION...: one boot, the
# pipeline to EOS, all 30 frames decoded and output, and the stream's frame
# queue all guest pages or all virtio objects.
show() {
	local name=$1 label=$2 kind=$3 line pages objs
	shift 3
	run_vm "$name" --gpu --timeout 240 -- bash tests/guest/gst-kms.sh 120 filesrc location="$clip" ! \
		h264parse ! "$@" ! $kms
	[ "$rc" = 0 ] || fail "$label: guest run failed (exit $rc)"
	zc_check_gst "$name"
	line=$(zc_counters "$name" 1)
	echo "$label: $line"
	[ "$(zc_field "$line" frames_decoded)" = 30 ] && [ "$(zc_field "$line" frames_output)" = 30 ] ||
		fail "$label: the daemon did not decode and output all 30 frames"
	pages=$(zc_field "$line" res_guest_pages_out) objs=$(zc_field "$line" res_virtio_object_out)
	case $kind in
	pages) [ "$objs" = 0 ] && [ "$pages" -ge 1 ] ||
		fail "$label: the decoder's own dma-bufs did not go as guest pages" ;;
	objects) [ "$pages" = 0 ] && [ "$objs" -ge 1 ] ||
		fail "$label: kmssink's buffers were not imported as virtio objects (UUIDs)" ;;
	esac
}
show gst copy pages v4l2h264dec capture-io-mode=dmabuf ! videoconvert
show gstzc "zero copy" objects v4l2h264dec capture-io-mode=dmabuf-import ! video/x-raw,format=BGRx
echo ok
