#!/usr/bin/env bash
# Guest driver, decoder state machine (tests/guest/vv-dectest.c): decode with
# MMAP and with DMABUF CAPTURE buffers (imported from another context's
# EXPBUF), drain with DEC_CMD_STOP (LAST buffer, EPIPE, EOS event, EBUSY for
# a second STOP) then DEC_CMD_START and the stream again, seek by
# STREAMOFF/STREAMON of OUTPUT, then (module reloaded with contig=1)
# videobuf2-dma-contig buffers. The frames must equal the host's decode. One boot.
. "$(dirname "$0")/lib"
need_dectest
ffmpeg -nostdin -v error -i "$src" -f rawvideo -pix_fmt yuv420p "$tmp/ref.yuv" || fail "host decode"
ref=$(md5sum <"$tmp/ref.yuv" | cut -d' ' -f1)
ref2=$(cat "$tmp/ref.yuv" "$tmp/ref.yuv" | md5sum | cut -d' ' -f1)

run_vm control --timeout 400 -- bash -c '
	for m in plain dmabuf restart seek dmabuf-restart; do
		case $m in
		plain) opt= ;; dmabuf) opt=--dmabuf ;; restart) opt=--restart ;;
		seek) opt=--seek ;; dmabuf-restart) opt="--dmabuf --restart" ;;
		esac
		timeout -s KILL 120 "$1" $opt "$2" "$VV_OUT/$m.yuv" >"$VV_OUT/$m.log" 2>&1
		echo "$m rc=$? $(md5sum <"$VV_OUT/$m.yuv" | cut -d" " -f1) $(tr "\n" " " <"$VV_OUT/$m.log")"
	done
	# Contiguous buffers (videobuf2-dma-contig), as without NON_CONTIG: the
	# module is reloaded with contig=1 and the device probed again.
	rmmod virtio_video && insmod "$3" contig=1 && sleep 1 || exit 5
	timeout -s KILL 120 "$1" --dmabuf "$2" "$VV_OUT/contig.yuv" >"$VV_OUT/contig.log" 2>&1
	echo "contig rc=$? $(md5sum <"$VV_OUT/contig.yuv" | cut -d" " -f1) $(tr "\n" " " <"$VV_OUT/contig.log")"' _ "$prog" "$src" "$top/kernel/virtio_video.ko"
[ $rc = 0 ] || fail "guest run failed (exit $rc)"
bad=0
for m in plain dmabuf restart seek dmabuf-restart contig; do
	line=$(grep "^$m rc=" "$tmp/control.out")
	want=$ref
	case $m in *restart) want=$ref2 ;; esac
	case $line in
	"$m rc=0 $want "*) echo "ok   $line" ;;
	*) echo "BAD  ${line:-$m: no result} (want $want)"; bad=$((bad + 1)) ;;
	esac
done
[ $bad = 0 ] || fail "$bad of 6 modes failed"
echo ok
