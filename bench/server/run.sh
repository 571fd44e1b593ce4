#!/usr/bin/env bash
# Server benchmark: GET /v0/vault/{label} on `agentscope serve` (Local store, JSON-lines audit, rate limits raised)
# side by side with a bare Kestrel endpoint returning a constant JSON body of the same shape (the ceiling), with wrk on
# loopback. Run from the repository root: bash bench/server/run.sh   (DURATION=30s CONNECTIONS=32 WRK_THREADS=1 WARMUP=10s)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-32}
WRK_THREADS=${WRK_THREADS:-1}
WARMUP=${WARMUP:-10s}
OUT=${TMPDIR:-/tmp}/agentscope-bench-server
mkdir -p "$OUT"

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi

dotnet build src/AgentScope.Cli -c Release -o "$OUT/cli" >"$OUT/build-cli.log" 2>&1 || { echo "CLI build failed: $OUT/build-cli.log"; exit 1; }
dotnet build bench/AgentScope.BareKestrel -c Release -o "$OUT/bare" >"$OUT/build-bare.log" 2>&1 || { echo "bare build failed: $OUT/build-bare.log"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
AS_PORT=$(free_port); BARE_PORT=$(free_port)
export AGENTSCOPE_HOME=$(mktemp -d "$OUT/home.XXXX"); rmdir "$AGENTSCOPE_HOME"   # serve creates it (first start)

dotnet "$OUT/cli/agentscope.dll" serve --urls "http://127.0.0.1:$AS_PORT" --rate-limit-per-agent 100000000 \
  >"$OUT/serve.out" 2>"$OUT/serve.log" &
AS_PID=$!
ASPNETCORE_URLS="http://127.0.0.1:$BARE_PORT" dotnet "$OUT/bare/AgentScope.BareKestrel.dll" >"$OUT/bare.log" 2>&1 &
BARE_PID=$!
trap 'kill $AS_PID $BARE_PID 2>/dev/null; wait $AS_PID $BARE_PID 2>/dev/null; rm -rf "$AGENTSCOPE_HOME"' EXIT

for port in $AS_PORT $BARE_PORT; do
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    [[ $port == "$BARE_PORT" ]] && curl -s -o /dev/null "http://127.0.0.1:$port/v0/vault/x" 2>/dev/null && break; sleep 0.25; done
done
ADMIN=$(head -n1 "$OUT/serve.out")
KEY=$(curl -sf -X POST "http://127.0.0.1:$AS_PORT/v0/agents" -H "Authorization: Bearer $ADMIN" -d '{"id":"bench"}' \
  | python3 -c 'import sys, json; print(json.load(sys.stdin)["apiKey"])')
curl -sf -X POST "http://127.0.0.1:$AS_PORT/v0/vault" -H "Authorization: Bearer $KEY" \
  -d '{"label":"bench-secret","value":"sk_live_0123456789abcdefghijklmnopqrstuv"}' >/dev/null

AS_URL="http://127.0.0.1:$AS_PORT/v0/vault/bench-secret"
BARE_URL="http://127.0.0.1:$BARE_PORT/v0/vault/bench-secret"
echo "warm-up ($WARMUP each)..." >&2
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Authorization: Bearer $KEY" "$AS_URL" >/dev/null
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$BARE_URL" >/dev/null

run() { # file, display name, wrk args...
  local file=$1 name=$2; shift 2
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" >"$OUT/$file.txt"
  local rps p99 non2xx errors
  rps=$(awk '/^Requests\/sec/ {print $2}' "$OUT/$file.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$OUT/$file.txt")
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$OUT/$file.txt"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors/ {print $0}' "$OUT/$file.txt")
  printf '%-36s %12s %10s %8s %s\n' "$name" "$rps" "$p99" "$non2xx" "$errors"
  echo "$rps" >"$OUT/$file.rps"
}
echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores"
printf '%-36s %12s %10s %8s\n' "endpoint" "requests/s" "p99" "non-2xx"
run agentscope "agentscope GET /v0/vault/{label}" -H "Authorization: Bearer $KEY" "$AS_URL"
run bare "bare Kestrel, constant JSON" "$BARE_URL"
python3 - "$OUT" <<'PY'
import sys, pathlib
out = pathlib.Path(sys.argv[1])
a = float((out / "agentscope.rps").read_text()); b = float((out / "bare.rps").read_text())
print(f"agentscope / bare = {a / b:.0%}")
PY
