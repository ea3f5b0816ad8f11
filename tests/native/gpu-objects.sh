#!/usr/bin/env bash
# The GPU device and zero-copy decode into GPU resources (issue 5, host side).
# One daemon serves the video device and, with --gpu-socket-path, a virtio-gpu
# 2D device; vv-gpu-client drives both over one guest memory:
#  - GPU command checks, hostile requests, UUID rules (v4, unique, stable on
#    repeat, forgotten on unref; unknown and freed UUIDs refused by the video
#    device with ERR_INVALID_PARAMETER), and the vhost-user-gpu display socket
#    with the client in QEMU's place (SCANOUT, UPDATE pixels in strips, cursor,
#    QEMU gone, QEMU not reading), a GPU reconnection killing the old UUIDs;
#  - 20000 random and edge-valued GPU commands: answered, never a crash;
#  - decodes whose OUTPUT buffers are all GPU resources named by UUID: the
#    frames read back from the resources' backing pages match ffmpeg's own
#    decode (NV12 -> I420 MD5, BGRA MD5 with the plugin's RGB conversion), a
#    too-small resource and a freed one come back with ERR, and the daemon's
#    counters show virtio-object outputs only.
. "$(dirname "$0")/lib.bash"
need_tools
GPU_CLIENT=$VV_BUILD/vv-gpu-client
[ -x "$GPU_CLIENT" ] || skip "no $GPU_CLIENT (make client-all)"
GSOCK=$TMP/gpu.sock
start_daemon --gpu-socket-path "$GSOCK"
for _ in $(seq 100); do [ -S "$GSOCK" ] && break; sleep 0.05; done
[ -S "$GSOCK" ] || fail "daemon did not create $GSOCK"

gpu_client() { "$GPU_CLIENT" --video-socket "$SOCK" --gpu-socket "$GSOCK" "$@"; }

gpu_client check >"$TMP/check.log" 2>&1 || { cat "$TMP/check.log" >&2; fail "vv-gpu-client check"; }
grep -c '^ok:' "$TMP/check.log" | sed 's/^/ok: GPU checks passed: /'
check_daemon "GPU checks"
gpu_client fuzz --iterations 20000 || fail "vv-gpu-client fuzz"
check_daemon "GPU fuzz"

streams_before=$(grep -c 'end: frames_decoded=' "$DLOG" || true)
decode_nv12() { # STREAM [--hostile]
	local f ref got
	f=$(stream "$1")
	ref=$(ref_md5 "$f")
	shift
	gpu_client decode --codec "$(codec_of "$f")" --input "$f" --output "$TMP/out.yuv" \
		--format nv12 "$@" >"$TMP/decode.log" 2>&1 || { cat "$TMP/decode.log" >&2; fail "decode $f $*"; }
	got=$(md5sum <"$TMP/out.yuv" | cut -d' ' -f1)
	[ "$got" = "$ref" ] || fail "$f into GPU resources (NV12) $*: MD5 $got, reference $ref"
	check_daemon "decode $f"
	echo "ok: $(basename "$f") decoded into GPU resources, NV12 -> I420 MD5 $got $*"
}
decode_nv12 h264 --hostile
decode_nv12 h264-odd
decode_nv12 h264 --scatter

# BGRA: the same conversion as the plugin's (ref_rgb: swscale bilinear +
# accurate rounding for ffmpeg, videoconvert for gstreamer) gives the
# reference bytes.
f=$(stream h264)
ref_rgb "$f" bgra >"$TMP/ref.bgra"
gpu_client decode --codec h264 --input "$f" --output "$TMP/out.bgra" --format bgra \
	>"$TMP/decode.log" 2>&1 || { cat "$TMP/decode.log" >&2; fail "decode BGRA"; }
ref=$(md5sum <"$TMP/ref.bgra" | cut -d' ' -f1)
got=$(md5sum <"$TMP/out.bgra" | cut -d' ' -f1)
[ "$got" = "$ref" ] || fail "BGRA into GPU resources: MD5 $got, reference (ref_rgb) $ref"
echo "ok: h264 decoded into GPU resources as BGRA, MD5 $got"
check_daemon "BGRA decode"

# Every decode stream wrote into virtio objects only.
for _ in $(seq 50); do
	[ "$(grep -c 'end: frames_decoded=' "$DLOG")" -ge $((streams_before + 4)) ] && break
	sleep 0.1
done
grep 'end: frames_decoded=' "$DLOG" | tail -n 4 >"$TMP/ends"
[ "$(wc -l <"$TMP/ends")" = 4 ] || fail "expected 4 stream end lines"
while read -r line; do
	case $line in
	*' res_guest_pages_out=0 '*' res_virtio_object_out=0 '*) fail "no virtio-object outputs: $line" ;;
	*' res_guest_pages_out=0 '*) ;;
	*) fail "guest-page outputs in a zero-copy stream: $line" ;;
	esac
	case $line in *' frames_output=0 '*) fail "no frames output: $line" ;; esac
done <"$TMP/ends"
echo "ok: stream counters: $(sed -n '1s/.*\(frames_output=[0-9]*\).*\(res_guest_pages_out=[0-9]*\).*\(res_virtio_object_out=[0-9]*\).*/\1 \2 \3/p' "$TMP/ends")"
grep 'gpu connection end:' "$DLOG" | tail -n 1 | sed 's/.*info: /ok: /'
stop_daemon
