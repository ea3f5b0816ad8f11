#!/usr/bin/env bash
# H.264 (B-frames) through vv-client: every buffer layout and input mode gives
# ffmpeg's own decode, byte for byte.
. "$(dirname "$0")/lib.bash"
need_tools
start_daemon
decode_check h264
decode_check h264 --layout per-plane
decode_check h264 --scatter
decode_check h264 --scatter --layout per-plane --regions 2
decode_check h264 --format nv12
decode_check h264 --format nv12 --layout per-plane --scatter
decode_check h264 --format yvu420
decode_check h264 --stride-align 64
decode_check h264 --no-indirect --in-bufs 1
decode_check h264 --chunk 4096
decode_check h264 --chunk 1000 --scatter --regions 2
decode_check h264 --chunk 65536
stop_daemon
