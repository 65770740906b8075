#!/bin/sh
# Prints "package=version" for every Debian package that provides a shared
# library the given binaries load, as installed where they were built. The
# runtime image installs exactly these, so it holds the libraries the
# binaries were linked against and nothing else (no -dev packages, no
# compiler). Fails if a library is not found or belongs to no package.
set -eu
[ $# -gt 0 ] || { echo "usage: runtime-deps.sh BINARY..." >&2; exit 2; }

libs=$(for b in "$@"; do
    if ldd "$b" | grep -q 'not found'; then
        echo "runtime-deps: $b: $(ldd "$b" | grep 'not found')" >&2
        exit 1
    fi
    ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'
done | sort -u)

for lib in $libs; do
    real=$(readlink -f "$lib")
    # Debian 12 is usr-merged, but a package may have registered either
    # spelling of the path, and either the symlink or the file it names.
    owner=""
    for p in "$lib" "$real" "/usr${lib#/usr}" "${lib#/usr}" "/usr${real#/usr}" "${real#/usr}"; do
        owner=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$owner" ] && break
    done
    [ -n "$owner" ] || { echo "runtime-deps: no package owns $lib" >&2; exit 1; }
    echo "$owner"
done | sort -u | xargs dpkg-query -W -f='${Package}=${Version}\n'
