# Linecrew: one Makefile for the whole tree.
#
#   make            build everything into build/ (installs missing Debian packages first)
#   make demo       run the whole repair loop on the embedded default, then stop
#   make test       unit tests (plain and ASan+UBSan) and integration tests through
#                   a real mosquitto, real gpsd/gpsfake and SQLite; ends "N passed, N failed"
#   make test-faults the fault tests at full size (kills, disk full, locks, write faults)
#   make fuzz       every libFuzzer target for FUZZ_SECONDS (600) each; `make test` runs 10 s
#   make test-asan  the integration tests with the ASan+UBSan daemons
#   make test-valgrind  VALGRIND_TESTS with the daemons under valgrind (leaks, errors)
#   make deps       install the Debian packages the build and the tests need
#   make install    binaries, systemd units and samples (PREFIX=/usr/local, DESTDIR)
#
# Layout: common/ (plumbing both daemons share) -> libcommon.a, proto/ -> libproto.a,
# maps/ -> libmaps.a, gateway/ -> linecrew-gateway + linecrew, device/ -> linecrew-device
# + linecrew-screen (the crew's screen, tui.c).
# Every module of a daemon except main.c also goes into an archive (libgateway.a,
# libdevice.a) so unit tests link the real code.

B        ?= build
CC       ?= cc
OPT      ?= -O2
SAN      ?=
CPPFLAGS += -D_GNU_SOURCE -Icommon -Iproto -Imaps -Igateway -Idevice -I/usr/include/cjson
CFLAGS   += -std=c17 $(OPT) -g -Wall -Wextra -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla -Werror $(SAN)
LDFLAGS  += $(SAN)
LDLIBS   := -lmosquitto -lsqlite3 -lgps -lcjson -lmicrohttpd \
            -lmbedtls -lmbedx509 -lmbedcrypto -lncursesw -lm
# The unit's daemon links only what it calls (--as-needed), no curses (the crew's
# screen is linecrew-screen), and libgps from Debian's static archive: the shared
# libgps brings libstdc++ and libgcc_s that the C client never uses (~1 MB of the
# daemon's RSS, README "Device memory"). libgps's D-Bus source still needs
# libdbus, the very library the shared libgps28 links.
DEV_LDLIBS := -Wl,--as-needed -lmosquitto -lsqlite3 -Wl,-Bstatic -lgps -Wl,-Bdynamic \
            -l:libdbus-1.so.3 -lcjson -lmbedtls -lmbedx509 -lmbedcrypto -lm

DEB_PKGS := build-essential mosquitto mosquitto-clients libmosquitto-dev libsqlite3-dev \
            sqlite3 libgps-dev gpsd gpsd-clients python3 python3-gps libmbedtls-dev \
            libcjson-dev libcmocka-dev libmicrohttpd-dev libncurses-dev curl jq wrk tmux \
            clang libclang-rt-14-dev valgrind chromium fonts-wqy-microhei

