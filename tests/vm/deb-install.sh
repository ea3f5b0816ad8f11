#!/usr/bin/env bash
# backends: ffmpeg (it installs both plugins' packages itself and runs one daemon of each)
# The host packages on a clean Debian 12 (docs/install.md):
#  - scripts/make-deb builds them from this tree (lintian: no error);
#  - in a fresh minbase bookworm root (scripts/deb-chroot, cached),
#    apt-get install ./vhost-user-video_*.deb resolves its dependencies from
#    the mirror and pulls in no GStreamer library; the -gstreamer package
#    installs after it; the system user exists;
#  - two daemons start the way vhost-user-video@.service starts them: its
#    ExecStart with %i substituted, its EnvironmentFiles (instance "gst" has
#    /etc/vhost-user-video/gst.conf saying --backend gstreamer), User/Group,
#    UMask, NoNewPrivileges, RuntimeDirectory and CacheDirectory, all read
#    from the installed unit (systemd is not PID 1 here); systemd-analyze
#    verify accepts the unit;
#  - their sockets are group-only: a user in the package's group decodes
#    through each (vv-client, host MD5), one outside it is refused;
#  - a guest booted by vm-run --socket against the FFmpeg one decodes with
#    gst-launch-1.0 v4l2h264dec, frames equal to the host decode;
#  - both daemons exit 0 on SIGTERM.
. "$(dirname "$0")/lib"
ok() { echo "ok   [${SECONDS}s] $*"; } # with the time since the start
[ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap's root mode, chroot)"
have_daemon || skip "no daemon at $VV_BUILD/vhost-user-video (make host-all)"
guest_modules || skip "guest driver not built (no kernel/*.ko)"
client=$VV_BUILD/vv-client
[ -x "$client" ] || skip "no $client (make client-all)"
need_streams h264.h264
# The clean root's apt downloads and package lists, kept between runs next to
# the base (apt-get update then fetches only what changed on the mirror).
VV_CACHE_DEB=${VV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-video-suite}/deb-chroot
for t in dpkg-buildpackage dh help2man lintian mmdebstrap setpriv unshare systemd-analyze; do
	command -v $t >/dev/null || fail "no $t (make deps: scripts/packages/deb.txt)"
done

# ---- the packages ----
"$top/scripts/make-deb" "$TMP/deb" >"$TMP/make-deb.out" 2>&1 ||
	{ cat "$TMP/make-deb.out"; fail "make-deb failed"; }
grep '^lintian:' "$TMP/make-deb.out" || true
deb=$(ls "$TMP"/deb/vhost-user-video_*_*.deb)
gdeb=$(ls "$TMP"/deb/vhost-user-video-gstreamer_*_*.deb)
ok "built $(basename "$deb") $(basename "$gdeb")"

# ---- a clean Debian 12 ----
base=$("$top/scripts/deb-chroot") || fail "no base root (scripts/deb-chroot)"
root=$TMP/root
mkdir "$root"
tar -C "$root" -xf "$base" || fail "cannot unpack $base"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/tmp/debs" "$VV_CACHE_DEB/archives" "$VV_CACHE_DEB/lists"
# No fsync per file (as mmdebstrap does while it builds a root): this root is
# thrown away, and dpkg unpacks ~400 packages into it.
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/vv-unsafe-io"
cp "$deb" "$gdeb" "$root/tmp/debs/"
# TMP is private; the unprivileged users below need to reach the root's sockets.
chmod 0711 "$TMP"

# in_root CMD...: CMD in the root, in a mount namespace of its own with /proc
# and the cached apt archives and lists (the root itself stays fresh).
# Every step execs the next: "${in_root[@]}" CMD & leaves CMD's PID in $!.
in_root=(unshare --mount --propagation private -- sh -c '
	r=$1 c=$2; shift 2
	mount -t proc proc "$r/proc" && mount --bind "$c/archives" "$r/var/cache/apt/archives" &&
		mount --bind "$c/lists" "$r/var/lib/apt/lists" && exec chroot "$r" "$@"' sh "$root" "$VV_CACHE_DEB")
in_root() { "${in_root[@]}" "$@"; }
apt_in_root() { # apt-get ARGS... (log: $TMP/apt.log); one run at a time uses the cache
	echo "== apt-get $*" >>"$TMP/apt.log"
	flock "$VV_CACHE_DEB/.apt-lock" "${in_root[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get -q -y "$@" >>"$TMP/apt.log" 2>&1 ||
		{ tail -n 30 "$TMP/apt.log"; fail "apt-get $* failed in the clean root"; }
}
apt_in_root update
apt_in_root install "/tmp/debs/$(basename "$deb")"
in_root dpkg-query -W -f='${Status}\n' vhost-user-video | grep -qx 'install ok installed' ||
	fail "vhost-user-video is not installed"
gst_libs=$(in_root dpkg-query -W -f='${binary:Package}\n' 'libgstreamer*' 2>/dev/null || true)
[ -z "$gst_libs" ] || fail "the FFmpeg-only install pulled in GStreamer: $gst_libs"
ok "apt-get install ./$(basename "$deb"): $(grep -c '^Setting up' "$TMP/apt.log") packages set up, no GStreamer library"
apt_in_root install "/tmp/debs/$(basename "$gdeb")"
apt_in_root autoclean
ok "apt-get install ./$(basename "$gdeb")"
uid=$(in_root id -u vhost-user-video) || fail "no vhost-user-video user after install"
gid=$(in_root id -g vhost-user-video) || fail "no vhost-user-video group after install"
shell=$(in_root getent passwd vhost-user-video | cut -d: -f7)
[ "$uid" -lt 1000 ] || fail "vhost-user-video is not a system user (uid $uid)"
ok "system user vhost-user-video uid $uid gid $gid shell $shell"

# ---- what the package says about the daemon ----
ver=$(in_root dpkg-query -W -f='${Version}' vhost-user-video)
[ "$(in_root vhost-user-video --version)" = "vhost-user-video $ver" ] ||
	fail "--version says '$(in_root vhost-user-video --version)', the package is $ver"
desc=$root/usr/share/vhost-user-video/vhost-user-video.json
[ -f "$desc" ] || fail "no back-end descriptor ${desc#"$root"}"
dtype=$(sed -n 's/.*"type": *"\([^"]*\)".*/\1/p' "$desc")
dbin=$(sed -n 's/.*"binary": *"\([^"]*\)".*/\1/p' "$desc")
[ -x "$root$dbin" ] || fail "the descriptor's binary $dbin is not installed"
ctype=$(in_root "$dbin" --print-capabilities 2>/dev/null | sed -n 's/.*"type": *"\([^"]*\)".*/\1/p')
[ -n "$dtype" ] && [ "$dtype" = "$ctype" ] ||
	fail "descriptor type '$dtype', $dbin --print-capabilities says '$ctype'"
man=$root/usr/share/man/man1/vhost-user-video.1.gz
# The man page is --help's: every option of the installed daemon is in it.
opts=$(in_root vhost-user-video --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
[ -n "$opts" ] && [ -s "$man" ] || fail "no man page or no options in --help"
for o in $opts; do
	zcat "$man" | sed 's/\\-/-/g' | grep -q -- "$o" || fail "the man page lacks $o"
done
ok "--version $ver; descriptor: type $dtype = --print-capabilities of $dbin; man page: $(echo $opts | wc -w) options"

# ---- the unit, as systemd would run it ----
unit=$root/lib/systemd/system/vhost-user-video@.service
[ -f "$unit" ] || fail "no unit at ${unit#"$root"}"
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no --root="$root" \
	vhost-user-video@deb.service >"$TMP/verify.out" 2>&1 ||
	{ cat "$TMP/verify.out"; fail "systemd-analyze verify rejects the unit"; }
[ ! -s "$TMP/verify.out" ] || { cat "$TMP/verify.out"; fail "systemd-analyze verify warns about the unit"; }
ok "systemd-analyze verify: no warning"
ukey() { sed -n "s/^$1=//p" "$unit"; } # every value of KEY in [Service], one a line
user=$(ukey User) group=$(ukey Group) umask=$(ukey UMask) nnp=$(ukey NoNewPrivileges)
rtdir=$(ukey RuntimeDirectory) rtmode=$(ukey RuntimeDirectoryMode) cachedir=$(ukey CacheDirectory)
[ -n "$user" ] && [ -n "$group" ] || fail "the unit names no User/Group"

# start_unit INSTANCE: the unit's ExecStart for INSTANCE in the root, in the
# background (its PID in pid_INSTANCE, its output in $TMP/INSTANCE.log).
start_unit() {
	local inst=$1 sh=$root/tmp/start-$1.sh f v
	[ -z "$rtdir" ] || in_root install -d -o "$user" -g "$group" -m "${rtmode:-0755}" "/run/$rtdir"
	[ -z "$cachedir" ] || in_root install -d -o "$user" -g "$group" -m 0755 "/var/cache/$cachedir"
	{
		echo 'set -a'
		while read -r f; do
			f=${f//%i/$inst}
			case $f in -*) echo "[ ! -f ${f#-} ] || . ${f#-}" ;; *) echo ". $f" ;; esac
		done < <(ukey EnvironmentFile)
		while read -r v; do [ -z "$v" ] || echo "${v//%i/$inst}"; done < <(ukey Environment)
		echo 'set +a'
		[ -z "$umask" ] || echo "umask $umask"
		printf 'exec setpriv --reuid=%s --regid=%s --init-groups %s -- %s\n' "$user" "$group" \
			"$([ "$nnp" = yes ] && echo --no-new-privs)" "$(ukey ExecStart | sed "s/%i/$inst/g")"
	} >"$sh"
	echo "== $inst: $(tail -n 1 "$sh")"
	"${in_root[@]}" /bin/sh "/tmp/start-$inst.sh" >"$TMP/$inst.log" 2>&1 &
	printf -v "pid_$inst" %s $!
}
wait_socket() { # INSTANCE PATH
	local pid=pid_$1
	for _ in $(seq 100); do
		[ -S "$2" ] && return 0
		kill -0 "${!pid}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMP/$1.log"
	fail "$1: the daemon made no socket ${2#"$root"}"
}
stop_unit() { # INSTANCE: SIGTERM, exit 0
	local pid=pid_$1 rc=0
	kill -TERM "${!pid}"
	wait "${!pid}" || rc=$?
	printf -v "$pid" %s ''
	[ $rc = 0 ] || { cat "$TMP/$1.log"; fail "$1: exit status $rc after SIGTERM"; }
	ok "$1: exit 0 on SIGTERM"
}
pid_ff='' pid_gst=''
cleanup() {
	local p
	for p in "$pid_ff" "$pid_gst"; do
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
}
fail_hook() {
	local f
	for f in "$TMP"/ff.log "$TMP"/gst.log; do
		[ -s "$f" ] && { echo "--- $(basename "$f") (last 20 lines)"; tail -n 20 "$f"; }
	done
}

mkdir -p "$root/etc/vhost-user-video"
echo 'VHOST_USER_VIDEO_OPTS="--backend gstreamer"' >"$root/etc/vhost-user-video/gst.conf"
start_unit ff
start_unit gst
sock_ff=$root/run/vhost-user-video/ff.sock sock_gst=$root/run/vhost-user-video/gst.sock
wait_socket ff "$sock_ff"
wait_socket gst "$sock_gst"
grep -q 'listening on /run/vhost-user-video/ff.sock (backend ffmpeg)' "$TMP/ff.log" ||
	{ cat "$TMP/ff.log"; fail "ff: not listening with the ffmpeg backend"; }
grep -q 'listening on /run/vhost-user-video/gst.sock (backend gstreamer)' "$TMP/gst.log" ||
	{ cat "$TMP/gst.log"; fail "gst: gst.conf did not select the gstreamer backend"; }
for s in "$sock_ff" "$sock_gst"; do
	perm=$(stat -c '%A %u:%g' "$s")
	[ "$perm" = "srwxrwx--- $uid:$gid" ] || fail "${s#"$root"}: $perm, not srwxrwx--- $uid:$gid"
done
dperm=$(stat -c '%a %u:%g' "$root/run/vhost-user-video")
[ "$dperm" = "750 $uid:$gid" ] || fail "/run/vhost-user-video: $dperm, not 750 $uid:$gid"
ok "sockets srwxrwx--- vhost-user-video:vhost-user-video in a 0750 folder"
daemon_uid=$(stat -c %u "/proc/$pid_ff")
[ "$daemon_uid" = "$uid" ] || fail "the daemon runs as uid $daemon_uid, not $uid"

# ---- a user in the group decodes; one outside it cannot connect ----
out=$TMP/client
mkdir -m 0777 "$out"
want=$(ref_md5 "$streams/h264.h264")
for inst in ff gst; do
	sock=$root/run/vhost-user-video/$inst.sock
	rm -f "$out/$inst.yuv"
	setpriv --reuid=65534 --regid=65534 --groups="$gid" "$client" --socket "$sock" --codec h264 \
		--input "$streams/h264.h264" --output "$out/$inst.yuv" >"$TMP/client-$inst.log" 2>&1 ||
		{ cat "$TMP/client-$inst.log"; fail "$inst: vv-client in the group failed"; }
	got=$(md5sum <"$out/$inst.yuv" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "$inst: decode MD5 $got, host $want"
	ok "$inst: uid 65534 in group $gid decodes h264.h264 ($got)"
done
if setpriv --reuid=65534 --regid=65534 --clear-groups "$client" --socket "$sock_ff" --codec h264 \
	--input "$streams/h264.h264" --output "$out/refused.yuv" >"$TMP/client-refused.log" 2>&1; then
	fail "uid 65534 outside the group connected to the socket"
fi
grep -qi 'permission denied' "$TMP/client-refused.log" ||
	{ cat "$TMP/client-refused.log"; fail "outside the group: no 'Permission denied'"; }
ok "uid 65534 outside the group: $(grep -i -m1 'permission denied' "$TMP/client-refused.log")"

# ---- a guest on the installed daemon ----
run_vm deb --socket "$sock_ff" -- bash -c "$(guest_decode gst h264.h264)"
[ "$rc" = 0 ] || fail "the guest run failed (exit $rc)"
check_run_decodes deb 1
grep -q 'front-end disconnected' "$TMP/ff.log" || fail "ff: the daemon never saw QEMU (no disconnect logged)"

stop_unit ff
stop_unit gst
echo ok
