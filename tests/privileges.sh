#!/bin/sh
# privileges.sh: what the sensor and the collector keep of root, and what
# they let others see.
#
# In a network namespace of its own (nothing leaves the test):
#   sensor, started as root with umask 000, live on loopback, -u nobody,
#   with a [collector] whose key is in its (mode 600) config file:
#     - every thread has dropped to nobody: real, effective, saved and
#       file-system uid and gid, supplementary groups only nogroup, no
#       capability left (permitted, effective, ambient), no_new_privs;
#     - the pidfile, the summary file, the spool directory and the spool
#       files are not writable by group or others (spool: 0700 and 0600,
#       owned by nobody);
#     - the key is not in its command line, its environment or its log
#       (-vv), and -o collector.key=... is refused (ps would show it);
#   sensor started as nobody holding CAP_NET_RAW and CAP_NET_ADMIN as
#   ambient capabilities (systemd's AmbientCapabilities=, or setcap):
#     - it captures, and then holds no capability;
#   collector, started as root with umask 000, -u nobody, a sensor key and
#   a database password in its config file (no database needed):
#     - every thread is nobody/nogroup, no capability, no_new_privs;
#     - the pidfile is not writable by group or others;
#     - neither secret is in its command line, environment or log (-vv);
#     - user = root is refused; with no user given it is not root either;
#   collector started as nobody with CAP_NET_BIND_SERVICE: a GLib thread
#   made while binding would keep it (capset changes one thread), so it
#   refuses to start (fail closed; start it as root for a port < 1024).
# Prints TAP.  Needs root, iproute2 and setpriv; skips otherwise.
set -u

say() { printf '%s\n' "$*"; }
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then say "ok $n - $2"; else say "not ok $n - $2"; fails=$((fails + 1)); fi; }

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null 2>&1 ||
   ! command -v setpriv >/dev/null 2>&1; then
  say "1..0 # SKIP needs root, iproute2 and setpriv"
  exit 0
fi
BUILD=${ARTMON_BUILDDIR:-.}
SENSOR=$BUILD/sensor/artmon-sensor
COLLECTOR=$BUILD/collector/artmon-collector
NS=artmon-priv-$$
TMP=$(mktemp -d)
chmod 755 "$TMP"
PIDS=

cleanup() {
  for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

ip netns add "$NS" || { say "1..0 # SKIP cannot create a network namespace"; exit 0; }
ip -n "$NS" link set lo up

NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)
SENSOR_KEY=sensor-secret-4c1f0d2e9b8a7f6e5d4c3b2a1908f7e6
DB_PASSWORD=db-secret-a1b2c3d4e5f6
COLLECTOR_KEY=collector-side-secret-0f1e2d3c4b5a69788796a5b4

