# Sourced by the native tests (tests/native/*.sh); not a test itself.
# Provides, besides tests/common.bash ($TMP, fail, skip, ref_md5): a daemon
# on a fresh socket (killed on exit), cached test streams, and decode checks
# through vv-client.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/../common.bash"
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

SOCK=$TMP/sock
DLOG=$TMP/daemon.log
DPID=

# fail (tests/common.bash) shows the end of the daemon's log too.
fail_hook() { if [ -f "$DLOG" ]; then echo "--- daemon log (tail)"; tail -n 30 "$DLOG"; fi; }

# At exit (tests/common.bash): the daemon goes, then $TMP.
cleanup() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DPID" 2>/dev/null || true
	fi
}

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
		kill -0 "$DPID" 2>/dev/null || fail "daemon exited at start"
		sleep 0.05
	done
	fail "daemon did not create $SOCK"
}

# The daemon is alive and its log has no sanitizer report.
check_daemon() {
	kill -0 "$DPID" 2>/dev/null || fail "daemon died${1:+ ($1)}"
	if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer' "$DLOG"; then
		grep -nE -A20 'runtime error|AddressSanitizer|LeakSanitizer' "$DLOG" | head -40 >&2
		fail "sanitizer report in the daemon log${1:+ ($1)}"
	fi
}

# Stops the daemon with SIGTERM: it must exit 0 (and, under ASan, leak-free).
stop_daemon() {
	local rc=0
	kill -TERM "$DPID"
	wait "$DPID" || rc=$?
	DPID=
	[ "$rc" = 0 ] || fail "daemon exit status $rc after SIGTERM"
	if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$DLOG"; then
		grep -nE -A20 'runtime error|AddressSanitizer|LeakSanitizer' "$DLOG" | head -40 >&2
		fail "sanitizer report in the daemon log"
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
	h264 | h264-odd | h264-a | h264-b | h264-lowlat) out=$STREAMS/$name.h264 ;;
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
		# no B-frames, no lookahead: each access unit gives its picture at once
		h264-lowlat) ffq -f lavfi -i "$(src 320x240)" -frames:v 60 -c:v libx264 -tune zerolatency -bf 0 -pix_fmt yuv420p -f h264 "$tmp" ;;
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
		*) fail "unknown stream $name" ;;
		esac
		[ "$name" = h264-reschange ] && out=$STREAMS/$name.h264
		[ -s "$tmp" ] || fail "could not generate $name"
		mv -f "$tmp" "$out"
	fi
	[ "$name" = h264-reschange ] && out=$STREAMS/$name.h264
	echo "$out"
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
		fail "vv-client failed on $name $*"
	fi
	got=$(md5sum <"$TMP/out.yuv" | cut -d' ' -f1)
	[ "$got" = "$ref" ] || fail "$name $*: MD5 $got, reference $ref"
	check_daemon "$name $*"
	echo "ok: $name $* ($got)"
}

# ---- encoder (tests/native/encode-*.sh) ----------------------------------------

ENC_HOSTILE=$VV_BUILD/vv-hostile-enc
ENC_CODECS=

# need_encoder: ENC_CODECS lists what the plugin ($VV_BACKEND) encodes; both
# plugins encode, so a plugin with no encoder fails the test.
need_encoder() {
	local caps
	need_tools
	command -v ffprobe >/dev/null || skip "no ffprobe"
	command -v python3 >/dev/null || skip "no python3"
	"$DAEMON" --help 2>&1 | grep -q -- '--device decoder|encoder' ||
		skip "the daemon has no --device encoder yet"
	caps=$("$DAEMON" --device encoder --print-capabilities ${VV_BACKEND:+--backend "$VV_BACKEND"} 2>&1) ||
		skip "vhost-user-video --device encoder --print-capabilities failed: $(echo "$caps" | tail -n 1)"
	ENC_CODECS=$(echo "$caps" | sed -n 's/.*"format": "\([a-z0-9]*\)".*/\1/p' | tr '\n' ' ')
	ENC_CODECS=${ENC_CODECS% }
	[ -n "$ENC_CODECS" ] || fail "the ${VV_BACKEND:-ffmpeg} plugin offers no encoder"
	echo "encoder codecs (${VV_BACKEND:-ffmpeg} plugin): $ENC_CODECS"
}
has_enc() { [[ " $ENC_CODECS " == *" $1 "* ]]; }
# enc_codecs C...: those of C the plugin encodes (a note for each it does not).
enc_codecs() {
	local c l=()
	for c in "$@"; do
		# make deps installs an encoder of every codec for both plugins
		has_enc "$c" || fail "the ${VV_BACKEND:-ffmpeg} plugin does not encode $c"
		l+=("$c")
	done
	echo "${l[*]}"
}
# One codec thread: x264's sliced threads (x264enc's default) make its rate
# control, and so its bytes, vary from run to run; the tests compare outputs.
start_encoder() { start_daemon --device encoder --threads 1 "$@"; }

enc_ext() { case $1 in h264) echo h264 ;; hevc) echo hevc ;; *) echo ivf ;; esac; }

