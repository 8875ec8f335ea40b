/**
 * What a mount's tenant may be: the form Entra's authority accepts in a URL (`<authority>/<tenant>/...`)
 * and that login puts there, a GUID or a domain name of the tenant (`contoso.onmicrosoft.com`).
 * Config write and login check it with the same rule, so a config login would refuse is refused
 * when it is written.
 */
import { quoteInput } from '../config/input-echo';

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One DNS label: letters, digits and inner hyphens, at most 63 characters (a GUID is one label). */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isTenantId(value: string): boolean {
  if (GUID.test(value)) return true;
  return value.length <= 253 && value.split('.').every((label) => LABEL.test(label));
}

/** Why `value` is no tenant, or undefined when it is one. Never echoes more than a short prefix. */
export function tenantIdProblem(value: string): string | undefined {
  if (isTenantId(value)) return undefined;
  return `tenant_id ${quoteInput(value)} is not a tenant id (a GUID) or a domain name`;
}
