# tests/pg.sh: a throwaway PostgreSQL for one test.  Sourced, not run.
#
#   . "$ARTMON_SRCDIR/tests/pg.sh"
#   pg_start            # or exit 77 / "1..0 # SKIP" when there is no server
#   pg_start_schema     # the same for a TAP test, and --init-db applied
#   psql -c 'select 1'  # PGHOST, PGPORT, PGDATABASE, PGUSER are exported
#   pg_restart          # stop (fast) and start again, same data
#   on_exit 'kill $pid' # more cleanup, run (last added first) at exit
#
# The cluster lives in a fresh temporary directory (PG_TMP): initdb there,
# a Unix socket there, and a free TCP port on 127.0.0.1, so it can never
# touch a system cluster or another test's.  PostgreSQL refuses to run as
# root, so when the test runs as root the server runs as PG_RUN_USER
# (default nobody) through runuser or setpriv; the temporary directory is
# made traversable for it.  Everything is stopped and removed at exit (a
# trap), and every wait is bounded: a server that will not start or stop
# fails the test instead of hanging it.
#
# Settings favour speed over durability (fsync=off): the data only has to
# outlive a server restart, never a machine crash.  Restarts are clean or
# "immediate" (crash recovery from WAL, which fsync=off leaves intact as
# long as the kernel does not crash).
#
# POSIX sh plus `local`, which dash and bash both have.

PG_RUN_USER=${PG_RUN_USER:-nobody}
PG_TMP=
_pg_cleanup=

# on_exit CMD: run CMD at exit, before the server is stopped.
on_exit() {
  _pg_cleanup="$1; $_pg_cleanup"
}

_pg_atexit() {
  local rc=$?
  trap - EXIT INT TERM
  eval "$_pg_cleanup" >/dev/null 2>&1 || true
  pg_stop >/dev/null 2>&1 || true
  if [ -n "$PG_TMP" ] && [ -d "$PG_TMP" ]; then
    if [ -n "${ARTMON_KEEP_PG:-}" ]; then
      echo "# kept $PG_TMP (ARTMON_KEEP_PG)" >&2
    else
      rm -rf "$PG_TMP"
    fi
  fi
  exit $rc
}

# The server's bin directory: PG_BINDIR, else Debian's newest
# /usr/lib/postgresql/N/bin (15 on Debian 12), else initdb on PATH.
pg_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then
    echo "$PG_BINDIR"; return 0
  fi
  local d best
  # Versions sort as text ("9" > "15"): sort on the number.
  best=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null |
         sed 's|.*/postgresql/\([0-9]*\)/bin|\1 &|' | sort -n | tail -1 |
         cut -d' ' -f2)
  if [ -n "$best" ] && [ -x "$best/initdb" ]; then
    echo "$best"; return 0
  fi
  d=$(command -v initdb 2>/dev/null) || return 1
  dirname "$d"
}

