#!/usr/bin/env bash
# Applies declared azauth policies, auth mounts and roles, and KV mounts through the app's Vault HTTP
# API, with curl and jq.
#
# Runs in a Microsoft.Resources/deploymentScripts AzureCLI container (bash, az, curl, jq) signed in
# as a user-assigned managed identity, or from a pipeline signed in with `az login` (a federated
# credential or a managed identity: no secret). How it authenticates, AZAUTH_PROVISION_AUTH:
#   admin  an Entra token for AZAUTH_ADMIN_AUDIENCE; the principal must be in the app's
#          AZAUTH_ADMIN_PRINCIPAL_IDS (root). The bootstrap: only such a run writes the provisioning
#          policy and the provisioning role of AZAUTH_PROVISION_LOGIN. Default without VAULT_TOKEN.
#   login  an Entra token for AZAUTH_PROVISION_LOGIN's resource, exchanged at
#          auth/<its mount>/login (its role) for a token that carries the provisioning policy only;
#          the token is revoked when the script ends.
#   token  VAULT_TOKEN as given (e.g. from `vault write auth/azure/login role=... jwt=...`).
#          Default when VAULT_TOKEN is set.
# Input, from environment variables set by infra/modules/provision.bicep, or taken from main.bicep's
# provisionInput output in a pipeline:
#   VAULT_ADDR                  origin of the app, e.g. https://azauth-abc.azurewebsites.net
#   AZAUTH_ADMIN_AUDIENCE       resource of the admin token (the app's AZAUTH_ADMIN_AUDIENCE); admin only
#   AZAUTH_MOUNTS               JSON [{path, description, config: {<config API fields>}}]
#   AZAUTH_ROLES                JSON [{mount, name, <role API fields>}]
#   AZAUTH_POLICIES             JSON [{name, policy: "<HCL or JSON policy text>"}] (default [])
#   AZAUTH_KV_MOUNTS            JSON [{path, description, options: {version: "1"|"2"},
#                               config: {default_lease_ttl, max_lease_ttl}}] (default [])
#   AZAUTH_PROVISION_LOGIN      JSON {mount, role, policy, resource}, or {} (default): the narrow login
#   AZAUTH_PROVISION_AUTH       admin, login or token (see above)
#   VAULT_TOKEN                 the token of `token` mode
#   AZAUTH_PRUNE                "true" deletes roles of the managed mounts that are not declared
#   AZAUTH_HEALTH_WAIT_SECONDS  how long to wait for GET sys/health to answer 200 (default 600)
#   AZAUTH_POLL_SECONDS         pause between health polls and retries (default 10)
#
# Idempotent: a mount is created only when missing (an existing KV mount of the declared version is
# tuned to the declared description and lease TTLs; one of another version or type is left alone and
# reported); configs, roles and policies are written whole every time (the same input gives the same
# stored result); a role is deleted only when AZAUTH_PRUNE is true. Mounts and policies are never
# deleted here (disabling a mount revokes its tokens or deletes its secrets). Secrets are never
# written: no KV data, no client_secret.
# Writes a JSON summary to $AZ_SCRIPTS_OUTPUT_PATH when set, and to stdout.
set -euo pipefail

: "${VAULT_ADDR:?VAULT_ADDR is required}"
: "${AZAUTH_MOUNTS:?AZAUTH_MOUNTS is required (a JSON array, possibly [])}"
: "${AZAUTH_ROLES:?AZAUTH_ROLES is required (a JSON array, possibly [])}"
POLICIES="${AZAUTH_POLICIES:-[]}"
KV_MOUNTS="${AZAUTH_KV_MOUNTS:-[]}"
LOGIN="${AZAUTH_PROVISION_LOGIN:-}"
[[ -n "$LOGIN" ]] || LOGIN='{}'
ADMIN_AUDIENCE="${AZAUTH_ADMIN_AUDIENCE:-}"
GIVEN_TOKEN="${VAULT_TOKEN:-}"
AUTH="${AZAUTH_PROVISION_AUTH:-}"
PRUNE="${AZAUTH_PRUNE:-false}"
HEALTH_WAIT_SECONDS="${AZAUTH_HEALTH_WAIT_SECONDS:-600}"
POLL_SECONDS="${AZAUTH_POLL_SECONDS:-10}"
VAULT_ADDR="${VAULT_ADDR%/}"
if [[ -z "$AUTH" ]]; then
  if [[ -n "$GIVEN_TOKEN" ]]; then AUTH=token; else AUTH=admin; fi
