#!/bin/sh
# valgrind_sensor.sh: the optimised sensor under valgrind's memcheck on
# every corpus capture, all plugins, per-transaction and summary output.
#
# ASan (make check's build) and valgrind do not mix, and ASan's build is
# not the one that ships: this runs the plain build that
# ARTMON_PLAIN_BUILDDIR names (./run-tests passes build/).  A capture
# fails on any memcheck error (invalid read or write, use of
# uninitialised memory, bad free) or a leak of kind "definitely lost"
# (--errors-for-leak-kinds=definite): exit status 99.  Captures:
# samples/mixed.pcap, and ../shared/corpus/*.pcap when present.
# Skips without a plain build or valgrind.  Prints TAP.
set -u
S=${ARTMON_SRCDIR:-.}
P=${ARTMON_PLAIN_BUILDDIR:-}
SENSOR=$P/sensor/artmon-sensor

if [ -z "$P" ] || [ ! -x "$SENSOR" ]; then
  echo "1..0 # SKIP no plain build (set ARTMON_PLAIN_BUILDDIR, as ./run-tests does)"
  exit 0
fi
if ! command -v valgrind >/dev/null 2>&1; then
  echo "1..0 # SKIP valgrind is not installed"
  exit 0
fi
if grep -q __asan_init "$SENSOR" 2>/dev/null; then
  echo "1..0 # SKIP $SENSOR is built with ASan"
  exit 0
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
set -- "$S/samples/mixed.pcap"
for f in "${ARTMON_SHARED:-$S/../shared}"/corpus/*.pcap; do
  [ -f "$f" ] && set -- "$@" "$f"
done

n=0
fails=0
fmt=csv
for pcap in "$@"; do
  n=$((n + 1))
  name=${pcap##*/}
  # The corpus serves HTTP on 8080 (nginx) and 9000 (its backend).
  valgrind -q --vgdb=no --leak-check=full --errors-for-leak-kinds=definite \
    --error-exitcode=99 --log-file="$TMP/vg.log" \
    "$SENSOR" -r "$pcap" -t "$fmt" -S "$fmt" -o http.ports=8080,9000 \
    >"$TMP/out" 2>"$TMP/err"
  rc=$?
  txns=$(grep -c . "$TMP/out")
  if [ $rc -eq 0 ] && [ ! -s "$TMP/vg.log" ] && [ "$txns" -gt 1 ]; then
    echo "ok $n - $name: no memcheck error, nothing definitely lost (-t $fmt -S $fmt, $txns lines out)"
  else
    echo "not ok $n - $name: valgrind exit $rc, $txns lines out"
    sed 's/^/# /' "$TMP/vg.log" | head -60
    tail -5 "$TMP/err" | sed 's/^/# /'
    fails=$((fails + 1))
  fi
  [ $fmt = csv ] && fmt=json || fmt=csv
done
echo "1..$n"
[ $fails -eq 0 ]
