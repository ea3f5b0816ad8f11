#!/usr/bin/env bash
# The ChromeOS/Android guest driver (crosvm's peer; issue 16), replayed by
# vv-client --peer without its code: streams created with virtio objects on
# both queues on a device that does not offer them, GET/SET_PARAMS_EXT at
# open, S_FMT and REQBUFS, and its reading of the drain's end (an EOS buffer
# is empty to it). Checks, on the daemon without a GPU device:
#  1. every codec and both resolution-change clips decode bit-exact (the
#     stream is accepted and SET_PARAMS_EXT gives the queues guest pages);
#  2. GET_PARAMS_EXT(OUTPUT) before the size is known answers crosvm's
#     640x480 NV12 placeholder, plain GET_PARAMS 0x0 (vv-client checks both),
#     and the first size is still announced when it is 640x480 itself
#     (vv-client creates its frame buffers only at the event);
#  3. the drain's EOS comes on an empty buffer, never on a picture: with the
#     ffmpeg plugin in mode=sync every picture of the flush is pending when
#     the drain ends, the case where the device used to flag the last one;
#  4. vv-hostile peer-create: the command rules one by one;
#  5. a plain v3 client (no EXT commands) still gets EOS on the last picture,
#     or an empty buffer: both as before;
#  6. a resolution change found after the drain was sent (VP9, whose size
#     comes with its pictures, handed out late by the async test plugin):
#     the driver's QUEUE_CLEAR(OUTPUT) acknowledges it and must not cancel
#     the drain (the ChromeOS driver never sends it again): the drain ends
#     with the new size's pictures and the EOS buffer. (A driver that sends
#     the drain again there, as our guest driver does, has it taken over:
#     tests/vm/driver-drain-drc.sh.)
. "$(dirname "$0")/lib.bash"
need_tools
[ -x "$HOSTILE" ] || skip "no $HOSTILE (make client-all)"

start_daemon -v
for s in h264 hevc vp8 vp9 h264-reschange vp9-reschange h264-odd vp9-odd; do
	decode_check "$s" --peer
done
grep -q 'stream 1: created with virtio-object memory, which the device does not offer' "$DLOG" ||
	fail "no info line for a stream created with virtio objects that are not offered"
grep -q "debug: stream 1: input queue memory virtio-object -> guest-pages\$" "$DLOG" ||
	fail "no debug line for the input queue's switch"
grep -q 'before the size: 640x480, format 3' "$TMP/client.log" ||
	fail "vv-client did not report the 640x480 placeholder"
echo "ok: $(grep 'before the size' "$TMP/client.log")"

# A stream whose size is the placeholder's: the event must still come.
clip=$TMP/vga.h264
ffq -f lavfi -i testsrc2=size=640x480:rate=30 -frames:v 8 -c:v libx264 -bf 2 -pix_fmt yuv420p \
	-f h264 "$clip"
ref=$(ffq -i "$clip" -f rawvideo -pix_fmt yuv420p - | md5sum | cut -d' ' -f1)
"$CLIENT" --socket "$SOCK" --codec h264 --input "$clip" --output "$TMP/vga.yuv" --peer \
	>"$TMP/vga.log" 2>&1 || { cat "$TMP/vga.log" >&2; fail "640x480 clip with --peer"; }
[ "$(md5sum <"$TMP/vga.yuv" | cut -d' ' -f1)" = "$ref" ] || fail "640x480 clip: MD5 differs"
grep -q 'stream 1: picture size 640x480 (was 640x480)' "$DLOG" ||
	fail "the first size of a 640x480 stream was not announced"
echo "ok: a 640x480 stream is announced although GET_PARAMS_EXT said 640x480 before"

"$HOSTILE" --socket "$SOCK" --case peer-create >"$TMP/hostile.log" 2>&1 ||
	{ cat "$TMP/hostile.log" >&2; fail "vv-hostile peer-create"; }
echo "ok: vv-hostile peer-create: $(grep -c ' -> ' "$TMP/hostile.log") answers checked"
check_daemon "peer replay"
stop_daemon

# 3 and 5 with every picture of the flush pending at its end (ffmpeg only).
if [ "${VV_BACKEND:-ffmpeg}" = ffmpeg ]; then
	log_start=$(wc -l <"$DLOG")
	start_daemon --backend-opt mode=sync
	for s in h264 hevc vp8 vp9 h264-reschange; do
		decode_check "$s" --peer
	done
	decode_check h264 --peer --in-bufs 1
	decode_check h264
	decode_check vp9
	check_daemon "mode=sync"
	stop_daemon
	echo "ok: mode=sync: the drain ends on an empty EOS buffer for the peer"
fi
# 6: the change in the last access units, found after the STOP.
PLUGDIR=$VV_BUILD/test-plugins
if [ "${VV_BACKEND:-ffmpeg}" = ffmpeg ] && [ -f "$PLUGDIR/vv-async-test.so" ]; then
	late=$STREAMS/vp9-latechange.ivf
	if [ ! -s "$late" ]; then
		ffq -f lavfi -i testsrc2=size=176x144:rate=30 -frames:v 3 -c:v libvpx-vp9 \
			-pix_fmt yuv420p -f ivf "$TMP/small.ivf"
		ivf_cat "$TMP/late.ivf" "$(stream vp9-a)" "$TMP/small.ivf"
		mv -f "$TMP/late.ivf" "$late"
	fi
	log_start=$(wc -l <"$DLOG")
	start_daemon --plugin-dir "$PLUGDIR" --backend async-test -v \
		--backend-opt "inner=$VV_BUILD/plugins/vv-ffmpeg.so" --backend-opt mode=sync \
		--backend-opt delay-ms=20
	decode_check vp9-latechange --peer
	decode_check vp9-latechange --peer --in-bufs 8
	tail -n +$((log_start + 1)) "$DLOG" >"$TMP/new.log"
	grep -q 'drain goes on across QUEUE_CLEAR(output)' "$TMP/new.log" ||
		fail "the resolution change came before the drain: the case was not tested"
	echo "ok: $(grep -c 'drain goes on across QUEUE_CLEAR(output)' "$TMP/new.log") drain(s) went on across a resolution change"
	decode_check vp9-latechange
	check_daemon "late change"
	stop_daemon
fi
echo ok
