/**
 * Prefix and `+` rules as candidates for a path, and how Vault ranks them when several match.
 */
import type { Permissions } from './permissions';

/** A prefix or `+` rule that can match a path, with the facts Vault ranks such rules by. */
export interface Candidate {
  /** Position of the first `+` in the pattern; for a prefix rule, the length of its key. */
  readonly firstWildcard: number;
  /** Ends in `*`. */
  readonly isPrefix: boolean;
  /** Number of `+` segments. */
  readonly wildcards: number;
  /** The pattern without its trailing `*`. */
  readonly pattern: string;
  readonly permissions: Permissions;
}

/** A rule with `+` segments, split on '/' (the last part of a prefix rule is a prefix of a segment). */
export interface SegmentRule extends Candidate {
  readonly parts: readonly string[];
}

/** Vault's rule: a pattern has segment wildcards if it is `+`, starts with `+/` or contains `/+`. */
export function hasSegmentWildcards(pattern: string): boolean {
  return pattern === '+' || pattern.startsWith('+/') || pattern.includes('/+');
}

export function segmentRuleOf(pattern: string, permissions: Permissions): SegmentRule {
  const isPrefix = pattern.endsWith('*');
  const stem = isPrefix ? pattern.slice(0, -1) : pattern;
  const parts = stem.split('/');
  return { firstWildcard: pattern.indexOf('+'), isPrefix, wildcards: parts.filter((part) => part === '+').length, pattern: stem, permissions, parts };
}

/**
 * Whether `a` ranks below `b` (Vault's wildcardPathDescriptorComparePriority): a later first
 * wildcard wins, then no trailing `*` beats one, then fewer `+` segments, then the longer pattern,
 * then the lexicographically larger one.
 */
export function ranksBelow(a: Candidate, b: Candidate): boolean {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard < b.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix;
  if (a.wildcards !== b.wildcards) return a.wildcards > b.wildcards;
  if (a.pattern.length !== b.pattern.length) return a.pattern.length < b.pattern.length;
  return a.pattern < b.pattern;
}

/** The higher ranked of two candidates (either may be missing). */
export function better(current: Candidate | undefined, next: Candidate): Candidate {
  return current === undefined || ranksBelow(current, next) ? next : current;
}
