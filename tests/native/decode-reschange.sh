#!/usr/bin/env bash
# Mid-stream resolution changes (H.264 320x240 -> 176x144, VP9 320x240 ->
# 176x144) and odd sizes (H.264 176x100, VP9 175x99): DECODER_RESOLUTION_CHANGED
# handling, re-allocation, and cropping to the visible size.
. "$(dirname "$0")/lib.bash"
need_tools
start_daemon
decode_check h264-reschange
decode_check h264-reschange --layout per-plane --scatter
decode_check h264-reschange --format nv12 --stride-align 128
decode_check h264-reschange --chunk 2048 --no-ts-check
decode_check vp9-reschange
decode_check vp9-reschange --layout per-plane --format nv12
decode_check h264-odd
decode_check h264-odd --format nv12 --layout per-plane
decode_check vp9-odd
decode_check vp9-odd --format nv12 --scatter
# the stream end lines must count every frame
n=$(grep -c 'stream 1 end:.*frames_output=60' "$DLOG" || true)
[ "$n" -ge 4 ] || fail "expected 'frames_output=60' stream-end lines for the H.264 change clip"
stop_daemon
