#!/usr/bin/env bash
# --hwaccel: the daemon decodes on the host's hardware when there is one
# (NVDEC through cuda, VA-API...) and falls back to software otherwise; either
# way the output is byte-identical to ffmpeg's software decode. The daemon's
# log says which path ran; an unknown hwaccel name is refused at start.
. "$(dirname "$0")/lib.bash"
need_tools
if "$DAEMON" --socket-path "$TMP/bad.sock" --hwaccel no-such-api 2>"$TMP/bad.log"; then
	die "an unknown --hwaccel was accepted"
fi
grep -q "unknown hwaccel 'no-such-api'" "$TMP/bad.log" || die "no clear error for an unknown --hwaccel"
for api in auto vaapi cuda; do
	: >"$DLOG"
	start_daemon --hwaccel "$api"
	decode_check h264
	decode_check hevc --format nv12
	grep -E "vv-ffmpeg: (hardware decoding with|no usable $api device: software decoding)" "$DLOG" ||
		die "the daemon did not say which decode path --hwaccel $api took"
	stop_daemon
done
