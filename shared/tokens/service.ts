/**
 * The token service: issue, resolve and use (every request), look up, renew, revoke and list tokens.
 * Service tokens live in the token table (see store.ts); batch tokens carry their own record,
 * sealed under a server key (see batch.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { VaultError, badRequest, conflict, invalidToken, permissionDenied } from '../vault/errors';
import type { AuthBlock, TokenView } from '../vault/types';
import { BatchTokenTooLarge, openBatchToken, sealBatchToken } from './batch';
import { addressAllowed } from '../net/cidr';
import { mapLimited } from '../storage/map-limited';
import { accessorOf, classifyToken, newServiceToken, tokenHash } from './format';
import { authBlockOf, planToken, type IssueSpec } from './issue';
import { isExpired } from './lookup';
import type { StoredToken, TokenRecord } from './record';
import type { ServerKeys } from './serverKeys';
import type { TokenStore } from './store';
import { tidyTokens, type TidyOptions, type TidyReport } from './tidy';
import { calculateTtl, type SystemTtls } from './ttl';

/** The token fields of a role that renewal re-applies (the role store's `Role` satisfies it). */
export interface RoleTokenSettings {
  readonly tokenTtl: number;
  readonly tokenMaxTtl: number;
  readonly tokenPeriod: number;
}

export interface RoleLookup {
  /** `name` is the canonical (lower-case) role name. */
  read(mount: string, name: string): Promise<RoleTokenSettings | undefined>;
}

/** Whether a token's auth mount still serves it (the mount table provides it). */
export interface MountLiveness {
  liveTokenMount(path: string, accessor: string): Promise<boolean>;
}

export interface TokenServiceDeps {
  readonly store: TokenStore;
  readonly keys: ServerKeys;
  readonly system: SystemTtls;
  readonly roles: RoleLookup;
  readonly mounts: MountLiveness;
  readonly now?: () => number;
}

/** How a revocation walk ended: `complete` false when it stopped at its time budget. */
export interface RevocationReport {
  readonly revoked: number;
  readonly complete: boolean;
}

export interface IssuedToken {
  readonly token: string;
  readonly auth: AuthBlock;
  readonly warnings: string[];
}

/** A live token and what is known about it; `etag` is "" for batch tokens and consumed tokens. */
export interface ResolvedToken {
  readonly token: string;
  readonly record: TokenRecord;
  readonly etag: string;
}

export interface RenewResult {
  readonly auth: AuthBlock;
  readonly warnings: string[];
}

/** How a renewal that finds its token gone is answered: the holder is told its token is dead. */
export type GoneAnswer = 'invalid_token' | 'token_not_found';

const MAX_CONTENDED_ATTEMPTS = 64;
/** Children deleted per step of a revocation walk. */
const REVOKE_PAGE_SIZE = 100;
/** Sibling subtrees a revocation walk descends into at once. */
const SUBTREE_CONCURRENCY = 4;

/** How long a revocation keeps walking within the request that asked for it. */
export const DEFAULT_REVOKE_BUDGET_MS = 30_000;
/**
 * How long a role read at renewal serves further renewals of tokens of that role in this process.
 * Vault re-reads the role on every renewal; a fleet of Vault Agents renewing tokens of one role would
 * turn that into one storage read per renewal, so concurrent and back-to-back renewals share one read
 * for a second. A role change or deletion therefore reaches renewals within a second.
 */
const ROLE_READ_REUSE_MS = 1000;

export class TokenService {
  private readonly now: () => number;
  /** The record behind each TokenView handed out this process, so a handler needs no second read. */
  private readonly resolvedViews = new WeakMap<TokenView, ResolvedToken>();
  private readonly roleReads = new Map<string, { readonly at: number; readonly settings: Promise<RoleTokenSettings | undefined> }>();

