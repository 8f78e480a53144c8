# Makefile: builds the daemon (fpmond), the admin tool (fpmctl), the demo
# simulator, the unit tests and the benchmarks. Sources are found by glob, so a
# new module is one new .c/.h pair and nothing here changes.
#   make                    build everything under build/
#   make demo               install what is missing, build, run the demo county
#   make test               every test stage CI runs; last line "N passed, N failed"
#   make check              the plain suite only (unit, integration, browser)
#   make SANITIZE=address,undefined BUILD=build-asan check
#   make FAULT=1 BUILD=build-fault   fault points armed from $FPMON_FAULTS (tests only)
#   make bench              benchmarks with their baselines (not a test)
#   make fuzz RUNS=20000    fuzz targets, a fixed number of runs each (FUZZ_SECONDS=600 for long runs)
#   make install PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
PKGS     = libwebsockets librrd jansson sqlite3 libcrypto zlib

WARN = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-qual \
       -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef -Wvla \
       -Wwrite-strings -Wimplicit-fallthrough -Wold-style-definition \
       -Wmissing-declarations -Wredundant-decls -Wnested-externs

OPT      ?= -O2 -g
CFLAGS   ?=
CPPFLAGS += -D_GNU_SOURCE -Icollector -Idashboard -I$(BUILD)/gen
ALL_CFLAGS = -std=c11 $(OPT) $(WARN) $(CFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -pthread
LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread

# Quiet by default; make V=1 prints whole commands.
ifeq ($(V),1)
Q =
say = @true
else
Q = @
say = @printf '  %-6s %s\n'
endif

# Fault injection (collector/fault.h): a test build only, never installed.
ifeq ($(FAULT),1)
CPPFLAGS += -DFPMON_FAULT_INJECTION
endif

ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

COLLECTOR_SRC = $(sort $(wildcard collector/*.c))
DASHBOARD_SRC = $(filter-out dashboard/fpmond.c,$(sort $(wildcard dashboard/*.c)))
GEN_SRC       = $(BUILD)/gen/embedded.c
EMBED_FILES   = $(sort $(wildcard schemas/*.sql schemas/*.json))
CORE_OBJ      = $(COLLECTOR_SRC:%.c=$(BUILD)/%.o) $(DASHBOARD_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/embedded.o
TOOLS_SRC     = $(sort $(wildcard tools/*.c))
TOOLS_BIN     = $(patsubst tools/%.c,$(BUILD)/%,$(filter-out tools/embed.c,$(TOOLS_SRC)))
UNIT_SRC      = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN      = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC     = $(sort $(wildcard bench/*.c))
BENCH_BIN     = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps test check unit bench install clean fuzz demo
all: $(BUILD)/fpmond $(TOOLS_BIN)

deps:
	@tools/deps.sh

$(BUILD)/libcore.a: $(CORE_OBJ)
	@mkdir -p $(@D)
	$(say) AR $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/%.o: %.c | $(BUILD)/gen/embedded.h
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/embedded.o: $(BUILD)/gen/embedded.c
	$(say) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/embed: tools/embed.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) -std=c11 -O2 $(WARN) $< -o $@

# embed writes embedded.h once (it never changes) and embedded.c every time.
$(BUILD)/gen/embedded.c: $(BUILD)/embed $(EMBED_FILES)
	@mkdir -p $(BUILD)/gen
	$(say) EMBED schemas/
	$(Q)$(BUILD)/embed $(BUILD)/gen/embedded $(EMBED_FILES)
$(BUILD)/gen/embedded.h: | $(BUILD)/gen/embedded.c

$(BUILD)/fpmond: $(BUILD)/dashboard/fpmond.o $(BUILD)/libcore.a
	$(say) LINK $@
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/%: $(BUILD)/tools/%.o $(BUILD)/libcore.a
	$(say) LINK $@
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libcore.a
	@mkdir -p $(@D)
	$(say) LINK $@
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -lcmocka -o $@

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libcore.a
	@mkdir -p $(@D)
	$(say) LINK $@
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

unit: $(UNIT_BIN)

# Every stage CI runs (tests/ci.sh: plain, sanitizers, valgrind, fuzz, soak).
test: deps
	@tests/ci.sh

# The plain suite alone on $(BUILD): unit, integration and browser tests.
check: deps
	@$(MAKE) --no-print-directory all unit
	@tests/run.sh $(BUILD)

# README's first command: the server with a demo county and its simulator.
demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh $(BUILD)

bench: all $(BENCH_BIN)
	@bench/run.sh $(BUILD)
	@bench/push.sh $(BUILD)
	@bench/history.sh $(BUILD)

# libFuzzer targets for every parser of outside input (clang); RUNS per target.
fuzz:
	@tests/fuzz/run.sh $(RUNS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fpmon/web
	install -m 0755 $(BUILD)/fpmond $(TOOLS_BIN) $(DESTDIR)$(PREFIX)/bin/
	cp -R web/. $(DESTDIR)$(PREFIX)/share/fpmon/web/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
