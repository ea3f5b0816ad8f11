#!/bin/sh
# Runs in the guest (tests/vm/video-v4l2.sh): v4l2-ctl --all on every
# /dev/video* node (exit 2 without one, 3 when one fails), then "video-nodes-ok".
ls /dev/video* >/dev/null 2>&1 || { echo "no /dev/video*"; exit 2; }
for v in /dev/video*; do
	echo "== $v"
	v4l2-ctl -d "$v" --all || exit 3
done
echo video-nodes-ok
