/**
 * Signing-key sets (JWKS), one per `jwks_uri`, held in memory as imported public keys.
 *
 * Refresh rules: a set older than `maxAgeMs` is downloaded again before use (Microsoft advises
 * checking for new keys daily); a token whose `kid` is not in the set triggers an early download,
 * but only if the set's last download started at least `unknownKidIntervalMs` ago, so a flood of
 * made-up `kid`s costs at most one download per interval. Failed downloads are not cached. Concurrent downloads of one set are shared.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { entraUnavailable } from './errors';
import { fetchJson, type FetchLike } from './fetch-json';

/** Keys weaker than this are ignored; Entra's are 2048-bit. */
const MIN_RSA_BITS = 2048;

const jwkSchema = z.looseObject({
  kty: z.string(),
  kid: z.string().optional(),
  use: z.string().optional(),
  alg: z.string().optional(),
  n: z.string().optional(),
  e: z.string().optional(),
});
const jwksSchema = z.object({ keys: z.array(z.unknown()) });

interface KeySet {
  readonly byKid: ReadonlyMap<string, KeyObject>;
  readonly all: readonly KeyObject[];
  readonly fetchedAt: number;
}

interface KeySetState {
  current?: KeySet;
  pending?: Promise<KeySet>;
  /** When the last download started (ms): an unknown `kid` refreshes only if this is old enough. */
  lastDownloadAt: number;
}

export interface KeySetCacheOptions {
  readonly fetch: FetchLike;
  readonly now: () => number;
  readonly maxAgeMs: number;
  readonly unknownKidIntervalMs: number;
  readonly timeoutMs: number;
}

/** The keys to try for a token, or `unknown` when its `kid` is not in the set even after a refresh. */
export type KeyLookup = { readonly found: true; readonly keys: readonly KeyObject[] } | { readonly found: false };

export class KeySetCache {
  private readonly sets = new Map<string, KeySetState>();

  constructor(private readonly options: KeySetCacheOptions) {}

  /**
   * Keys for a token header: the one with that `kid`, or every key when the header names none
   * (as go-oidc does). An unknown `kid` refreshes the set once if the rate limit allows.
   */
  async keysFor(jwksUri: string, kid: string | undefined): Promise<KeyLookup> {
    const state = this.stateOf(jwksUri);
    let set = await this.fresh(jwksUri, state);
    if (kid === undefined) return set.all.length > 0 ? { found: true, keys: set.all } : { found: false };
    let key = set.byKid.get(kid);
    if (!key) {
      if (state.pending) {
        // A download is already running (rotation noticed by another request): wait for it.
        set = await state.pending;
      } else if (this.options.now() - state.lastDownloadAt >= this.options.unknownKidIntervalMs) {
        set = await this.download(jwksUri, state);
      }
      key = set.byKid.get(kid);
    }
    return key ? { found: true, keys: [key] } : { found: false };
  }

  private stateOf(jwksUri: string): KeySetState {
    let state = this.sets.get(jwksUri);
    if (!state) {
      state = { lastDownloadAt: Number.NEGATIVE_INFINITY };
      this.sets.set(jwksUri, state);
    }
    return state;
  }

  private async fresh(jwksUri: string, state: KeySetState): Promise<KeySet> {
    const current = state.current;
    if (current && this.options.now() - current.fetchedAt < this.options.maxAgeMs) return current;
    return state.pending ?? this.download(jwksUri, state);
  }

  private download(jwksUri: string, state: KeySetState): Promise<KeySet> {
    // Counted from the start, and also when it fails, so an outage is not hammered either.
    state.lastDownloadAt = this.options.now();
    const pending = fetchJson(this.options.fetch, jwksUri, this.options.timeoutMs)
      .then((body) => {
        const set = importKeySet(jwksUri, body, this.options.now());
        state.current = set;
        return set;
      })
      .finally(() => {
        state.pending = undefined;
      });
    state.pending = pending;
    return pending;
  }
}

/** Imports the RS256-capable keys of a JWKS; keys of other types or uses are skipped, not fatal. */
function importKeySet(jwksUri: string, body: unknown, fetchedAt: number): KeySet {
  const parsed = jwksSchema.safeParse(body);
  if (!parsed.success) throw entraUnavailable(`GET ${jwksUri}: not a JSON Web Key Set`);
  const byKid = new Map<string, KeyObject>();
  const all: KeyObject[] = [];
  for (const entry of parsed.data.keys) {
    const jwk = jwkSchema.safeParse(entry);
    if (!jwk.success) continue;
    const { kty, kid, use, alg, n, e } = jwk.data;
    if (kty !== 'RSA' || !n || !e) continue;
    if (use !== undefined && use !== 'sig') continue;
    if (alg !== undefined && alg !== 'RS256') continue;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: { kty, n, e }, format: 'jwk' });
    } catch {
      continue;
    }
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) continue;
    all.push(key);
    if (kid !== undefined && !byKid.has(kid)) byKid.set(kid, key);
  }
  return { byKid, all, fetchedAt };
}
