/**
 * The root-credential rotation of a mount, as a state machine over the durable entity of state.ts.
 *
 *   rotate-root / schedule:  idle ──intent──▶ adding ──addPassword, record──▶ pending
 *   timer, after the delay:  pending ──verify new secret, install in config──▶ swapping
 *                            swapping ──removePassword(replaced key)──▶ idle
 *   any run, after a crash:  adding ──remove the password by its display name──▶ idle
 *
 * Guarantees, whatever step fails or wherever the process dies:
 *  - The config always holds a secret Entra accepts: the new one is installed only after Entra has
 *    issued a token for it, and the old password is removed only after the config uses the new one.
 *  - A password added but never recorded carries a unique display name and is removed by the next run.
 *  - A recorded new secret is installed by the next run after the swap delay.
 *  - One rotation per mount at a time: each step is an ETag-conditional write, and the steps that
 *    call Graph run under a lease (owner + expiry) so a second runner waits instead of repeating them.
 *    Graph calls are bounded (http.ts) to a small fraction of the lease.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { EncryptionKey } from '../crypto/secretbox';
import { CONFIG_DEFAULTS, type MountConfig } from '../config/types';
import { shortText } from '../net/describe';
import { VaultError, badRequest, conflict } from '../vault/errors';
import { isCredentialsRefused } from './credentials';
import type { GraphApi, GraphApplication } from './graph';
import { rotationDue } from './schedule';
import { IDLE_STATE, isRaceLost, type RotationState, type RotationStateStore, type RotationTrigger, type StoredRotationState } from './state';

/** The part of the config store rotation uses (ConfigStore satisfies it). */
export interface RotationConfigAccess {
  read(mount: string): Promise<MountConfig | undefined>;
  /** ETag-guarded read-modify-write; `mutate` returns undefined to leave the config unchanged. */
  update(mount: string, mutate: (current: MountConfig) => MountConfig | undefined): Promise<MountConfig | undefined>;
  sealClientSecret(mount: string, plaintext: string): string;
  openClientSecret(mount: string, sealed: string): string;
}

/** Client-secret credentials of a mount, as Graph calls need them. */
export interface MountCredentials {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly environment: string;
}

export interface GraphSession extends GraphApi {
  /** Obtains a Graph token with these credentials: proof that Entra accepts the secret. */
  verifyCredentials(): Promise<void>;
}

export type GraphConnector = (credentials: MountCredentials) => GraphSession;

export interface RotationEngineOptions {
  readonly configs: RotationConfigAccess;
  readonly states: RotationStateStore;
  readonly connect: GraphConnector;
  /** The key that seals the new secret while it waits in the rotation state (AZAUTH_ENCRYPTION_KEY). */
  readonly secretBox: () => EncryptionKey;
  /** `AZURE_TENANT_ID` / `AZURE_ENVIRONMENT`, used when the config leaves them empty (as config does). */
  readonly fallback: { readonly tenantId?: string | undefined; readonly environment?: string | undefined };
  /** AZAUTH_ROTATION_SWAP_DELAY: how long a new password replicates before it replaces the old one. */
  readonly swapDelaySeconds: number;
  readonly clock?: () => Date;
  readonly newId?: () => string;
  readonly leaseSeconds?: number;
  /** How long past the swap delay a refused new secret is waited for before the rotation is abandoned. */
  readonly replicationGraceSeconds?: number;
  /** Pause after a failed scheduled attempt before the timer tries again. */
  readonly scheduledRetrySeconds?: number;
  readonly log?: (message: string) => void;
}

export type AdvanceOutcome = 'idle' | 'busy' | 'waiting' | 'swapped' | 'undone' | 'abandoned';

export interface TickResult {
  readonly mount: string;
  readonly action: AdvanceOutcome | 'none' | 'started' | 'backoff' | 'failed';
  readonly error?: string;
}

export interface StartedRotation {
  readonly rotationId: string;
  /** Earliest time the timer swaps the new secret in. */
  readonly swapAfter: Date;
  readonly warnings: readonly string[];
}

const DEFAULT_LEASE_SECONDS = 300;
const DEFAULT_REPLICATION_GRACE_SECONDS = 3600;
const DEFAULT_SCHEDULED_RETRY_SECONDS = 300;
/** A state changed under a discard is read again; a few rounds are plenty (only the timer writes it). */
const MAX_DISCARD_ATTEMPTS = 5;

