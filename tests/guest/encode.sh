#!/usr/bin/env bash
# Runs in the guest (tests/vm/driver-encode.sh): encodes one raw NV12 clip
# through the virtio-video encoder with GStreamer's v4l2*enc and FFmpeg's
# *_v4l2m2m, writing $VV_OUT/TOOL-CODEC.EXT, and prints one line per encode:
# "TOOL CODEC OK FILE" or "TOOL CODEC FAIL rc" (TOOL prefixed with
# $ENC_PREFIX, in the file names too).
#   encode.sh RAW.nv12 WxH FPS BITRATE GOP gst|ffmpeg CODEC...
set -u
raw=$1 wh=$2 fps=$3 bitrate=$4 gop=$5 tool=$6
shift 6
w=${wh%x*} h=${wh#*x}
out=${VV_OUT:-/tmp} pre=${ENC_PREFIX:-}
# Build the GStreamer registry once (slow under TCG) before encoding.
[ "$tool" = gst ] && gst-inspect-1.0 v4l2h264enc >/dev/null 2>&1
gst_chain() { # codec -> encoder, parser or muxer, file extension
	case $1 in
	h264) echo "v4l2h264enc h264parse h264" ;;
	hevc) echo "v4l2h265enc h265parse hevc" ;;
	vp8) echo "v4l2vp8enc matroskamux mkv" ;;
	vp9) echo "v4l2vp9enc matroskamux mkv" ;;
	esac
}
for c in "$@"; do
	case $tool in
	gst)
		read -r enc mux ext <<<"$(gst_chain "$c")"
		f=$out/${pre}gst-$c.$ext
		# CBR at the bitrate, a keyframe every GOP frames (the stock
		# element's extra-controls: V4L2 control names in lower case).
		# v4l2*enc's sink caps name a colorimetry, which raw files lack.
		ctrls="encode,video_bitrate=$bitrate,video_bitrate_mode=1,video_gop_size=$gop"
		timeout -s KILL 120 gst-launch-1.0 -q filesrc location="$raw" ! \
			rawvideoparse width="$w" height="$h" format=nv12 framerate="$fps/1" \
			colorimetry=bt709 ! \
			"$enc" extra-controls="$ctrls" ! "$mux" ! filesink location="$f" \
			>"$out/${pre}gst-$c.log" 2>&1
		rc=$?
		;;
	ffmpeg)
		case $c in h264) ext=h264 ;; hevc) ext=hevc ;; *) ext=ivf ;; esac
		f=$out/${pre}ffmpeg-$c.$ext
		# What an FFmpeg user passes: -b:v and -g (FFmpeg 5.1 sets VBR).
		timeout -s KILL 120 ffmpeg -nostdin -v error -f rawvideo -pix_fmt nv12 -s "$wh" \
			-r "$fps" -i "$raw" -c:v "${c}_v4l2m2m" -b:v "$bitrate" -g "$gop" \
			-y "$f" >"$out/${pre}ffmpeg-$c.log" 2>&1
		rc=$?
		;;
	esac
	if [ "$rc" = 0 ] && [ -s "$f" ]; then
		echo "$pre$tool $c OK $f"
	else
		echo "$pre$tool $c FAIL $rc"
		tail -n 5 "$out/$pre$tool-$c.log"
	fi
done
