# zone — build, test, install.
#   make                 build/zone and build/libzone.a
#   make check           unit tests (ASan+UBSan) and integration tests (root)
#   make check-unit      cmocka unit tests only
#   make check-integration  integration tests only (drive build/zone as root)
#   make check-v2        lifecycle, cgroups and events integration tests in a
#                        pure cgroup v2 QEMU guest (../shared/tools/kvm-host.sh)
#   make install PREFIX=/usr/local [DESTDIR=]
#   make deps            install Debian build and test dependencies

CC       ?= gcc
PREFIX   ?= /usr/local
BUILD    ?= build
VERSION  := 0.1.0
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

PKGS     := yajl libseccomp libcap libsystemd libarchive libcurl libcrypto liblzma libzstd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lyajl -lseccomp -lcap -lsystemd -larchive -lcurl -lcrypto -llzma -lzstd)

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -I. $(PKG_CFLAGS) -D_GNU_SOURCE \
              -DZONE_VERSION='"$(VERSION)"' -DZONE_COMMIT='"$(GIT_COMMIT)"' -MMD -MP
LDLIBS   := $(PKG_LIBS)

LIB_DIRS := core namespaces cgroups runtime images engine vm-sandbox/vmm vm-sandbox/p9 vm-sandbox/proto vm-sandbox/initramfs \
            vm-sandbox/handler
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
CLI_SRCS := $(wildcard cli/*.c)
# Two binaries from one CLI: zone (runc's verbs; hands the image and
# developer verbs to zone-dev) links no libcurl, libarchive or libcrypto,
# so every runtime call stays small and fast; zone-dev has everything.
DEV_ONLY_SRCS := cli/dev_run.c cli/dev_cmds.c cli/image_cmds.c cli/pull_cmd.c \
                 cli/transfer_cmds.c cli/commands_dev.c
RUNTIME_ONLY_SRCS := cli/dev_forward.c cli/commands_runtime.c
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
HELPER_SRCS := $(wildcard tests/helpers/*.c)

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
RUNTIME_CLI_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(DEV_ONLY_SRCS),$(CLI_SRCS)))
DEV_CLI_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(RUNTIME_ONLY_SRCS),$(CLI_SRCS)))

SAN      := $(BUILD)/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LIB_OBJS := $(LIB_SRCS:%.c=$(SAN)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(SAN)/tests/%)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/helpers/%)

.PHONY: all check check-unit check-integration check-v2 install clean deps demo
all: $(BUILD)/zone $(BUILD)/zone-dev $(BUILD)/libzone.a $(BUILD)/zone-agent $(BUILD)/zone-vm

# zone-vm: zone that runs every container in a microVM (for engines' --runtime)
$(BUILD)/zone-vm: $(BUILD)/zone
	ln -sfn zone $@

# The guest agent (PID 1 of VM guests): its own static binary, no NSS.
AGENT_SRCS := $(wildcard vm-sandbox/guest/*.c) vm-sandbox/proto/control.c vm-sandbox/proto/control_io.c \
              vm-sandbox/proto/bootargs.c core/error.c
$(BUILD)/zone-agent: $(AGENT_SRCS) $(wildcard vm-sandbox/guest/*.h vm-sandbox/proto/*.h) core/error.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) $(CFLAGS) -I. -D_GNU_SOURCE -DZONE_VERSION='"$(VERSION)"' -static -s -o $@ $(AGENT_SRCS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(SAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(BUILD)/libzone.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SAN)/libzone.a: $(SAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

# zone is a static PIE: no ld.so, no shared objects to map, relocate and
# fault in, in the runtime process nor in the init it clones (a third off
# `run`'s time beyond the spec floor; docs/performance.md, round 5). It
# keeps ASLR. libsystemd is dlopen'ed by the systemd cgroup driver
# (cgroups/sd_bus_dl.c), which needs the glibc zone was built with (the
# linker warns about that); NSS lookups use glibc's built-in files source.
# Where an archive is missing, zone links dynamically instead.
ZONE_ARCHIVES := libc.a libyajl_s.a libseccomp.a libcap.a liblzma.a libzstd.a
archive_path = $(shell $(CC) -print-file-name=$(1))
ZONE_STATIC := $(if $(strip $(foreach a,$(ZONE_ARCHIVES),$(if $(findstring /,$(call archive_path,$(a))),,$(a)))),,yes)
ifeq ($(ZONE_STATIC),yes)
ZONE_LDFLAGS := -static-pie
ZONE_LDLIBS := $(foreach a,$(filter-out libc.a,$(ZONE_ARCHIVES)),$(call archive_path,$(a)))
else
ZONE_LDFLAGS := -Wl,--as-needed
ZONE_LDLIBS := -lyajl -lseccomp -lcap -llzma -lzstd
endif
$(BUILD)/zone: $(RUNTIME_CLI_OBJS) $(BUILD)/libzone.a
	$(CC) $(CFLAGS) $(ZONE_LDFLAGS) -o $@ $(RUNTIME_CLI_OBJS) $(BUILD)/libzone.a $(ZONE_LDLIBS) \
	    2>$@.log; rc=$$?; grep -v "in statically linked applications requires at runtime\|: in function .zcg_sd_bus_load\|: in function .zns_user_name" $@.log >&2; \
	    rm -f $@.log; exit $$rc

$(BUILD)/zone-dev: $(DEV_CLI_OBJS) $(BUILD)/libzone.a
	$(CC) $(CFLAGS) -o $@ $(DEV_CLI_OBJS) $(BUILD)/libzone.a $(LDLIBS)

$(SAN)/tests/%: tests/unit/%.c $(SAN)/libzone.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $< $(SAN)/libzone.a $(LDLIBS) -lcmocka

$(BUILD)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

# The README's quick start: dependencies, build, a busybox image made
# locally (no registry), and one container run from it the way developers
# and CI use zone; then the same root filesystem as a runc-style bundle.
demo: deps
	@$(MAKE) --no-print-directory all
	@rm -rf $(BUILD)/demo-bundle && sh scripts/make-busybox-bundle.sh $(BUILD)/demo-bundle >/dev/null
	@tar --numeric-owner -C $(BUILD)/demo-bundle/rootfs -cf $(BUILD)/demo-rootfs.tar .
	@$(BUILD)/zone import $(BUILD)/demo-rootfs.tar zone-demo >/dev/null
	$(BUILD)/zone run --rm --network none zone-demo sh -c 'echo "hello from zone: image zone-demo, pid $$$$, uid $$(id -u), kernel $$(uname -r)"'
	@cd $(BUILD)/demo-bundle && jq '.process.terminal = false | .process.args = ["sh", "-c", "echo hello from zone: bundle, $$(hostname), pid $$$$"]' config.json > config.json.new && mv config.json.new config.json
	$(BUILD)/zone run --bundle $(BUILD)/demo-bundle zone-demo-$$$$

check-unit: $(UNIT_BINS)
	@sh tests/unit/run.sh $(UNIT_BINS)

check-integration: all $(HELPER_BINS) $(BUILD)/tests/vmctl
	@bash tests/integration/run.sh

# The guest sees the host's root read-only plus this tree read-write, so the
# binaries built here run there unchanged. A guest that cannot start (exit
# 125) or times out (124) fails the target: it never passes untested.
KVM_HOST ?= $(CURDIR)/../shared/tools/kvm-host.sh
V2_TESTS := lifecycle cgroups events
check-v2: all $(HELPER_BINS)
	@rc=0; bash $(KVM_HOST) --v2 --timeout 1800 --share $(CURDIR) -- bash -c 'cd $(CURDIR) && $(foreach t,$(V2_TESTS),bash tests/integration/run.sh $(t) &&) true' || rc=$$?; \
	case $$rc in \
	0) ;; \
	124) echo "check-v2: the cgroup v2 guest timed out (kvm-host.sh exit 124)" >&2 ;; \
	125) echo "check-v2: the cgroup v2 guest could not be started (kvm-host.sh exit 125)" >&2 ;; \
	*) echo "check-v2: integration tests failed in the cgroup v2 guest (exit $$rc)" >&2 ;; \
	esac; exit $$rc

# VM tests (tests/vm/t_*.sh) run inside the kvm-host.sh guest, which has a
# working /dev/kvm; each test has its own timeout and one retry (nested boots
# under QEMU hang now and then). tests/vm/run.sh reports 124/125 as failures.
.PHONY: check-vm
$(BUILD)/vmm-boot: vm-sandbox/vmm/vmm-boot/vmm-boot.c $(BUILD)/libzone.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libzone.a $(LDLIBS) -lpthread

# vsock-peer: both ends of t_virtio's vsock checks; static, as it also runs in the guest.
$(BUILD)/tests/vsock-peer: tests/vm/vsock-peer.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -static -o $@ $<

# virtq-garbage: t_hostile's guest program that feeds virtio devices garbage; static, runs in the guest.
$(BUILD)/tests/virtq-garbage: tests/vm/virtq-garbage.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -static -o $@ $<

# p9-fdserve: the 9P server behind the kernel's trans=fd client, for t_p9.
$(BUILD)/tests/p9-fdserve: tests/vm/p9-fdserve.c $(BUILD)/libzone.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libzone.a $(LDLIBS)

# vmctl: the host side of the guest agent's control protocol, for tests.
$(BUILD)/tests/vmctl: tests/vm/vmctl.c $(BUILD)/libzone.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libzone.a $(LDLIBS)

check-vm: all $(BUILD)/vmm-boot $(BUILD)/zone-agent $(BUILD)/tests/vmctl $(BUILD)/tests/vsock-peer $(BUILD)/tests/p9-fdserve \
          $(BUILD)/tests/virtq-garbage $(BUILD)/tests/helpers/recvtty
	@KVM_HOST=$(KVM_HOST) VM_TEST_ATTEMPTS=$${VM_TEST_ATTEMPTS:-3} bash tests/vm/run.sh

check: deps
	@$(MAKE) --no-print-directory check-unit fuzz-smoke check-integration check-v2 check-vm bench-smoke

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/zone $(DESTDIR)$(PREFIX)/bin/zone
	install -d $(DESTDIR)$(PREFIX)/libexec/zone
	install -m 0755 $(BUILD)/zone-dev $(DESTDIR)$(PREFIX)/libexec/zone/zone-dev
	install -m 0755 $(BUILD)/zone-agent $(DESTDIR)$(PREFIX)/libexec/zone/zone-agent
	ln -sfn zone $(DESTDIR)$(PREFIX)/bin/zone-vm

# Fuzzing with libFuzzer: every tests/fuzz/fuzz_*.c is linked against a
# clang-instrumented copy of the library and runs FUZZ_SECONDS (default 30)
# on its corpus in build/fuzz/corpus/NAME; the first crash fails the target.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ         := $(BUILD)/fuzz
FUZZ_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ)/obj/%.o)
.PHONY: fuzz fuzz-smoke

$(FUZZ)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ)/libzone.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ)/libzone.a
	$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ)/libzone.a $(LDLIBS)

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$${f##*/}; mkdir -p $(FUZZ)/corpus/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(FUZZ)/corpus/$$n 2>$(FUZZ)/$$n.log \
	    || { tail -n 40 $(FUZZ)/$$n.log; echo "fuzz: $$n failed (log: $(FUZZ)/$$n.log)"; exit 1; }; \
	  grep -E '^stat::number_of_executed_units' $(FUZZ)/$$n.log | sed "s/^/fuzz: $$n: /"; \
	done

# every fuzz target builds and runs a few seconds (part of make check)
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

deps:
	@sh scripts/install-deps.sh

clean:
	rm -rf $(BUILD)

# Benchmarks against crun, runc and a floor program (docs/performance.md).
# bench-smoke: a few iterations and 10 containers; checks the harness and
# fails if any runtime command fails, asserts no timings.
BENCH_TOOLS := $(BUILD)/bench/timer $(BUILD)/bench/floor $(BUILD)/bench/floor-spec
.PHONY: bench bench-smoke
$(BUILD)/bench/timer: bench/timer.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -o $@ $<

# Static, so that the floor pays no dynamic loading either.
$(BUILD)/bench/floor: bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -static -o $@ $<

$(BUILD)/bench/floor-spec: bench/floor_spec.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -static -o $@ $<

bench: all $(BENCH_TOOLS)
	@bash bench/run.sh

bench-smoke: all $(BENCH_TOOLS)
	@bash bench/run.sh --smoke

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
