#!/usr/bin/env bash
# Every codec the plugin encodes (H.264, HEVC, VP8, VP9) through vv-client
# --encode and the encoder device: ffmpeg decodes the output to exactly the
# frames that went in, PSNR against the source above the bound, the daemon's
# counters agree with the client (frames, packets, keyframes, bytes), the
# IFRAME flags agree with the stream's own keyframes, and NV12 input,
# per-plane frames and a padded stride give the same picture quality.
# Fails if: a packet is lost or doubled, a frame is encoded from the wrong
# plane offsets or stride (PSNR drops to ~10 dB), the flags lie about frame
# types, or bytes are lost between the device and the file.
. "$(dirname "$0")/lib.bash"
need_encoder
start_encoder
WH=320x240 N=30 BITRATE=1000000
# testsrc2 at 320x240, 1 Mbit/s: every codec reaches 35+ dB; a broken plane
# layout or stride gives 10-20 dB.
MIN_PSNR=32
raw=$(raw_clip $WH $N)
codecs=$(enc_codecs h264 hevc vp8 vp9)
[ -n "$codecs" ] || fail "the plugin encodes none of h264 hevc vp8 vp9"

check_encoded() { # CODEC OUT [what]
	local codec=$1 out=$2 what=${3:-} n p keys fkeys line bytes size
	n=$(decode_to "$out" "$TMP/dec.yuv")
	[ "$n" = $N ] || fail "$codec $what: ffmpeg decodes $n frames, $N went in"
	p=$(psnr "$TMP/dec.yuv" "$raw" $WH)
	[ -n "$p" ] && fge "$p" $MIN_PSNR || fail "$codec $what: PSNR $p dB, bound $MIN_PSNR"
	keys=$(enc_field keyframes) fkeys=$(stream_keys "$out")
	[ "$keys" = "$fkeys" ] || fail "$codec $what: IFRAME flags at $keys, the stream's keyframes at $fkeys"
	[ "$(enc_field frames)" = $N ] || fail "$codec $what: client says $(enc_field frames) frames"
	# the daemon's counters: every frame encoded, every packet out, all bytes in the file
	for _ in $(seq 20); do line=$(enc_end_line) && [ -n "$line" ] && break; sleep 0.1; done
	[ "$(line_field "$line" frames_encoded)" = $N ] && [ "$(line_field "$line" packets_output)" = $N ] ||
		fail "$codec $what: daemon counters: $line"
	[ "$(line_field "$line" keyframes)" = "$(echo "$keys" | tr ',' '\n' | grep -c .)" ] ||
		fail "$codec $what: daemon keyframes $(line_field "$line" keyframes), flags say $keys"
	bytes=$(line_field "$line" bytes_out) size=$(stat -c %s "$out")
	[ "$codec" = vp8 ] || [ "$codec" = vp9 ] && size=$((size - 32 - 12 * N))
	[ "$bytes" = "$size" ] && [ "$bytes" = "$(enc_field bytes)" ] ||
		fail "$codec $what: daemon bytes_out $bytes, client $(enc_field bytes), in the file $size"
	echo "ok: $codec $what: $n frames, PSNR $p dB, keyframes $keys, $bytes bytes"
	: >"$DLOG"
}

for c in $codecs; do
	out=$TMP/out.$(enc_ext "$c")
	encode "$c" "$raw" $WH "$out" --bitrate $BITRATE
	check_encoded "$c" "$out"
done
c=${codecs%% *}
out=$TMP/out.$(enc_ext "$c")
ffq -f rawvideo -pix_fmt yuv420p -s $WH -i "$raw" -f rawvideo -pix_fmt nv12 "$TMP/in.nv12"
encode "$c" "$TMP/in.nv12" $WH "$out" --bitrate $BITRATE --format nv12
check_encoded "$c" "$out" "NV12"
encode "$c" "$raw" $WH "$out" --bitrate $BITRATE --layout per-plane
check_encoded "$c" "$out" "per-plane"
encode "$c" "$TMP/in.nv12" $WH "$out" --bitrate $BITRATE --format nv12 --layout per-plane --stride 384
check_encoded "$c" "$out" "NV12 per-plane stride 384"
encode "$c" "$raw" $WH "$out" --bitrate $BITRATE --stride 352 --in-flight 4
check_encoded "$c" "$out" "stride 352, 4 frames in flight"
stop_daemon
