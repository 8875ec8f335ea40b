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
import { commaStringSlice, sensitive, vString } from '../shared/vault/fields';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { CallerAcl, PathDefinition, VaultResult } from '../shared/vault/types';

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

/**
 * `paths` keeps empty elements, so that `"a,,b"` meets Vault's "missing path" rather than being
 * quietly shortened.
 */
const vPathList = commaStringSlice({ keepEmpty: true, badElement: 'expected a list of strings or a comma-separated string' });

const pathFields = {
  paths: vPathList,
  /** Deprecated single-path form (the Go client still sends it). */
  path: vPathList,
};

/** `paths`, else the deprecated `path`; Vault's 400 when neither names one. */
function requestedPaths(values: { paths?: string[]; path?: string[] }): string[] {
  const paths = values.paths && values.paths.length > 0 ? values.paths : (values.path ?? []);
  if (paths.length === 0) throw badRequest('paths must be supplied');
  return paths;
}

/**
 * Vault's answer: each path as given (the key keeps a leading `/`; the ACL ignores it), its sorted
 * capabilities, and `capabilities` too when exactly one path was asked. The ACL is looked up only
 * for the first non-empty path, as Vault checks each path before the token behind it, so `missing
 * path` on an earlier element wins over `invalid token`.
 */
async function answer(paths: readonly string[], aclOf: () => Promise<CallerAcl>): Promise<VaultResult> {
  const data: Record<string, unknown> = {};
  let acl: CallerAcl | undefined;
  for (const path of paths) {
    if (path === '') throw badRequest('missing path');
    acl ??= await aclOf();
    data[path] = acl.capabilities(path);
  }
  if (paths.length === 1) data.capabilities = data[paths[0]!];
  return { data, copyDataToTop: true };
}

/** A token's ACL for `sys/capabilities`: Vault's 400 "invalid token" when it is unknown or dead. */
async function aclOfToken(token: string): Promise<CallerAcl> {
  const acl = await appServices().access.aclOfToken(token);
  if (!acl) throw badRequest('invalid token');
  return acl;
}

export const sysCapabilitiesPath: PathDefinition = {
  pattern: 'sys/capabilities',
  mountType: 'system',
  operations: {
    update: {
      handler: async (req) => {
        const { values } = req.fields({ ...pathFields, token: sensitive(vString) });
        // Vault's order: the token first (its "no token found" is a 500 there: a plain error), then
        // the paths, then each path's ACL lookup.
        const token = values.token;
        if (!token) throw badRequest('no token found');
        req.audit.secret('token', token);
        return answer(requestedPaths(values), () => aclOfToken(token));
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
        const { caller } = req;
        if (caller.kind === 'anonymous') throw badRequest('no token found');
        return answer(requestedPaths(values), async () => caller.acl);
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
        // Vault's order: the accessor and the token behind it first, then the paths.
        const accessor = requiredAccessor(req, values.accessor);
        const { tokens, access } = appServices();
        const found = await tokens.findByAccessor(accessor);
        if (!found) throw badRequest('invalid accessor');
        const acl = await access.aclOfRecord(found);
        return answer(requestedPaths(values), async () => acl);
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
