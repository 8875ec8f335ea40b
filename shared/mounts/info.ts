/** A mount as Vault's `mountInfo` shows it in `sys/auth`, `sys/mounts` and the UI preflight. */
import type { Mount, MountTuning } from './types';

/** The tuning keys Vault shows only when set (mount info's `config`, the tune read). */
export function tuningSetKeys(tuning: MountTuning): Record<string, unknown> {
  const keys: Record<string, unknown> = {};
  if (tuning.listingVisibility) keys.listing_visibility = tuning.listingVisibility;
  if (tuning.auditNonHmacRequestKeys.length) keys.audit_non_hmac_request_keys = [...tuning.auditNonHmacRequestKeys];
  if (tuning.auditNonHmacResponseKeys.length) keys.audit_non_hmac_response_keys = [...tuning.auditNonHmacResponseKeys];
  if (tuning.passthroughRequestHeaders.length) keys.passthrough_request_headers = [...tuning.passthroughRequestHeaders];
  if (tuning.allowedResponseHeaders.length) keys.allowed_response_headers = [...tuning.allowedResponseHeaders];
  return keys;
}

export function mountInfo(mount: Mount): Record<string, unknown> {
  const { tuning } = mount;
  const config: Record<string, unknown> = {
    default_lease_ttl: tuning.defaultLeaseTtl,
    max_lease_ttl: tuning.maxLeaseTtl,
    force_no_cache: tuning.forceNoCache,
    ...tuningSetKeys(tuning),
  };
  if (mount.table === 'auth') config.token_type = 'default-service';
  return {
    accessor: mount.accessor,
    config,
    description: mount.description,
    external_entropy_access: mount.externalEntropyAccess,
    local: mount.local,
    options: mount.options ? { ...mount.options } : null,
    plugin_version: '',
    running_plugin_version: '',
    running_sha256: '',
    seal_wrap: mount.sealWrap,
    type: mount.type,
    uuid: mount.uuid,
  };
}
