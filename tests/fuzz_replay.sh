#!/bin/sh
# fuzz_replay.sh: every fuzz target on its seeds and on every input that
# ever broke it (tests/fuzz/seeds/T, tests/fuzz/regressions/T), through
# the replay-T programs: the same code libFuzzer drives, without
# libFuzzer, so it runs under whatever sanitizers the tree was built
# with (ASan + UBSan in build-asan).  One TAP line per target.
set -u
B=${ARTMON_BUILDDIR:-.}
S=${ARTMON_SRCDIR:-.}
n=0
fails=0
for prog in "$B"/tests/fuzz/replay-*; do
  [ -x "$prog" ] || continue
  t=${prog##*/replay-}
  set --
  for d in "$S/tests/fuzz/seeds/$t" "$S/tests/fuzz/regressions/$t"; do
    [ -d "$d" ] && set -- "$@" "$d"
  done
  n=$((n + 1))
  if [ $# -eq 0 ]; then
    echo "not ok $n - $t: no seeds and no regression inputs"
    fails=$((fails + 1))
    continue
  fi
  if out=$("$prog" "$@" 2>"$B/tests/fuzz/replay-$t.err"); then
    echo "ok $n - $t replays every input without a sanitizer report ($out)"
  else
    echo "not ok $n - $t: an input fails (last lines of replay-$t.err):"
    tail -30 "$B/tests/fuzz/replay-$t.err" | sed 's/^/# /'
    fails=$((fails + 1))
  fi
done
[ $n -gt 0 ] || { echo "1..0 # SKIP no replay programs built"; exit 0; }
echo "1..$n"
[ $fails -eq 0 ]
