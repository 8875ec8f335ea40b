/**
 * The token service: issue, authenticate (every use), look up, renew, revoke and list tokens.
 * Service tokens live in the token table (see store.ts); batch tokens carry their own record,
 * sealed under a server key (see batch.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { VaultError, badRequest, conflict, invalidToken, permissionDenied } from '../vault/errors';
import type { AuthBlock, TokenView } from '../vault/types';
import { BatchTokenTooLarge, openBatchToken, sealBatchToken } from './batch';
import { addressAllowed } from '../net/cidr';
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

export interface TokenServiceDeps {
  readonly store: TokenStore;
  readonly keys: ServerKeys;
  readonly system: SystemTtls;
  readonly roles: RoleLookup;
  readonly now?: () => number;
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
    await this.deps.store.insert(record);
    return { token, auth: authBlockOf(record, token, record.creationTtl), warnings: plan.warnings };
  }

  /** A non-expiring `root` token, as `vault server -dev` prints at start-up. */
  async createRootToken(): Promise<string> {
    const issued = await this.issueToken({
      type: 'service',
      mount: 'token',
      path: 'auth/token/root',
      policies: ['root'],
      displayName: 'root',
      allowRoot: true,
    });
    return issued.token;
  }

  // ---- use -----------------------------------------------------------------------------------

  /**
   * Validates a token for one use: syntax, existence, expiry, bound CIDRs (every use), and the use
   * count (an ETag-conditional decrement; the last use deletes the token). Throws Vault's 403
   * "invalid token" for anything dead or malformed, plain "permission denied" for a live token used
   * from outside its CIDRs.
   */
  async authenticate(token: string, remoteAddress: string | undefined): Promise<TokenView> {
    const found = await this.find(token);
    if (!found) throw invalidToken();
    if (!addressAllowed(found.record.boundCidrs, remoteAddress)) throw permissionDenied();
    const used = await this.consumeUse(found);
    if (!used) throw invalidToken();
    const view: TokenView = {
      hash: used.record.hash,
      accessor: used.record.accessor,
      type: used.record.type,
      policies: used.record.policies,
      mount: used.record.mount,
      principalId: used.record.principalId,
    };
    this.resolvedViews.set(view, used);
    return view;
  }

  /**
   * The record behind a view that `authenticate` returned; falls back to a fresh read (without
   * consuming a use) if the view was copied on its way to the handler.
   */
  async resolvedFor(view: TokenView, token: string): Promise<ResolvedToken> {
    const known = this.resolvedViews.get(view);
    if (known) return known;
    const found = await this.find(token);
    if (!found || found.record.hash !== view.hash) throw invalidToken();
    return found;
  }

  /** A live (known, unexpired) token without consuming a use; undefined otherwise. */
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
    return resolved && !isExpired(resolved.record, this.now()) ? resolved : undefined;
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

  /** A live service token by accessor (an accessor never names a batch token). */
  async findByAccessor(accessor: string): Promise<ResolvedToken | undefined> {
    const stored = await this.deps.store.getByAccessor(accessor);
    if (!stored || isExpired(stored.record, this.now())) return undefined;
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

  // ---- revoke --------------------------------------------------------------------------------

  /**
   * Revokes a service token: one delete of its one entity, so no reader can ever see a token
   * without its accessor or the reverse. Idempotent.
   */
  async revoke(target: ResolvedToken): Promise<void> {
    if (target.record.type === 'batch') throw badRequest('batch tokens cannot be revoked');
    await this.deps.store.remove(target.record.accessor);
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

  /** Deletes expired tokens (the hourly timer and `auth/token/tidy`); see tidy.ts. */
  tidy(options: Omit<TidyOptions, 'now'> = {}): Promise<TidyReport> {
    return tidyTokens(this.deps.store, { ...options, now: this.now });
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


