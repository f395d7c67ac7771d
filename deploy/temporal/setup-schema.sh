#!/bin/sh
# Create or upgrade Temporal's two PostgreSQL databases: the persistence store and the
# visibility store. Run by the one-shot `temporal-schema` service (temporalio/admin-tools)
# before the server starts, on every `docker compose up`.
#
# Every step is idempotent, so running it again is safe and is how a server upgrade applies
# its schema changes:
#   create-database  ignores "database already exists";
#   setup-schema     only records version 0.0 on an empty database (it skips when the
#                    database is already at a later version);
#   update-schema    applies only the versioned scripts newer than the recorded version.
#
# POSIX sh on purpose: the admin-tools image is Alpine (busybox), without bash.
#
# Settings (environment): SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD, SQL_PLUGIN are read by
# temporal-sql-tool itself; TEMPORAL_DB and TEMPORAL_VISIBILITY_DB name the two databases;
# TEMPORAL_SCHEMA_DIR is where the image keeps the PostgreSQL v12 schema; SCHEMA_WAIT_SECONDS
# bounds the wait for the database to accept connections.
set -eu

: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:=postgresql}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:?SQL_USER must name the PostgreSQL role Temporal uses}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}"
: "${TEMPORAL_DB:=temporal}"
: "${TEMPORAL_VISIBILITY_DB:=temporal_visibility}"
: "${TEMPORAL_SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"
: "${SCHEMA_WAIT_SECONDS:=120}"
export SQL_PLUGIN SQL_HOST SQL_PORT SQL_USER SQL_PASSWORD

log() {
    echo "temporal-schema: $*"
}

# The first statement doubles as the readiness probe: retry create-database until PostgreSQL
# accepts the connection (compose already waited for pg_isready; this covers a database that
# is still starting or one outside this stack).
create_database() {
    db="$1"
    deadline=$(($(date +%s) + SCHEMA_WAIT_SECONDS))
    until temporal-sql-tool --db "$db" create-database; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "could not create database '$db' on $SQL_HOST:$SQL_PORT" \
                "within ${SCHEMA_WAIT_SECONDS}s" >&2
            exit 1
        fi
        log "PostgreSQL at $SQL_HOST:$SQL_PORT not ready yet; retrying in 2s"
        sleep 2
    done
}

setup_database() {
    db="$1"
    schema="$2"
    if [ ! -d "$schema" ]; then
        log "schema directory $schema not found in this image" >&2
        exit 1
    fi
    log "database '$db': create, set up and update to the latest schema ($schema)"
    create_database "$db"
    temporal-sql-tool --db "$db" setup-schema -v 0.0
    temporal-sql-tool --db "$db" update-schema -d "$schema"
}

log "plugin $SQL_PLUGIN, server $SQL_USER@$SQL_HOST:$SQL_PORT"
setup_database "$TEMPORAL_DB" "$TEMPORAL_SCHEMA_DIR/temporal/versioned"
setup_database "$TEMPORAL_VISIBILITY_DB" "$TEMPORAL_SCHEMA_DIR/visibility/versioned"
log "done"
