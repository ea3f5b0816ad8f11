#!/usr/bin/env bash
# A guest that queues bitstream and never an OUTPUT buffer must not make the
# daemon hold decoded frames without bound (issue 13, finding 3): two
# copies of a 10 KB H.264 stream of 300 black 1080p frames (P-skip after
# the first) took the daemon from 19 MiB to 1.8 GiB before the fix. Each
# plugin now decodes ahead of receive() by a few pictures only (codec.h
# VV_CODEC_AGAIN; ffmpeg: 8 in both modes, also inside one buffer;
# GStreamer: appsink's 8 and appsrc's 32 buffers / 32 MiB) and the daemon
# takes 16. A second flood queues 32 inputs of 1 MiB (the stream over and
# over) 20 times each: 640 MiB of bitstream the plugin must not take in
# without bound while its decoder is stalled (GStreamer's appsrc had no
# limit). Bound checked for each: peak RSS (VmHWM) below 400 MiB (about 80
# 1080p frames over the idle daemon); then the stream is destroyed and a
# decode is bit-exact. FFmpeg runs in both modes.
. "$(dirname "$0")/lib.bash"
need_tools
FLOOD=$VV_BUILD/vv-flood
[ -x "$FLOOD" ] || skip "no $FLOOD (make client-all)"
BOUND_MIB=400
clip=$TMP/black1080.h264
ffq -f lavfi -i color=black:s=1920x1080:r=30 -frames:v 300 -c:v libx264 -preset ultrafast \
	-bf 0 -x264-params keyint=1000:min-keyint=1000 -an "$clip"
modes=("")
[ "${VV_BACKEND:-ffmpeg}" = ffmpeg ] && modes=(mode=async mode=sync)
floods=("--copies 2" "--copies 32 --size 1048576 --rounds 20")
for mode in "${modes[@]}"; do
for flood in "${floods[@]}"; do
	echo "== ${VV_BACKEND:-ffmpeg} ${mode:-default}: $flood"
	start_daemon ${mode:+--backend-opt "$mode"}
	daemon_idle
	base=$(vm_hwm_mib)
	rm -f "$TMP/hold"
	# shellcheck disable=SC2086 # $flood: options
	"$FLOOD" --socket "$SOCK" --case frames --stream "$clip" $flood --hold-file "$TMP/hold" \
		>"$TMP/flood.log" 2>&1 &
	fpid=$!
	sleep 1
	daemon_idle
	peak=$(vm_hwm_mib)
	touch "$TMP/hold"
	wait "$fpid" || { cat "$TMP/flood.log" >&2; fail "vv-flood frames failed"; }
	cat "$TMP/flood.log"
	echo "daemon peak RSS: ${base} MiB idle, ${peak} MiB under the flood (bound $BOUND_MIB MiB)"
	[ "$peak" -lt "$BOUND_MIB" ] || fail "${mode:-default} $flood: peak RSS $peak MiB >= $BOUND_MIB MiB"
	check_daemon "frame flood ${mode:-default} $flood"
	decode_check h264
	stop_daemon
done
done
echo ok
