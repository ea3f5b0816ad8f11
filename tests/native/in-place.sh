#!/usr/bin/env bash
# Pictures are written in place, also into scattered guest buffers (NON_CONTIG
# page lists, two memory regions): the daemon copies each picture exactly once
# (bytes_copied = frames x picture bytes), no bounce buffer on top.
. "$(dirname "$0")/lib.bash"
need_tools
start_daemon
# h264: 60 pictures of 320x240, stride 320 (16-aligned): 115200 bytes each.
want=$((60 * 115200))
n=0
for opts in "" "--scatter" "--scatter --layout per-plane --regions 2" "--format nv12 --scatter"; do
	# shellcheck disable=SC2086
	decode_check h264 $opts
	n=$((n + 1))
	for _ in $(seq 50); do [ "$(grep -c 'stream 1 end:' "$DLOG")" -ge "$n" ] && break; sleep 0.1; done
	line=$(grep 'stream 1 end:' "$DLOG" | tail -n 1)
	got=$(echo "$line" | sed -n 's/.*bytes_copied=\([0-9]*\).*/\1/p')
	[ "$got" = "$want" ] || fail "h264 $opts: bytes_copied=$got, want $want (one copy per picture)"
	echo "ok: $opts copied $got bytes"
done
stop_daemon
