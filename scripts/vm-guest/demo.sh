#!/usr/bin/env bash
# Runs in the guest for scripts/demo:
#   demo.sh CLIP DISPLAY_CLIP
# 1. rate: CLIP decoded by the device (v4l2h264dec) and by software
#    (avdec_h264), each to fakesink sync=false; gst-launch -v prints one
#    fakesink line per frame, stamped here with $EPOCHREALTIME (no fork per
#    line). Prints "rate NAME START FIRST LAST FRAMES" (times in s).
# 2. md5: the device's decode of CLIP as I420 through videocodectestsink.
#    Prints "md5 HEX".
# 3. display: DISPLAY_CLIP decoded as BGRx straight into kmssink's buffers
#    (dmabuf-import: virtio-gpu resources by UUID). The clip comes through a
#    FIFO that is kept open, so the pipeline never reaches EOS and the last
#    frame stays on the screen; once no frame has arrived for 1.5 s the host
#    is asked for the screenshot ($VV_OUT/shot-now, answered by shot-done).
#    Prints "display FRAMES".
shopt -s lastpipe	# rate's loop sets its variables (no /dev/fd in the guest)
clip=$1 display_clip=$2
gst-inspect-1.0 v4l2h264dec >/dev/null 2>&1 ||
	{ echo "demo: no v4l2h264dec element in the guest (is a /dev/video* decoder there?)"; ls -l /dev/video* 2>&1; exit 3; }

rate() {
	local name=$1 start first='' last='' n=0 line
	shift
	start=$EPOCHREALTIME
	gst-launch-1.0 -v filesrc location="$clip" ! h264parse ! "$@" ! \
		fakesink sync=false silent=false 2>&1 |
	while IFS= read -r line; do
		case $line in
		*fakesink0:\ last-message\ =\ chain*)
			last=$EPOCHREALTIME
			[ -n "$first" ] || first=$last
			n=$((n + 1)) ;;
		ERROR*|*ERROR:*) echo "demo: $name: $line" ;;
		esac
	done
	echo "rate $name $start ${first:-0} ${last:-0} $n"
}
rate device v4l2h264dec
rate software avdec_h264

gst-launch-1.0 -m filesrc location="$clip" ! h264parse ! v4l2h264dec ! \
	videoconvert dither=none ! video/x-raw,format=I420 ! videocodectestsink \
	>"$VV_OUT/md5.log" 2>&1 || { tail -n 20 "$VV_OUT/md5.log"; exit 1; }
echo "md5 $(grep -o 'checksum=(string)[0-9a-f]*' "$VV_OUT/md5.log" | head -n 1 | cut -d')' -f2)"

fifo=$VV_OUT/display.fifo
rm -f "$fifo" && mkfifo "$fifo"
gst-launch-1.0 -v filesrc location="$fifo" ! h264parse ! \
	v4l2h264dec capture-io-mode=dmabuf-import ! video/x-raw,format=BGRx ! \
	identity silent=false ! kmssink driver-name=virtio_gpu force-modesetting=true sync=false \
	>"$VV_OUT/display.log" 2>&1 &
gst=$!
exec 3>"$fifo"		# held open: no EOS
cat "$display_clip" >&3
frames=0 quiet=0
while [ $quiet -lt 15 ] && kill -0 $gst 2>/dev/null; do
	sleep 0.1
	n=$(grep -c 'identity0: last-message = chain' "$VV_OUT/display.log")
	if [ "$n" = "$frames" ]; then quiet=$((quiet + 1)); else frames=$n quiet=0; fi
done
: >"$VV_OUT/shot-now"
for _ in $(seq 200); do [ -f "$VV_OUT/shot-done" ] && break; sleep 0.1; done
[ -f "$VV_OUT/shot-done" ] || echo "demo: the host took no screenshot"
exec 3>&-		# EOS
wait $gst
st=$?
grep -E 'ERROR|WARN' "$VV_OUT/display.log" | head -n 5
echo "display $frames $st"
