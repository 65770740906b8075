# actorgate: the one entry point. See README.md.
#
#   make deps       install the Debian packages (root; idempotent, quiet)
#   make all        library, examples, gateway
#   make run        deps + all + start a local cluster (counter node + gateway)
#   make test       deps + everything the project tests (CI runs this)
#   make test-asan  unit and integration tests under ASan + UBSan
#   make bench      benchmarks, with baselines measured in the same run
#   make fuzz       build the libFuzzer harnesses and run each briefly
#   make install    PREFIX=/usr/local: headers, libactorlib.{a,so}, actorlib.pc
#
# BUILD selects the output folder so that several builds (plain, sanitizer,
# fuzz) live side by side.

BUILD    ?= build
PREFIX   ?= /usr/local
CC       ?= gcc
SAN      ?=
VERSION  := 0.1.0

LIB_PKGS := libuv libngtcp2 libngtcp2_crypto_gnutls gnutls libcrypto msgpack \
            libcbor libprotobuf-c
GW_PKGS  := libmicrohttpd jansson sqlite3

PKG_CFLAGS  = $(shell pkg-config --cflags $(LIB_PKGS) $(GW_PKGS) 2>/dev/null)
LIB_LIBS    = $(shell pkg-config --libs $(LIB_PKGS) 2>/dev/null) -lpthread -lm
GW_LIBS     = $(shell pkg-config --libs $(GW_PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

ifeq ($(SAN),1)
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer
  OPT      := -O1
else ifeq ($(SAN),fuzz)
  SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
              -DAL_FUZZING
  OPT      := -O1
else
  SANFLAGS :=
  OPT      := -O2
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE -fPIC $(WARN) $(CFLAGS) $(SANFLAGS) \
             -Iactorlib/include -Iactorlib/src -I$(BUILD)/gen -Igateway/src \
             -Iactorlib/examples $(PKG_CFLAGS) -MMD -MP \
             -DACTORGATE_VERSION='"$(VERSION)"'
LDFLAGS  ?=
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

# V=1 shows full command lines.
ifeq ($(V),1)
  Q :=
  say = @true
else
  Q := @
  say = @printf '  %-6s %s\n'
endif

# --- sources -------------------------------------------------------------
PROTOS    := $(wildcard actorlib/proto/*.proto)
PROTO_C   := $(patsubst actorlib/proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
PROTO_H   := $(PROTO_C:.c=.h)
LIB_SRC   := $(wildcard actorlib/src/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(PROTO_C:%.c=%.o)
GW_SRC    := $(wildcard gateway/src/*.c)
GW_OBJ    := $(GW_SRC:%.c=$(BUILD)/obj/%.o)
GW_LIBOBJ := $(filter-out %/main.o,$(GW_OBJ))
EX_LIBSRC := $(wildcard actorlib/examples/counter.c)
EX_LIBOBJ := $(EX_LIBSRC:%.c=$(BUILD)/obj/%.o)
EX_BINSRC := $(filter-out $(EX_LIBSRC),$(wildcard actorlib/examples/*.c))
EX_BINS   := $(patsubst actorlib/examples/%.c,$(BUILD)/bin/%,$(EX_BINSRC))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/bin/%,$(TOOL_SRC))
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

STATIC_LIB := $(BUILD)/lib/libactorlib.a
SHARED_LIB := $(BUILD)/lib/libactorlib.so.0
EX_LIB     := $(if $(EX_LIBSRC),$(BUILD)/lib/libcounter.a)
GATEWAY    := $(BUILD)/bin/gateway

.PHONY: all deps run test test-asan unit unit-asan integration integration-asan bench fuzz \
        fuzz-build fuzz-bins fuzz-smoke install clean check-style format tools
.DEFAULT_GOAL := all
.SECONDARY: $(PROTO_C) $(PROTO_H)

all: $(STATIC_LIB) $(SHARED_LIB) $(EX_BINS) $(TOOL_BINS) \
     $(if $(wildcard gateway/src/main.c),$(GATEWAY)) $(BUILD)/lib/actorlib.pc

deps:
	@sh .ci/deps.sh

# --- generated protobuf code ----------------------------------------------
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: actorlib/proto/%.proto
	@mkdir -p $(@D)
	$(say) PROTO $<
	$(Q)protoc-c --proto_path=actorlib/proto --c_out=$(BUILD)/gen $<

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	$(say) CC $<
	$(Q)$(CC) $(filter-out -Wmissing-prototypes,$(ALL_CFLAGS)) -c -o $@ $<

# --- objects -------------------------------------------------------------
$(BUILD)/obj/%.o: %.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(STATIC_LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(say) LD $@
	$(Q)$(CC) -shared -Wl,-soname,libactorlib.so.0 -o $@ $^ $(ALL_LDFLAGS) $(LIB_LIBS)
	$(Q)ln -sf libactorlib.so.0 $(BUILD)/lib/libactorlib.so

# The example's actors live in a static library on purpose: the link-time
# registry must survive linking through an archive.
$(EX_LIB): $(EX_LIBOBJ)
	@mkdir -p $(@D)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: actorlib/examples/%.c $(EX_LIB) $(STATIC_LIB)
	@mkdir -p $(@D)
	$(say) LD $@
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(EX_LIB) $(STATIC_LIB) $(ALL_LDFLAGS) $(LIB_LIBS)

$(BUILD)/bin/%: tests/tools/%.c $(GW_LIBOBJ) $(EX_LIB) $(STATIC_LIB)
	@mkdir -p $(@D)
	$(say) LD $@
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(GW_LIBOBJ) $(EX_LIB) $(STATIC_LIB) \
	    $(ALL_LDFLAGS) $(GW_LIBS) $(LIB_LIBS)

$(GATEWAY): $(GW_OBJ) $(EX_LIB) $(STATIC_LIB)
	@mkdir -p $(@D)
	$(say) LD $@
	$(Q)$(CC) -o $@ $(GW_OBJ) $(STATIC_LIB) $(ALL_LDFLAGS) $(GW_LIBS) $(LIB_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(GW_LIBOBJ) $(EX_LIB) $(STATIC_LIB)
	@mkdir -p $(@D)
	$(say) LD $@
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(GW_LIBOBJ) $(EX_LIB) $(STATIC_LIB) \
	    $(ALL_LDFLAGS) $(CMOCKA_LIBS) $(GW_LIBS) $(LIB_LIBS)

# write_pc(file): the pkg-config file for PREFIX, written at build time and
# again at install time so that `make install PREFIX=...` is always right.
define write_pc
	@mkdir -p $(dir $(1))
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' \
	  'includedir=$${prefix}/include' '' 'Name: actorlib' \
	  'Description: actors that message each other over a libp2p QUIC swarm' \
	  'Version: $(VERSION)' 'Requires: libuv' \
	  'Requires.private: $(filter-out libuv,$(LIB_PKGS))' \
	  'Cflags: -I$${includedir} -D_DEFAULT_SOURCE' \
	  'Libs: -L$${libdir} -lactorlib' 'Libs.private: -lpthread -lm' > $(1)
endef

$(BUILD)/lib/actorlib.pc: Makefile
	$(call write_pc,$@)

tools: $(TOOL_BINS)

# --- tests ---------------------------------------------------------------
unit: $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

unit-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit

integration-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 integration

integration: all
	@BUILD=$(BUILD) sh tests/run-integration.sh

test-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit integration

test: deps
	@sh tests/run-all.sh

check-style:
	@sh tests/check-style.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

# --- fuzzing (clang + libFuzzer) -----------------------------------------
FUZZ_LIBOBJ = $(GW_LIBOBJ) $(STATIC_LIB)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(GW_LIBOBJ) $(STATIC_LIB)
	@mkdir -p $(@D)
	$(say) LD $@
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIBOBJ) \
	    $(ALL_LDFLAGS) $(GW_LIBS) $(LIB_LIBS)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build/fuzz SAN=fuzz CC=clang fuzz-bins

fuzz-bins: $(FUZZ_BINS)

fuzz-smoke: fuzz-build
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-10} sh tests/fuzz/run.sh build/fuzz/fuzz

fuzz: fuzz-build
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-60} sh tests/fuzz/run.sh build/fuzz/fuzz

# --- benchmarks ----------------------------------------------------------
bench: deps all
	@BUILD=$(BUILD) sh tests/bench/run.sh

# --- install -------------------------------------------------------------
install: $(STATIC_LIB) $(SHARED_LIB) $(BUILD)/lib/actorlib.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 actorlib/include/actorlib.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libactorlib.so.0 $(DESTDIR)$(PREFIX)/lib/libactorlib.so
	$(call write_pc,$(DESTDIR)$(PREFIX)/lib/pkgconfig/actorlib.pc)

run: deps all
	@BUILD=$(BUILD) sh .ci/run-local.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(BUILD)/tests $(BUILD)/bin -name '*.d' 2>/dev/null)
