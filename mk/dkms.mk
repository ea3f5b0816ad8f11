# Guest DKMS package (issue 14): virtio-video-dkms_<version>_all.deb, the
# driver's sources in /usr/src/virtio-video-<version>/ with kernel/dkms.conf,
# built with dpkg-deb from a staged tree (kernel/dkms-deb.sh).
#   make dkms-deb      -> $(BUILD)/dkms/virtio-video-dkms_<version>_all.deb
.PHONY: dkms-deb
dkms-deb:
	kernel/dkms-deb.sh $(BUILD)/dkms
