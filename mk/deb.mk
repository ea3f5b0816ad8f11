# Debian packages of the host side (debian/; docs/install.md):
#   make deb   vhost-user-video and vhost-user-video-gstreamer .debs in
#              $(BUILD)/deb/, and lintian's report there (scripts/make-deb)
.PHONY: deb
deb:
	scripts/make-deb $(BUILD)/deb
