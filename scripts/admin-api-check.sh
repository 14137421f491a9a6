#!/usr/bin/env bash
# Checks the admin API's OpenAPI document with standard tools from PyPI:
#   1. openapi-spec-validator validates crates/admin-api/openapi.json (OpenAPI 3.1);
#   2. schemathesis generates requests from the document against a running server (admin
#      token, throw-away SQLite) and fails on any 5xx.
# Needs target/debug/provisioning (built by `cargo nextest run --no-run` or `cargo build`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=target/py-tools
if [[ ! -x $VENV/bin/schemathesis ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check openapi-spec-validator==0.9.0 schemathesis==4.32.5
fi

echo "openapi-spec-validator:"
"$VENV/bin/openapi-spec-validator" crates/admin-api/openapi.json

BIN=${PROVISIONING_BIN:-target/debug/provisioning}
[[ -x $BIN ]] || cargo build --quiet -p provisioning
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
SCIM_PORT=$(free_port)
ADMIN_PORT=$(free_port)
export PROVISIONING__DATABASE__URL="sqlite://$WORK/check.db?mode=rwc"
export PROVISIONING__HTTP__SCIM_LISTEN="127.0.0.1:$SCIM_PORT"
export PROVISIONING__HTTP__ADMIN_LISTEN="127.0.0.1:$ADMIN_PORT"
export PROVISIONING__LOG__LEVEL=error
"$BIN" tenant create --slug acme --name "Acme" >/dev/null
printf -- '-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n' >"$WORK/idp.pem"
"$BIN" sso set-saml --tenant acme --entity-id urn:idp --sso-url https://idp.test/sso --cert-file "$WORK/idp.pem" >/dev/null
"$BIN" scim enable --tenant acme >/dev/null
TOKEN=$("$BIN" admin-token --sub schemathesis@betatesting.test --role admin --ttl 1h |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
"$BIN" serve 2>"$WORK/serve.log" &
PIDS+=($!)
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$ADMIN_PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

echo "schemathesis (no 5xx on any generated request):"
"$VENV/bin/schemathesis" run "http://127.0.0.1:$ADMIN_PORT/admin/openapi.json" \
    -H "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
    --request-timeout 10 \
    --no-color
