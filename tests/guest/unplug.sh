#!/usr/bin/env bash
# Runs in the guest (tests/vm/driver-robust.sh): the virtio-video PCI device
# is removed (hot-unplug) 5 s into an endless vv-dectest decode of STREAM;
# prints "client-exit=N", then "unloaded" once both modules are unloaded.
# Exits 7 without a device, 8 when the removal fails.
#   unplug.sh VV-DECTEST STREAM
"$1" --forever "$2" /dev/null & pid=$!
sleep 5
dev=$(readlink -f /sys/bus/virtio/drivers/virtio_video/virtio*)
[ -n "$dev" ] || exit 7
echo 1 >"$dev/../remove" || exit 8
wait $pid
echo client-exit=$?
rmmod virtio_video && rmmod v4l2_mem2mem && echo unloaded
