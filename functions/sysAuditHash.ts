/**
 * `POST|PUT /v1/sys/audit-hash/{path}` (admin): Vault's audit-hash endpoint. Returns the
 * `hmac-sha256:<hex>` that the audit log would show for `input`, so an operator holding a token,
 * accessor or JWT can find its records in Application Insights without the log ever containing it.
 * There is one audit device (the invocation log); `{path}` names it whatever it is called.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { badRequest } from '../shared/vault/errors';
import { sensitive, vString } from '../shared/vault/fields';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition } from '../shared/vault/types';

export const auditHashFields = {
  input: sensitive(vString), // the value to hash, e.g. a client token
};

export const sysAuditHashPath: PathDefinition = {
  pattern: 'sys/audit-hash/{path}',
  mountType: 'system',
  operations: {
    update: {
      handler: async (req) => {
        const { values } = req.fields(auditHashFields);
        if (!values.input) throw badRequest('the "input" parameter is required');
        // The input is itself a secret: the audit record of this call shows only its HMAC.
        req.audit.secret('input', values.input);
        const hash = await appServices().audit.auditHash(values.input);
        // A legacy sys/ route: Vault also copies `hash` to the top level of the envelope.
        return { data: { hash }, copyDataToTop: true };
      },
    },
  },
};

app.http('sysAuditHash', {
  route: 'sys/audit-hash/{path}',
  methods: ['GET', 'POST', 'PUT', 'DELETE'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysAuditHashPath, () => appServices().endpoint),
});