fi
# Nothing this script starts needs the token in its environment.
unset VAULT_TOKEN

# The app's own name pattern for mount paths, role and policy names (Vault's GenericNameRegex, one segment).
NAME_PATTERN='^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$'
# First path segments no secrets engine may take (the API answers 403 `cannot mount`).
RESERVED_KV_PATHS=' sys auth audit cubbyhole identity '

WORK="$(mktemp -d)"
HEADER_FILE="$WORK/headers"
REVOKE_AT_EXIT=false
cleanup() {
  # A token this script obtained by logging in is revoked, so it outlives the run nowhere.
  if [[ "$REVOKE_AT_EXIT" == true ]]; then
    curl --silent --max-time 30 --output /dev/null --request POST --header @"$HEADER_FILE" "$VAULT_ADDR/v1/auth/token/revoke-self" || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
for list in errors mounts_created configs_written roles_written roles_deleted roles_undeclared policies_written kv_mounts_created kv_mounts_tuned; do
  : >"$WORK/$list"
done

log() { echo "provision: $*" >&2; }
fail() {
  log "$*"
  exit 1
}
record_error() {
  log "error: $*"
  echo "$*" >>"$WORK/errors"
}

# --- input checks: everything is validated before the first request ------------------------------
jq -e 'type == "array" and all(.[]; type == "object" and (.path | type == "string") and (.config | type == "object"))' \
  <<<"$AZAUTH_MOUNTS" >/dev/null || fail 'AZAUTH_MOUNTS must be a JSON array of {path, description, config}'
jq -e 'type == "array" and all(.[]; type == "object" and (.mount | type == "string") and (.name | type == "string"))' \
  <<<"$AZAUTH_ROLES" >/dev/null || fail 'AZAUTH_ROLES must be a JSON array of {mount, name, ...}'
jq -e 'type == "array" and all(.[]; type == "object" and (.name | type == "string") and (.policy | type == "string" and length > 0))' \
  <<<"$POLICIES" >/dev/null || fail 'AZAUTH_POLICIES must be a JSON array of {name, policy} with a non-empty policy text'
jq -e 'type == "array" and all(.[]; type == "object" and (.path | type == "string")
    and (.options | type == "object" and (.version == "1" or .version == "2"))
    and ((.config // {}) | type == "object") and ((.description // "") | type == "string"))' \
  <<<"$KV_MOUNTS" >/dev/null || fail 'AZAUTH_KV_MOUNTS must be a JSON array of {path, description, options: {version: "1" or "2"}, config}'
jq -e 'type == "object" and (((.role // "") == "") or all(.mount, .role, .policy, .resource; type == "string" and length > 0))' \
  <<<"$LOGIN" >/dev/null || fail 'AZAUTH_PROVISION_LOGIN must be {} or {mount, role, policy, resource}, each a non-empty string'
[[ "$PRUNE" == true || "$PRUNE" == false ]] || fail "AZAUTH_PRUNE must be true or false, got '$PRUNE'"

while IFS= read -r path; do
  [[ "$path" =~ $NAME_PATTERN ]] || fail "invalid mount path '$path': one segment of letters, digits, _ - ."
done < <(jq -r '.[].path' <<<"$AZAUTH_MOUNTS")
while IFS=$'\t' read -r mount name; do
  [[ "$mount" =~ $NAME_PATTERN ]] || fail "invalid mount '$mount' in role '$name'"
  [[ "$name" =~ $NAME_PATTERN ]] || fail "invalid role name '$name' in mount '$mount'"
done < <(jq -r '.[] | [.mount, .name] | @tsv' <<<"$AZAUTH_ROLES")
while IFS= read -r name; do
  [[ "$name" =~ $NAME_PATTERN ]] || fail "invalid policy name '$name': one segment of letters, digits, _ - ."
  [[ "${name,,}" != root ]] || fail 'the root policy cannot be declared: it is built in and not writable'
done < <(jq -r '.[].name' <<<"$POLICIES")
while IFS= read -r path; do
  [[ "$path" =~ $NAME_PATTERN ]] || fail "invalid KV mount path '$path': one segment of letters, digits, _ - ."
  [[ "$RESERVED_KV_PATHS" != *" ${path,,} "* ]] || fail "invalid KV mount path '$path': reserved for the system (sys, auth, audit, cubbyhole, identity)"
done < <(jq -r '.[].path' <<<"$KV_MOUNTS")

duplicate_mounts="$(jq -r '[.[].path] | group_by(.) | map(select(length > 1) | .[0]) | join(", ")' <<<"$AZAUTH_MOUNTS")"
[[ -z "$duplicate_mounts" ]] || fail "mounts declared twice: $duplicate_mounts"
# Role and policy names are case-insensitive in the API, so "Web" and "web" are one role.
duplicate_roles="$(jq -r '[.[] | "\(.mount)/\(.name | ascii_downcase)"] | group_by(.) | map(select(length > 1) | .[0]) | join(", ")' <<<"$AZAUTH_ROLES")"
[[ -z "$duplicate_roles" ]] || fail "roles declared twice: $duplicate_roles"
duplicate_policies="$(jq -r '[.[].name | ascii_downcase] | group_by(.) | map(select(length > 1) | .[0]) | join(", ")' <<<"$POLICIES")"
[[ -z "$duplicate_policies" ]] || fail "policies declared twice: $duplicate_policies"
duplicate_kv="$(jq -r '[.[].path] | group_by(.) | map(select(length > 1) | .[0]) | join(", ")' <<<"$KV_MOUNTS")"
[[ -z "$duplicate_kv" ]] || fail "KV mounts declared twice: $duplicate_kv"

LOGIN_ROLE="$(jq -r '.role // ""' <<<"$LOGIN")"
LOGIN_MOUNT="$(jq -r '.mount // ""' <<<"$LOGIN")"
LOGIN_POLICY="$(jq -r '(.policy // "") | ascii_downcase' <<<"$LOGIN")"
LOGIN_RESOURCE="$(jq -r '.resource // ""' <<<"$LOGIN")"
if [[ -n "$LOGIN_ROLE" ]]; then
  for name in "$LOGIN_MOUNT" "$LOGIN_ROLE" "$LOGIN_POLICY"; do
    [[ "$name" =~ $NAME_PATTERN ]] || fail "invalid name '$name' in AZAUTH_PROVISION_LOGIN"
  done
  [[ "$LOGIN_POLICY" != root ]] || fail 'the provisioning policy cannot be root'
  jq -e --arg p "$LOGIN_POLICY" 'all(.[]; (.name | ascii_downcase) != $p)' <<<"$POLICIES" >/dev/null ||
    fail "policy '$LOGIN_POLICY' is the provisioning policy of AZAUTH_PROVISION_LOGIN, which this script derives: do not declare it in AZAUTH_POLICIES"
  jq -e --arg m "$LOGIN_MOUNT" --arg r "${LOGIN_ROLE,,}" 'any(.[]; .mount == $m and (.name | ascii_downcase) == $r)' <<<"$AZAUTH_ROLES" >/dev/null ||
    fail "AZAUTH_PROVISION_LOGIN names role '$LOGIN_ROLE' of mount '$LOGIN_MOUNT', which AZAUTH_ROLES does not declare"
fi

case "$AUTH" in
  admin) [[ -n "$ADMIN_AUDIENCE" ]] || fail 'AZAUTH_PROVISION_AUTH=admin needs AZAUTH_ADMIN_AUDIENCE' ;;
  login) [[ -n "$LOGIN_ROLE" ]] || fail 'AZAUTH_PROVISION_AUTH=login needs AZAUTH_PROVISION_LOGIN with a mount, role, policy and resource' ;;
  token) [[ -n "$GIVEN_TOKEN" ]] || fail 'AZAUTH_PROVISION_AUTH=token needs VAULT_TOKEN' ;;
  *) fail "AZAUTH_PROVISION_AUTH must be admin, login or token, got '$AUTH'" ;;
