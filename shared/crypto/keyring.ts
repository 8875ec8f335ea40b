/**
 * The keyring: data keys ("terms", as Vault's keyring calls them) that seal KV secrets, each sealed
 * under the root key (AZAUTH_ENCRYPTION_KEY) and stored in the state table, partition `keyring`:
 *
 *   head          { latestTerm }             the term new seals use
 *   term-<10 digits> { sealedKey, installTime } one per term, never changed except by a root rewrap
 *
 * `rotate()` (Vault's `sys/rotate`) adds a term in one entity-group transaction with the head,
 * conditional on the head's ETag: of several instances rotating at once each gets its own term, and no
 * term number ever names two keys. Old terms stay, so everything sealed under them still opens.
 *
 * Each worker caches the terms it has opened. Before sealing it re-reads the head when its copy is
 * more than a second old, so a new term reaches every instance within about a second; a sealed value
 * naming a term the cache lacks makes it load that term at once.
 *
 * Rolling the root key only rewraps the `term-*` rows (shared/system/root-keys.ts): data sealed
 * under a term is never touched by a root-key change.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { vaultTime } from '../kv/time';
import { LoadOnceCache } from '../storage/load-once';
import { MAX_OPTIMISTIC_ATTEMPTS, pauseBeforeRetry } from '../storage/optimistic';
import { getEntityOrUndefined, isConflict, isNotFound, isPreconditionFailed } from '../storage/tables';
import { conflict } from '../vault/errors';
import { TABLES, type TableProvider } from '../storage/tables';
import { newSealedDataKey, openDataKey, requireEncryptionKey, type EncryptionKey, type RootKeySource } from './secretbox';

/** Seals and opens with the keyring's terms. `aad` binds where a value lives (mount, key, version). */
export interface Sealer {
  /** Uses the newest term. */
  seal(plaintext: Buffer, aad: string): Promise<Buffer>;
  /** Opens a value sealed under any term still in the ring; throws when it was moved or tampered with. */
  open(sealed: Buffer, aad: string): Promise<Buffer>;
}

/** `sys/key-status` data, as Vault answers it (Vault also counts `encryptions`; we do not, see docs/secrets.md). */
export interface KeyStatus {
  readonly term: number;
  readonly install_time: string;
}

export const KEYRING_PARTITION = 'keyring';
const HEAD = 'head';
const TERM_PREFIX = 'term-';

export function termRowKey(term: number): string {
  return `${TERM_PREFIX}${String(term).padStart(10, '0')}`;
}

export function termOfRowKey(rowKey: string): number | undefined {
  if (!rowKey.startsWith(TERM_PREFIX)) return undefined;
  const term = Number(rowKey.slice(TERM_PREFIX.length));
  return Number.isSafeInteger(term) && term > 0 ? term : undefined;
}

/** Binds a term's sealed key to its term number: a row copied onto another term does not open. */
export function termContext(term: number): string {
  return `azauth:keyring:term:${term}`;
}

const headSchema = z.object({ latestTerm: z.number().int().positive() });
const termSchema = z.object({ sealedKey: z.string().min(1), installTime: z.string().min(1) });

/** Format byte, term (uint32 big-endian), IV, tag, then the ciphertext. */
const FORMAT = 1;
const HEADER_BYTES = 5;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_TERM = 0xffffffff;

export interface KeyringOptions {
  /** The state table. */
  readonly table: () => Promise<TableClient>;
  /** The root key(s); throws (a 400 naming AZAUTH_ENCRYPTION_KEY) when none is configured. */
  readonly rootKey: () => EncryptionKey;
  readonly now?: () => number;
  /** How old the cached head may be before a seal re-reads it. */
  readonly refreshMs?: number;
}

interface Term {
  readonly term: number;
  readonly key: Buffer;
  readonly installTime: string;
}

export class Keyring implements Sealer {
  private readonly terms = new LoadOnceCache<number, Term>((term) => this.loadTerm(term));
  private latest = 0;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly refreshMs: number;

  constructor(private readonly options: KeyringOptions) {
    this.now = options.now ?? Date.now;
    this.refreshMs = options.refreshMs ?? 1000;
  }

