/**
 * The ACL of a token: its policies' rules combined, and the decisions Vault makes with them
 * (vault/acl.go, newest behaviour, including the 2025 fix for LIST with a trailing slash).
 *
 * Built once per policy set and then only read, so the work is done at build time: rules are
 * merged per pattern, exact rules sit in a map, prefix rules in a character trie, `+` rules in a
 * segment trie with their ranking facts precomputed. A decision is a map lookup, or a walk of each
 * trie along the path, with no regular expression and no allocation besides splitting the path.
 */
import { better, hasSegmentWildcards, ranksBelow, segmentRuleOf, type Candidate, type SegmentRule } from './candidates';
import { parametersAllowed } from './parameters';
import { CAPABILITY_BIT, DENY_BIT, SUDO_BIT, mergeInto, permissionsOf, type Permissions } from './permissions';
import { PrefixTrie } from './prefix-trie';
import { SegmentTrie } from './segment-trie';
import { isTemplated, resolveTemplates, type TemplateContext } from './template';
import { CAPABILITIES, type Capability, type PolicyRule } from './types';

export type { TemplateContext } from './template';
// The contract lists the default policy's text with the ACL; it lives in default-policy.ts.
export { DEFAULT_POLICY_TEXT } from './default-policy';

/**
 * `header` is Vault's operation for HTTP HEAD (and OPTIONS): no capability grants it, so only root
 * passes the ACL with it (and then meets a path that does not serve it).
 */
export type AclOperation = 'read' | 'list' | 'create' | 'update' | 'delete' | 'patch' | 'help' | 'header';

export interface AclRequest {
  /** Logical path; for list it ends with '/'. Leading slashes are ignored. */
  readonly path: string;
  /** Renew, revoke and rollback are `update` here, as in Vault. */
  readonly operation: AclOperation;
  /** Body (write) or query (read) for parameter constraints. */
  readonly data?: Readonly<Record<string, unknown>>;
  /** X-Vault-Wrap-TTL in seconds, when sent; absent or 0 means the response is not wrapped. */
  readonly wrapTtlSeconds?: number;
}

export interface AclDecision {
  readonly allowed: boolean;
  /** The winning rule grants sudo (reported even when the operation itself is denied). Always false for help. */
  readonly sudo: boolean;
  readonly root: boolean;
}

export interface NamedRules {
  readonly name: string;
  readonly rules: readonly PolicyRule[];
}

/** Capability each operation needs (help needs none; nothing grants header). */
const OPERATION_BIT: Readonly<Record<Exclude<AclOperation, 'help' | 'header'>, number>> = {
  read: CAPABILITY_BIT.read,
  list: CAPABILITY_BIT.list,
  create: CAPABILITY_BIT.create,
  update: CAPABILITY_BIT.update,
  delete: CAPABILITY_BIT.delete,
  patch: CAPABILITY_BIT.patch,
};

/** Operations whose data is checked against parameter constraints. */
const PARAMETER_CHECKED: ReadonlySet<AclOperation> = new Set(['read', 'update', 'create', 'patch']);

/** The order sys/internal/ui/resultant-acl lists capabilities in (not sorted). */
const RESULTANT_ORDER: readonly Capability[] = ['create', 'delete', 'list', 'read', 'sudo', 'update', 'patch', 'subscribe', 'recover'];

const decision = (allowed: boolean, sudo: boolean, root = false): AclDecision => Object.freeze({ allowed, sudo, root });
const DENIED = decision(false, false);
const DENIED_WITH_SUDO = decision(false, true);
const ALLOWED = decision(true, false);
const ALLOWED_WITH_SUDO = decision(true, true);
const ROOT_DECISION = decision(true, true, true);

function withoutLeadingSlashes(path: string): string {
  let start = 0;
  while (path.charCodeAt(start) === 47 /* '/' */) start++;
  return start === 0 ? path : path.slice(start);
}

function capabilityNames(bits: number, order: readonly Capability[]): string[] {
  const names = order.filter((c) => c !== 'deny' && bits & CAPABILITY_BIT[c]);
  return bits & DENY_BIT || names.length === 0 ? ['deny'] : names;
}

export class Acl {
  /** The ACL of a root token: every check passes, sudo included. */
  static readonly ROOT: Acl = new Acl(true);

  readonly isRoot: boolean;
  private readonly exact = new Map<string, Permissions>();
  private readonly prefixes = new Map<string, Candidate>();
  private readonly prefixTrie = new PrefixTrie<Candidate>();
  private readonly segmentRules = new Map<string, SegmentRule>();
  private readonly segmentTrie = new SegmentTrie();

  private constructor(isRoot: boolean) {
    this.isRoot = isRoot;
  }

