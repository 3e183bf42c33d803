#!/usr/bin/env bash
# Run the project's Apache Solr 9.10.1 node (core "ckan") for CKAN, from the
# Maven Central jars built by solr/pom.xml (launcher: org.mel.solr.MelSolr).
#
#   scripts/solr.sh build    build solr/target/{mel-solr.jar,lib/} if missing or out of date
#   scripts/solr.sh start    build if needed, start in the background, wait until the core answers
#   scripts/solr.sh stop     stop it (TERM, then KILL after a grace period)
#   scripts/solr.sh status   exit 0 if running and answering, 1 if alive but not answering,
#                            3 if not running
#
# Environment (defaults):
#   MEL_DATA                 <repo>/.data   pid file solr.pid, Solr home solr/, logs logs/
#   MEL_SOLR_PORT            8983           CKAN: solr_url = http://127.0.0.1:8983/solr/ckan
#   MEL_CKAN_SCHEMA          CKAN's ckan/config/solr/schema.xml, found via $VENV/bin/python (default <repo>/.venv)
#   MEL_SOLR_HEAP            1g             -Xmx
#   MEL_SOLR_JAVA_OPTS       (empty)        extra JVM options
#   MEL_SOLR_START_TIMEOUT   120            seconds to wait for the core at start
#   JAVA_HOME                (optional)     else `java` from PATH
#
# Files: $MEL_DATA/solr.pid, $MEL_DATA/solr/ (regenerated config; index in
# solr/ckan/data is kept across restarts), $MEL_DATA/logs/solr.out (stdout and
# stderr: warnings, errors, the "ready" line), $MEL_DATA/logs/solr.log (Solr's
# full log), $MEL_DATA/logs/solr-build.log (last Maven build).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MEL_DATA="${MEL_DATA:-$REPO/.data}"
MEL_SOLR_PORT="${MEL_SOLR_PORT:-8983}"
MEL_SOLR_HEAP="${MEL_SOLR_HEAP:-1g}"
MEL_SOLR_JAVA_OPTS="${MEL_SOLR_JAVA_OPTS:-}"
MEL_SOLR_START_TIMEOUT="${MEL_SOLR_START_TIMEOUT:-120}"

SOLR_DIR="$REPO/solr"
JAR="$SOLR_DIR/target/mel-solr.jar"
LIB="$SOLR_DIR/target/lib"
PID_FILE="$MEL_DATA/solr.pid"
LOG_DIR="$MEL_DATA/logs"
OUT_LOG="$LOG_DIR/solr.out"
SOLR_HOME="$MEL_DATA/solr"
CORE_URL="http://127.0.0.1:$MEL_SOLR_PORT/solr/ckan"
READY_URL="$CORE_URL/select?q=*:*&rows=0"

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA="java"
fi

log() { printf 'solr.sh: %s\n' "$*"; }
die() { printf 'solr.sh: %s\n' "$*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found in PATH${2:+ ($2)}"; }

# ---------------------------------------------------------------------------- build

needs_build() {
  [[ -f "$JAR" && -d "$LIB" ]] || return 0
  compgen -G "$LIB/solr-core-*.jar" >/dev/null || return 0
  # Anything in the Maven project newer than the jar?
  [[ -n "$(find "$SOLR_DIR/pom.xml" "$SOLR_DIR/src" -newer "$JAR" -print -quit 2>/dev/null)" ]]
}

cmd_build() {
  if ! needs_build; then
    log "build: up to date ($JAR)"
    return 0
  fi
  need mvn "install Maven 3.8+"
  need "$JAVA" "install a JDK 17+ or set JAVA_HOME"
  mkdir -p "$LOG_DIR"
  local build_log="$LOG_DIR/solr-build.log" t0=$SECONDS
  log "build: mvn package (solr/pom.xml), log in $build_log"
  # lib/ is rebuilt from scratch so no stale jar survives a dependency change.
  rm -rf "$LIB"
  if ! mvn -B -q -Dstyle.color=never -f "$SOLR_DIR/pom.xml" -DskipTests package \
      >"$build_log" 2>&1 </dev/null; then
    tail -n 40 "$build_log" >&2 || true
    die "build failed (full log: $build_log)"
  fi
  [[ -f "$JAR" ]] || die "build produced no $JAR (see $build_log)"
  touch "$JAR" # the jar plugin may keep an unchanged jar; mark it as fresh
  log "build: done in $((SECONDS - t0)) s ($(find "$LIB" -name '*.jar' | wc -l) jars in solr/target/lib)"
}

# ---------------------------------------------------------------------------- helpers

# PID from the pid file if that process is alive and is our launcher, else empty.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 0
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  if [[ "$cmdline" == *mel-solr.jar* ]]; then
    echo "$pid"
  fi
}

