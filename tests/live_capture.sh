#!/bin/sh
# live_capture.sh: the sensor on a live interface, as a daemon would run.
#
# Inside a network namespace of its own (so nothing leaves the test), a
# python3 http.server listens on 127.0.0.2:8080; artmon-sensor captures on
# that namespace's loopback with 2-second intervals; a client makes a known
# number of requests, then the link goes quiet.  Checks:
#   - the sensor is no longer uid 0 once it runs (it dropped to nobody);
#   - intervals close while the link is quiet (wall clock, not packets);
#   - after SIGTERM it exits 0 and every request is in the summaries;
#   - health rows count the packets;
#   - SIGHUP reloads the rules without losing what was counted, and a
#     rules file with an error keeps the old rules and says why.
# Prints TAP.  Needs root (namespaces, capture); skips otherwise.
set -u

say() { printf '%s\n' "$*"; }
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then say "ok $n - $2"; else say "not ok $n - $2"; fails=$((fails + 1)); fi; }

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null 2>&1; then
  say "1..0 # SKIP needs root and iproute2"
  exit 0
fi
BUILD=${ARTMON_BUILDDIR:-.}
SENSOR=$BUILD/sensor/artmon-sensor
NS=artmon-live-$$
TMP=$(mktemp -d)
chmod 755 "$TMP"
SERVER_PID=
SENSOR_PID=

cleanup() {
  [ -n "$SENSOR_PID" ] && kill -9 "$SENSOR_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

ip netns add "$NS" || { say "1..0 # SKIP cannot create a network namespace"; exit 0; }
ip -n "$NS" link set lo up
ip -n "$NS" addr add 127.0.0.2/8 dev lo 2>/dev/null

mkdir -p "$TMP/www" "$TMP/sigs"
cp "${ARTMON_SRCDIR:-.}/etc/artmon/http.sigs" "$TMP/sigs/http.sigs"
chmod 644 "$TMP/sigs/http.sigs"
printf 'hello\n' >"$TMP/www/index.html"
ip netns exec "$NS" python3 -m http.server 8080 --bind 127.0.0.2 \
  --directory "$TMP/www" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

ip netns exec "$NS" "$SENSOR" -i lo --foreground -u nobody \
  -o http.ports=8080 -o interval=2s -o grace=1s \
  -S csv -w "$TMP/summaries.csv" --plugins http --sigs-dir "$TMP/sigs" \
  2>"$TMP/sensor.err" &
SENSOR_PID=$!

# Wait (bounded) for the server to answer and the sensor to be running.
# These probes ask for / (GET_/), kept apart from the counted requests.
i=0
until ip netns exec "$NS" python3 -c 'import urllib.request;urllib.request.urlopen("http://127.0.0.2:8080/",timeout=1)' 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 50 ] && break; sleep 0.1
done
sleep 1

uid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$SENSOR_PID/status" 2>/dev/null)
nobody=$(id -u nobody)
[ "$uid" = "$nobody $nobody $nobody $nobody" ]
ok $? "the running sensor has dropped root: real, effective, saved uid are nobody ($uid)"

REQUESTS=30
ip netns exec "$NS" python3 - "$REQUESTS" <<'EOF'
import sys, time, urllib.request
for i in range(int(sys.argv[1])):
    urllib.request.urlopen("http://127.0.0.2:8080/index.html?n=%d" % i, timeout=5).read()
    time.sleep(0.05)
EOF
ok $? "$REQUESTS requests answered"

# Quiet link: intervals must close by the clock (2 s + 1 s grace), so
# within a few seconds every request is in the file before any SIGTERM.
i=0
while :; do
  got=$(awk -F, '$1 == "summary" && $5 == "GET_/index.html" {s += $8} END {print s + 0}' "$TMP/summaries.csv" 2>/dev/null)
  [ "$got" -ge "$REQUESTS" ] && break
  i=$((i + 1)); [ $i -gt 100 ] && break
  sleep 0.1
done
[ "$got" -eq "$REQUESTS" ]
ok $? "intervals closed on a quiet link without SIGTERM: $got of $REQUESTS transactions summarised"

# Reload: new rules name everything RELOADED; then a broken file must
# keep them.
request() {
  ip netns exec "$NS" python3 -c 'import sys,urllib.request;[urllib.request.urlopen("http://127.0.0.2:8080/index.html",timeout=5).read() for i in range(int(sys.argv[1]))]' "$1"
}
printf 'transaction RELOADED {\n    Content =~ "^GET ";\n}\n' >"$TMP/sigs/http.sigs"
kill -HUP "$SENSOR_PID"
sleep 1.5
request 3
printf 'transaction BROKEN {\n    Offset = x;\n}\n' >"$TMP/sigs/http.sigs"
kill -HUP "$SENSOR_PID"
sleep 1.5
request 2
grep -q "keeping the old rules: .*http.sigs:2:" "$TMP/sensor.err"
ok $? "SIGHUP with a broken rules file keeps the old rules and names file:line"

kill -TERM "$SENSOR_PID"
i=0
while kill -0 "$SENSOR_PID" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
done
wait "$SENSOR_PID"
rc=$?
SENSOR_PID=
[ "$rc" -eq 0 ]
ok $? "SIGTERM: the sensor exits 0 (got $rc)"

total=$(awk -F, '$1 == "summary" && $5 == "GET_/index.html" {s += $8} END {print s + 0}' "$TMP/summaries.csv")
errors=$(awk -F, '$1 == "summary" && $5 == "GET_/index.html" {s += $9} END {print s + 0}' "$TMP/summaries.csv")
[ "$total" -eq "$REQUESTS" ] && [ "$errors" -eq 0 ]
ok $? "after SIGTERM the summaries hold every request exactly once: $total transactions, $errors errors"

reloaded=$(awk -F, '$1 == "summary" && $5 == "RELOADED" {s += $8} END {print s + 0}' "$TMP/summaries.csv")
[ "$reloaded" -eq 5 ]
ok $? "requests after the reload carry the new rules' name, also after the broken reload ($reloaded of 5)"

packets=$(awk -F, '$1 == "health" {s += $4} END {print s + 0}' "$TMP/summaries.csv")
[ "$packets" -ge $((REQUESTS * 6)) ]
ok $? "health rows count the packets ($packets for $REQUESTS requests)"

grep -q "^packets: " "$TMP/sensor.err"
ok $? "counters printed at exit"

if [ $fails -ne 0 ]; then
  say "# sensor stderr:"; sed 's/^/# /' "$TMP/sensor.err"
  say "# summaries:"; sed 's/^/# /' "$TMP/summaries.csv" | head -40
fi
say "1..$n"
[ $fails -eq 0 ]
