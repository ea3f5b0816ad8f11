#!/usr/bin/env bash
# Guest driver, encoder device with the daemon's virtio-gpu (vm-run --gpu
# --encoder), one boot: vv-enctest draws the frames of a 3 s NV12 clip into
# DMABUF OUTPUT buffers and encodes H.264,
#  - from virtio-gpu dumb buffers: the stream's input resources are all
#    virtio objects (res_virtio_object_in > 0, res_guest_pages_in = 0);
#  - from vgem dumb buffers: all guest pages (the reverse).
# Both: every frame encoded, PSNR against the clip >= MIN_PSNR, and the
# daemon copied no frame (bytes_copied = bytes_out: only the packets are
# copied into the guest's bitstream buffers).
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
guest_modules || skip "guest driver not built (no kernel/*.ko)"
prog=$VV_BUILD/guest/vv-enctest
[ -x "$prog" ] || skip "no $prog (make guest-progs)"
WH=320x240 N=90 FPS=30 MIN_PSNR=30
raw=$(raw_clip $WH $N nv12)	# testsrc2, 30 fps
ref=$TMP/ref.yuv
ffmpeg -nostdin -v error -f rawvideo -pix_fmt nv12 -s $WH -i "$raw" -f rawvideo \
	-pix_fmt yuv420p "$ref" || fail "cannot convert $raw"

run_vm zc --gpu --encoder --timeout 600 -- bash -c "
	$prog --dmabuf virtio_gpu $raw $WH \$VV_OUT/gpu.h264 || exit 5
	modprobe vgem || exit 6
	$prog --dmabuf vgem $raw $WH \$VV_OUT/vgem.h264 || exit 7"
[ $rc = 0 ] || fail "guest run failed (exit $rc)"
run_dir=$(run_folder zc)

counter() { echo "$1" | sed -n "s/.* $2=\([0-9]*\).*/\1/p"; }
stream=0
for kind in gpu vgem; do
	stream=$((stream + 1))
	f=$run_dir/$kind.h264 dec=$TMP/dec.yuv
	ffmpeg -nostdin -v error -i "$f" -f rawvideo -pix_fmt yuv420p -y "$dec" || fail "$kind: cannot decode"
	frames=$(( $(stat -c %s "$dec") / (${WH%x*} * ${WH#*x} * 3 / 2) ))
	[ "$frames" = $N ] || fail "$kind: $frames frames, not $N"
	psnr=$(ffmpeg -nostdin -hide_banner -f rawvideo -pix_fmt yuv420p -s $WH -i "$ref" \
		-f rawvideo -pix_fmt yuv420p -s $WH -i "$dec" -lavfi '[0][1]psnr' -f null - 2>&1 |
		sed -n 's/.*PSNR .* average:\([0-9.inf]*\) .*/\1/p' | tail -n 1)
	awk -v p="$psnr" -v m=$MIN_PSNR 'BEGIN { exit !(p + 0 >= m) }' || fail "$kind: PSNR $psnr dB"
	end=$(grep "stream $stream end:" "$run_dir/daemon.log") || fail "$kind: no stream $stream end line"
	obj=$(counter "$end" res_virtio_object_in) pages=$(counter "$end" res_guest_pages_in)
	if [ $kind = gpu ]; then
		[ "$obj" -gt 0 ] && [ "$pages" = 0 ] || fail "virtio-gpu buffers: $end"
	else
		[ "$pages" -gt 0 ] && [ "$obj" = 0 ] || fail "vgem buffers: $end"
	fi
	[ "$(counter "$end" bytes_copied)" = "$(counter "$end" bytes_out)" ] ||
		fail "$kind: the daemon copied frames: $end"
	echo "ok   $kind dma-bufs: $frames frames, PSNR $psnr dB, input virtio objects $obj, guest pages $pages"
done
echo ok
