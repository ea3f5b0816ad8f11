#!/usr/bin/env bash
# The GPU device's display mode (--display-size): for the default and for
# 1280x720, 1920x1080, 1366x768 (no named aspect) and 3840x2160,
# GET_DISPLAY_INFO reports the size and the EDID's preferred timing is that
# size at 60 Hz (vv-gpu-client check --display), and edid-decode --check (an
# independent parser) finds the block conformant and names the same mode.
# Sizes the daemon cannot offer are refused at start with a clear message.
# backends: ffmpeg (the GPU device's mode does not depend on the codec plugin)
. "$(dirname "$0")/lib.bash"
need_tools
GPU_CLIENT=$VV_BUILD/vv-gpu-client
[ -x "$GPU_CLIENT" ] || skip "no $GPU_CLIENT (make client-all)"
command -v edid-decode >/dev/null || fail "edid-decode is not installed (scripts/install-deps)"
GSOCK=$TMP/gpu.sock

for size in default 1280x720 1920x1080 1366x768 3840x2160; do
	want=$size args=()
	[ "$size" = default ] && want=1024x768 || args=(--display-size "$size")
	rm -f "$GSOCK"
	start_daemon --gpu-socket-path "$GSOCK" "${args[@]}"
	for _ in $(seq 100); do [ -S "$GSOCK" ] && break; sleep 0.05; done
	[ -S "$GSOCK" ] || fail "$size: daemon did not create $GSOCK"
	"$GPU_CLIENT" --video-socket "$SOCK" --gpu-socket "$GSOCK" check --display "$want" \
		--edid-out "$TMP/edid-$size.bin" >"$TMP/check.log" 2>&1 ||
		{ cat "$TMP/check.log" >&2; fail "$size: vv-gpu-client check --display $want"; }
	grep -E '^ok: GET_(DISPLAY_INFO|EDID): (scanout|preferred)' "$TMP/check.log"
	edid-decode --check "$TMP/edid-$size.bin" >"$TMP/edid-$size.txt" 2>&1 ||
		{ cat "$TMP/edid-$size.txt" >&2; fail "$size: edid-decode --check finds the EDID faulty"; }
	# edid-decode names the preferred timing "DTD 1: WxH ..."
	grep -qE "DTD 1: +${want/x/x} " "$TMP/edid-$size.txt" ||
		{ grep -n 'DTD' "$TMP/edid-$size.txt" >&2; fail "$size: edid-decode's first detailed timing is not $want"; }
	echo "ok: $size: $(grep -E 'DTD 1:' "$TMP/edid-$size.txt" | sed 's/^ *//')"
	check_daemon "$size"
	stop_daemon
done

for bad in 1281x720 319x200 3848x2160 1280x2168 1280x abc 0x0 1280x720x1 -1280x720; do
	rc=0
	"$DAEMON" --socket-path "$TMP/bad.sock" --gpu-socket-path "$TMP/badg.sock" \
		--display-size "$bad" >"$TMP/bad.log" 2>&1 || rc=$?
	[ "$rc" = 2 ] && grep -q -- "--display-size $bad: want WxH" "$TMP/bad.log" ||
		{ cat "$TMP/bad.log" >&2; fail "--display-size $bad: exit $rc, not refused with a message"; }
	[ ! -e "$TMP/bad.sock" ] || fail "--display-size $bad: the daemon listened anyway"
done
echo "ok: 8 bad sizes refused"
echo ok
