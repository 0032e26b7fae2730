#!/bin/sh
# sensor_secrets.sh: the sensor's shared key is kept where only its user
# can read it, and shown nowhere (docs/security.md, section 5).  No root
# needed (tests/privileges.sh checks the running daemons as root):
#   - a key_file that group or others can read is refused, one of mode
#     600 accepted;
#   - a key inside a configuration file that group or others can read is
#     refused; the same file at mode 600 accepted;
#   - -o collector.key=... is refused (ps(1) would show it);
#   - a run that ships (to a port where nobody listens) at -v -v, and the
#     spool it leaves, do not contain the key.
# Prints TAP.
set -u
B=${ARTMON_BUILDDIR:-.}
S=${ARTMON_SRCDIR:-.}
SENSOR=$B/sensor/artmon-sensor
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
KEY=sensor-secret-7d3a9c0e5b1f4a2d8e6c
n=0
fails=0
check() {
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); sed 's/^/# /' "$TMP/out" | head -10; fi
}
# run CONF [ARGS...]: artmon-sensor -n on CONF; output in $TMP/out.
run() {
  conf=$1; shift
  "$SENSOR" -c "$conf" -n -r /dev/null "$@" >"$TMP/out" 2>&1
}

printf '%s\n' "$KEY" >"$TMP/key"
printf '[collector]\naddress = 127.0.0.1\nname = s1\nkey_file = %s\n' "$TMP/key" >"$TMP/kf.conf"
chmod 600 "$TMP/kf.conf"
chmod 644 "$TMP/key"
run "$TMP/kf.conf"; rc=$?
[ $rc -ne 0 ] && grep -q "key_file.*group or others" "$TMP/out"
check $? "a key_file of mode 644 is refused (exit $rc)"
chmod 640 "$TMP/key"
run "$TMP/kf.conf"; rc=$?
[ $rc -ne 0 ]
check $? "... and one of mode 640 (exit $rc)"
chmod 600 "$TMP/key"
run "$TMP/kf.conf"; rc=$?
[ $rc -eq 0 ] && grep -q "configuration OK" "$TMP/out"
check $? "a key_file of mode 600 is accepted (exit $rc)"

printf '[collector]\naddress = 127.0.0.1\nname = s1\nkey = %s\n' "$KEY" >"$TMP/k.conf"
chmod 644 "$TMP/k.conf"
run "$TMP/k.conf"; rc=$?
[ $rc -ne 0 ] && grep -q "read by group or others" "$TMP/out" && ! grep -q -F "$KEY" "$TMP/out"
check $? "a key in a configuration file of mode 644 is refused, without repeating it (exit $rc)"
chmod 600 "$TMP/k.conf"
run "$TMP/k.conf"; rc=$?
[ $rc -eq 0 ]
check $? "the same file at mode 600 is accepted (exit $rc)"

"$SENSOR" -r /dev/null -o "collector.key=$KEY" >"$TMP/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "ps(1)" "$TMP/out" && ! grep -q -F "$KEY" "$TMP/out"
check $? "-o collector.key=... is refused, without repeating the key (exit $rc)"

# A run that ships: the connection fails (port 9, discard: nobody
# there), the batches stay in the spool, and nothing shows the key.
cat >"$TMP/ship.conf" <<EOC
[sensor]
spool_dir = $TMP/spool
[collector]
address = 127.0.0.1
port = 9
name = s1
key_file = $TMP/key
drain_timeout = 1s
EOC
chmod 600 "$TMP/ship.conf"
"$SENSOR" -c "$TMP/ship.conf" -r "$S/samples/mixed.pcap" -v -v >"$TMP/out" 2>&1
rc=$?
spooled=$(find "$TMP/spool" -type f | wc -l)
[ $rc -eq 0 ] && [ "$spooled" -gt 0 ] && ! grep -q -F "$KEY" "$TMP/out" &&
  ! grep -r -q -F "$KEY" "$TMP/spool"
check $? "shipping at -v -v: neither the log nor the $spooled spool files hold the key (exit $rc)"

echo "1..$n"
[ $fails -eq 0 ]