  /**
   * Combines the rules of a token's policies. `policies` excludes 'root' (root tokens use
   * Acl.ROOT); given alone it yields Acl.ROOT, and with others it is refused as Vault refuses it.
   * Missing policies are simply not passed. A templated rule the context cannot resolve is left out.
   */
  static build(policies: readonly NamedRules[], ctx?: TemplateContext): Acl {
    if (policies.some((p) => p.name === 'root')) {
      if (policies.length === 1) return Acl.ROOT;
      throw new Error('other policies present along with root');
    }
    const acl = new Acl(false);
    for (const policy of policies) {
      for (const rule of policy.rules) {
        const pattern = isTemplated(rule.path) ? resolveTemplates(rule.path, ctx) : rule.path;
        if (pattern !== undefined) acl.add(pattern, permissionsOf(rule));
      }
    }
    return acl;
  }

  private add(pattern: string, permissions: Permissions): void {
    if (hasSegmentWildcards(pattern)) {
      const existing = this.segmentRules.get(pattern);
      if (existing !== undefined) return mergeInto(existing.permissions, permissions);
      const rule = segmentRuleOf(pattern, permissions);
      this.segmentRules.set(pattern, rule);
      this.segmentTrie.add(rule);
    } else if (pattern.endsWith('*')) {
      const key = pattern.slice(0, -1);
      const existing = this.prefixes.get(key);
      if (existing !== undefined) return mergeInto(existing.permissions, permissions);
      const candidate: Candidate = { firstWildcard: key.length, isPrefix: true, wildcards: 0, pattern: key, permissions };
      this.prefixes.set(key, candidate);
      this.prefixTrie.set(key, candidate);
    } else {
      const existing = this.exact.get(pattern);
      if (existing !== undefined) mergeInto(existing, permissions);
      else this.exact.set(pattern, permissions);
    }
  }

  /** The most specific prefix or `+` rule matching `path`. */
  private bestCandidate(path: string): Candidate | undefined {
    const prefix = this.prefixTrie.longestPrefixOf(path);
    return this.segmentTrie.isEmpty ? prefix : this.segmentTrie.best(path.split('/'), prefix);
  }

  private collectCandidates(path: string, into: Candidate[]): void {
    const prefix = this.prefixTrie.longestPrefixOf(path);
    if (prefix !== undefined) into.push(prefix);
    if (!this.segmentTrie.isEmpty) this.segmentTrie.collect(path.split('/'), into);
  }

  /**
   * LIST of a path with a trailing slash, when no exact rule names it (newest Vault): candidates for
   * the path with and without its slash are ranked together; the most specific deny wins unless a
   * more specific candidate grants list; with neither, the most specific candidate decides.
   */
  private listWinner(path: string): Permissions | undefined {
    const all: Candidate[] = [];
    this.collectCandidates(path.slice(0, -1), all);
    this.collectCandidates(path, all);
    let best: Candidate | undefined;
    let bestDeny: Candidate | undefined;
    let bestList: Candidate | undefined;
    for (const candidate of all) {
      const bits = candidate.permissions.bits;
      best = better(best, candidate);
      if (bits & DENY_BIT) bestDeny = better(bestDeny, candidate);
      if (bits & CAPABILITY_BIT.list) bestList = better(bestList, candidate);
    }
    if (bestDeny !== undefined && (bestList === undefined || ranksBelow(bestList, bestDeny))) return bestDeny.permissions;
    return (bestList ?? best)?.permissions;
  }

  /** The entry that decides for `path`: an exact rule, else the most specific prefix or `+` rule. */
  private winner(path: string, isList: boolean): Permissions | undefined {
    const exact = this.exact.get(path);
    if (exact !== undefined) return exact;
    if (isList) {
      // `path "secret/metadata/app"` allows `LIST secret/metadata/app/`.
      const trimmed = path.endsWith('/') ? this.exact.get(path.slice(0, -1)) : undefined;
      if (trimmed !== undefined) return trimmed;
      if (path.endsWith('/')) return this.listWinner(path);
    }
    return this.bestCandidate(path)?.permissions;
  }

  allowOperation(req: AclRequest): AclDecision {
    if (this.isRoot) return ROOT_DECISION;
    const operation = req.operation;
    if (operation === 'help') return ALLOWED;
    if (operation === 'header') return DENIED;
    const permissions = this.winner(withoutLeadingSlashes(req.path), operation === 'list');
    if (permissions === undefined) return DENIED;
    const sudo = (permissions.bits & SUDO_BIT) !== 0;
    const denied = sudo ? DENIED_WITH_SUDO : DENIED;
    if ((permissions.bits & OPERATION_BIT[operation]) === 0) return denied;

    const { minWrappingTtl, maxWrappingTtl } = permissions;
    if (minWrappingTtl > 0 || maxWrappingTtl > 0) {
      // A rule with wrapping bounds only serves wrapped responses within them.
      const ttl = req.wrapTtlSeconds ?? 0;
      if (ttl <= 0) return denied;
      if (maxWrappingTtl > 0 && ttl > maxWrappingTtl) return denied;
      if (minWrappingTtl > 0 && ttl < minWrappingTtl) return denied;
      // Merging can leave max below min; no TTL satisfies both.
      if (minWrappingTtl > 0 && maxWrappingTtl > 0 && maxWrappingTtl < minWrappingTtl) return denied;
    }
    if (PARAMETER_CHECKED.has(operation) && !parametersAllowed(permissions, req.data)) return denied;
    return sudo ? ALLOWED_WITH_SUDO : ALLOWED;
  }

