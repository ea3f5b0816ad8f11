#!/usr/bin/env bash
# backends: ffmpeg (libavcodec's hwaccel options of the ffmpeg plugin)
# Hardware decoding (--backend-opt hwaccel=..., --hwaccel as its shorthand):
# the daemon decodes on the host's hardware when there is one (NVDEC through
# cuda, VA-API...) and falls back to software otherwise, logged; either way
# the output is byte-identical to ffmpeg's software decode. Unknown option
# keys and values are refused at start; --print-capabilities is valid JSON
# and names what serves each codec.
. "$(dirname "$0")/lib.bash"
need_tools
refused() { # what-to-grep args...
	local want=$1
	shift
	if "$DAEMON" --socket-path "$TMP/bad.sock" "$@" 2>"$TMP/bad.log"; then
		fail "accepted: $*"
	fi
	grep -q "$want" "$TMP/bad.log" || { cat "$TMP/bad.log"; fail "no clear error for $*"; }
}
refused "unknown hwaccel 'no-such-api'" --hwaccel no-such-api
refused "unknown hwaccel 'bogus'" --backend-opt hwaccel=bogus
refused "unknown option 'bogus=1'" --backend-opt bogus=1
refused "wants KEY=VALUE" --backend-opt novalue

for opt in "hwaccel=auto" "hwaccel=vaapi" "hwaccel=cuda" "hwaccel=vaapi device=/dev/dri/renderD128" \
	"hwaccel=drm" "--hwaccel auto"; do
	args=()
	case $opt in
	--*) args=($opt) ;;
	*) for kv in $opt; do args+=(--backend-opt "$kv"); done ;;
	esac
	api=${opt#*hwaccel[= ]}
	api=${api%% *}
	: >"$DLOG"
	start_daemon "${args[@]}"
	decode_check h264
	decode_check hevc --format nv12
	decode_check vp9
	grep -E "vv-ffmpeg: (hardware decoding with|no usable $api device: software decoding)" "$DLOG" ||
		fail "the daemon did not say which decode path $opt took"
	grep -qE "h264: ffmpeg plugin, libavcodec h264, (hwaccel|software)" "$DLOG" ||
		fail "the startup log does not say what serves h264 ($opt)"
	if grep -q "no usable $api device" "$DLOG"; then
		grep -q "h264: ffmpeg plugin, libavcodec h264, software (hwaccel $api unavailable)" "$DLOG" ||
			fail "the fallback is not in the per-codec line ($opt)"
	fi
	stop_daemon
done

# --print-capabilities: a vhost-user backend JSON, whatever the option order.
for order in "--print-capabilities --hwaccel vaapi" "--hwaccel vaapi --print-capabilities"; do
	# shellcheck disable=SC2086
	"$DAEMON" $order >"$TMP/caps.json" 2>"$TMP/caps.log" || fail "--print-capabilities failed ($order)"
	python3 -m json.tool "$TMP/caps.json" >/dev/null || { cat "$TMP/caps.json"; fail "not JSON ($order)"; }
	python3 - "$TMP/caps.json" <<'PY' || fail "capabilities JSON lacks what it should ($order)"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["type"] == "video" and isinstance(c["features"], list), c
assert c["backend"] == "ffmpeg", c
impl = {x["format"]: x["implementation"] for x in c["codecs"]}
assert "libavcodec h264" in impl["h264"] and "vaapi" in impl["h264"], impl
assert "hevc" in impl and "vp9" in impl, impl
PY
done
if "$DAEMON" --print-capabilities --backend-opt bogus=1 >"$TMP/caps.json" 2>/dev/null; then
	fail "--print-capabilities accepted an unknown option"
fi
