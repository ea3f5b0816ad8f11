#!/usr/bin/env bash
# Builds the guest modules out of tree:
#   kernel/virtio_video.ko    the driver (Kbuild here, header from ../include)
#   kernel/v4l2-mem2mem.ko    Debian's kernels lack it: built from the matching
#                             linux-source package into the cache, never committed
# and, with --check-6.12, compile-checks the driver against the 6.12 headers
# of bookworm-backports (extracted into the cache, not installed).
# Any compiler or modpost warning fails the build.
#   kernel/build.sh [--check-6.12] [--kver VERSION]
#   kernel/build.sh --source-only     only fetch/unpack the source files
#   kernel/build.sh --as NAME --out DIR
#                   the same sources built as module NAME in DIR/kernel/NAME.ko
#                   (tests/vm/vm-run-driver.sh: another driver for vm-run --driver)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/virtio-video-suite
check612=0
source_only=0
kver=
alt= altdir=
while [ $# -gt 0 ]; do
	case $1 in
	--check-6.12) check612=1 ;;
	--source-only) source_only=1 ;;
	--kver) kver=$2; shift ;;
	--as) alt=$2; shift ;;
	--out) altdir=$2; shift ;;
	*) echo "usage: $0 [--check-6.12] [--kver VERSION] [--as NAME --out DIR]" >&2; exit 2 ;;
	esac
	shift
done
if [ -n "$alt$altdir" ]; then
	[[ $alt =~ ^[a-z][a-z0-9_]*$ && ! -e $top/kernel/$alt.c && -n $altdir ]] ||
		{ echo "kernel: --as NAME (a C identifier, not a source's name) needs --out DIR" >&2; exit 2; }
fi

kver=${kver:-$("$top/kernel/kernel-version.sh")}
kdir=/usr/src/linux-headers-$kver
mkdir -p "$cache"

# Files taken from the kernel source package (mem2mem, checkpatch): the
# linux-source-6.1 of the same version as the headers, downloaded and
# unpacked into the cache like the harness fetches the kernel (an installed
# /usr/src/linux-source-6.1.tar.xz of that version is used as it is).
srcver=$(dpkg-query -W -f='${Version}' "linux-headers-$kver" 2>/dev/null ||
	apt-cache show "linux-image-$kver" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$srcver" ] || { echo "kernel: no version for $kver (apt-get update?)" >&2; exit 1; }
src=$cache/linux-source-$srcver
if [ ! -f "$src/.done" ]; then
	srctar=/usr/src/linux-source-6.1.tar.xz
	if [ "$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null)" != "$srcver" ]; then
		rm -rf "$src.deb" && mkdir -p "$src.deb"
		(cd "$src.deb" && apt-get download -qq "linux-source-6.1=$srcver") ||
			{ echo "kernel: cannot download linux-source-6.1=$srcver" >&2; exit 1; }
		dpkg -x "$src.deb"/linux-source-6.1_*.deb "$src.deb/root"
		srctar=$src.deb/root/usr/src/linux-source-6.1.tar.xz
	fi
	rm -rf "$src" && mkdir -p "$src"
	tar -xJf "$srctar" -C "$src" --strip-components=1 \
		linux-source-6.1/drivers/media/v4l2-core/v4l2-mem2mem.c \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch "$src/.done"
	rm -rf "$src.deb"
fi
ln -sfn "$src" "$cache/linux-source"
[ "$source_only" = 1 ] && exit 0
[ -d "$kdir" ] || { echo "kernel: $kdir missing (make deps, or apt-get install linux-headers-$kver)" >&2; exit 1; }

check_log() { # log: fail on any warning
	if grep -Ei 'warning|error' "$1"; then
		echo "kernel: warnings in build (see above)" >&2
		exit 1
	fi
}

# v4l2-mem2mem.ko, unchanged source, built for this kernel.
m2m=$cache/m2m-$kver
mkdir -p "$m2m"
cp -p "$src/drivers/media/v4l2-core/v4l2-mem2mem.c" "$m2m/"
echo 'obj-m := v4l2-mem2mem.o' >"$m2m/Kbuild"
make -s -C "$kdir" M="$m2m" modules >"$m2m/build.log" 2>&1 || { cat "$m2m/build.log"; exit 1; }
check_log "$m2m/build.log"
cp "$m2m/v4l2-mem2mem.ko" "$top/kernel/"

# The same sources under another module name, built outside the tree.
if [ -n "$alt" ]; then
	mkdir -p "$altdir"
	altdir=$(cd "$altdir" && pwd)
	rm -rf "$altdir/kernel" "$altdir/include"
	mkdir -p "$altdir/kernel" "$altdir/include"
	cp "$top"/kernel/vv*.[ch] "$altdir/kernel/"
	cp "$top"/include/*.h "$altdir/include/"
	sed "s/^obj-m += virtio_video\.o/obj-m += $alt.o/; s/^virtio_video-y/$alt-y/" \
		"$top/kernel/Kbuild" >"$altdir/kernel/Kbuild"
	log=$altdir/kernel/build.log
	make -s -C "$kdir" M="$altdir/kernel" KBUILD_EXTRA_SYMBOLS="$m2m/Module.symvers" \
		modules >"$log" 2>&1 || { cat "$log"; exit 1; }
	check_log "$log"
	echo "kernel: built $altdir/kernel/$alt.ko for $kver"
	exit 0
fi

# The driver, resolving the m2m symbols against the module above.
log=$top/kernel/build.log
make -s -C "$kdir" M="$top/kernel" KBUILD_EXTRA_SYMBOLS="$m2m/Module.symvers" \
	modules >"$log" 2>&1 || { cat "$log"; exit 1; }
check_log "$log"
echo "kernel: built virtio_video.ko and v4l2-mem2mem.ko for $kver"

[ "$check612" = 1 ] || exit 0

# Compile check against 6.12 (bookworm-backports), headers unpacked, not installed.
k612=$cache/k612
if [ ! -f "$k612/.done" ]; then
	rm -rf "$k612" && mkdir -p "$k612/debs"
	hdr=$(apt-cache -t bookworm-backports depends linux-headers-amd64 |
		sed -n 's/^ *Depends: \(linux-headers-6\.12.*-amd64\)$/\1/p' | head -n 1)
	[ -n "$hdr" ] || { echo "kernel: no 6.12 headers in bookworm-backports" >&2; exit 1; }
	abi=${hdr#linux-headers-}
	abi=${abi%-amd64}
	(cd "$k612/debs" && apt-get download -qq "$hdr" "linux-headers-$abi-common" "linux-kbuild-$abi")
	for d in "$k612"/debs/*.deb; do dpkg -x "$d" "$k612"; done
	# The arch package includes its common part by absolute path.
	sed -i "s|include /usr/src/|include $k612/usr/src/|" "$k612/usr/src/$hdr/Makefile"
	ln -sfn "$k612/usr/src/$hdr" "$k612/build"
	touch "$k612/.done"
fi
chk=$cache/check-6.12
rm -rf "$chk" && mkdir -p "$chk/kernel" "$chk/include"
cp "$top"/kernel/*.c "$top"/kernel/*.h "$top"/kernel/Kbuild "$chk/kernel/"
cp "$top"/include/*.h "$chk/include/"
objs=$(sed -n 's/^virtio_video-y := //p' "$top/kernel/Kbuild")
log=$chk/build.log
make -s -C "$k612/build" M="$chk/kernel" $objs >"$log" 2>&1 || { cat "$log"; exit 1; }
check_log "$log"
echo "kernel: compile check against $(readlink "$k612/build" | sed 's|.*/||') clean"
