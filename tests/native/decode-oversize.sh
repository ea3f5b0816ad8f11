#!/usr/bin/env bash
# A stream whose pictures are larger than the device's maximum (16x8192 H.264;
# the plugins offer 4096 at most): the daemon must not announce the size (a
# guest stride of 65536 on such a picture made a plane size that overflowed
# 32 bits) but fail the stream with an ERROR event; the daemon lives on and
# the next stream decodes bit-exactly.
. "$(dirname "$0")/lib.bash"
need_tools
ffmpeg -loglevel error -f lavfi -i color=c=red:size=16x8192 -frames:v 2 -c:v libx264 \
	-pix_fmt yuv420p -f h264 "$TMP/tall.h264" || fail "cannot make the 16x8192 stream"
start_daemon
if "$CLIENT" --socket "$SOCK" --codec h264 --input "$TMP/tall.h264" --output "$TMP/tall.yuv" \
	>"$TMP/client.log" 2>&1; then
	fail "the 16x8192 stream decoded: the size was not checked"
fi
grep -q 'ERROR event' "$TMP/client.log" || { cat "$TMP/client.log" >&2; fail "no ERROR event"; }
grep -q 'decoded picture size 16x8192 is outside' "$DLOG" || fail "no log of the refused size"
grep -q 'picture size 16x8192 (was' "$DLOG" && fail "the size was announced"
check_daemon "the oversized stream"
decode_check h264
echo ok
