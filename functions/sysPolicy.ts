/**
 * The legacy `sys/policy` (list, also by plain GET) and `sys/policy/{name}` (read, write, delete),
 * which node-vault and older hvac use. Reads answer `rules` instead of `policy`; a write may send
 * either field (`rules` only when `policy` is empty, with Vault's deprecation warning). These legacy
 * routes copy `data` to the top level of the envelope, as Vault does.
 */
import { app } from '@azure/functions';
import { deletePolicy, listedPolicies, policyNameFrom, readPolicyText, writePolicy } from '../shared/policies/requests';
import { appServices } from '../shared/services';
import { vString } from '../shared/vault/fields';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

const writeFields = {
  policy: vString,
  /** Deprecated name of `policy`, used only when `policy` is empty. */
  rules: vString,
};

const list: PathHandler = async () => {
  const keys = listedPolicies(await appServices().policies.list());
  return { data: { keys, policies: keys }, copyDataToTop: true };
};

export const sysPolicyListPath: PathDefinition = {
  pattern: 'sys/policy',
  mountType: 'system',
  operations: { read: { handler: list }, list: { handler: list } },
};

export const sysPolicyPath: PathDefinition = {
  pattern: 'sys/policy/{name}',
  mountType: 'system',
  operations: {
    // `sys/policy/` (with the slash) lists, as `sys/policy` does.
    list: { handler: list },
    read: {
      handler: async (req) => {
        if ((req.params.name ?? '') === '') return list(req);
        const name = policyNameFrom(req.params.name);
        const rules = await readPolicyText(appServices().policies, name);
        return rules === undefined ? undefined : { data: { name, rules }, copyDataToTop: true };
      },
    },
    update: {
      handler: async (req) => {
        const name = policyNameFrom(req.params.name);
        const { values } = req.fields(writeFields);
        const usesRules = !values.policy && Boolean(values.rules);
        const warnings = await writePolicy(appServices().policies, name, values.policy || values.rules);
        if (usesRules) req.warn("'rules' is deprecated, please use 'policy' instead");
        for (const warning of warnings) req.warn(warning);
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

app.http('sysPolicyList', {
  route: 'sys/policy',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysPolicyListPath, () => appServices().endpoint),
});

app.http('sysPolicy', {
  route: 'sys/policy/{*name}',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysPolicyPath, () => appServices().endpoint),
});
