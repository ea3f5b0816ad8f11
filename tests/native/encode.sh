#!/usr/bin/env bash
# The encoder device (--device encoder) through vv-enc-client, one frame in
# flight at a time: every codec's output decodes with the host's ffmpeg to
# as many frames as went in, PSNR against the source above 35 dB (320x240,
# 1 Mbit/s); guest pages (one run and scattered) and virtio-gpu objects as
# input, with the daemon's counters saying which; GOP size (extension
# control, feature 17) and FORCE_KEYFRAME land on the asked frames, in the
# IFRAME flags and in the stream itself; SPS once vs before every IDR
# (PREPEND_SPSPPS_TO_IDR); CBR within 15% of its target over 2 s; an odd size.
. "$(dirname "$0")/lib.bash"
need_tools
ENC=$VV_BUILD/vv-enc-client
[ -x "$ENC" ] || skip "no $ENC (make client-all)"
GSOCK=$TMP/gpu.sock
start_encoder --gpu-socket-path "$GSOCK"
for _ in $(seq 100); do [ -S "$GSOCK" ] && break; sleep 0.05; done

raw() { # name WxH frames: an NV12 clip
	[ -s "$TMP/$1.nv12" ] || ffmpeg -loglevel error -f lavfi -i "testsrc2=size=$2:rate=30" \
		-frames:v "$3" -pix_fmt nv12 -f rawvideo "$TMP/$1.nv12" || fail "cannot make $1"
	echo "$TMP/$1.nv12"
}
enc() { # out codec WxH input [options]: runs vv-enc-client, prints its line
	local out=$1 codec=$2 size=$3 in=$4
	shift 4
	timeout 120 "$ENC" --video-socket "$SOCK" --codec "$codec" --input "$in" \
		--width "${size%x*}" --height "${size#*x}" --output "$out" "$@" ||
		fail "vv-enc-client $codec $size $* failed"
}
frames_of() { ffprobe -v error -count_frames -select_streams v -show_entries stream=nb_read_frames -of csv=p=0 "$1"; }
psnr_of() { # coded raw WxH: average PSNR, frame by frame (both decoded to raw first)
	ffmpeg -loglevel error -y -i "$1" -f rawvideo -pix_fmt nv12 "$TMP/dec.nv12" || return 1
	ffmpeg -f rawvideo -pix_fmt nv12 -s "$3" -i "$TMP/dec.nv12" -f rawvideo -pix_fmt nv12 -s "$3" -i "$2" \
		-lavfi '[0:v][1:v]psnr' -f null - 2>&1 | sed -n 's/.*average:\([0-9.]*\).*/\1/p' | tail -n 1
}
keys_of() { # positions of keyframes in the stream itself
	ffprobe -v error -select_streams v -show_entries frame=key_frame -of default=nw=1:nk=1 "$1" |
		awk '$1 == 1 { printf "%s%d", n++ ? "," : "", NR - 1 }'
}
last_end() { grep 'stream [0-9]* end: frames_encoded' "$DLOG" | tail -n 1; }

src=$(raw qvga 320x240 30)
for codec in h264 hevc vp8 vp9; do
	line=$(enc "$TMP/out.$codec" $codec 320x240 "$src" --bitrate 1000000)
	n=$(frames_of "$TMP/out.$codec")
	p=$(psnr_of "$TMP/out.$codec" "$src" 320x240)
	echo "ok?: $codec: $line; decodes to $n frames, PSNR $p dB"
	[ "$n" = 30 ] || fail "$codec: $n frames decoded, 30 went in"
	awk -v p="$p" 'BEGIN { exit !(p > 35) }' || fail "$codec: PSNR $p dB <= 35"
	last_end | grep -q 'frames_encoded=30 packets_output=30 .*res_guest_pages_in=4 .*res_virtio_object_in=0 ' ||
		fail "$codec: counters: $(last_end)"
done

enc "$TMP/scatter.h264" h264 320x240 "$src" --scatter >/dev/null
[ "$(frames_of "$TMP/scatter.h264")" = 30 ] || fail "scattered pages: wrong frame count"
cmp -s "$TMP/scatter.h264" "$TMP/out.h264" || fail "scattered pages encode differently from one run"
echo "ok: scattered guest pages encode the same stream"

for codec in h264 vp8; do
	timeout 120 "$ENC" --video-socket "$SOCK" --gpu-socket "$GSOCK" --codec $codec --input "$src" \
		--width 320 --height 240 --output "$TMP/gpu.$codec" --bitrate 1000000 >/dev/null ||
		fail "virtio-object encode $codec"
	last_end | grep -q 'res_guest_pages_in=0 .*res_virtio_object_in=4 ' ||
		fail "virtio-object input: counters: $(last_end)"
	# libx264 is deterministic: the same bytes; libvpx's realtime mode adapts to time.
	if [ $codec = h264 ]; then
		cmp -s "$TMP/gpu.$codec" "$TMP/out.$codec" ||
			fail "virtio-object input encodes differently from guest pages ($codec)"
	else
		p=$(psnr_of "$TMP/gpu.$codec" "$src" 320x240)
		[ "$(frames_of "$TMP/gpu.$codec")" = 30 ] && awk -v p="$p" 'BEGIN { exit !(p > 35) }' ||
			fail "virtio-object input $codec: frames or PSNR ($p)"
	fi
done
echo "ok: virtio-gpu objects as input (counters: objects only; H.264 bytes equal to the guest-pages encode)"

