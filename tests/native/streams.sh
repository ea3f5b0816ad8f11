#!/usr/bin/env bash
# Several streams on one connection: concurrently, sequentially, and streams
# destroyed mid-way (with buffers still queued).
. "$(dirname "$0")/lib.bash"
need_tools
start_daemon
decode_check h264 --streams 4
decode_check vp9 --streams 3 --layout per-plane
decode_check h264 --streams 3 --sequential --layout per-plane
f=$(stream h264)
"$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --streams 4 --frames 10 --stats ||
	fail "streams destroyed mid-way"
check_daemon "mid-way destroy"
"$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --streams 20 --sequential --frames 1 ||
	fail "20 short streams"
check_daemon "20 short streams"
# every stream that was created ended with a stream-end line
ends=$(grep -c 'end: frames_decoded=' "$DLOG" || true)
[ "$ends" -eq $((4 + 3 + 3 + 4 + 20)) ] || fail "$ends stream-end lines, expected 34"
decode_check h264
stop_daemon
