#!/bin/sh
# manpages.sh: every program answers --help and --version, and its manual
# page says what the program does.
#
# For each program of the build tree: --help exits 0 with a usage text;
# --version exits 0 and prints "NAME VERSION" with the configured
# PACKAGE_VERSION.  For each page in docs/man: groff (-man -ww) or
# mandoc (-Tlint) finds nothing to warn about (skipped when neither is
# installed).  Every option that a program's --help lists, short and long
# (and every option of every artmon-report command), appears in its page;
# every configuration key that sensor/settings.c and
# collector/collector_conf.c accept appears in artmon-sensor.conf(5) or
# artmon-collector.conf(5).  Pages are compared in their roff source with
# \- read as - and font escapes removed.
set -u
B=${ARTMON_BUILDDIR:-.}
S=${ARTMON_SRCDIR:-.}
MAN=$S/docs/man
T=$(mktemp -d "${TMPDIR:-/tmp}/artmon-man.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$B/config.h")
[ -n "$version" ] || { echo "Bail out! no PACKAGE_VERSION in $B/config.h"; exit 1; }

# The page as plain text to search: \- is -, \e is \, no font changes.
plain() {
  sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\e/\\/g' -e 's/\\&//g' "$1"
}

# in_page PAGE WORD...: each WORD occurs in PAGE, not inside a longer
# option or key (--to must not be found only as --top).
in_page() {
  page=$1; shift
  missing=
  for w in "$@"; do
    plain "$page" | grep -q -- "\(^\|[^A-Za-z0-9_-]\)$w\([^A-Za-z0-9_-]\|$\)" ||
      missing="$missing $w"
  done
  [ -z "$missing" ] || { echo "#   missing:$missing"; return 1; }
}

# Options of a --help text: -x and --long (without =ARG).
options_of() {
  sed -n 's/^ *\(-[A-Za-z0-9]\), \(--[a-z0-9-]*\).*/\1 \2/p; s/^ *\(--[a-z0-9-]*\).*/\1/p' "$1" |
    tr ' ' '\n' | grep -v -e '^--help-' -e '^$' | sort -u
}

# ---------------------------------------------------------------- --help, --version
progs="sensor/artmon-sensor:artmon-sensor.8 collector/artmon-collector:artmon-collector.8
report/artmon-summarise:artmon-summarise.8 report/artmon-report:artmon-report.1"
for pp in $progs; do
  prog=$B/${pp%%:*}
  page=$MAN/${pp#*:}
  name=$(basename "$prog")
  if "$prog" --help >"$T/help" 2>&1 && grep -q "Usage" "$T/help"; then
    ok "$name --help exits 0 with a usage text"
  else
    not_ok "$name --help exits 0 with a usage text"; sed 's/^/# /' "$T/help" | head
  fi
  if "$prog" --version >"$T/version" 2>&1 && grep -q "^$name $version\( \|$\)" "$T/version"; then
    ok "$name --version says $version"
  else
    not_ok "$name --version says $version"; sed 's/^/# /' "$T/version" | head
  fi
  [ -f "$page" ] || { not_ok "$name has a manual page ($page)"; continue; }
  # shellcheck disable=SC2046
  if in_page "$page" $(options_of "$T/help"); then
    ok "$name: every option of --help is in $(basename "$page")"
  else
    not_ok "$name: every option of --help is in $(basename "$page")"
  fi
done

# artmon-report: every command, and each command's own options.
"$B/report/artmon-report" --help >"$T/rhelp" 2>&1
cmds=$(sed -n 's/^  \([a-z][a-z]*\)   *[a-z].*/\1/p' "$T/rhelp")
[ -n "$cmds" ] || not_ok "artmon-report --help lists its commands"
for c in $cmds; do
  if "$B/report/artmon-report" "$c" --help-all >"$T/chelp" 2>&1 &&
     # shellcheck disable=SC2046
     in_page "$MAN/artmon-report.1" "$c" $(options_of "$T/chelp"); then
    ok "artmon-report $c: the command and its options are in artmon-report.1"
  else
    not_ok "artmon-report $c: the command and its options are in artmon-report.1"
  fi
done

# ---------------------------------------------------------------- config keys
# The keys each parser accepts: the strings of its known[] arrays.
known_keys() {
  awk '/known\[\] = \{/ { on = 1 } on { print } on && /NULL/ { on = 0 }' "$1" |
    grep -o '"[a-z_0-9]*"' | tr -d '"' | sort -u
}
for pair in "sensor/settings.c:artmon-sensor.conf.5" "collector/collector_conf.c:artmon-collector.conf.5"; do
  src=$S/${pair%%:*}
  page=$MAN/${pair#*:}
  keys=$(known_keys "$src")
  if [ "$(echo "$keys" | wc -w)" -lt 10 ]; then
    not_ok "keys of ${pair%%:*} found (only: $keys)"
  # shellcheck disable=SC2086
  elif in_page "$page" $keys; then
    ok "every key ${pair%%:*} accepts ($(echo "$keys" | wc -w)) is in ${pair#*:}"
  else
    not_ok "every key ${pair%%:*} accepts is in ${pair#*:}"
  fi
done

# ---------------------------------------------------------------- roff lint
lint=
if command -v groff >/dev/null 2>&1; then
  lint="groff -man -Tutf8 -ww -z"
elif command -v mandoc >/dev/null 2>&1; then
  lint="mandoc -Tlint"
fi
for page in "$MAN"/*.[158]; do
  if [ -z "$lint" ]; then
    ok "# SKIP $(basename "$page"): neither groff nor mandoc"
    continue
  fi
  if $lint "$page" >"$T/lint" 2>&1 && [ ! -s "$T/lint" ]; then
    ok "$(basename "$page"): $lint finds nothing"
  else
    not_ok "$(basename "$page"): $lint finds nothing"; sed 's/^/# /' "$T/lint" | head -20
  fi
done

echo "1..$n"
exit $((failed > 0))
