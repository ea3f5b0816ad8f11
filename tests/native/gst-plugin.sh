#!/usr/bin/env bash
# backends: gstreamer (the GStreamer plugin's own options and decoder choice)
# The GStreamer plugin (docs/host.md):
#  - --print-capabilities names the ranked decoder per codec, and the one
#    --backend-opt decoder=[CODEC:]ELEMENT chose; unknown keys, elements and
#    codecs, and elements that decode none of the codecs, are refused;
#  - the other installed decoders, chosen by option, decode bit-exact too:
#    avdec_vp8 and avdec_vp9 (libavcodec's) instead of vp8dec/vp9dec (libvpx);
#  - without the daemon (vv-plugin-test): reset mid-stream and decoding again
#    after a drain give the reference MD5, for every codec;
#  - the encoder: capabilities name the ranked encoder per codec and the one
#    encoder=[CODEC:]ELEMENT chose; bad encoder= options are refused; an
#    element the plugin knows only by its generic properties (openh264enc:
#    bitrate in bit/s, rate-control "bitrate", gop-size) holds a CBR target
#    within 15% and places GOP keyframes, decoding back to every frame.
. "$(dirname "$0")/lib.bash"
need_tools
PT=$VV_BUILD/vv-plugin-test
[ -x "$PT" ] || skip "no $PT (make host-all)"
GST=$VV_BUILD/plugins/vv-gstreamer.so

caps() { "$DAEMON" --backend gstreamer "$@" --print-capabilities 2>"$TMP/caps.err"; }
caps >"$TMP/caps.json" || fail "--print-capabilities"
for f in h264 hevc vp8 vp9; do
	grep -q "\"format\": \"$f\", \"implementation\": \"[a-z0-9_]* (rank " "$TMP/caps.json" ||
		{ cat "$TMP/caps.json"; fail "no ranked decoder named for $f"; }
done
caps --backend-opt decoder=vp9:avdec_vp9 --backend-opt decoder=avdec_vp8 >"$TMP/caps.json" ||
	fail "decoder= options refused"
grep -q '"vp9", "implementation": "avdec_vp9 (decoder option)"' "$TMP/caps.json" || fail "decoder=vp9:avdec_vp9 not used"
grep -q '"vp8", "implementation": "avdec_vp8 (decoder option)"' "$TMP/caps.json" || fail "decoder=avdec_vp8 not used"
echo "ok: capabilities name the ranked and the chosen decoders"
for bad in "decoder=no-such-element:no element" "decoder=h264parse:decodes none" \
	"decoder=hevc:avdec_h264:does not decode hevc" "decoder=av1:avdec_h264:unknown codec" \
	"encoder=vp8:x264enc:does not encode vp8" "encoder=h264parse:encodes none" \
	"encoder=no-such-element:no element" "bogus=1:unknown option"; do
	opt=${bad%:*} why=${bad##*:}
	if caps --backend-opt "$opt" >/dev/null; then fail "--backend-opt $opt accepted"; fi
	grep -q "$why" "$TMP/caps.err" || { cat "$TMP/caps.err"; fail "--backend-opt $opt: no '$why'"; }
done
echo "ok: bad options refused with a reason"

start_daemon --backend-opt decoder=avdec_vp8 --backend-opt decoder=vp9:avdec_vp9
decode_check vp8
decode_check vp9
decode_check vp9-reschange --format nv12
stop_daemon

for s in h264 hevc vp8 vp9; do
	f=$(stream "$s")
	ref=$(ref_md5 "$f")
	for mode in "--reset-after 7" "--drain-after 7 --again" "--chunk 1000 --format yvu420"; do
		[ "$mode" = "--chunk 1000 --format yvu420" ] && [ "${s#vp}" != "$s" ] && continue
		# shellcheck disable=SC2086
		timeout 60 "$PT" --plugin "$GST" --codec "$(codec_of "$f")" --input "$f" \
			--output "$TMP/pt.yuv" $mode 2>"$TMP/pt.log" || { cat "$TMP/pt.log"; fail "vv-plugin-test $s $mode"; }
		got=$(md5sum <"$TMP/pt.yuv" | cut -d' ' -f1)
		[ "$got" = "$ref" ] || fail "vv-plugin-test $s $mode: MD5 $got, reference $ref"
		echo "ok: $s $mode without the daemon ($got)"
	done
done

caps --device encoder >"$TMP/enc.json" || fail "--device encoder --print-capabilities"
for f in h264 hevc vp8 vp9; do
	grep -q "\"format\": \"$f\", \"implementation\": \"[a-z0-9_]* (rank " "$TMP/enc.json" ||
		{ cat "$TMP/enc.json"; fail "no ranked encoder named for $f"; }
done
caps --device encoder --backend-opt encoder=h264:openh264enc >"$TMP/enc.json" || fail "encoder= refused"
grep -q '"h264", "implementation": "openh264enc (encoder option)"' "$TMP/enc.json" ||
	fail "encoder=h264:openh264enc not used"
echo "ok: capabilities name the ranked and the chosen encoders"

ENC=$VV_BUILD/vv-enc-client
[ -x "$ENC" ] || fail "no $ENC (make client-all)"
ffq -f lavfi -i testsrc2=size=320x240:rate=30 -frames:v 60 -pix_fmt nv12 -f rawvideo "$TMP/clip.nv12" ||
	fail "cannot make the clip"
start_daemon --device encoder --backend-opt encoder=h264:openh264enc
timeout 120 "$ENC" --video-socket "$SOCK" --codec h264 --input "$TMP/clip.nv12" --width 320 \
	--height 240 --output "$TMP/oh.h264" --bitrate 400000 --cbr --gop 10 >"$TMP/oh.log" ||
	fail "openh264enc: vv-enc-client failed"
grep -q 'keyframes=0,10,20,30,40,50$' "$TMP/oh.log" || fail "openh264enc: GOP 10: $(cat "$TMP/oh.log")"
n=$(ffprobe -v error -count_frames -select_streams v -show_entries stream=nb_read_frames -of csv=p=0 "$TMP/oh.h264")
[ "$n" = 60 ] || fail "openh264enc: $n frames decode, 60 went in"
bytes=$(stat -c %s "$TMP/oh.h264")
awk -v b="$bytes" 'BEGIN { r = b * 8 / 2; e = (r - 400000) / 400000; exit !(e < 0.15 && e > -0.15) }' ||
	fail "openh264enc: $((bytes * 4)) bit/s for a 400000 CBR target"
stop_daemon
echo "ok: openh264enc (generic properties): $(cat "$TMP/oh.log"), $((bytes * 4)) bit/s for 400000"
