#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, user `postgres`, trust auth) and Redis (127.0.0.1:6379)
# answer, for the test suite and for local development.
#
# Idempotent and conservative:
#   * services that already answer are reused as they are: never restarted, never reconfigured;
#   * packages are installed (apt-get) only when a service does not answer AND its binaries are
#     missing;
#   * a PostgreSQL cluster is created only when none exists;
#   * pg_hba.conf is changed only for a cluster this run installed or created.
#
# Usage: scripts/dev-services.sh        (needs root, or sudo, only when something must be done)
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
WAIT_SECONDS=30

# Set when this run installed PostgreSQL or created its cluster (so it may set trust auth).
PG_FRESH=0
APT_UPDATED=0

log() { printf 'dev-services: %s\n' "$*" >&2; }
die() { printf 'dev-services: ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command as root (directly when already root, else through sudo).
as_root() {
    if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "'$*' needs root and sudo is not available; run this script as root"
    fi
}

apt_install() {
    have apt-get || die "cannot install $* automatically: apt-get not found (install them by hand)"
    if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# --- probes ----------------------------------------------------------------------------------

pg_answers() {
    if have pg_isready; then
        pg_isready -h "$PG_HOST" -p "$PG_PORT" -q
    else
        # No client yet: is anything listening on the port?
        (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
    fi
}

redis_answers() {
    if have redis-cli; then
        [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
    else
        # No client yet: speak the inline protocol over bash's /dev/tcp (in a subshell, so
        # the descriptor closes with it).
        local reply
        reply=$(
            exec 2>/dev/null
            exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" || exit 1
            printf 'PING\r\n' >&3
            IFS= read -r -t 2 line <&3 || exit 1
            printf '%s' "$line"
        ) || return 1
        [[ "${reply%$'\r'}" == "+PONG" ]]
    fi
}

# wait_for PROBE [SECONDS]: polls PROBE once a second for up to SECONDS (default WAIT_SECONDS).
wait_for() {
    local probe=$1 seconds=${2:-$WAIT_SECONDS} i
    for ((i = 0; i < seconds; i++)); do
        if "$probe"; then
            return 0
        fi
        sleep 1
    done
    "$probe"
}

# --- PostgreSQL ------------------------------------------------------------------------------

pg_server_installed() {
    have pg_ctlcluster && have pg_createcluster && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

# The newest installed server version (e.g. 15).
pg_installed_version() {
    local dir versions=()
    for dir in /usr/lib/postgresql/*/bin/postgres; do
        [[ -e $dir ]] || continue
        dir=${dir#/usr/lib/postgresql/}
        versions+=("${dir%%/*}")
    done
    [[ ${#versions[@]} -gt 0 ]] || return 1
    printf '%s\n' "${versions[@]}" | sort -V | tail -n 1
}

# The version of an existing `main` cluster, newest first; empty when there is none.
pg_cluster_version() {
    local conf versions=()
    for conf in /etc/postgresql/*/main/postgresql.conf; do
        [[ -e $conf ]] || continue
        conf=${conf#/etc/postgresql/}
        versions+=("${conf%%/*}")
    done
    [[ ${#versions[@]} -gt 0 ]] || return 0
    printf '%s\n' "${versions[@]}" | sort -V | tail -n 1
}

# Lets the `postgres` role connect over TCP from localhost without a password. Only ever
# called for a cluster this run installed or created (a development/CI database).
pg_set_trust() {
    local version=$1 hba="/etc/postgresql/$1/main/pg_hba.conf"
    [[ -f $hba ]] || return 0
    if ! grep -q '^# dev-services.sh: trust for local development' "$hba"; then
        log "allowing trust authentication from 127.0.0.1 and ::1 in $hba (development cluster)"
        local tmp
        tmp=$(mktemp)
        {
            printf '%s\n' '# dev-services.sh: trust for local development' \
                'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust'
            as_root cat "$hba"
        } >"$tmp"
        # cp onto the existing file keeps its owner and mode.
        as_root cp "$tmp" "$hba"
        rm -f "$tmp"
    fi
    # A reload, not a restart: applies pg_hba.conf to new connections only.
    if pg_answers; then
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
    fi
}

ensure_postgres() {
    if pg_answers; then
        log "PostgreSQL answers on $PG_HOST:$PG_PORT (reusing it)"
    else
        if ! pg_server_installed; then
            apt_install postgresql
            PG_FRESH=1
        fi
        local version
        version=$(pg_cluster_version)
        if [[ -z $version ]]; then
            version=$(pg_installed_version) || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
            log "creating PostgreSQL cluster $version/main on port $PG_PORT"
            as_root pg_createcluster --port "$PG_PORT" "$version" main
            PG_FRESH=1
        fi
        if [[ $PG_FRESH -eq 1 ]]; then
            pg_set_trust "$version"
        fi
        # The package's post-install may have started the cluster meanwhile.
        if ! pg_answers; then
            log "starting PostgreSQL cluster $version/main"
            as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
                log "pg_ctlcluster start returned an error (checking whether it answers anyway)"
        fi
        wait_for pg_answers ||
            die "PostgreSQL did not answer on $PG_HOST:$PG_PORT within ${WAIT_SECONDS}s (see /var/log/postgresql/)"
        log "PostgreSQL answers on $PG_HOST:$PG_PORT"
    fi

    if ! have psql; then
        apt_install postgresql-client
    fi
    if ! psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -tAq -c 'select 1' >/dev/null 2>&1; then
        local version
        version=$(pg_cluster_version)
        if [[ $PG_FRESH -eq 1 && -n $version ]]; then
            pg_set_trust "$version"
            sleep 1
        fi
        if ! psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -tAq -c 'select 1' >/dev/null 2>&1; then
            cat >&2 <<EOF
dev-services: ERROR: PostgreSQL answers on $PG_HOST:$PG_PORT, but the role 'postgres' cannot
connect without a password:
    psql -h $PG_HOST -p $PG_PORT -U postgres -c 'select 1'
The tests connect as postgres://postgres@$PG_HOST:$PG_PORT/postgres. Either allow trust
authentication from localhost (add these lines at the top of pg_hba.conf, then reload):
    host all all 127.0.0.1/32 trust
    host all all ::1/128      trust
or point the tests at a server you can reach: POSTGRES_URL=postgres://user:pass@host:port/db
EOF
            exit 1
        fi
    fi
    log "PostgreSQL: role 'postgres' connects from $PG_HOST"
}

# --- Redis -----------------------------------------------------------------------------------

ensure_redis() {
    if redis_answers; then
        log "Redis answers on $REDIS_HOST:$REDIS_PORT (reusing it)"
        return 0
    fi
    if ! have redis-server || ! have redis-cli; then
        apt_install redis-server
        # The package's post-install may have started it.
        if wait_for redis_answers 3; then
            log "Redis answers on $REDIS_HOST:$REDIS_PORT"
            return 0
        fi
    fi
    as_root mkdir -p /var/lib/redis /var/log/redis
    log "starting Redis"
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for redis_answers ||
        die "Redis did not answer on $REDIS_HOST:$REDIS_PORT within ${WAIT_SECONDS}s (see /var/log/redis/ci.log)"
    log "Redis answers on $REDIS_HOST:$REDIS_PORT"
}

ensure_postgres
ensure_redis
log "ready: postgres://postgres@$PG_HOST:$PG_PORT/postgres and redis://$REDIS_HOST:$REDIS_PORT"
