#!/usr/bin/env bash
# Runs in the guest (tests/vm/kernel-6.12.sh): v4l2-compliance (no
# streaming) on a vivid capture node, the in-kernel reference of a vb2
# driver, as a control for what the guest kernel and this v4l2-compliance
# make every driver fail. Report in $VV_OUT/vivid.txt, its "Total for" line
# printed as "vivid: Total for ...".
modprobe vivid n_devs=1 node_types=0x1 || exit 3
viv=
for d in /dev/video*; do
	v4l2-ctl -d "$d" -D 2>/dev/null | grep -q "Driver name *: vivid" && { viv=$d; break; }
done
[ -n "$viv" ] || { echo "no vivid node"; exit 4; }
v4l2-compliance -d "$viv" >"$VV_OUT/vivid.txt" 2>&1
echo "vivid: $(grep "^Total for" "$VV_OUT/vivid.txt")"
