#!/usr/bin/env bash
# Runs in the guest (tests/vm/driver-ext.sh, driver-crosvm-profile.sh,
# vm-run-driver.sh): what the guest's driver made of the virtio-video
# decoder (virtio ID 0x001f), one "KEY value" line each (KEY followed by
# SUFFIX, when given, to tell a second report apart):
#   DIALECT  the driver's dialect (sysfs), e.g. params-ext or v3
#   FEAT16   feature bit 16 negotiated (PER_RESOURCE_MEM_TYPE), 0 or 1
#   FEAT2    feature bit 2 negotiated (RESOURCE_VIRTIO_OBJECT), 0 or 1
#   PARAM    virtio_video's params_ext module parameter
#   BOUND    the module bound to the device
#   LOADED   which of vv_alt and virtio_video are loaded, newest first
#   NODE     per video node: "NODE videoN MODULE"
#   vv-dev.sh [SUFFIX]
s=${1:-}
vvdev=
for d in /sys/bus/virtio/devices/*; do [ "$(cat "$d/device")" = 0x001f ] && vvdev=$d; done
# The features file is one character per bit.
echo "DIALECT$s $(cat "$vvdev/dialect")"
echo "FEAT16$s $(cut -c17 "$vvdev/features")"
echo "FEAT2$s $(cut -c3 "$vvdev/features")"
echo "PARAM$s $(cat /sys/module/virtio_video/parameters/params_ext 2>/dev/null)"
echo "BOUND$s $(basename "$(readlink -f "$vvdev/driver/module")")"
echo "LOADED$s $(awk '$1 == "vv_alt" || $1 == "virtio_video" { printf "%s ", $1 }' /proc/modules)"
for n in /sys/class/video4linux/video*; do
	echo "NODE$s $(basename "$n") $(basename "$(readlink -f "$n/device/driver/module")")"
done
