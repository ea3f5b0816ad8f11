# Native test tools: vv-client (decoder and encoder client: vhost-user
# front-end + guest driver), vv-hostile and vv-hostile-enc (malformed-guest
# tests of the decoder and the encoder device), vv-flood (memory and log
# floods). Only vv-client, vv-enc-direct and vv-dec-direct (the latency
# benchmarks' baselines) link libav*.

CLIENT_SRC_DIR := tests/tools
CLIENT_OBJ_DIR := $(BUILD)/obj/client
CLIENT_CC ?= $(CC)
CLIENT_CFLAGS := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -g -Iinclude -I$(CLIENT_SRC_DIR)
CLIENT_LDFLAGS :=
ifeq ($(SAN),1)
CLIENT_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
CLIENT_LDFLAGS += -fsanitize=address,undefined
endif
CLIENT_AV_CFLAGS := $(shell pkg-config --cflags libavformat libavcodec libavutil 2>/dev/null)
CLIENT_AV_LIBS := $(shell pkg-config --libs libavformat libavcodec libavutil 2>/dev/null)

CLIENT_LIB_OBJS := $(CLIENT_OBJ_DIR)/vu_front.o $(CLIENT_OBJ_DIR)/vv_dev.o $(CLIENT_OBJ_DIR)/vv_buf.o
CLIENT_HDRS := $(wildcard $(CLIENT_SRC_DIR)/*.h) include/virtio_video.h include/vhost_user_proto.h

$(CLIENT_OBJ_DIR)/%.o: $(CLIENT_SRC_DIR)/%.c $(CLIENT_HDRS)
	@mkdir -p $(@D)
	$(CLIENT_CC) $(CLIENT_CFLAGS) $(CLIENT_AV_CFLAGS) -c -o $@ $<

# --encode is vv-client-enc.c (the encoder client).
$(BUILD)/vv-client: $(CLIENT_OBJ_DIR)/vv-client.o $(CLIENT_OBJ_DIR)/vv-client-enc.o \
		$(CLIENT_OBJ_DIR)/vv-client-enc-opts.o $(CLIENT_OBJ_DIR)/vv_lat.o $(CLIENT_LIB_OBJS)
	$(CLIENT_CC) $(CLIENT_LDFLAGS) -o $@ $^ $(CLIENT_AV_LIBS)

$(BUILD)/vv-hostile: $(CLIENT_OBJ_DIR)/vv-hostile.o $(CLIENT_LIB_OBJS)
	$(CLIENT_CC) $(CLIENT_LDFLAGS) -o $@ $^

$(BUILD)/vv-hostile-enc: $(CLIENT_OBJ_DIR)/vv-hostile-enc.o $(CLIENT_LIB_OBJS)
	$(CLIENT_CC) $(CLIENT_LDFLAGS) -o $@ $^

# Memory and log floods (tests/native/budgets.sh).
$(BUILD)/vv-flood: $(CLIENT_OBJ_DIR)/vv-flood.o $(CLIENT_LIB_OBJS)
	$(CLIENT_CC) $(CLIENT_LDFLAGS) -o $@ $^

$(BUILD)/vu-front-selftest: $(CLIENT_OBJ_DIR)/vu-front-selftest.o $(CLIENT_LIB_OBJS)
	$(CLIENT_CC) $(CLIENT_LDFLAGS) -o $@ $^ -lpthread

# GPU + video client: virtio-gpu resources as zero-copy decoder output.
$(BUILD)/vv-gpu-client: $(CLIENT_OBJ_DIR)/vv-gpu-client.o $(CLIENT_OBJ_DIR)/gpu_front.o $(CLIENT_LIB_OBJS)
	$(CLIENT_CC) $(CLIENT_LDFLAGS) -o $@ $^ -lpthread

# Encoder with virtio-gpu resources (UUIDs) as its INPUT frames.
$(BUILD)/vv-enc-client: $(CLIENT_OBJ_DIR)/vv-enc-client.o $(CLIENT_OBJ_DIR)/gpu_front.o $(CLIENT_LIB_OBJS)
	$(CLIENT_CC) $(CLIENT_LDFLAGS) -o $@ $^

# The encode latency benchmark's baseline: the plugin's libavcodec encoder, direct.
$(BUILD)/vv-enc-direct: $(CLIENT_OBJ_DIR)/vv-enc-direct.o $(CLIENT_OBJ_DIR)/vv_lat.o
	$(CLIENT_CC) $(CLIENT_LDFLAGS) -o $@ $^ $(CLIENT_AV_LIBS)

# The decode latency benchmark's baseline: a codec plugin driven without the
# daemon (dlopen, host/codec.h), pictures in the device's default layout.
$(CLIENT_OBJ_DIR)/frame_layout.o: host/frame_layout.c host/frame_layout.h host/codec.h
	@mkdir -p $(@D)
	$(CLIENT_CC) $(CLIENT_CFLAGS) -c -o $@ $<

$(BUILD)/vv-dec-direct: $(CLIENT_OBJ_DIR)/vv-dec-direct.o $(CLIENT_OBJ_DIR)/vv_lat.o \
		$(CLIENT_OBJ_DIR)/frame_layout.o
	$(CLIENT_CC) $(CLIENT_LDFLAGS) -o $@ $^ $(CLIENT_AV_LIBS) -ldl

# An asynchronous codec plugin for tests/native/async-plugin.sh: wraps
# vv-ffmpeg.so and hands out pictures, drains and errors late (timerfd).
$(BUILD)/test-plugins/vv-async-test.so: $(CLIENT_SRC_DIR)/vv-async-test.c host/codec.h
	@mkdir -p $(@D)
	$(CLIENT_CC) $(CLIENT_CFLAGS) -fPIC -fvisibility=hidden -shared $(CLIENT_LDFLAGS) -o $@ $< -ldl

.PHONY: client-all
client-all: $(BUILD)/vv-client $(BUILD)/vv-hostile $(BUILD)/vv-hostile-enc $(BUILD)/vv-flood \
	$(BUILD)/vu-front-selftest \
	$(BUILD)/vv-gpu-client $(BUILD)/vv-enc-client $(BUILD)/vv-enc-direct $(BUILD)/vv-dec-direct \
	$(BUILD)/test-plugins/vv-async-test.so

ALL_TARGETS += client-all

# Host decode benchmark (not a test): vv-client -> daemon vs ffmpeg alone.
bench-host: all
	scripts/bench-host
