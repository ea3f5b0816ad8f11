#!/usr/bin/env bash
# Decoded frames on the display (issue 5), two boots with --gpu --screenshot:
#   1. a 1024x768 clip (the mode's size) decoded as BGRA (V4L2 ABGR32) into
#      virtio-gpu dumb buffers; frame 5's own buffer becomes the framebuffer
#      (ADDFB2 XRGB8888 + SETCRTC, no copy). The screenshot must match the
#      host's decode of frame 5 in RGB as the plugin converts it (tests/ref-rgb:
#      swscale for ffmpeg, videoconvert for gstreamer): per channel mean absolute difference
#      < 3 and max < 40 (the display path converts BGRX to pixman x8r8g8b8 and
#      PNG; any other frame of the clip differs by a max of 255).
#   2. a 320x240 clip, frame 12 copied into a mode-sized buffer at 0,0: the
#      same comparison on that region, the rest of the screen black.
# Also: the BGRA frames read back match the host (MD5), the frame queue holds
# only virtio objects. The PNGs stay in $VV_BUILD/zero-copy/scanout-*.png.
. "$(dirname "$0")/lib"
zc_need_prog
p=${zc_prog#"$top"/}	# the guest runs in the same working directory

# compare SHOT STREAM N W H: the WxH region at 0,0 of the screenshot against
# frame N; prints the statistics, fails outside the tolerance.
compare() {
	ffmpeg -nostdin -v error -y -i "$1" -f rawvideo -pix_fmt rgb24 "$TMP/shot.rgb" || fail "cannot read $1"
	"$(dirname "$0")/../ref-rgb" "$2" rgb24 "$3" >"$TMP/ref.rgb" || fail "cannot decode frame $3 of $2"
	python3 - "$TMP/shot.rgb" "$TMP/ref.rgb" "$4" "$5" <<'PY' || fail "screenshot does not show frame $3 of $2"
import sys
shot, ref = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
w, h, sw, sh = int(sys.argv[3]), int(sys.argv[4]), 1024, 768
if len(shot) != sw * sh * 3 or len(ref) != w * h * 3:
    sys.exit(f'sizes: screenshot {len(shot)} bytes, reference {len(ref)} bytes')
tot, mx = [0, 0, 0], [0, 0, 0]
rest = 0
for y in range(sh):
    row = shot[y * sw * 3:(y + 1) * sw * 3]
    if y < h:
        r = ref[y * w * 3:(y + 1) * w * 3]
        for c in range(3):
            d = [abs(a - b) for a, b in zip(row[c:w * 3:3], r[c::3])]
            tot[c] += sum(d)
            mx[c] = max(mx[c], max(d))
        rest = max(rest, max(row[w * 3:], default=0))
    else:
        rest = max(rest, max(row))
mean = [t / (w * h) for t in tot]
print(f'frame region {w}x{h}: mean abs diff R,G,B = {mean[0]:.3f},{mean[1]:.3f},{mean[2]:.3f}; '
      f'max = {mx}; brightest value outside = {rest}')
ok = all(m < 3 for m in mean) and all(m < 40 for m in mx) and rest < 16
sys.exit(0 if ok else 1)
PY
}

# scanout NAME WxH FRAMES N: one boot; checks as above.
scanout() {
	local name=$1 size=$2 n=$4 clip shot line
	clip=$(zc_stream "$size" "$3")
	shot=$zc_dir/scanout-$size.png
	rm -f "$shot"
	run_vm "$name" --gpu --screenshot "$shot" --timeout 200 -- \
		"$p" --scanout "$n" --output /run/vv/frames.bgra "$clip"
	[ "$rc" = 0 ] || fail "$name: guest run failed (exit $rc)"
	[ "$(zc_md5 "$name" frames.bgra)" = "$(zc_ref_bgra "$clip")" ] ||
		fail "$name: BGRA frames read back differ from the host decode"
	line=$(zc_counters "$name" 1)
	echo "$name: $line"
	[ "$(zc_field "$line" res_guest_pages_out)" = 0 ] && [ "$(zc_field "$line" res_virtio_object_out)" -ge 1 ] ||
		fail "$name: frame queue not all virtio objects"
	[ -s "$shot" ] || fail "$name: no screenshot"
	compare "$shot" "$clip" "$n" "${size%x*}" "${size#*x}"
}

scanout direct 1024x768 8 5
grep -q 'framebuffer = the decoded dumb buffer (no copy)' "$TMP/direct.out" ||
	fail "the 1024x768 frame was not shown from its own buffer"
scanout copy 320x240 30 12
grep -q 'frame copied into a mode-sized dumb buffer' "$TMP/copy.out" ||
	fail "the 320x240 frame was not placed in a mode-sized buffer"
echo ok