  /**
   * sys/capabilities*: the winning entry's capabilities, evaluated as for a list (so the
   * trailing-slash fallbacks apply), sorted; ['deny'] when nothing grants; ['root'] for root.
   */
  capabilities(path: string): string[] {
    if (this.isRoot) return ['root'];
    const permissions = this.winner(withoutLeadingSlashes(path), true);
    return capabilityNames(permissions?.bits ?? 0, CAPABILITIES).sort();
  }

  /**
   * sys/internal/ui/resultant-acl `data`: exact rules and prefix rules (keys without the `*`), each
   * with its capabilities in Vault's fixed order and its constraints; `+` rules are not shown.
   */
  resultant(): Record<string, unknown> {
    if (this.isRoot) return { root: true };
    const describe = (p: Permissions): Record<string, unknown> => {
      const out: Record<string, unknown> = { capabilities: capabilityNames(p.bits, RESULTANT_ORDER) };
      if (p.minWrappingTtl !== 0) out['min_wrapping_ttl'] = Math.trunc(p.minWrappingTtl);
      if (p.maxWrappingTtl !== 0) out['max_wrapping_ttl'] = Math.trunc(p.maxWrappingTtl);
      if (p.allowed !== undefined && p.allowed.size > 0) out['allowed_parameters'] = Object.fromEntries([...p.allowed].sort(([a], [b]) => (a < b ? -1 : 1)));
      if (p.denied !== undefined && p.denied.size > 0) out['denied_parameters'] = Object.fromEntries([...p.denied].sort(([a], [b]) => (a < b ? -1 : 1)));
      if (p.required.length > 0) out['required_parameters'] = [...p.required];
      return out;
    };
    const sortedEntries = <T>(map: ReadonlyMap<string, T>): [string, T][] => [...map].sort(([a], [b]) => (a < b ? -1 : 1));
    return {
      root: false,
      exact_paths: Object.fromEntries(sortedEntries(this.exact).map(([key, p]) => [key, describe(p)])),
      glob_paths: Object.fromEntries(sortedEntries(this.prefixes).map(([key, c]) => [key, describe(c.permissions)])),
    };
  }

  /**
   * sys/internal/ui/mounts/<path> step 4: whether this ACL can reach anything under the mount
   * (`secret/`): the mount path's own capabilities are not deny, or an exact or prefix rule under it
   * grants something, or a `+` rule could match beneath it.
   */
  hasMountAccess(mountPath: string): boolean {
    if (this.isRoot) return true;
    let mount = withoutLeadingSlashes(mountPath);
    if (!mount.endsWith('/')) mount += '/';
    if (!this.capabilities(mount).includes('deny')) return true;
    const grants = (p: Permissions): boolean => (p.bits & DENY_BIT) === 0 && p.bits !== 0;
    for (const [key, p] of this.exact) if (key.startsWith(mount) && grants(p)) return true;
    for (const [key, c] of this.prefixes) if (key.startsWith(mount) && grants(c.permissions)) return true;
    for (const rule of this.segmentRules.values()) if (grants(rule.permissions) && segmentRuleReachesUnder(rule, mount)) return true;
    return false;
  }
}

/**
 * Vault's bare-mount walk (CheckAllowedFromNonExactPaths with bareMount): follow the rule's segments
 * along the mount path's; once the segments up to the mount's last one match, the rule reaches
 * under the mount when the text matched so far starts with the mount path.
 */
function segmentRuleReachesUnder(rule: SegmentRule, mount: string): boolean {
  const mountParts = mount.split('/');
  const matched: string[] = [];
  for (let i = 0; i < rule.parts.length; i++) {
    const expected = rule.parts[i] ?? '';
    const actual = mountParts[i];
    if (actual === undefined) return false;
    if (expected === '+' || expected === actual) matched.push(actual);
    else if (rule.isPrefix && i === rule.parts.length - 1 && actual.startsWith(expected)) matched.push(...mountParts.slice(i));
    else return false;
    if (i === mountParts.length - 2) return `${matched.join('/')}/`.startsWith(mount);
  }
  return false;
}
