/**
 * Syntax checks of the login fields, run before the token is verified (Vault's step 5): they keep
 * names that could change an ARM URL (`/`, `..`) away from every later step. Each answers the
 * message Vault uses, or undefined when the value is acceptable. Only non-empty values are checked.
 */
import { parseArmResourceId } from './arm-id';
import { goQuote } from '../vault/goQuote';


const SUBSCRIPTION_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// Azure's rule: Unicode letters and digits, '-', '_', '.', '(' and ')', not ending with '.'.
const RESOURCE_GROUP = /^[\p{L}\p{N}\-_.()]*[\p{L}\p{N}\-_()]$/u;
// Vault's rule for VM and scale-set names: one ASCII letter, or a letter, then letters, digits,
// '.', '-' or '_', ending with a letter, digit or '_'.
const COMPUTE_NAME = /^(?:[a-zA-Z]|[a-zA-Z][a-zA-Z0-9.\-_]*[a-zA-Z0-9_])$/;

export function checkSubscriptionId(value: string): string | undefined {
  return SUBSCRIPTION_ID.test(value) ? undefined : `invalid subscription id ${goQuote(value)}`;
}

export function checkResourceGroupName(value: string): string | undefined {
  return RESOURCE_GROUP.test(value) ? undefined : `invalid resource group name ${goQuote(value)}`;
}

export function checkVmssName(value: string): string | undefined {
  return COMPUTE_NAME.test(value) ? undefined : `invalid vmss_name ${goQuote(value)}`;
}

export function checkVmName(value: string): string | undefined {
  return COMPUTE_NAME.test(value) ? undefined : `invalid vm name ${goQuote(value)}`;
}

/** Vault does not check `resource_id` here; we require a well-formed ARM id (it becomes an ARM URL). */
export function checkResourceId(value: string): string | undefined {
  const parsed = parseArmResourceId(value);
  return parsed.ok ? undefined : `invalid resource_id ${goQuote(value)}: ${parsed.reason}`;
}

export interface LoginNames {
  readonly subscription_id: string;
  readonly resource_group_name: string;
  readonly vm_name: string;
  readonly vmss_name: string;
  readonly resource_id: string;
}

/** Vault's order: subscription, resource group, vmss, vm; then our resource_id check. First failure wins. */
export function firstSyntaxError(names: LoginNames): string | undefined {
  const checks: Array<[string, (value: string) => string | undefined]> = [
    [names.subscription_id, checkSubscriptionId],
    [names.resource_group_name, checkResourceGroupName],
    [names.vmss_name, checkVmssName],
    [names.vm_name, checkVmName],
    [names.resource_id, checkResourceId],
  ];
  for (const [value, check] of checks) {
    if (value === '') continue;
    const problem = check(value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
