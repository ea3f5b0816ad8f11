#!/usr/bin/env bash
# backends: ffmpeg (vm-run, QEMU or virtio-gpu only: no decoding, the plugin plays no part)
# Our QEMU front-end: both device types exist, device-type is checked, and
# device-type=encoder gives the guest virtio ID 30 (0x001e) instead of 31.
. "$(dirname "$0")/lib"
qdir=$("$top/scripts/build-qemu" --check) || fail "QEMU not built (make vm-image)"
qemu=$qdir/bin/qemu-system-x86_64
$qemu -device help >"$TMP/devices" 2>&1
grep -q '^name "vhost-user-video-pci", bus PCI' "$TMP/devices" || fail "no vhost-user-video-pci"
grep -q '^name "vhost-user-video", bus virtio-bus' "$TMP/devices" || fail "no vhost-user-video (virtio bus)"
$qemu -device vhost-user-video-pci,help >"$TMP/props" 2>&1
grep -q 'chardev=' "$TMP/props" && grep -q 'device-type=' "$TMP/props" || fail "missing properties"
timeout 30 $qemu -L "$qdir/share" -L /usr/share/seabios -nodefaults -display none \
	-machine pc,accel=tcg -chardev null,id=c \
	-device vhost-user-video-pci,chardev=c,device-type=bogus -S >"$TMP/bogus" 2>&1
rc=$?
cat "$TMP/bogus"
[ $rc != 0 ] && grep -q "device-type must be 'decoder' or 'encoder'" "$TMP/bogus" ||
	fail "device-type=bogus was not rejected (exit $rc)"

have_daemon || skip "front-end checks passed; no daemon for the encoder boot"
VV_GUEST_MODULES= run_vm enc --encoder -- sh -c 'cat /sys/bus/virtio/devices/*/device'
[ $rc = 0 ] || fail "encoder boot failed (exit $rc)"
grep -qx 0x001e "$TMP/enc.out" || fail "no virtio device 0x001e with device-type=encoder"
grep -qx 0x001f "$TMP/enc.out" && fail "a decoder appeared with device-type=encoder"
echo ok
