# shellcheck shell=bash
# Helpers for tests/vm/driver-ext.sh, driver-crosvm-profile.sh and
# vm-run-driver.sh (sourced after tests/vm/lib, and zero-copy-lib.sh for the
# gpu-decode helpers; not a test itself: not executable).
ext_streams=$VV_BUILD/test-streams

# ext_need_streams STREAM...: skips without them; writes the host's reference
# MD5 (I420 frames, each at its own size) next to each, as driver-decode does.
ext_need_streams() {
	local s
	for s in "$@"; do
		[ -f "$ext_streams/$s" ] || skip "no $ext_streams/$s (the native tests generate the streams)"
		[ -s "$ext_streams/$s.md5" ] && [ "$ext_streams/$s.md5" -nt "$ext_streams/$s" ] && continue
		ffmpeg -nostdin -v error -i "$ext_streams/$s" -autoscale 0 -f rawvideo -pix_fmt yuv420p - |
			md5sum | cut -d' ' -f1 >"$ext_streams/$s.md5"
	done
}

# ext_decode MODE STREAM...: the guest command decoding with
# tests/guest/decode.sh (MODE gst, gst:dmabuf, ffmpeg); its lines are
# prefixed "DEC " so that ext_check_decodes finds exactly them.
ext_decode() {
	echo "bash tests/guest/decode.sh $ext_streams $* | sed 's/^/DEC /'"
}

# ext_check_decodes NAME MIN: every "DEC TOOL STREAM MD5" line of run NAME
# must match the host decode, and there must be at least MIN of them.
ext_check_decodes() {
	check_decodes "$1: " "$2" "$ext_streams" < <(sed -n 's/^DEC //p' "$tmp/$1.out")
}

# Guest shell snippet: $vvdev = the sysfs folder of the virtio-video decoder.
ext_find_dev='vvdev=; for d in /sys/bus/virtio/devices/*; do [ "$(cat $d/device)" = 0x001f ] && vvdev=$d; done'

# ext_field NAME KEY: the value of the guest's "KEY value..." line in run NAME.
ext_field() {
	sed -n "s/^$2 //p" "$tmp/$1.out" | tail -n 1
}

# ext_zc_funcs PROG CLIP: guest shell functions. "z NAME ARGS..." runs
# gpu-decode ARGS on CLIP into $VV_OUT/NAME.out, then prints "ZC NAME rc=N",
# the counters line of the stream that just ended ("COUNTERS-NAME ...") and
# how many frame-queue switches to guest pages the daemon logged meanwhile
# ("SWITCH-NAME N"; the guest reads the daemon's log in its run folder).
ext_zc_funcs() {
	cat <<EOF
	sw() { grep -c 'output queue memory virtio-object -> guest-pages' \$VV_OUT/daemon.log; }
	z() {
		t=\$1; shift; a=\$(sw)
		$1 "\$@" --output \$VV_OUT/\$t.out $2; echo "ZC \$t rc=\$?"
		echo "COUNTERS-\$t \$(grep 'stream [0-9]* end:' \$VV_OUT/daemon.log | tail -n 1)"
		echo "SWITCH-\$t \$((\$(sw) - a))"
	}
EOF
}

# ext_check_zc NAME T MD5: "z T" of run NAME exited 0 and its frames have
# MD5; sets zc_pages, zc_objs (the stream's output resources of each kind)
# and zc_sw (switches) from its lines.
ext_check_zc() {
	zc_check_frames "$1" "$2" "$3" "$(ext_field "$1" "COUNTERS-$2")" ||
		fail "$1: gpu-decode $2 (above)"
	zc_sw=$(ext_field "$1" "SWITCH-$2")
	echo "ok   $1: gpu-decode $2: MD5 $3, frame queue: guest pages ${zc_pages:-?}, virtio objects ${zc_objs:-?}, switches ${zc_sw:-?}"
}
