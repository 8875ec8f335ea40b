/**
 * The ACL's tries against a plain model of Vault's algorithm (every rule tried in turn, candidates
 * sorted), on random rule sets and paths: both must pick the same winning rule.
 */
import { describe, expect, it } from 'vitest';
import { Acl } from '../../shared/policies/acl';
import { PrefixTrie } from '../../shared/policies/prefix-trie';
import type { Capability, PolicyRule } from '../../shared/policies/types';

interface ModelRule {
  readonly pattern: string;
  readonly capability: Capability;
}

interface Descriptor {
  firstWildcard: number;
  isPrefix: boolean;
  wildcards: number;
  pattern: string;
  capability: Capability;
}

const lower = (a: Descriptor, b: Descriptor): boolean => {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard < b.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix;
  if (a.wildcards !== b.wildcards) return a.wildcards > b.wildcards;
  if (a.pattern.length !== b.pattern.length) return a.pattern.length < b.pattern.length;
  return a.pattern < b.pattern;
};

const isSegmentRule = (p: string): boolean => p === '+' || p.startsWith('+/') || p.includes('/+');

/** Vault's loops, written plainly: the longest prefix rule and every matching + rule. */
function candidates(rules: readonly ModelRule[], path: string): Descriptor[] {
  const out: Descriptor[] = [];
  let longest: Descriptor | undefined;
  for (const r of rules) {
    if (isSegmentRule(r.pattern) || !r.pattern.endsWith('*')) continue;
    const key = r.pattern.slice(0, -1);
    if (path.startsWith(key) && (longest === undefined || key.length > longest.pattern.length)) {
      longest = { firstWildcard: key.length, isPrefix: true, wildcards: 0, pattern: key, capability: r.capability };
    }
  }
  if (longest) out.push(longest);
  const parts = path.split('/');
  for (const r of rules) {
    if (!isSegmentRule(r.pattern)) continue;
    const isPrefix = r.pattern.endsWith('*');
    const stem = isPrefix ? r.pattern.slice(0, -1) : r.pattern;
    const ruleParts = stem.split('/');
    if (parts.length < ruleParts.length || (!isPrefix && parts.length !== ruleParts.length)) continue;
    let wildcards = 0;
    let matched = true;
    ruleParts.forEach((part, i) => {
      const actual = parts[i] ?? '';
      if (part === '+') wildcards++;
      else if (part !== actual && !(isPrefix && i === ruleParts.length - 1 && actual.startsWith(part))) matched = false;
    });
    if (matched) out.push({ firstWildcard: r.pattern.indexOf('+'), isPrefix, wildcards, pattern: stem, capability: r.capability });
  }
  return out;
}

/** The winning capability for a LIST of `path` (newest rules), or undefined for no match. */
function modelListWinner(rules: readonly ModelRule[], requested: string): Capability | undefined {
  const path = requested.replace(/^\/+/, '');
  const exact = (p: string) => rules.find((r) => r.pattern === p && !isSegmentRule(p) && !p.endsWith('*'));
  const hit = exact(path) ?? exact(path.endsWith('/') ? path.slice(0, -1) : path);
  if (hit) return hit.capability;
  const all = path.endsWith('/') ? [...candidates(rules, path.slice(0, -1)), ...candidates(rules, path)] : candidates(rules, path);
  if (all.length === 0) return undefined;
  const max = (list: Descriptor[]) => list.reduce<Descriptor | undefined>((best, d) => (best === undefined || lower(best, d) ? d : best), undefined);
  const deny = max(all.filter((d) => d.capability === 'deny'));
  const list = max(all.filter((d) => d.capability === 'list'));
  if (path.endsWith('/')) {
    if (deny && (!list || lower(list, deny))) return 'deny';
    if (list) return 'list';
  }
  return max(all)?.capability;
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('the ACL against a plain model of Vault\'s matching', () => {
  it('picks the same winner for 20 random rule sets × 300 random paths', () => {
    const next = random(42);
    const pick = <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('nothing to pick');
      return item;
    };
    const segments = ['a', 'b', 'ab', 'abc', 'x', ''];
    const ruleSegments = ['a', 'b', 'ab', 'x', '+', '+', 'a*', 'ab*', '*', ''];
    const capabilities: Capability[] = ['read', 'update', 'list', 'deny', 'delete'];
    for (let set = 0; set < 20; set++) {
      // One rule per pattern, so merging plays no part here (it has its own tests).
      const byPattern = new Map<string, ModelRule>();
      for (let n = 0; n < 40; n++) {
        const depth = 1 + Math.floor(next() * 4);
        const parts = Array.from({ length: depth }, () => pick(ruleSegments));
        // '*' only at the end, and never right after '+'.
        let pattern = parts.map((p, i) => (i < depth - 1 ? p.replace('*', '') : p)).join('/');
        pattern = pattern.replace('+*', '+');
        byPattern.set(pattern, { pattern, capability: pick(capabilities) });
      }
      const rules = [...byPattern.values()];
      const policyRules: PolicyRule[] = rules.map((r) => ({ path: r.pattern, capabilities: [r.capability], allowedParameters: {}, deniedParameters: {}, requiredParameters: [], minWrappingTtl: 0, maxWrappingTtl: 0 }));
      const acl = Acl.build([{ name: 'p', rules: policyRules }]);
      for (let q = 0; q < 300; q++) {
        const depth = 1 + Math.floor(next() * 5);
        let path = Array.from({ length: depth }, () => pick(segments)).join('/');
        if (next() < 0.5) path += '/';
        const expected = modelListWinner(rules, path);
        const caps = acl.capabilities(path);
        expect(caps, `${path} with ${rules.map((r) => `${r.pattern}:${r.capability}`).join(' ')}`).toEqual([expected ?? 'deny']);
      }
    }
  });
});

describe('PrefixTrie', () => {
  it('finds the longest stored prefix, the empty key included, across edge splits', () => {
    const trie = new PrefixTrie<string>();
    for (const key of ['kv/metadata/team-1/', 'kv/metadata/team-12/', 'kv/', 'kv/metadata/t', 'secret', 'se']) trie.set(key, key);
    expect(trie.longestPrefixOf('kv/metadata/team-1/x')).toBe('kv/metadata/team-1/');
    expect(trie.longestPrefixOf('kv/metadata/team-12/x')).toBe('kv/metadata/team-12/');
    expect(trie.longestPrefixOf('kv/metadata/team-13/x')).toBe('kv/metadata/t');
    expect(trie.longestPrefixOf('kv/metadata/')).toBe('kv/');
    expect(trie.longestPrefixOf('secrets')).toBe('secret');
    expect(trie.longestPrefixOf('sex')).toBe('se');
    expect(trie.longestPrefixOf('other')).toBeUndefined();
    trie.set('', 'root');
    expect(trie.longestPrefixOf('other')).toBe('root');
    trie.set('kv/', 'replaced');
    expect(trie.longestPrefixOf('kv/x')).toBe('replaced');
  });
});
