# virtio-video suite: top-level build.
#   make          build everything that can be built here
#   make check    install dependencies, build, run all tests (native and VM)
#   make demo     720p in a guest: device vs software decode, MD5, a PNG
#   make bench    the benchmark report (build/bench/report.{md,csv,png})
# Components add themselves through mk/*.mk (ALL_TARGETS, CHECK_DEPS).

.DEFAULT_GOAL := all
TOP := $(abspath .)
BUILD ?= build
SAN ?= 0

ALL_TARGETS :=
CHECK_DEPS :=

include $(sort $(wildcard mk/*.mk))

.PHONY: all deps check check-native demo bench bench-host clean

all: $(ALL_TARGETS)

deps:
	scripts/install-deps

# The README's test command. Dependencies first (idempotent), then both builds
# (plain and ASan+UBSan) and every test.
check: deps
	$(MAKE) all
	$(MAKE) BUILD=build-san SAN=1 host-all
	$(MAKE) $(CHECK_DEPS)
	tests/run

check-native: deps
	$(MAKE) all
	$(MAKE) BUILD=build-san SAN=1 host-all
	tests/run native

# The benchmark report (docs/benchmarks.md; not a test). Like check:
# dependencies first, then the build and the guest; BENCH_* variables pass
# through the environment (BENCH_QUICK=1: a fast smoke run).
bench: deps
	$(MAKE) all vm-image
	scripts/bench

clean:
	rm -rf build build-san
