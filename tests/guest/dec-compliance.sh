#!/usr/bin/env bash
# Runs in the guest (tests/vm/driver-compliance.sh): v4l2-compliance -s on
# the virtio_video decoder node with an H.264 stream, fed as a byte stream
# (--stream-from STREAM) and one access unit per buffer (--stream-from-hdr
# HDR), then with DMABUF from vivid (-e). Each run's report goes to
# $VV_OUT/{stream-from,stream-from-hdr,expbuf}.txt, and its "Total for" line
# is printed as "NAME: Total for ...".
#   dec-compliance.sh STREAM HDR
dec=
for d in /dev/video*; do
	v4l2-ctl -d "$d" -D 2>/dev/null | grep -q "Driver name *: virtio_video" && { dec=$d; break; }
done
[ -n "$dec" ] || { echo "no virtio_video node"; exit 2; }
v4l2-compliance -d "$dec" -s --stream-from="$1" >"$VV_OUT/stream-from.txt" 2>&1
v4l2-compliance -d "$dec" -s --stream-from-hdr="$2" >"$VV_OUT/stream-from-hdr.txt" 2>&1
modprobe vivid n_devs=1 node_types=0x1 || exit 3
viv=
for d in /dev/video*; do
	v4l2-ctl -d "$d" -D 2>/dev/null | grep -q "Driver name *: vivid" && { viv=$d; break; }
done
[ -n "$viv" ] || { echo "no vivid node"; exit 4; }
v4l2-compliance -d "$dec" -s -e "$viv" --stream-from="$1" >"$VV_OUT/expbuf.txt" 2>&1
for f in stream-from stream-from-hdr expbuf; do
	echo "$f: $(grep "^Total for" "$VV_OUT/$f.txt")"
done
