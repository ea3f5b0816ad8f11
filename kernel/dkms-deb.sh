#!/bin/sh
# Builds the guest's DKMS package, virtio-video-dkms_<version>_all.deb, with
# dpkg-deb --build from a staged tree (make dkms-deb):
#   /usr/src/virtio-video-<version>/dkms.conf, kernel/ (Kbuild, Makefile,
#   vv*.[ch]), include/virtio_video.h
#   postinst: dkms add, then build + install for every kernel that has its
#             headers (/lib/modules/K/build); prerm: dkms remove --all
# Depends: dkms and a linux-source-X.Y, from which kernel/Makefile builds the
# companion v4l2-mem2mem.ko where the kernel lacks it (Debian's 6.1, 6.12).
#   kernel/dkms-deb.sh OUTDIR     prints the .deb's path
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: dkms-deb.sh OUTDIR}
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/kernel/dkms.conf")
[ -n "$ver" ] || { echo "dkms-deb: no PACKAGE_VERSION in kernel/dkms.conf" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$out/stage
rm -rf "$stage"
src=$stage/usr/src/virtio-video-$ver
mkdir -p "$stage/DEBIAN" "$src/kernel" "$src/include" "$stage/usr/share/doc/virtio-video-dkms"
cp "$top/kernel/dkms.conf" "$src/"
cp "$top/kernel/Kbuild" "$top/kernel/Makefile" "$top"/kernel/vv*.c "$top/kernel/vv.h" "$src/kernel/"
cp "$top/include/virtio_video.h" "$src/include/"
printf 'virtio-video guest driver (DKMS sources), GPL-2.0.\n' >"$stage/usr/share/doc/virtio-video-dkms/copyright"
size=$(du -sk "$stage/usr" | cut -f1)
cat >"$stage/DEBIAN/control" <<CTL
Package: virtio-video-dkms
Version: $ver
Architecture: all
Section: kernel
Priority: optional
Maintainer: virtio-video suite <virtio-video@localhost>
Depends: dkms, linux-source-6.1 | linux-source-6.12
Installed-Size: $size
Description: virtio-video guest driver (DKMS)
 The V4L2 stateful decoder/encoder driver for virtio-video devices
 (virtio IDs 30/31), built by DKMS for each installed kernel. Where the
 kernel lacks v4l2-mem2mem.ko (Debian's 6.1 and 6.12 kernels), the
 companion module is built from the linux-source package of its series.
CTL
cat >"$stage/DEBIAN/postinst" <<SH
#!/bin/sh
set -e
[ "\$1" = configure ] || exit 0
dkms add -m virtio-video -v $ver >/dev/null 2>&1 || dkms status -m virtio-video -v $ver | grep -q .
for b in /lib/modules/*/build; do
	[ -e "\$b/Makefile" ] || continue
	k=\${b%/build}
	k=\${k##*/}
	dkms install -m virtio-video -v $ver -k "\$k"
done
SH
cat >"$stage/DEBIAN/prerm" <<SH
#!/bin/sh
set -e
dkms remove -m virtio-video -v $ver --all || true
SH
chmod 755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm"
deb=$out/virtio-video-dkms_${ver}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
rm -rf "$stage"
echo "$deb"