# encode CODEC RAW WxH OUT [vv-client options...]: vv-client --encode; its
# output in $TMP/enc.log (one "stream N:" line per stream).
encode() {
	local codec=$1 raw=$2 wh=$3 out=$4
	shift 4
	if ! "$CLIENT" --socket "$SOCK" --encode --codec "$codec" --input "$raw" \
		--width "${wh%x*}" --height "${wh#*x}" --output "$out" "$@" >"$TMP/enc.log" 2>&1; then
		cat "$TMP/enc.log" >&2
		fail "vv-client --encode $codec $wh $* failed"
	fi
	cat "$TMP/enc.log"
	check_daemon "encode $codec $*"
}

# enc_field NAME [STREAM]: a field of the client's "stream N:" line.
enc_field() {
	sed -n "s/^stream ${2:-1}: .*\b$1=\([^ ]*\).*/\1/p" "$TMP/enc.log"
}

# decode_to FILE OUT.yuv: ffmpeg's decode as I420, every frame as it comes; prints the frame count.
decode_to() {
	local f=$1 out=$2 wh
	ffq -i "$f" -fps_mode passthrough -f rawvideo -pix_fmt yuv420p "$out" || fail "ffmpeg cannot decode $f"
	wh=$(ffprobe -v error -select_streams v -show_entries stream=width,height -of csv=p=0:s=x "$f")
	echo $(( $(stat -c %s "$out") / ($(frame_bytes "$wh")) ))
}
frame_bytes() { local w=${1%x*} h=${1#*x}; echo $(( w * h + 2 * ((w + 1) / 2) * ((h + 1) / 2) )); }

# psnr A.yuv B.yuv WxH: average PSNR (dB) of two I420 files (ffmpeg's psnr filter).
psnr() {
	ffmpeg -nostdin -hide_banner -loglevel info -f rawvideo -pix_fmt yuv420p -s "$3" -i "$1" \
		-f rawvideo -pix_fmt yuv420p -s "$3" -i "$2" -lavfi '[0][1]psnr' -f null - 2>&1 |
		sed -n 's/.*PSNR .* average:\([0-9.inf]*\) .*/\1/p' | tail -n 1
}
# fge A B: A >= B (floating point)
fge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

# stream_keys FILE: the keyframes ffprobe finds (frame numbers from 0, comma-separated).
stream_keys() {
	# one "frame|key_frame=N" line per frame (side data, e.g. x264's SEI, follow on other lines)
	ffprobe -v error -select_streams v -show_entries frame=key_frame -of compact "$1" |
		sed -n 's/^frame|key_frame=\([01]\).*/\1/p' |
		awk '$1 == 1 { printf "%s%d", n++ ? "," : "", NR - 1 } END { print "" }'
}

# packet_sizes FILE: one line per packet (decode order = frame order: no B-frames).
packet_sizes() {
	ffprobe -v error -select_streams v -show_packets -show_entries packet=size -of csv=p=0 "$1"
}

# nal_count FILE h264|hevc TYPE: NAL units of that type in an Annex-B stream.
nal_count() {
	python3 - "$@" <<'PY'
import re, sys
data, codec, want = open(sys.argv[1], 'rb').read(), sys.argv[2], int(sys.argv[3])
n = 0
for m in re.finditer(b'\x00\x00\x01', data):
    if m.end() < len(data):
        b = data[m.end()]
        n += ((b & 0x1f) if codec == 'h264' else (b >> 1) & 0x3f) == want
print(n)
PY
}

# enc_end_line [N]: the daemon's stream-end line of stream N (the last one logged).
enc_end_line() {
	grep "stream ${1:-1} end: frames_encoded=" "$DLOG" | tail -n 1
}
# line_field LINE NAME
line_field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# bitrate FILE FPS [FIRST [COUNT]]: bits per second of packets FIRST ..
# FIRST+COUNT-1 (frame numbers; default all), the frame rate FPS.
bitrate() {
	packet_sizes "$1" | awk -v fps="$2" -v first="${3:-0}" -v count="${4:-0}" '
		NR - 1 >= first && (count == 0 || NR - 1 < first + count) { b += $1; n++ }
		END { if (!n) exit 1; printf "%.0f\n", b * 8 * fps / n }'
}
# rel_err A B: |A - B| / B
rel_err() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.3f\n", d / b }'; }
# fle A B: A <= B
fle() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

# ---- memory bounds (tests/native/frame-flood.sh, budgets.sh) ------------------

# daemon_idle [PID]: waits (at most 60 s) until the daemon's CPU time has not
# moved for a second, i.e. it finished whatever a flood gave it to do.
daemon_idle() {
	local pid=${1:-$DPID} last=-1 now
	for _ in $(seq 120); do
		now=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
		[ "$now" = "$last" ] && return 0
		last=$now
		sleep 1
	done
	fail "the daemon was still busy after 120 s"
}

# vm_hwm_mib [PID]: the daemon's peak resident set (VmHWM) in MiB.
vm_hwm_mib() { awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/${1:-$DPID}/status"; }
