#!/usr/bin/env bash
# Runs in the guest (tests/vm/dkms.sh, vm-run --no-modules): installs the
# virtio-video-dkms package as a user would, lets DKMS build for the running
# kernel, loads the driver with modprobe, decodes, removes the package. The
# guest's root is an overlay: dpkg changes nothing on the host.
#   dkms.sh STREAMS_DIR PACKAGE.deb DEB...   (DEBs: dkms, linux-source-X.Y,
#                                             installed first when given)
# Prints "KEY value" lines for the host to check; the logs go to $VV_OUT.
set -u
streams=$1 pkg=$2
shift 2
kver=$(uname -r)
mods=/lib/modules/$kver
echo "uname $kver"
echo "preloaded $(grep -cE '^(virtio_video|v4l2_mem2mem) ' /proc/modules)"
# What the linux-headers package of this kernel would have made: the build
# link to its headers in /usr/src (the harness's module tree has none).
[ -e "$mods/build" ] || ln -s "/usr/src/linux-headers-$kver" "$mods/build"
echo "build $(readlink -f "$mods/build")"
# man-db's trigger would rebuild the whole manual index (minutes under TCG);
# without this file it skips that.
rm -f /var/lib/man-db/auto-update
if [ $# -gt 0 ]; then
	t0=$(date +%s)
	dpkg -i "$@" >"$VV_OUT/dpkg-deps.log" 2>&1
	echo "deps-status $?"
	echo "deps-seconds $(( $(date +%s) - t0 ))"
fi
t0=$(date +%s)
dpkg -i "$pkg" >"$VV_OUT/dpkg-install.log" 2>&1
echo "install-status $?"
echo "install-seconds $(( $(date +%s) - t0 ))"
dkms status >"$VV_OUT/dkms-status.txt" 2>&1
cat /var/lib/dkms/virtio-video/*/build/make.log /var/lib/dkms/virtio-video/*/*/*/log/make.log \
	>"$VV_OUT/dkms-make.log" 2>/dev/null
find "$mods/updates/dkms" -name '*.ko*' -printf 'installed %f\n' 2>/dev/null | sort
modprobe virtio_video
echo "modprobe-status $?"
echo "loaded $(grep -oE '^(virtio_video|v4l2_mem2mem) ' /proc/modules | sort | tr -d '\n')"
for m in virtio_video v4l2_mem2mem; do
	echo "file-$m $(modinfo -F filename "$m" 2>/dev/null)"
done
bash tests/guest/decode.sh "$streams" gst h264.h264 vp9.ivf | sed 's/^/DEC /'
rmmod virtio_video v4l2_mem2mem
echo "rmmod-status $?"
dpkg -r virtio-video-dkms >"$VV_OUT/dpkg-remove.log" 2>&1
echo "remove-status $?"
find "$mods" -name 'virtio_video.ko*' -o -name 'v4l2-mem2mem.ko*' | sed 's/^/left /'
modprobe -n virtio_video 2>/dev/null
echo "modprobe-after $?"