  constructor(private readonly deps: TokenServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  // ---- issue ---------------------------------------------------------------------------------

  /** Issues a token: one Table insert for a service token, none for a batch token. */
  async issueToken(spec: IssueSpec): Promise<IssuedToken> {
    const plan = planToken(spec, this.deps.system, this.now());
    if (plan.record.type === 'batch') {
      const key = await this.deps.keys.get('batch-token');
      let token: string;
      try {
        token = sealBatchToken({ ...plan.record, hash: '', accessor: '' }, key);
      } catch (err) {
        if (err instanceof BatchTokenTooLarge) throw badRequest('token metadata is too large for a batch token');
        throw err;
      }
      const record: TokenRecord = { ...plan.record, hash: tokenHash(token), accessor: '' };
      return { token, auth: authBlockOf(record, token, record.creationTtl), warnings: plan.warnings };
    }
    const token = newServiceToken();
    const record: TokenRecord = { ...plan.record, hash: tokenHash(token), accessor: accessorOf(token) };
    const parent = record.ancestors.at(-1);
    // The index row goes first: a child that exists is always reachable from its parent's walk (a row
    // whose token insert then fails points at nothing, which a walk skips).
    if (parent) await this.deps.store.addChild(parent, record.accessor, record.ancestors.at(-2));
    await this.deps.store.insert(record);
    return { token, auth: authBlockOf(record, token, record.creationTtl), warnings: plan.warnings };
  }

  /** A non-expiring `root` token, as `vault server -dev` prints at start-up. */
  async createRootToken(tokenMountAccessor: string): Promise<string> {
    const issued = await this.issueToken({
      type: 'service',
      mount: 'token',
      mountAccessor: tokenMountAccessor,
      path: 'auth/token/root',
      policies: ['root'],
      displayName: 'root',
      allowRoot: true,
    });
    return issued.token;
  }

  // ---- use -----------------------------------------------------------------------------------

  /** The view of a token that handlers get; `resolvedFor(view)` finds its record again without I/O. */
  viewOf(found: ResolvedToken, limitedUse: boolean): TokenView {
    const { record } = found;
    const view: TokenView = {
      hash: record.hash,
      accessor: record.accessor,
      type: record.type,
      policies: record.policies,
      mount: record.mount,
      mountAccessor: record.mountAccessor,
      principalId: record.principalId,
      entityId: record.entityId,
      limitedUse,
    };
    this.resolvedViews.set(view, found);
    return view;
  }

  /**
   * A usable token, without consuming a use: known, unexpired, its mount and ancestors live, and
   * (unless `checkAddress` is false, for a token being looked at rather than used) the caller inside
   * its bound CIDRs.
   */
  async resolve(token: string, remoteAddress: string | undefined, checkAddress = true): Promise<ResolvedToken> {
    const found = await this.find(token);
    if (!found) throw invalidToken();
    if (checkAddress && !addressAllowed(found.record.boundCidrs, remoteAddress)) throw permissionDenied();
    return found;
  }

  /**
   * Consumes one use of a resolved token (an ETag-conditional decrement; the last use deletes the
   * token); the record returned is the one after this use. 403 "invalid token" when the token was
   * used up or revoked meanwhile.
   */
  async use(found: ResolvedToken): Promise<ResolvedToken> {
    const used = await this.consumeUse(found);
    if (!used) throw invalidToken();
    return used;
  }

  /**
   * Whether a stored token may act: its mount is still the enable that issued it, and every
   * ancestor exists, is unexpired and has a live mount. Ancestors are read on every use (in
   * parallel), so a revoked or expired parent ends its descendants at once, on every instance.
   */
  private async usable(record: TokenRecord): Promise<boolean> {
    if (!(await this.deps.mounts.liveTokenMount(record.mount, record.mountAccessor))) return false;
    if (record.ancestors.length === 0) return true;
    const now = this.now();
    const ancestors = await Promise.all(record.ancestors.map((accessor) => this.deps.store.getByAccessor(accessor)));
    for (const ancestor of ancestors) {
      if (!ancestor || isExpired(ancestor.record, now)) return false;
      if (!(await this.deps.mounts.liveTokenMount(ancestor.record.mount, ancestor.record.mountAccessor))) return false;
    }
    return true;
  }

  /**
   * The record behind a view that `viewOf` returned; falls back to a fresh read (without
   * consuming a use) if the view was copied on its way to the handler.
   */
  async resolvedFor(view: TokenView, token: string): Promise<ResolvedToken> {
    const known = this.resolvedViews.get(view);
    if (known) return known;
    const found = await this.find(token);
    if (!found || found.record.hash !== view.hash) throw invalidToken();
    return found;
  }

  /**
   * A live token without consuming a use: known, unexpired, and usable (its mount and ancestors
   * live), so a child whose parent expired or was revoked is gone for a lookup or renew by token
   * as it is for its own use and by accessor; undefined otherwise.
   */
  async find(token: string): Promise<ResolvedToken | undefined> {
    const kind = classifyToken(token);
    let resolved: ResolvedToken | undefined;
    if (kind === 'service') {
      const stored = await this.deps.store.getByToken(token);
      resolved = stored ? { token, record: stored.record, etag: stored.etag } : undefined;
    } else if (kind === 'batch') {
      const key = await this.batchKeyIfConfigured();
      const record = key ? openBatchToken(token, key) : undefined;
      resolved = record ? { token, record, etag: '' } : undefined;
    }
    if (!resolved || isExpired(resolved.record, this.now()) || !(await this.usable(resolved.record))) return undefined;
    return resolved;
  }

  /**
   * The batch-token key, or undefined when the deployment cannot have one (no AZAUTH_ENCRYPTION_KEY):
   * then no batch token was ever issued here, and one presented is simply invalid. Storage
   * failures still propagate (a 503, not a false "invalid token").
   */
  private async batchKeyIfConfigured(): Promise<Buffer | undefined> {
    try {
      return await this.deps.keys.get('batch-token');
    } catch (err) {
      if (err instanceof VaultError && err.code === 'bad_request') return undefined;
      throw err;
    }
  }

  /**
   * A live service token by accessor (an accessor never names a batch token): unexpired and usable
   * as `resolve` judges it, so a child whose parent has expired (Vault revoked its tree) or whose
   * mount is gone is not found, as in Vault, even before tidy deletes its row.
   */
  async findByAccessor(accessor: string): Promise<ResolvedToken | undefined> {
    const stored = await this.deps.store.getByAccessor(accessor);
    if (!stored || isExpired(stored.record, this.now()) || !(await this.usable(stored.record))) return undefined;
    return { token: '', record: stored.record, etag: stored.etag };
  }

  private async consumeUse(found: ResolvedToken): Promise<ResolvedToken | undefined> {
    if (found.record.type === 'batch' || found.record.numUses === 0) return found;
    let current: StoredToken = { record: found.record, etag: found.etag };
    const accessor = found.record.accessor;
    for (let attempt = 0; attempt < MAX_CONTENDED_ATTEMPTS; attempt++) {
      const left = current.record.numUses;
      const outcome =
        left <= 1
          ? await this.deps.store.remove(accessor, current.etag)
          : await this.deps.store.update(accessor, current.etag, { numUses: left - 1 });
      if (outcome.ok) return { token: found.token, record: { ...current.record, numUses: left - 1 }, etag: outcome.etag };
      if (outcome.reason === 'gone') return undefined;
      // Another request used or renewed the token first: re-read and try again on fresh state.
      await sleep(Math.random() * Math.min(attempt + 1, 8) * 2);
      const fresh = await this.deps.store.getByAccessor(accessor);
      if (!fresh || isExpired(fresh.record, this.now())) return undefined;
      current = fresh;
    }
    throw conflict('the token is being used by too many concurrent requests; try again');
  }

  // ---- renew ---------------------------------------------------------------------------------

  /**
   * Vault's renewal: login tokens re-read their role and take its current token_ttl, token_max_ttl
   * and token_period; explicit_max_ttl stays as issued; the max counts from issue time. A capped
   * TTL is a 200 with a warning, never an error.
   */
  async renew(target: ResolvedToken, increment: number, responseToken: string, gone: GoneAnswer): Promise<RenewResult> {
    if (target.record.type === 'batch') throw badRequest('batch tokens cannot be renewed');
    const basis = await this.renewalBasis(target.record);
    let current: StoredToken = { record: target.record, etag: target.etag };
    for (let attempt = 0; attempt < MAX_CONTENDED_ATTEMPTS; attempt++) {
      const record = current.record;
      const now = this.now();
      if (record.expireTimeMs === null) throw badRequest('lease is not renewable');
      if (isExpired(record, now)) throw badRequest('lease expired');
      if (!record.renewable) throw badRequest('lease is not renewable');
      const { ttl, warnings } = calculateTtl(this.deps.system, {
        increment,
        backendTtl: basis.ttl,
        period: basis.period,
        backendMaxTtl: basis.maxTtl,
        explicitMaxTtl: record.explicitMaxTtl,
        startTimeMs: record.issueTimeMs,
        nowMs: now,
      });
      const changes = { expireTimeMs: now + ttl * 1000, lastRenewalTimeMs: now };
      const outcome = current.etag
        ? await this.deps.store.update(record.accessor, current.etag, changes)
        : ({ ok: false, reason: 'gone' } as const);
      if (outcome.ok) return { auth: authBlockOf({ ...record, ...changes }, responseToken, ttl), warnings };
      if (outcome.reason === 'gone') throw this.goneError(gone);
      const fresh = await this.deps.store.getByAccessor(record.accessor);
      if (!fresh) throw this.goneError(gone);
      current = fresh;
    }
    throw conflict('the token is being renewed by too many concurrent requests; try again');
  }

  private goneError(gone: GoneAnswer): VaultError {
    return gone === 'invalid_token' ? invalidToken() : badRequest('token not found');
  }

  /** What the TTL is computed from at renewal: the role as it is now, or the token as issued. */
  private async renewalBasis(record: TokenRecord): Promise<{ ttl: number; maxTtl: number; period: number }> {
    if (record.role === '') {
      // Token-store tokens (Vault's authRenew without a role): the TTL they were issued with.
      return { ttl: record.creationTtl, maxTtl: 0, period: record.period };
    }
    const role = await this.roleSettings(record.mount, record.role.toLowerCase());
    if (!role) throw badRequest(`role ${record.role} does not exist during renewal`);
    return { ttl: role.tokenTtl, maxTtl: role.tokenMaxTtl, period: role.tokenPeriod };
  }

  /** The role's token settings, read at most once per ROLE_READ_REUSE_MS per role (single flight). */
  private roleSettings(mount: string, name: string): Promise<RoleTokenSettings | undefined> {
    const key = `${mount}\0${name}`;
    const now = this.now();
    const cached = this.roleReads.get(key);
    if (cached && now - cached.at < ROLE_READ_REUSE_MS) return cached.settings;
    const settings = this.deps.roles.read(mount, name);
    // A failed read is not reused: the next renewal tries storage again.
    settings.catch(() => this.roleReads.delete(key));
    if (this.roleReads.size > 10_000) this.roleReads.clear();
    this.roleReads.set(key, { at: now, settings });
    return settings;
  }

  // ---- revoke ----------------------------------------------------------------------------------

  /**
   * Revokes a service token and its whole subtree (Vault's revoke, revoke-self, revoke-accessor).
   * The token's own entity goes first: from that moment every descendant is unusable (each use
   * checks its ancestors), then the descendants are deleted. Idempotent; a walk cut short by its
   * budget is finished by a repeat of the call or by the tidy timer's sweep.
   */
  async revoke(target: ResolvedToken, budgetMs = DEFAULT_REVOKE_BUDGET_MS): Promise<RevocationReport> {
    if (target.record.type === 'batch') throw badRequest('batch tokens cannot be revoked');
    return this.revokeTree(target.record.accessor, target.record.ancestors.at(-1) ?? '', budgetMs);
  }

  /**
   * Revokes the subtree rooted at `accessor` (whose parent is `parent`, "" for an orphan), whether or
   * not the root token itself still exists, so a retry after a cut-short walk finishes it.
   */
  async revokeTree(accessor: string, parent: string, budgetMs = DEFAULT_REVOKE_BUDGET_MS): Promise<RevocationReport> {
    const deadline = this.now() + budgetMs;
    const root = await this.deps.store.remove(accessor);
    const walk = await this.revokeDescendants(accessor, deadline);
    if (walk.complete && parent) await this.deps.store.removeChildren(parent, [accessor]);
    return { revoked: walk.revoked + (root.ok ? 1 : 0), complete: walk.complete };
  }

  /**
   * Depth first over the tree index: each page of children is deleted, then their own subtrees, and
   * only then the page's index rows, so an interrupted walk resumes from the rows that remain. Two
   * walks at once only repeat deletes (a 404 counts as done).
   */
  private async revokeDescendants(parent: string, deadline: number): Promise<RevocationReport> {
    let revoked = 0;
    for (;;) {
      if (this.now() >= deadline) return { revoked, complete: false };
      // Always the first page: the rows of the previous page are gone by now.
      const page = await this.deps.store.children(parent, REVOKE_PAGE_SIZE);
      if (page.children.length === 0) return { revoked, complete: true };
      const removed = await Promise.all(page.children.map((child) => this.deps.store.remove(child.accessor)));
      revoked += removed.filter((outcome) => outcome.ok).length;
      // Sibling subtrees are independent: walk a few at once.
      const below = await mapLimited(
        page.children.filter((child) => child.hasChildren),
        SUBTREE_CONCURRENCY,
        (child) => this.revokeDescendants(child.accessor, deadline),
      );
      revoked += below.reduce((sum, walk) => sum + walk.revoked, 0);
      if (below.some((walk) => !walk.complete)) return { revoked, complete: false };
      await this.deps.store.removeChildren(parent, page.children.map((child) => child.accessor));
    }
  }

  /**
   * Vault's revoke-orphan: revokes only `target`; its children become orphans and keep working, with
   * every descendant's ancestor list cut below `target`. The chains are rewritten while `target`
   * still lives, so no descendant is ever without a live chain; then the index rows go, then the token.
   */
  async revokeOrphan(target: ResolvedToken): Promise<void> {
    if (target.record.type === 'batch') throw badRequest('batch tokens cannot be revoked');
    const { accessor } = target.record;
    const rewrite = async (node: string, chain: readonly string[]): Promise<void> => {
      let continuation: string | undefined;
      do {
        const page = await this.deps.store.children(node, REVOKE_PAGE_SIZE, continuation);
        await Promise.all(page.children.map((child) => this.deps.store.setAncestors(child.accessor, chain)));
        for (const child of page.children) if (child.hasChildren) await rewrite(child.accessor, [...chain, child.accessor]);
        continuation = page.continuation;
      } while (continuation);
    };
    await rewrite(accessor, []);
    for (;;) {
      const page = await this.deps.store.children(accessor, REVOKE_PAGE_SIZE);
      if (page.children.length === 0) break;
      await this.deps.store.removeChildren(accessor, page.children.map((child) => child.accessor));
    }
    await this.deps.store.remove(accessor);
    const parent = target.record.ancestors.at(-1);
    if (parent) await this.deps.store.removeChildren(parent, [accessor]);
  }

  /**
   * Finishes revocations whose root is gone (a parent revoked by a walk that was cut short, expired,
   * deleted by tidy, or revoked with its mount): every index partition whose parent no longer exists
   * has its subtree revoked. Part of the tidy timer.
   */
  async sweepAbandonedTrees(budgetMs: number): Promise<RevocationReport> {
    const deadline = this.now() + budgetMs;
    let revoked = 0;
    let continuation: string | undefined;
    do {
      if (this.now() > deadline) return { revoked, complete: false };
      const page = await this.deps.store.parents(1000, continuation);
      for (const parent of page.accessors) {
        const stored = await this.deps.store.getByAccessor(parent);
        if (stored && !isExpired(stored.record, this.now())) continue;
        const walk = await this.revokeTree(parent, '', Math.max(0, deadline - this.now()));
        revoked += walk.revoked;
        if (!walk.complete) return { revoked, complete: false };
      }
      continuation = page.continuation;
    } while (continuation);
    return { revoked, complete: true };
  }

  /**
   * `auth/token/revoke`: the live token and its subtree. A service token that is already gone still
   * has its subtree walked (its accessor follows from the token), so repeating a revoke whose walk
   * was cut short finishes it. Returns the token that was live, if any.
   */
  async revokeByToken(token: string): Promise<ResolvedToken | undefined> {
    const found = await this.find(token);
    if (found) {
      await this.revoke(found);
      return found;
    }
    if (classifyToken(token) === 'service') await this.revokeTree(accessorOf(token), '');
    return undefined;
  }

  /** Revokes by accessor; false when no live token has it. */
  async revokeAccessor(accessor: string): Promise<boolean> {
    const found = await this.findByAccessor(accessor);
    if (!found) return false;
    await this.revoke(found);
    return true;
  }

  /** Every accessor in the store, sorted (Vault lists every accessor index entry). */
  async listAccessors(): Promise<string[]> {
    const accessors: string[] = [];
    let continuation: string | undefined;
    do {
      const page = await this.deps.store.listAccessors(1000, continuation);
      accessors.push(...page.accessors);
      continuation = page.continuation;
    } while (continuation);
    return accessors.sort();
  }

  /**
   * The hourly tidy and `auth/token/tidy`: deletes expired tokens (see tidy.ts), then finishes the
   * revocation of every subtree whose root is gone (an expired or revoked parent), within one budget.
   */
  async tidy(options: Omit<TidyOptions, 'now'> = {}): Promise<TidyReport & { readonly treeTokensRevoked: number }> {
    const started = this.now();
    const expired = await tidyTokens(this.deps.store, { ...options, now: this.now });
    const left = options.budgetMs === undefined ? DEFAULT_REVOKE_BUDGET_MS : Math.max(0, options.budgetMs - (this.now() - started));
    const trees = await this.sweepAbandonedTrees(left);
    return { ...expired, complete: expired.complete && trees.complete, treeTokensRevoked: trees.revoked };
  }

  /**
   * Revokes every service token a mount issued (mount disable). Pages through the mount's tokens
   * and deletes each; safe to repeat and to run twice at once (a 404 counts as done). Returns how
   * many deletions this call made.
   */
  async revokeMountTokens(mount: string): Promise<number> {
    let revoked = 0;
    // Deleting while paging never skips rows ahead of the cursor; loop until a pass finds none, so
    // a token issued by a login that raced the disable is caught too.
    for (let pass = 0; pass < 10; pass++) {
      let found = 0;
      let continuation: string | undefined;
      do {
        const page = await this.deps.store.scan({ mount }, 100, continuation);
        found += page.keys.length;
        const results = await Promise.all(page.keys.map((k) => this.deps.store.remove(k.accessor)));
        revoked += results.filter((r) => r.ok).length;
        continuation = page.continuation;
      } while (continuation);
      if (found === 0) break;
    }
    return revoked;
  }
}


