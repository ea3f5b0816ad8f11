#!/usr/bin/env bash
# Guest driver, decoder state machine (tests/guest/vv-dectest.c): decode with
# MMAP and with DMABUF CAPTURE buffers (imported from another context's
# EXPBUF), drain with DEC_CMD_STOP (LAST buffer, EPIPE, EOS event, EBUSY for
# a second STOP) then DEC_CMD_START and the stream again, seek by
# STREAMOFF/STREAMON of OUTPUT, then (module reloaded with contig=1)
# videobuf2-dma-contig buffers. The frames must equal the host's decode. One boot.
. "$(dirname "$0")/lib"
need_dectest
ffmpeg -nostdin -v error -i "$src" -f rawvideo -pix_fmt yuv420p "$TMP/ref.yuv" || fail "host decode"
ref=$(md5sum <"$TMP/ref.yuv" | cut -d' ' -f1)
ref2=$(cat "$TMP/ref.yuv" "$TMP/ref.yuv" | md5sum | cut -d' ' -f1)

run_vm control --timeout 400 -- bash tests/guest/dectest-modes.sh "$prog" "$src" "$top/kernel/virtio_video.ko"
[ $rc = 0 ] || fail "guest run failed (exit $rc)"
bad=0
for m in plain dmabuf restart seek dmabuf-restart contig; do
	line=$(grep "^$m rc=" "$TMP/control.out")
	want=$ref
	case $m in *restart) want=$ref2 ;; esac
	case $line in
	"$m rc=0 $want "*) echo "ok   $line" ;;
	*) echo "BAD  ${line:-$m: no result} (want $want)"; bad=$((bad + 1)) ;;
	esac
done
[ $bad = 0 ] || fail "$bad of 6 modes failed"
echo ok
