#!/bin/sh
# install.sh: `make install` as a package build does it, and the
# installed sensor at work.
#
# Configures the source into a fresh build directory with a temporary
# --prefix, builds, and installs into a DESTDIR.  Then: every file is
# where it belongs (binaries, plugins in $(pkglibdir), example configs and
# rules in $(sysconfdir)/artmon, pristine rules and migrations in
# $(pkgdatadir), manual pages, the cron file, systemd units with the
# configured paths in them); `systemd-analyze verify` has nothing to say
# about the units (when it exists); a second install keeps an edited
# configuration; uninstall removes the programs but not edited files.
# Finally the prefix is made to exist (a symlink to the DESTDIR copy), the
# build directory is deleted, and the installed sensor, with no option but
# -r, finds its installed plugins and rules by itself and gives the same
# transactions on a corpus capture as the build tree's sensor.
#
# Skips (TAP "1..0 # SKIP") without the corpus (../shared/corpus).
set -u
B=${ARTMON_BUILDDIR:-.}
S=${ARTMON_SRCDIR:-.}
SHARED=${ARTMON_SHARED:-$S/../shared}
corpus=$SHARED/corpus/mixed.pcap
[ -f "$corpus" ] || { echo "1..0 # SKIP no corpus capture ($corpus)"; exit 0; }
S=$(cd "$S" && pwd)
B=$(cd "$B" && pwd)

T=$(mktemp -d "${TMPDIR:-/tmp}/artmon-install.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A make of our own, not a sub-make of the test harness's.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES 2>/dev/null || true
P=$T/prefix            # the configured prefix
D=$T/dest              # the DESTDIR
UNITDIR=$P/lib/systemd/system
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
  d=$1; shift
  if "$@" >"$T/out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/# /' "$T/out" | head -40; fi
}
bail() { echo "Bail out! $*"; exit 1; }

echo "1..13"
mkdir "$T/build"
check "configure --prefix (temporary) --with-systemdsystemunitdir" \
  sh -c "cd '$T/build' && '$S/configure' -q --prefix='$P' \
    --with-systemdsystemunitdir='$UNITDIR' --with-sysusersdir='$P/lib/sysusers.d'" ||
  bail "configure failed"
check "make" make -C "$T/build" -j2 -s || bail "the build failed"
check "make install DESTDIR=..." make -C "$T/build" install DESTDIR="$D" ||
  bail "make install failed"
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$T/build/config.h")

# ---------------------------------------------------------------- the files
expect_files() {
  for f in sbin/artmon-sensor sbin/artmon-collector sbin/artmon-summarise \
           bin/artmon-report; do
    [ -x "$D$P/$f" ] || { echo "missing program $P/$f"; return 1; }
    "$D$P/$f" --version | grep -qx "$(basename "$f") $version.*" ||
      { echo "$f --version does not say $version"; return 1; }
  done
  for p in http dns imap tcp; do
    [ -f "$D$P/lib/artmon/$p.so" ] || { echo "missing plugin $P/lib/artmon/$p.so"; return 1; }
    [ ! -e "$D$P/lib/artmon/$p.la" ] || { echo "libtool's $P/lib/artmon/$p.la installed"; return 1; }
    [ -f "$D$P/etc/artmon/$p.sigs" ] || { echo "missing $P/etc/artmon/$p.sigs"; return 1; }
    cmp "$S/etc/artmon/$p.sigs" "$D$P/share/artmon/sigs/$p.sigs" ||
      { echo "no pristine $P/share/artmon/sigs/$p.sigs"; return 1; }
  done
  for f in etc/artmon/sensor.conf etc/artmon/collector.conf etc/cron.d/artmon \
           share/artmon/sql/001_schema.sql include/artmon-plugin.h \
           lib/sysusers.d/artmon.conf \
           share/man/man8/artmon-sensor.8 share/man/man8/artmon-collector.8 \
           share/man/man8/artmon-summarise.8 share/man/man1/artmon-report.1 \
           share/man/man5/artmon.sigs.5 share/man/man5/artmon-sensor.conf.5 \
           share/man/man5/artmon-collector.conf.5 \
           share/doc/artmon/README.md share/doc/artmon/schema.md \
           share/doc/artmon/protocols/imap.md; do
    [ -f "$D$P/$f" ] || { echo "missing $P/$f"; return 1; }
  done
  mode=$(stat -c %a "$D$P/etc/artmon/collector.conf")
  [ "$mode" = 600 ] || { echo "collector.conf has mode $mode, not 600"; return 1; }
}
check "programs, plugins, configs, rules, migrations, manuals, cron file in place" expect_files

