# emotrace: see README.md. `make` builds ./emotrace; `make test` runs the tests.
VERSION := 0.1.0
PREFIX  ?= /usr/local
CC      ?= cc

# libavdevice is not linked: src/media/video.c loads it when a device is
# asked for (its headers give the library's version).
PKGS    := libavformat libavcodec libavutil libswscale sqlite3 stb zlib
DEPS_CFLAGS := $(shell pkg-config --cflags libavdevice $(PKGS)) -I/usr/include/x86_64-linux-gnu/openblas-pthread
DEPS_LIBS   := $(shell pkg-config --libs $(PKGS)) -lopenblas -lpthread -ldl -lm

# snprintf truncation is bounded and intended wherever we use it; gcc guesses
# too often (clang has no such warning; it warns of the deliberate string
# concatenation in sink_sqlite.c's SQL statements).
CC_IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
WARN    := -std=c11 -Wall -Wextra -Werror $(if $(CC_IS_CLANG),-Wno-string-concatenation,-Wno-format-truncation)
DEFS    := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DET_VERSION=\"$(VERSION)\" \
           -DET_DATADIR=\"$(PREFIX)/share/emotrace\"
OPT     ?= -O3 -g
CFLAGS_ALL = $(WARN) $(DEFS) $(OPT) -Iinclude $(DEPS_CFLAGS) $(CFLAGS)

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -path 'src/cli/*'))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))

BUILD ?= build/release
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
BENCH_OBJ := $(BENCH_SRC:%.c=$(BUILD)/%.o)

.PHONY: all test check-layers sanitize-test bench deps install clean fuzz
all: emotrace

# Copy then rename, so that a running ./emotrace (a long training run) does
# not make the build fail with "Text file busy".
emotrace: $(BUILD)/emotrace
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/libemotrace.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/emotrace: $(CLI_OBJ) $(BUILD)/libemotrace.a
	$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJ) $(BUILD)/libemotrace.a $(DEPS_LIBS) $(LDFLAGS)

# The tests also run the CLI, so they depend on the binary of the same build.
$(BUILD)/run-tests: $(TEST_OBJ) $(BUILD)/libemotrace.a $(BUILD)/emotrace
	$(CC) $(CFLAGS_ALL) -o $@ $(TEST_OBJ) $(BUILD)/libemotrace.a $(DEPS_LIBS) $(LDFLAGS)

$(BUILD)/run-bench: $(BENCH_OBJ) $(BUILD)/libemotrace.a
	$(CC) $(CFLAGS_ALL) -o $@ $(BENCH_OBJ) $(BUILD)/libemotrace.a $(DEPS_LIBS) $(LDFLAGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -Itests -c -o $@ $<

# stb_image's decoders (src/media/stb_image_impl.c): signed arithmetic wraps
# (so it is no error for the sanitizers either), and the third-party code's
# warnings are not ours to fix.
$(BUILD)/src/media/stb_image_impl.o: src/media/stb_image_impl.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fwrapv -fno-sanitize=signed-integer-overflow -w -MMD -MP -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BENCH_OBJ:.o=.d)

# ET_BIN tells the tests which CLI binary to run.
test: check-layers $(BUILD)/run-tests
	ET_BIN=$(BUILD)/emotrace $(BUILD)/run-tests $(TESTS)

# No include goes up the ladder of folders that src/README.md writes down.
check-layers:
	tools/check_layers.sh

# The sanitizers exit with their own statuses (tests/cli_run.h), never the
# 1 that tests expect of emotrace for failed inputs; the children the tests
# start inherit the options.
SAN_RUN_OPTIONS := ASAN_OPTIONS=detect_leaks=1:exitcode=86 \
                   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87

sanitize-test:
	$(MAKE) BUILD=build/sanitize OPT="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" build/sanitize/run-tests
	$(SAN_RUN_OPTIONS) ET_BIN=build/sanitize/emotrace ET_SANITIZE=1 build/sanitize/run-tests $(TESTS)

bench: $(BUILD)/run-bench emotrace
	$(BUILD)/run-bench $(BENCHES)

# libFuzzer harnesses (tests/fuzz/), built with clang, ASan and UBSan into
# build/fuzz/. Run one with a seed corpus, e.g.
#   build/fuzz/fuzz_image -max_total_time=120 build/fuzz/corpus/image tests/fuzz/corpus/image
FUZZ_CC     ?= clang
FUZZ_FLAGS  := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_NAMES  := image video safetensors fer2013
FUZZ_BINS   := $(FUZZ_NAMES:%=build/fuzz/fuzz_%)

fuzz:
	$(MAKE) CC=$(FUZZ_CC) BUILD=build/fuzz OPT="$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link" build/fuzz/libemotrace.a
	$(MAKE) CC=$(FUZZ_CC) BUILD=build/fuzz OPT="$(FUZZ_FLAGS)" $(FUZZ_BINS)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_file.c build/fuzz/libemotrace.a
	$(CC) $(CFLAGS_ALL) -Itests/fuzz -fsanitize=fuzzer -o $@ $< tests/fuzz/fuzz_file.c build/fuzz/libemotrace.a \
		$(DEPS_LIBS) -fsanitize=address,undefined

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		build-essential pkg-config libopenblas-dev libavdevice-dev libavformat-dev libavcodec-dev \
		libavutil-dev libswscale-dev libsqlite3-dev libstb-dev zlib1g-dev ffmpeg sqlite3 \
		groff-base man-db librsvg2-bin libxml2-utils clang libclang-rt-14-dev

install: emotrace
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/emotrace $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 emotrace $(DESTDIR)$(PREFIX)/bin/emotrace
	install -m 644 weights/*.safetensors $(DESTDIR)$(PREFIX)/share/emotrace/
	install -m 644 man/emotrace.1 $(DESTDIR)$(PREFIX)/share/man/man1/emotrace.1

clean:
	rm -rf build emotrace
