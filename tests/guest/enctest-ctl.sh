#!/usr/bin/env bash
# Runs in the guest (tests/vm/driver-encode-ctl.sh): vv-enctest's controls
# and streaming rules on RAW (NV12, WxH), each result line prefixed:
#   "keys: ..."     forced keyframes before frames 7, 20, 45 of 60 ($VV_OUT/keys.h264)
#   "rate: ..."     600 kbit/s, 150 kbit/s from frame 30 ($VV_OUT/rate.h264)
#   "restart: ..."  20 frames, drain, ENC_CMD_START, 20 again ($VV_OUT/restart.h264)
# then 260 open/encode/drain/close cycles and both modules unloaded
# ("unloaded"). Exits 5-8 when a vv-enctest run fails.
#   enctest-ctl.sh VV-ENCTEST RAW WxH
prog=$1 raw=$2 wh=$3
out=$("$prog" --frames 60 --force-key 7,20,45 "$raw" "$wh" "$VV_OUT/keys.h264") || exit 5
echo "keys: $out"
out=$("$prog" --bitrate 600000 --set-bitrate-at 30:150000 "$raw" "$wh" "$VV_OUT/rate.h264") || exit 6
echo "rate: $out"
out=$("$prog" --frames 20 --restart "$raw" "$wh" "$VV_OUT/restart.h264") || exit 7
echo "restart: $out"
timeout -s KILL 600 "$prog" --cycles 260 "$raw" "$wh" /dev/null || exit 8
rmmod virtio_video && rmmod v4l2_mem2mem && echo unloaded
