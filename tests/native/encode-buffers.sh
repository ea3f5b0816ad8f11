#!/usr/bin/env bash
# Buffers and stream handling of the encoder device (320x240 unless said):
#  - an odd size, 202x130 (not a multiple of 16: padded default strides),
#    every codec: all frames back, PSNR above the bound;
#  - scattered guest pages (--scatter: one 4 KiB entry per page, reversed,
#    two memory regions), single-buffer and per-plane frames, NV12: PSNR as
#    the contiguous run, and the daemon read them in place (bytes_copied is
#    only the packets);
#  - --drain-at 20 of 40: the first drain ends with EOS, encoding goes on
#    with a keyframe at 20, every frame comes back, 2 drains; also with 4
#    frames in flight (the drain's EOS rides on the last packet);
#  - 8 concurrent streams: every stream's output decodes to every frame and
#    the daemon logged 8 stream ends;
#  - 1 KiB OUTPUT buffers: the device answers ERR (size 0) and keeps the
#    packet; vv-client replaces them with bigger ones; no packet is lost
#    (every frame decodes, the daemon counted output_too_small), and the
#    next stream works.
# Fails if: a scattered entry is read out of order (PSNR ~10 dB), the drain
# loses or duplicates a packet or ends without EOS, streams mix up their
# packets, or a too-small buffer drops the packet.
. "$(dirname "$0")/lib.bash"
need_encoder
start_encoder
MIN_PSNR=30
codecs=$(enc_codecs h264 hevc vp8 vp9)
[ -n "$codecs" ] || fail "the plugin encodes none of h264 hevc vp8 vp9"
c1=${codecs%% *}

quality() { # CODEC OUT RAW WxH N WHAT: all frames, PSNR above the bound; prints the PSNR
	local n p
	n=$(decode_to "$2" "$TMP/dec.yuv")
	[ "$n" = "$5" ] || fail "$1 $6: ffmpeg decodes $n frames, $5 went in"
	p=$(psnr "$TMP/dec.yuv" "$3" "$4")
	[ -n "$p" ] && fge "$p" $MIN_PSNR || fail "$1 $6: PSNR $p dB (bound $MIN_PSNR)"
	echo "$p"
}

# odd size
odd=$(raw_clip 202x130 20)
for c in $codecs; do
	out=$TMP/odd.$(enc_ext "$c")
	encode "$c" "$odd" 202x130 "$out" --bitrate 500000 >/dev/null
	echo "ok: $c 202x130: PSNR $(quality "$c" "$out" "$odd" 202x130 20 202x130) dB"
done

# scattered guest pages
raw=$(raw_clip 320x240 30)
ffq -f rawvideo -pix_fmt yuv420p -s 320x240 -i "$raw" -f rawvideo -pix_fmt nv12 "$TMP/in.nv12"
out=$TMP/s.$(enc_ext "$c1")
encode "$c1" "$raw" 320x240 "$out" --bitrate 800000 >/dev/null
ref=$(quality "$c1" "$out" "$raw" 320x240 30 contiguous)
for args in "--scatter" "--scatter --layout per-plane --regions 2" "--scatter --format nv12 --regions 2"; do
	input=$raw
	[[ $args == *nv12* ]] && input=$TMP/in.nv12
	: >"$DLOG"
	# shellcheck disable=SC2086
	encode "$c1" "$input" 320x240 "$out" --bitrate 800000 $args >/dev/null
	p=$(quality "$c1" "$out" "$raw" 320x240 30 "$args")
	# the same frames in other pages: the same stream
	[ "$p" = "$ref" ] || fail "$c1 $args: PSNR $p dB, contiguous frames gave $ref"
	line=$(enc_end_line)
	[ "$(line_field "$line" bytes_copied)" = "$(line_field "$line" bytes_out)" ] ||
		fail "$c1 $args: frames copied, not read in place: $line"
	echo "ok: $c1 $args: PSNR $p dB (as contiguous), frames read in place"
done

# a drain in the middle, encoding goes on
raw40=$(raw_clip 320x240 40)
for c in $codecs; do
	out=$TMP/d.$(enc_ext "$c")
	for flight in 1 4; do
		encode "$c" "$raw40" 320x240 "$out" --bitrate 500000 --drain-at 20 --in-flight $flight >/dev/null
		[ "$(enc_field drains)" = 2 ] || fail "$c --drain-at 20: $(enc_field drains) drains"
		[[ ,$(enc_field keyframes), == *,20,* ]] || fail "$c --drain-at 20: no keyframe at 20 ($(enc_field keyframes))"
		echo "ok: $c --drain-at 20 --in-flight $flight: 2 drains, keyframes $(enc_field keyframes)," \
			"PSNR $(quality "$c" "$out" "$raw40" 320x240 40 "--drain-at 20") dB"
	done
done

# 8 concurrent streams
: >"$DLOG"
out=$TMP/m.$(enc_ext "$c1")
encode "$c1" "$raw" 320x240 "$out" --bitrate 500000 --streams 8 --in-flight 2 >/dev/null
for k in 1 2 3 4 5 6 7 8; do
	f=$out
	[ $k = 1 ] || f=$out.$k
	[ "$(enc_field frames $k)" = 30 ] || fail "stream $k: $(enc_field frames $k) frames"
	quality "$c1" "$f" "$raw" 320x240 30 "stream $k of 8" >/dev/null
done
sleep 0.2
[ "$(grep -c 'end: frames_encoded=30 packets_output=30 ' "$DLOG")" = 8 ] ||
	fail "8 streams: $(grep -c 'end: frames_encoded=30 packets_output=30 ' "$DLOG") complete stream ends logged"
echo "ok: $c1 8 concurrent streams: each 30 frames, every output decodes"

# bitstream buffers too small: ERR, the packet kept for a bigger buffer
for c in $codecs; do
	: >"$DLOG"
	out=$TMP/t.$(enc_ext "$c")
	encode "$c" "$raw" 320x240 "$out" --bitrate 800000 --out-buffer-size 1024 --in-flight 2 >/dev/null
	small=$(enc_field too_small) line=$(enc_end_line)
	[ "$small" -gt 0 ] || fail "$c 1 KiB buffers: no OUTPUT buffer came back too small"
	[ "$(line_field "$line" output_too_small)" -ge "$small" ] || fail "$c: daemon counters: $line"
	echo "ok: $c 1 KiB OUTPUT buffers: $small answered ERR, packets kept," \
		"PSNR $(quality "$c" "$out" "$raw" 320x240 30 "1 KiB buffers") dB"
done
encode "$c1" "$raw" 320x240 "$out" --bitrate 800000 >/dev/null
[ "$(enc_field too_small)" = 0 ] || fail "default buffers too small"
stop_daemon
