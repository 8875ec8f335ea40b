#!/usr/bin/env bash
# Applies declared azauth mounts and roles through the app's Vault HTTP API.
#
# Runs in a Microsoft.Resources/deploymentScripts AzureCLI container (bash, az, curl, jq), signed
# in as a user-assigned managed identity that the app lists in AZAUTH_ADMIN_PRINCIPAL_IDS, or from
# a pipeline signed in (az login) as such an admin. Input, all from environment variables set by
# infra/modules/provision.bicep, or taken from main.bicep's provisionInput output in a pipeline:
#   VAULT_ADDR                  origin of the app, e.g. https://azauth-abc.azurewebsites.net
#   AZAUTH_ADMIN_AUDIENCE       resource to request the admin token for (the app's AZAUTH_ADMIN_AUDIENCE)
#   AZAUTH_MOUNTS               JSON [{path, description, config: {<config API fields>}}]
#   AZAUTH_ROLES                JSON [{mount, name, <role API fields>}]
#   AZAUTH_PRUNE                "true" deletes roles of the managed mounts that are not declared
#   AZAUTH_HEALTH_WAIT_SECONDS  how long to wait for GET sys/health to answer 200 (default 600)
#   AZAUTH_POLL_SECONDS         pause between health polls and retries (default 10)
#
# Idempotent: a mount is created only when GET sys/auth does not list it; config and roles are
# written whole every time (the same input gives the same stored result); a role is deleted only
# when AZAUTH_PRUNE is true. Mounts are never deleted here (that revokes every token they issued).
# Writes a JSON summary to $AZ_SCRIPTS_OUTPUT_PATH when set, and to stdout.
set -euo pipefail

: "${VAULT_ADDR:?VAULT_ADDR is required}"
: "${AZAUTH_ADMIN_AUDIENCE:?AZAUTH_ADMIN_AUDIENCE is required}"
: "${AZAUTH_MOUNTS:?AZAUTH_MOUNTS is required (a JSON array, possibly [])}"
: "${AZAUTH_ROLES:?AZAUTH_ROLES is required (a JSON array, possibly [])}"
PRUNE="${AZAUTH_PRUNE:-false}"
HEALTH_WAIT_SECONDS="${AZAUTH_HEALTH_WAIT_SECONDS:-600}"
POLL_SECONDS="${AZAUTH_POLL_SECONDS:-10}"
VAULT_ADDR="${VAULT_ADDR%/}"

# The app's own name pattern for mount paths and role names (Vault's GenericNameRegex, one segment).
NAME_PATTERN='^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$'

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
: >"$WORK/errors"
: >"$WORK/mounts_created"
: >"$WORK/configs_written"
: >"$WORK/roles_written"
: >"$WORK/roles_deleted"
: >"$WORK/roles_undeclared"

log() { echo "provision: $*" >&2; }
fail() {
  log "$*"
  exit 1
}
record_error() {
  log "error: $*"
  echo "$*" >>"$WORK/errors"
}

# --- input checks: everything is validated before the first write -------------------------------
jq -e 'type == "array" and all(.[]; type == "object" and (.path | type == "string") and (.config | type == "object"))' \
  <<<"$AZAUTH_MOUNTS" >/dev/null || fail 'AZAUTH_MOUNTS must be a JSON array of {path, description, config}'
jq -e 'type == "array" and all(.[]; type == "object" and (.mount | type == "string") and (.name | type == "string"))' \
  <<<"$AZAUTH_ROLES" >/dev/null || fail 'AZAUTH_ROLES must be a JSON array of {mount, name, ...}'
[[ "$PRUNE" == true || "$PRUNE" == false ]] || fail "AZAUTH_PRUNE must be true or false, got '$PRUNE'"

while IFS= read -r path; do
  [[ "$path" =~ $NAME_PATTERN ]] || fail "invalid mount path '$path': one segment of letters, digits, _ - ."
done < <(jq -r '.[].path' <<<"$AZAUTH_MOUNTS")
while IFS=$'\t' read -r mount name; do
  [[ "$mount" =~ $NAME_PATTERN ]] || fail "invalid mount '$mount' in role '$name'"
  [[ "$name" =~ $NAME_PATTERN ]] || fail "invalid role name '$name' in mount '$mount'"
done < <(jq -r '.[] | [.mount, .name] | @tsv' <<<"$AZAUTH_ROLES")

