# shellcheck shell=bash
# Helpers for tests/vm/driver-ext.sh and tests/vm/vm-run-driver.sh (sourced
# after tests/vm/lib; not a test itself: not executable).
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
	local name=$1 min=$2 bad=0 n=0 tool s md5 want
	while read -r tag tool s md5; do
		[ "$tag" = DEC ] || continue
		n=$((n + 1))
		want=$(cat "$ext_streams/$s.md5")
		if [ "$md5" = "$want" ]; then
			echo "ok   $name: $tool $s"
		else
			echo "BAD  $name: $tool $s: $md5, host $want"
			bad=$((bad + 1))
		fi
	done <"$tmp/$name.out"
	[ $n -ge "$min" ] || fail "$name: only $n of $min decodes reported"
	[ $bad = 0 ] || fail "$name: $bad of $n decodes differ from the host decode"
}

# Guest shell snippet: $vvdev = the sysfs folder of the virtio-video decoder.
ext_find_dev='vvdev=; for d in /sys/bus/virtio/devices/*; do [ "$(cat $d/device)" = 0x001f ] && vvdev=$d; done'

# ext_field NAME KEY: the value of the guest's "KEY value..." line in run NAME.
ext_field() {
	sed -n "s/^$2 //p" "$tmp/$1.out" | tail -n 1
}
