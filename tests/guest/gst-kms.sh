#!/usr/bin/env bash
# Runs in the guest (tests/vm/zero-copy-gst.sh, driver-dmabuf-import.sh):
#   gst-kms.sh [--preload LIB.so] [--sleep S] TIMEOUT PIPELINE...
# gst-launch-1.0 -e PIPELINE (killed after TIMEOUT s; LD_PRELOAD=LIB.so),
# its output in $VV_OUT/gst.log (gst-launch prints its position with a
# carriage return on a tty), then, after S s more (default 0), the last 20
# lines of that log and "gst-launch-status=N".
preload='' pause=0
while :; do
	case $1 in
	--preload) preload=$2; shift 2 ;;
	--sleep) pause=$2; shift 2 ;;
	*) break ;;
	esac
done
limit=$1
shift
# Build the GStreamer registry once (slow under TCG) before the pipeline.
gst-inspect-1.0 kmssink >/dev/null 2>&1
LD_PRELOAD=$preload timeout -s KILL "$limit" gst-launch-1.0 -e "$@" >"$VV_OUT/gst.log" 2>&1
st=$?
sleep "$pause"
tr '\r' '\n' <"$VV_OUT/gst.log" | grep -v '^0:00' | tail -n 20
echo gst-launch-status=$st
