#!/usr/bin/env bash
# backends: ffmpeg (vm-run, QEMU or virtio-gpu only: no decoding, the plugin plays no part)
# --timeout stops a hung guest with exit 124, and Ctrl-C (SIGINT to the whole
# process group) stops a run with exit 130; neither leaves a process behind,
# nor does a SIGKILL of vm-run alone (its watchdog cleans up).
. "$(dirname "$0")/lib"
leftovers() { # logdir: processes still naming this run's log or socket folder
	local sock
	sock=$(grep -o '/tmp/vv-run\.[A-Za-z0-9]*' "$1/daemon.log" 2>/dev/null | head -n 1)
	{
		pgrep -af -- "$1"
		[ -n "$sock" ] && pgrep -af -- "$sock"
	} | grep -v pgrep
}

start=$(date +%s)
run_vm hang --timeout 12 -- sleep 600
took=$(( $(date +%s) - start ))
[ $rc = 124 ] || fail "expected exit 124 on timeout, got $rc"
[ $took -lt 40 ] || fail "the timeout took ${took}s"
logdir=$(sed -n 's/.*logs: //p' "$TMP/hang.err" | tail -n 1)
[ -n "$logdir" ] || fail "vm-run did not print its log folder"
sleep 1
left=$(leftovers "$logdir")
[ -z "$left" ] || fail "processes left behind after the timeout: $left"

# Ctrl-C: job control gives vm-run its own process group, as a shell would.
# Twice: with SIGINT at its default (vm-run's trap answers) and ignored, as
# in a shell that started the suite in the background (the trap cannot be
# set then; vm-run must still see the interrupt, from QEMU's exit).
interrupt() { # default|ignored
	local sig=SIG_DFL
	[ "$1" = ignored ] && sig=SIG_IGN
	set -m
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, getattr(signal, sys.argv[1]))
os.execv(sys.argv[2], sys.argv[2:])' "$sig" "$vm_run" --timeout 120 -- sleep 600 \
		>"$TMP/int.out" 2>"$TMP/int.err" &
	pid=$!
	set +m
	logdir=
	for _ in $(seq 300); do
		logdir=$(ls -1dt "$VV_BUILD"/vm-logs/*-"$pid" 2>/dev/null | head -n 1)
		[ -n "$logdir" ] && grep -q 'running command' "$logdir/console.log" 2>/dev/null && break
		sleep 0.1
	done
	[ -n "$logdir" ] || fail "the interrupted run ($1 SIGINT) never started"
	kill -INT -- -"$pid"
	wait "$pid"
	rc=$?
	sed 's/^/  err: /' "$TMP/int.err"
	[ $rc = 130 ] || fail "expected exit 130 after SIGINT ($1 in vm-run), got $rc"
	sleep 1
	left=$(leftovers "$logdir")
	[ -z "$left" ] || fail "processes left behind after SIGINT ($1): $left"
	echo "ok: SIGINT with SIGINT $1 in vm-run: exit 130, nothing left behind"
}
interrupt default
interrupt ignored

start_and_wait() { # pid of a background vm-run: wait until its command runs
	logdir=
	for _ in $(seq 300); do
		logdir=$(ls -1dt "$VV_BUILD"/vm-logs/*-"$1" 2>/dev/null | head -n 1)
		[ -n "$logdir" ] && grep -q 'running command' "$logdir/console.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
"$vm_run" --timeout 120 -- sleep 600 >/dev/null 2>&1 &
pid=$!
start_and_wait "$pid" || fail "the killed run never started"
[ -n "$(leftovers "$logdir")" ] || fail "no QEMU found for the running guest"
kill -KILL "$pid"
for _ in $(seq 50); do
	[ -z "$(leftovers "$logdir")" ] && break
	sleep 0.2
done
left=$(leftovers "$logdir")
[ -z "$left" ] || fail "processes left behind after SIGKILL of vm-run: $left"
echo ok
