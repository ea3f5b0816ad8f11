#!/usr/bin/env bash
# Guest driver robustness, three boots:
# 1. 260 open/stream/close cycles (stream IDs wrap past 255 and the daemon
#    allows 64 streams by default: a leaked device-side stream fails a later cycle), a
#    full decode after them, then both modules unload.
# 2. The host daemon is killed mid-stream: the client fails with an error
#    (no hang), the module unloads, no WARNING/BUG/Oops (vm-run: exit 125).
# 3. The PCI device is removed (hot-unplug) while a file is open and
#    streaming: the client fails, nothing oopses, the module unloads.
. "$(dirname "$0")/lib"
need_dectest
unload='rmmod virtio_video && rmmod v4l2_mem2mem && echo unloaded'

# 1. cycles
run_vm cycles --timeout 600 -- bash -c "
	timeout -s KILL 400 $prog --cycles 260 $src || exit 5
	timeout -s KILL 60 $prog $src \$VV_OUT/o.yuv || exit 6
	$unload"
[ $rc = 0 ] || fail "cycles: guest run failed (exit $rc)"
grep -qx 'cycles: 260' "$TMP/cycles.out" || fail "cycles: not all done"
grep -qx unloaded "$TMP/cycles.out" || fail "cycles: modules did not unload"

# 2. the daemon dies mid-stream
run_vm_kill_daemon kill --timeout 300 -- bash -c "
	$prog --forever $src /dev/null
	echo client-exit=\$?
	$unload"
[ $rc = 0 ] || fail "kill: guest run failed (exit $rc)"
# 3: an I/O error (EIO) reached the client, not its own 20 s stall check (4).
grep -q '^client-exit=3$' "$TMP/kill.out" || fail "kill: the client did not get EIO"
grep -qx unloaded "$TMP/kill.out" || fail "kill: modules did not unload"

# 3. hot-unplug with a file open
run_vm unplug --timeout 300 -- bash tests/guest/unplug.sh "$prog" "$src"
[ $rc = 0 ] || fail "unplug: guest run failed (exit $rc)"
grep -q '^client-exit=[1-9]' "$TMP/unplug.out" || fail "unplug: the client did not fail"
grep -qx unloaded "$TMP/unplug.out" || fail "unplug: modules did not unload"
echo ok
