# Shared settings of the VM harness scripts (sourced, not run).
# The cache lives outside the clone so CI and later sessions reuse it.
VV_CACHE=${VV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-video-suite}
vv_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

vv_say() { echo "$(basename "$0"): $*" >&2; }
vv_die() { vv_say "$*"; exit 1; }

# Hash of everything that goes into our QEMU build (front-end, glue, recipe).
vv_qemu_hash() {
	(cd "$vv_top" && find qemu scripts/build-qemu -type f -print0 | LC_ALL=C sort -z |
		xargs -0 sha256sum) | sha256sum | cut -c1-12
}

# The QEMU binary already built for the current front-end, if any.
vv_qemu_cached() {
	local h d
	h=$(vv_qemu_hash)
	for d in "$VV_CACHE"/qemu-*-"$h"; do
		[ -x "$d/bin/qemu-system-x86_64" ] && { echo "$d"; return 0; }
	done
	return 1
}
