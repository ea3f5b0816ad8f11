#!/usr/bin/env bash
# backends: ffmpeg (the hwaccel options of the ffmpeg plugin's encoder)
# Hardware encoders of the FFmpeg plugin (NVENC with hwaccel=cuda, VA-API
# with hwaccel=vaapi) and their software fallback: with no GPU and no VA-API
# device (this machine), the daemon logs for each codec what serves it and,
# for each stream, that NVENC did not open and libx264/libx265 took over;
# the streams are then byte for byte those of hwaccel=none (H.264, HEVC;
# libvpx's realtime mode adapts to time: frame count and PSNR) and the
# controls (profile, level, CBR, GOP, forced keyframes) still land. Where a
# hardware encoder opens (the log says "encoding WxH on NVENC|VA-API"), its
# stream must decode to every frame at PSNR > 30 dB, and so must a
# /dev/dri/renderD* VA-API device's. Fails if: the fallback is silent, a
# hardware encoder that cannot open fails the stream instead of falling
# back, or the fallback encodes something else than hwaccel=none does.
. "$(dirname "$0")/lib.bash"
need_encoder
[ "${VV_BACKEND:-ffmpeg}" = ffmpeg ] || skip "ffmpeg plugin only"
WH=320x240
src=$(raw_clip $WH 30 nv12)
ref_yuv=$TMP/ref.yuv
ffq -f rawvideo -pix_fmt nv12 -s $WH -i "$src" -f rawvideo -pix_fmt yuv420p "$ref_yuv"
codecs=$(enc_codecs h264 hevc vp8 vp9)

# check_stream FILE: 30 frames, PSNR > 30 dB against the source.
check_stream() {
	local n p
	n=$(decode_to "$1" "$TMP/dec.yuv")
	p=$(psnr "$TMP/dec.yuv" "$ref_yuv" $WH)
	[ "$n" = 30 ] || fail "$1: $n frames decoded, 30 went in"
	fge "$p" 30 || fail "$1: PSNR $p dB <= 30"
	echo "$n frames, PSNR $p dB"
}

# Software reference streams (hwaccel=none), one codec thread: deterministic.
start_encoder --backend-opt hwaccel=none
for c in $codecs; do
	encode "$c" "$src" $WH "$TMP/none.$c" --format nv12 --bitrate 500000 >/dev/null
done
encode h264 "$src" $WH "$TMP/none-ctl.h264" --format nv12 --bitrate 400000 --bitrate-mode cbr \
	--profile baseline --level 3.1 --gop 10 --force-key 7 >/dev/null
stop_daemon
! grep -q 'vv-ffmpeg: encoder:' "$DLOG" || fail "hwaccel=none: a hardware encoder line in the log"

# hwaccel=cuda, =vaapi, =auto: each codec's log line, each stream's fallback (or hardware).
for hw in cuda vaapi auto; do
	: >"$DLOG"
	start_encoder --backend-opt hwaccel=$hw
	for c in $codecs; do
		impl=$(sed -n "s/.*info: $c: ffmpeg plugin, //p" "$DLOG")
		[ -n "$impl" ] || fail "hwaccel=$hw: no startup line says what encodes $c"
		encode "$c" "$src" $WH "$TMP/$hw.$c" --format nv12 --bitrate 500000 >/dev/null
		case $impl in
		*"software fallback"*)
			enc=${impl#libavcodec } enc=${enc%% *}
			if grep -q "vv-ffmpeg: $enc: encoding $WH on " "$DLOG"; then
				echo "ok: hwaccel=$hw $c: $enc opened: $(check_stream "$TMP/$hw.$c")"
				continue
			fi
			grep -q "vv-ffmpeg: $enc did not open for $WH (.*): software fallback, " "$DLOG" ||
				fail "hwaccel=$hw $c: $enc neither opened nor logged its fallback"
			;;
		*"(software; hwaccel $hw: "*) ;;
		*) fail "hwaccel=$hw $c: the startup line does not say software or hardware: $impl" ;;
		esac
		# software: the same encoder as hwaccel=none
		case $c in
		h264 | hevc)
			cmp -s "$TMP/$hw.$c" "$TMP/none.$c" ||
				fail "hwaccel=$hw $c: the software fallback differs from hwaccel=none"
			;;
		*) check_stream "$TMP/$hw.$c" >/dev/null ;;
		esac
		echo "ok: hwaccel=$hw $c: $impl; the stream is the software one"
	done
	encode h264 "$src" $WH "$TMP/$hw-ctl.h264" --format nv12 --bitrate 400000 --bitrate-mode cbr \
		--profile baseline --level 3.1 --gop 10 --force-key 7 >/dev/null
	if ! grep -q "h264_nvenc: encoding\|h264_vaapi: encoding" "$DLOG"; then
		cmp -s "$TMP/$hw-ctl.h264" "$TMP/none-ctl.h264" ||
			fail "hwaccel=$hw: controls: the fallback differs from hwaccel=none"
	fi
	[ "$(stream_keys "$TMP/$hw-ctl.h264")" = "$(enc_field keyframes)" ] ||
		fail "hwaccel=$hw: keyframes $(stream_keys "$TMP/$hw-ctl.h264") vs flags $(enc_field keyframes)"
	ffprobe -v error -show_entries stream=profile,level -of csv=p=0 "$TMP/$hw-ctl.h264" |
		grep -q '^Constrained Baseline,31$' || fail "hwaccel=$hw: profile/level not as asked: \
$(ffprobe -v error -show_entries stream=profile,level -of csv=p=0 "$TMP/$hw-ctl.h264")"
	echo "ok: hwaccel=$hw: CBR, baseline, level 3.1, GOP 10, forced keyframe 7: keyframes $(enc_field keyframes)"
	case $hw in
	cuda) grep -q 'vv-ffmpeg: encoder: libavcodec h264_nvenc (NVENC), software fallback libx264' "$DLOG" ||
		fail "hwaccel=cuda: the log does not name NVENC for h264" ;;
	vaapi) grep -qE 'vv-ffmpeg: (encoder: libavcodec h264_vaapi \(VA-API\)|hwaccel=vaapi: no VA-API device: encoding in software)' "$DLOG" ||
		fail "hwaccel=vaapi: the log says neither VA-API nor its fallback" ;;
	esac
	stop_daemon
done

# A VA-API render node, if there is one: hwaccel=vaapi on it.
for node in /dev/dri/renderD*; do
	[ -e "$node" ] || { echo "ok: no /dev/dri/renderD* here: VA-API hardware not tested"; break; }
	: >"$DLOG"
	start_encoder --backend-opt hwaccel=vaapi --backend-opt device="$node"
	for c in $codecs; do
		encode "$c" "$src" $WH "$TMP/va.$c" --format nv12 --bitrate 500000 --gop 10 --force-key 7 >/dev/null
		echo "ok: $node $c ($(sed -n "s/.*info: $c: ffmpeg plugin, //p" "$DLOG")): $(check_stream "$TMP/va.$c")"
	done
	stop_daemon
	break
done
echo ok
