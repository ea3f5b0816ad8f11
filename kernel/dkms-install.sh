#!/bin/sh
# Registers the driver with DKMS from this tree (the package of make
# dkms-deb does the same from /usr/src): copies dkms.conf, kernel/ sources and
# the shared include/ header to /usr/src/virtio-video-<version>, then
# dkms add/build/install (for the running kernel, or -k VERSION).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/kernel/dkms.conf")
dst=/usr/src/virtio-video-$ver
rm -rf "$dst"
mkdir -p "$dst/kernel" "$dst/include"
cp "$top/kernel/dkms.conf" "$dst/"
cp "$top"/kernel/Kbuild "$top"/kernel/Makefile "$top"/kernel/vv*.c "$top"/kernel/vv.h "$dst/kernel/"
cp "$top"/include/virtio_video.h "$dst/include/"
dkms add -m virtio-video -v "$ver" || true
dkms build -m virtio-video -v "$ver" "$@"
dkms install -m virtio-video -v "$ver" "$@"
