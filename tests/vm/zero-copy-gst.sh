#!/usr/bin/env bash
# GStreamer to the display (issue 5), one boot with --gpu (the daemon's GPU):
#   gst-launch-1.0 -e filesrc ! h264parse ! v4l2h264dec capture-io-mode=dmabuf !
#       videoconvert ! kmssink driver-name=virtio_gpu force-modesetting=true
# must run to EOS with no ERROR or WARNING, and every frame the daemon decoded
# must have reached the guest (frames_output = frames_decoded = the clip's).
# videoconvert is needed: kmssink offers only BGRx (virtio_gpu's XRGB8888
# plane), and v4l2h264dec 1.22 fixes its caps while the driver lists only
# YUV420 (before the stream is known). The clip is 1024x768, the mode's size:
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
run_vm gst --gpu --timeout 240 -- bash tests/guest/gst-kms.sh 120 filesrc location="$clip" ! h264parse ! \
	v4l2h264dec capture-io-mode=dmabuf ! videoconvert ! kmssink driver-name=virtio_gpu force-modesetting=true
[ "$rc" = 0 ] || fail "guest run failed (exit $rc)"
zc_check_gst gst
line=$(zc_counters gst 1)
echo "gst: $line"
[ "$(zc_field "$line" frames_decoded)" = 30 ] && [ "$(zc_field "$line" frames_output)" = 30 ] ||
	fail "the daemon did not decode and output all 30 frames"
echo ok
