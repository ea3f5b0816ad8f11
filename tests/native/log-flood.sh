#!/usr/bin/env bash
# backends: ffmpeg (the daemon's log: the plugin plays no part)
# Rate-limited warnings (issue 13; host/log.c): a guest that sends 5000
# unknown commands gets 5000 error answers, but the daemon's log gets at
# most VV_LOG_BURST (10) lines of that warning plus VV_LOG_RATE (2) per
# second of the flood, not 5000 (before: one line per command). Nothing is
# lost silently: after a pause, the next such warning is preceded by "N more
# like the next one suppressed", and the lines printed plus the N's add up
# to the commands sent. The daemon then still decodes bit-exact.
. "$(dirname "$0")/lib.bash"
need_tools
FLOOD=$VV_BUILD/vv-flood
[ -x "$FLOOD" ] || skip "no $FLOOD (make client-all)"
start_daemon
t0=$(date +%s%N)
"$FLOOD" --socket "$SOCK" --case warn --count 5000 || fail "vv-flood warn"
t1=$(date +%s%N)
sleep 1.2
"$FLOOD" --socket "$SOCK" --case warn --count 1 || fail "vv-flood warn (after the pause)"
sleep 0.2
lines=$(grep -c 'warn: unknown command 0x1234' "$DLOG" || true)
suppressed=$(sed -n 's/.*warn: \([0-9]*\) more like the next one suppressed/\1/p' "$DLOG" |
	awk '{ n += $1 } END { print n + 0 }')
secs=$(( (t1 - t0 + 999999999) / 1000000000 ))
bound=$(( 10 + 2 * secs + 1 ))
echo "5001 unknown commands in ${secs}s: $lines warning lines, $suppressed suppressed (bound $bound lines)"
[ "$lines" -le "$bound" ] || fail "$lines warning lines for the flood, bound $bound"
[ "$lines" -ge 2 ] || fail "the warning vanished ($lines lines)"
[ $((lines + suppressed)) = 5001 ] || fail "printed $lines + suppressed $suppressed != 5001 commands"
tail -n 3 "$DLOG" | grep -q 'more like the next one suppressed' ||
	fail "no 'suppressed' line before the warning after the pause"
decode_check h264
stop_daemon
echo ok
