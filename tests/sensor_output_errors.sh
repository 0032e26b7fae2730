#!/bin/sh
# sensor_output_errors.sh: a sensor whose output cannot be written (a
# full disk: /dev/full) exits 1 and says so, instead of exiting 0 with
# its transactions or summaries silently lost; -t to stdout and -S to a
# -w file, each.  Prints TAP.  Skips where /dev/full is missing.
set -u
B=${ARTMON_BUILDDIR:-.}
S=${ARTMON_SRCDIR:-.}
SENSOR=$B/sensor/artmon-sensor
PCAP=$S/samples/mixed.pcap
if [ ! -w /dev/full ]; then
  echo "1..0 # SKIP no /dev/full"
  exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
n=0
fails=0
check() {
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}

"$SENSOR" -r "$PCAP" -t csv >/dev/full 2>"$TMP/err1"
rc=$?
[ $rc -eq 1 ] && grep -q "writing to the standard output failed" "$TMP/err1"
check $? "-t csv to a full disk: exit 1 and a message (exit $rc)"

"$SENSOR" -r "$PCAP" -S csv -w /dev/full 2>"$TMP/err2"
rc=$?
[ $rc -eq 1 ] && grep -q "writing to /dev/full failed" "$TMP/err2"
check $? "-S csv -w /dev/full: exit 1, naming the file (exit $rc)"

"$SENSOR" -r "$PCAP" -S csv -w "$TMP/ok.csv" 2>"$TMP/err3"
rc=$?
[ $rc -eq 0 ] && [ -s "$TMP/ok.csv" ] && ! grep -q "failed" "$TMP/err3"
check $? "the same to a writable file: exit 0 (exit $rc)"

[ $fails -ne 0 ] && sed 's/^/# /' "$TMP"/err* | grep -v '^# [a-z_ ]*:' | head -20
echo "1..$n"
[ $fails -eq 0 ]
