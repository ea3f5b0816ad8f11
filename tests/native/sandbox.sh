#!/usr/bin/env bash
# The sandbox (host/sandbox.c, docs/host.md "Sandbox"), on by default:
#  - the daemon runs with seccomp mode 2 (filter) and no_new_privs, and
#    still decodes bit-exact (decoder) and encodes (encoder device);
#  - started as root with --user nobody it runs as nobody (uid and gid
#    65534, no supplementary groups) and still serves its socket;
#  - a system call outside the allow-list (--sandbox-selftest calls
#    socket()) kills it with exit status 159 and its number (41) in the log;
#    with --no-sandbox the same call is allowed (Seccomp 0, the daemon lives);
#  - SIGTERM still ends it with status 0 (the exit path is allowed).
. "$(dirname "$0")/lib.bash"
need_tools
field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$DPID/status"; }
# The socket exists before the sandbox is in: wait for the daemon to say so.
sandboxed() { # log line
	for _ in $(seq 100); do grep -q "$1" "$DLOG" && return 0; sleep 0.05; done
	fail "no '$1' in the daemon's log"
}

start_daemon
sandboxed 'sandbox: no_new_privs, seccomp allow-list of'
[ "$(field Seccomp)" = 2 ] || fail "Seccomp: $(field Seccomp), expected 2 (filter)"
[ "$(field NoNewPrivs)" = 1 ] || fail "NoNewPrivs: $(field NoNewPrivs), expected 1"
grep -q 'sandbox: no_new_privs, seccomp allow-list of' "$DLOG" || fail "no sandbox line in the log"
echo "ok: Seccomp 2, NoNewPrivs 1 by default"
decode_check h264
decode_check h264 --scatter
decode_check vp9
stop_daemon

: >"$DLOG"	# each start's own lines (the previous daemon's were checked)
start_daemon --device encoder --threads 1
sandboxed 'sandbox: no_new_privs, seccomp allow-list of'
[ "$(field Seccomp)" = 2 ] || fail "encoder: Seccomp: $(field Seccomp), expected 2"
raw=$(raw_clip 320x240 10)
encode h264 "$raw" 320x240 "$TMP/enc.h264" >/dev/null
n=$(decode_to "$TMP/enc.h264" "$TMP/enc.yuv")
[ "$n" = 10 ] || fail "the sandboxed encoder's stream decodes to $n frames, not 10"
echo "ok: the encoder device encodes in the sandbox (10 frames)"
stop_daemon

if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	: >"$DLOG"
	start_daemon --user nobody
	sandboxed 'sandbox: no_new_privs, seccomp allow-list of'
	uid=$(field Uid) gid=$(field Gid)
	nuid=$(id -u nobody)
	[ "$uid" = "$nuid $nuid $nuid $nuid" ] || fail "--user nobody: Uid '$uid'"
	[ "$(echo "$gid" | awk '{ print $1 }')" = "$(id -g nobody)" ] || fail "--user nobody: Gid '$gid'"
	[ -z "$(field Groups)" ] || fail "--user nobody: supplementary groups '$(field Groups)' kept"
	[ "$(field Seccomp)" = 2 ] || fail "--user nobody: Seccomp $(field Seccomp)"
	echo "ok: --user nobody: Uid $uid, no groups, Seccomp 2"
	decode_check h264
	stop_daemon
else
	echo "note: not root (or no user nobody): --user not checked"
fi

rm -f "$SOCK"
rc=0
# (bounded: a daemon the call does not kill would serve on until killed)
timeout 20 "$DAEMON" --socket-path "$SOCK" ${VV_BACKEND:+--backend "$VV_BACKEND"} --sandbox-selftest \
	2>"$TMP/selftest.log" || rc=$?
cat "$TMP/selftest.log" | tail -n 3
[ "$rc" = 159 ] || fail "a forbidden system call: exit status $rc, expected 159"
grep -q 'seccomp: system call 41 is not in the sandbox' "$TMP/selftest.log" ||
	fail "the forbidden call's number is not in the log"
echo "ok: socket() after the filter: exit 159, 'system call 41' logged"

: >"$DLOG"
start_daemon --no-sandbox --sandbox-selftest
sandboxed 'self-test: socket() was allowed'
kill -0 "$DPID" 2>/dev/null || fail "--no-sandbox: the daemon died of the self-test"
[ "$(field Seccomp)" = 0 ] || fail "--no-sandbox: Seccomp $(field Seccomp)"
grep -q 'self-test: socket() was allowed' "$DLOG" || fail "--no-sandbox: socket() not allowed?"
decode_check h264
stop_daemon
echo "ok: --no-sandbox: no filter, the same call allowed"
echo ok