# The --port the launcher with this pid was started with.
pid_port() {
  local -a argv
  mapfile -d '' -t argv <"/proc/$1/cmdline" 2>/dev/null || return 0
  local i
  for ((i = 0; i < ${#argv[@]} - 1; i++)); do
    if [[ "${argv[i]}" == "--port" ]]; then
      echo "${argv[i + 1]}"
      return 0
    fi
  done
}

core_answers() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$READY_URL" 2>/dev/null || true)"
  [[ "$code" == "200" ]]
}

port_in_use() {
  # A successful TCP connect means someone listens there (0.0.0.0 or 127.0.0.1).
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MEL_SOLR_PORT" 2>/dev/null
}

# CKAN's schema.xml. One Solr node serves both CKAN versions, whose schemas
# differ only by their name ("ckan-2.11", "ckan-2.12"), and CKAN 2.11 refuses a
# schema named after 2.12 while 2.12 accepts 2.11's: the oldest installed
# CKAN's schema is the one both take.
ckan_schema() {
  if [[ -n "${MEL_CKAN_SCHEMA:-}" ]]; then
    echo "$MEL_CKAN_SCHEMA"
    return 0
  fi
  local py="${VENV:-$REPO/.venv}/bin/python"
  if [[ -x "$REPO/.venv-2.11/bin/python" ]]; then
    py="$REPO/.venv-2.11/bin/python"
  fi
  [[ -x "$py" ]] || die "no $py to locate CKAN's Solr schema; set MEL_CKAN_SCHEMA=/path/to/ckan/config/solr/schema.xml"
  "$py" -c 'import ckan, os; print(os.path.join(os.path.dirname(ckan.__file__), "config/solr/schema.xml"))' \
    || die "could not import ckan with $py; set MEL_CKAN_SCHEMA"
}

show_log_tail() {
  echo "----- last 40 lines of $OUT_LOG -----" >&2
  tail -n 40 "$OUT_LOG" >&2 2>/dev/null || true
  echo "----- (Solr's full log: $LOG_DIR/solr.log) -----" >&2
}

# TERM, wait up to $2 seconds, then KILL.
terminate() {
  local pid="$1" grace="${2:-30}" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "pid $pid still alive after ${grace}s, sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------- commands

cmd_start() {
  need curl
  mkdir -p "$LOG_DIR"
  local pid
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    local port
    port="$(pid_port "$pid")"
    if [[ -n "$port" && "$port" != "$MEL_SOLR_PORT" ]]; then
      die "Solr from $MEL_DATA is already running on port $port (pid $pid); stop it first or set MEL_SOLR_PORT=$port"
    fi
    if core_answers; then
      local running wanted
      running="$(curl -s --max-time 5 "$CORE_URL/schema/name?wt=json" | tr -d ' \n' | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')"
      wanted="$(sed -n 's/.*<schema name="\([^"]*\)".*/\1/p' "$(ckan_schema)" | head -1)"
      if [[ -z "$running" || "$running" == "$wanted" ]]; then
        log "already running (pid $pid) at $CORE_URL"
        return 0
      fi
      log "running with the schema $running, $wanted is needed: restarting"
      cmd_stop
      cmd_start
      return
    fi
    # Alive but not answering yet: probably another start still booting; wait for it below.
    log "pid $pid is alive but $CORE_URL does not answer yet; waiting"
  else
    rm -f "$PID_FILE"
    if port_in_use; then
      die "port $MEL_SOLR_PORT is already in use; set MEL_SOLR_PORT"
    fi
    cmd_build
    need "$JAVA" "install a JDK 17+ or set JAVA_HOME"
    local schema
    schema="$(ckan_schema)"
    [[ -f "$schema" ]] || die "CKAN Solr schema not found: $schema (set MEL_CKAN_SCHEMA)"
    mkdir -p "$SOLR_HOME"
    # shellcheck disable=SC2086  # MEL_SOLR_JAVA_OPTS is a list of options
    nohup "$JAVA" -Xms256m "-Xmx$MEL_SOLR_HEAP" -XX:+ExitOnOutOfMemoryError \
      -Dsolr.log.dir="$LOG_DIR" $MEL_SOLR_JAVA_OPTS \
      -jar "$JAR" --home "$SOLR_HOME" --port "$MEL_SOLR_PORT" --schema "$schema" \
      >"$OUT_LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    log "starting Solr (pid $pid, port $MEL_SOLR_PORT, home $SOLR_HOME)"
  fi

  local t0=$SECONDS
  while true; do
    if ! kill -0 "$pid" 2>/dev/null; then
      local rc=0
      wait "$pid" 2>/dev/null || rc=$? # our child unless another start launched it
      rm -f "$PID_FILE"
      show_log_tail
      die "Solr exited during startup (exit code $rc; see above)"
    fi
    if core_answers; then
      log "ready at $CORE_URL (pid $pid, $((SECONDS - t0)) s)"
      return 0
    fi
    if ((SECONDS - t0 >= MEL_SOLR_START_TIMEOUT)); then
      show_log_tail
      log "not ready after ${MEL_SOLR_START_TIMEOUT}s; stopping pid $pid"
      terminate "$pid" 15
      rm -f "$PID_FILE"
      die "Solr did not become ready within ${MEL_SOLR_START_TIMEOUT}s"
    fi
    sleep 0.5
  done
}

cmd_stop() {
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping Solr (pid $pid)"
  terminate "$pid" 30
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    log "not running"
    return 3
  fi
  if core_answers; then
    log "running (pid $pid) at $CORE_URL"
    return 0
  fi
  log "process running (pid $pid) but $CORE_URL does not answer"
  return 1
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  restart) cmd_stop; cmd_start ;;
  *)
    echo "usage: $0 {build|start|stop|status|restart}" >&2
    exit 2
    ;;
esac
