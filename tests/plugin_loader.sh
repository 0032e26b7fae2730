#!/bin/sh
# plugin_loader.sh: the sensor refuses a plugin it cannot trust, loudly,
# naming the file: one with another API version, one built against other
# structure layouts (ABI signature), a shared object that is no artmon
# plugin, and a file that is no shared object.  A plugin built here
# correctly, beside the real ones, loads and runs: so the refusals are
# about the contract, not about being built outside the tree.  Prints TAP.
set -u
B=${ARTMON_BUILDDIR:-.}
S=${ARTMON_SRCDIR:-.}
SENSOR=$B/sensor/artmon-sensor
PCAP=$S/samples/mixed.pcap
CC=${CC:-cc}
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "1..0 # SKIP no C compiler to build test plugins"
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

# plugin NAME API ABI: a minimal plugin in $TMP/NAME/NAME.so whose
# descriptor carries the given API version and ABI signature expressions.
plugin() {
  mkdir -p "$TMP/$1"
  cat >"$TMP/$1/$1.c" <<EOF
#include "artmon-plugin.h"
static void *st_new(artmon_flow *f) { (void)f; static int s; return &s; }
static void data(void *s, enum artmon_dir d, const uint8_t *p, size_t n,
		 int64_t ts) { (void)s; (void)d; (void)p; (void)n; (void)ts; }
static void gap(void *s, enum artmon_dir d, uint64_t n) { (void)s; (void)d; (void)n; }
static void end(void *s, enum artmon_dir d) { (void)s; (void)d; }
static void cls(void *s) { (void)s; }
static void st_free(void *s) { (void)s; }
static const uint16_t ports[] = { 7, 0 };
const struct artmon_plugin artmon_plugin = {
	.api_version = $2,
	.abi_signature = $3,
	.name = "$1", .default_name = "ECHO_other", .transports = ARTMON_TCP,
	.default_ports = ports, .state_new = st_new, .data = data, .gap = gap,
	.end = end, .close = cls, .state_free = st_free,
};
EOF
  "$CC" -shared -fPIC -I"$S/plugins" -o "$TMP/$1/$1.so" "$TMP/$1/$1.c"
}

# run DIR: the sensor on the sample capture with only DIR's plugins.
run() {
  "$SENSOR" --plugin-dir "$TMP/$1" --sigs-dir "$TMP" -r "$PCAP" >/dev/null 2>"$TMP/$1.err"
}

plugin good ARTMON_PLUGIN_API_VERSION ARTMON_PLUGIN_ABI_SIGNATURE
plugin oldapi 'ARTMON_PLUGIN_API_VERSION + 1' ARTMON_PLUGIN_ABI_SIGNATURE
plugin otherabi ARTMON_PLUGIN_API_VERSION 'ARTMON_PLUGIN_ABI_SIGNATURE ^ 1'
mkdir -p "$TMP/nosym" "$TMP/notelf"
echo 'int not_a_plugin(void) { return 0; }' >"$TMP/nosym/x.c"
"$CC" -shared -fPIC -o "$TMP/nosym/nosym.so" "$TMP/nosym/x.c"
echo 'this is not a shared object' >"$TMP/notelf/notelf.so"

run good
rc=$?
[ $rc -eq 0 ] && grep -q '^transactions good: 0' "$TMP/good.err"
check $? "a plugin built against this header loads and runs (exit $rc)"

run oldapi
rc=$?
[ $rc -ne 0 ] && grep -q "plugin $TMP/oldapi/oldapi.so: wrong API version" "$TMP/oldapi.err"
check $? "another API version: refused, naming the file (exit $rc: $(head -1 "$TMP/oldapi.err"))"

run otherabi
rc=$?
[ $rc -ne 0 ] && grep -q "plugin $TMP/otherabi/otherabi.so: wrong ABI signature" "$TMP/otherabi.err"
check $? "another ABI signature: refused, naming the file (exit $rc)"

run nosym
rc=$?
[ $rc -ne 0 ] && grep -q "plugin $TMP/nosym/nosym.so: no 'artmon_plugin' symbol" "$TMP/nosym.err"
check $? "a shared object without the descriptor: refused, naming the file (exit $rc)"

run notelf
rc=$?
[ $rc -ne 0 ] && grep -q "plugin $TMP/notelf/notelf.so: cannot load: .*ldd(1)" "$TMP/notelf.err"
check $? "not a shared object: refused with dlopen's reason and the ldd(1) hint (exit $rc)"

echo "1..$n"
[ $fails -eq 0 ]
