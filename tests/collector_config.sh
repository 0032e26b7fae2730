#!/bin/sh
# collector_config.sh: artmon-collector's configuration checks, which
# fail closed and name file:line.  No database needed.  Prints TAP.
set -u
B=${ARTMON_BUILDDIR:-.}
COLL="$B/collector/artmon-collector"
T=$(mktemp -d "${TMPDIR:-/tmp}/artmon-cconf.XXXXXX")
trap 'rm -rf "$T"' EXIT
n=0
failed=0
KEY=0123456789abcdef0123456789abcdef

# check DESCRIPTION WANT-RC GREP-PATTERN CONF-TEXT [ARGS...]
check() {
  what=$1 want=$2 pat=$3 text=$4
  shift 4
  printf '%s' "$text" >"$T/c.conf"
  chmod "${MODE:-600}" "$T/c.conf"
  "$COLL" -c "$T/c.conf" -n "$@" >"$T/out" 2>&1
  rc=$?
  n=$((n + 1))
  if [ "$rc" -eq "$want" ] && grep -Eq -- "$pat" "$T/out"; then
    echo "ok $n - $what"
  else
    echo "not ok $n - $what (exit $rc)"
    failed=$((failed + 1))
    sed 's/^/#   /' "$T/out"
  fi
}

check "a good file: configuration OK" 0 "^configuration OK$" \
"[collector]
listen = 127.0.0.1
port = 0
[sensors]
web1 = $KEY
"
check "no sensor keys: refuses to start" 2 "no sensor keys" \
"[collector]
listen = 127.0.0.1
port = 0
"
check "a short key: refused, with file:line" 2 "c.conf:3: \[sensors\] web1: the key is too short" \
"[collector]
[sensors]
web1 = short
"
check "a bad sensor name: refused" 2 "c.conf:3: \[sensors\] bad/name: not a sensor name" \
"[collector]
[sensors]
bad/name = $KEY
"
check "an unknown key: refused, with file:line" 2 "c.conf:3: \[collector\] prot: unknown key" \
"[collector]
port = 1
prot = 2
[sensors]
web1 = $KEY
"
check "a bad value: refused, with file:line" 2 "c.conf:2: \[collector\] idle_timeout: expected a duration" \
"[collector]
idle_timeout = forever
[sensors]
web1 = $KEY
"
check "a syntax error: refused, with file:line" 2 "c.conf:2: expected 'key = value'" \
"[collector]
this is not a setting
"
check "a certificate without its key: refused" 2 "TLS needs both cert_file and key_file" \
"[collector]
cert_file = /nonexistent.crt
[sensors]
web1 = $KEY
"
check "an unknown group: refused" 2 "unknown group \[sensor\]" \
"[collector]
[sensor]
web1 = $KEY
"
check "a sensor key on the command line: refused (ps would show it)" 2 "only \[collector\] keys" \
"[collector]
[sensors]
web1 = $KEY
" -o sensors.web2=$KEY

mkdir -p "$T/keys"
printf '%s\n' "$KEY" >"$T/keys/web2.key"
chmod 644 "$T/keys/web2.key"
check "a key file others can read: refused" 2 "readable by others" \
"[collector]
listen = 127.0.0.1
port = 0
key_dir = $T/keys
"
chmod 600 "$T/keys/web2.key"
check "a private key file in key_dir: configuration OK" 0 "^configuration OK$" \
"[collector]
listen = 127.0.0.1
port = 0
key_dir = $T/keys
"
check "a listen address that is not one: refused" 1 "not an IPv4 or IPv6 address" \
"[collector]
listen = collector.example
[sensors]
web1 = $KEY
"
GOOD="[collector]
listen = 127.0.0.1
port = 0
[sensors]
web1 = $KEY
"
# no_secret: the last output does not repeat the password either.
no_secret() {
  n=$((n + 1))
  if grep -q "pw-secret" "$T/out"; then
    echo "not ok $n - ... and the refusal repeats the password"; failed=$((failed + 1))
  else
    echo "ok $n - ... and the refusal does not repeat the password"
  fi
}
check "-o database=... with a password: refused, ps(1) would show it" 2 \
  "visible to every user in ps" "$GOOD" -o "database=host=db password=pw-secret-1"
no_secret
check "-o database=postgresql://user:password@...: refused too" 2 \
  "visible to every user in ps" "$GOOD" -o "database=postgresql://artmon:pw-secret-2@db/artmon"
no_secret
check "-o database=... without a password: configuration OK" 0 "^configuration OK$" \
  "$GOOD" -o "database=host=db dbname=artmon"
MODE=644 check "sensor keys in a file others can read: refused, naming it and its mode" 2 \
  "c.conf holds sensor keys .* \(mode 0644\): chmod 600" "$GOOD"
n=$((n + 1))
if grep -q "$KEY" "$T/out"; then
  echo "not ok $n - ... and the refusal repeats the key"; failed=$((failed + 1))
else
  echo "ok $n - ... and the refusal does not repeat the key"
fi
MODE=640 check "a database password in a file the group can read: refused" 2 \
  "holds a database password .* \(mode 0640\)" "[collector]
listen = 127.0.0.1
port = 0
database = host=db password=pw-secret-3
key_dir = $T/keys
"
no_secret
MODE=644 check "no secret in a readable file (keys in key_dir): configuration OK" 0 \
  "^configuration OK$" "[collector]
listen = 127.0.0.1
port = 0
database = host=db dbname=artmon
key_dir = $T/keys
"

# The pidfile is a lock, not a number to trust: a file left naming a live
# process that is no collector (pid 1, after a crash and a reboot) is
# taken over, and a second collector on the same file is refused.
printf '[collector]\nlisten = 127.0.0.1\nport = 0\ndatabase = host=127.0.0.1 port=9 connect_timeout=1\n[sensors]\nweb1 = %s\n' \
  "$KEY" >"$T/p.conf"
chmod 600 "$T/p.conf"
printf '1\n' >"$T/c.pid"
"$COLL" -c "$T/p.conf" --foreground -P "$T/c.pid" >"$T/p1.out" 2>&1 &
P1=$!
i=0
until [ "$(cat "$T/c.pid" 2>/dev/null)" = "$P1" ] || [ $i -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
n=$((n + 1))
if [ "$(cat "$T/c.pid" 2>/dev/null)" = "$P1" ] && kill -0 "$P1" 2>/dev/null; then
  echo "ok $n - a stale pidfile naming a live process (pid 1) is taken over"
else
  echo "not ok $n - a stale pidfile naming a live process (pid 1) is taken over"
  failed=$((failed + 1)); sed 's/^/#   /' "$T/p1.out"
fi
timeout 20 "$COLL" -c "$T/p.conf" --foreground -P "$T/c.pid" >"$T/out" 2>&1
rc=$?
n=$((n + 1))
if [ $rc -eq 1 ] && grep -q "another instance is running (pid $P1)" "$T/out"; then
  echo "ok $n - a second collector on the same pidfile is refused, naming the first"
else
  echo "not ok $n - a second collector on the same pidfile is refused (exit $rc)"
  failed=$((failed + 1)); sed 's/^/#   /' "$T/out"
fi
kill "$P1" 2>/dev/null
wait "$P1"
echo "1..$n"
[ $failed -eq 0 ]
