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

run_vm compliance --timeout 600 -- bash tests/guest/dec-compliance.sh "$src" "$hdr"
[ $rc = 0 ] || fail "guest run failed (exit $rc)"
run_dir=$(run_folder compliance)
for f in stream-from stream-from-hdr expbuf; do
	line=$(grep "^$f: " "$TMP/compliance.out")
	case $line in
	*"Failed: 0,"*) ;;
	*) grep -E "fail:|FAIL" "$run_dir/$f.txt" 2>/dev/null | head -n 20
	   fail "v4l2-compliance $f: ${line:-no summary}" ;;
	esac
done
echo ok