for codec in h264 hevc vp8 vp9; do
	line=$(enc "$TMP/gop.$codec" $codec 320x240 "$src" --gop 10)
	[ "${line##*keyframes=}" = 0,10,20 ] || fail "$codec gop 10: IFRAME flags at ${line##*keyframes=}"
	[ "$(keys_of "$TMP/gop.$codec")" = 0,10,20 ] || fail "$codec gop 10: stream keyframes $(keys_of "$TMP/gop.$codec")"
	line=$(enc "$TMP/key.$codec" $codec 320x240 "$src" --force-key 7)
	[ "${line##*keyframes=}" = 0,7 ] || fail "$codec force-key 7: IFRAME flags at ${line##*keyframes=}"
	[ "$(keys_of "$TMP/key.$codec")" = 0,7 ] || fail "$codec force-key 7: stream keyframes $(keys_of "$TMP/key.$codec")"
done
echo "ok: GOP 10 and a forced keyframe at 7 land on the asked frames (flags and streams), every codec"

sps() { python3 -c "import sys; d=open(sys.argv[1],'rb').read(); print(d.count(b'\x00\x00\x01\x67'))" "$1"; }
enc "$TMP/once.h264" h264 320x240 "$src" --gop 10 >/dev/null
enc "$TMP/every.h264" h264 320x240 "$src" --gop 10 --prepend-headers >/dev/null
[ "$(sps "$TMP/once.h264")" = 1 ] || fail "SPS count without PREPEND_SPSPPS_TO_IDR: $(sps "$TMP/once.h264")"
[ "$(sps "$TMP/every.h264")" = 3 ] || fail "SPS count with PREPEND_SPSPPS_TO_IDR: $(sps "$TMP/every.h264")"
[ "$(frames_of "$TMP/once.h264")" = 30 ] && [ "$(frames_of "$TMP/every.h264")" = 30 ] || fail "SPS modes: frame count"
echo "ok: SPS/PPS once (1) or before every IDR (3 for 3 IDRs)"

clip=$(raw cbr 320x240 60)
for codec in h264 vp8; do
	enc "$TMP/cbr.$codec" $codec 320x240 "$clip" --bitrate 400000 --cbr >/dev/null
	bytes=$(ffprobe -v error -select_streams v -show_entries packet=size -of csv=p=0 "$TMP/cbr.$codec" | awk '{ s += $1 } END { print s }')
	rate=$((bytes * 8 / 2))
	echo "ok?: CBR $codec: $rate bit/s for 400000"
	awk -v r=$rate 'BEGIN { e = (r - 400000) / 400000; exit !(e < 0.15 && e > -0.15) }' ||
		fail "CBR $codec: $rate bit/s is not within 15% of 400000"
done

# OUTPUT buffers too small for the first packet: each comes back with ERR and
# size 0, the packet waits; buffers of the device's size then get every
# packet, the same bytes as before (nothing lost).
enc "$TMP/small.h264" h264 320x240 "$src" --bitrate 1000000 --out-size 2048 >"$TMP/small.log"
grep -q 'came back with ERR' "$TMP/small.log" || fail "too-small buffers: no ERR"
cmp -s "$TMP/small.h264" "$TMP/out.h264" || fail "too-small buffers: the stream differs (a packet lost?)"
last_end | grep -q 'output_too_small=[1-9]' || fail "too-small buffers: counter: $(last_end)"
echo "ok: $(head -n 1 "$TMP/small.log"); the stream is intact"

# A drain in the middle: EOS after frame 14's packet, then encoding goes on
# (a new encoder: keyframe at 15); every frame still comes back.
for codec in h264 vp9; do
	line=$(enc "$TMP/mid.$codec" $codec 320x240 "$src" --drain-at 14)
	[ "$(frames_of "$TMP/mid.$codec")" = 30 ] || fail "$codec drain at 14: frame count"
	[ "${line##*keyframes=}" = 0,15 ] || fail "$codec drain at 14: keyframes ${line##*keyframes=}"
done
echo "ok: a drain after frame 14, then frames 15-29 (keyframe at 15)"

# A bitrate change before frame 60 of 120 (200 -> 800 kbit/s, CBR): the 2 s
# after carry at least twice the bytes of the 2 s before.
long=$(raw long 320x240 120)
for codec in h264 hevc vp8 vp9; do
	enc "$TMP/rate.$codec" $codec 320x240 "$long" --bitrate 200000 --cbr --set-bitrate-at 60:800000 >/dev/null
	r=$(ffprobe -v error -select_streams v -show_entries packet=size -of csv=p=0 "$TMP/rate.$codec" |
		awk 'NR <= 60 { a += $1 } NR > 60 { b += $1 } END { printf "%.2f", b / a }')
	echo "ok?: $codec: bytes after / before the change: $r"
	awk -v r="$r" 'BEGIN { exit !(r >= 2) }' || fail "$codec: the bitrate change is not visible ($r)"
done

# Bad controls and params (vv-enc-client --bad-input: each answer checked, nothing
# changed by a refused command), then the same stream encodes.
line=$(enc "$TMP/bad.h264" h264 320x240 "$src" --bad-input) || fail "bad inputs"
[ "$(frames_of "$TMP/bad.h264")" = 30 ] || fail "encode after the bad inputs: frame count"
echo "ok: bad controls and params refused as documented; the encode afterwards: $line"

odd=$(raw odd 202x130 20)
for codec in h264 vp9; do
	enc "$TMP/odd.$codec" $codec 202x130 "$odd" >/dev/null
	[ "$(frames_of "$TMP/odd.$codec")" = 20 ] || fail "202x130 $codec: frame count"
	p=$(psnr_of "$TMP/odd.$codec" "$odd" 202x130)
	awk -v p="$p" 'BEGIN { exit !(p > 30) }' || fail "202x130 $codec: PSNR $p"
	echo "ok: 202x130 $codec, PSNR $p dB"
done
check_daemon "encodes"
echo ok
