/**
 * A tenant's OpenID metadata: the v1 and v2 discovery documents, each giving an issuer and the key
 * set that signs that issuer's tokens. Successes are cached (Entra changes them rarely). A failure
 * is remembered for a few seconds (`failureTtlMs`): a mistyped tenant would otherwise cost two Entra
 * requests on every login, and logins during an Entra outage would each add two more. The bound is
 * short so that a tenant that appears, or Entra recovering, is seen within seconds. Concurrent
 * misses share one download.
 */
import { z } from 'zod';
import { parseEndpointUrl } from './clouds';
import { VaultError } from '../vault/errors';
import { entraUnavailable } from './errors';
import { fetchJson, type FetchLike } from './fetch-json';

export type IssuerKind = 'v1' | 'v2';

export interface IssuerMetadata {
  readonly kind: IssuerKind;
  readonly issuer: string;
  readonly jwksUri: string;
}

export interface TenantMetadata {
  readonly issuers: readonly IssuerMetadata[];
}

const discoveryDocument = z.object({ issuer: z.string().min(1), jwks_uri: z.string().min(1) });

interface CachedMetadata {
  readonly metadata: TenantMetadata;
  readonly fetchedAt: number;
}

export interface DiscoveryCacheOptions {
  readonly fetch: FetchLike;
  readonly now: () => number;
  readonly maxAgeMs: number;
  readonly timeoutMs: number;
  /** How long a failed download is answered from memory. Default DISCOVERY_FAILURE_TTL_MS. */
  readonly failureTtlMs?: number;
}

/** How long a failed discovery is remembered: seconds, so a later success is not hidden for long. */
export const DISCOVERY_FAILURE_TTL_MS = 5_000;
/** Failures remembered at most (one per tenant and authority; config writes decide the tenants). */
const MAX_REMEMBERED_FAILURES = 1000;

interface RememberedFailure {
  readonly error: VaultError;
  readonly until: number;
}

export class DiscoveryCache {
  private readonly cached = new Map<string, CachedMetadata>();
  private readonly pending = new Map<string, Promise<TenantMetadata>>();
  private readonly failures = new Map<string, RememberedFailure>();

  constructor(private readonly options: DiscoveryCacheOptions) {}

  /** `authorityHost` has no trailing slash; `tenant` is a GUID or domain already checked by the caller. */
  async tenant(authorityHost: string, tenant: string): Promise<TenantMetadata> {
    const key = `${authorityHost}|${tenant.toLowerCase()}`;
    const hit = this.cached.get(key);
    if (hit && this.options.now() - hit.fetchedAt < this.options.maxAgeMs) return hit.metadata;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const failed = this.failures.get(key);
    if (failed && this.options.now() < failed.until) throw new VaultError(failed.error.code, failed.error.errors, { cause: failed.error });
    const download = this.download(authorityHost, tenant)
      .then(
        (metadata) => {
          this.failures.delete(key);
          this.cached.set(key, { metadata, fetchedAt: this.options.now() });
          return metadata;
        },
        (err: unknown) => {
          if (err instanceof VaultError) this.remember(key, err);
          throw err;
        },
      )
      .finally(() => this.pending.delete(key));
    this.pending.set(key, download);
    return download;
  }

  private remember(key: string, error: VaultError): void {
    this.failures.delete(key);
    // Map keeps insertion order: the first key is the oldest failure.
    while (this.failures.size >= MAX_REMEMBERED_FAILURES) {
      const oldest = this.failures.keys().next();
      if (oldest.done === true) break;
      this.failures.delete(oldest.value);
    }
    this.failures.set(key, { error, until: this.options.now() + (this.options.failureTtlMs ?? DISCOVERY_FAILURE_TTL_MS) });
  }

  private async download(authorityHost: string, tenant: string): Promise<TenantMetadata> {
    const base = `${authorityHost}/${encodeURIComponent(tenant)}`;
    const [v1, v2] = await Promise.all([
      this.document('v1', `${base}/.well-known/openid-configuration`),
      this.document('v2', `${base}/v2.0/.well-known/openid-configuration`),
    ]);
    return { issuers: [v1, v2] };
  }

  private async document(kind: IssuerKind, url: string): Promise<IssuerMetadata> {
    const body = await fetchJson(this.options.fetch, url, this.options.timeoutMs);
    const parsed = discoveryDocument.safeParse(body);
    if (!parsed.success) throw entraUnavailable(`GET ${url}: discovery document lacks issuer or jwks_uri`);
    // The key set URL comes from the network: hold it to the same https-or-loopback rule as our settings
    // (a query is allowed: Entra adds `?appid=` for apps with their own signing keys).
    const jwks = parseEndpointUrl(parsed.data.jwks_uri, { allowQuery: true });
    if (!jwks.ok) throw entraUnavailable(`GET ${url}: unacceptable jwks_uri: ${jwks.reason}`);
    return { kind, issuer: parsed.data.issuer, jwksUri: jwks.url };
  }
}
