#!/usr/bin/env bash
# Benchmark: SCIM list requests per second with the verified-token cache (the default) versus
# argon2id on every request (`scim.token_cache = false`). Prints one line per mode.
#
#   bash scripts/bench-token-cache.sh            # 10 s per mode, 16 connections
#   DURATION=30s CONNECTIONS=32 bash scripts/bench-token-cache.sh
#
# Uses the release binary and a throw-away SQLite database; sends traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-16}"
THREADS="${THREADS:-2}"

if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
cargo build --release --quiet
BIN="$PWD/target/release/provisioning"
WORK="$(mktemp -d)"
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export PROVISIONING__DATABASE__URL="sqlite://$WORK/bench.db?mode=rwc"
export PROVISIONING__LOG__LEVEL=warn
"$BIN" tenant create --slug bench --name Bench >/dev/null
printf -- '-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n' >"$WORK/idp.pem"
"$BIN" sso set-saml --tenant bench --entity-id urn:idp --sso-url https://idp.test/sso --cert-file "$WORK/idp.pem" >/dev/null
TOKEN="$("$BIN" scim enable --tenant bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

run_mode() {
  local cache="$1" port="$2"
  PROVISIONING__SCIM__TOKEN_CACHE="$cache" PROVISIONING__HTTP__SCIM_LISTEN="127.0.0.1:$port" \
    PROVISIONING__HTTP__ADMIN_LISTEN="127.0.0.1:$((port + 1))" "$BIN" scim-api 2>/dev/null &
  SERVER=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  local out rps lat
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$port/api/scim/v2/Users?startIndex=1&count=2")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  lat="$(awk '/Latency/ {print $2; exit}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  printf '%-28s %10s req/s   mean latency %8s   non-2xx %s\n' "token_cache=$cache" "$rps" "$lat" "${non2xx:-0}"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
}

echo "GET /Users?startIndex=1&count=2, $CONNECTIONS connections, $DURATION per mode, $(nproc) cores"
run_mode true 18480
run_mode false 18490
