#!/bin/sh
# Runs in the guest (tests/vm/guest-root.sh): the guest sees the host's root
# in the host's working directory TOP, runs the host's kernel KVER, finds the
# host's tools, writes MARKER (a file that must stay in the guest) and the
# same name in $VV_OUT (which the host must see); prints "guest-ok".
#   guest-root.sh TOP KVER MARKER
set -e
[ "$(pwd)" = "$1" ]
[ "$(uname -r)" = "$2" ]
command -v gst-launch-1.0 v4l2-compliance v4l2-ctl ffmpeg
echo guest-write >"$3"
[ -f "$3" ]
echo shared >"$VV_OUT/$3"
echo guest-ok
