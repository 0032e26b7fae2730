#!/bin/sh
# static_checks.sh: cppcheck and clang-tidy over the product's C (lib/,
# sensor/, plugins/, collector/), with the checked-in configuration:
# .clang-tidy (which checks, and why some are off), and
# tests/static/cppcheck-suppressions.txt and tests/static/artmon.cfg (each
# suppression says why it is a false positive).  Any finding fails the
# test: fix it, or silence that one line with a comment saying why (see
# .clang-tidy).  Needs the build tree's config.h (ARTMON_BUILDDIR) and
# pkg-config for the include paths.  Prints TAP; a tool that is not
# installed is skipped (./run-tests installs both).
set -u
B=${ARTMON_BUILDDIR:-.}
S=${ARTMON_SRCDIR:-.}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

files=$(cd "$S" && ls lib/*.c sensor/*.c plugins/*.c collector/*.c)
inc="-I$B -I$S/lib -I$S/plugins -I$S/sensor -I$S/collector"
defs='-DHAVE_CONFIG_H -DPKGLIBDIR="/" -DSYSCONFDIR="/" -DLOCALSTATEDIR="/"'

n=0
fails=0

n=$((n + 1))
if ! command -v cppcheck >/dev/null 2>&1; then
  echo "ok $n # SKIP cppcheck is not installed"
else
  # No system headers (cppcheck's library files model libc, POSIX and
  # GLib); --enable=style includes warning, performance and portability.
  # shellcheck disable=SC2086
  (cd "$S" && cppcheck -q --std=c11 --enable=style --inline-suppr \
    --library=gnu,posix,gtk,tests/static/artmon.cfg \
    --suppressions-list=tests/static/cppcheck-suppressions.txt \
    --error-exitcode=1 $defs $inc \
    --template='{file}:{line}: {severity} {id}: {message}' $files) \
    >"$TMP/cppcheck" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && ! grep -q . "$TMP/cppcheck"; then
    echo "ok $n - cppcheck: no finding in $(echo "$files" | wc -w) files"
  else
    echo "not ok $n - cppcheck: findings (exit $rc)"
    sed 's/^/# /' "$TMP/cppcheck" | head -60
    fails=$((fails + 1))
  fi
fi

n=$((n + 1))
if ! command -v clang-tidy >/dev/null 2>&1; then
  echo "ok $n # SKIP clang-tidy is not installed"
elif ! pkgflags=$(pkg-config --cflags glib-2.0 gio-2.0 libpcre2-8 libpq libpcap 2>/dev/null); then
  echo "not ok $n - clang-tidy: pkg-config does not know the libraries"
  fails=$((fails + 1))
else
  # .clang-tidy is found from each file's directory upwards; its
  # WarningsAsErrors makes any finding a non-zero exit.
  # shellcheck disable=SC2086
  (cd "$S" && clang-tidy -quiet $files -- -std=gnu11 $defs $inc $pkgflags) \
    >"$TMP/tidy" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && ! grep -q 'warning:\|error:' "$TMP/tidy"; then
    echo "ok $n - clang-tidy: no finding in $(echo "$files" | wc -w) files"
  else
    echo "not ok $n - clang-tidy: findings (exit $rc)"
    grep -E 'warning:|error:' "$TMP/tidy" | sed 's/^/# /' | head -60
    fails=$((fails + 1))
  fi
fi

echo "1..$n"
[ $fails -eq 0 ]