duplicate_mounts="$(jq -r '[.[].path] | group_by(.) | map(select(length > 1) | .[0]) | join(", ")' <<<"$AZAUTH_MOUNTS")"
[[ -z "$duplicate_mounts" ]] || fail "mounts declared twice: $duplicate_mounts"
# Role names are case-insensitive in the API, so "Web" and "web" are one role.
duplicate_roles="$(jq -r '[.[] | "\(.mount)/\(.name | ascii_downcase)"] | group_by(.) | map(select(length > 1) | .[0]) | join(", ")' <<<"$AZAUTH_ROLES")"
[[ -z "$duplicate_roles" ]] || fail "roles declared twice: $duplicate_roles"

# --- HTTP ----------------------------------------------------------------------------------------
# The admin token goes into a header file so it never appears on a command line.
HEADER_FILE="$WORK/headers"

# vault_call METHOD PATH [JSON_BODY]: prints the HTTP status; the response body is in $WORK/response.
# Retries connection failures, 429 and 502-504 (cold starts, throttling); other answers are final.
vault_call() {
  local method="$1" path="$2" body="${3-}" status="000" attempt
  local -a args
  for attempt in 1 2 3 4 5 6; do
    args=(--silent --show-error --max-time 60 --output "$WORK/response" --write-out '%{http_code}'
      --request "$method" --header @"$HEADER_FILE")
    if [[ -n "$body" ]]; then
      printf '%s' "$body" >"$WORK/request"
      args+=(--header 'Content-Type: application/json' --data-binary @"$WORK/request")
    fi
    status="$(curl "${args[@]}" "$VAULT_ADDR/v1/$path" 2>"$WORK/curl_error")" || status="000"
    case "$status" in
      000 | 429 | 502 | 503 | 504)
        log "$method /v1/$path answered ${status} (attempt $attempt): $(cat "$WORK/curl_error" "$WORK/response" 2>/dev/null | head -c 300 | tr '\n' ' ')"
        sleep "$((POLL_SECONDS * attempt))"
        ;;
      *)
        echo "$status"
        return 0
        ;;
    esac
  done
  echo "$status"
}

response_errors() { jq -r '(.errors // []) | join("; ")' "$WORK/response" 2>/dev/null || head -c 500 "$WORK/response"; }
print_warnings() { jq -r --arg what "$1" '(.warnings // [])[] | "provision: warning from \($what): \(.)"' "$WORK/response" 2>/dev/null >&2 || true; }

# --- wait for the app ----------------------------------------------------------------------------
: >"$HEADER_FILE"
deadline=$((SECONDS + HEALTH_WAIT_SECONDS))
while :; do
  status="$(curl --silent --max-time 30 --output "$WORK/response" --write-out '%{http_code}' "$VAULT_ADDR/v1/sys/health" 2>/dev/null)" || status="000"
  [[ "$status" == 200 ]] && break
  if ((SECONDS >= deadline)); then
    fail "GET $VAULT_ADDR/v1/sys/health answered $status for ${HEALTH_WAIT_SECONDS}s; is the azauth package published to the app? (publish it first: docs/operations.md, \"Deploy\")"
  fi
  log "waiting for $VAULT_ADDR/v1/sys/health (answered $status)"
  sleep "$POLL_SECONDS"
done

# --- admin token ---------------------------------------------------------------------------------
admin_token="$(az account get-access-token --resource "$AZAUTH_ADMIN_AUDIENCE" --query accessToken --output tsv)" ||
  fail "cannot get a token for $AZAUTH_ADMIN_AUDIENCE as the script's managed identity (does that audience exist in this tenant, and may this identity request it?)"
[[ -n "$admin_token" ]] || fail "empty token for $AZAUTH_ADMIN_AUDIENCE"
printf 'X-Vault-Token: %s\n' "$admin_token" >"$HEADER_FILE"
unset admin_token

# --- mounts --------------------------------------------------------------------------------------
status="$(vault_call GET sys/auth)"
[[ "$status" == 200 ]] || fail "GET sys/auth answered $status: $(response_errors)"
jq -r '.data | keys[] | rtrimstr("/")' "$WORK/response" >"$WORK/existing_mounts"

mount_exists() { grep -qxF "$1" "$WORK/existing_mounts"; }

while IFS= read -r declared; do
  path="$(jq -r '.path' <<<"$declared")"
  if mount_exists "$path"; then
    log "mount $path exists"
  else
    body="$(jq -c '{type: "azure", description: .description}' <<<"$declared")"
    status="$(vault_call POST "sys/auth/$path" "$body")"
    if [[ "$status" =~ ^2 ]]; then
      log "mount $path created"
      echo "$path" >>"$WORK/mounts_created"
      echo "$path" >>"$WORK/existing_mounts"
    elif [[ "$status" == 400 ]] && grep -q 'already in use' "$WORK/response"; then
      # Created by a retried request or a concurrent run: the goal is reached.
      log "mount $path already exists"
      echo "$path" >>"$WORK/existing_mounts"
    else
      record_error "POST sys/auth/$path answered $status: $(response_errors)"
      continue
    fi
  fi
  status="$(vault_call POST "auth/$path/config" "$(jq -c '.config' <<<"$declared")")"
  if [[ "$status" =~ ^2 ]]; then
    print_warnings "auth/$path/config"
    log "config of $path written"
    echo "$path" >>"$WORK/configs_written"
  else
    record_error "POST auth/$path/config answered $status: $(response_errors)"
  fi
