#!/usr/bin/env bash
# backends: ffmpeg (its own test plugin, which wraps vv-ffmpeg.so)
# An asynchronous codec plugin (codec.h event_fd; tests/tools/vv-async-test.c
# wraps vv-ffmpeg.so and hands out pictures, drain ends and errors late, from
# a timerfd the daemon polls): bit-exact decodes, drains, resolution changes,
# seeks, streams destroyed and connections reset mid-stream, a late corrupt
# input (ERR on the next OUTPUT buffer) and a late fatal error (ERROR event).
. "$(dirname "$0")/lib.bash"
need_tools
PLUGDIR=$VV_BUILD/test-plugins
[ -f "$PLUGDIR/vv-async-test.so" ] || skip "no $PLUGDIR/vv-async-test.so (make client-all)"
# The wrapper takes the inner plugin's pictures right after decode(): the
# ffmpeg plugin in its synchronous mode (its default is asynchronous).
async_daemon() {
	start_daemon --plugin-dir "$PLUGDIR" --backend async-test \
		--backend-opt "inner=$VV_BUILD/plugins/vv-ffmpeg.so" --backend-opt mode=sync "$@"
}

async_daemon --backend-opt delay-ms=4
grep -q "h264: async-test plugin, 4 ms late: ffmpeg plugin, libavcodec h264" "$DLOG" ||
	fail "the startup log does not say what serves h264"
decode_check h264
decode_check hevc --format nv12
decode_check vp9 --layout per-plane
decode_check h264 --chunk 4096 --in-bufs 1
decode_check h264-reschange
decode_check vp9-reschange
decode_check h264 --streams 3
decode_check h264 --seek-after 10
decode_check hevc --seek-after 25 --format nv12
f=$(stream h264)
"$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --streams 3 --frames 7 ||
	fail "streams destroyed mid-way"
check_daemon "streams destroyed mid-way"
for n in 1 9 30; do
	"$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --abort-after "$n" ||
		fail "disconnect after $n frames"
	sleep 0.1
	check_daemon "reset after $n frames"
done
decode_check h264
stop_daemon

# Slower than the stream can be fed: every picture and the drain end come late.
: >"$DLOG"
async_daemon --backend-opt delay-ms=40
decode_check h264 --in-bufs 8
decode_check vp9
stop_daemon

# A corrupt input found out late: the next OUTPUT buffer comes back with ERR.
: >"$DLOG"
async_daemon --backend-opt fail-at=12
if "$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --output "$TMP/o.yuv" >"$TMP/c.log" 2>&1; then
	fail "a late decode error did not reach the guest"
fi
grep -q "output buffer .* came back with ERR (size [1-9]" "$TMP/c.log" ||
	{ cat "$TMP/c.log"; fail "no OUTPUT buffer with ERR and a picture after a late error"; }
sleep 0.2
grep -q "input_errors=1 " "$DLOG" || fail "the late error was not counted"
check_daemon "late error"
decode_check h264
stop_daemon

# A late fatal error: ERROR event, the stream fails, the next one is fine.
: >"$DLOG"
async_daemon --backend-opt unsupported-at=5
if "$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --output "$TMP/o.yuv" >"$TMP/c.log" 2>&1; then
	fail "a late fatal error did not reach the guest"
fi
grep -qE "ERROR event|came back with ERR" "$TMP/c.log" || { cat "$TMP/c.log"; fail "no ERROR event"; }
grep -q "unsupported picture format; stream failed" "$DLOG" || fail "the daemon did not log the failure"
check_daemon "late fatal error"
decode_check h264
stop_daemon

# Unknown options are refused by the wrapped plugin.
if "$DAEMON" --socket-path "$TMP/bad.sock" --plugin-dir "$PLUGDIR" --backend async-test \
	--backend-opt "inner=$VV_BUILD/plugins/vv-ffmpeg.so" --backend-opt bogus=1 2>"$TMP/bad.log"; then
	fail "an unknown backend option was accepted"
fi
grep -q "unknown option 'bogus=1'" "$TMP/bad.log" || fail "no clear error for an unknown option"
