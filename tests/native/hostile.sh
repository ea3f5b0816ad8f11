#!/usr/bin/env bash
# A misbehaving guest (vv-hostile): every case must get its documented error
# (or a dropped request / refused vhost-user message), and afterwards the
# daemon must be alive, sanitizer-clean and still decode correctly. A daemon
# that dies is restarted so that the remaining cases still run.
. "$(dirname "$0")/lib.bash"
need_tools
[ -x "$HOSTILE" ] || skip "no $HOSTILE (make client-all)"
start_daemon
stream h264 >/dev/null
failed=()
for c in $("$HOSTILE" --list); do
	echo "== case $c"
	timeout 60 "$HOSTILE" --socket "$SOCK" --case "$c" || failed+=("$c(answer)")
	sleep 0.2
	if ! kill -0 "$DPID" 2>/dev/null; then
		rc=0; wait "$DPID" || rc=$?
		echo "daemon died after case $c (exit status $rc)"
		failed+=("$c(daemon died, exit $rc)")
		DPID=
		start_daemon
		continue
	fi
	if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$DLOG"; then
		grep -nE -A20 'runtime error|AddressSanitizer|LeakSanitizer' "$DLOG" | head -40
		fail "sanitizer report after case $c"
	fi
	( decode_check h264 --scatter >/dev/null ) || failed+=("$c(no correct decode afterwards)")
done
[ ${#failed[@]} -eq 0 ] || fail "failed cases: ${failed[*]}"
stop_daemon
