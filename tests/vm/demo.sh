#!/usr/bin/env bash
# backends: ffmpeg (the README's `make demo`, with the daemon's default plugin)
# scripts/demo as a user runs it: it must end with "MD5 MATCH", report all
# 300 frames for both decoders with a rate, show frames on the 1280x720
# display, decoded into virtio-gpu resources by UUID only (the daemon's
# counters), and save a 1280x720 PNG that is one of the clip's frames (mean
# absolute difference < 3 from the host's decode of the frame it names, a late
# one: the pipeline had shown most of the 60 frames).
. "$(dirname "$0")/lib"
have_daemon && guest_modules || skip "no daemon or guest driver (make)"
out=$TMP/demo.out
"$top/scripts/demo" >"$out" 2>"$TMP/demo.err"
rc=$?
cat "$out"
[ "$rc" = 0 ] || { tail -n 20 "$TMP/demo.err"; fail "scripts/demo exit $rc"; }
grep -qx 'demo: MD5 MATCH' "$out" || fail "no MD5 MATCH"
for d in 'device   (v4l2h264dec)' 'software (avdec_h264)'; do
	grep -qE "^demo: ${d//[()]/.}: 300/300 frames; first to last frame [0-9.]+ s = [0-9.]+ fps" "$out" ||
		fail "no rate for all 300 frames of $d"
done
grep -qE '^demo: the device decodes [0-9.]+x as fast as software' "$out" || fail "no device/software ratio"
grep -qE "^demo: display stream's frame buffers: [1-9][0-9]* virtio-gpu resources by UUID, 0 guest-page buffers" "$out" ||
	fail "the displayed frames did not go into virtio-gpu resources by UUID only"
line=$(grep '^demo: picture: ' "$out") || fail "no picture"
png=$(sed -n 's/^demo: picture: \([^ ]*\) .*/\1/p' <<<"$line")
read -r k diff < <(sed -n 's/.*(frame \([0-9]*\) of the clip: mean absolute difference \([0-9.]*\) .*/\1 \2/p' <<<"$line")
[ -s "$png" ] || fail "no PNG at $png"
size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$png")
[ "$size" = 1280,720 ] || fail "the PNG is $size, not 1280x720"
awk -v k="${k:-0}" -v d="${diff:-99}" 'BEGIN { exit !(k >= 40 && d < 3) }' ||
	fail "the PNG is not a late frame of the clip (frame ${k:-?}, difference ${diff:-?})"
echo ok
