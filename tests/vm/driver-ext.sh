#!/usr/bin/env bash
# Guest driver with crosvm's GET/SET_PARAMS_EXT (issue 6). Two boots.
# 1. --gpu (the daemon's GPU, so the device takes virtio objects), daemon -v:
#    the guest says dialect params-ext (sysfs, dmesg); GStreamer decodes
#    H.264/HEVC/VP8/VP9 (mmap) and H.264/VP9 with capture-io-mode=dmabuf,
#    gpu-decode into virtio-gpu dma-bufs (UUIDs: the frame queue stays
#    virtio objects) and into vgem dma-bufs (not virtio: the queue is switched
#    to guest pages by SET_PARAMS_EXT before its first resource); MD5s = the
#    host decode. The daemon logs the dialect for every stream, the switch,
#    and the counters show objects resp. guest pages. Then the module again
#    with params_ext=0: dialect v3, H.264 decodes, no new dialect line.
# 2. Daemon --no-params-ext: the probe's GET_PARAMS_EXT is an unknown command,
#    the guest says dialect v3, H.264/VP9 (mmap, dmabuf) decode bit-exactly
#    and the daemon never sees the dialect.
. "$(dirname "$0")/lib"
zc_need_prog
need_streams h264.h264 hevc.hevc vp8.ivf vp9.ivf
clip=$(zc_stream 320x240 30)
ko=$top/kernel/virtio_video.ko
dialect_lines="grep -c 'guest uses crosvm params-ext dialect' \$VV_OUT/daemon.log"

# ---- 1: EXT ----
VV_DAEMON_ARGS="--backend ffmpeg -v" run_vm ext --gpu --timeout 600 -- bash -c "
	bash tests/guest/vv-dev.sh
	$(guest_decode gst h264.h264 hevc.hevc vp8.ivf vp9.ivf)
	$(guest_decode gst:dmabuf h264.h264 vp9.ivf)
	$(zc_decode "$clip" nv12 --format nv12)
	modprobe vgem && $(zc_decode "$clip" vgem --alloc vgem)
	echo \"EXT-LINES \$($dialect_lines)\"
	echo \"STREAMS \$(grep -c 'stream [0-9]* end:' \$VV_OUT/daemon.log)\"
	rmmod virtio_video && insmod $ko params_ext=0 && sleep 1 || echo 'RELOAD failed'
	bash tests/guest/vv-dev.sh 2
	$(guest_decode gst h264.h264)
	echo \"EXT-LINES2 \$($dialect_lines)\""
[ "$rc" = 0 ] || fail "EXT run failed (exit $rc)"
run=$(run_folder ext)
[ "$(run_field ext DIALECT)" = params-ext ] || fail "EXT: the guest's dialect is '$(run_field ext DIALECT)', not params-ext"
[ "$(run_field ext PARAM)" = Y ] || fail "EXT: params_ext is not Y"
grep -q 'virtio_video virtio[0-9]*: dialect: crosvm params-ext' "$run/dmesg.txt" ||
	fail "EXT: no 'dialect: crosvm params-ext' line in the guest's dmesg"
check_run_decodes ext 7
i420=$(zc_ref_i420 "$clip")
for t in nv12 vgem; do
	zc_check_run ext $t "$i420"
	if [ $t = nv12 ]; then
		[ "$zc_pages" = 0 ] && [ "${zc_objs:-0}" -ge 1 ] || fail "EXT: virtio-gpu buffers did not go as virtio objects"
		[ "$zc_sw" = 0 ] || fail "EXT: the frame queue of virtio-gpu buffers was switched to guest pages"
	else
		[ "${zc_pages:-0}" -ge 1 ] && [ "$zc_objs" = 0 ] || fail "EXT: vgem buffers did not go as guest pages"
		[ "${zc_sw:-0}" -ge 1 ] || fail "EXT: the frame queue of vgem buffers was not switched by SET_PARAMS_EXT"
	fi
done
# Every stream of the first module (6 GStreamer decodes, 2 gpu-decode runs)
# used the dialect.
n=$(run_field ext EXT-LINES)
[ "${n:-0}" -ge 8 ] && [ "$n" = "$(run_field ext STREAMS)" ] ||
	fail "EXT: the daemon logged the params-ext dialect for ${n:-0} of $(run_field ext STREAMS) streams (8 or more)"
grep -q 'unknown command 0x10' "$run/daemon.log" && fail "EXT: the daemon saw an unknown EXT command"
echo "ok   ext: the daemon logged the dialect for $n streams"
# The forced plain path.
[ "$(run_field ext DIALECT2)" = v3 ] || fail "params_ext=0: dialect '$(run_field ext DIALECT2)', not v3"
grep -q 'dialect: plain v3 (params_ext=0)' "$run/dmesg.txt" || fail "params_ext=0: no dmesg line"
[ "$(run_field ext EXT-LINES2)" = "$n" ] || fail "params_ext=0: the daemon saw the dialect again"
[ "$(sed -n '/^DIALECT2 /,$p' "$TMP/ext.out" | grep -c '^DEC gst h264.h264 ')" = 1 ] ||
	fail "params_ext=0: no decode after the reload"
echo "ok   ext: params_ext=0 decodes in plain v3"

# ---- 2: daemon without the EXT commands ----
VV_DAEMON_ARGS="--backend ffmpeg --no-params-ext" run_vm plain --timeout 400 -- bash -c "
	bash tests/guest/vv-dev.sh
	$(guest_decode gst h264.h264 vp9.ivf)
	$(guest_decode gst:dmabuf h264.h264)"
[ "$rc" = 0 ] || fail "plain run failed (exit $rc)"
run=$(run_folder plain)
[ "$(run_field plain DIALECT)" = v3 ] || fail "--no-params-ext: the guest's dialect is '$(run_field plain DIALECT)', not v3"
grep -q 'dialect: plain v3 (GET_PARAMS_EXT answered 0x304' "$run/dmesg.txt" ||
	fail "--no-params-ext: no 'dialect: plain v3' line for an unknown command in dmesg"
check_run_decodes plain 3
grep -q 'GET/SET_PARAMS_EXT disabled' "$run/daemon.log" || fail "--no-params-ext: the daemon did not take the option"
[ "$(grep -c 'unknown command 0x10d' "$run/daemon.log")" = 1 ] ||
	fail "--no-params-ext: expected exactly one GET_PARAMS_EXT (the probe)"
grep -q 'unknown command 0x10e' "$run/daemon.log" && fail "--no-params-ext: the guest sent SET_PARAMS_EXT"
grep -q 'params-ext dialect' "$run/daemon.log" && fail "--no-params-ext: the daemon logged the dialect"
echo ok
