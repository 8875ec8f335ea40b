/**
 * `auth/{mount}/role` (list, also at `role/`) and `auth/{mount}/role/{name}` (read, write, delete):
 * Vault's path_role.go. The route captures everything after `role/`, so a name Vault
 * would not route (a `/`, spaces, non-ASCII) gets a clear 400 instead of a bare 404.
 */
import { app } from '@azure/functions';
import { requestedAzureMount } from '../shared/mounts/requests';
import { canonicalRoleName, isValidRoleName } from '../shared/roles/names';
import { roleReadData } from '../shared/roles/types';
import { applyRoleWrite } from '../shared/roles/write';
import { appServices } from '../shared/services';
import { VaultError } from '../shared/vault/errors';
import { vBool, vDuration, vInt, vString, vStringSlice } from '../shared/vault/fields';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition, VaultRequest } from '../shared/vault/types';

/** Vault's role fields (plugin bindings + tokenutil + deprecated aliases) and our resource_verification. */
export const roleFields = {
  bound_service_principal_ids: vStringSlice, // token oid must be one of these ("*" = any)
  bound_group_ids: vStringSlice, // one of the token's groups must be one of these ("*" = any)
  bound_subscription_ids: vStringSlice, // the caller's resource lives in one of these subscriptions
  bound_resource_groups: vStringSlice, // ... in one of these resource groups
  bound_locations: vStringSlice, // ... in one of these regions
  bound_scale_sets: vStringSlice, // ... in one of these VM scale sets
  resource_verification: vString, // "arm" (ask Resource Manager, default) or "claims" (trust token claims)
  token_bound_cidrs: vStringSlice,
  token_explicit_max_ttl: vDuration,
  token_max_ttl: vDuration,
  token_no_default_policy: vBool,
  token_num_uses: vInt,
  token_period: vDuration,
  token_policies: vStringSlice,
  token_ttl: vDuration,
  token_type: vString, // "default", "service" or "batch"
  // Deprecated: Use "token_x" instead. If this and "token_x" are both specified, only "token_x" is used.
  policies: vStringSlice,
  num_uses: vInt,
  ttl: vDuration,
  max_ttl: vDuration,
  period: vDuration,
};

const unsupported = (): VaultError => new VaultError('unsupported_operation', 'unsupported operation');

/**
 * The azure mount and the role a read, write or delete is about, both noted for the audit record.
 * The name comes from the URL, lower-cased, and is checked first; an empty name only lists.
 */
async function requestedRole(req: VaultRequest): Promise<{ mount: string; name: string }> {
  const raw = req.params.name ?? '';
  if (raw === '') throw unsupported();
  const name = canonicalRoleName(raw);
  const mount = await requestedAzureMount(req, appServices().mounts);
  req.audit.note({ role: name });
  return { mount: mount.path, name };
}

export const authRolePath: PathDefinition = {
  pattern: 'auth/{mount}/role/{name}',
  // Vault's plugin has one: writing a role that does not exist yet needs `create`. A name no role can
  // have does not exist (the handler then says what is wrong with it).
  exists: async (req) => {
    const name = req.params.name ?? '';
    if (!isValidRoleName(name)) return false;
    return (await appServices().roles.read(req.params.mount ?? '', name.toLowerCase())) !== undefined;
  },
  operations: {
    list: {
      handler: async (req) => {
        if ((req.params.name ?? '') !== '') throw unsupported();
        const { mounts, roles } = appServices();
        const mount = await requestedAzureMount(req, mounts);
        const keys = await roles.list(mount.path);
        return keys.length > 0 ? { data: { keys } } : undefined;
      },
    },
    read: {
      handler: async (req) => {
        const { mount, name } = await requestedRole(req);
        const role = await appServices().roles.read(mount, name);
        return role ? { data: roleReadData(role) } : undefined;
      },
    },
    update: {
      handler: async (req) => {
        const { mount, name } = await requestedRole(req);
        const { values } = req.fields(roleFields);
        const { roles, settings } = appServices();
        const { warnings } = await roles.upsert(mount, name, (current) =>
          applyRoleWrite(name, current, values, { maxLeaseTtlSeconds: settings.AZAUTH_MAX_TTL }),
        );
        for (const warning of warnings) req.warn(warning);
        return undefined;
      },
    },
    delete: {
      handler: async (req) => {
        const { mount, name } = await requestedRole(req);
        await appServices().roles.delete(mount, name);
        return undefined;
      },
    },
  },
};

// `role/{*name}` also matches `role` and `role/` (a catch-all may be empty): one function serves both.
app.http('authRole', {
  route: 'auth/{mount}/role/{*name}',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(authRolePath, () => appServices().endpoint),
});
