#!/usr/bin/env bash
# Runs in the guest (tests/vm/driver-compliance.sh): v4l2-compliance -s on
# the virtio_video decoder node with an H.264 stream, fed as a byte stream
# (--stream-from STREAM) and one access unit per buffer (--stream-from-hdr
# HDR), then with DMABUF from vivid (-e). Each run's report goes to
# $VV_OUT/{stream-from,stream-from-hdr,expbuf}.txt, and its "Total for" line
# is printed as "NAME: Total for ...". Each run is bounded: one that hangs
# (a drain that never sets LAST used to block v4l2-compliance until vm-run's
# 600 s timeout) is killed after 180 s and printed as "NAME: TIMEOUT ...,
# last output: ..." (a normal run takes well under a minute here).
#   dec-compliance.sh STREAM HDR
dec=
for d in /dev/video*; do
	v4l2-ctl -d "$d" -D 2>/dev/null | grep -q "Driver name *: virtio_video" && { dec=$d; break; }
done
[ -n "$dec" ] || { echo "no virtio_video node"; exit 2; }
limit=180
timed_out=
comply() { # NAME ARGS...
	local name=$1
	shift
	timeout -s KILL "$limit" v4l2-compliance "$@" >"$VV_OUT/$name.txt" 2>&1
	[ $? = 137 ] && timed_out="$timed_out $name"
}
comply stream-from -d "$dec" -s --stream-from="$1"
comply stream-from-hdr -d "$dec" -s --stream-from-hdr="$2"
modprobe vivid n_devs=1 node_types=0x1 || exit 3
viv=
for d in /dev/video*; do
	v4l2-ctl -d "$d" -D 2>/dev/null | grep -q "Driver name *: vivid" && { viv=$d; break; }
done
[ -n "$viv" ] || { echo "no vivid node"; exit 4; }
comply expbuf -d "$dec" -s -e "$viv" --stream-from="$1"
for f in stream-from stream-from-hdr expbuf; do
	case " $timed_out " in
	*" $f "*) echo "$f: TIMEOUT after $limit s, last output: $(tr '\r\t' '\n\n' <"$VV_OUT/$f.txt" | grep -v '^ *$' | tail -n 1 | cut -c1-200)" ;;
	*) echo "$f: $(grep "^Total for" "$VV_OUT/$f.txt")" ;;
	esac
done
