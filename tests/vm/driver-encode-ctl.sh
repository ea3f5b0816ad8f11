#!/usr/bin/env bash
# Guest driver, encoder device, through tests/guest/vv-enctest.c (a plain
# V4L2 client that checks each packet's timestamp, frame-type flag, the LAST
# buffer and the EOS event itself). Two boots:
# 1. controls and streaming rules:
#    - FORCE_KEY_FRAME before frames 7, 20 and 45 of 60 (H.264, the
#      encoder's own GOP): the KEYFRAME flags and the stream's own keyframes
#      are both exactly 0,7,20,45;
#    - BITRATE 600 kbit/s, 150 kbit/s from frame 30 (set while streaming):
#      the last second under half the first;
#    - drain, ENC_CMD_START, 20 frames again: 40 packets, the second run
#      starting with a keyframe;
#    - 260 open/encode/drain/close cycles (stream IDs wrap past 255; the
#      daemon allows 64 streams, so a stream the driver leaks fails a later
#      cycle), then both modules unload; no kernel warning (vm-run: 125).
# 2. the daemon killed mid-encode: the client gets EIO (exit 3), no hang,
#    the modules unload.
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
guest_modules || skip "guest driver not built (no kernel/*.ko)"
prog=$VV_BUILD/guest/vv-enctest
[ -x "$prog" ] || skip "no $prog (make guest-progs)"
WH=320x240 N=90 FPS=30
raw=$(raw_clip $WH $N nv12)	# testsrc2, 30 fps
unload='rmmod virtio_video && rmmod v4l2_mem2mem && echo unloaded'

run_vm ctl --encoder --timeout 900 -- bash tests/guest/enctest-ctl.sh "$prog" "$raw" $WH
[ $rc = 0 ] || fail "guest run failed (exit $rc)"
run_dir=$(run_folder ctl)

keyframes() {
	ffprobe -v error -select_streams v -show_entries frame=key_frame -of compact "$1" |
		sed -n 's/^frame|key_frame=\([01]\).*/\1/p' |
		awk '$1 == 1 { printf "%s%d", n++ ? "," : "", NR - 1 } END { print "" }'
}
frames() { ffprobe -v error -count_frames -select_streams v -show_entries stream=nb_read_frames \
	-of csv=p=0 "$1"; }
field() { sed -n "s/^$1: .*\b$2=\([^ ]*\).*/\1/p" "$TMP/ctl.out"; }

# forced keyframes
flags=$(field keys keyframes) stream=$(keyframes "$run_dir/keys.h264")
[ "$flags" = 0,7,20,45 ] || fail "forced keyframes: KEYFRAME flags on $flags, not 0,7,20,45"
[ "$stream" = 0,7,20,45 ] || fail "forced keyframes: the stream's keyframes are $stream"
[ "$(frames "$run_dir/keys.h264")" = 60 ] || fail "forced keyframes: not 60 frames"
echo "ok   forced keyframes: flags $flags, stream $stream"

# bitrate set while streaming
rates=$(ffprobe -v error -select_streams v -show_entries packet=size -of csv=p=0 "$run_dir/rate.h264" |
	awk -v fps=$FPS 'NR <= 30 { a += $1 } NR > 60 { b += $1 } END { printf "%d %d", a * 8, b * 8 * fps / (NR - 60) }')
read -r first last <<<"$rates"
[ "$(field rate frames)" = $N ] || fail "bitrate change: $(field rate frames) packets, not $N"
[ "$last" -lt $((first / 2)) ] ||
	fail "bitrate 600k -> 150k at frame 30: first second $first bit/s, last $last: no drop"
echo "ok   bitrate 600k -> 150k at frame 30: first second $first bit/s, last $last"

# drain, ENC_CMD_START, encode again
[ "$(field restart frames)" = 40 ] || fail "restart: $(field restart frames) packets, not 40"
keys=,$(field restart keyframes),
[[ $keys == *,0,* && $keys == *,20,* ]] ||
	fail "restart: keyframes $keys: the second run does not start with one"
[ "$(frames "$run_dir/restart.h264")" = 40 ] || fail "restart: the stream has not 40 frames"
echo "ok   restart after the drain: 40 packets, keyframes $(field restart keyframes)"

grep -qx 'cycles: 260' "$TMP/ctl.out" || fail "cycles: not all done"
grep -qx unloaded "$TMP/ctl.out" || fail "cycles: modules did not unload"
ends=$(grep -c "stream [0-9]* end:" "$run_dir/daemon.log")
[ "$ends" -ge 263 ] || fail "cycles: the daemon saw $ends streams end, not 263"
echo "ok   260 cycles, $ends streams ended, modules unloaded"

# 2. the daemon dies mid-encode
run_vm_kill_daemon kill --encoder --timeout 300 -- bash -c "
	$prog --forever $raw $WH /dev/null
	echo client-exit=\$?
	$unload"
[ $rc = 0 ] || fail "kill: guest run failed (exit $rc)"
grep -q '^client-exit=3$' "$TMP/kill.out" || fail "kill: the client did not get EIO"
grep -qx unloaded "$TMP/kill.out" || fail "kill: modules did not unload"
echo "ok   daemon killed mid-encode: EIO, modules unloaded"
echo ok
