/**
 * A parsed ACL policy: what a policy document says, before it is combined with others into an ACL
 * (acl.ts). Plain data, so a parsed policy can be cached or stored as JSON.
 */

/** Vault's capability names, in the order of its capability bits. `root` is not one: it is only ever an answer. */
export const CAPABILITIES = ['deny', 'create', 'read', 'update', 'delete', 'list', 'sudo', 'patch', 'subscribe', 'recover'] as const;
export type Capability = (typeof CAPABILITIES)[number];

const CAPABILITY_NAMES: ReadonlySet<string> = new Set(CAPABILITIES);

export function isCapability(value: string): value is Capability {
  return CAPABILITY_NAMES.has(value);
}

/** One `path "..." { ... }` block. */
export interface PolicyRule {
  /** As written minus one leading '/'; a trailing '*' is kept. May hold `{{identity...}}` templates. */
  readonly path: string;
  /** After the legacy `policy =` expansion, deduplicated in CAPABILITIES order; exactly ['deny'] when deny is present. */
  readonly capabilities: readonly Capability[];
  /** Keys lower-cased; an empty list means "any value". Empty for a deny rule. */
  readonly allowedParameters: Readonly<Record<string, readonly unknown[]>>;
  readonly deniedParameters: Readonly<Record<string, readonly unknown[]>>;
  /** As written (matched lower-cased, as Vault does). */
  readonly requiredParameters: readonly string[];
  /** Seconds, 0 = unset. */
  readonly minWrappingTtl: number;
  readonly maxWrappingTtl: number;
}

export interface ParsedPolicy {
  readonly rules: readonly PolicyRule[];
  /** Some path uses identity templating, so the policy's rules depend on the token's identity. */
  readonly templated: boolean;
  /** For the write response (Vault answers 200 with these instead of 204). */
  readonly warnings: readonly string[];
}
