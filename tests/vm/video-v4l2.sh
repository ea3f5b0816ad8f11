#!/usr/bin/env bash
# With the guest driver built (kernel/*.ko), vm-run loads it and every
# /dev/video* node answers v4l2-ctl --all.
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
guest_modules || skip "guest driver not built (no kernel/*.ko)"
run_vm v4l2 -- sh tests/guest/v4l2-all.sh
[ $rc = 0 ] || fail "guest checks failed (exit $rc)"
grep -qx video-nodes-ok "$TMP/v4l2.out" || fail "no video-nodes-ok"
grep -q 'vm-run: guest: insmod' "$TMP/v4l2.err" && fail "a module did not load"
echo ok
