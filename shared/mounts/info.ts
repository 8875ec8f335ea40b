/** A mount as Vault's `mountInfo` shows it in `sys/auth`, `sys/mounts` and the UI preflight. */
import type { Mount } from './types';

export function mountInfo(mount: Mount): Record<string, unknown> {
  const { tuning } = mount;
  const config: Record<string, unknown> = {
    default_lease_ttl: tuning.defaultLeaseTtl,
    max_lease_ttl: tuning.maxLeaseTtl,
    force_no_cache: tuning.forceNoCache,
  };
  // Vault shows these only when set.
  if (tuning.listingVisibility) config.listing_visibility = tuning.listingVisibility;
  if (tuning.auditNonHmacRequestKeys.length) config.audit_non_hmac_request_keys = [...tuning.auditNonHmacRequestKeys];
  if (tuning.auditNonHmacResponseKeys.length) config.audit_non_hmac_response_keys = [...tuning.auditNonHmacResponseKeys];
  if (tuning.passthroughRequestHeaders.length) config.passthrough_request_headers = [...tuning.passthroughRequestHeaders];
  if (tuning.allowedResponseHeaders.length) config.allowed_response_headers = [...tuning.allowedResponseHeaders];
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
