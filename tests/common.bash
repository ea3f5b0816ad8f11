# shellcheck shell=bash
# Sourced by both test helper libraries, tests/native/lib.bash and
# tests/vm/lib (not a test itself). The one convention of the suite's tests:
#   $VV_TOP, $VV_BUILD  the tree and the build (tests/run sets both)
#   $TMP                a private temporary folder, removed at exit
#   fail MESSAGE...     "FAIL: MESSAGE" on stderr, exit 1 (then fail_hook, if
#                       the library or the test defines one: more context)
#   skip MESSAGE...     MESSAGE (tests/run shows the last line), exit 77
#   cleanup             a test's or library's own teardown, if defined: run
#                       at exit, before $TMP goes
#   ref_md5 FILE        the host's reference MD5 of a test stream
#   raw_clip WxH N [yuv420|nv12]  a cached raw clip (testsrc2, 30 fps)
VV_TOP=${VV_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VV_BUILD=${VV_BUILD:-$VV_TOP/build}
export VV_TOP VV_BUILD

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vv-test.XXXXXX")
vv_exit() {
	if declare -F cleanup >/dev/null; then cleanup; fi
	rm -rf "$TMP"
}
trap vv_exit EXIT

fail() {
	echo "FAIL: $*" >&2
	if declare -F fail_hook >/dev/null; then fail_hook >&2; fi
	exit 1
}
skip() { echo "$*"; exit 77; }

# ref_md5 FILE: prints the MD5 of ffmpeg's own I420 decode of FILE (each
# frame at its own size), kept in FILE.md5 and made again when FILE is newer.
ref_md5() {
	local f=$1
	if [ ! -s "$f.md5" ] || [ ! "$f.md5" -nt "$f" ]; then
		ffmpeg -nostdin -hide_banner -loglevel error -y -i "$f" -autoscale 0 -f rawvideo -pix_fmt yuv420p - |
			md5sum | cut -d' ' -f1 >"$f.md5.tmp"
		mv -f "$f.md5.tmp" "$f.md5"
	fi
	cat "$f.md5"
}

# raw_clip WxH FRAMES [yuv420|nv12]: cached packed frames of testsrc2 at 30
# fps, in the test streams folder (native and VM tests share them).
raw_clip() {
	local wh=$1 n=$2 fmt=${3:-yuv420} dir=${STREAMS:-$VV_TOP/build/test-streams} out tmp
	mkdir -p "$dir"
	out=$dir/raw-$wh-$n.$fmt
	if [ ! -s "$out" ]; then
		tmp=$TMP/gen.raw.$wh.$n.$fmt
		ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=$wh:rate=30" \
			-frames:v "$n" -f rawvideo -pix_fmt "${fmt/yuv420/yuv420p}" "$tmp" ||
			fail "could not generate $out"
		mv -f "$tmp" "$out"
	fi
	echo "$out"
}
