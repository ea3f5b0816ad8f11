#!/usr/bin/env bash
# backends: ffmpeg (the test front-end alone: no daemon, no plugin)
# The test front-end itself (no daemon): vhost-user wire encoding, memory
# table, split rings with direct, indirect and split chains, EVENT_IDX.
. "$(dirname "$0")/lib.bash"
[ -x "$VV_BUILD/vu-front-selftest" ] || skip "no $VV_BUILD/vu-front-selftest (make client-all)"
timeout 120 "$VV_BUILD/vu-front-selftest"
