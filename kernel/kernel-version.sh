#!/bin/sh
# The guest kernel ABI name (e.g. 6.1.0-41-amd64): scripts/kernel-version
# when the VM harness provides it, else what bookworm's linux-image-amd64
# depends on.
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -x "$top/scripts/kernel-version" ]; then
	exec "$top/scripts/kernel-version"
fi
apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: linux-image-\(6\.1\.[0-9-]*-amd64\)$/\1/p' | head -n 1
