#!/usr/bin/env bash
# 4K through the guest driver: 3840x2160 H.264 (High, B-frames) and HEVC
# clips of 10 frames (testsrc2, generated once into the test streams) decode
# bit-exactly with GStreamer (v4l2h264dec, v4l2h265dec; mmap and dmabuf) and
# FFmpeg (*_v4l2m2m): the I420 MD5 equals the host's software decode, and the
# daemon decoded and output every frame of each stream. One boot.
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
guest_modules || skip "guest driver not built (no kernel/*.ko)"
mkdir -p "$streams"
for s in h264-4k.h264:libx264 hevc-4k.hevc:libx265; do
	f=$streams/${s%:*}
	[ -s "$f" ] && continue
	ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=3840x2160:rate=30 -frames:v 10 \
		-c:v "${s#*:}" -x265-params log-level=error -pix_fmt yuv420p -f "${f##*.}" "$f.tmp" &&
		mv "$f.tmp" "$f" || fail "cannot generate $f"
done
for s in h264-4k.h264 hevc-4k.hevc; do ref_md5 "$streams/$s" >/dev/null; done

g=tests/guest/decode.sh
run_vm decode4k --timeout 600 -- bash -c "
	bash $g $streams gst h264-4k.h264 hevc-4k.hevc
	bash $g $streams gst:dmabuf h264-4k.h264
	bash $g $streams ffmpeg h264-4k.h264 hevc-4k.hevc"
[ $rc = 0 ] || fail "guest run failed (exit $rc)"
check_decodes "" 5 "$streams" < <(grep -E '^(gst|ffmpeg)' "$TMP/decode4k.out")
ends=$(grep -c 'stream [0-9]* end: frames_decoded=10 frames_output=10 ' "$(run_folder decode4k)/daemon.log")
[ "$ends" -ge 5 ] || fail "the daemon decoded and output 10 frames in only $ends of 5 streams"
echo ok
