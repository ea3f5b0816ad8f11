#!/usr/bin/env bash
# backends: ffmpeg (vm-run, QEMU or virtio-gpu only: no decoding, the plugin plays no part)
# --gpu serves the daemon's virtio-gpu backend through QEMU's stock
# vhost-user-gpu-pci: the guest's virtio_gpu binds with EDID and RESOURCE_UUID
# negotiated, picks the mode of our EDID (1024x768 by default, 1920x1080 with
# --display-size 1920x1080), and its console's flushes reach the daemon, and
# QEMU's display shows them (--screenshot, QMP screendump as PNG of the mode's
# size, checked for the console text the guest writes).
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon (make host-all)"

# boot NAME WxH [vm-run option...]
boot() {
	local name=$1 want=$2 shot=$TMP/$1.png size lit
	shift 2
	run_vm "$name" --gpu --screenshot "$shot" "$@" -- sh tests/guest/gpu-console.sh
	[ "$rc" = 0 ] || fail "$name: guest command failed (exit $rc)"
	# One character per feature bit: EDID is bit 1, RESOURCE_UUID bit 2.
	grep -q '^features=.11' "$TMP/$name.out" || fail "$name: EDID and RESOURCE_UUID not negotiated"
	grep -qx "mode=$want" "$TMP/$name.out" || fail "$name: guest did not take the $want mode"
	grep -E 'gpu connection end:.* resources_created=[1-9][0-9]*.* flushes=[1-9]' "$TMP/$name.err" >/dev/null ||
		fail "$name: the daemon saw no resources or flushes from the guest"
	# QEMU shows the daemon's scanout updates: the screenshot is a PNG of the
	# mode's size with the console text on it (thousands of lit pixels on black).
	[ -s "$shot" ] || fail "$name: no screenshot"
	[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] || fail "$name: screenshot is not a PNG"
	size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$shot")
	[ "$size" = "${want/x/,}" ] || fail "$name: screenshot is $size, not $want"
	lit=$(ffmpeg -v error -i "$shot" -f rawvideo -pix_fmt gray - |
		python3 -c 'import sys; print(sum(1 for b in sys.stdin.buffer.read() if b > 64))')
	[ "$lit" -ge 5000 ] || fail "$name: screenshot has $lit lit pixels: the console text did not reach QEMU's display"
	echo "ok: $name: mode $want, screenshot $(stat -c %s "$shot") bytes, $size, $lit lit pixels"
}
boot gpu-backend 1024x768
boot display-1080p 1920x1080 --display-size 1920x1080
echo ok