COMMON_SRC := $(sort $(wildcard common/*.c))
PROTO_SRC  := $(sort $(wildcard proto/*.c))
MAPS_SRC   := $(sort $(wildcard maps/*.c))
GW_SRC     := $(filter-out gateway/main.c gateway/cli.c gateway/zonetool.c gateway/webpack.c,$(sort $(wildcard gateway/*.c)))
DEV_SRC    := $(filter-out device/main.c device/tui.c,$(sort $(wildcard device/*.c)))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC  := $(sort $(wildcard tests/bench/bench_*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIBCOMMON := $(B)/lib/libcommon.a
LIBPROTO  := $(B)/lib/libproto.a
LIBMAPS   := $(B)/lib/libmaps.a
LIBGW     := $(B)/lib/libgateway.a
LIBDEV    := $(B)/lib/libdevice.a
BINS      := $(B)/bin/linecrew-gateway $(B)/bin/linecrew-device $(B)/bin/linecrew \
             $(B)/bin/linecrew-zones $(B)/bin/linecrew-screen
UNITS     := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
BENCHES   := $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRC))

.PHONY: all deps demo test unit unit-asan integration clean bench check-deps
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory build

.PHONY: build
build: $(BINS) $(UNITS)

# deps: install what is missing, as root with apt-get; otherwise say the exact sudo line.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "deps: missing Debian packages; run:"; echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@# node and npm run the browser test's driver; checked as commands, not packages
	@# (a nodesource nodejs brings its own npm, which Debian's npm package conflicts with)
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing nodejs npm"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null || exit 1; \
	  else \
	    echo "deps: node and npm missing; run:"; echo "  sudo apt-get install -y nodejs npm"; exit 1; \
	  fi; \
	fi

# The browser test's driver (tests/web, README "Web board"): playwright-core from
# the npm registry exactly as locked, installed into build/web-test, never into the
# source tree. It drives Debian's chromium; --ignore-scripts: no browser download.
WEB_TEST := build/web-test
.PHONY: web-test-deps
web-test-deps: $(WEB_TEST)/node_modules/.package-lock.json
$(WEB_TEST)/node_modules/.package-lock.json: tests/web/package.json tests/web/package-lock.json
	@mkdir -p $(WEB_TEST)
	cp tests/web/package.json tests/web/package-lock.json $(WEB_TEST)/
	cd $(WEB_TEST) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBPROTO):  $(call obj,$(PROTO_SRC))
$(LIBMAPS):   $(call obj,$(MAPS_SRC))
$(LIBGW):     $(call obj,$(GW_SRC)) $(B)/obj/gen/web_assets.o
$(LIBDEV):    $(call obj,$(DEV_SRC))
$(B)/lib/%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

# The web board's files (gateway/web/) compiled in (issue 7): gateway/webpack.c, a
# host tool, writes them as a C table {name, type, bytes, ETag} that web.c serves.
WEB_FILES := $(sort $(wildcard $(addprefix gateway/web/*.,html css js svg png ico json txt)))
$(B)/tools/webpack: gateway/webpack.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<
$(B)/gen/web_assets.c: $(B)/tools/webpack $(WEB_FILES)
	@mkdir -p $(dir $@)
	$(B)/tools/webpack $@ $(WEB_FILES)
$(B)/obj/gen/web_assets.o: $(B)/gen/web_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/bin/linecrew-gateway: $(call obj,gateway/main.c) $(LIBGW) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/linecrew: $(call obj,gateway/cli.c) $(LIBGW) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/linecrew-zones: $(call obj,gateway/zonetool.c) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/linecrew-device: $(call obj,device/main.c) $(LIBDEV) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(DEV_LDLIBS)

$(B)/bin/linecrew-screen: $(call obj,device/tui.c) $(LIBDEV) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -Wl,--as-needed $(LDLIBS)

# Unit tests: tests/unit/test_<lib>_<module>.c; "gw" tests link the gateway's
# modules, "dev" tests the device's, the others only the libraries.
$(B)/tests/test_gw_%: $(B)/obj/tests/unit/test_gw_%.o $(LIBGW) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(B)/tests/test_dev_%: $(B)/obj/tests/unit/test_dev_%.o $(LIBDEV) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Benchmarks: tests/bench/bench_<lib>_<name>.c, linked like the unit tests.
$(B)/bench/bench_gw_%: $(B)/obj/tests/bench/bench_gw_%.o $(LIBGW) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/bench/bench_dev_%: $(B)/obj/tests/bench/bench_dev_%.o $(LIBDEV) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/bench/bench_%: $(B)/obj/tests/bench/bench_%.o $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-build
bench-build: $(BINS) $(BENCHES)

# make bench: an optimised build of its own (build/bench), then the suite.
bench: deps
	@$(MAKE) --no-print-directory B=build/bench OPT="-O3 -DNDEBUG" bench-build
	@LINECREW_BUILD=build/bench tests/bench/run

# The sanitizer build lives in its own tree so both can exist side by side.
unit-asan-build: deps
	@$(MAKE) --no-print-directory B=build/asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" build

# HOLD=1: the demo waits for Enter before its story and before stopping (watch the web board).
demo: all
	@LINECREW_DEMO_HOLD=$(HOLD) /usr/bin/python3 tests/demo.py

test: all
	@$(MAKE) --no-print-directory web-test-deps
	@$(MAKE) --no-print-directory unit-asan-build
	@$(MAKE) --no-print-directory fuzz-build
	@tests/run

# Fuzzing (issue 8): tests/fuzz/fuzz_<name>.c are libFuzzer targets, built with clang,
# ASan and UBSan in build/fuzz (the libraries instrumented with fuzzer-no-link).
# `make fuzz` runs each for FUZZ_SECONDS on its seed corpus (tests/fuzz/corpus/<name>/;
# what it finds is kept under build/fuzz/corpus), crash inputs go to
# tests/fuzz/regress/<name>/ and are replayed by `make test`
# (tests/integration/test_fuzz_short.py, which also fuzzes each target briefly).
# clang's -Wformat=2 also flags the va_list forwarding in log.c that gcc accepts:
# -Wno-format-nonliteral in this tree only.
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS   := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
FUZZ_SAN  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SECONDS ?= 600

$(B)/fuzz/fuzz_http_%: $(B)/obj/tests/fuzz/fuzz_http_%.o $(LIBGW) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
$(B)/fuzz/fuzz_gps_%: $(B)/obj/tests/fuzz/fuzz_gps_%.o $(LIBDEV) $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
$(B)/fuzz/fuzz_%: $(B)/obj/tests/fuzz/fuzz_%.o $(LIBMAPS) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

.PHONY: fuzz fuzz-build fuzz-targets
fuzz-targets: $(FUZZERS)
.SECONDARY: $(patsubst tests/fuzz/%.c,$(B)/obj/tests/fuzz/%.o,$(FUZZ_SRC))
fuzz-build: deps
	@$(MAKE) --no-print-directory B=build/fuzz CC=clang OPT=-O1 \
	  SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link -Wno-format-nonliteral" fuzz-targets
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_ARTIFACTS=tests/fuzz/regress tests/fuzz/run

# Run under checks (issue 8). test-asan: the integration tests with the ASan+UBSan
# daemons and CLI (build/asan); any sanitizer report, leaks at exit included, is
# written to build/checks/asan.* and fails the target. test-valgrind: VALGRIND_TESTS
# with every gateway and device under valgrind (tests/lib/harness.py LINECREW_WRAP);
# reports in build/checks/valgrind.<pid>, any error or definite leak fails.
VALGRIND_TESTS ?= repair_loop hostile_http
VALGRIND := valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --error-exitcode=99 --track-fds=no --num-callers=30
.PHONY: test-asan test-valgrind
test-asan: all
	@$(MAKE) --no-print-directory web-test-deps
	@$(MAKE) --no-print-directory unit-asan-build
	@rm -rf build/checks && mkdir -p build/checks
	@LINECREW_BUILD=build/asan LINECREW_WAIT_SCALE=3 \
	  ASAN_OPTIONS=detect_leaks=1:log_path=$(CURDIR)/build/checks/asan \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(CURDIR)/build/checks/asan-ubsan \
	  tests/run integration; rc=$$?; \
	  if ls build/checks/asan* >/dev/null 2>&1; then \
	    echo "test-asan: sanitizer reports:"; ls build/checks/; head -n 40 build/checks/asan*; exit 1; fi; \
	  echo "test-asan: no sanitizer report"; exit $$rc
test-valgrind: all
	@rm -rf build/checks && mkdir -p build/checks
	@rc=0; for t in $(VALGRIND_TESTS); do \
	  LINECREW_WAIT_SCALE=10 LINECREW_WRAP="$(VALGRIND) --log-file=$(CURDIR)/build/checks/valgrind.%p" \
	    tests/run $$t || rc=1; done; \
	  bad=$$(grep -lE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]' build/checks/valgrind.* 2>/dev/null); \
	  echo "test-valgrind: $$(ls build/checks/valgrind.* 2>/dev/null | wc -l) daemon runs checked"; \
	  if [ -n "$$bad" ]; then echo "test-valgrind: errors or leaks in:"; \
	    for f in $$bad; do echo "== $$f"; grep -E 'Command:|ERROR SUMMARY|lost:' $$f; done; exit 1; fi; \
	  exit $$rc

# make test-faults: the fault tests (issue 8) at full size; `make test` runs their short versions.
.PHONY: test-faults
test-faults: all
	@LINECREW_FAULTS=full tests/run faults

# make install: the binaries, the systemd units, the linecrew system user
# (sysusers.d), the samples and the README (README "Running as a service").
# DESTDIR stages the tree. Config files in $(SYSCONFDIR)/linecrew are installed
# only when absent: an operator's file is never overwritten. Units and /etc
# copies get BINDIR, SYSCONFDIR and DOCDIR written in; the doc copies stay as is.
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SYSCONFDIR  ?= /etc
DOCDIR      ?= $(PREFIX)/share/doc/linecrew
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
UNITDIR     ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
INSTALL_UNITS := gateway/linecrew-gateway.service gateway/linecrew-broker.service \
                 device/linecrew-device.service
INSTALL_SED := sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/etc/linecrew|$(SYSCONFDIR)/linecrew|g' \
               -e 's|/usr/local/share/doc/linecrew|$(DOCDIR)|g'
.PHONY: install
install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/linecrew
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	for u in $(INSTALL_UNITS); do \
	  $(INSTALL_SED) $$u > $(DESTDIR)$(UNITDIR)/$${u##*/} && chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done
	printf 'u linecrew - "Linecrew daemons" /var/lib/linecrew\n' > $(DESTDIR)$(SYSUSERSDIR)/linecrew.conf
	install -m 0644 gateway/gateway.conf.sample device/device.conf.sample \
	  gateway/data/calendar.conf README.md $(DESTDIR)$(DOCDIR)/
	for f in gateway/gateway.conf.sample:gateway.conf device/device.conf.sample:device.conf \
	    gateway/data/calendar.conf:calendar.conf; do \
	  dst=$(DESTDIR)$(SYSCONFDIR)/linecrew/$${f#*:}; \
	  if [ -e $$dst ]; then echo "install: $$dst exists, kept"; continue; fi; \
	  $(INSTALL_SED) $${f%%:*} > $$dst && chmod 0644 $$dst || exit 1; \
	done

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