/** The current state plus the ETag it was stored under; advanced on every write. */
interface Held {
  state: RotationState;
  etag: string | undefined;
}

export class RotationEngine {
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly leaseMs: number;
  private readonly graceMs: number;
  private readonly scheduledRetryMs: number;
  private readonly log: (message: string) => void;

  constructor(private readonly options: RotationEngineOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    this.leaseMs = (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
    this.graceMs = (options.replicationGraceSeconds ?? DEFAULT_REPLICATION_GRACE_SECONDS) * 1000;
    this.scheduledRetryMs = (options.scheduledRetrySeconds ?? DEFAULT_SCHEDULED_RETRY_SECONDS) * 1000;
    this.log = options.log ?? (() => undefined);
  }

  /**
   * `rotate-root`: finishes or undoes an interrupted rotation, then starts a new one. A rotation still
   * waiting for its swap (or being worked on by another runner) is a 409: rotating twice would only
   * add a password nobody uses.
   */
  async rotateRoot(mount: string): Promise<StartedRotation> {
    const config = requireConfig(await this.options.configs.read(mount));
    const credentials = this.credentialsFor(mount, config);
    let stored = await this.options.states.read(mount);
    if (stored.state.phase !== 'idle') {
      await this.advance(mount);
      stored = await this.options.states.read(mount);
      if (stored.state.phase !== 'idle') throw this.inProgress(stored.state, this.clock());
    }
    return this.start(mount, config, credentials, stored, 'manual');
  }

  /**
   * Moves an in-progress rotation forward as far as it can go now: undoes `adding`, swaps a `pending`
   * rotation whose delay has passed, finishes `swapping`. `owner` lets the runner that holds the lease
   * continue its own rotation.
   */
  async advance(mount: string, owner: string = this.newId()): Promise<AdvanceOutcome> {
    const stored = await this.options.states.read(mount);
    const now = this.clock();
    const state = stored.state;
    if (state.phase === 'idle') return 'idle';
    if (leaseHeldByOther(state, owner, now)) return 'busy';
    if (state.phase === 'pending' && now.getTime() < this.swapAfter(state).getTime()) return 'waiting';
    const held: Held = { state, etag: stored.etag };
    try {
      await this.save(mount, held, { ...state, leaseOwner: owner, leaseUntil: iso(new Date(now.getTime() + this.leaseMs)) });
    } catch (err) {
      if (isRaceLost(err)) return 'busy';
      throw err;
    }
    try {
      switch (held.state.phase) {
        case 'adding':
          return await this.undoAdding(mount, held);
        case 'pending':
          return await this.swap(mount, held);
        case 'swapping':
          return await this.finishSwap(mount, held);
        default:
          return 'idle';
      }
    } catch (err) {
      await this.release(mount, held, messageOf(err));
      throw err;
    }
  }

  /** One timer pass over one mount: finish what is in progress, else start a scheduled rotation if due. */
  async tick(mount: string): Promise<TickResult> {
    try {
      const stored = await this.options.states.read(mount);
      if (stored.state.phase !== 'idle') return { mount, action: await this.advance(mount) };
      const config = await this.options.configs.read(mount);
      if (!config) return { mount, action: 'none' };
      const now = this.clock();
      if (!rotationDue(config, now).due) return { mount, action: 'none' };
      if (this.backingOff(stored.state, now)) return { mount, action: 'backoff' };
      let credentials: MountCredentials;
      try {
        credentials = this.credentialsFor(mount, config);
      } catch (err) {
        await this.recordScheduledFailure(mount, stored, err);
        throw err;
      }
      try {
        await this.start(mount, config, credentials, stored, 'scheduled');
      } catch (err) {
        // A failure before the intent was recorded left no trace: note it so the retry backs off.
        const latest = await this.options.states.read(mount);
        const recorded = Date.parse(latest.state.lastScheduledAttemptAt);
        if (latest.state.phase === 'idle' && !(recorded >= now.getTime())) await this.recordScheduledFailure(mount, latest, err);
        throw err;
      }
      return { mount, action: 'started' };
    } catch (err) {
      this.log(`rotation of mount ${JSON.stringify(mount)}: ${messageOf(err)}`);
      return { mount, action: 'failed', error: messageOf(err) };
    }
  }

  /** The timer: every mount with a config, and every rotation in progress (its config may be gone). */
  async tickAll(mounts: readonly string[]): Promise<TickResult[]> {
    const all = new Set(mounts);
    for (const mount of await this.options.states.listInProgress()) all.add(mount);
    const results: TickResult[] = [];
    // One mount at a time: a handful of Graph calls each, and no burst against Graph's throttling.
    for (const mount of [...all].sort()) results.push(await this.tick(mount));
    return results;
  }

  /**
   * The mount is being disabled (call it while its config still exists): the rotation state goes, so
   * a mount enabled again at this path starts clean and the timer stops visiting it, and so does a
   * password an unfinished rotation added, which nothing would ever use. `swapping` is finished the
   * way the swap would have: the config's (new) secret stays, as any configured secret does when a
   * mount is disabled, and the password it replaced is removed.
   *
   * Removing a password is best effort: when Graph fails or the credentials no longer work, the state
   * goes anyway and the answer's warning names the password left on the application. A runner that is
   * adding a password at this very moment loses its next state write and may leave that password too.
   */
  async discard(mount: string): Promise<{ warnings: string[] }> {
    for (let attempt = 1; attempt <= MAX_DISCARD_ATTEMPTS; attempt++) {
      const stored = await this.options.states.read(mount);
      if (stored.etag === undefined) return { warnings: [] };
      const left = await this.removeUnfinishedPassword(mount, stored.state);
      try {
        await this.options.states.remove(mount, stored.etag);
      } catch (err) {
        if (isRaceLost(err)) continue;
        throw err;
      }
      if (left) this.log(`rotation of mount ${JSON.stringify(mount)} discarded with the mount: ${left}`);
      return { warnings: left ? [left] : [] };
    }
    throw conflict('the rotation state of this mount kept changing while the mount was being disabled; try again');
  }

  // ---------------------------------------------------------------------------------------------
  // Starting a rotation

  private async start(
    mount: string,
    config: MountConfig,
    credentials: MountCredentials,
    stored: StoredRotationState,
    trigger: RotationTrigger,
  ): Promise<StartedRotation> {
    const box = this.options.secretBox();
    const session = this.options.connect(credentials);
    const application = await findApplication(session, credentials.clientId);
    const replaced = replacedPassword(application, config.clientSecretKeyId, credentials.clientSecret);
    const owner = this.newId();
    const rotationId = this.newId();
    const now = this.clock();
    const intent: RotationState = {
      ...IDLE_STATE,
      lastRotationId: stored.state.lastRotationId,
      lastRotationAt: stored.state.lastRotationAt,
      lastOutcome: stored.state.lastOutcome,
      lastScheduledAttemptAt: trigger === 'scheduled' ? iso(now) : stored.state.lastScheduledAttemptAt,
      phase: 'adding',
      rotationId,
      trigger,
      startedAt: iso(now),
      tenantId: credentials.tenantId,
      clientId: credentials.clientId,
      environment: credentials.environment,
      applicationObjectId: application.id,
      displayName: `azauth-${rotationId}`,
      replacedKeyId: replaced.keyId,
      replacedSecretDigest: secretDigest(credentials.clientSecret),
      leaseOwner: owner,
      leaseUntil: iso(new Date(now.getTime() + this.leaseMs)),
    };
    const held: Held = { state: stored.state, etag: stored.etag };
    try {
      await this.save(mount, held, intent);
    } catch (err) {
      if (isRaceLost(err)) throw conflict('a root credential rotation is already in progress for this mount');
      throw err;
    }
    try {
      // A config holding 0 gets Vault's default (4380h), as a config written without the field does.
      const ttlSeconds = config.rootPasswordTtlSeconds > 0 ? config.rootPasswordTtlSeconds : CONFIG_DEFAULTS.rootPasswordTtlSeconds;
      const added = await session.addPassword(application.id, intent.displayName, new Date(now.getTime() + ttlSeconds * 1000));
      await this.save(mount, held, {
        ...intent,
        phase: 'pending',
        newKeyId: added.keyId,
        newSecretSealed: box.seal(added.secretText, newSecretContext(mount)),
        newSecretDigest: secretDigest(added.secretText),
        newSecretCreatedAt: iso(this.clock()),
        newSecretExpiresAt: added.endDateTime,
        leaseOwner: '',
        leaseUntil: '',
      });
    } catch (err) {
      // Undo now rather than at the next timer run: the lease is ours. If the last write did land
      // (only its answer was lost), the rotation is pending after all and the caller is told so.
      try {
        await this.advance(mount, owner);
        const after = await this.options.states.read(mount);
        if (after.state.rotationId === rotationId && (after.state.phase === 'pending' || after.state.phase === 'swapping')) {
          return this.started(after.state, replaced.warning);
        }
      } catch (cleanup) {
        this.log(`rotation of mount ${JSON.stringify(mount)}: cleanup after a failed start failed, the next run retries it: ${messageOf(cleanup)}`);
      }
      throw err;
    }
    return this.started(held.state, replaced.warning);
  }

  private started(state: RotationState, warning: string | undefined): StartedRotation {
    return { rotationId: state.rotationId, swapAfter: this.swapAfter(state), warnings: warning ? [warning] : [] };
  }

  // ---------------------------------------------------------------------------------------------
  // Finishing or undoing

  /** `adding`: the password may exist in Entra without its secret recorded anywhere; remove it. */
  private async undoAdding(mount: string, held: Held): Promise<AdvanceOutcome> {
    const state = held.state;
    const config = await this.options.configs.read(mount);
    const credentials = this.sameApplicationCredentials(mount, config, state);
    if (!credentials) {
      await this.finish(mount, held, 'undone', `rotation ${state.rotationId} was interrupted and the mount's client_id or client_secret has changed since: a password named ${state.displayName} may remain on the application`);
      return 'undone';
    }
    await removeByDisplayName(this.options.connect(credentials), state);
    await this.finish(mount, held, 'undone', `rotation ${state.rotationId} was interrupted before its new password was recorded; that password was removed`);
    return 'undone';
  }

  /** `pending` past the delay: prove the new secret works, install it in the config, then finish. */
  private async swap(mount: string, held: Held): Promise<AdvanceOutcome> {
    const state = held.state;
    const newCredentials = this.newCredentials(mount, state);
    const newSecret = newCredentials.clientSecret;
    const config = await this.options.configs.read(mount);
    const current = config && config.clientId === state.clientId ? this.currentSecretDigest(mount, config) : undefined;

    if (current !== state.replacedSecretDigest && current !== state.newSecretDigest) {
      // The operator replaced the secret or the client_id (or deleted the config) meanwhile: their
      // choice wins; our new password would only linger, so it goes.
      return this.abandon(mount, held, this.sameApplicationCredentials(mount, config, state) ?? newCredentials, "the mount's client_id or client_secret changed during the rotation; its new password was removed");
    }

    if (current === state.replacedSecretDigest) {
      try {
        await this.options.connect(newCredentials).verifyCredentials();
      } catch (err) {
        if (!isCredentialsRefused(err)) throw err;
        const age = this.clock().getTime() - this.swapAfter(state).getTime();
        if (age > this.graceMs) {
          const old = this.sameApplicationCredentials(mount, config, state) ?? newCredentials;
          return this.abandon(mount, held, old, `Entra ID did not accept the new password within ${Math.round(this.graceMs / 1000)}s of the swap delay; it was removed and the current secret kept`);
        }
        await this.release(mount, held, 'the new password is not accepted by Entra ID yet; the swap is retried on the next run');
        return 'waiting';
      }
      const installedAt = iso(this.clock());
      const updated = await this.options.configs.update(mount, (latest) => {
        if (latest.clientId !== state.clientId || this.currentSecretDigest(mount, latest) !== state.replacedSecretDigest) return undefined;
        return {
          ...latest,
          clientSecretSealed: this.options.configs.sealClientSecret(mount, newSecret),
          clientSecretKeyId: state.newKeyId,
          rootPasswordExpirationDate: state.newSecretExpiresAt,
          lastRotation: installedAt,
        };
      });
      if (!updated || updated.clientId !== state.clientId || this.currentSecretDigest(mount, updated) !== state.newSecretDigest) {
        throw conflict('the config changed during the swap; the next run finishes or abandons the rotation');
      }
    }
    await this.save(mount, held, { ...state, phase: 'swapping' });
    return this.finishSwap(mount, held);
  }

  /** `swapping`: the config uses the new secret; remove the one password this rotation replaced. */
  private async finishSwap(mount: string, held: Held): Promise<AdvanceOutcome> {
    const note = await this.removeReplacedPassword(mount, held.state);
    await this.finish(mount, held, 'rotated', note);
    return 'swapped';
  }

  /** Removes the password the rotation replaced; answers why it was left ("" when it was not). */
  private async removeReplacedPassword(mount: string, state: RotationState): Promise<string> {
    if (state.replacedKeyId === '' || state.replacedKeyId === state.newKeyId) return '';
    const config = await this.options.configs.read(mount);
    const credentials = this.sameApplicationCredentials(mount, config, state);
    // Remove the old password only while the config uses the new one: if the operator wrote a
    // secret meanwhile, it may be the old one, and removing it would cut the mount off.
    if (config && credentials && this.currentSecretDigest(mount, config) === state.newSecretDigest) {
      await removeIfPresent(this.options.connect(credentials), state, state.replacedKeyId);
      return '';
    }
    return `the mount's client_secret changed during the swap, so the replaced password (key id ${state.replacedKeyId}) was left in Entra ID`;
  }

  /**
   * For `discard`: removes what an unfinished rotation added to the application. Never throws;
   * answers what was left behind, or undefined when nothing was.
   */
  private async removeUnfinishedPassword(mount: string, state: RotationState): Promise<string | undefined> {
    try {
      switch (state.phase) {
        case 'idle':
          return undefined;
        case 'adding': {
          const credentials = this.sameApplicationCredentials(mount, await this.options.configs.read(mount), state);
          if (!credentials) return `the mount's client_id or client_secret changed since rotation ${state.rotationId} began: a password named ${state.displayName} may remain on the application`;
          await removeByDisplayName(this.options.connect(credentials), state);
          return undefined;
        }
        case 'pending': {
          // The new secret can remove its own password when the config's no longer works for this application.
          const credentials = this.sameApplicationCredentials(mount, await this.options.configs.read(mount), state) ?? this.newCredentials(mount, state);
          await removeIfPresent(this.options.connect(credentials), state, state.newKeyId);
          return undefined;
        }
        case 'swapping':
          return (await this.removeReplacedPassword(mount, state)) || undefined;
      }
    } catch (err) {
      const added =
        state.phase === 'adding'
          ? `a password named ${state.displayName}`
          : state.phase === 'pending'
            ? `its new password (key id ${state.newKeyId})`
            : `the password it replaced (key id ${state.replacedKeyId})`;
      return `the unfinished rotation ${state.rotationId} could not clean up, ${added} may remain on the application: ${messageOf(err)}`;
    }
  }

  private async abandon(mount: string, held: Held, credentials: MountCredentials, reason: string): Promise<AdvanceOutcome> {
    await removeIfPresent(this.options.connect(credentials), held.state, held.state.newKeyId);
    this.log(`rotation of mount ${JSON.stringify(mount)} abandoned: ${reason}`);
    await this.finish(mount, held, 'abandoned', reason);
    return 'abandoned';
  }

  // ---------------------------------------------------------------------------------------------
  // State writes

  private async finish(mount: string, held: Held, outcome: 'rotated' | 'undone' | 'abandoned', message: string): Promise<void> {
    const state = held.state;
    const now = iso(this.clock());
    await this.save(mount, held, {
      ...IDLE_STATE,
      lastRotationId: state.rotationId,
      lastRotationAt: outcome === 'rotated' ? now : state.lastRotationAt,
      lastOutcome: outcome,
      lastError: message,
      lastErrorAt: message ? now : '',
      lastScheduledAttemptAt: state.lastScheduledAttemptAt,
    });
  }

  /** Gives the lease up (keeping the phase) so the next run need not wait for it to expire. Best effort. */
  private async release(mount: string, held: Held, error: string): Promise<void> {
    try {
      await this.save(mount, held, { ...held.state, leaseOwner: '', leaseUntil: '', lastError: error, lastErrorAt: iso(this.clock()) });
    } catch (err) {
      this.log(`rotation of mount ${JSON.stringify(mount)}: could not release the lease, it expires on its own: ${messageOf(err)}`);
    }
  }

  private async recordScheduledFailure(mount: string, stored: StoredRotationState, err: unknown): Promise<void> {
    const now = iso(this.clock());
    try {
      await this.options.states.write(mount, { ...stored.state, lastScheduledAttemptAt: now, lastError: messageOf(err), lastErrorAt: now }, stored.etag);
    } catch (writeErr) {
      if (!isRaceLost(writeErr)) this.log(`rotation of mount ${JSON.stringify(mount)}: could not record a failed attempt: ${messageOf(writeErr)}`);
    }
  }

  private async save(mount: string, held: Held, next: RotationState): Promise<void> {
    held.etag = await this.options.states.write(mount, next, held.etag);
    held.state = next;
  }

  // ---------------------------------------------------------------------------------------------
  // Credentials

  /** The mount's client-secret credentials, or the 400 saying why rotation does not apply. */
  private credentialsFor(mount: string, config: MountConfig): MountCredentials {
    if (config.clientSecretSealed === '') {
      const how = config.identityTokenAudience !== '' ? 'workload identity federation' : "the function app's managed identity";
      throw badRequest(`rotation applies to client secrets only: this mount has no client_secret and authenticates with ${how}`);
    }
    if (config.clientId === '') throw badRequest('client_id is required to rotate the root credential: it names the application whose password is rotated');
    const tenantId = config.tenantId || this.options.fallback.tenantId || '';
    if (tenantId === '') throw badRequest('tenant_id is required');
    return {
      tenantId,
      clientId: config.clientId,
      clientSecret: this.options.configs.openClientSecret(mount, config.clientSecretSealed),
      environment: config.environment || this.options.fallback.environment || '',
    };
  }

  /** The config's credentials when they still belong to the rotation's application, else undefined. */
  private sameApplicationCredentials(mount: string, config: MountConfig | undefined, state: RotationState): MountCredentials | undefined {
    if (!config || config.clientId !== state.clientId || config.clientSecretSealed === '') return undefined;
    return {
      tenantId: config.tenantId || this.options.fallback.tenantId || state.tenantId,
      clientId: config.clientId,
      clientSecret: this.options.configs.openClientSecret(mount, config.clientSecretSealed),
      environment: config.environment || this.options.fallback.environment || '',
    };
  }

  /** The credentials of the password a rotation added, from the sealed secret in its state. */
  private newCredentials(mount: string, state: RotationState): MountCredentials {
    const clientSecret = this.options.secretBox().open(state.newSecretSealed, newSecretContext(mount));
    return { tenantId: state.tenantId, clientId: state.clientId, clientSecret, environment: state.environment };
  }

  private currentSecretDigest(mount: string, config: MountConfig): string {
    return config.clientSecretSealed === '' ? '' : secretDigest(this.options.configs.openClientSecret(mount, config.clientSecretSealed));
  }

  /** A scheduled attempt failed a moment ago: wait before hitting Graph again. */
  private backingOff(state: RotationState, now: Date): boolean {
    const attempt = Date.parse(state.lastScheduledAttemptAt);
    const failed = Date.parse(state.lastErrorAt);
    if (Number.isNaN(attempt) || Number.isNaN(failed) || failed < attempt) return false;
    return now.getTime() - attempt < this.scheduledRetryMs;
  }

  private swapAfter(state: RotationState): Date {
    const created = Date.parse(state.newSecretCreatedAt || state.startedAt);
    return new Date((Number.isNaN(created) ? 0 : created) + this.options.swapDelaySeconds * 1000);
  }

  /**
   * The 409 for a rotation in progress, naming when it is next worked on: the swap time, or the end
   * of a lease another run holds (a run that stopped keeps it until it expires), whichever is later;
   * when both have passed, the swap was just tried by this request and waits for a timer run.
   */
  private inProgress(state: RotationState, now: Date): VaultError {
    const base = 'a root credential rotation is already in progress for this mount';
    const leaseEnd = leaseHeldByOther(state, '', now) ? Date.parse(state.leaseUntil) : undefined;
    const held = leaseEnd === undefined ? '' : ` (another run holds it until ${iso(new Date(leaseEnd))})`;
    const lastError = state.lastError ? `; last attempt: ${shortText(state.lastError, 200)}` : '';
    if (state.phase === 'pending') {
      const next = Math.max(this.swapAfter(state).getTime(), leaseEnd ?? 0);
      if (next > now.getTime()) return conflict(`${base}; its new password replaces the current one after ${iso(new Date(next))}${held}`);
      return conflict(`${base}; its swap is tried again by the next run of the rotation timer (every minute)${lastError}`);
    }
    if (leaseEnd !== undefined) return conflict(`${base}; it is resumed after ${iso(new Date(leaseEnd))}${held}`);
    return conflict(`${base}; it is resumed by the next run of the rotation timer (every minute)${lastError}`);
  }
}

// -----------------------------------------------------------------------------------------------

/** Vault answers "config is nil"; this says what to do about it. */
function requireConfig(config: MountConfig | undefined): MountConfig {
  if (!config) throw badRequest('config is nil: write auth/<mount>/config with client_id and client_secret before rotating the root credential');
  return config;
}

/** Vault's lookup and wording: exactly one application must carry the client_id. */
async function findApplication(session: GraphApi, clientId: string): Promise<GraphApplication> {
  const found = await session.applicationsByAppId(clientId);
  const [only] = found;
  if (!only) throw badRequest(`no application found: no application with appId "${clientId}" is visible to the mount's credentials`);
  if (found.length > 1) throw badRequest('multiple applications found - double check your client_id');
  return only;
}

/** The rotation's application as it is now, or undefined when it is gone. */
async function ownApplication(session: GraphApi, state: RotationState): Promise<GraphApplication | undefined> {
  const found = await session.applicationsByAppId(state.clientId);
  return found.find((app) => app.id === state.applicationObjectId);
}

/** Removes the passwords carrying the rotation's display name (added, but maybe never recorded). */
async function removeByDisplayName(session: GraphApi, state: RotationState): Promise<void> {
  const application = await ownApplication(session, state);
  if (!application) return;
  for (const password of application.passwordCredentials) {
    if (password.displayName === state.displayName) await session.removePassword(application.id, password.keyId);
  }
}

/** Removes one password if the application still has it; looking first makes a repeated removal harmless. */
async function removeIfPresent(session: GraphApi, state: RotationState, keyId: string): Promise<void> {
  if (keyId === '') return;
  const application = await ownApplication(session, state);
  if (!application || !application.passwordCredentials.some((password) => password.keyId === keyId)) return;
  await session.removePassword(application.id, keyId);
}

/**
 * Which password of the application the current secret is, so the swap removes exactly that one
 * (Vault removes every other password). Known after our first rotation (the config keeps the key id);
 * for a secret the operator wrote, Graph's hint (its first three characters) tells it when exactly
 * one password matches. Otherwise nothing is removed and the caller is warned.
 */
export function replacedPassword(application: GraphApplication, knownKeyId: string, secret: string): { keyId: string; warning?: string } {
  if (knownKeyId !== '' && application.passwordCredentials.some((password) => password.keyId === knownKeyId)) return { keyId: knownKeyId };
  const matches = application.passwordCredentials.filter((password) => password.hint !== null && password.hint !== '' && secret.startsWith(password.hint));
  const [only] = matches;
  if (only && matches.length === 1) return { keyId: only.keyId };
  return {
    keyId: '',
    warning:
      `could not tell which of the application's ${application.passwordCredentials.length} passwords the current client_secret is ` +
      `(${matches.length} match its first characters): the new password replaces it in the config, but the old password stays in Entra ID until you remove it`,
  };
}

function leaseHeldByOther(state: RotationState, owner: string, now: Date): boolean {
  if (state.leaseOwner === '' || state.leaseOwner === owner) return false;
  const until = Date.parse(state.leaseUntil);
  return !Number.isNaN(until) && until > now.getTime();
}

/** SHA-256 of a secret under a fixed label: tells secrets apart without storing them. */
export function secretDigest(secret: string): string {
  return createHash('sha256').update('azauth-rotation-digest:').update(secret).digest('hex');
}

/** Binds the sealed new secret to its mount and purpose (the config seals under its own context). */
export function newSecretContext(mount: string): string {
  return `azauth:rotation:${mount}:new_client_secret`;
}

function iso(date: Date): string {
  return date.toISOString();
}

function messageOf(err: unknown): string {
  if (err instanceof VaultError) return err.errors.join('; ') || err.code;
  if (err instanceof Error) return err.message;
  return String(err);
}
