#!/usr/bin/env bash
# Audit sink benchmark through the server: audited GET /v0/vault/{label} on `agentscope serve` (Local store, rate limits
# raised) with the JSON-lines file sink (the default), the PostgreSQL sink (default: durable, synchronous commit) and
# the PostgreSQL sink with AsynchronousCommit, one after the other in the same run, with wrk on loopback. PostgreSQL 15
# is a throwaway server started here like the tests' fixture (initdb + pg_ctl as the postgres user on a free port, its
# durability settings left at their defaults: fsync on, synchronous_commit on).
# ROUNDS rounds (default 3) run the three sinks again, in a rotated order, and the medians are compared: on a shared
# 2-core machine one run of each drifts by more than the differences being measured.
# Run from the repository root: bash bench/server/audit-sinks.sh   (DURATION=30s CONNECTIONS=32 WRK_THREADS=1 WARMUP=10s ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-32}
WRK_THREADS=${WRK_THREADS:-1}
WARMUP=${WARMUP:-10s}
ROUNDS=${ROUNDS:-3}
OUT=${TMPDIR:-/tmp}/agentscope-bench-audit-sinks
mkdir -p "$OUT"

need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
PGBIN=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
[[ -n $PGBIN ]] || need_apt+=(postgresql-15)
if ((${#need_apt[@]})); then
  echo "installing ${need_apt[*]} (Debian packages)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}") >/dev/null
  PGBIN=/usr/lib/postgresql/15/bin
fi

dotnet build src/AgentScope.Cli -c Release -o "$OUT/cli" >"$OUT/build-cli.log" 2>&1 || { echo "CLI build failed: $OUT/build-cli.log"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# PostgreSQL refuses to run as root: as root, run its tools as the postgres user.
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PGDIR=$(mktemp -d /tmp/aspg-bench-XXXX)   # short: the Unix socket lives here
[[ $(id -u) == 0 ]] && chown postgres: "$PGDIR"
PGPORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --no-locale >"$OUT/initdb.log" 2>&1
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR -c max_connections=200" start >/dev/null
PG="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=postgres"

SERVE_PID=
HOMES=()
cleanup() {
  [[ -n $SERVE_PID ]] && { kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null || true; }
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR" "${HOMES[@]}"
}
trap cleanup EXIT

# One sink: a fresh home, serve with the given extra arguments and environment, an agent and a 40-byte secret,
# warm-up, then the measured run. Prints one table row; keeps wrk's output in $OUT/<name>.txt.
run_sink() { # file name, display name, env assignments..., --, serve arguments...
  local file=$1 name=$2; shift 2
  local env=()
  while [[ $1 != -- ]]; do env+=("$1"); shift; done; shift
  local port home admin key url
  port=$(free_port)
  home=$(mktemp -d "$OUT/home.XXXX"); rmdir "$home"; HOMES+=("$home")   # serve creates it (first start)
  env AGENTSCOPE_HOME="$home" "${env[@]}" dotnet "$OUT/cli/agentscope.dll" serve --urls "http://127.0.0.1:$port" \
    --rate-limit-per-agent 100000000 "$@" >"$OUT/$file.serve.out" 2>"$OUT/$file.serve.log" &
  SERVE_PID=$!
  for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 $SERVE_PID 2>/dev/null || { echo "serve ($name) exited: $(tail -n3 "$OUT/$file.serve.log")"; exit 1; }; sleep 0.25; done
  admin=$(head -n1 "$OUT/$file.serve.out")
  key=$(curl -sf -X POST "http://127.0.0.1:$port/v0/agents" -H "Authorization: Bearer $admin" -d '{"id":"bench"}' \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["apiKey"])')
  curl -sf -X POST "http://127.0.0.1:$port/v0/vault" -H "Authorization: Bearer $key" \
    -d '{"label":"bench-secret","value":"sk_live_0123456789abcdefghijklmnopqrstuv"}' >/dev/null
  url="http://127.0.0.1:$port/v0/vault/bench-secret"
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Authorization: Bearer $key" "$url" >/dev/null
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $key" "$url" >"$OUT/$file.txt"
  local rps p99 non2xx errors
  rps=$(awk '/^Requests\/sec/ {print $2}' "$OUT/$file.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$OUT/$file.txt")
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$OUT/$file.txt"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors/ {print $0}' "$OUT/$file.txt")
  echo "$rps" >>"$OUT/$file.rps"
  # The audit trail must hold every request answered: count the reads it recorded.
  local audited
  audited=$(curl -sf "http://127.0.0.1:$port/v0/audit?agent=bench&action=read&limit=1" -H "Authorization: Bearer $admin" \
    | python3 -c 'import sys, json; e=json.load(sys.stdin)["events"]; print(e[-1]["seq"] if e else 0)')
  printf '%-44s %12s %10s %8s %12s %s\n' "$name" "$rps" "$p99" "$non2xx" "$audited" "$errors"
  kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=
}

echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP each), $(nproc) cores, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on :$PGPORT, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %12s %10s %8s %12s\n' "audit sink" "requests/s" "p99" "non-2xx" "last seq"
rm -f "$OUT"/{file,pg,pgasync}.rps
for ((r = 1; r <= ROUNDS; r++)); do
  sinks=(file pg pgasync)
  for ((i = 0; i < 3; i++)); do
    case ${sinks[(i + r - 1) % 3]} in
      file) run_sink file "[$r] JSON-lines file (default)" -- ;;
      pg) run_sink pg "[$r] PostgreSQL (default: durable)" AGENTSCOPE__Audit__Schema=bench_durable_$r -- --audit-postgres "$PG" ;;
      pgasync) run_sink pgasync "[$r] PostgreSQL, AsynchronousCommit=true" AGENTSCOPE__Audit__Schema=bench_async_$r \
        AGENTSCOPE__Audit__AsynchronousCommit=true -- --audit-postgres "$PG" ;;
    esac
  done
done
python3 - "$OUT" <<'PY'
import sys, pathlib, statistics
out = pathlib.Path(sys.argv[1])
rps = {n: [float(x) for x in (out / (n + ".rps")).read_text().split()] for n in ("file", "pg", "pgasync")}
print("median requests/s: " + ", ".join(f"{n} {statistics.median(v):,.0f}" for n, v in rps.items()))
for name, label in (("pg", "PostgreSQL (default)"), ("pgasync", "PostgreSQL, AsynchronousCommit")):
    rounds = " ".join(f"{p / f:.0%}" for p, f in zip(rps[name], rps["file"]))
    print(f"{label} / file = {statistics.median(rps[name]) / statistics.median(rps['file']):.0%} (medians; per round: {rounds})")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
