#!/usr/bin/env bash
# backends: ffmpeg (vm-run, QEMU or virtio-gpu only: no decoding, the plugin plays no part)
# A WARNING in the guest kernel log fails the run, and the line is printed,
# even though COMMAND itself succeeds.
. "$(dirname "$0")/lib"
run_vm warn -- sh -c 'echo "vv-test: WARNING: injected by tests/vm/kernel-warning" >/dev/kmsg'
[ $rc != 0 ] || fail "a guest kernel WARNING did not make vm-run fail"
[ $rc = 125 ] || fail "expected exit 125 (kernel log), got $rc"
grep -q 'WARNING: injected by tests/vm/kernel-warning' "$TMP/warn.err" ||
	fail "the WARNING line was not printed"
echo ok
