#!/usr/bin/env bash
# Budgets (issue 13, finding 5; host/budget.c, docs/host.md "Budgets"): a
# guest that creates resources of 65,536 entries, all naming one page, on
# 16 streams x 64 resources asks for 1 GiB of entry lists (the old limits
# allowed 256 x 128 x 65,536 x 16 B = 32 GiB). With the default budget
# (device-entries 1,048,576) the 17th is refused with ERR_OUT_OF_MEMORY,
# the daemon's peak RSS stays within 128 MiB of its idle peak (16 decoders
# and 16 MiB of entries; 1 GiB before), and after the
# streams are destroyed a new stream and resource work, and a decode is
# bit-exact. Both devices (decoder, encoder). Then --limit: streams=2 and
# device-entries=131072 (2 such resources) are honoured, mappings=0 makes a
# scattered decode bounce (more bytes copied, still bit-exact), a bad
# --limit is refused at start.
. "$(dirname "$0")/lib.bash"
need_tools
FLOOD=$VV_BUILD/vv-flood
[ -x "$FLOOD" ] || skip "no $FLOOD (make client-all)"
MARGIN_MIB=128

flood() { # expected-resources daemon-args...
	local want=$1 base peak
	shift
	start_daemon "$@"
	daemon_idle
	base=$(vm_hwm_mib)
	"$FLOOD" --socket "$SOCK" --case entries --streams 16 >"$TMP/flood.log" 2>&1 ||
		{ cat "$TMP/flood.log" >&2; fail "vv-flood entries ($*)"; }
	cat "$TMP/flood.log"
	peak=$(vm_hwm_mib)
	echo "daemon peak RSS: $base MiB idle, $peak MiB after the flood (bound $base + $MARGIN_MIB)"
	grep -q "^vv-flood entries: $want resources of 65536 entries accepted" "$TMP/flood.log" ||
		fail "$*: expected $want resources accepted"
	grep -q 'then ERR_OUT_OF_MEMORY' "$TMP/flood.log" || fail "$*: no ERR_OUT_OF_MEMORY"
	[ "$peak" -le $((base + MARGIN_MIB)) ] || fail "$*: peak RSS $peak MiB > $base + $MARGIN_MIB MiB"
	grep -q 'budget (--limit device-entries=) exceeded' "$DLOG" || fail "$*: no budget line in the log"
	check_daemon "entry flood $*"
}

flood 16
decode_check h264
stop_daemon
flood 16 --device encoder
stop_daemon
flood 2 --limit device-entries=131072
stop_daemon

start_daemon --limit streams=2
"$FLOOD" --socket "$SOCK" --case entries --streams 3 >"$TMP/flood.log" 2>&1 &&
	fail "a third stream was accepted with --limit streams=2"
grep -q 'STREAM_CREATE: got ERR_OUT_OF_MEMORY' "$TMP/flood.log" ||
	{ cat "$TMP/flood.log" >&2; fail "the third stream was not refused with ERR_OUT_OF_MEMORY"; }
echo "ok: --limit streams=2: the third STREAM_CREATE gets ERR_OUT_OF_MEMORY"
decode_check h264
stop_daemon

# mappings: with none allowed, scattered OUTPUT planes go through the bounce
# buffer (more bytes copied), and the decode stays bit-exact.
copied() { sed -n 's/.*stream 1 end: .*bytes_copied=\([0-9]*\).*/\1/p' "$DLOG" | tail -n 1; }
start_daemon
decode_check h264 --scatter
sleep 0.2
views=$(copied)
stop_daemon
start_daemon --limit mappings=0
decode_check h264 --scatter
sleep 0.2
bounced=$(copied)
stop_daemon
echo "bytes_copied: $views with views, $bounced with --limit mappings=0"
[ "$bounced" -gt "$views" ] || fail "--limit mappings=0 did not make the daemon bounce"

for bad in streams=0 streams=257 bogus=1 entries=x pending; do
	if "$DAEMON" --limit "$bad" --print-capabilities >/dev/null 2>"$TMP/err"; then
		fail "--limit $bad accepted"
	fi
	grep -q -- '--limit' "$TMP/err" || { cat "$TMP/err"; fail "--limit $bad: no reason given"; }
done
echo "ok: bad --limit values refused"
echo ok
