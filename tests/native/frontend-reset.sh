#!/usr/bin/env bash
# backends: ffmpeg (vhost-user transport only: the plugin plays no part)
# A front-end that dies with a reply unread (ECONNRESET on the daemon's next
# read, after a message that carried an fd): the daemon must close only fds
# it owns. Before the fix it parsed the stale control buffer of the failed
# recvmsg and closed whatever fd numbers it found there. Checked: after 30
# such front-ends the daemon's fds (video and GPU device) are what they were,
# the GPU device still answers, and a decode is bit-exact.
. "$(dirname "$0")/lib.bash"
need_tools
command -v python3 >/dev/null || skip "no python3"
GSOCK=$TMP/gpu.sock
start_daemon --gpu-socket-path "$GSOCK"
for _ in $(seq 100); do [ -S "$GSOCK" ] && break; sleep 0.05; done
[ -S "$GSOCK" ] || fail "daemon did not create $GSOCK"
fds() { ls -l "/proc/$DPID/fd" | awk 'NR > 1 { print $9, $11 }' | sort; }
fds >"$TMP/fds.before"
python3 "$VV_TOP/tests/tools/vu-reset.py" "$SOCK" 30 || fail "vu-reset.py (video)"
python3 "$VV_TOP/tests/tools/vu-reset.py" "$GSOCK" 10 || fail "vu-reset.py (gpu)"
sleep 0.3
kill -0 "$DPID" 2>/dev/null || fail "daemon died"
fds >"$TMP/fds.after"
diff "$TMP/fds.before" "$TMP/fds.after" >&2 || fail "the daemon's fds changed"
grep -q 'read: Connection reset by peer' "$DLOG" || fail "no ECONNRESET seen: the case was not exercised"
"$VV_BUILD/vv-gpu-client" --video-socket "$SOCK" --gpu-socket "$GSOCK" check >"$TMP/gpu.log" 2>&1 ||
	{ tail -n 20 "$TMP/gpu.log" >&2; fail "the GPU device no longer works"; }
decode_check h264
echo ok
