#!/bin/sh
# bench/sensor-throughput.sh: artmon-sensor's speed and memory beside
# libpcap reading alone (tcpdump -r FILE -w /dev/null) and beside tshark
# computing http.time, on one large capture, in one run.
#
# Usage: bench/sensor-throughput.sh [BUILD_DIR] [PROTO]
#   BUILD_DIR  an optimised build (default: build)
#   PROTO      http (default), dns or imap: which corpus capture to replicate
# Env: PACKETS (5000000), BENCH_DIR (/var/tmp/artmon-bench), NO_TSHARK=1.
#
# The capture comes from ../shared/corpus/make-bench-pcap.py: the corpus
# flows replicated into millions of distinct ones over 30 minutes of packet
# time.  Each tool runs REPEAT times (default 3); the best wall time is
# kept, with its CPU seconds and peak RSS (GNU time).  Ratios compare
# numbers from this one run only: the machine is shared and noisy.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
proto=${2:-http}
packets=${PACKETS:-5000000}
dir=${BENCH_DIR:-/var/tmp/artmon-bench}
repeat=${REPEAT:-3}
shared=$top/../shared/corpus
sensor=$build/sensor/artmon-sensor
mkdir -p "$dir"
pcap=$dir/$proto-$packets.pcap

case $proto in
  http) ports="-o http.ports=8080,9000"; tshark_args="-d tcp.port==9000,http -o tcp.reassemble_out_of_order:TRUE -Y http.time -T fields -e http.time" ;;
  dns)  ports=""; tshark_args="-Y dns.time -T fields -e dns.time" ;;
  imap) ports=""; tshark_args="-o tcp.reassemble_out_of_order:TRUE -Y imap.time -T fields -e imap.time" ;;
  *) echo "unknown protocol $proto" >&2; exit 2 ;;
esac

if [ ! -f "$pcap" ]; then
  echo "making $pcap ($packets packets from $proto.pcap)" >&2
  python3 "$shared/make-bench-pcap.py" "$shared/$proto.pcap" "$pcap" --packets "$packets" >&2
fi
cat "$pcap" >/dev/null	# page cache: every tool reads from memory

# run NAME CMD...: best of $repeat; prints "name wall cpu rss_kb".
run() {
  name=$1; shift
  best=""
  i=0
  while [ $i -lt "$repeat" ]; do
    /usr/bin/time -f "%e %U %S %M" -o "$dir/time.out" "$@" >/dev/null 2>"$dir/$name.err" || {
      echo "$name failed:" >&2; cat "$dir/$name.err" >&2; exit 1; }
    read -r wall user sys rss <"$dir/time.out"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    if [ -z "$best" ] || awk -v a="$wall" -v b="$bwall" 'BEGIN { exit !(a < b) }'; then
      best=1; bwall=$wall; bcpu=$cpu; brss=$rss
    fi
    i=$((i + 1))
  done
  echo "$name $bwall $bcpu $brss"
}

results=$dir/results.txt
: >"$results"
run libpcap tcpdump -r "$pcap" -w /dev/null >>"$results"
run sensor "$sensor" -r "$pcap" $ports >>"$results"
run sensor_txns "$sensor" -r "$pcap" $ports -t csv >>"$results"
run sensor_summaries "$sensor" -r "$pcap" $ports -S csv -w /dev/null >>"$results"
if [ -z "${NO_TSHARK:-}" ] && command -v tshark >/dev/null; then
  repeat=1 run tshark tshark -n -r "$pcap" $tshark_args >>"$results"
fi

txns=$("$sensor" -r "$pcap" $ports 2>&1 >/dev/null | sed -n "s/^transactions $proto: \([0-9]*\).*/\1/p")
awk -v packets="$packets" -v txns="$txns" -v proto="$proto" -v pcap="$pcap" '
  { wall[$1] = $2; cpu[$1] = $3; rss[$1] = $4; order[n++] = $1 }
  END {
    printf "Capture: %s (%d packets, %s transactions of %s)\n\n", pcap, packets, txns, proto
    printf "| run | wall s | CPU s | packets/s (wall) | peak RSS MiB | wall vs libpcap | CPU vs libpcap | speed vs tshark |\n"
    printf "|---|---|---|---|---|---|---|---|\n"
    for (i = 0; i < n; i++) {
      k = order[i]
      vs_t = ("tshark" in wall) ? sprintf("%.1fx", wall["tshark"] / wall[k]) : "-"
      printf "| %s | %.2f | %.2f | %.0f | %.0f | %.2fx | %.2fx | %s |\n", k, wall[k], cpu[k], packets / wall[k], rss[k] / 1024, wall[k] / wall["libpcap"], cpu[k] / cpu["libpcap"], vs_t
    }
    printf "\n\"vs libpcap\": time divided by the time of libpcap reading alone (1.00x: as fast as that). CPU time is the steadier on a shared machine.\n"
    if ("sensor_summaries" in cpu)
      printf "\nSummaries cost %.1f%% more CPU than the bare sensor (%.2f s vs %.2f s).\n", (cpu["sensor_summaries"] / cpu["sensor"] - 1) * 100, cpu["sensor_summaries"], cpu["sensor"]
  }' "$results"
