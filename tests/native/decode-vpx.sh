#!/usr/bin/env bash
# VP8 and VP9 (IVF) through vv-client, byte-identical to ffmpeg's decode.
. "$(dirname "$0")/lib.bash"
need_tools
start_daemon
decode_check vp8
decode_check vp8 --layout per-plane --format nv12
decode_check vp9
decode_check vp9 --scatter --regions 2
decode_check vp9 --layout per-plane --scatter --format nv12
stop_daemon
