# fuzz.mk: builds the libFuzzer targets with clang into build-fuzz/. Used by
# tests/fuzz/run.sh, from the top of the tree:
#   make -f tests/fuzz/fuzz.mk -j2
# The project's sources (collector/*.c, dashboard/*.c but fpmond.c, and the
# generated build/gen/embedded.c) are compiled with coverage and sanitizers
# into one archive, so each target links only the objects it needs, and a
# target may define a module's symbols itself (fuzz_live_client does, for
# dashboard/live_ws.c) without a clash. The project's own Makefile and build/
# are not touched, except that build/gen/embedded.c must exist (run.sh makes it).

CC        = clang
FUZZ_OUT ?= build-fuzz
GEN      ?= build/gen

SAN       = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS    = -std=c11 -D_GNU_SOURCE -Icollector -Idashboard -I$(GEN) -g -O1 $(SAN)
LIBS      = -lwebsockets -lrrd -ljansson -lsqlite3 -lcrypto -lz -lm -pthread

SRC       = $(sort $(wildcard collector/*.c)) $(filter-out dashboard/fpmond.c,$(sort $(wildcard dashboard/*.c)))
OBJ       = $(SRC:%.c=$(FUZZ_OUT)/obj/%.o) $(FUZZ_OUT)/obj/gen/embedded.o
TARGETS   = $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))

.PHONY: all
all: $(TARGETS)

$(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC     $<"
	@$(CC) $(CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_OUT)/obj/gen/embedded.o: $(GEN)/embedded.c
	@mkdir -p $(@D)
	@echo "  CC     $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_OUT)/libfuzzcore.a: $(OBJ)
	@echo "  AR     $@"
	@rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OUT)/libfuzzcore.a
	@echo "  LINK   $@"
	@$(CC) $(CFLAGS) -Itests/fuzz -fsanitize=fuzzer -MMD -MP -MF $@.d $< $(FUZZ_OUT)/libfuzzcore.a $(LIBS) -o $@

-include $(OBJ:.o=.d) $(TARGETS:=.d)
