/**
 * What an ACL holds for one path pattern: the union of every block written for that exact pattern,
 * across all of a token's policies, merged as Vault merges them (vault/acl.go NewACL).
 */
import type { Capability, PolicyRule } from './types';

/** Vault's capability bits (the order of its constants). */
export const CAPABILITY_BIT: Readonly<Record<Capability, number>> = {
  deny: 1,
  create: 1 << 1,
  read: 1 << 2,
  update: 1 << 3,
  delete: 1 << 4,
  list: 1 << 5,
  sudo: 1 << 6,
  patch: 1 << 7,
  subscribe: 1 << 8,
  recover: 1 << 9,
};
export const DENY_BIT = CAPABILITY_BIT.deny;
export const SUDO_BIT = CAPABILITY_BIT.sudo;

export type ParameterMap = Map<string, readonly unknown[]>;

export interface Permissions {
  bits: number;
  /** Seconds, 0 = unset. */
  minWrappingTtl: number;
  maxWrappingTtl: number;
  /** Undefined or empty: no constraint. An empty value list: any value. */
  allowed: ParameterMap | undefined;
  denied: ParameterMap | undefined;
  required: string[];
}

function parameterMap(record: Readonly<Record<string, readonly unknown[]>>): ParameterMap | undefined {
  const entries = Object.entries(record);
  return entries.length === 0 ? undefined : new Map(entries);
}

export function permissionsOf(rule: PolicyRule): Permissions {
  let bits = 0;
  for (const capability of rule.capabilities) bits |= CAPABILITY_BIT[capability];
  return {
    bits,
    minWrappingTtl: rule.minWrappingTtl,
    maxWrappingTtl: rule.maxWrappingTtl,
    allowed: parameterMap(rule.allowedParameters),
    denied: parameterMap(rule.deniedParameters),
    required: [...rule.requiredParameters],
  };
}

/** Per key: an empty list on either side wins ("any value"), otherwise the lists are concatenated. */
function mergeParameters(existing: ParameterMap | undefined, added: ParameterMap | undefined): ParameterMap | undefined {
  if (added === undefined || added.size === 0) return existing;
  if (existing === undefined) return new Map(added);
  for (const [key, values] of added) {
    const current = existing.get(key);
    existing.set(key, values.length === 0 || (current !== undefined && current.length === 0) ? [] : [...values, ...(current ?? [])]);
  }
  return existing;
}

/**
 * Folds another block for the same pattern into `existing`. A deny already there ignores it; a new
 * deny makes the entry deny-only and drops its parameter lists; otherwise capabilities are OR-ed,
 * each wrapping bound keeps the smaller non-zero value, parameter lists merge and required
 * parameters are united.
 */
export function mergeInto(existing: Permissions, added: Permissions): void {
  if (existing.bits & DENY_BIT) return;
  if (added.bits & DENY_BIT) {
    existing.bits = DENY_BIT;
    existing.allowed = undefined;
    existing.denied = undefined;
    return;
  }
  existing.bits |= added.bits;
  if (added.maxWrappingTtl > 0 && (existing.maxWrappingTtl === 0 || added.maxWrappingTtl < existing.maxWrappingTtl)) {
    existing.maxWrappingTtl = added.maxWrappingTtl;
  }
  if (added.minWrappingTtl > 0 && (existing.minWrappingTtl === 0 || added.minWrappingTtl < existing.minWrappingTtl)) {
    existing.minWrappingTtl = added.minWrappingTtl;
  }
  existing.allowed = mergeParameters(existing.allowed, added.allowed);
  existing.denied = mergeParameters(existing.denied, added.denied);
  for (const name of added.required) if (!existing.required.includes(name)) existing.required.push(name);
}
