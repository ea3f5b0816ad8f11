#!/bin/sh
# Runs in the guest (tests/vm/gpu-backend.sh): prints the virtio-gpu's
# negotiated features ("features=BITS", one character per bit) and its first
# mode ("mode=WxH"), then writes 30 lines of text on the framebuffer console
# (its flushes must reach QEMU's display) and waits 2 s for the screenshot.
for d in /sys/bus/virtio/devices/*; do
	[ "$(cat "$d/device")" = 0x0010 ] && echo "features=$(cat "$d/features")"
done
echo "mode=$(head -n 1 /sys/class/drm/card0-Virtual-1/modes)"
# Text on the framebuffer console: its flushes must reach QEMUs display.
for i in $(seq 30); do echo "virtio-video gpu-backend test, line $i" >/dev/tty1; done
sleep 2
