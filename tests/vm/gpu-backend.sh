#!/usr/bin/env bash
# backends: ffmpeg (vm-run, QEMU or virtio-gpu only: no decoding, the plugin plays no part)
# --gpu serves the daemon's virtio-gpu backend through QEMU's stock
# vhost-user-gpu-pci: the guest's virtio_gpu binds with EDID and RESOURCE_UUID
# negotiated, picks the 1024x768 mode of our EDID, and its console's flushes
# reach the daemon, and QEMU's display shows them (--screenshot, QMP
# screendump as PNG, checked for the console text the guest writes).
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon (make host-all)"
shot=$TMP/shot.png
run_vm gpu-backend --gpu --screenshot "$shot" -- sh tests/guest/gpu-console.sh
[ "$rc" = 0 ] || fail "guest command failed (exit $rc)"
# One character per feature bit: EDID is bit 1, RESOURCE_UUID bit 2.
grep -q '^features=.11' "$TMP/gpu-backend.out" || fail "EDID and RESOURCE_UUID not negotiated"
grep -qx 'mode=1024x768' "$TMP/gpu-backend.out" || fail "guest did not take the 1024x768 mode"
grep -E 'gpu connection end:.* resources_created=[1-9][0-9]*.* flushes=[1-9]' "$TMP/gpu-backend.err" >/dev/null ||
	fail "the daemon saw no resources or flushes from the guest"
# QEMU shows the daemon's scanout updates: the screenshot is a 1024x768 PNG
# with the console text on it (thousands of lit pixels on black).
[ -s "$shot" ] || fail "no screenshot"
[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] || fail "screenshot is not a PNG"
size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$shot")
[ "$size" = 1024,768 ] || fail "screenshot is $size, not 1024x768"
lit=$(ffmpeg -v error -i "$shot" -f rawvideo -pix_fmt gray - |
	python3 -c 'import sys; print(sum(1 for b in sys.stdin.buffer.read() if b > 64))')
[ "$lit" -ge 5000 ] || fail "screenshot has $lit lit pixels: the console text did not reach QEMU's display"
echo "ok: screenshot $(stat -c %s "$shot") bytes, $size, $lit lit pixels"
echo ok
