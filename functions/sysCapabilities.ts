/**
 * `sys/capabilities` (another token's), `sys/capabilities-self` (the caller's) and
 * `sys/capabilities-accessor` (a token's by accessor): the capabilities an ACL gives on each of
 * `paths` (or the deprecated `path`; a list or a comma-separated string). Evaluated as Vault does: as
 * for a list operation, on the path as given (no mount resolution: ask about `secret/data/x`), each
 * answer sorted; `["root"]` for root, `["deny"]` when nothing grants. With exactly one path the
 * answer also has `capabilities`; `data` is copied to the top level (older clients read it there).
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { requiredAccessor } from '../shared/tokens/requests';
import { badRequest } from '../shared/vault/errors';
import { sensitive, vString, vStringSlice } from '../shared/vault/fields';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { CallerAcl, PathDefinition, VaultRequest, VaultResult } from '../shared/vault/types';

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

const pathFields = {
  paths: vStringSlice,
  /** Deprecated single-path form (the Go client still sends it). */
  path: vStringSlice,
};

const requestedPaths = (req: VaultRequest, values: { paths?: string[]; path?: string[] }): string[] => {
  const raw = values.paths && values.paths.length > 0 ? values.paths : (values.path ?? []);
  if (raw.length === 0) throw badRequest('paths must be supplied');
  return raw.map((path) => {
    const trimmed = path.replace(/^\/+/, '');
    if (trimmed === '') throw badRequest('missing path');
    return trimmed;
  });
};

function answer(acl: CallerAcl, paths: readonly string[]): VaultResult {
  const data: Record<string, unknown> = {};
  for (const path of paths) data[path] = acl.capabilities(path);
  if (paths.length === 1) data.capabilities = data[paths[0]!];
  return { data, copyDataToTop: true };
}

export const sysCapabilitiesPath: PathDefinition = {
  pattern: 'sys/capabilities',
  mountType: 'system',
  operations: {
    update: {
      handler: async (req) => {
        const { values } = req.fields({ ...pathFields, token: sensitive(vString) });
        const paths = requestedPaths(req, values);
        if (!values.token) throw badRequest('no token found');
        req.audit.secret('token', values.token);
        const target = await appServices().access.aclOfToken(values.token);
        if (!target) throw badRequest('invalid token');
        return answer(target.acl, paths);
      },
    },
  },
};

export const sysCapabilitiesSelfPath: PathDefinition = {
  pattern: 'sys/capabilities-self',
  mountType: 'system',
  operations: {
    update: {
      handler: async (req) => {
        // A `token` field is ignored: the caller's own token is the one evaluated.
        const { values } = req.fields({ ...pathFields, token: sensitive(vString) });
        const paths = requestedPaths(req, values);
        if (req.caller.kind === 'anonymous') throw badRequest('no token found');
        return answer(req.caller.acl, paths);
      },
    },
  },
};

export const sysCapabilitiesAccessorPath: PathDefinition = {
  pattern: 'sys/capabilities-accessor',
  mountType: 'system',
  operations: {
    update: {
      handler: async (req) => {
        const { values } = req.fields({ ...pathFields, accessor: sensitive(vString) });
        const paths = requestedPaths(req, values);
        const accessor = requiredAccessor(req, values.accessor);
        const { tokens, access } = appServices();
        const found = await tokens.findByAccessor(accessor);
        if (!found) throw badRequest('invalid accessor');
        return answer((await access.aclOfRecord(found)).acl, paths);
      },
    },
  },
};

app.http('sysCapabilities', {
  route: 'sys/capabilities',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysCapabilitiesPath, () => appServices().endpoint),
});

app.http('sysCapabilitiesSelf', {
  route: 'sys/capabilities-self',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysCapabilitiesSelfPath, () => appServices().endpoint),
});

app.http('sysCapabilitiesAccessor', {
  route: 'sys/capabilities-accessor',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysCapabilitiesAccessorPath, () => appServices().endpoint),
});