# wait_for FILE: up to 10 s for FILE to exist.
wait_for() {
  i=0
  while [ ! -s "$1" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
  [ -s "$1" ]
}

# dropped PID WHAT: every thread of PID is nobody/nogroup with no
# capability and no_new_privs.
dropped() {
  bad=0
  for t in /proc/"$1"/task/*; do
    s=$t/status
    awk -v u="$NOBODY" -v g="$NOGROUP" '
      /^Uid:/ { if ($2 != u || $3 != u || $4 != u || $5 != u) bad = 1 }
      /^Gid:/ { if ($2 != g || $3 != g || $4 != g || $5 != g) bad = 1 }
      /^Groups:/ { if (NF > 2 || (NF == 2 && $2 != g)) bad = 1 }
      /^Cap(Prm|Eff|Amb):/ { if ($2 !~ /^0+$/) bad = 1 }
      /^NoNewPrivs:/ { if ($2 != 1) bad = 1 }
      END { exit bad }' "$s" || { bad=1; say "# $t:"; grep -E '^(Uid|Gid|Groups|Cap|NoNew)' "$s" | sed 's/^/#   /'; }
  done
  return $bad
}

# private FILE...: no write bit for group or others.
private() {
  for f in "$@"; do
    m=$(stat -c %a "$f") || return 1
    case $m in *[2367]? | *[2367]) say "# $f has mode $m"; return 1 ;; esac
  done
  return 0
}

# secret_free PID LOG SECRET...: no secret in PID's cmdline, environment
# or in LOG.
secret_free() {
  pid=$1 log=$2
  shift 2
  for sec in "$@"; do
    for f in /proc/"$pid"/cmdline /proc/"$pid"/environ "$log"; do
      if tr '\0' '\n' <"$f" | grep -q -F "$sec"; then
        say "# a secret is in $f"
        return 1
      fi
    done
  done
  return 0
}

udp_packets() {
  ip netns exec "$NS" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01", ("127.0.0.1", 53))
' "$1"
}

# ---------------------------------------------------------------- sensor as root
cat >"$TMP/sensor.conf" <<EOF
[sensor]
spool_dir = $TMP/spool
interval = 2s
grace = 1s
[collector]
address = 127.0.0.1
port = 9
name = sensor-1
key = $SENSOR_KEY
drain_timeout = 0
EOF
chmod 600 "$TMP/sensor.conf"

(umask 000; exec ip netns exec "$NS" "$SENSOR" -c "$TMP/sensor.conf" -i lo \
  --foreground -u nobody -P "$TMP/sensor.pid" --plugins dns -S csv \
  -w "$TMP/summaries.csv" -v -v 2>"$TMP/sensor.err") &
SPID=$!
PIDS="$PIDS $SPID"
wait_for "$TMP/sensor.pid"
sleep 1
pid=$(cat "$TMP/sensor.pid" 2>/dev/null)
[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
ok $? "the sensor runs live (pid ${pid:-none})"
dropped "$pid"
ok $? "every sensor thread is nobody:nogroup, no other group, no capability, no_new_privs"
udp_packets 20
i=0
until ls "$TMP"/spool/*.batch >/dev/null 2>&1 || [ $i -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
dropped "$pid"
ok $? "... and so is every thread started since (output, shipper)"
[ "$(stat -c '%U %a' "$TMP/spool")" = "nobody 700" ]
ok $? "the spool directory is nobody's, mode 700 ($(stat -c '%U %a' "$TMP/spool"))"
files=$(ls "$TMP"/spool/*.batch 2>/dev/null)
[ -n "$files" ] && ! stat -c '%U %a' $files | grep -v -q '^nobody 600$'
ok $? "spool files are nobody's, mode 600 ($(echo "$files" | wc -w) of them)"
private "$TMP/sensor.pid" "$TMP/summaries.csv"
ok $? "started with umask 000, its pidfile and summary file are not group or world writable"
secret_free "$pid" "$TMP/sensor.err" "$SENSOR_KEY"
ok $? "the shared key is in neither its command line, its environment nor its log (-vv)"
kill -TERM "$pid"
wait "$SPID"
rc=$?
ok $rc "SIGTERM: the sensor exits 0 (got $rc)"
secret_free self "$TMP/sensor.err" "$SENSOR_KEY"
ok $? "the key is not in its log after it stopped either"
packets=$(awk -F, '$1 == "health" {s += $4} END {print s + 0}' "$TMP/summaries.csv")
[ "$packets" -ge 20 ]
ok $? "it captured while unprivileged ($packets packets in its health rows)"

"$SENSOR" -r /dev/null -o "collector.key=$SENSOR_KEY" >"$TMP/set.out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "ps(1)" "$TMP/set.out"
ok $? "-o collector.key=... is refused: ps would show it (exit $rc)"

# ---------------------------------------------------------------- sensor with capabilities
mkdir "$TMP/nobody"
chown nobody "$TMP/nobody"
ip netns exec "$NS" setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups \
  --inh-caps=+net_raw,+net_admin --ambient-caps=+net_raw,+net_admin \
  "$SENSOR" -i lo --foreground --plugins dns -S csv -w "$TMP/nobody/summaries.csv" \
  -o interval=2s -o grace=1s -P "$TMP/nobody/sensor.pid" 2>"$TMP/capsensor.err" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for "$TMP/nobody/sensor.pid"
sleep 1
pid=$(cat "$TMP/nobody/sensor.pid" 2>/dev/null)
[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
ok $? "started as nobody with CAP_NET_RAW and CAP_NET_ADMIN (ambient), the sensor runs live"
dropped "$pid"
ok $? "once the capture is open it holds no capability, permitted, effective or ambient"
udp_packets 10
sleep 4
kill -TERM "$pid"
wait "$CPID"
rc=$?
packets=$(awk -F, '$1 == "health" {s += $4} END {print s + 0}' "$TMP/nobody/summaries.csv" 2>/dev/null)
[ $rc -eq 0 ] && [ "${packets:-0}" -ge 10 ]
ok $? "and still captures: $packets packets, exit $rc"

# ---------------------------------------------------------------- collector as root
cat >"$TMP/collector.conf" <<EOF
[collector]
listen = 127.0.0.1
port = 0
database = host=127.0.0.1 port=9 user=artmon password=$DB_PASSWORD dbname=artmon connect_timeout=2
[sensors]
sensor-1 = $COLLECTOR_KEY
EOF
chmod 600 "$TMP/collector.conf"
(umask 000; exec ip netns exec "$NS" "$COLLECTOR" -c "$TMP/collector.conf" \
  --foreground -u nobody -P "$TMP/collector.pid" -v -v 2>"$TMP/collector.err") &
KPID=$!
PIDS="$PIDS $KPID"
wait_for "$TMP/collector.pid"
i=0
until grep -q "database" "$TMP/collector.err" || [ $i -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
pid=$(cat "$TMP/collector.pid" 2>/dev/null)
[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
ok $? "the collector runs (pid ${pid:-none}), database or not"
dropped "$pid"
ok $? "every collector thread is nobody:nogroup, no other group, no capability, no_new_privs"
private "$TMP/collector.pid"
ok $? "started with umask 000, its pidfile is not group or world writable"
secret_free "$pid" "$TMP/collector.err" "$DB_PASSWORD" "$COLLECTOR_KEY"
ok $? "neither the database password nor the sensor key is in its command line, environment or log (-vv)"
kill -TERM "$pid"
wait "$KPID"
rc=$?
ok $rc "SIGTERM: the collector exits 0 (got $rc)"

# Started as root with no user at all: the default (artmon, or nobody
# where artmon does not exist), never root.
(exec ip netns exec "$NS" "$COLLECTOR" -c "$TMP/collector.conf" \
  --foreground -P "$TMP/collector-default.pid" 2>"$TMP/collector-default.err") &
DPID=$!
PIDS="$PIDS $DPID"
wait_for "$TMP/collector-default.pid"
i=0
until grep -q "database" "$TMP/collector-default.err" || [ $i -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
pid=$(cat "$TMP/collector-default.pid" 2>/dev/null)
bad=1
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  bad=0
  for t in /proc/"$pid"/task/*; do
    awk '/^Uid:/ { if ($2 == 0 || $3 == 0 || $4 == 0 || $5 == 0) bad = 1 }
         /^Gid:/ { if ($2 == 0 || $3 == 0 || $4 == 0 || $5 == 0) bad = 1 }
         /^Cap(Prm|Eff|Amb):/ { if ($2 !~ /^0+$/) bad = 1 }
         END { exit bad }' "$t/status" || bad=1
  done
  kill -TERM "$pid"
fi
wait "$DPID"
ok $bad "started as root without user= or -u, no collector thread keeps uid 0, gid 0 or a capability"

printf '[collector]\nport = 0\nuser = root\n[sensors]\nsensor-1 = %s\n' "$COLLECTOR_KEY" >"$TMP/root.conf"
chmod 600 "$TMP/root.conf"
"$COLLECTOR" -c "$TMP/root.conf" --foreground >"$TMP/root.out" 2>&1 &
RPID=$!
PIDS="$PIDS $RPID"
i=0
while kill -0 "$RPID" 2>/dev/null && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
wait "$RPID"
rc=$?
[ $rc -ne 0 ] && grep -q "refusing to run as root" "$TMP/root.out"
ok $? "user = root is refused (exit $rc: $(head -1 "$TMP/root.out"))"

# The collector binds its port with a GLib thread already running, which
# would keep any capability it was started with: it refuses to run so.
cp "$TMP/collector.conf" "$TMP/nobody/collector.conf"
chown nobody "$TMP/nobody/collector.conf"
ip netns exec "$NS" setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups \
  --inh-caps=+net_bind_service --ambient-caps=+net_bind_service \
  timeout 20 "$COLLECTOR" -c "$TMP/nobody/collector.conf" --foreground >"$TMP/caps.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "still holds capabilities" "$TMP/caps.out"
ok $? "started with a capability a thread of its would keep, the collector refuses to run (exit $rc)"

if [ $fails -ne 0 ]; then
  for f in sensor.err capsensor.err collector.err caps.out; do
    say "# $f:"; sed 's/^/#   /' "$TMP/$f" 2>/dev/null | head -20
  done
fi
say "1..$n"
[ $fails -eq 0 ]
