# scripts/common.sh: what ./quickstart and ./run-tests share: the Debian
# packages artmon needs, installing the missing ones, and building a tree.
# Sourced, not run.  POSIX sh.

# Build and test dependencies, as Debian 12 package names.
ARTMON_BUILD_PKGS="build-essential autoconf automake libtool pkg-config
  libpcap-dev libglib2.0-dev libpcre2-dev libpq-dev python3"
# Only the tests need these (glib-networking: GIO's TLS backend, which
# the collector's TLS needs at run time too; valgrind, cppcheck and
# clang-tidy: tests/valgrind_sensor.sh and tests/static_checks.sh;
# chromium: tests/report_html_pg.sh renders the HTML report headless;
# groff-base: tests/manpages.sh lints the manual pages).
ARTMON_TEST_PKGS="postgresql tcpdump iproute2 openssl glib-networking
  valgrind cppcheck clang-tidy chromium groff-base"

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ensure_packages PKG...: install what is missing (as root), or print the
# exact apt-get line and stop.
ensure_packages() {
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    printf 'Missing Debian packages. As root, run:\n  apt-get install -y%s\n' "$missing" >&2
    exit 1
  fi
  say "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
    apt-get update >/dev/null 2>&1 || true
    apt-get install -y --no-install-recommends $missing
  } || die "apt-get install failed"
}

# bootstrap: generate ./configure when it is missing or older than its inputs.
bootstrap() {
  if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ] ||
     [ tests/Makefile.inc -nt Makefile.in ]; then
    say "autoreconf -fi"
    autoreconf -fi >/dev/null 2>&1 || autoreconf -fi || die "autoreconf failed"
  fi
}

# build_tree DIR [CONFIGURE-ARGS...]: configure (once) and build in DIR.
build_tree() {
  dir=$1; shift
  top=$(pwd)
  mkdir -p "$dir"
  if [ ! -f "$dir/Makefile" ] || [ "$top/configure" -nt "$dir/Makefile" ]; then
    say "configure $* in $dir"
    (cd "$dir" && "$top/configure" -q "$@") || die "configure failed (see $dir/config.log)"
  fi
  say "make in $dir"
  make -C "$dir" -j"$(nproc)" -s >/dev/null || make -C "$dir" -j1 || die "build failed in $dir"
}
