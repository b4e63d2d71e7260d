#!/bin/sh
# One-shot init of deploy/compose (service `db-secrets`): makes the PostgreSQL passwords once and
# the database URL of each service from them. POSIX sh: it runs in the liaison image (Debian
# slim: dash, coreutils). Nothing is printed but file names.
#
#   $LIAISON_SECRETS_DIR/postgres/postgres-password       the `postgres` superuser's
#   $LIAISON_SECRETS_DIR/postgres/<service>-db-password   role liaison_<service>'s
#   $LIAISON_SECRETS_DIR/<service>/database-url           postgres://liaison_<service>:…@$LIAISON_DB_HOST/liaison_<service>
#
# In compose each of those directories is a volume of its own: postgres mounts the first, each
# service only its own. A password already there is kept (PostgreSQL applies them when its data
# volume is first initialised), so re-running only rewrites the URLs. Passwords are 32 hex
# digits: nothing to percent-encode.
set -eu

dir="${LIAISON_SECRETS_DIR:?LIAISON_SECRETS_DIR is not set}"
db_host="${LIAISON_DB_HOST:?LIAISON_DB_HOST is not set (host:port of PostgreSQL)}"
umask 022

random_hex() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# Writes $2 to $1 unless $1 exists, through a temporary file (never a half-written secret).
write_once() {
    if [ ! -s "$1" ]; then
        printf '%s' "$2" > "$1.tmp"
        chmod 0444 "$1.tmp"
        mv "$1.tmp" "$1"
        echo "db-secrets: wrote $1"
    fi
}

mkdir -p "$dir/postgres"
write_once "$dir/postgres/postgres-password" "$(random_hex)"
for service in contacts scheduling mediation reporting; do
    write_once "$dir/postgres/$service-db-password" "$(random_hex)"
    password="$(cat "$dir/postgres/$service-db-password")"
    mkdir -p "$dir/$service"
    rm -f "$dir/$service/database-url"
    write_once "$dir/$service/database-url" \
        "postgres://liaison_$service:$password@$db_host/liaison_$service"
done
