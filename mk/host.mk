# Host side: the daemon (links no codec library) and its codec plugins.
CC ?= cc
HOST_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wno-missing-field-initializers -fno-strict-aliasing -MMD -MP
HOST_LDFLAGS :=
ifeq ($(SAN),1)
HOST_CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
HOST_LDFLAGS += -fsanitize=address,undefined
endif

# Packaging (debian/rules): PLUGIN_DIR compiles in the installed plugin
# folder (else the daemon looks in plugins/ next to itself, as in build/);
# DIST_CFLAGS and DIST_LDFLAGS (dpkg-buildflags: hardening) come last.
PLUGIN_DIR ?=
ifneq ($(PLUGIN_DIR),)
HOST_CFLAGS += -DVV_PLUGIN_DIR='"$(PLUGIN_DIR)"'
endif
HOST_CFLAGS += $(DIST_CFLAGS)
HOST_LDFLAGS += $(DIST_LDFLAGS)

# The sandbox's seccomp filter (libseccomp-dev); without it: no_new_privs only.
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp 2>/dev/null)
ifneq ($(SECCOMP_LIBS),)
HOST_CFLAGS += -DVV_HAVE_SECCOMP
endif

DAEMON_SRCS := $(sort $(wildcard host/*.c))
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)
FFMPEG_PKGS := libavcodec libavutil libswscale
FFMPEG_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard ffmpeg/*.c)))
# The daemon's code that plugins share (frame_layout.h), built position-independent.
PLUGIN_COMMON_OBJS := $(BUILD)/obj/pic/host/frame_layout.o

$(BUILD)/obj/host/%.o: host/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/obj/pic/host/%.o: host/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/obj/ffmpeg/%.o: ffmpeg/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -fPIC -fvisibility=hidden $(shell pkg-config --cflags $(FFMPEG_PKGS)) -c $< -o $@

# --version: the package version, the first line of debian/changelog.
VV_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog 2>/dev/null)
$(BUILD)/obj/host/main.o: HOST_CFLAGS += -DVV_VERSION='"$(or $(VV_VERSION),unknown)"'
$(BUILD)/obj/host/main.o: $(wildcard debian/changelog)

$(BUILD)/vhost-user-video: $(DAEMON_OBJS)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ -ldl $(SECCOMP_LIBS)

$(BUILD)/plugins/vv-ffmpeg.so: $(FFMPEG_OBJS) $(PLUGIN_COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -shared -o $@ $^ $(shell pkg-config --libs $(FFMPEG_PKGS))

.PHONY: host-all
host-all: $(BUILD)/vhost-user-video $(BUILD)/plugins/vv-ffmpeg.so $(if $(filter client-all,$(ALL_TARGETS)),client-all)

ALL_TARGETS += host-all

-include $(DAEMON_OBJS:.o=.d) $(FFMPEG_OBJS:.o=.d) $(PLUGIN_COMMON_OBJS:.o=.d)
