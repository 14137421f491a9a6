#!/usr/bin/env bash
# The single command that runs the whole test suite, on a fresh machine or in CI:
#
#   bash scripts/test.sh            everything: services, fmt, clippy, boundaries, tests
#   bash scripts/test.sh --quick    skips `cargo fmt --check` and `cargo clippy` (a faster
#                                   local loop); everything else still runs
#
# Steps:
#   1. scripts/dev-services.sh: PostgreSQL and Redis installed/started when absent, reused
#      when they already answer (never restarted);
#   2. cargo-nextest installed when missing;
#   3. cargo fmt --all --check;
#   4. cargo clippy --workspace --all-targets -- -D warnings;
#   5. the dependency boundary of the domain crate (check_boundaries);
#   6. the whole test suite, built once, run on SQLite then on PostgreSQL (+ Redis);
#      the last line adds both runs up: "summary: N passed, N failed, N skipped".
#
# Environment:
#   POSTGRES_URL   server the PostgreSQL run uses (each test creates its own database on it);
#                  default postgres://postgres@127.0.0.1:5432/postgres
#   REDIS_URL      default redis://127.0.0.1:6379
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUICK=0
for arg in "$@"; do
    case "$arg" in
    --quick) QUICK=1 ;;
    -h | --help)
        # The comment block at the top of this file.
        awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
        exit 0
        ;;
    *)
        echo "test.sh: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

