# Sourced by the native tests (tests/native/*.sh); not a test itself.
# Provides: a private temp dir, a daemon on a fresh socket (killed on exit),
# cached test streams, reference MD5s, and decode checks through vv-client.
set -euo pipefail

VV_TOP=${VV_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VV_BUILD=${VV_BUILD:-$VV_TOP/build}
STREAMS=$VV_TOP/build/test-streams
CLIENT=$VV_BUILD/vv-client
HOSTILE=$VV_BUILD/vv-hostile
DAEMON=$VV_BUILD/vhost-user-video
SAN=0
case $VV_BUILD in
*-san | *-san/) SAN=1 ;;
esac
if [ "$SAN" = 1 ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export LSAN_OPTIONS=suppressions=$VV_TOP/tests/native/lsan.supp:print_suppressions=0
	# GLib has no frame pointers: only the slow unwinder reaches the frame
	# that tests/native/lsan.supp names
	[ "${VV_BACKEND:-}" = gstreamer ] && ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vv-test.XXXXXX")
SOCK=$TMP/sock
DLOG=$TMP/daemon.log
DPID=

skip() { echo "$*"; exit 77; }
die() { echo "FAIL: $*" >&2; [ -f "$DLOG" ] && { echo "--- daemon log (tail)"; tail -n 30 "$DLOG"; } >&2; exit 1; }

cleanup() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DPID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

need_tools() {
	[ -x "$CLIENT" ] || skip "no $CLIENT (make client-all)"
	[ -x "$DAEMON" ] || skip "no $DAEMON (make host-all)"
	command -v ffmpeg >/dev/null || skip "no ffmpeg"
}

# start_daemon [daemon args...]
# The codec plugin is $VV_BACKEND (tests/run sets it per pass; default the
# daemon's, ffmpeg); a --backend among the arguments wins.
start_daemon() {
	rm -f "$SOCK"
	"$DAEMON" --socket-path "$SOCK" ${VV_BACKEND:+--backend "$VV_BACKEND"} "$@" 2>>"$DLOG" &
	DPID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$DPID" 2>/dev/null || die "daemon exited at start"
		sleep 0.05
	done
	die "daemon did not create $SOCK"
}

# The daemon is alive and its log has no sanitizer report.
check_daemon() {
	kill -0 "$DPID" 2>/dev/null || die "daemon died${1:+ ($1)}"
	if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer' "$DLOG"; then
		grep -nE -A20 'runtime error|AddressSanitizer|LeakSanitizer' "$DLOG" | head -40 >&2
		die "sanitizer report in the daemon log${1:+ ($1)}"
	fi
}

# Stops the daemon with SIGTERM: it must exit 0 (and, under ASan, leak-free).
stop_daemon() {
	local rc=0
	kill -TERM "$DPID"
	wait "$DPID" || rc=$?
	DPID=
	[ "$rc" = 0 ] || die "daemon exit status $rc after SIGTERM"
	if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$DLOG"; then
		grep -nE -A20 'runtime error|AddressSanitizer|LeakSanitizer' "$DLOG" | head -40 >&2
		die "sanitizer report in the daemon log"
	fi
}

ffq() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

# IVF concatenation: header of the first file, frames of all, pts renumbered.
ivf_cat() { # out in...
	python3 - "$@" <<'PY'
import struct, sys
out, ins = sys.argv[1], sys.argv[2:]
frames, hdr = [], None
for name in ins:
    d = open(name, 'rb').read()
    hdr = hdr or bytearray(d[:32])
    off = struct.unpack_from('<H', d, 6)[0]
    while off + 12 <= len(d):
        size = struct.unpack_from('<I', d, off)[0]
        frames.append(d[off + 12:off + 12 + size])
        off += 12 + size
struct.pack_into('<I', hdr, 24, len(frames))
with open(out, 'wb') as f:
    f.write(hdr)
    for i, fr in enumerate(frames):
        f.write(struct.pack('<IQ', len(fr), i) + fr)
PY
}

# stream NAME: prints the path of a cached test stream, generating it once.
stream() {
	local name=$1 out tmp src
	mkdir -p "$STREAMS"
	case $name in
	h264 | h264-odd | h264-a | h264-b) out=$STREAMS/$name.h264 ;;
	hevc) out=$STREAMS/$name.hevc ;;
	*) out=$STREAMS/$name.ivf ;;
	esac
	if [ ! -s "$out" ]; then
		tmp=$TMP/gen.$name.$(basename "$out")
		src() { echo "testsrc2=size=$1:rate=30"; }
		case $name in
		h264) ffq -f lavfi -i "$(src 320x240)" -frames:v 60 -c:v libx264 -bf 3 -pix_fmt yuv420p -f h264 "$tmp" ;;
		h264-a) ffq -f lavfi -i "$(src 320x240)" -frames:v 30 -c:v libx264 -bf 3 -pix_fmt yuv420p -f h264 "$tmp" ;;
		h264-b) ffq -f lavfi -i "mandelbrot=size=176x144:rate=30" -frames:v 30 -c:v libx264 -bf 2 -pix_fmt yuv420p -f h264 "$tmp" ;;
		h264-odd) ffq -f lavfi -i "$(src 176x100)" -frames:v 30 -c:v libx264 -bf 3 -pix_fmt yuv420p -f h264 "$tmp" ;;
		h264-reschange)
			out=$STREAMS/$name.h264
			cat "$(stream h264-a)" "$(stream h264-b)" >"$tmp" ;;
		hevc) ffq -f lavfi -i "$(src 320x240)" -frames:v 60 -c:v libx265 -x265-params log-level=error:bframes=3 -pix_fmt yuv420p -f hevc "$tmp" ;;
		vp8) ffq -f lavfi -i "$(src 320x240)" -frames:v 30 -c:v libvpx -b:v 500k -f ivf "$tmp" ;;
		vp9) ffq -f lavfi -i "$(src 320x240)" -frames:v 30 -c:v libvpx-vp9 -b:v 500k -pix_fmt yuv420p -f ivf "$tmp" ;;
		vp9-a) ffq -f lavfi -i "$(src 320x240)" -frames:v 20 -c:v libvpx-vp9 -pix_fmt yuv420p -f ivf "$tmp" ;;
		vp9-b) ffq -f lavfi -i "$(src 176x144)" -frames:v 20 -c:v libvpx-vp9 -pix_fmt yuv420p -f ivf "$tmp" ;;
		vp9-odd) ffq -f lavfi -i "$(src 175x99)" -frames:v 20 -c:v libvpx-vp9 -pix_fmt yuv420p -f ivf "$tmp" ;;
		vp9-reschange) ivf_cat "$tmp" "$(stream vp9-a)" "$(stream vp9-b)" ;;
		*) die "unknown stream $name" ;;
		esac
		[ "$name" = h264-reschange ] && out=$STREAMS/$name.h264
		[ -s "$tmp" ] || die "could not generate $name"
		mv -f "$tmp" "$out"
	fi
	[ "$name" = h264-reschange ] && out=$STREAMS/$name.h264
	echo "$out"
}

