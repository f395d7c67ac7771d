#!/bin/sh
# Prepare a Temporal namespace for csflow: create it if it is missing and register csflow's
# custom search attributes. Run by the one-shot `temporal-setup` service
# (temporalio/admin-tools) once the server is up; `worker` and `api` start only after it has
# exited 0. Safe to run any number of times, against this stack's server or an existing one.
#
# POSIX sh on purpose: the admin-tools image is Alpine (busybox), without bash.
#
# Settings (environment):
#   TEMPORAL_ADDRESS              frontend host:port                (default temporal:7233)
#   TEMPORAL_NAMESPACE            namespace to prepare              (default default)
#   TEMPORAL_NAMESPACE_RETENTION  how long closed workflows are kept (default 720h = 30 days)
#   CSFLOW_SEARCH_ATTRIBUTES      Name=Type pairs separated by spaces, commas or newlines.
#                                 docker-compose.yml keeps the list; tests/deploy checks it
#                                 against csflow.search_attributes.ALL.
#   TEMPORAL_SETUP_WAIT_SECONDS   how long to wait for the server, then for the namespace
#                                 to become usable                  (default 180)
#   TEMPORAL_SETUP_POLL_SECONDS   pause between those checks         (default 2)
#   TEMPORAL_CLI                  the temporal CLI to run           (default temporal)
#
# An attribute that already exists with the same type is left alone. One that exists with a
# different type stops the script with exit 1: Temporal cannot change a type in place, so a
# person has to decide (see docs/deployment.md).
set -eu
set -f  # no pathname expansion: the attribute list is split on spaces, never globbed

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-720h}"
WAIT_SECONDS="${TEMPORAL_SETUP_WAIT_SECONDS:-180}"
POLL_SECONDS="${TEMPORAL_SETUP_POLL_SECONDS:-2}"
CLI="${TEMPORAL_CLI:-temporal}"
ATTRIBUTES=$(printf '%s' "${CSFLOW_SEARCH_ATTRIBUTES:-}" | tr ',\n\t' '   ')

log() {
    echo "temporal-setup: $*"
}

fail() {
    echo "temporal-setup: ERROR: $*" >&2
    exit 1
}

temporal_cli() {
    "$CLI" --address "$ADDRESS" "$@"
}

# Lower-case, drop the protobuf prefix and underscores: "Keyword", "KEYWORD",
# "INDEXED_VALUE_TYPE_KEYWORD" all become "keyword"; "KeywordList" and "KEYWORD_LIST" become
# "keywordlist". Keeps the comparison independent of how a CLI version prints types.
normalize_type() {
    printf '%s' "$1" | tr 'A-Z' 'a-z' | sed -e 's/^indexed_value_type_//' -e 's/_//g'
}

# Print the registered type of search attribute $1 in the namespace (empty if missing).
# `search-attribute list` prints a table of "Name Type" rows (system and custom together).
registered_type() {
    printf '%s\n' "$REGISTERED" | awk -v name="$1" '$1 == name { print $2; exit }'
}

[ -n "$(printf '%s' "$ATTRIBUTES" | tr -d ' ')" ] ||
    fail "CSFLOW_SEARCH_ATTRIBUTES is empty: nothing says which search attributes to register"

# Validate the whole list before touching the server.
for pair in $ATTRIBUTES; do
    name="${pair%%=*}"
    type="${pair#*=}"
    if [ "$name" = "$pair" ] || [ -z "$name" ] || [ -z "$type" ]; then
        fail "'$pair' in CSFLOW_SEARCH_ATTRIBUTES is not Name=Type"
    fi
    case "$(normalize_type "$type")" in
        keyword | text | int | double | bool | datetime | keywordlist) ;;
        *) fail "search attribute $name: unknown type '$type'" ;;
    esac
done

# 1. Wait until the frontend reports SERVING (the compose healthcheck only proved the port
#    is open).
deadline=$(($(date +%s) + WAIT_SECONDS))
until temporal_cli operator cluster health 2>/dev/null | grep -q SERVING; do
    [ "$(date +%s)" -lt "$deadline" ] ||
        fail "Temporal at $ADDRESS is not SERVING after ${WAIT_SECONDS}s"
    log "waiting for Temporal at $ADDRESS"
    sleep "$POLL_SECONDS"
done
log "Temporal at $ADDRESS is serving"

# 2. The namespace. Another run may create it between describe and create: describe again
#    before calling that a failure.
if temporal_cli operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
    log "namespace '$NAMESPACE' already exists"
else
    log "creating namespace '$NAMESPACE' (retention $RETENTION)"
    if ! temporal_cli operator namespace create --namespace "$NAMESPACE" \
        --retention "$RETENTION" \
        --description "csflow customer-service requests"; then
        temporal_cli operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1 ||
            fail "could not create namespace '$NAMESPACE'"
        log "namespace '$NAMESPACE' was created concurrently"
    fi
fi

# 3. A new namespace reaches every frontend's cache after a few seconds: until then listing
#    its search attributes fails.
deadline=$(($(date +%s) + WAIT_SECONDS))
until REGISTERED=$(temporal_cli operator search-attribute list --namespace "$NAMESPACE" 2>/dev/null); do
    [ "$(date +%s)" -lt "$deadline" ] ||
        fail "namespace '$NAMESPACE' not usable after ${WAIT_SECONDS}s"
    log "waiting for namespace '$NAMESPACE' to become usable"
    sleep "$POLL_SECONDS"
done

# 4. Register what is missing; refuse a type clash.
for pair in $ATTRIBUTES; do
    name="${pair%%=*}"
    type="${pair#*=}"
    current="$(registered_type "$name")"
    if [ -z "$current" ]; then
        log "registering search attribute $name ($type)"
        temporal_cli operator search-attribute create --namespace "$NAMESPACE" \
            --name "$name" --type "$type"
    elif [ "$(normalize_type "$current")" = "$(normalize_type "$type")" ]; then
        log "search attribute $name ($type) already registered"
    else
        fail "search attribute $name is registered as $current, csflow needs $type"
    fi
done

# 5. Verify from the server's point of view, so `worker` and `api` never start against a
#    namespace that lacks an attribute they upsert.
REGISTERED=$(temporal_cli operator search-attribute list --namespace "$NAMESPACE")
for pair in $ATTRIBUTES; do
    name="${pair%%=*}"
    type="${pair#*=}"
    current="$(registered_type "$name")"
    [ "$(normalize_type "$current")" = "$(normalize_type "$type")" ] ||
        fail "search attribute $name: expected $type, server reports '${current:-missing}'"
done
log "namespace '$NAMESPACE' is ready with:" $ATTRIBUTES