esac

# The provisioning role is written by Entra-admin runs only: a run with the narrow token must not
# be able to rebind or widen the role it logged in with.
is_login_role() { [[ -n "$LOGIN_ROLE" && "$1" == "$LOGIN_MOUNT" && "${2,,}" == "${LOGIN_ROLE,,}" ]]; }

# --- the provisioning policy ---------------------------------------------------------------------
# Exactly what this script needs for these declarations: read the mount tables, enable and configure
# the declared auth mounts (sys/auth/<path> is root-protected: sudo), write and list roles of the
# managed mounts (delete only with prune), enable and tune the declared KV mounts, write the declared
# policies. Not its own policy, and only read on its own role: widening either takes an admin run.
# No delete on any mount, no sys/rotate*, no secret data.
derive_provisioning_policy() {
  jq -n -r \
    --argjson mounts "$AZAUTH_MOUNTS" --argjson roles "$AZAUTH_ROLES" --argjson kv "$KV_MOUNTS" \
    --argjson policies "$POLICIES" --arg loginMount "$LOGIN_MOUNT" --arg loginRole "$LOGIN_ROLE" --arg prune "$PRUNE" '
    def block($path; $caps): "path \"\($path)\" {\n  capabilities = [\($caps | sort | map("\"\(.)\"") | join(", "))]\n}\n";
    ($mounts | map(.path)) as $declared
    | (($declared + ($roles | map(.mount))) | unique) as $managed
    | [
        "# azauth provisioning policy, derived by infra/scripts/provision.sh from the declarations and\n# rewritten by each Entra-admin run of it. Edit the declarations, not this text.\n",
        block("sys/auth"; ["read"]),
        ($declared[] | (block("sys/auth/\(.)"; ["sudo", "update"]), block("auth/\(.)/config"; ["create", "update"]))),
        ($managed[] | block("auth/\(.)/role/*"; ["create", "list", "update"] + (if $prune == "true" then ["delete"] else [] end))),
        block("auth/\($loginMount)/role/\($loginRole)"; ["read"]),
        (if ($kv | length) > 0 then block("sys/mounts"; ["read"]) else empty end),
        ($kv[] | .path | (block("sys/mounts/\(.)"; ["update"]), block("sys/mounts/\(.)/tune"; ["update"]))),
        ($policies[] | .name | ascii_downcase | block("sys/policies/acl/\(.)"; ["update"]))
      ]
    | join("\n")'
}

