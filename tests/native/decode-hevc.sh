#!/usr/bin/env bash
# HEVC (B-frames) through vv-client, byte-identical to ffmpeg's decode.
. "$(dirname "$0")/lib.bash"
need_tools
start_daemon
decode_check hevc
decode_check hevc --layout per-plane --scatter
decode_check hevc --format nv12
decode_check hevc --chunk 3000
stop_daemon
