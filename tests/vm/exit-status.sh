#!/usr/bin/env bash
# backends: ffmpeg (vm-run, QEMU or virtio-gpu only: no decoding, the plugin plays no part)
# vm-run passes COMMAND's exit status and output through.
. "$(dirname "$0")/lib"
run_vm true -- true
[ $rc = 0 ] || fail "vm-run -- true exited $rc"
run_vm false -- false
[ $rc = 1 ] || fail "vm-run -- false exited $rc"
run_vm seven -- sh -c 'echo hi; exit 7'
[ $rc = 7 ] || fail "vm-run -- sh -c 'echo hi; exit 7' exited $rc"
[ "$(cat "$TMP/seven.out")" = hi ] || fail "expected exactly 'hi' on stdout"
echo ok
