#!/usr/bin/env bash
# A stream the device cannot output (HEVC Main 10: no 10-bit raw format) gets
# an ERROR event (and ERR on its buffers), the client fails, and the daemon goes on
# serving a normal stream on the same connection's successor.
. "$(dirname "$0")/lib.bash"
need_tools
f=$TMP/main10.hevc
ffq -f lavfi -i "testsrc2=size=320x240:rate=30" -frames:v 10 -c:v libx265 \
	-x265-params log-level=error -pix_fmt yuv420p10le -f hevc "$f" ||
	skip "this ffmpeg cannot encode HEVC Main 10"
start_daemon
if "$CLIENT" --socket "$SOCK" --codec hevc --input "$f" --output "$TMP/o.yuv" >"$TMP/c.log" 2>&1; then
	fail "a 10-bit stream decoded without an error"
fi
# The client may see the ERROR event or a buffer flagged ERR first.
grep -qE "ERROR event|came back with ERR" "$TMP/c.log" ||
	{ cat "$TMP/c.log"; fail "the client did not fail on the device's error"; }
grep -q "unsupported picture format; stream failed" "$DLOG" || fail "the daemon did not log why the stream failed"
check_daemon "after the ERROR event"
decode_check hevc
stop_daemon