# ref_md5 FILE: MD5 of ffmpeg's own I420 decode (each frame at its size).
ref_md5() {
	local f=$1
	if [ ! -s "$f.md5" ] || [ "$f.md5" -ot "$f" ]; then
		ffq -i "$f" -autoscale 0 -f rawvideo -pix_fmt yuv420p - | md5sum | cut -d' ' -f1 >"$f.md5.tmp"
		mv -f "$f.md5.tmp" "$f.md5"
	fi
	cat "$f.md5"
}

codec_of() {
	case $1 in
	*.h264) echo h264 ;;
	*.hevc) echo hevc ;;
	*vp8*) echo vp8 ;;
	*) echo vp9 ;;
	esac
}

# ref_rgb FILE bgra|argb: the stream's frames as RGB, converted the way the
# daemon's plugin ($VV_BACKEND) converts: swscale bilinear + accurate rounding
# for ffmpeg, videoconvert (GstVideoConverter's defaults) for gstreamer.
ref_rgb() {
	"$VV_TOP/tests/ref-rgb" "$@"
}

# decode_check STREAMNAME [vv-client options...]: output MD5 equals the reference.
decode_check() {
	local name=$1 f ref got
	shift
	f=$(stream "$name")
	ref=$(ref_md5 "$f")
	rm -f "$TMP/out.yuv"
	if ! "$CLIENT" --socket "$SOCK" --codec "$(codec_of "$f")" --input "$f" --output "$TMP/out.yuv" "$@" >"$TMP/client.log" 2>&1; then
		cat "$TMP/client.log" >&2
		die "vv-client failed on $name $*"
	fi
	got=$(md5sum <"$TMP/out.yuv" | cut -d' ' -f1)
	[ "$got" = "$ref" ] || die "$name $*: MD5 $got, reference $ref"
	check_daemon "$name $*"
	echo "ok: $name $* ($got)"
}
