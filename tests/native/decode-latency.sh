#!/usr/bin/env bash
# backends: ffmpeg (both plugins' input=au in one pass, the latency benchmark's path)
# The low-latency decode mode behind make bench's latency section, checked
# for correctness (no timing target here): vv-client --latency keeps one
# access unit in flight through a daemon with --backend-opt input=au, and
# vv-dec-direct drives the same plugin without the daemon. Both decode a
# low-latency H.264 clip (no B-frames) bit-exact, every picture with its own
# AU's timestamp, and print frames = the clip's AUs with 0 < p50 <= p99 <=
# max. Without input=au the plugin's parser holds AU 0 until the next one
# comes, and a B-frame clip holds pictures for reordering: both fail at
# once with "gave no picture" (what proves one AU in flight). Bad uses are
# refused with a clear error. The FFmpeg plugin, then the GStreamer plugin
# (avdec_h264) when it is built.
. "$(dirname "$0")/lib.bash"
need_tools
DIRECT=$VV_BUILD/vv-dec-direct
[ -x "$DIRECT" ] || skip "no $DIRECT (make client-all)"
[ -f "$VV_BUILD/plugins/vv-ffmpeg.so" ] || skip "no $VV_BUILD/plugins/vv-ffmpeg.so"

f=$(stream h264-lowlat)
ref=$(ref_md5 "$f")
n=$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$f")
[ "$n" = 60 ] || fail "the clip has $n access units, expected 60"

# check_lat LOG PREFIX: the latency line: n frames, one in flight, 0 < p50 <= p99 <= max.
check_lat() {
	local line
	line=$(grep -E "^$2: frames=$n in_flight=1 p50=[0-9.]+ ms p99=[0-9.]+ ms max=[0-9.]+ ms" "$1") ||
		{ cat "$1"; fail "no '$2: frames=$n in_flight=1 ...' line"; }
	echo "$line" | awk '{ split($4, a, "="); split($6, b, "="); split($8, c, "=")
		exit !(a[2] > 0 && a[2] <= b[2] && b[2] <= c[2]) }' || fail "implausible latencies: $line"
	echo "ok: $line"
}

for be in ffmpeg gstreamer; do
PLUGIN=$VV_BUILD/plugins/vv-$be.so
if [ ! -f "$PLUGIN" ]; then
	echo "note: no $PLUGIN: $be plugin not checked"
	continue
fi
bopt=()
[ "$be" = gstreamer ] && bopt=(--backend-opt decoder=h264:avdec_h264)
dopt=()
[ "$be" = gstreamer ] && dopt=(--opt decoder=h264:avdec_h264)
echo "== $be plugin"
# as lib.bash does for a gstreamer pass: GLib's leaked quark block is only
# named by tests/native/lsan.supp with the slow unwinder
[ "$SAN" = 1 ] && [ "$be" = gstreamer ] && export ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0
if "$DAEMON" --socket-path "$TMP/bad.sock" --backend "$be" --backend-opt input=bogus 2>"$TMP/bad.log"; then
	fail "$be: input=bogus was accepted"
fi
grep -q "unknown option 'input=bogus'" "$TMP/bad.log" || { cat "$TMP/bad.log"; fail "$be: no clear error for input=bogus"; }

# Through the daemon; --threads 4: frame threads would hold 3 pictures.
for threads in 1 4; do
	start_daemon --backend "$be" "${bopt[@]}" --backend-opt input=au --threads "$threads"
	"$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --output "$TMP/out.yuv" --latency \
		>"$TMP/lat.log" 2>&1 || { cat "$TMP/lat.log"; fail "$be: vv-client --latency (threads $threads) failed"; }
	got=$(md5sum <"$TMP/out.yuv" | cut -d' ' -f1)
	[ "$got" = "$ref" ] || fail "vv-client --latency (threads $threads): MD5 $got, reference $ref"
	check_lat "$TMP/lat.log" latency
	# A B-frame clip holds pictures for reordering: no picture for AU 0 alone.
	if "$CLIENT" --socket "$SOCK" --codec h264 --input "$(stream h264)" --no-output --latency \
		--timeout 2000 >"$TMP/bf.log" 2>&1; then
		fail "a B-frame clip passed with one AU in flight"
	fi
	grep -q "AU 0 gave no picture" "$TMP/bf.log" || { cat "$TMP/bf.log"; fail "B-frame clip: no 'AU 0 gave no picture'"; }
	check_daemon "latency, threads $threads"
	stop_daemon

	"$DIRECT" --plugin "$PLUGIN" --codec h264 --input "$f" "${dopt[@]}" --opt input=au --threads "$threads" \
		--output "$TMP/direct.yuv" >"$TMP/direct.log" 2>&1 ||
		{ cat "$TMP/direct.log"; fail "$be: vv-dec-direct (threads $threads) failed"; }
	got=$(md5sum <"$TMP/direct.yuv" | cut -d' ' -f1)
	[ "$got" = "$ref" ] || fail "vv-dec-direct (threads $threads): MD5 $got, reference $ref"
	grep -q "md5=$ref\$" "$TMP/direct.log" || { cat "$TMP/direct.log"; fail "vv-dec-direct's md5= is not the reference"; }
	check_lat "$TMP/direct.log" direct
done

# Without input=au the byte-stream parser waits for AU 1 to end AU 0.
start_daemon --backend "$be" "${bopt[@]}"
if "$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --latency --timeout 2000 \
	>"$TMP/noau.log" 2>&1; then
	fail "one AU in flight gave its picture without input=au (the parser no longer waits?)"
fi
grep -q "AU 0 gave no picture" "$TMP/noau.log" || { cat "$TMP/noau.log"; fail "no 'AU 0 gave no picture' without input=au"; }
if "$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --latency --streams 2 \
	>"$TMP/two.log" 2>&1; then
	fail "--latency --streams 2 was accepted"
fi
grep -q -- "--latency: one stream" "$TMP/two.log" || { cat "$TMP/two.log"; fail "no clear error for --latency --streams 2"; }
check_daemon "without input=au"
stop_daemon
if "$DIRECT" --plugin "$PLUGIN" --codec h264 --input "$f" "${dopt[@]}" --wait 1000 >"$TMP/d2.log" 2>&1; then
	fail "vv-dec-direct: one AU in flight gave its picture without input=au"
fi
grep -q "AU 0: no picture" "$TMP/d2.log" || { cat "$TMP/d2.log"; fail "vv-dec-direct: no 'AU 0: no picture'"; }
if "$DIRECT" --plugin "$PLUGIN" --codec h264 --input "$(stream h264)" "${dopt[@]}" --opt input=au --wait 1000 \
	>"$TMP/d3.log" 2>&1; then
	fail "vv-dec-direct: a B-frame clip passed with one AU in flight"
fi
grep -q "AU 0: no picture" "$TMP/d3.log" || { cat "$TMP/d3.log"; fail "vv-dec-direct B-frames: no 'AU 0: no picture'"; }
done
echo "ok: decode latency mode"
