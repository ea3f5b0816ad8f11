#!/usr/bin/env bash
# Runs in the guest (tests/vm/zero-copy-*.sh, driver-ext.sh,
# driver-crosvm-profile.sh; tests/vm/lib's zc_decode): one gpu-decode run.
#   zc-decode.sh PROG CLIP T ARGS...
# runs PROG ARGS --output $VV_OUT/T.out CLIP, then prints "ZC T rc=N", the
# counters line of the stream that just ended ("COUNTERS-T ...", from the
# daemon's log in the run folder) and how many frame-queue switches to guest
# pages the daemon logged meanwhile ("SWITCH-T N").
set -u
prog=$1 clip=$2 t=$3
shift 3
sw() { grep -c 'output queue memory virtio-object -> guest-pages' "$VV_OUT/daemon.log"; }
a=$(sw)
"$prog" "$@" --output "$VV_OUT/$t.out" "$clip"
echo "ZC $t rc=$?"
echo "COUNTERS-$t $(grep 'stream [0-9]* end:' "$VV_OUT/daemon.log" | tail -n 1)"
echo "SWITCH-$t $(($(sw) - a))"