# --- HTTP ----------------------------------------------------------------------------------------
# The token goes into a header file so it never appears on a command line.

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
# recorded_write METHOD PATH BODY MESSAGE LIST ITEM: on success, prints the answer's warnings, logs
# MESSAGE and notes ITEM in $WORK/LIST (the summary); on failure, records the error.
recorded_write() {
  local method="$1" path="$2" body="$3" message="$4" list="$5" item="$6" write_status
  write_status="$(vault_call "$method" "$path" "$body")"
  if [[ "$write_status" =~ ^2 ]]; then
    print_warnings "$path"
    log "$message"
    echo "$item" >>"$WORK/$list"
  else
    record_error "$method $path answered $write_status: $(response_errors)"
  fi
}

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

# --- authenticate --------------------------------------------------------------------------------
case "$AUTH" in
  admin)
    admin_token="$(az account get-access-token --resource "$ADMIN_AUDIENCE" --query accessToken --output tsv)" ||
      fail "cannot get a token for $ADMIN_AUDIENCE as the signed-in identity (does that audience exist in this tenant, and may this identity request it?)"
    [[ -n "$admin_token" ]] || fail "empty token for $ADMIN_AUDIENCE"
    printf 'X-Vault-Token: %s\n' "$admin_token" >"$HEADER_FILE"
    unset admin_token
    log "authenticated with an Entra admin token (root)"
    ;;
  login)
    jwt="$(az account get-access-token --resource "$LOGIN_RESOURCE" --query accessToken --output tsv)" ||
      fail "cannot get a token for $LOGIN_RESOURCE (the resource of mount $LOGIN_MOUNT) as the signed-in identity"
    [[ -n "$jwt" ]] || fail "empty token for $LOGIN_RESOURCE"
    # Built with printf, a shell builtin, so the JWT is on no command line; both parts are
    # pattern-checked (the role above, the JWT here) and need no JSON escaping.
    [[ "$jwt" =~ ^[A-Za-z0-9._-]+$ ]] || fail "the token for $LOGIN_RESOURCE is not a JWT"
    status="$(vault_call POST "auth/$LOGIN_MOUNT/login" "$(printf '{"role":"%s","jwt":"%s"}' "$LOGIN_ROLE" "$jwt")")"
    unset jwt
    rm -f "$WORK/request"
    [[ "$status" == 200 ]] ||
      fail "login at auth/$LOGIN_MOUNT/login with role $LOGIN_ROLE answered $status: $(response_errors) (the bootstrap, an Entra-admin run, writes that role; is this identity bound to it?)"
    client_token="$(jq -r '.auth.client_token // ""' "$WORK/response")"
    rm -f "$WORK/response"
    [[ -n "$client_token" ]] || fail "login at auth/$LOGIN_MOUNT/login returned no token"
    printf 'X-Vault-Token: %s\n' "$client_token" >"$HEADER_FILE"
    unset client_token
    REVOKE_AT_EXIT=true
    log "logged in through auth/$LOGIN_MOUNT role $LOGIN_ROLE (policy $LOGIN_POLICY)"
    ;;
  token)
    printf 'X-Vault-Token: %s\n' "$GIVEN_TOKEN" >"$HEADER_FILE"
    log "authenticated with VAULT_TOKEN"
    ;;
