#!/usr/bin/env bash
# Guest driver: v4l2-compliance -s on the decoder node with an H.264 stream,
# fed as a continuous byte stream (--stream-from) and one access unit per
# buffer (--stream-from-hdr), then with DMABUF from vivid (-e). Each run must
# end with "Failed: 0". One boot.
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
guest_modules || skip "guest driver not built (no kernel/*.ko)"
src=$VV_BUILD/test-streams/h264.h264
[ -f "$src" ] || skip "no $src (make check builds the test streams)"
hdr=$VV_BUILD/guest/h264.hdr
mkdir -p "$VV_BUILD/guest"
python3 "$VV_TOP/tests/guest/annexb-to-hdr.py" "$src" "$hdr" || fail "cannot frame $src"

run_vm compliance --timeout 600 -- bash -c '
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
	done' _ "$src" "$hdr"
run_dir=$(sed -n 's/^vm-run: accel .*logs: \(.*\)$/\1/p' "$tmp/compliance.err" | tail -n 1)
[ $rc = 0 ] || fail "guest run failed (exit $rc)"
for f in stream-from stream-from-hdr expbuf; do
	line=$(grep "^$f: " "$tmp/compliance.out")
	case $line in
	*"Failed: 0,"*) ;;
	*) grep -E "fail:|FAIL" "$run_dir/$f.txt" 2>/dev/null | head -n 20
	   fail "v4l2-compliance $f: ${line:-no summary}" ;;
	esac
done
echo ok