  async seal(plaintext: Buffer, aad: string): Promise<Buffer> {
    const term = await this.current();
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt8(FORMAT, 0);
    header.writeUInt32BE(term.term, 1);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', term.key, iv);
    // The header is authenticated too, so the term number cannot be edited without detection.
    cipher.setAAD(Buffer.concat([header, Buffer.from(aad, 'utf8')]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
  }

  async open(sealed: Buffer, aad: string): Promise<Buffer> {
    if (sealed.length < HEADER_BYTES + IV_BYTES + TAG_BYTES || sealed.readUInt8(0) !== FORMAT) {
      throw new Error('sealed value has an unknown format');
    }
    const term = await this.terms.get(sealed.readUInt32BE(1));
    const header = sealed.subarray(0, HEADER_BYTES);
    const iv = sealed.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
    const tag = sealed.subarray(HEADER_BYTES + IV_BYTES, HEADER_BYTES + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', term.key, iv);
    decipher.setAAD(Buffer.concat([header, Buffer.from(aad, 'utf8')]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES + IV_BYTES + TAG_BYTES)), decipher.final()]);
  }

  /** `sys/key-status`: the term new values are sealed under, read fresh from storage. */
  async status(): Promise<KeyStatus> {
    this.checkedAt = Number.NEGATIVE_INFINITY;
    const term = await this.current();
    return { term: term.term, install_time: term.installTime };
  }

  /** `sys/rotate`: adds a term that new seals use from now on; returns it. */
  async rotate(): Promise<KeyStatus> {
    const client = await this.options.table();
    for (let attempt = 1; attempt <= MAX_OPTIMISTIC_ATTEMPTS * 3; attempt++) {
      if (attempt > 1) await pauseBeforeRetry(Math.min(attempt - 1, MAX_OPTIMISTIC_ATTEMPTS));
      const head = await getEntityOrUndefined<Record<string, unknown>>(client, KEYRING_PARTITION, HEAD);
      if (!head) {
        await this.initialise(client);
        continue;
      }
      const latest = parseHead(head);
      if (latest >= MAX_TERM) throw new Error('the keyring has run out of term numbers');
      const fresh = this.newTerm(latest + 1);
      try {
        await client.submitTransaction([
          ['update', { partitionKey: KEYRING_PARTITION, rowKey: HEAD, latestTerm: fresh.term.term }, 'Replace', { etag: head.etag }],
          ['create', fresh.entity],
        ]);
      } catch (err) {
        // Another instance rotated since our read: read the head again and take the next number.
        if (isPreconditionFailed(err) || isConflict(err) || isNotFound(err)) continue;
        throw err;
      }
      this.remember(fresh.term);
      this.latest = Math.max(this.latest, fresh.term.term);
      this.checkedAt = this.now();
      return { term: fresh.term.term, install_time: fresh.term.installTime };
    }
    throw conflict('the keyring was rotated by concurrent requests; try again');
  }

  /** The newest term, re-reading the head when the cached one is older than `refreshMs`. */
  private async current(): Promise<Term> {
    if (this.latest === 0 || this.now() - this.checkedAt >= this.refreshMs) {
      this.refreshing ??= this.refresh().finally(() => {
        this.refreshing = undefined;
      });
      await this.refreshing;
    }
    return this.terms.get(this.latest);
  }

  private async refresh(): Promise<void> {
    const client = await this.options.table();
    let head = await getEntityOrUndefined<Record<string, unknown>>(client, KEYRING_PARTITION, HEAD);
    if (!head) {
      await this.initialise(client);
      head = await getEntityOrUndefined<Record<string, unknown>>(client, KEYRING_PARTITION, HEAD);
      if (!head) throw new Error('the keyring head vanished while being created');
    }
    this.latest = Math.max(this.latest, parseHead(head));
    this.checkedAt = this.now();
  }

  /** Creates term 1 and the head together; another instance doing the same at once is fine. */
  private async initialise(client: TableClient): Promise<void> {
    const first = this.newTerm(1);
    try {
      await client.submitTransaction([
        ['create', { partitionKey: KEYRING_PARTITION, rowKey: HEAD, latestTerm: 1 }],
        ['create', first.entity],
      ]);
      this.remember(first.term);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  private newTerm(term: number): { term: Term; entity: { partitionKey: string; rowKey: string; sealedKey: string; installTime: string } } {
    const installTime = vaultTime(new Date(this.now()));
    const { key, sealed: sealedKey } = newSealedDataKey(this.options.rootKey(), termContext(term));
    return { term: { term, key, installTime }, entity: { partitionKey: KEYRING_PARTITION, rowKey: termRowKey(term), sealedKey, installTime } };
  }

  private remember(term: Term): void {
    this.terms.remember(term.term, term);
  }

  private async loadTerm(term: number): Promise<Term> {
    const client = await this.options.table();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, KEYRING_PARTITION, termRowKey(term));
    if (!entity) throw new Error(`the keyring has no term ${term}`);
    const parsed = termSchema.safeParse(entity);
    if (!parsed.success) throw new Error(`keyring term ${term} is unreadable`, { cause: parsed.error });
    const root = this.options.rootKey(); // before opening: "no root key configured" must reach the caller as it is
    const label = `keyring term ${term}`;
    const key = openDataKey(root, parsed.data.sealedKey, termContext(term), label, `${label} does not open with the configured root key(s)`);
    this.latest = Math.max(this.latest, term);
    return { term, key, installTime: parsed.data.installTime };
  }
}

function parseHead(entity: unknown): number {
  const parsed = headSchema.safeParse(entity);
  if (!parsed.success) throw new Error('the keyring head is unreadable', { cause: parsed.error });
  return parsed.data.latestTerm;
}

/** The app's keyring: terms in the state table, sealed under the root key settings (current and, during a rollover, next). */
export function createKeyring(tables: TableProvider, rootKeys: RootKeySource): Keyring {
  return new Keyring({ table: () => tables.table(TABLES.state), rootKey: () => requireEncryptionKey(rootKeys, 'KV secrets') });
}