esac
unset GIVEN_TOKEN

# --- policies (first, so that roles naming them grant something from their first login) ---------
if [[ -n "$LOGIN_ROLE" ]]; then
  if [[ "$AUTH" == admin ]]; then
    recorded_write PUT "sys/policies/acl/$LOGIN_POLICY" "$(jq -n -c --arg policy "$(derive_provisioning_policy)" '{policy: $policy}')" \
      "provisioning policy $LOGIN_POLICY written" policies_written "$LOGIN_POLICY"
  else
    log "provisioning policy $LOGIN_POLICY and role $LOGIN_MOUNT/$LOGIN_ROLE are left as they are: only an Entra-admin run writes them"
  fi
fi

while IFS= read -r declared; do
  name="$(jq -r '.name | ascii_downcase' <<<"$declared")"
  recorded_write PUT "sys/policies/acl/$name" "$(jq -c '{policy: .policy}' <<<"$declared")" "policy $name written" policies_written "$name"
done < <(jq -c '.[]' <<<"$POLICIES")

# --- auth mounts -----------------------------------------------------------------------------------
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
  recorded_write POST "auth/$path/config" "$(jq -c '.config' <<<"$declared")" "config of $path written" configs_written "$path"
done < <(jq -c '.[]' <<<"$AZAUTH_MOUNTS")

# --- KV mounts -------------------------------------------------------------------------------------
# An existing mount is never disabled or re-created here: that deletes every secret in it.
read_kv_mounts() {
  local status
  status="$(vault_call GET sys/mounts)"
  if [[ "$status" != 200 ]]; then
    record_error "GET sys/mounts answered $status: $(response_errors)"
    return 1
  fi
  jq -c '.data' "$WORK/response" >"$WORK/existing_kv"
}

# apply_existing_kv DECLARED INFO: tune a mount of the declared type and version; report any other.
apply_existing_kv() {
  local declared="$1" info="$2" path type version wanted status
  path="$(jq -r '.path' <<<"$declared")"
  type="$(jq -r '.type' <<<"$info")"
  version="$(jq -r '(.options.version // "") | if . == "" then "1" else . end' <<<"$info")"
  wanted="$(jq -r '.options.version' <<<"$declared")"
  if [[ "$type" != kv ]]; then
    record_error "KV mount $path: a mount of type $type exists at $path/; left alone (this script never disables a mount)"
    return 0
  fi
  if [[ "$version" != "$wanted" ]]; then
    if [[ "$version" == 1 ]]; then
      record_error "KV mount $path is version 1 but declared version 2; left alone: upgrading moves its data and changes its paths for clients ($path/<key> becomes $path/data/<key>), so do it deliberately (vault kv enable-versioning $path), then run this again"
    else
      record_error "KV mount $path is version $version but declared version $wanted; left alone: a KV mount cannot be downgraded (declare version $version)"
    fi
    return 0
  fi
  recorded_write POST "sys/mounts/$path/tune" "$(jq -c '{description: (.description // "")} + (.config // {})' <<<"$declared")" \
    "KV mount $path (version $version) tuned" kv_mounts_tuned "$path"
}

