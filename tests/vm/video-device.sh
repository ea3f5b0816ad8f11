#!/usr/bin/env bash
# The video device (virtio ID 31) is present in the guest, served by the host
# daemon; once kernel/*.ko is built, its /dev/video node answers v4l2-ctl --all.
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
run_vm dev -- sh -c '
	d=$(grep -l 0x001f /sys/bus/virtio/devices/*/device) || { echo "no virtio device 0x001f"; exit 2; }
	echo "device: $d"
	[ "$(cat /sys/bus/virtio/devices/*/device | grep -c 0x001f)" = 1 ] || exit 3
	ls /sys/bus/virtio/drivers/ 2>/dev/null
	if ls /dev/video* >/dev/null 2>&1; then
		for v in /dev/video*; do
			echo "== $v"
			v4l2-ctl -d "$v" --all || exit 4
		done
		echo video-nodes-ok
	fi'
[ $rc = 0 ] || fail "guest checks failed (exit $rc)"
grep -q 'device: ' "$tmp/dev.out" || fail "device not reported"
if ! guest_modules; then
	skip "video device present; kernel/*.ko not built, v4l2-ctl check skipped"
fi
grep -q video-nodes-ok "$tmp/dev.out" || fail "kernel/*.ko built but no /dev/video* in the guest"
echo ok
