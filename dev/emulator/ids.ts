// ARM resource-id helpers. ARM ids are case-insensitive and their casing varies in the wild
// (`resourceGroups` vs `resourcegroups`), so every lookup goes through a lower-cased key while the
// canonical casing (what a resource was created with) is what the emulator answers with.
import { randomBytes } from 'node:crypto';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** ARM resource and group names: no slashes, no control characters, not empty. */
const NAME = /^[^/\\?#\u0000-\u001f]{1,260}$/;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

export function assertGuid(value: string, what: string): void {
  if (!isGuid(value)) throw new Error(`${what} must be a GUID, got ${JSON.stringify(value)}`);
}

export function assertName(value: string, what: string): void {
  if (!NAME.test(value)) throw new Error(`${what} is not a valid ARM name: ${JSON.stringify(value)}`);
}

export function idKey(id: string): string {
  return id.replace(/\/+$/, '').toLowerCase();
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export interface ParsedResourceId {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** e.g. `Microsoft.Compute` */
  readonly namespace: string;
  /** e.g. `Microsoft.Compute/virtualMachineScaleSets/virtualMachines` */
  readonly type: string;
  /** Last name segment. */
  readonly name: string;
}

/** Parses a resource-group-scoped resource id; undefined when it is not one. */
export function parseResourceId(id: string): ParsedResourceId | undefined {
  const match = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/([^/]+)\/(.+?)\/?$/i.exec(id);
  if (match === null) return undefined;
  const [, subscriptionId, resourceGroup, namespace, rest] = match;
  if (subscriptionId === undefined || resourceGroup === undefined || namespace === undefined || rest === undefined) return undefined;
  const parts = rest.split('/');
  if (parts.length % 2 !== 0 || parts.some((p) => p.length === 0)) return undefined;
  const types: string[] = [];
  let name = '';
  for (let i = 0; i < parts.length; i += 2) {
    types.push(parts[i] ?? '');
    name = parts[i + 1] ?? '';
  }
  return { subscriptionId, resourceGroup, namespace, type: `${namespace}/${types.join('/')}`, name };
}

export function resourceGroupScope(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}

/**
 * The form Entra writes into `xms_mirid` / `xms_az_rid`: same id, but with the lower-case
 * `resourcegroups` segment seen in real tokens, so consumers that compare case-sensitively fail
 * here as they would in Azure.
 */
export function claimForm(id: string): string {
  return id.replace(/\/resourcegroups\//i, '/resourcegroups/');
}
