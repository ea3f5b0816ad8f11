# shellcheck shell=bash
# Helpers for tests/vm/zero-copy-*.sh (sourced after tests/vm/lib; not a test
# itself: not executable). The guest program is tests/guest/gpu-decode.c.
zc_prog=$VV_BUILD/guest/gpu-decode
zc_dir=$VV_BUILD/zero-copy
mkdir -p "$zc_dir"

# The guest program, built from tests/guest/gpu-decode.c when missing or older.
zc_need_prog() {
	have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
	guest_modules || skip "guest driver not built (no kernel/*.ko)"
	if [ ! -x "$zc_prog" ] || [ "$top/tests/guest/gpu-decode.c" -nt "$zc_prog" ]; then
		make -s -C "$top" BUILD="$VV_BUILD" "$zc_prog" >&2 ||
			fail "cannot build $zc_prog (libdrm-dev: scripts/packages/gpu-tests.txt)"
	fi
}

# zc_stream WxH FRAMES: an H.264 Annex B clip (testsrc2, B-frames, yuv420p),
# generated once; prints its path.
zc_stream() {
	local f=$zc_dir/clip-$1-$2.h264
	if [ ! -s "$f" ]; then
		ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=$1:rate=30" -frames:v "$2" \
			-c:v libx264 -bf 2 -pix_fmt yuv420p -f h264 "$f.tmp" && mv -f "$f.tmp" "$f" ||
			fail "cannot generate $f"
	fi
	echo "$f"
}

# Reference MD5s of the host's software decode.
zc_ref_i420() { ffmpeg -nostdin -v error -i "$1" -f rawvideo -pix_fmt yuv420p - | md5sum | cut -d' ' -f1; }
# BGRA as the daemon's plugin ($VV_BACKEND) converts it: swscale bilinear +
# accurate rounding for ffmpeg, videoconvert for gstreamer (tests/ref-rgb).
zc_ref_bgra() {
	"$(dirname "${BASH_SOURCE[0]}")/../ref-rgb" "$1" bgra | md5sum | cut -d' ' -f1
}

# zc_run_dir NAME: the run folder ($VV_OUT of the guest) of run_vm NAME.
zc_run_dir() {
	local log
	log=$(sed -n 's/^vm-run: daemon log: //p' "$tmp/$1.err" | tail -n 1)
	[ -n "$log" ] || fail "$1: vm-run printed no daemon log path"
	dirname "$log"
}

# zc_md5 NAME FILE: MD5 of a file the guest wrote into $VV_OUT (then removed).
zc_md5() {
	local f
	f=$(zc_run_dir "$1")/$2
	[ -s "$f" ] || { echo missing; return; }
	md5sum <"$f" | cut -d' ' -f1
	rm -f "$f"
}

# zc_counters NAME K: the K-th "stream N end:" line of the run's daemon log.
zc_counters() {
	grep -h 'stream [0-9]* end:' "$(zc_run_dir "$1")/daemon.log" | sed -n "${2}p"
}
zc_field() { # LINE NAME -> value
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# zc_check_frames RUN T WANT LINE: gpu-decode "T" of run RUN exited 0 and
# its frames have MD5 WANT (else a BAD line and status 1); sets zc_pages and
# zc_objs (the stream's output resources of each kind) from its counters LINE.
zc_check_frames() {
	local got
	zc_pages=$(zc_field "$4" res_guest_pages_out)
	zc_objs=$(zc_field "$4" res_virtio_object_out)
	grep -qx "ZC $2 rc=0" "$tmp/$1.out" || { echo "BAD  $1: gpu-decode $2 failed"; return 1; }
	got=$(zc_md5 "$1" "$2.out")
	[ "$got" = "$3" ] || { echo "BAD  $1: gpu-decode $2: MD5 $got, host $3"; return 1; }
}

# zc_check_gst NAME: the gst-launch-1.0 of run NAME (its log, then
# "gst-launch-status=N") exited 0, reached EOS, and reported no error or warning.
zc_check_gst() {
	grep -qx 'gst-launch-status=0' "$tmp/$1.out" || fail "$1: gst-launch-1.0 failed or timed out (above)"
	grep -q 'Got EOS from element' "$tmp/$1.out" || fail "$1: no EOS"
	! grep -E 'ERROR|WARNING' "$tmp/$1.out" || fail "$1: GStreamer reported errors or warnings (above)"
}
