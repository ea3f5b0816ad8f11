# The GStreamer codec plugin (gstreamer/, vv-gstreamer.so), built with the
# host (host-all, also in build-san with SAN=1) from GStreamer 1.22's
# development files (scripts/packages/gstreamer.txt, installed by make deps);
# the daemon loads it with --backend gstreamer.
GST_PKGS := gstreamer-1.0 gstreamer-app-1.0 gstreamer-video-1.0
GST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard gstreamer/gst_*.c)))

$(BUILD)/obj/gstreamer/%.o: gstreamer/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -fPIC -fvisibility=hidden $(shell pkg-config --cflags $(GST_PKGS)) -c $< -o $@

# host.mk (included later) builds it; named here because prerequisites expand now
$(BUILD)/plugins/vv-gstreamer.so: $(GST_OBJS) $(BUILD)/obj/pic/host/frame_layout.o
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -shared -o $@ $^ $(shell pkg-config --libs $(GST_PKGS))

host-all: $(BUILD)/plugins/vv-gstreamer.so

-include $(GST_OBJS:.o=.d)

# vv-plugin-test: drives a codec plugin without the daemon (plugin checks)
$(BUILD)/vv-plugin-test: gstreamer/plugin-test.c host/codec.h
	$(CC) $(HOST_CFLAGS) $(HOST_LDFLAGS) -o $@ $< -ldl

host-all: $(BUILD)/vv-plugin-test
