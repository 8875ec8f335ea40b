/**
 * `sys/policies/acl` (list) and `sys/policies/acl/{name}` (read, write, delete): Vault's ACL policy
 * endpoints. The name is everything after the prefix (Vault allows `/` in names), lower-cased.
 * `default` exists from the first start, can be edited, cannot be deleted; `root` is listed but has
 * no document and cannot be written. Unlike the legacy `sys/policy`, these answers do not copy
 * `data` to the top of the envelope.
 */
import { app } from '@azure/functions';
import { checkPolicyDelete, checkPolicyWrite, listedPolicies, policyNameFrom } from '../shared/policies/requests';
import { ROOT_POLICY } from '../shared/policies/store';
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
        if (name === ROOT_POLICY) return { data: { name, policy: '' } };
        const stored = await appServices().policies.read(name);
        return stored ? { data: { name, policy: stored.text } } : undefined;
      },
    },
    update: {
      handler: async (req) => {
        const name = policyNameFrom(req.params.name);
        const { values } = req.fields(writeFields);
        const { text, parsed } = checkPolicyWrite(name, values.policy);
        await appServices().policies.write(name, text);
        for (const warning of parsed.warnings) req.warn(warning);
        return undefined;
      },
    },
    delete: {
      handler: async (req) => {
        const name = policyNameFrom(req.params.name);
        checkPolicyDelete(name);
        await appServices().policies.delete(name);
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
