#!/usr/bin/env bash
# A misbehaving guest of the encoder device (vv-hostile-enc): every case must
# get its documented answers (docs/protocol.md, "Encoder"); afterwards the
# daemon must be alive, sanitizer-clean and still encode correctly. A daemon
# that dies is restarted so that the other cases still run. Each case runs
# with every codec the plugin encodes where the codec matters (controls,
# params, frames), once otherwise.
# Fails if: an answer differs from the documented one (e.g. an unknown
# control answered OK, a refused value changing a control, a frame in a
# resource too small for the layout encoded, a too-small OUTPUT buffer
# losing its packet, EXT_GOP_SIZE taken without feature 17), or the daemon
# crashes, leaks or stops encoding.
. "$(dirname "$0")/lib.bash"
need_encoder
[ -x "$ENC_HOSTILE" ] || skip "no $ENC_HOSTILE (make client-all)"
start_encoder
raw=$(raw_clip 320x240 10)
codecs=$(enc_codecs h264 hevc vp8 vp9)
[ -n "$codecs" ] || fail "the plugin encodes none of h264 hevc vp8 vp9"
failed=()
for c in $("$ENC_HOSTILE" --list); do
	list=$codecs
	case $c in enc-features | enc-ext-off) list=${codecs%% *} ;; esac
	for codec in $list; do
		echo "== case $c ($codec)"
		timeout 120 "$ENC_HOSTILE" --socket "$SOCK" --case "$c" --codec "$codec" || failed+=("$c/$codec(answer)")
		sleep 0.1
		if ! kill -0 "$DPID" 2>/dev/null; then
			rc=0; wait "$DPID" || rc=$?
			echo "daemon died after case $c $codec (exit status $rc)"
			failed+=("$c/$codec(daemon died, exit $rc)")
			DPID=
			start_encoder
			continue
		fi
		if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$DLOG"; then
			grep -nE -A20 'runtime error|AddressSanitizer|LeakSanitizer' "$DLOG" | head -40
			fail "sanitizer report after case $c $codec"
		fi
		( encode "$codec" "$raw" 320x240 "$TMP/after.$(enc_ext "$codec")" --bitrate 300000 >/dev/null &&
		  [ "$(decode_to "$TMP/after.$(enc_ext "$codec")" "$TMP/dec.yuv")" = 10 ] ) ||
			failed+=("$c/$codec(no correct encode afterwards)")
	done
done
[ ${#failed[@]} -eq 0 ] || fail "failed cases: ${failed[*]}"
stop_daemon