expect_units() {
  for u in artmon-sensor@.service artmon-collector.service; do
    f=$D$UNITDIR/$u
    [ -f "$f" ] || { echo "missing unit $UNITDIR/$u"; return 1; }
    ! grep -n '@[a-z_]*@' "$f" || { echo "$u: unsubstituted"; return 1; }
  done
  grep -qx "ExecStart=$P/sbin/artmon-sensor -c $P/etc/artmon/sensor.conf -i %I --foreground .*" \
    "$D$UNITDIR/artmon-sensor@.service" || { echo "sensor unit: ExecStart"; return 1; }
  grep -qx "ExecStart=$P/sbin/artmon-collector -c $P/etc/artmon/collector.conf --foreground" \
    "$D$UNITDIR/artmon-collector.service" || { echo "collector unit: ExecStart"; return 1; }
  grep -qx 'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN' "$D$UNITDIR/artmon-sensor@.service" &&
    grep -qx 'User=artmon' "$D$UNITDIR/artmon-sensor@.service" &&
    grep -qx 'User=artmon' "$D$UNITDIR/artmon-collector.service" ||
    { echo "units: not an unprivileged user with capabilities"; return 1; }
}
check "systemd units installed with the configured paths" expect_units

# The prefix exists from here on: the DESTDIR copy, seen where it was
# configured to be.
ln -s "$D$P" "$P" || bail "cannot link $P"

if command -v systemd-analyze >/dev/null 2>&1; then
  # verify exits 0 on unknown keys and bad values: anything it prints
  # is a finding.
  verify_units() {
    systemd-analyze verify --man=no "$D$UNITDIR/artmon-sensor@.service" \
      "$D$UNITDIR/artmon-collector.service" >"$T/verify" 2>&1 || { cat "$T/verify"; return 1; }
    [ ! -s "$T/verify" ] || { cat "$T/verify"; return 1; }
  }
  check "systemd-analyze verify finds nothing to say about the units" verify_units
else
  ok "# SKIP systemd-analyze verify: no systemd-analyze"
fi

# ---------------------------------------------------------------- reinstall
echo "# edited by the operator" >>"$P/etc/artmon/sensor.conf"
echo "# edited by the operator" >>"$P/etc/artmon/http.sigs"
echo "# edited by the operator" >>"$P/etc/artmon/collector.conf"
check "a second make install" make -C "$T/build" install DESTDIR="$D"
kept() {
  for f in sensor.conf http.sigs collector.conf; do
    tail -1 "$P/etc/artmon/$f" | grep -qx '# edited by the operator' ||
      { echo "$f: the operator's edit was overwritten"; return 1; }
  done
  cmp "$S/etc/artmon/http.sigs" "$P/share/artmon/sigs/http.sigs"
}
check "a second install keeps edited configs and rules, updates the pristine rules" kept

uninstalled() {
  make -C "$T/build" uninstall DESTDIR="$D" >"$T/uninstall" 2>&1 ||
    { cat "$T/uninstall"; return 1; }
  for f in sbin/artmon-sensor sbin/artmon-collector bin/artmon-report lib/artmon/http.so \
           lib/artmon/dns.so lib/artmon/imap.so lib/artmon/tcp.so \
           etc/artmon/dns.sigs share/man/man8/artmon-sensor.8 \
           share/doc/artmon/schema.md; do
    [ ! -e "$P/$f" ] || { echo "uninstall left $P/$f"; return 1; }
  done
  for f in sensor.conf http.sigs collector.conf; do
    [ -f "$P/etc/artmon/$f" ] || { echo "uninstall removed the edited $f"; return 1; }
  done
  [ ! -e "$UNITDIR/artmon-sensor@.service" ] || { echo "uninstall left the unit"; return 1; }
}
check "make uninstall removes the programs, keeps edited configs" uninstalled
check "install again" make -C "$T/build" install DESTDIR="$D"

# ---------------------------------------------------------------- the installed sensor
# No build tree to fall back on: the installed sensor must find the
# installed plugins and rules by itself.
rm -rf "$T/build"
check "the installed sensor checks its default configuration" \
  sh -c "'$P/sbin/artmon-sensor' -c '$P/etc/artmon/sensor.conf' -n | grep -qx 'configuration OK'"
"$P/sbin/artmon-sensor" -r "$corpus" -t csv >"$T/installed.csv" 2>"$T/installed.err"
rc_i=$?
"$B/sensor/artmon-sensor" -r "$corpus" -t csv >"$T/built.csv" 2>"$T/built.err"
rc_b=$?
lines=$(wc -l <"$T/installed.csv")
if [ $rc_i -eq 0 ] && [ $rc_b -eq 0 ] && [ "$lines" -gt 100 ]; then
  ok "the installed sensor runs on $(basename "$corpus") ($lines lines)"
else
  not_ok "the installed sensor runs on $(basename "$corpus") (exit $rc_i, build tree's $rc_b, $lines lines)"
  sed 's/^/# /' "$T/installed.err" | head -20
fi
same() {
  sort "$T/installed.csv" >"$T/a" && sort "$T/built.csv" >"$T/b" &&
    diff "$T/a" "$T/b" | head -20 && cmp -s "$T/a" "$T/b"
}
check "the installed sensor gives the build tree's transactions, line for line" same
exit $((failed > 0))
