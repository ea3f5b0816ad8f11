#!/usr/bin/env bash
# Our guest driver against a device that behaves like crosvm's: the
# GET/SET_PARAMS_EXT dialect, virtio objects, but no PER_RESOURCE_MEM_TYPE
# (daemon --no-per-resource-mem). Two boots, both --gpu.
# 1. --no-per-resource-mem, daemon -v: the guest says dialect params-ext and
#    did not negotiate feature 16 (sysfs features); GStreamer H.264/VP9 mmap
#    and H.264 capture-io-mode=dmabuf; gpu-decode into virtio-gpu dma-bufs
#    (all virtio objects, no switch) and into vgem dma-bufs (all guest pages,
#    the frame queue switched by SET_PARAMS_EXT at the first QBUF); and
#    gpu-decode --mix refuse: a vgem dma-buf queued after virtio-gpu ones on
#    the same queue fails QBUF with EINVAL, and the stream still decodes with
#    virtio objects only. All MD5s = the host decode; no kernel WARNING
#    (vm-run fails on one; dmesg checked too).
# 2. The default daemon (feature 16 offered): gpu-decode --mix accept: the
#    vgem buffer is taken (per-resource bit 30) and carries frames, the
#    stream's counters show both virtio objects and guest pages, MD5 exact.
. "$(dirname "$0")/lib"
zc_need_prog
need_streams h264.h264 vp9.ivf
clip=$(zc_stream 320x240 30)
i420=$(zc_ref_i420 "$clip")

# Guest lines (tests/guest/vv-dev.sh): the dialect and feature bits 16 and 2.
probe="bash tests/guest/vv-dev.sh"
no_warning() {
	! grep -E 'WARNING:|BUG:|Oops' "$(run_folder "$1")/dmesg.txt" || fail "$1: kernel warning in the guest (above)"
}

# ---- 1: crosvm's profile ----
VV_DAEMON_ARGS="--backend ffmpeg -v --no-per-resource-mem" run_vm crosvm --gpu --timeout 600 -- bash -c "
	$probe
	$(guest_decode gst h264.h264 vp9.ivf)
	$(guest_decode gst:dmabuf h264.h264)
	$(zc_decode "$clip" nv12 --format nv12)
	modprobe vgem || echo 'NO-VGEM'
	$(zc_decode "$clip" vgem --alloc vgem)
	$(zc_decode "$clip" mix --mix refuse)"
[ "$rc" = 0 ] || fail "crosvm profile run failed (exit $rc)"
run=$(run_folder crosvm)
grep -q 'PER_RESOURCE_MEM_TYPE (feature 16) not offered' "$run/daemon.log" ||
	fail "crosvm: the daemon did not take --no-per-resource-mem"
[ "$(run_field crosvm DIALECT)" = params-ext ] || fail "crosvm: dialect '$(run_field crosvm DIALECT)', not params-ext"
[ "$(run_field crosvm FEAT16)" = 0 ] || fail "crosvm: feature 16 negotiated ('$(run_field crosvm FEAT16)')"
[ "$(run_field crosvm FEAT2)" = 1 ] || fail "crosvm: RESOURCE_VIRTIO_OBJECT not negotiated"
echo "ok   crosvm: dialect params-ext, feature 16 not negotiated, virtio objects negotiated"
check_run_decodes crosvm 3
zc_check_run crosvm nv12 "$i420"
[ "$zc_pages" = 0 ] && [ "${zc_objs:-0}" -ge 1 ] && [ "$zc_sw" = 0 ] ||
	fail "crosvm: virtio-gpu buffers did not go as virtio objects on an unswitched queue"
zc_check_run crosvm vgem "$i420"
[ "${zc_pages:-0}" -ge 1 ] && [ "$zc_objs" = 0 ] && [ "${zc_sw:-0}" -ge 1 ] ||
	fail "crosvm: vgem buffers did not go as guest pages on a queue switched at the first QBUF"
zc_check_run crosvm mix "$i420"
grep -q '^gpu-decode: mixed buffer: vgem dma-buf refused at QBUF (EINVAL)$' "$TMP/crosvm.out" ||
	fail "crosvm: gpu-decode --mix refuse did not report the refusal"
[ "$zc_pages" = 0 ] && [ "${zc_objs:-0}" -ge 1 ] && [ "$zc_sw" = 0 ] ||
	fail "crosvm: after the refused vgem buffer the stream did not go on with virtio objects only"
echo "ok   crosvm: mixing refused at QBUF (EINVAL), the stream decoded with its virtio-gpu buffers"
# The features the driver acked, as the daemon logs them (-v).
f=$(sed -n 's/.*vhost-user-video debug: features \(0x[0-9a-f]*\)$/\1/p' "$run/daemon.log" | tail -n 1)
[ -n "$f" ] && [ $(((f >> 16) & 1)) = 0 ] && [ $(((f >> 2) & 1)) = 1 ] ||
	fail "crosvm: the daemon's acked features '${f:-none}' (bit 16 clear, bit 2 set expected)"
echo "ok   crosvm: the daemon saw features $f acked (no bit 16)"
no_warning crosvm

# ---- 2: our device: feature 16 lets the queue mix ----
VV_DAEMON_ARGS="--backend ffmpeg" run_vm ours --gpu --timeout 300 -- bash -c "
	$probe
	modprobe vgem || echo 'NO-VGEM'
	$(zc_decode "$clip" mix --mix accept)"
[ "$rc" = 0 ] || fail "feature-16 run failed (exit $rc)"
[ "$(run_field ours DIALECT)" = params-ext ] && [ "$(run_field ours FEAT16)" = 1 ] ||
	fail "ours: dialect '$(run_field ours DIALECT)', feature 16 '$(run_field ours FEAT16)' (params-ext, 1 expected)"
zc_check_run ours mix "$i420"
grep -q '^gpu-decode: mixed buffer: [1-9][0-9]* frames decoded into the vgem buffer$' "$TMP/ours.out" ||
	fail "ours: the mixed vgem buffer was not accepted or carried no frame"
[ "${zc_pages:-0}" -ge 1 ] && [ "${zc_objs:-0}" -ge 1 ] ||
	fail "ours: the mixed stream's counters do not show both virtio objects and guest pages"
echo "ok   ours: mixing accepted with feature 16: $(grep -o '[0-9]* frames decoded into the vgem buffer' "$TMP/ours.out")"
no_warning ours
echo ok
