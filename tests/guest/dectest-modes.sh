#!/usr/bin/env bash
# Runs in the guest (tests/vm/driver-control.sh): vv-dectest decodes STREAM
# in each mode (plain, --dmabuf, --restart, --seek, --dmabuf --restart), then,
# with the module reloaded from KO with contig=1 (videobuf2-dma-contig, as
# without NON_CONTIG), with --dmabuf; one line per mode:
#   "MODE rc=N MD5-OF-THE-FRAMES vv-dectest's output on one line"
#   dectest-modes.sh VV-DECTEST STREAM KO
prog=$1 src=$2 ko=$3
for m in plain dmabuf restart seek dmabuf-restart; do
	case $m in
	plain) opt= ;; dmabuf) opt=--dmabuf ;; restart) opt=--restart ;;
	seek) opt=--seek ;; dmabuf-restart) opt="--dmabuf --restart" ;;
	esac
	# shellcheck disable=SC2086
	timeout -s KILL 120 "$prog" $opt "$src" "$VV_OUT/$m.yuv" >"$VV_OUT/$m.log" 2>&1
	echo "$m rc=$? $(md5sum <"$VV_OUT/$m.yuv" | cut -d" " -f1) $(tr "\n" " " <"$VV_OUT/$m.log")"
done
# Contiguous buffers (videobuf2-dma-contig), as without NON_CONTIG: the
# module is reloaded with contig=1 and the device probed again.
rmmod virtio_video && insmod "$ko" contig=1 && sleep 1 || exit 5
timeout -s KILL 120 "$prog" --dmabuf "$src" "$VV_OUT/contig.yuv" >"$VV_OUT/contig.log" 2>&1
echo "contig rc=$? $(md5sum <"$VV_OUT/contig.yuv" | cut -d" " -f1) $(tr "\n" " " <"$VV_OUT/contig.log")"
