#!/usr/bin/env bash
# Runs the public SCIM 2.0 compliance checker scim2-tester (through scim2-cli's `scim2 test`)
# against the real binary, and fails on any failure it reports.
#
#   bash scripts/scim-compliance.sh          SQLite, plus Postgres when POSTGRES_URL is set
#
# For each database: builds `provisioning`, starts `provisioning serve` on random free ports
# over a fresh database, creates a tenant, its SAML connection and a SCIM token with the CLI,
# then runs the checker against http://127.0.0.1:PORT/api/scim/v2 with that token.
#
# Environment:
#   POSTGRES_URL            a server URL (postgres://user@host:port/db); a database is created
#                           on it for the run and dropped afterwards
#   SCIM_COMPLIANCE_VENV    where the pinned checker is installed (default
#                           target/scim-compliance-venv); reused when the versions match
#   SCIM_COMPLIANCE_KEEP=1  keep the work directory (server log, checker output)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

# Pinned: a new checker release may add checks, which is a deliberate upgrade.
SCIM2_TESTER_VERSION=0.5.2
SCIM2_CLI_VERSION=0.6.0

# Failures known and tracked, as "check_name|text of its message". Each must say why; the run
# still prints them. Anything else the checker reports fails the run.
KNOWN_FAILURES=(
    # none
)

VENV=${SCIM_COMPLIANCE_VENV:-$ROOT/target/scim-compliance-venv}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/scim-compliance.XXXXXX")
SERVER_PID=
PG_DB=

cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n $PG_DB ]]; then
        psql "$POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$PG_DB\"" >/dev/null 2>&1 || true
    fi
    if [[ ${SCIM_COMPLIANCE_KEEP:-0} == 1 ]]; then
        echo "scim-compliance: work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

banner() { printf '\n==> %s\n' "$*"; }

install_checker() {
    if [[ -x $VENV/bin/scim2 ]] &&
        "$VENV/bin/pip" show scim2-tester 2>/dev/null | grep -qx "Version: $SCIM2_TESTER_VERSION" &&
        "$VENV/bin/pip" show scim2-cli 2>/dev/null | grep -qx "Version: $SCIM2_CLI_VERSION"; then
        return
    fi
    banner "installing scim2-tester $SCIM2_TESTER_VERSION and scim2-cli $SCIM2_CLI_VERSION"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "scim2-tester==$SCIM2_TESTER_VERSION" "scim2-cli==$SCIM2_CLI_VERSION"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_checker LABEL DATABASE_URL
run_checker() {
    local label=$1 db_url=$2 dir="$WORK/$1"
    mkdir -p "$dir"
    local scim_port admin_port
    scim_port=$(free_port)
    admin_port=$(free_port)
    export PROVISIONING__DATABASE__URL=$db_url
    export PROVISIONING__HTTP__SCIM_LISTEN=127.0.0.1:$scim_port
    export PROVISIONING__HTTP__ADMIN_LISTEN=127.0.0.1:$admin_port
    export PROVISIONING__HTTP__PUBLIC_BASE_URL=http://127.0.0.1:$scim_port
    export PROVISIONING__LOG__FORMAT=json
    unset PROVISIONING_CONFIG

    banner "$label: tenant, SAML connection and token through the CLI"
    "$BIN" migrate >"$dir/migrate.log" 2>&1
    "$BIN" tenant create --slug compliance --name "SCIM compliance" >/dev/null
    printf -- '-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n' >"$dir/idp.pem"
    "$BIN" sso set-saml --tenant compliance --entity-id urn:compliance:idp \
        --sso-url https://idp.compliance.test/sso --cert-file "$dir/idp.pem" >/dev/null
    local token
    token=$("$BIN" scim enable --tenant compliance |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

    banner "$label: provisioning serve on 127.0.0.1:$scim_port"
    "$BIN" serve >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    local ready=0
    for _ in $(seq 1 100); do
        if python3 -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$scim_port/readyz', timeout=1)" 2>/dev/null; then
            ready=1
            break
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
    if [[ $ready != 1 ]]; then
        echo "scim-compliance: the server did not become ready; its log:" >&2
        tail -n 40 "$dir/server.log" >&2
        return 1
    fi

    banner "$label: scim2 test (scim2-tester $SCIM2_TESTER_VERSION)"
    local status=0
    # The token goes through the environment, not the command line.
    SCIM_CLI_HEADERS="Authorization: Bearer $token" \
        "$VENV/bin/scim2" --url "http://127.0.0.1:$scim_port/api/scim/v2" test >"$dir/checker.out" 2>&1 ||
        status=$?
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=

    # Each result is a "STATUS check_name" line followed by indented detail lines.
    python3 - "$dir/checker.out" "$label" "$status" "${KNOWN_FAILURES[@]}" <<'PY'
import re, sys

path, label, status, known = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
known = [k.split("|", 1) for k in known]
results, current = [], None
for line in open(path, encoding="utf-8", errors="replace"):
    m = re.match(r"^([A-Z]+) (\w+)\s*$", line)
    if m:
        current = [m.group(1), m.group(2), ""]
        results.append(current)
    elif current is not None:
        current[2] += line
counts = {}
for s, _, _ in results:
    counts[s] = counts.get(s, 0) + 1
failures = [r for r in results if r[0] not in ("SUCCESS", "SKIPPED")]
unexpected = []
for s, name, detail in failures:
    tag = "known"
    if not any(name == k[0] and k[1] in detail for k in known):
        tag = "FAILURE"
        unexpected.append(name)
    print(f"  [{tag}] {s} {name}: {detail.strip().splitlines()[0] if detail.strip() else ''}")
summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
print(f"{label}: {summary or 'no result lines'}")
if not results:
    print(open(path, encoding="utf-8", errors="replace").read()[-4000:])
    sys.exit(1)
if unexpected:
    print(f"{label}: {len(unexpected)} unexpected failure(s): {', '.join(unexpected)}")
    sys.exit(1)
if status != 0 and not failures:
    print(f"{label}: the checker exited with {status} without reporting a failure")
    sys.exit(1)
PY
}

install_checker
banner "building provisioning"
cargo build --quiet -p provisioning
BIN=$ROOT/target/debug/provisioning

run_checker sqlite "sqlite://$WORK/compliance.db?mode=rwc"

if [[ -n ${POSTGRES_URL:-} ]]; then
    PG_DB=scim_compliance_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')
    psql "$POSTGRES_URL" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
    run_checker postgres "${POSTGRES_URL%/*}/$PG_DB"
fi

banner "scim-compliance: no unexpected failure"
