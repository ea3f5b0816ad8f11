#!/usr/bin/env bash
# Zero-copy fallbacks (issue 5), one boot with --gpu=qemu: QEMU's own
# virtio-gpu-pci, which has no RESOURCE_UUID (and the daemon serves no GPU, so
# the video device offers no RESOURCE_VIRTIO_OBJECT). The same guest program
# still decodes into PRIME-exported virtio-gpu dumb buffers (NV12 and BGRA,
# MD5 = the host's decode), now through their pages: the daemon's counters
# must show guest pages, and no virtio object, on the frame queue. The
# too-small buffer is refused there too.
. "$(dirname "$0")/lib"
zc_need_prog
clip=$(zc_stream 320x240 30)
run_vm fallback --gpu=qemu --timeout 300 -- bash -c "
	for d in /sys/bus/virtio/devices/*; do
		[ \"\$(cat \$d/device)\" = 0x0010 ] && echo \"gpu-features=\$(cat \$d/features)\"
	done
	$(zc_decode "$clip" nv12 --format nv12 --small)
	$(zc_decode "$clip" bgra --format bgra)"
[ "$rc" = 0 ] || fail "guest run failed (exit $rc)"
# Feature bit 2 (the third character) is VIRTIO_GPU_F_RESOURCE_UUID.
grep -q '^gpu-features=..0' "$TMP/fallback.out" || fail "the GPU offered RESOURCE_UUID: not QEMU's virtio-gpu-pci"
grep -q '^gpu-decode: small buffer .*refused at QBUF' "$TMP/fallback.out" ||
	fail "the too-small buffer was not refused"
k=0 bad=0
for t in nv12 bgra; do
	k=$((k + 1))
	if [ $t = bgra ]; then want=$(zc_ref_bgra "$clip"); else want=$(zc_ref_i420 "$clip"); fi
	line=$(zc_counters fallback $k)
	echo "$t: $line"
	if ! zc_check_frames fallback $t "$want" "$line"; then
		bad=$((bad + 1))
	elif [ "${zc_pages:-0}" -lt 1 ] || [ "$zc_objs" != 0 ]; then
		echo "BAD  $t: expected guest pages only (pages=$zc_pages objects=$zc_objs)"; bad=$((bad + 1))
	else
		echo "ok   $t: MD5 $want, guest pages $zc_pages, virtio objects $zc_objs"
	fi
done
[ $bad = 0 ] || fail "$bad of 2 fallback decodes failed"
echo ok
