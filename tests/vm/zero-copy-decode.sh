#!/usr/bin/env bash
# Zero-copy decode into virtio-gpu buffers (issue 5), one boot with --gpu (the
# daemon's GPU: RESOURCE_UUID). tests/guest/gpu-decode allocates DRM dumb
# buffers on the guest's virtio_gpu card, exports them with PRIME and queues
# them as DMABUF CAPTURE buffers on the virtio-video decoder, then reads every
# frame back through the dumb buffer's mapping. Checks, in order:
#   1. NV12 and 2. YUV420: I420 MD5 = the host's ffmpeg decode
#   3. BGRA (V4L2 ABGR32): MD5 = the host decode in the plugin's RGB conversion (tests/ref-rgb)
#   4. a dumb buffer too small for the frame, queued first, is refused at QBUF
#      (or comes back with ERROR); the decode then goes on and matches
#   5. vgem dumb buffers (not virtio dma-bufs): MD5 matches, through guest pages
# and, from the daemon's counters line of each stream: 1-4 put only virtio
# objects on the frame queue (res_guest_pages_out=0, res_virtio_object_out>0),
# 5 only guest pages. vm-run fails on any WARNING/BUG/Oops in the guest log.
. "$(dirname "$0")/lib"
zc_need_prog
clip=$(zc_stream 320x240 30)
run_vm decode --gpu --timeout 300 -- bash -c "
	$(zc_decode "$clip" nv12 --format nv12)
	$(zc_decode "$clip" yuv420 --format yuv420)
	$(zc_decode "$clip" bgra --format bgra)
	$(zc_decode "$clip" small --small)
	modprobe vgem && $(zc_decode "$clip" vgem --alloc vgem)"
[ "$rc" = 0 ] || fail "guest run failed (exit $rc)"
i420=$(zc_ref_i420 "$clip")
bgra=$(zc_ref_bgra "$clip")
k=0 bad=0
for t in nv12 yuv420 bgra small vgem; do
	k=$((k + 1))
	want=$i420
	[ $t = bgra ] && want=$bgra
	line=$(zc_counters decode $k)
	echo "$t: $line"
	if ! zc_check_frames decode $t "$want" "$line"; then
		bad=$((bad + 1))
	elif [ $t = vgem ] && { [ "${zc_pages:-0}" -lt 1 ] || [ "$zc_objs" != 0 ]; }; then
		echo "BAD  $t: vgem buffers must go as guest pages (pages=$zc_pages objects=$zc_objs)"; bad=$((bad + 1))
	elif [ $t != vgem ] && { [ "$zc_pages" != 0 ] || [ "${zc_objs:-0}" -lt 1 ]; }; then
		echo "BAD  $t: frame queue not all virtio objects (pages=$zc_pages objects=$zc_objs)"; bad=$((bad + 1))
	else
		echo "ok   $t: MD5 $want, guest pages $zc_pages, virtio objects $zc_objs"
	fi
done
grep -E '^gpu-decode: small buffer .*(refused at QBUF|came back with V4L2_BUF_FLAG_ERROR)' "$TMP/decode.out" ||
	fail "the too-small buffer was neither refused nor returned with ERROR"
[ "$(grep -c 'stream [0-9]* end:' "$(run_folder decode)/daemon.log")" = 5 ] ||
	fail "expected 5 streams in the daemon log"
[ $bad = 0 ] || fail "$bad of 5 zero-copy decodes failed"
echo ok
