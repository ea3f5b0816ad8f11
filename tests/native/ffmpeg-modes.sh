#!/usr/bin/env bash
# backends: ffmpeg (the ffmpeg plugin's decode modes)
# The ffmpeg plugin decodes asynchronously by default (a worker thread per
# decoder, codec.h event_fd) and synchronously with --backend-opt mode=sync;
# an unknown mode is refused at start. Async: bit-exact decodes with several
# streams, seeks, chunked input, resolution changes, streams destroyed and
# connections dropped mid-stream; a corrupt input is reported late (ERR on
# an OUTPUT buffer with a picture, docs/protocol.md "Errors"); and the
# decoders of concurrent streams on a daemon with --threads 1 decode at the
# same time: the plugin counts how many of its workers were inside a
# bitstream buffer at once and logs the maximum at exit (a count, not a
# timing). Sync: bit-exact, and a corrupt input gets ERR on its own buffer.
. "$(dirname "$0")/lib.bash"
need_tools
if "$DAEMON" --socket-path "$TMP/bad.sock" --backend ffmpeg --backend-opt mode=bogus 2>"$TMP/bad.log"; then
	fail "mode=bogus was accepted"
fi
grep -q "unknown option 'mode=bogus'" "$TMP/bad.log" || { cat "$TMP/bad.log"; fail "no clear error for mode=bogus"; }

# A copy of the H.264 test stream with two damaged slices.
f=$(stream h264)
python3 - "$f" "$TMP/bad.h264" <<'PY'
import random, sys
d = bytearray(open(sys.argv[1], 'rb').read())
r = random.Random(7)
nals = [i for i in range(len(d) - 4) if d[i:i + 3] == b'\0\0\1']
for k in (20, 35):
    for j in range(40):
        d[nals[k] + 8 + j] = r.randrange(256)
open(sys.argv[2], 'wb').write(d)
PY
corrupt() { # grep pattern for the client's log
	if "$CLIENT" --socket "$SOCK" --codec h264 --input "$TMP/bad.h264" --output "$TMP/o.yuv" \
		>"$TMP/c.log" 2>&1; then
		fail "a corrupt input decoded without ERR"
	fi
	grep -q "$1" "$TMP/c.log" || { cat "$TMP/c.log"; fail "no '$1' for a corrupt input"; }
	sleep 0.2
	grep -q "input_errors=[1-9]" "$DLOG" || fail "the corrupt input was not counted"
	check_daemon "corrupt input"
}

start_daemon --threads 1
decode_check h264 --streams 4
decode_check vp9 --streams 3 --layout per-plane
decode_check hevc --streams 2 --format nv12
decode_check h264 --seek-after 10
decode_check hevc --seek-after 25 --format nv12
decode_check h264 --chunk 1000 --in-bufs 1
decode_check h264-reschange
decode_check vp9-reschange
"$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --streams 4 --frames 7 ||
	fail "streams destroyed mid-way"
check_daemon "streams destroyed mid-way"
for n in 1 9 30; do
	"$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --streams 2 --abort-after "$n" ||
		fail "disconnect after $n frames"
	sleep 0.1
	check_daemon "disconnect after $n frames"
done
corrupt "output buffer .* came back with ERR (size [1-9]"
decode_check h264
stop_daemon
n=$(sed -n 's/.*asynchronous decoding: .* at most \([0-9]*\) decoding at once.*/\1/p' "$DLOG")
[ -n "$n" ] || fail "the plugin did not log its asynchronous decoding"
[ "$n" -ge 2 ] || fail "concurrent streams never decoded at the same time (at most $n at once)"
echo "async: at most $n decoders decoding at once"

: >"$DLOG"
start_daemon --threads 1 --backend-opt mode=sync
decode_check h264 --streams 2
decode_check hevc --seek-after 25 --format nv12
decode_check vp9-reschange
corrupt "input buffer .* came back with ERR"
stop_daemon
if grep -q "asynchronous decoding" "$DLOG"; then
	fail "mode=sync decoded asynchronously"
fi
