#!/usr/bin/env bash
# The guest's DKMS package (make dkms-deb: virtio-video-dkms), installed for
# real in a guest that loads none of the suite's modules (vm-run
# --no-modules; its root is an overlay, so dpkg changes nothing here). One
# boot, tests/guest/dkms.sh:
#   dpkg -i dkms and linux-source-X.Y (from the cache, downloaded here with
#   apt-get download when the host lacks them), then virtio-video-dkms: its
#   postinst builds for the running kernel (uname -r = scripts/kernel-version,
#   /lib/modules/K/build -> /usr/src/linux-headers-K), both virtio_video.ko
#   and the companion v4l2-mem2mem.ko (Debian's kernel lacks it) land in
#   updates/dkms; modprobe virtio_video loads both from there; GStreamer
#   decodes H.264 and VP9 bit-exactly (MD5 = the host's decode); after
#   rmmod and dpkg -r no module of the package is left and modprobe no
#   longer finds virtio_video.
# backends: ffmpeg (the package is what is tested; the decode runs on either plugin)
. "$(dirname "$0")/lib"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
need_streams h264.h264 vp9.ivf
kver=$("$top/scripts/kernel-version") || fail "no guest kernel version"
[ -f "/usr/src/linux-headers-$kver/Makefile" ] ||
	skip "no /usr/src/linux-headers-$kver (DKMS builds in the guest against the host's /usr/src; scripts/install-deps)"

pkg=$("$top/kernel/dkms-deb.sh" "$VV_BUILD/dkms") || fail "cannot build the DKMS package"
echo "package: $pkg"

# What the guest installs first: dkms, and the kernel source the companion
# module comes from (same version as the kernel), unless the host has them.
series=$(echo "$kver" | cut -d. -f1,2)
srcver=$(dpkg-query -W -f='${Version}' "linux-headers-$kver") || fail "no version of linux-headers-$kver"
debdir=${XDG_CACHE_HOME:-$HOME/.cache}/virtio-video-suite/dkms-debs
mkdir -p "$debdir"
deps=()
fetch() { # package[=version] -> adds its .deb from the cache to deps
	local name=${1%%=*} f
	f=$(ls "$debdir/${name}_"*.deb 2>/dev/null | head -n 1)
	if [ -z "$f" ]; then
		(cd "$debdir" && apt-get download -qq -o APT::Sandbox::User=root "$1" >/dev/null) ||
			fail "cannot download $1 into $debdir"
		f=$(ls "$debdir/${name}_"*.deb | head -n 1)
	fi
	deps+=("$f")
}
dpkg-query -W -f='${Status}' dkms 2>/dev/null | grep -q 'ok installed' || fetch dkms
[ "$(dpkg-query -W -f='${Version}' "linux-source-$series" 2>/dev/null)" = "$srcver" ] ||
	{ rm -f "$(ls "$debdir/linux-source-${series}_"*.deb 2>/dev/null | grep -v "_${srcver}_")"; fetch "linux-source-$series=$srcver"; }
echo "installed first in the guest: ${deps[*]:-nothing}"

run_vm dkms --no-modules --timeout 1500 -- bash tests/guest/dkms.sh "$streams" "$pkg" "${deps[@]}"
[ $rc = 0 ] || fail "dkms: guest run failed (exit $rc)"
dir=$(run_folder dkms)
field() { run_field dkms "$1"; }
show_log() { [ -s "$dir/$1" ] && { echo "--- $1 (last 30 lines)"; tail -n 30 "$dir/$1"; }; }
[ "$(field uname)" = "$kver" ] || fail "the guest runs $(field uname), not $kver"
[ "$(field preloaded)" = 0 ] || fail "the harness preloaded the suite's modules (--no-modules)"
[ "$(field build)" = "/usr/src/linux-headers-$kver" ] || fail "/lib/modules/$kver/build -> $(field build)"
[ ${#deps[@]} = 0 ] || [ "$(field deps-status)" = 0 ] || { show_log dpkg-deps.log; fail "dpkg -i ${deps[*]} failed"; }
[ "$(field install-status)" = 0 ] ||
	{ show_log dpkg-install.log; show_log dkms-make.log; fail "dpkg -i $(basename "$pkg") failed"; }
echo "in the guest: dpkg -i of the dependencies $(field deps-seconds) s, of virtio-video-dkms (DKMS build + install) $(field install-seconds) s"
grep '^virtio-video: ' "$dir/dkms-make.log" 2>/dev/null
sed 's/^/dkms status: /' "$dir/dkms-status.txt"
for m in virtio_video v4l2-mem2mem; do
	grep -qE "^installed $m\.ko(\.[a-z]+)?$" "$TMP/dkms.out" ||
		{ show_log dpkg-install.log; fail "DKMS installed no $m.ko in updates/dkms"; }
done
[ "$(field modprobe-status)" = 0 ] || fail "modprobe virtio_video failed"
[ "$(field loaded)" = "v4l2_mem2mem virtio_video " ] || fail "loaded: '$(field loaded)'"
for m in virtio_video v4l2_mem2mem; do
	case $(field "file-$m") in
	"/lib/modules/$kver/updates/dkms/"*) ;;
	*) fail "$m came from '$(field "file-$m")', not DKMS's updates/dkms" ;;
	esac
done
check_run_decodes dkms 2
[ "$(field rmmod-status)" = 0 ] || fail "rmmod failed"
[ "$(field remove-status)" = 0 ] || { show_log dpkg-remove.log; fail "dpkg -r virtio-video-dkms failed"; }
! grep '^left ' "$TMP/dkms.out" || { show_log dpkg-remove.log; fail "modules left after dpkg -r (above)"; }
[ "$(field modprobe-after)" != 0 ] || fail "modprobe still finds virtio_video after dpkg -r"
echo ok