done < <(jq -c '.[]' <<<"$AZAUTH_MOUNTS")

# --- roles ---------------------------------------------------------------------------------------
while IFS= read -r declared; do
  mount="$(jq -r '.mount' <<<"$declared")"
  name="$(jq -r '.name' <<<"$declared")"
  if ! mount_exists "$mount"; then
    record_error "role $name: mount $mount neither exists nor was created"
    continue
  fi
  status="$(vault_call POST "auth/$mount/role/$name" "$(jq -c 'del(.mount, .name)' <<<"$declared")")"
  if [[ "$status" =~ ^2 ]]; then
    print_warnings "auth/$mount/role/$name"
    log "role $mount/$name written"
    echo "$mount/${name,,}" >>"$WORK/roles_written"
  else
    record_error "POST auth/$mount/role/$name answered $status: $(response_errors)"
  fi
done < <(jq -c '.[]' <<<"$AZAUTH_ROLES")

# --- roles not declared: reported, and deleted only with prune -----------------------------------
jq -r '.[].path' <<<"$AZAUTH_MOUNTS" >"$WORK/managed_mounts"
jq -r '.[].mount' <<<"$AZAUTH_ROLES" >>"$WORK/managed_mounts"
sort -u -o "$WORK/managed_mounts" "$WORK/managed_mounts"
jq -r '.[] | "\(.mount)/\(.name | ascii_downcase)"' <<<"$AZAUTH_ROLES" >"$WORK/declared_roles"

while IFS= read -r mount; do
  [[ -n "$mount" ]] || continue
  mount_exists "$mount" || continue
  status="$(vault_call GET "auth/$mount/role?list=true")"
  if [[ "$status" == 404 ]]; then
    continue # no roles at all
  elif [[ "$status" != 200 ]]; then
    record_error "listing roles of $mount answered $status: $(response_errors)"
    continue
  fi
  while IFS= read -r stored; do
    [[ -n "$stored" ]] || continue
    if grep -qxF "$mount/${stored,,}" "$WORK/declared_roles"; then
      continue
    fi
    if [[ "$PRUNE" == true ]]; then
      status="$(vault_call DELETE "auth/$mount/role/$stored")"
      if [[ "$status" =~ ^2 ]]; then
        log "role $mount/$stored deleted (prune)"
        echo "$mount/$stored" >>"$WORK/roles_deleted"
      else
        record_error "DELETE auth/$mount/role/$stored answered $status: $(response_errors)"
      fi
    else
      log "role $mount/$stored is not declared; kept (prune is false)"
      echo "$mount/$stored" >>"$WORK/roles_undeclared"
    fi
  done < <(jq -r '(.data.keys // [])[]' "$WORK/response")
done <"$WORK/managed_mounts"

# --- summary -------------------------------------------------------------------------------------
as_json_array() { jq -R . <"$1" | jq -s -c .; }
summary="$(jq -n -c \
  --argjson mountsCreated "$(as_json_array "$WORK/mounts_created")" \
  --argjson configsWritten "$(as_json_array "$WORK/configs_written")" \
  --argjson rolesWritten "$(as_json_array "$WORK/roles_written")" \
  --argjson rolesDeleted "$(as_json_array "$WORK/roles_deleted")" \
  --argjson rolesUndeclared "$(as_json_array "$WORK/roles_undeclared")" \
  --argjson errors "$(as_json_array "$WORK/errors")" \
  '{mountsCreated: $mountsCreated, configsWritten: $configsWritten, rolesWritten: $rolesWritten,
    rolesDeleted: $rolesDeleted, rolesUndeclared: $rolesUndeclared, errors: $errors}')"
if [[ -n "${AZ_SCRIPTS_OUTPUT_PATH:-}" ]]; then
  printf '%s\n' "$summary" >"$AZ_SCRIPTS_OUTPUT_PATH"
fi
printf '%s\n' "$summary"

if [[ -s "$WORK/errors" ]]; then
  fail "$(wc -l <"$WORK/errors") request(s) failed; see the errors above"
fi
