#!/usr/bin/env bash
# Guest driver, decoder and encoder in one guest (vm-run --both): GStreamer
# transcodes H.264 to VP9 with no copy of the frames in the guest,
#   v4l2h264dec capture-io-mode=dmabuf ! v4l2vp9enc output-io-mode=dmabuf-import
# (the encoder imports the decoder's CAPTURE dma-bufs; they are not virtio-gpu
# buffers, so they reach the encoder device as guest pages). Checks: the VP9
# file decodes on the host to the source's frame count with PSNR against the
# host's decode of the source >= MIN_PSNR; the encoder's OUTPUT pool requested
# DMABUF buffers and GStreamer copied no raw frame into it (its "copy raw
# bytes" lines name only the bitstream pools); the encoder daemon encoded
# every frame from guest-page resources.
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
guest_modules || skip "guest driver not built (no kernel/*.ko)"
src=$VV_BUILD/test-streams/h264.h264
[ -f "$src" ] || skip "no $src (the native tests generate the streams)"
MIN_PSNR=30
ref=$TMP/ref.yuv
ffmpeg -nostdin -v error -i "$src" -f rawvideo -pix_fmt yuv420p "$ref" || fail "cannot decode $src"
wh=$(ffprobe -v error -select_streams v -show_entries stream=width,height -of csv=p=0:s=x "$src")
n=$(( $(stat -c %s "$ref") / (${wh%x*} * ${wh#*x} * 3 / 2) ))

GST_DEBUG=v4l2bufferpool:5 run_vm transcode --both --timeout 600 -- bash -c '
	gst-launch-1.0 filesrc location="$1" ! h264parse ! v4l2h264dec capture-io-mode=dmabuf ! \
		v4l2vp9enc output-io-mode=dmabuf-import ! matroskamux ! \
		filesink location="$VV_OUT/transcode.mkv" >"$VV_OUT/gst.log" 2>&1
	echo "gst-exit=$?"' _ "$src"
[ $rc = 0 ] || fail "guest run failed (exit $rc)"
run_dir=$(run_folder transcode)
grep -qx gst-exit=0 "$TMP/transcode.out" || { tail -n 20 "$run_dir/gst.log"; fail "the pipeline failed"; }

out=$run_dir/transcode.mkv dec=$TMP/dec.yuv
ffmpeg -nostdin -v error -i "$out" -f rawvideo -pix_fmt yuv420p "$dec" || fail "cannot decode $out"
frames=$(( $(stat -c %s "$dec") / (${wh%x*} * ${wh#*x} * 3 / 2) ))
[ "$frames" = "$n" ] || fail "$frames frames, the source has $n"
psnr=$(ffmpeg -nostdin -hide_banner -f rawvideo -pix_fmt yuv420p -s "$wh" -i "$ref" \
	-f rawvideo -pix_fmt yuv420p -s "$wh" -i "$dec" -lavfi '[0][1]psnr' -f null - 2>&1 |
	sed -n 's/.*PSNR .* average:\([0-9.inf]*\) .*/\1/p' | tail -n 1)
awk -v p="$psnr" -v m=$MIN_PSNR 'BEGIN { exit !(p + 0 >= m) }' || fail "PSNR $psnr dB under $MIN_PSNR"
echo "ok   H.264 -> VP9: $frames frames, PSNR $psnr dB"

log=$TMP/gst.log
sed 's/\x1b\[[0-9;]*m//g' "$run_dir/gst.log" >"$log"	# GStreamer's colours
grep -q 'v4l2vp9enc[0-9]*:pool[0-9]*:sink> requesting [0-9]* DMABUF buffers' "$log" ||
	fail "the encoder's OUTPUT pool did not import dma-bufs"
copies=$(grep -c 'v4l2vp9enc[0-9]*:pool[0-9]*:sink> copy raw bytes' "$log")
[ "$copies" = 0 ] || fail "GStreamer copied $copies raw frames into the encoder"
grep -q 'v4l2h264dec[0-9]*:pool[0-9]*:src> copy raw bytes' "$log" &&
	fail "GStreamer copied frames out of the decoder"
echo "ok   the encoder imported the decoder's dma-bufs: no raw frame copied in the guest"

end=$(grep "stream [0-9]* end: frames_encoded=$n " "$run_dir/daemon-enc.log") ||
	{ grep "end:" "$run_dir/daemon-enc.log"; fail "the encoder daemon did not encode $n frames in one stream"; }
case $end in
*" res_guest_pages_in=0 "*) fail "no guest-page input resources: $end" ;;
esac
echo "ok   encoder daemon: ${end#*end: }"
echo ok