PG_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
RD_URL=${REDIS_URL:-redis://127.0.0.1:6379}
# The `ci` profile is defined in .config/nextest.toml.
NEXTEST_PROFILE=ci
STARTED=$SECONDS

banner() { printf '\n==> %s\n' "$*"; }

# The domain crate stays pure (SPEC §2): none of these may appear among its normal
# dependencies, directly or transitively.
FORBIDDEN_IN_DOMAIN=(sea-orm actix-web redis utoipa config sqlx)

check_boundaries() {
    local crate out violations=()
    # Every normal dependency of `domain`, one `name vX.Y.Z` per line (cross-check below).
    local all_deps
    all_deps=$(cargo tree -p domain -e normal --prefix none --format '{p}' 2>/dev/null) || {
        echo "check_boundaries: 'cargo tree -p domain' failed" >&2
        return 1
    }
    for crate in "${FORBIDDEN_IN_DOMAIN[@]}"; do
        # `cargo tree -i` fails (or prints nothing) when `domain` does not depend on the crate.
        if out=$(cargo tree -p domain -e normal -i "$crate" --prefix none 2>/dev/null) &&
            grep -q "^$crate v" <<<"$out"; then
            violations+=("$crate")
        elif grep -q "^$crate v" <<<"$all_deps"; then
            violations+=("$crate")
        fi
    done
    if [[ ${#violations[@]} -gt 0 ]]; then
        echo "check_boundaries: the domain crate must not depend on: ${violations[*]}" >&2
        for crate in "${violations[@]}"; do
            echo "--- why domain depends on $crate:" >&2
            cargo tree -p domain -e normal -i "$crate" >&2 2>/dev/null || true
        done
        return 1
    fi
    echo "domain depends on none of: ${FORBIDDEN_IN_DOMAIN[*]}"
}

banner "1/6 services: PostgreSQL and Redis (scripts/dev-services.sh)"
bash scripts/dev-services.sh

command -v cargo >/dev/null 2>&1 || {
    echo "test.sh: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
    exit 1
}

banner "2/6 cargo-nextest"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest --version | head -n 1
else
    echo "cargo-nextest missing: cargo install cargo-nextest --locked"
    cargo install cargo-nextest --locked
fi

if [[ $QUICK -eq 1 ]]; then
    banner "3/6 cargo fmt --all --check (skipped: --quick)"
    banner "4/6 cargo clippy (skipped: --quick)"
else
    banner "3/6 cargo fmt --all --check"
    cargo fmt --all --check

    banner "4/6 cargo clippy --workspace --all-targets -- -D warnings"
    cargo clippy --workspace --all-targets -- -D warnings
fi

banner "5/6 boundaries: domain must not depend on ${FORBIDDEN_IN_DOMAIN[*]}"
check_boundaries

banner "6/6 tests (cargo nextest, profile $NEXTEST_PROFILE)"
# Each PostgreSQL test creates its own database; drop those of earlier runs (a database still
# in use by a running test refuses to drop and is left alone).
if command -v psql >/dev/null 2>&1; then
    psql "$PG_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'test\_%'" 2>/dev/null |
        while read -r db; do psql "$PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done
fi
# Build every test binary once; both runs below reuse them (only environment variables differ).
cargo nextest run --workspace --no-run --cargo-quiet

declare -A RESULT
TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0
LOG_DIR=$(mktemp -d)
trap 'rm -rf "$LOG_DIR"' EXIT

# count LOG WORD: the number before WORD in nextest's closing "Summary" line (0 when absent).
count() {
    sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -E '^ *Summary \[' | tail -n 1 |
        grep -oE "[0-9]+ $2" | grep -oE '^[0-9]+' || echo 0
}

run_suite() {
    local name=$1 log="$LOG_DIR/$1.log" passed failed skipped
    shift
    banner "tests on $name"
    if env "$@" cargo nextest run --workspace --no-fail-fast --profile "$NEXTEST_PROFILE" --cargo-quiet 2>&1 |
        tee "$log"; then
        RESULT[$name]=passed
    else
        RESULT[$name]=FAILED
    fi
    passed=$(count "$log" passed)
    failed=$(($(count "$log" failed) + $(count "$log" "timed out")))
    skipped=$(count "$log" skipped)
    # A failed run always counts at least one failure (e.g. a binary that could not start).
    if [[ ${RESULT[$name]} == FAILED && $failed -eq 0 ]]; then
        failed=1
    fi
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    TOTAL_SKIPPED=$((TOTAL_SKIPPED + skipped))
}

run_suite sqlite -u TEST_REDIS_URL TEST_DATABASE_URL=sqlite
run_suite postgres TEST_DATABASE_URL="$PG_URL" TEST_REDIS_URL="$RD_URL"

# The public SCIM compliance checker (scim2-tester), on SQLite and PostgreSQL.
banner "SCIM compliance: scim2-tester on SQLite and PostgreSQL (scripts/scim-compliance.sh)"
if POSTGRES_URL="$PG_URL" bash scripts/scim-compliance.sh; then
    RESULT[compliance]=passed
else
    RESULT[compliance]=FAILED
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
fi

# A short fuzz run on stable: the seed corpus plus generated mutations for the filter parser
# and the PATCH engine (long campaigns: docs/fuzzing.md).
banner "fuzz: corpus replay and mutations on stable (fuzz/)"
if cargo test --release --quiet --manifest-path fuzz/Cargo.toml; then
    RESULT[fuzz]=passed
else
    RESULT[fuzz]=FAILED
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
fi

# The admin API's OpenAPI document: a standard validator, then schemathesis (no 5xx).
banner "admin API: openapi-spec-validator and schemathesis (scripts/admin-api-check.sh)"
if bash scripts/admin-api-check.sh; then
    RESULT[openapi]=passed
else
    RESULT[openapi]=FAILED
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
fi

elapsed=$((SECONDS - STARTED))
summary="sqlite ${RESULT[sqlite]}, postgres ${RESULT[postgres]}, compliance ${RESULT[compliance]}, fuzz ${RESULT[fuzz]}, openapi ${RESULT[openapi]}"
if [[ $QUICK -eq 1 ]]; then
    summary="$summary (fmt and clippy skipped)"
fi
status=0
if [[ ${RESULT[sqlite]} == passed && ${RESULT[postgres]} == passed && ${RESULT[compliance]} == passed &&
    ${RESULT[fuzz]} == passed && ${RESULT[openapi]} == passed ]]; then
    banner "ALL PASSED: $summary in ${elapsed}s"
else
    banner "TESTS FAILED: $summary in ${elapsed}s"
    status=1
fi
# The closing line: both runs added up.
echo "summary: $TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
exit "$status"
