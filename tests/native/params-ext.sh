#!/usr/bin/env bash
# crosvm's GET/SET_PARAMS_EXT dialect (issue 6, host side):
#  - decodes bit-exact with the EXT commands, including the ChromeOS driver's
#    flow (streams created with virtio objects on both queues, each queue
#    switched to guest pages before its resources are created, again after a
#    resolution change), the per-resource bit 30 over a virtio-object queue,
#    and without PER_RESOURCE_MEM_TYPE;
#  - RESOURCE_CREATE reads entries in the queue's current memory type: the
#    same client without the switch is refused;
#  - vv-hostile: malformed EXT requests, the switch rules (refused while the
#    queue has resources, nothing changed), plain GET/SET_PARAMS unchanged;
#  - the info line once per stream and the debug line per change;
#  - --no-params-ext: 0x10D/0x10E answered like unknown commands, plain v3
#    decode still bit-exact;
#  - --no-per-resource-mem (crosvm's device: the dialect, no feature 16):
#    bit 16 not offered, bits 30/31 refused, the ChromeOS flow bit-exact.
. "$(dirname "$0")/lib.bash"
need_tools
[ -x "$HOSTILE" ] || skip "no $HOSTILE (make client-all)"
GSOCK=$TMP/gpu.sock
DIALECT='guest uses crosvm params-ext dialect'

# Virtio objects are offered only with a GPU device whose UUIDs the video
# device resolves; -v for the debug lines.
start_daemon --gpu-socket-path "$GSOCK" -v

dialect_lines() { grep -c "$DIALECT" "$DLOG" || true; }

decode_check h264
before=$(dialect_lines)
decode_check h264 --params-ext
[ "$(dialect_lines)" = $((before + 1)) ] || fail "one info line per stream expected, got $(( $(dialect_lines) - before ))"
grep -q "stream 1: $DIALECT; input queue memory guest-pages\$" "$DLOG" || fail "no info line for the guest-pages stream"
echo "ok: one info line for the stream: $(grep "$DIALECT" "$DLOG" | tail -n 1 | sed 's/.*info: //')"

before=$(dialect_lines)
decode_check h264 --params-ext --stream-mem virtio-object
[ "$(dialect_lines)" = $((before + 1)) ] || fail "one info line per stream expected"
grep -q "stream 1: $DIALECT; input queue memory virtio-object\$" "$DLOG" || fail "no info line for the virtio-object stream"
grep -q 'debug: stream 1: input queue memory virtio-object -> guest-pages$' "$DLOG" || fail "no debug line for the input switch"
grep -q 'debug: stream 1: output queue memory virtio-object -> guest-pages$' "$DLOG" || fail "no debug line for the output switch"
echo "ok: debug lines for both switches"
decode_check h264 --params-ext --stream-mem virtio-object --layout per-plane --scatter --regions 2
decode_check h264 --params-ext --stream-mem virtio-object --chunk 4096
decode_check vp9-reschange --params-ext --stream-mem virtio-object
decode_check h264-reschange --params-ext --stream-mem virtio-object --format nv12
decode_check h264 --params-ext --stream-mem virtio-object --no-per-resource-mem
decode_check h264 --params-ext --queue-mem virtio-object --res-mem-flag guest-pages
decode_check h264 --stream-mem virtio-object --res-mem-flag guest-pages
before=$(dialect_lines)
decode_check h264 --params-ext --stream-mem virtio-object --streams 3
[ "$(dialect_lines)" = $((before + 3)) ] || fail "3 streams: $(( $(dialect_lines) - before )) info lines, expected 3"
echo "ok: 3 streams, 3 info lines"

# Without the switch the entries of a virtio-object queue are read as UUIDs.
if "$CLIENT" --socket "$SOCK" --codec h264 --input "$(stream h264)" --no-output \
	--stream-mem virtio-object >"$TMP/neg.log" 2>&1; then
	fail "guest-page entries on a virtio-object queue were accepted"
fi
grep -q 'command 0x104 answered ERR_INVALID_PARAMETER' "$TMP/neg.log" ||
	{ cat "$TMP/neg.log" >&2; fail "virtio-object queue without switch: not ERR_INVALID_PARAMETER on RESOURCE_CREATE"; }
echo "ok: without SET_PARAMS_EXT a virtio-object queue refuses guest-page entries"
check_daemon "negative decode"

