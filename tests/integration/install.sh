#!/bin/sh
# `make install` into a scratch prefix, then the seed's local example
# (counter-local.c + counter.c) built only from what was installed, found
# through pkg-config: against the shared library, against the static one
# (the link-time registry must survive a static link), and under a strict
# -std=c17. Prints "N passed, N failed" last.
set -u
. "$(dirname "$0")/../lib/proc.sh"

prefix=$work/prefix
if make -C "$root" --no-print-directory install BUILD="$B" PREFIX="$prefix" \
    >"$work/install.log" 2>&1; then
    ok "make install PREFIX=<scratch>"
else
    bad "make install: $(tail -3 "$work/install.log")"
    finish
fi
for f in include/actorlib.h lib/libactorlib.a lib/libactorlib.so \
    lib/libactorlib.so.0 lib/pkgconfig/actorlib.pc; do
    [ -e "$prefix/$f" ] && ok "installed $f" || bad "not installed: $f"
done

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --exists actorlib && ok "pkg-config finds actorlib" ||
    bad "pkg-config does not find actorlib"
# A sanitizer build of the library needs its runtime in the program too.
san=""
nm "$prefix/lib/libactorlib.a" 2>/dev/null | grep -q __asan_init &&
    san="-fsanitize=address,undefined"
ex="$root/actorlib/examples"
src="$ex/counter-local.c $ex/counter.c"

# build NAME CFLAGS LIBS...: compiles the example into $work/NAME.
build() {
    name=$1 flags=$2
    shift 2
    # shellcheck disable=SC2086
    cc $flags $san -Wall -Wextra -Werror -I"$ex" $src \
        $(pkg-config --cflags actorlib) -o "$work/$name" "$@" \
        >"$work/$name.log" 2>&1
}

# run NAME: the example must print both replies of the seed.
run() {
    out=$(LD_LIBRARY_PATH="$prefix/lib" timeout 60 "$work/$1" 2>&1)
    case $out in
    *"Incremented count: 10"*"Incremented count: 20"*) return 0 ;;
    *) echo "$out" | tail -3 >"$work/$1.log"; return 1 ;;
    esac
}

if build shared "" $(pkg-config --libs actorlib); then
    ok "built against the shared library"
    LD_LIBRARY_PATH="$prefix/lib" ldd "$work/shared" |
        grep -q "$prefix/lib/libactorlib.so" &&
        ok "linked to the installed libactorlib.so" ||
        bad "not linked to the installed libactorlib.so"
    run shared && ok "shared: Inc 10 twice -> 10, 20" ||
        bad "shared run: $(cat "$work/shared.log")"
else
    bad "shared build: $(tail -5 "$work/shared.log")"
fi

# The archive by path, then the shared libraries of the modules it
# requires (pkg-config --static would ask for every static archive down to
# gnutls's, which Debian's -dev packages do not all ship).
deps="$(pkg-config --print-requires actorlib) $(pkg-config --print-requires-private actorlib)"
# shellcheck disable=SC2086
if build static "" "$prefix/lib/libactorlib.a" $(pkg-config --libs $deps) \
    -lpthread -lm; then
    ok "built against the static library"
    ldd "$work/static" | grep -q libactorlib &&
        bad "the static build still loads libactorlib.so" ||
        ok "the static build does not load libactorlib.so"
    run static && ok "static: Inc 10 twice -> 10, 20 (registry kept)" ||
        bad "static run: $(cat "$work/static.log")"
else
    bad "static build: $(tail -5 "$work/static.log")"
fi

if build strict "-std=c17 -pedantic" $(pkg-config --libs actorlib); then
    ok "-std=c17 with pkg-config's flags builds"
    run strict && ok "strict: Inc 10 twice -> 10, 20" ||
        bad "strict run: $(cat "$work/strict.log")"
else
    bad "-std=c17 build: $(tail -5 "$work/strict.log")"
fi
finish
