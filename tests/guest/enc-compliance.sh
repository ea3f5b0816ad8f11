#!/usr/bin/env bash
# Runs in the guest (tests/vm/driver-encode.sh): v4l2-compliance -s on the
# virtio-video encoder node, its report in $VV_OUT/LABEL.txt, its
# "Total for" line printed as "LABEL: Total for ...".
#   enc-compliance.sh [LABEL]   (default: compliance)
label=${1:-compliance}
enc=
for d in /dev/video*; do
	v4l2-ctl -d "$d" -D 2>/dev/null | grep -q "Card type *: virtio-video encoder" &&
		{ enc=$d; break; }
done
[ -n "$enc" ] || { echo "no virtio-video encoder node"; exit 2; }
v4l2-compliance -d "$enc" -s >"$VV_OUT/$label.txt" 2>&1
echo "$label: $(grep "^Total for" "$VV_OUT/$label.txt")"