if [[ "$(jq 'length' <<<"$KV_MOUNTS")" -gt 0 ]] && read_kv_mounts; then
  while IFS= read -r declared; do
    path="$(jq -r '.path' <<<"$declared")"
    info="$(jq -c --arg key "$path/" '.[$key] // empty' "$WORK/existing_kv")"
    if [[ -n "$info" ]]; then
      apply_existing_kv "$declared" "$info"
      continue
    fi
    body="$(jq -c '{type: "kv", description: (.description // ""), options: .options, config: (.config // {})}' <<<"$declared")"
    status="$(vault_call POST "sys/mounts/$path" "$body")"
    if [[ "$status" =~ ^2 ]]; then
      print_warnings "sys/mounts/$path"
      log "KV mount $path created (version $(jq -r '.options.version' <<<"$declared"))"
      echo "$path" >>"$WORK/kv_mounts_created"
    elif [[ "$status" == 409 ]] && grep -q 'already in use' "$WORK/response"; then
      # Created meanwhile by a retried request or a concurrent run: check what is there.
      read_kv_mounts || continue
      info="$(jq -c --arg key "$path/" '.[$key] // empty' "$WORK/existing_kv")"
      if [[ -n "$info" ]]; then
        apply_existing_kv "$declared" "$info"
      else
        record_error "POST sys/mounts/$path answered 409, but GET sys/mounts does not list $path/"
      fi
    else
      record_error "POST sys/mounts/$path answered $status: $(response_errors)"
    fi
  done < <(jq -c '.[]' <<<"$KV_MOUNTS")
fi

# --- roles ---------------------------------------------------------------------------------------
while IFS= read -r declared; do
  mount="$(jq -r '.mount' <<<"$declared")"
  name="$(jq -r '.name' <<<"$declared")"
  if [[ "$AUTH" != admin ]] && is_login_role "$mount" "$name"; then
    continue # reported with the provisioning policy above
  fi
  if ! mount_exists "$mount"; then
    record_error "role $name: mount $mount neither exists nor was created"
    continue
  fi
  recorded_write POST "auth/$mount/role/$name" "$(jq -c 'del(.mount, .name)' <<<"$declared")" "role $mount/$name written" roles_written "$mount/${name,,}"
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
  --arg auth "$AUTH" \
  --argjson policiesWritten "$(as_json_array "$WORK/policies_written")" \
  --argjson mountsCreated "$(as_json_array "$WORK/mounts_created")" \
  --argjson configsWritten "$(as_json_array "$WORK/configs_written")" \
  --argjson kvMountsCreated "$(as_json_array "$WORK/kv_mounts_created")" \
  --argjson kvMountsTuned "$(as_json_array "$WORK/kv_mounts_tuned")" \
  --argjson rolesWritten "$(as_json_array "$WORK/roles_written")" \
  --argjson rolesDeleted "$(as_json_array "$WORK/roles_deleted")" \
  --argjson rolesUndeclared "$(as_json_array "$WORK/roles_undeclared")" \
  --argjson errors "$(as_json_array "$WORK/errors")" \
  '{auth: $auth, policiesWritten: $policiesWritten, mountsCreated: $mountsCreated, configsWritten: $configsWritten,
    kvMountsCreated: $kvMountsCreated, kvMountsTuned: $kvMountsTuned, rolesWritten: $rolesWritten,
    rolesDeleted: $rolesDeleted, rolesUndeclared: $rolesUndeclared, errors: $errors}')"
if [[ -n "${AZ_SCRIPTS_OUTPUT_PATH:-}" ]]; then
  printf '%s\n' "$summary" >"$AZ_SCRIPTS_OUTPUT_PATH"
fi
printf '%s\n' "$summary"

if [[ -s "$WORK/errors" ]]; then
  if [[ "$AUTH" != admin ]] && grep -q 'answered 403' "$WORK/errors"; then
    if [[ -n "$LOGIN_ROLE" ]]; then
      log "the token's policies do not allow what the 403s above name: the provisioning policy ($LOGIN_POLICY) covers what the last Entra-admin run declared; run the script once as an admin (AZAUTH_PROVISION_AUTH=admin) to widen it"
    else
      log "the token's policies do not allow what the 403s above name"
    fi
  fi
  fail "$(wc -l <"$WORK/errors") request(s) failed; see the errors above"
fi
