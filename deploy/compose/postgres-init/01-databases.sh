#!/usr/bin/env bash
# Creates one database and one login role per Liaison service:
#   liaison_contacts, liaison_scheduling, liaison_mediation, liaison_reporting
# Each role owns its database and nothing else; CONNECT is revoked from PUBLIC on every
# Liaison database (and, by default, on the maintenance databases), so a role can connect
# to its own database only.
#
# Run by the postgres image on first start (/docker-entrypoint-initdb.d). Each password is read
# from the file named by LIAISON_<SERVICE>_DB_PASSWORD_FILE (never from the environment itself);
# compose's db-secrets init service makes them. Safe to re-run: existing roles get their password
# reset, existing databases are left in place.
#
# Also usable against a managed PostgreSQL, as its admin user (need not be a superuser, but
# needs CREATEROLE and CREATEDB), with the admin's password in a libpq password file:
#   PGHOST=db.example.internal PGUSER=admin PGDATABASE=postgres PGPASSFILE=./admin.pgpass \
#   LIAISON_CONTACTS_DB_PASSWORD_FILE=./contacts-db-password \
#   LIAISON_SCHEDULING_DB_PASSWORD_FILE=./scheduling-db-password \
#   LIAISON_MEDIATION_DB_PASSWORD_FILE=./mediation-db-password \
#   LIAISON_REPORTING_DB_PASSWORD_FILE=./reporting-db-password \
#   LIAISON_LOCK_MAINTENANCE_DBS=false \
#   bash deploy/compose/postgres-init/01-databases.sh
#
# No `set -u` here: the postgres entrypoint *sources* this file when it is not executable,
# and the option would leak into the entrypoint. Required variables use ${VAR:?}.
set -eo pipefail

# Inside the postgres image POSTGRES_USER/POSTGRES_DB name the bootstrap superuser and its
# database; elsewhere the usual libpq variables (PGUSER, PGDATABASE, PGHOST, ...) apply.
psql_admin=(psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet)
if [ -n "${POSTGRES_USER:-}" ]; then
    psql_admin+=(--username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}")
fi

create_service_database() {
    local service="$1" password="$2"
    local name="liaison_${service}"
    "${psql_admin[@]}" -v name="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
ALTER ROLE :"name" WITH LOGIN PASSWORD :'password';
-- A non-superuser admin (managed PostgreSQL) must be a member of the role to give it a database.
SELECT format('GRANT %I TO CURRENT_USER', :'name')
 WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
   AND NOT pg_has_role(current_user, :'name', 'MEMBER') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
ALTER DATABASE :"name" OWNER TO :"name";
-- The owner keeps its privileges; every other non-superuser role loses CONNECT and TEMP.
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
    echo "liaison: database ${name} owned by role ${name}"
}

# The password of a service, from the file named by LIAISON_<SERVICE>_DB_PASSWORD_FILE (one line;
# a trailing newline is ignored). Fails, naming the variable, when it is unset, unreadable or empty.
read_password() {
    local variable file
    variable="LIAISON_$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD_FILE"
    file="${!variable:-}"
    if [ -z "$file" ]; then
        echo "liaison: $variable is not set" >&2
        return 1
    fi
    local password
    password="$(cat -- "$file")" || { echo "liaison: $variable: cannot read $file" >&2; return 1; }
    if [ -z "$password" ]; then
        echo "liaison: $variable: $file is empty" >&2
        return 1
    fi
    printf '%s' "$password"
}

# Every password is read before anything is created.
contacts_password="$(read_password contacts)"
scheduling_password="$(read_password scheduling)"
mediation_password="$(read_password mediation)"
reporting_password="$(read_password reporting)"

create_service_database contacts   "$contacts_password"
create_service_database scheduling "$scheduling_password"
create_service_database mediation  "$mediation_password"
create_service_database reporting  "$reporting_password"

# The maintenance databases (postgres, template1) are open to PUBLIC by default; close them
# too so a service role can reach nothing but its own database. Set
# LIAISON_LOCK_MAINTENANCE_DBS=false on a shared server where other tenants rely on them.
if [ "${LIAISON_LOCK_MAINTENANCE_DBS:-true}" = "true" ]; then
    "${psql_admin[@]}" <<'SQL'
REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;
SQL
    echo "liaison: CONNECT revoked from PUBLIC on postgres and template1"
fi
