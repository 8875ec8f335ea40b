/**
 * `sys/policies/acl` (list) and `sys/policies/acl/{name}` (read, write, delete): Vault's ACL policy
 * endpoints. The name is everything after the prefix (Vault allows `/` in names), lower-cased.
 * `default` exists from the first start, can be edited, cannot be deleted; `root` is listed but has
 * no document and cannot be written. Unlike the legacy `sys/policy`, these answers do not copy
 * `data` to the top of the envelope.
 */
import { app } from '@azure/functions';
import { deletePolicy, listedPolicies, policyNameFrom, readPolicyText, writePolicy } from '../shared/policies/requests';
import { appServices } from '../shared/services';
import { VaultError } from '../shared/vault/errors';
import { vString } from '../shared/vault/fields';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition } from '../shared/vault/types';

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

const writeFields = {
  /** The policy document, HCL or JSON (or either, base64-encoded). */
  policy: vString,
};

export const sysPoliciesAclPath: PathDefinition = {
  pattern: 'sys/policies/acl/{name}',
  mountType: 'system',
  operations: {
    list: {
      handler: async (req) => {
        if ((req.params.name ?? '') !== '') throw new VaultError('unsupported_operation', 'unsupported operation');
        return { data: { keys: listedPolicies(await appServices().policies.list()) } };
      },
    },
    read: {
      handler: async (req) => {
        if ((req.params.name ?? '') === '') throw new VaultError('unsupported_operation', 'unsupported operation');
        const name = policyNameFrom(req.params.name);
        const policy = await readPolicyText(appServices().policies, name);
        return policy === undefined ? undefined : { data: { name, policy } };
      },
    },
    update: {
      handler: async (req) => {
        const name = policyNameFrom(req.params.name);
        const { values } = req.fields(writeFields);
        for (const warning of await writePolicy(appServices().policies, name, values.policy)) req.warn(warning);
        return undefined;
      },
    },
    delete: {
      handler: async (req) => {
        await deletePolicy(appServices().policies, policyNameFrom(req.params.name));
        return undefined;
      },
    },
  },
};

// `acl/{*name}` also matches `acl` and `acl/`, where only LIST (GET ?list=true) is served.
app.http('sysPoliciesAcl', {
  route: 'sys/policies/acl/{*name}',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysPoliciesAclPath, () => appServices().endpoint),
});
