#!/usr/bin/env bash
# backends: ffmpeg (vm-run, QEMU or virtio-gpu only: no decoding, the plugin plays no part)
# The video device (virtio ID 31) is present in the guest, served by the host
# daemon, and its config space is the backend's (docs/protocol.md: version 0,
# max_caps_length 4096, max_resp_length 4096), forwarded by the front-end.
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
run_vm dev -- sh -c '
	d=$(grep -l 0x001f /sys/bus/virtio/devices/*/device) || { echo "no virtio device 0x001f"; exit 2; }
	echo "device: $d"
	[ "$(cat /sys/bus/virtio/devices/*/device | grep -c 0x001f)" = 1 ] || exit 3
	echo "config: $("$VV_TOP"/scripts/vm-guest/virtio-pci-config 0x1f 12)"'
[ $rc = 0 ] || fail "guest checks failed (exit $rc)"
grep -q '^device: ' "$TMP/dev.out" || fail "device not reported"
grep -qx 'config: 0 4096 4096' "$TMP/dev.out" || fail "config space is not the backend's (want 0 4096 4096)"
echo ok
