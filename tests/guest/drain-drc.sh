#!/usr/bin/env bash
# Runs in the guest (tests/vm/driver-drain-drc.sh): the decodes of a
# resolution change found during a drain, each followed by
# "RESUMED LABEL N" (how many drains the daemon resumed so far, from its log
# in the run folder):
#   - tests/guest/decode.sh gst and ffmpeg of each STREAM of STREAMS_DIR;
#   - vv-dectest on RESCHANGE, plain and --restart: "dectest-MODE rc=N MD5 output";
#   - vv-dectest --abort-drain on PLAIN: "dectest-abort rc=N output".
#   drain-drc.sh VV-DECTEST RESCHANGE PLAIN STREAMS_DIR STREAM...
prog=$1 h264=$2 plain=$3 dir=$4
shift 4
g=$(dirname "$0")/decode.sh
resumed() { echo "RESUMED $1 $(grep -c "drain resumed" "$VV_OUT/daemon.log")"; }
for s in "$@"; do
	bash "$g" "$dir" gst "$s"; resumed "gst $s"
	bash "$g" "$dir" ffmpeg "$s"; resumed "ffmpeg $s"
done
for m in plain restart; do
	opt=; [ $m = restart ] && opt=--restart
	# shellcheck disable=SC2086
	timeout -s KILL 120 "$prog" $opt "$h264" "$VV_OUT/$m.yuv" >"$VV_OUT/$m.log" 2>&1
	echo "dectest-$m rc=$? $(md5sum <"$VV_OUT/$m.yuv" | cut -d" " -f1) $(tr "\n" " " <"$VV_OUT/$m.log")"
	resumed "dectest-$m"
done
timeout -s KILL 60 "$prog" --abort-drain "$plain" /dev/null >"$VV_OUT/abort.log" 2>&1
echo "dectest-abort rc=$? $(tr "\n" " " <"$VV_OUT/abort.log")"
