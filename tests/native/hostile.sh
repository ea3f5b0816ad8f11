#!/usr/bin/env bash
# A misbehaving guest (vv-hostile): every case must get its documented error
# (or a dropped request / refused vhost-user message), and afterwards the
# daemon must be alive, sanitizer-clean and still decode correctly.
. "$(dirname "$0")/lib.bash"
need_tools
[ -x "$HOSTILE" ] || skip "no $HOSTILE (make client-all)"
start_daemon
stream h264 >/dev/null
failed=()
for c in $("$HOSTILE" --list); do
	echo "== case $c"
	if ! timeout 60 "$HOSTILE" --socket "$SOCK" --case "$c"; then
		failed+=("$c")
	fi
	check_daemon "after case $c"
	decode_check h264 --scatter >/dev/null || die "no correct decode after case $c"
done
[ ${#failed[@]} -eq 0 ] || die "cases with a wrong answer: ${failed[*]}"
stop_daemon
