#!/usr/bin/env bash
# backends: ffmpeg (vm-run, QEMU or virtio-gpu only: no decoding, the plugin plays no part)
# The guest sees the host's root read-only under an overlay: same working
# directory, the host's tools at the same paths, writes stay in the guest,
# $VV_OUT is shared with the host.
. "$(dirname "$0")/lib"
cd "$top"
marker=vv-guest-root-$$
run_vm root -- sh tests/guest/guest-root.sh "$top" "$("$top/scripts/kernel-version")" "$marker"
[ $rc = 0 ] || fail "guest checks failed (exit $rc)"
grep -qx guest-ok "$TMP/root.out" || fail "no guest-ok"
[ ! -e "$top/$marker" ] || { rm -f "$top/$marker"; fail "a guest write reached the host's tree"; }
logdir=$(sed -n 's/.*logs: //p' "$TMP/root.err" | tail -n 1)
[ -n "$logdir" ] && [ "$(cat "$logdir/$marker" 2>/dev/null)" = shared ] ||
	fail "\$VV_OUT was not shared with the host ($logdir)"
echo ok
