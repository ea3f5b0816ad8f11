#!/usr/bin/env bash
# Guest driver: decodes through /dev/videoN with stock GStreamer (v4l2h264dec,
# v4l2h265dec, v4l2vp8dec, v4l2vp9dec; capture-io-mode mmap and dmabuf;
# dmabuf-import needs a downstream pool, see docs/kernel-driver.md) and FFmpeg (*_v4l2m2m, -fps_mode passthrough): the MD5 of the
# I420 frames must equal the host's software decode, mid-stream resolution
# changes included. One boot.
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
guest_modules || skip "guest driver not built (no kernel/*.ko)"
basic="h264.h264 hevc.hevc vp8.ivf vp9.ivf"
change="h264-reschange.h264 vp9-reschange.ivf"
odd="h264-odd.h264 vp9-odd.ivf"
# shellcheck disable=SC2086
need_streams $basic $change $odd

g=tests/guest/decode.sh
run_vm decode --timeout 900 -- bash -c "
	bash $g $streams gst $basic $change $odd
	bash $g $streams gst:dmabuf h264.h264 vp9.ivf h264-reschange.h264
	bash $g $streams ffmpeg $basic $change"
[ $rc = 0 ] || fail "guest run failed (exit $rc)"
check_decodes "" 17 "$streams" < <(grep -E '^(gst|ffmpeg)' "$TMP/decode.out")
echo ok
