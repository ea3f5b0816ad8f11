#!/usr/bin/env bash
# Runs in the guest (tests/vm/driver-decode.sh): decodes test streams through
# the virtio-video decoder with GStreamer's v4l2*dec and FFmpeg's *_v4l2m2m and
# prints one "TOOL STREAM MD5" line per decode (MD5 of the I420 frames, each
# at its own size), "TOOL STREAM FAIL rc" when a decoder fails.
#   decode.sh STREAMS_DIR gst|ffmpeg[:OPTION] STREAM...
set -u
dir=$1 tool=$2
shift 2
log=${VV_OUT:-/tmp}
gst_chain() { # stream -> parser and decoder
	case $1 in
	*.h264) echo "h264parse ! v4l2h264dec" ;;
	*.hevc) echo "h265parse ! v4l2h265dec" ;;
	vp8*.ivf) echo "ivfparse ! v4l2vp8dec" ;;
	vp9*.ivf) echo "ivfparse ! v4l2vp9dec" ;;
	esac
}
ff_codec() {
	case $1 in
	*.h264) echo h264_v4l2m2m ;;
	*.hevc) echo hevc_v4l2m2m ;;
	vp8*.ivf) echo vp8_v4l2m2m ;;
	vp9*.ivf) echo vp9_v4l2m2m ;;
	esac
}
# Build the GStreamer registry once (slow under TCG) before decoding.
[ "${tool%%:*}" = gst ] && gst-inspect-1.0 v4l2h264dec >/dev/null 2>&1
for s in "$@"; do
	f=$dir/$s
	case $tool in
	gst*)
		opt=
		[ "$tool" != gst ] && opt="capture-io-mode=${tool#gst:}"
		chain=$(gst_chain "$s")
		# shellcheck disable=SC2086
		out=$(timeout -s KILL 90 gst-launch-1.0 -m filesrc location="$f" ! ${chain/dec/dec $opt} ! \
			videoconvert dither=none ! video/x-raw,format=I420 ! \
			videocodectestsink 2>&1)
		rc=$?
		echo "$out" >"$log/$tool-$s.log"
		md5=$(echo "$out" | sed -n 's/.*checksum=(string)\([0-9a-f]*\).*/\1/p' | tail -n 1)
		;;
	ffmpeg*)
		# FFmpeg 5.1's CLI keeps a reference to the last frame; on a
		# resolution change ff_v4l2_m2m_codec_reinit waits for it to go
		# and deadlocks, unless a filter copies each frame (NV12 and back
		# is lossless).
		vf=
		case $s in *reschange*) vf="-vf format=nv12" ;; esac
		# shellcheck disable=SC2086
		md5=$(timeout -s KILL 90 ffmpeg -nostdin -v error -c:v "$(ff_codec "$s")" -i "$f" \
			-fps_mode passthrough -autoscale 0 $vf -f rawvideo -pix_fmt yuv420p - \
			2>"$log/$tool-$s.log" | md5sum | cut -d' ' -f1)
		rc=${PIPESTATUS[0]}
		;;
	esac
	if [ "$rc" = 0 ] && [ -n "$md5" ]; then
		echo "$tool $s $md5"
	else
		echo "$tool $s FAIL $rc"
	fi
done
