#!/bin/sh
# tls_handshake.sh: real TLS 1.2 and TLS 1.3 handshakes, timed by the tcp
# plugin.
#
# openssl s_server (throwaway self-signed certificate, -www) listens on
# 127.0.0.5; tcpdump captures loopback; openssl s_client connects once with
# -tls1_2 and once with -tls1_3 and sends "GET / HTTP/1.0".  Then
# artmon-sensor reads the capture with only the tcp plugin on that port,
# and we check, per connection: one TLS_handshake with the right version as
# its status and a plausible time, the TCP handshake RTT, and at least one
# TLS_turn after it.  Output is TAP.  Loopback captures are Ethernet with
# all-zero MACs and unchecked TCP checksums; the sensor reads them as is.
#
# Needs root (tcpdump), tcpdump, openssl and python3 (to read the JSON);
# skips otherwise.  Every wait is bounded, every process we start is
# killed by its pid on exit.  KEEP_TMP=1 keeps the capture and the logs.
set -u

skip() {
	echo "1..0 # SKIP $*"
	exit 0
}

[ "$(id -u)" = 0 ] && command -v tcpdump >/dev/null 2>&1 ||
	skip "needs root and tcpdump"
command -v openssl >/dev/null 2>&1 || skip "needs openssl"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
command -v timeout >/dev/null 2>&1 || skip "needs timeout(1)"

BUILD=${ARTMON_BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)}
SENSOR=$BUILD/sensor/artmon-sensor
[ -x "$SENSOR" ] || skip "no $SENSOR (build first)"
[ -f "$BUILD/plugins/.libs/tcp.so" ] || skip "no tcp plugin in $BUILD"

ADDR=127.0.0.5
TMP=$(mktemp -d "${TMPDIR:-/tmp}/artmon-tls.XXXXXX") || exit 1
SERVER_PID=
DUMP_PID=

cleanup() {
	for pid in $DUMP_PID $SERVER_PID; do
		kill "$pid" 2>/dev/null
	done
	for pid in $DUMP_PID $SERVER_PID; do
		wait "$pid" 2>/dev/null
	done
	[ -n "${KEEP_TMP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

bail() {
	echo "Bail out! $*"
	for f in "$TMP"/*.log; do
		[ -f "$f" ] && sed 's/^/# /' "$f" | tail -20
	done
	exit 1
}

# Wait up to 10 s for a pattern in a file.
wait_for() {
	i=0
	while ! grep -q "$1" "$2" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
	return 0
}

# A free port on ADDR (a small race with other users of the port range,
# harmless: s_server would fail and we would bail out, not hang).
PORT=$(python3 -c "
import socket
s = socket.socket()
s.bind(('$ADDR', 0))
print(s.getsockname()[1])
") || bail "no free port on $ADDR"

timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 \
	-subj /CN=artmon-test >"$TMP/req.log" 2>&1 ||
	bail "openssl req failed"

# The server first, so the capture holds only the two test connections.
timeout 120 openssl s_server -accept "$ADDR:$PORT" -cert "$TMP/cert.pem" \
	-key "$TMP/key.pem" -www >"$TMP/server.log" 2>&1 </dev/null &
SERVER_PID=$!
wait_for ACCEPT "$TMP/server.log" || bail "s_server did not start"

timeout 120 tcpdump -i lo -U --immediate-mode -n -w "$TMP/tls.pcap" \
	"tcp port $PORT and host $ADDR" >"$TMP/tcpdump.log" 2>&1 &
DUMP_PID=$!
wait_for "listening on" "$TMP/tcpdump.log" || bail "tcpdump did not start"

for v in 1_2 1_3; do
	printf 'GET / HTTP/1.0\r\n\r\n' |
		timeout 20 openssl s_client -connect "$ADDR:$PORT" "-tls$v" \
			-ign_eof >"$TMP/client$v.log" 2>&1 ||
		bail "s_client -tls$v failed"
	grep -q "HTTP/1.0 200" "$TMP/client$v.log" ||
		bail "s_client -tls$v got no HTTP answer"
done

# Let the last FIN/ACKs reach the capture, then stop it (SIGINT: timeout
# passes it on, tcpdump flushes and exits).
sleep 0.5
kill -INT "$DUMP_PID" 2>/dev/null
i=0
while kill -0 "$DUMP_PID" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && bail "tcpdump did not stop"
	sleep 0.1
done
wait "$DUMP_PID" 2>/dev/null
DUMP_PID=
kill "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=

timeout 60 "$SENSOR" -r "$TMP/tls.pcap" -t json -o "tcp.ports=$PORT" \
	--plugins tcp >"$TMP/txns.json" 2>"$TMP/sensor.log" ||
	bail "artmon-sensor failed"

# The checks, in python3 for its JSON parser.  Connections are told apart
# by client port and ordered by start: -tls1_2 ran first.
python3 - "$TMP/txns.json" <<'EOF'
import json
import sys

txns = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
conns = {}
for t in txns:
    conns.setdefault(t["client"], []).append(t)
order = sorted(conns, key=lambda c: min(t["start"] for t in conns[c]))

n = 0
fails = 0


def ok(cond, what, diag=None):
    global n, fails
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, what))
    if not cond:
        fails += 1
        if diag:
            print("# " + diag)


print("1..10")
ok(len(order) == 2, "two TLS connections measured",
   "clients: %s" % order)
for conn, version in zip(order, ("TLS1.2", "TLS1.3")):
    ts = sorted(conns[conn], key=lambda t: t["start"])
    hs = [t for t in ts if t["signature"] == "TLS_handshake"]
    ok(len(hs) == 1 and hs[0]["status"] == version and not hs[0]["error"],
       "%s: one TLS_handshake with status %s" % (conn, version),
       json.dumps(hs))
    if not hs:
        hs = [{}]
    h = hs[0]
    ttfb, ttlb = h.get("ttfb_us"), h.get("ttlb_us")
    ok(ttfb is not None and ttlb is not None and 0 < ttfb <= ttlb < 1e6,
       "%s: handshake ttfb %s us, ttlb %s us (0 < ttfb <= ttlb < 1 s)"
       % (version, ttfb, ttlb))
    rtt = h.get("handshake_rtt_us")
    ok(rtt is not None and 0 < rtt < 1e6,
       "%s: TCP handshake RTT %s us" % (version, rtt))
    turns = [t for t in ts if t["signature"] == "TLS_turn"
             and t["start"] > h.get("start", 0)]
    ok(len(turns) >= 1 and turns[0]["ttlb_us"] is not None,
       "%s: %d TLS_turn after the handshake, first ttfb %s us ttlb %s us"
       % (version, len(turns), turns[0]["ttfb_us"] if turns else None,
          turns[0]["ttlb_us"] if turns else None))
    if version == "TLS1.2":
        fin = [t for t in ts if t["signature"] == "TLS_finished"]
        ok(len(fin) == 1 and fin[0]["status"] == "TLS1.2",
           "TLS1.2: TLS_finished (second round trip) ttlb %s us"
           % (fin[0]["ttlb_us"] if fin else None))
for t in txns:
    print("# %s %-15s %-8s ttfb %8s us  ttlb %8s us  rtt %s us" % (
        t["client"], t["signature"], t["status"], t["ttfb_us"],
        t["ttlb_us"], t["handshake_rtt_us"]))
sys.exit(1 if fails else 0)
EOF