for c in params-ext params-ext-switch features-off; do
	"$HOSTILE" --socket "$SOCK" --case "$c" >"$TMP/hostile.log" 2>&1 ||
		{ cat "$TMP/hostile.log" >&2; fail "vv-hostile $c"; }
	grep -c ' -> ' "$TMP/hostile.log" | sed "s/^/ok: vv-hostile $c: answers checked: /"
	check_daemon "vv-hostile $c"
done
grep -q "$DIALECT; input queue memory guest-pages -> virtio-object\$" "$DLOG" ||
	fail "no info line for a stream whose first EXT command is a switch"
echo "ok: $(grep "$DIALECT; input queue memory guest-pages -> virtio-object" "$DLOG" | tail -n 1 | sed 's/.*info: //')"
grep -q 'warn: stream 1: input queue memory virtio-object -> guest-pages refused: the queue has 1 resources' "$DLOG" ||
	fail "no warning for the refused switch"
decode_check h264 --params-ext --stream-mem virtio-object
stop_daemon

# --no-params-ext: what a device without the dialect answers. The log is
# shared with the first daemon: only the lines after this start count.
log_start=$(wc -l <"$DLOG")
start_daemon --no-params-ext
new_log() { tail -n +$((log_start + 1)) "$DLOG" >"$TMP/new.log"; }
"$HOSTILE" --socket "$SOCK" --case params-ext-off >"$TMP/hostile.log" 2>&1 ||
	{ cat "$TMP/hostile.log" >&2; fail "vv-hostile params-ext-off"; }
echo "ok: --no-params-ext: GET/SET_PARAMS_EXT answered like unknown command 0x10f"
if "$CLIENT" --socket "$SOCK" --codec h264 --input "$(stream h264)" --no-output --params-ext \
	>"$TMP/neg.log" 2>&1; then
	fail "--no-params-ext: a params-ext client decoded"
fi
grep -q 'command 0x10d answered ERR_INVALID_PARAMETER' "$TMP/neg.log" ||
	{ cat "$TMP/neg.log" >&2; fail "--no-params-ext: GET_PARAMS_EXT not refused with ERR_INVALID_PARAMETER"; }
echo "ok: --no-params-ext: a params-ext client is refused at its first GET_PARAMS_EXT"
new_log
grep -q 'warn: unknown command 0x10d' "$TMP/new.log" || fail "--no-params-ext: no 'unknown command' warning"
decode_check h264
decode_check h264 --scatter --chunk 1000
decode_check vp9-reschange
new_log
! grep -q "$DIALECT" "$TMP/new.log" || fail "--no-params-ext: dialect line logged"
stop_daemon

# --no-per-resource-mem: the dialect and virtio objects, but no feature 16.
log_start=$(wc -l <"$DLOG")
rm -f "$GSOCK"
start_daemon --gpu-socket-path "$GSOCK" --no-per-resource-mem
"$HOSTILE" --socket "$SOCK" --case per-res-off >"$TMP/hostile.log" 2>&1 ||
	{ cat "$TMP/hostile.log" >&2; fail "vv-hostile per-res-off"; }
echo "ok: --no-per-resource-mem: $(grep -c ' -> ' "$TMP/hostile.log") answers checked; $(grep -o 'features offered.*' "$TMP/hostile.log")"
decode_check h264 --params-ext --stream-mem virtio-object
if "$CLIENT" --socket "$SOCK" --codec h264 --input "$(stream h264)" --no-output --params-ext \
	--queue-mem virtio-object --res-mem-flag guest-pages >"$TMP/neg.log" 2>&1; then
	fail "--no-per-resource-mem: a resource with planes_layout bit 30 was accepted"
fi
grep -q 'command 0x104 answered ERR_INVALID_PARAMETER' "$TMP/neg.log" ||
	{ cat "$TMP/neg.log" >&2; fail "--no-per-resource-mem: bit 30 not refused with ERR_INVALID_PARAMETER on RESOURCE_CREATE"; }
echo "ok: --no-per-resource-mem: bit 30 over a virtio-object queue refused"
new_log
grep -q 'PER_RESOURCE_MEM_TYPE (feature 16) not offered (--no-per-resource-mem)' "$TMP/new.log" ||
	fail "--no-per-resource-mem: the daemon did not take the option"
check_daemon "--no-per-resource-mem"
stop_daemon
