#!/bin/sh
# bench/sensor-memory-flat.sh: does the sensor's memory stay flat over a
# long capture whose every transaction has a new name?
#
# Usage: bench/sensor-memory-flat.sh [BUILD_DIR] [FLOWS]
#   (defaults: build, 1000000 connections over 30 minutes of packet time)
# Env: BENCH_DIR (/var/tmp/artmon-bench).
#
# The capture (bench/make-concurrent-pcap.py --distinct-urls --close):
# FLOWS short HTTP connections, each asking for its own URL, so the
# default rule ($1_$2: method and path) would make FLOWS names.  The name
# cap (max_names, 10,000) folds the rest into GET_overflow, intervals
# close every 5 minutes, closed flows expire: so after the first interval
# the resident set should stop growing.  The sensor runs with summaries
# (-S csv) while VmRSS is read from /proc every 0.2 s; the table gives it
# at each tenth of the run, beside the peak.  Memory, not speed: the
# figure does not depend on the machine's load.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
flows=${2:-1000000}
dir=${BENCH_DIR:-/var/tmp/artmon-bench}
sensor=$build/sensor/artmon-sensor
mkdir -p "$dir"
pcap=$dir/distinct-urls-$flows.pcap
if [ ! -f "$pcap" ]; then
  echo "making $pcap" >&2
  python3 "$top/bench/make-concurrent-pcap.py" "$pcap" --flows "$flows" \
    --span 1800 --distinct-urls --close
fi
cat "$pcap" >/dev/null	# page cache

samples=$dir/rss-samples.txt
: >"$samples"
"$sensor" -r "$pcap" -S csv -w "$dir/summaries.csv" 2>"$dir/memflat.err" &
pid=$!
n=0
# Bounded: at most an hour of samples.
while kill -0 "$pid" 2>/dev/null && [ $n -lt 18000 ]; do
  awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null >>"$samples" || true
  sleep 0.2
  n=$((n + 1))
done
wait "$pid"

names=$(sed -n 's/^transactions http: .*names \([0-9]*\), folded \([0-9]*\).*/\1 names, \2 folded/p' "$dir/memflat.err")
rows=$(grep -vc '^#' "$dir/summaries.csv" || true)
awk -v pcap="$pcap" -v names="$names" -v rows="$rows" '
  NF { rss[n++] = $1; if ($1 > peak) peak = $1 }
  END {
    printf "Capture: %s; http: %s; %d summary and health lines\n\n", pcap, names, rows
    printf "| share of the run | 10%% | 20%% | 30%% | 40%% | 50%% | 60%% | 70%% | 80%% | 90%% | end | peak |\n"
    printf "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    printf "| VmRSS MiB |"
    for (i = 1; i <= 10; i++) {
      k = int(n * i / 10) - 1; if (k < 0) k = 0
      printf " %.1f |", rss[k] / 1024
    }
    printf " %.1f |\n", peak / 1024
  }' "$samples"
