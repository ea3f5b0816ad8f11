#!/usr/bin/env bash
# backends: ffmpeg (vm-run, QEMU or virtio-gpu only: no decoding, the plugin plays no part)
# --gpu attaches a virtio-gpu device that the guest's virtio_gpu drives.
. "$(dirname "$0")/lib"
run_vm gpu --gpu --no-device -- sh -c '
	grep -l 0x0010 /sys/bus/virtio/devices/*/device || exit 2
	ls /dev/dri/card* || exit 3'
[ $rc = 0 ] || fail "no virtio-gpu in the guest (exit $rc)"
echo ok
