#!/usr/bin/env bash
# --gpu serves the daemon's virtio-gpu backend through QEMU's stock
# vhost-user-gpu-pci: the guest's virtio_gpu binds with EDID and RESOURCE_UUID
# negotiated, picks the 1024x768 mode of our EDID, and its console's flushes
# reach the daemon. --screenshot saves the display as PNG where this QEMU has
# screendump (it needs pixman; without it the run says so and the PNG check
# is left out).
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon (make host-all)"
shot=$tmp/shot.png
run_vm gpu-backend --gpu --screenshot "$shot" -- sh -c '
	for d in /sys/bus/virtio/devices/*; do
		[ "$(cat "$d/device")" = 0x0010 ] && echo "features=$(cat "$d/features")"
	done
	echo "mode=$(head -n 1 /sys/class/drm/card0-Virtual-1/modes)"
	sleep 2'
[ "$rc" = 0 ] || fail "guest command failed (exit $rc)"
# One character per feature bit: EDID is bit 1, RESOURCE_UUID bit 2.
grep -q '^features=.11' "$tmp/gpu-backend.out" || fail "EDID and RESOURCE_UUID not negotiated"
grep -qx 'mode=1024x768' "$tmp/gpu-backend.out" || fail "guest did not take the 1024x768 mode"
grep -E 'gpu connection end:.* resources_created=[1-9][0-9]*.* flushes=[1-9]' "$tmp/gpu-backend.err" >/dev/null ||
	fail "the daemon saw no resources or flushes from the guest"
if [ -s "$shot" ]; then
	[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] || fail "screenshot is not a PNG"
	echo "ok: screenshot $(stat -c %s "$shot") bytes"
else
	grep -q 'no screenshot' "$tmp/gpu-backend.err" || fail "no screenshot and no reason given"
	echo "note: no screenshot from this QEMU build (screendump needs --enable-pixman)"
fi
echo ok
