#!/usr/bin/env bash
# san: skip
# Resource use: 1000 streams created, fed a few frames and destroyed, then 100
# clients that disconnect mid-stream. The daemon's open fds and RSS must come
# back to where they were after a first warm-up stream (RSS within 8 MiB).
. "$(dirname "$0")/lib.bash"
need_tools
start_daemon
f=$(stream h264)
fds() { ls "/proc/$DPID/fd" | wc -l; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status"; }
settle() { # wait until the daemon closed the last connection
	for _ in $(seq 50); do
		[ "$(grep -c 'front-end disconnected' "$DLOG")" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "daemon did not see disconnect $1"
}
conns=0
# warm-up: the codec, the plugin and the allocator reach their steady state
"$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --streams 4 >/dev/null || fail "warm-up"
conns=$((conns + 1)); settle $conns
fd0=$(fds) rss0=$(rss)
echo "baseline: fds=$fd0 rss=${rss0}kB"

"$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --streams 1000 --sequential \
	--frames 3 --stats || fail "1000 streams"
conns=$((conns + 1)); settle $conns
check_daemon "1000 streams"
echo "after 1000 streams: fds=$(fds) rss=$(rss)kB"

for i in $(seq 100); do
	"$CLIENT" --socket "$SOCK" --codec h264 --input "$f" --no-output --streams 2 \
		--abort-after $((i % 7 + 3)) >/dev/null 2>&1 || fail "client $i"
	conns=$((conns + 1)); settle $conns
done
check_daemon "100 disconnects"
fd1=$(fds) rss1=$(rss)
echo "after 100 disconnects: fds=$fd1 rss=${rss1}kB"
ends=$(grep -c 'end: frames_decoded=' "$DLOG")
[ "$ends" -eq $((4 + 1000 + 200)) ] || fail "$ends stream-end lines, expected 1204"
[ "$fd1" -eq "$fd0" ] || { ls -l "/proc/$DPID/fd"; fail "open fds $fd0 -> $fd1"; }
[ $((rss1 - rss0)) -le 8192 ] || fail "RSS grew from ${rss0}kB to ${rss1}kB"
decode_check h264
stop_daemon
