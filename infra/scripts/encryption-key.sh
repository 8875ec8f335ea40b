#!/usr/bin/env bash
# Ensures the Key Vault secret $SECRET_NAME in $KEY_VAULT_NAME holds an AES-256 key (base64 of 32
# random bytes). Never replaces an existing key: data sealed under it would become unreadable.
# Runs from a pipeline signed in (az login) as a principal with Key Vault Secrets Officer on the
# vault (main.bicep's encryptionKeyCreatorPrincipalIds), or, opt-in, in a
# Microsoft.Resources/deploymentScripts AzureCLI container already signed in as the key-creation
# identity. Writes {"outcome": "created"|"kept"|"recovered"} to $AZ_SCRIPTS_OUTPUT_PATH when set.
# After "created" or "recovered", make the app re-read its Key Vault reference
# (docs/operations.md: the config/configreferences/appsettings/refresh call).
set -euo pipefail

: "${KEY_VAULT_NAME:?KEY_VAULT_NAME is required}"
: "${SECRET_NAME:?SECRET_NAME is required}"

write_outcome() {
  if [[ -n "${AZ_SCRIPTS_OUTPUT_PATH:-}" ]]; then
    printf '{"outcome":"%s"}\n' "$1" >"$AZ_SCRIPTS_OUTPUT_PATH"
  fi
  echo "encryption key: $1"
}

# A role assignment made in the same deployment can take minutes to reach Key Vault, so a 403 is
# retried. Only an explicit "not found" counts as missing: treating any failure as missing would
# overwrite a working key.
secret_state() {
  local err
  for attempt in $(seq 1 30); do
    if az keyvault secret show --vault-name "$KEY_VAULT_NAME" --name "$SECRET_NAME" --query id --output tsv >/dev/null 2>"$ERR_FILE"; then
      echo present
      return 0
    fi
    err="$(cat "$ERR_FILE")"
    if grep -q 'SecretNotFound' <<<"$err"; then
      echo missing
      return 0
    fi
    if grep -qiE 'Forbidden|ForbiddenByRbac|Unauthorized|temporarily|timed out|Connection' <<<"$err"; then
      echo "waiting for access to $KEY_VAULT_NAME (attempt $attempt): $(head -c 300 <<<"$err")" >&2
      sleep 10
      continue
    fi
    echo "cannot read secret $SECRET_NAME: $err" >&2
    return 1
  done
  echo "gave up waiting for access to $KEY_VAULT_NAME" >&2
  return 1
}

ERR_FILE="$(mktemp)"
KEY_FILE="$(mktemp)"
trap 'rm -f "$ERR_FILE" "$KEY_FILE"' EXIT

state="$(secret_state)"
if [[ "$state" == present ]]; then
  write_outcome kept
  exit 0
fi

# A soft-deleted secret of that name is the key the stored data was sealed with: recover it.
if az keyvault secret show-deleted --vault-name "$KEY_VAULT_NAME" --name "$SECRET_NAME" --query recoveryId --output tsv >/dev/null 2>&1; then
  az keyvault secret recover --vault-name "$KEY_VAULT_NAME" --name "$SECRET_NAME" --output none
  write_outcome recovered
  exit 0
fi

umask 077
if command -v openssl >/dev/null 2>&1; then
  openssl rand -base64 32 | tr -d '\n' >"$KEY_FILE"
else
  head -c 32 /dev/urandom | base64 | tr -d '\n' >"$KEY_FILE"
fi
if [[ "$(base64 -d <"$KEY_FILE" | wc -c)" -ne 32 ]]; then
  echo "generated key does not decode to 32 bytes" >&2
  exit 1
fi

# --file keeps the key out of the process list.
az keyvault secret set --vault-name "$KEY_VAULT_NAME" --name "$SECRET_NAME" --file "$KEY_FILE" --encoding utf-8 \
  --content-type 'base64 of a 32-byte AES-256-GCM key (AZAUTH_ENCRYPTION_KEY)' --output none
write_outcome created
