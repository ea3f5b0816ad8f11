#!/usr/bin/env bash
# Builds the guest modules out of tree for the guest kernel ABI of
# scripts/kernel-version (VV_KERNEL_VERSION, or --kver):
#   virtio_video.ko    the driver (Kbuild here, header from ../include)
#   v4l2-mem2mem.ko    where the kernel lacks it (no CONFIG_V4L2_MEM2MEM_DEV in
#                      its headers' .config: Debian's 6.1 and 6.12), built from
#                      the matching linux-source-X.Y package in the cache,
#                      never committed; not built where the kernel has it
# into kernel/ for bookworm's kernel, kernel/build-ABI/ for another
# (scripts/kernel-version --module-dir), so that modules for different
# kernels never overwrite each other. Headers: scripts/kernel-headers
# (installed, else unpacked into the cache).
# With --check-6.12 it also compile-checks the driver against the 6.12 headers
# of bookworm-backports (unpacked into the cache, not installed).
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

# checkpatch.pl comes from bookworm's kernel source, whatever kernel is built.
[ "$source_only" = 1 ] && kver=$("$top/scripts/kernel-version" --default)
[ -n "$kver" ] && export VV_KERNEL_VERSION=$kver
kver=$("$top/kernel/kernel-version.sh")
default_kver=$("$top/scripts/kernel-version" --default)
series=$(echo "$kver" | cut -d. -f1,2)
out=$("$top/scripts/kernel-version" --module-dir)
mkdir -p "$cache"

# Files taken from the kernel source package (mem2mem, checkpatch): the
# linux-source-X.Y of the same version as the kernel, downloaded and
# unpacked into the cache like the harness fetches the kernel (an installed
# /usr/src/linux-source-X.Y.tar.xz of that version is used as it is).
fetch_source() {
	srcver=$(dpkg-query -W -f='${Version}' "linux-headers-$kver" 2>/dev/null ||
		apt-cache show "linux-image-$kver" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
	[ -n "$srcver" ] || { echo "kernel: no version for $kver (apt-get update?)" >&2; exit 1; }
	src=$cache/linux-source-$srcver
	[ -f "$src/.done" ] && return 0
	local pkg=linux-source-$series srctar=/usr/src/linux-source-$series.tar.xz
	if [ "$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)" != "$srcver" ]; then
		echo "kernel: downloading $pkg=$srcver (for v4l2-mem2mem.c)" >&2
		rm -rf "$src.deb" && mkdir -p "$src.deb"
		(cd "$src.deb" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$srcver") ||
			{ echo "kernel: cannot download $pkg=$srcver" >&2; exit 1; }
		dpkg -x "$src.deb/${pkg}_"*.deb "$src.deb/root"
		srctar=$src.deb/root/usr/src/$pkg.tar.xz
	fi
	rm -rf "$src" && mkdir -p "$src"
	tar -xJf "$srctar" -C "$src" --strip-components=1 \
		"$pkg/drivers/media/v4l2-core/v4l2-mem2mem.c" \
		"$pkg/scripts/checkpatch.pl" \
		"$pkg/scripts/spelling.txt" \
		"$pkg/scripts/const_structs.checkpatch"
	touch "$src/.done"
	rm -rf "$src.deb"
}
if [ "$source_only" = 1 ]; then
	fetch_source
	ln -sfn "$src" "$cache/linux-source"
	exit 0
fi
kdir=$("$top/scripts/kernel-headers" "$kver") || exit 1
[ -f "$kdir/Makefile" ] || { echo "kernel: no headers for $kver at $kdir" >&2; exit 1; }
# Where the kernel has the m2m framework, the companion is not built.
need_m2m=1
grep -qE '^CONFIG_V4L2_MEM2MEM_DEV=[ym]' "$kdir/.config" && need_m2m=0
if [ $need_m2m = 1 ] || [ "$kver" = "$default_kver" ]; then
	fetch_source
	[ "$kver" = "$default_kver" ] && ln -sfn "$src" "$cache/linux-source"
fi

check_log() { # log: fail on any warning
	if grep -Ei 'warning|error' "$1"; then
		echo "kernel: warnings in build (see above)" >&2
		exit 1
	fi
}

# v4l2-mem2mem.ko, unchanged source, built for this kernel.
m2m=$cache/m2m-$kver
symvers=
if [ $need_m2m = 1 ]; then
	mkdir -p "$m2m"
	cp -p "$src/drivers/media/v4l2-core/v4l2-mem2mem.c" "$m2m/"
	echo 'obj-m := v4l2-mem2mem.o' >"$m2m/Kbuild"
	make -s -C "$kdir" M="$m2m" modules >"$m2m/build.log" 2>&1 || { cat "$m2m/build.log"; exit 1; }
	check_log "$m2m/build.log"
	symvers=KBUILD_EXTRA_SYMBOLS=$m2m/Module.symvers
fi

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
	# shellcheck disable=SC2086
	make -s -C "$kdir" M="$altdir/kernel" $symvers modules >"$log" 2>&1 || { cat "$log"; exit 1; }
	check_log "$log"
	echo "kernel: built $altdir/kernel/$alt.ko for $kver"
	exit 0
fi

# The driver, resolving the m2m symbols against the module above: in
# kernel/ itself for bookworm's kernel, in a copy under kernel/build-ABI/
# for another.
mkdir -p "$out"
bdir=$top/kernel
if [ "$out" != "$top/kernel" ]; then
	bdir=$out/src/kernel
	rm -rf "$out/src" && mkdir -p "$bdir" "$out/src/include"
	cp "$top"/kernel/vv*.[ch] "$top/kernel/Kbuild" "$bdir/"
	cp "$top"/include/*.h "$out/src/include/"
fi
log=$bdir/build.log
# shellcheck disable=SC2086
make -s -C "$kdir" M="$bdir" $symvers modules >"$log" 2>&1 || { cat "$log"; exit 1; }
check_log "$log"
[ "$bdir" = "$out" ] || cp "$bdir/virtio_video.ko" "$out/"
rm -f "$out/v4l2-mem2mem.ko"
if [ $need_m2m = 1 ]; then
	cp "$m2m/v4l2-mem2mem.ko" "$out/"
	echo "kernel: built virtio_video.ko and v4l2-mem2mem.ko for $kver in ${out#"$top"/}"
else
	echo "kernel: built virtio_video.ko for $kver in ${out#"$top"/} (the kernel has v4l2-mem2mem)"
fi

[ "$check612" = 1 ] || exit 0

# Compile check against 6.12 (bookworm-backports), headers unpacked, not installed.
k612=$("$top/scripts/kernel-headers" "$("$top/scripts/kernel-version" --backports)") || exit 1
chk=$cache/check-6.12
rm -rf "$chk" && mkdir -p "$chk/kernel" "$chk/include"
cp "$top"/kernel/*.c "$top"/kernel/*.h "$top"/kernel/Kbuild "$chk/kernel/"
cp "$top"/include/*.h "$chk/include/"
objs=$(sed -n 's/^virtio_video-y := //p' "$top/kernel/Kbuild")
log=$chk/build.log
make -s -C "$k612" M="$chk/kernel" $objs >"$log" 2>&1 || { cat "$log"; exit 1; }
check_log "$log"
echo "kernel: compile check against ${k612##*/} clean"