# Run a command as the server's user (root: drop to PG_RUN_USER).
pg_as_user() {
  if [ "$(id -u)" -ne 0 ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u "$PG_RUN_USER" -- "$@"
  else
    setpriv --reuid="$PG_RUN_USER" --regid="$(id -g "$PG_RUN_USER")" \
      --clear-groups -- "$@"
  fi
}

# A TCP port nobody listens on now (the kernel's choice).
pg_free_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# pg_start: initdb and start; exports PGHOST PGPORT PGDATABASE PGUSER.
# Returns 77 (the automake "skip" code) when no server binaries exist.
pg_start() {
  PG_BIN=$(pg_bindir) || { echo "# no PostgreSQL server binaries" >&2; return 77; }
  [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
    { echo "# no initdb/pg_ctl in $PG_BIN" >&2; return 77; }
  if [ "$(id -u)" -eq 0 ] && ! id "$PG_RUN_USER" >/dev/null 2>&1; then
    echo "# running as root, and user $PG_RUN_USER does not exist" >&2
    return 77
  fi
  PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/artmon-pg.XXXXXX") || return 1
  trap _pg_atexit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # The server (and a collector that dropped to nobody) must reach the
  # socket: the directory is world-traversable, the data dir is theirs.
  chmod 755 "$PG_TMP"
  mkdir "$PG_TMP/data" "$PG_TMP/run" "$PG_TMP/log"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$PG_RUN_USER" "$PG_TMP/data" "$PG_TMP/run" "$PG_TMP/log"
  fi
  chmod 700 "$PG_TMP/data"
  chmod 1777 "$PG_TMP/run"
  export PGHOST="$PG_TMP/run" PGDATABASE=artmon PGUSER=postgres
  unset PGPASSWORD PGSERVICE PGSSLMODE PGOPTIONS 2>/dev/null || true
  if ! pg_as_user "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres \
       --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_TMP/initdb.log" 2>&1 &&
     ! pg_as_user "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres \
       --auth=trust -E UTF8 --locale=C >"$PG_TMP/initdb.log" 2>&1; then
    echo "# initdb failed:" >&2; sed 's/^/#   /' "$PG_TMP/initdb.log" >&2
    return 1
  fi
  cat >>"$PG_TMP/data/postgresql.conf" <<EOF
# artmon tests: a private, fast, disposable server
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_TMP/run'
fsync = off
full_page_writes = off
synchronous_commit = off
max_connections = 50
shared_buffers = 128MB
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] '
EOF
  local try
  for try in 1 2 3; do
    PGPORT=$(pg_free_port) || return 1
    export PGPORT
    if _pg_ctl_start; then
      break
    fi
    [ "$try" -eq 3 ] && {
      echo "# PostgreSQL did not start:" >&2
      tail -20 "$PG_TMP/log/server.log" | sed 's/^/#   /' >&2
      return 1
    }
  done
  "$PG_BIN/createdb" -U postgres artmon || return 1
}

_pg_ctl_start() {
  pg_as_user "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log/server.log" \
    -o "-p $PGPORT" -w -t 60 start >/dev/null 2>&1
}

# pg_stop [MODE]: stop the server (fast by default), bounded: immediate
# after 30 s, then SIGKILL of the postmaster.
pg_stop() {
  [ -n "$PG_TMP" ] && [ -f "$PG_TMP/data/postmaster.pid" ] || return 0
  local mode=${1:-fast}
  pg_as_user "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m "$mode" -w -t 30 stop \
    >/dev/null 2>&1 && return 0
  pg_as_user "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w -t 10 stop \
    >/dev/null 2>&1 && return 0
  local pid
  pid=$(head -1 "$PG_TMP/data/postmaster.pid" 2>/dev/null) &&
    kill -9 "$pid" 2>/dev/null
  rm -f "$PG_TMP/data/postmaster.pid"
}

# pg_restart [MODE]: stop (MODE: fast or immediate) and start on the same
# port, so clients reconnect to the address they know.
pg_restart() {
  pg_stop "${1:-fast}"
  _pg_ctl_start || {
    echo "# PostgreSQL did not restart:" >&2
    tail -20 "$PG_TMP/log/server.log" | sed 's/^/#   /' >&2
    return 1
  }
}

# pg_is_up: true when the server answers.
pg_is_up() {
  "$PG_BIN/pg_isready" -q -t 5 >/dev/null 2>&1
}

# psql with the test's settings: quiet, stop at the first error, no psqlrc.
pg_psql() {
  psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# pg_start_schema: for a TAP test: pg_start, then artmon's schema applied
# by the build's collector (--init-db), PG_TMP, PG_BIN and PG_RUN_USER
# exported for the Python or C test that follows.  Without server
# binaries it prints the TAP "skip" and exits 0; if either step fails it
# prints a failing TAP line (with the collector's log) and exits 1.
pg_start_schema() {
  pg_start; _rc=$?
  if [ $_rc -eq 77 ]; then echo "1..0 # SKIP no PostgreSQL server"; exit 0; fi
  [ $_rc -eq 0 ] || { echo "1..1"; echo "not ok 1 - PostgreSQL starts"; exit 1; }
  printf '[collector]\n' >"$PG_TMP/init.conf"
  "${ARTMON_BUILDDIR:-.}/collector/artmon-collector" -c "$PG_TMP/init.conf" \
    --init-db >"$PG_TMP/init.log" 2>&1 ||
    { echo "1..1"; echo "not ok 1 - --init-db"; sed 's/^/# /' "$PG_TMP/init.log"; exit 1; }
  export PG_TMP PG_BIN PG_RUN_USER
}
