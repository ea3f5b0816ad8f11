# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # shares variables with vm-run both ways
# Sourced by scripts/vm-run: the GPU part of a run (not a command itself).
#   --gpu              attach the daemon's virtio-gpu backend with QEMU's stock
#                      vhost-user-gpu-pci (the daemon gets --gpu-socket-path;
#                      its video device then accepts GPU resource UUIDs). Without
#                      a built daemon: QEMU's own virtio-gpu-pci, with a warning.
#   --gpu=qemu         QEMU's own virtio-gpu-pci (no RESOURCE_UUID) in any case.
#   --display-size WxH (implies --gpu) the display mode the GPU offers (daemon
#                      --display-size; xres/yres of QEMU's virtio-gpu-pci)
#   --screenshot FILE  (implies --gpu) save the guest display as PNG through QMP
#                      screendump, taken when the guest reports its status (and
#                      every 2 s before, so a guest that dies still leaves one);
#                      a guest command that creates $VV_OUT/shot-now gets
#                      the screenshot then, and $VV_OUT/shot-done when it is taken.
# It uses vm-run's variables: gpu, device, daemon, sockdir, logdir, qdir, vv_say.

vv_screenshot=''
vv_gpu_backend=''	# vhost-user (our daemon) or qemu (virtio-gpu-pci; --gpu=qemu)
vv_gpu_daemon_argv=()	# what the daemon needs for it
vv_gpu_last_shot=0
vv_display_size=''	# --display-size; empty: the device's default (1024x768)

# vv_gpu_set_option --screenshot FILE | --screenshot=FILE | --display-size WxH
vv_gpu_set_option() {
	case $1 in
	--screenshot) vv_screenshot=${2:?--screenshot needs a file} ;;
	--screenshot=*) vv_screenshot=${1#*=} ;;
	--display-size)
		vv_display_size=${2:?--display-size needs WxH}
		[[ $vv_display_size =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]] ||
			vv_die "--display-size $vv_display_size: want WxH (e.g. 1280x720)" ;;
	esac
	case $vv_screenshot in /* | '') ;; *) vv_screenshot=$PWD/$vv_screenshot ;; esac
	gpu=1
}

# Whether the daemon must run for the GPU, after option parsing.
vv_gpu_wants_daemon() {
	[ "$gpu" = 1 ] || return 1
	[ "$vv_gpu_backend" = qemu ] && return 1
	if [ -x "$daemon" ]; then
		vv_gpu_backend=vhost-user
		vv_gpu_daemon_argv=(--gpu-socket-path "$sockdir/gpu.sock"
				    ${vv_display_size:+--display-size "$vv_display_size"})
		return 0
	fi
	vv_gpu_backend=qemu
	vv_say "warning: no daemon at $daemon; --gpu falls back to QEMU's virtio-gpu-pci (no UUIDs)"
	return 1
}

# The daemon made its GPU socket (or none is expected).
vv_gpu_daemon_ready() {
	[ "$vv_gpu_backend" != vhost-user ] || [ -S "$sockdir/gpu.sock" ]
}

# QEMU arguments, one a line.
vv_gpu_qemu_args() {
	case $vv_gpu_backend in
	vhost-user)
		printf '%s\n' -chardev "socket,id=vgpu,path=$sockdir/gpu.sock" \
			-device vhost-user-gpu-pci,chardev=vgpu ;;
	qemu)
		printf '%s\n' -device "virtio-gpu-pci${vv_display_size:+,xres=${vv_display_size%x*},yres=${vv_display_size#*x}}" ;;
	esac
	if [ -n "$vv_screenshot" ]; then
		printf '%s\n' -qmp "unix:$sockdir/qmp.sock,server=on,wait=off"
		# The guest keeps its display up after the command until the final
		# screenshot is taken (scripts/vm-guest/stage2 waits for shot-done).
		: >"$logdir/hold-display"
		rm -f "$logdir/shot-done"
	fi
	return 0
}

# QMP screendump into FILE (PNG where QEMU has libpng, else PPM converted).
vv_gpu_screendump() {
	local out=$1 tmp=$1.tmp fmt=png
	python3 - "$sockdir/qmp.sock" "$tmp" >>"$logdir/qmp.log" 2>&1 <<'PY' || fmt=ppm
import json, socket, sys
sock_path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sock_path)
f = s.makefile('rw')
def call(cmd, **args):
    f.write(json.dumps({'execute': cmd, 'arguments': args}) + '\n')
    f.flush()
    while True:
        r = json.loads(f.readline())
        if 'return' in r or 'error' in r:
            return r
json.loads(f.readline())            # greeting
call('qmp_capabilities')
r = call('screendump', filename=out, format='png')
if 'error' in r and 'png' in r['error'].get('desc', '').lower():
    # QEMU without libpng: PPM, which the caller converts.
    r = call('screendump', filename=out)
    print('screendump: no PNG support in this QEMU, took PPM', file=sys.stderr)
    print(json.dumps(r), file=sys.stderr)
    sys.exit(1 if 'return' in r else 2)
print(json.dumps(r), file=sys.stderr)
sys.exit(0 if 'return' in r else 2)
PY
	[ -s "$tmp" ] || return 1
	if [ "$fmt" = ppm ]; then
		ffmpeg -nostdin -loglevel error -y -f image2 -c:v ppm -i "$tmp" -f image2 -c:v png \
			"$tmp.png" && mv -f "$tmp.png" "$tmp" || return 1
	fi
	mv -f "$tmp" "$out"
}

# Called from vm-run's wait loop while QEMU runs.
vv_gpu_tick() {
	local now
	[ -n "$vv_screenshot" ] && [ -S "$sockdir/qmp.sock" ] || return 0
	now=$(date +%s)
	if [ -f "$logdir/shot-now" ] && [ "$vv_gpu_last_shot" != final ]; then
		# The guest asked for this moment (scripts/vm-guest/demo.sh): it is
		# the screenshot; none is taken later.
		rm -f "$logdir/shot-now"
		vv_gpu_screendump "$vv_screenshot" && vv_gpu_last_shot=final
		: >"$logdir/shot-done"
	elif [ -f "$logdir/status" ] && [ "$vv_gpu_last_shot" != final ]; then
		vv_gpu_screendump "$vv_screenshot" && vv_gpu_last_shot=final
		: >"$logdir/shot-done"	# the guest may power off now
	elif [ "$vv_gpu_last_shot" != final ] && [ $(( now - vv_gpu_last_shot )) -ge 2 ]; then
		vv_gpu_screendump "$vv_screenshot" && vv_gpu_last_shot=$now
	fi
	return 0
}

# After the run: say where the screenshot is, or why there is none.
vv_gpu_report() {
	[ -n "$vv_screenshot" ] || return 0
	if [ -s "$vv_screenshot" ]; then
		vv_say "screenshot: $vv_screenshot"
	else
		vv_say "no screenshot: QMP screendump failed (log: $logdir/qmp.log); QEMU needs pixman" \
			"(configure --enable-pixman, and --enable-png for PNG)"
	fi
	[ "$vv_gpu_backend" = vhost-user ] &&
		grep -h 'gpu connection end' "$logdir/daemon.log" 2>/dev/null | tail -n 1 | sed 's/^/vm-run: /' >&3
	return 0
}
