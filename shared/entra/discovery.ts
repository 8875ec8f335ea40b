/**
 * A tenant's OpenID metadata: the v1 and v2 discovery documents, each giving an issuer and the key
 * set that signs that issuer's tokens. Successes are cached (Entra changes them rarely); failures
 * never are, so the next request simply tries again. Concurrent misses share one download.
 */
import { z } from 'zod';
import { parseEndpointUrl } from './clouds';
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
}

export class DiscoveryCache {
  private readonly cached = new Map<string, CachedMetadata>();
  private readonly pending = new Map<string, Promise<TenantMetadata>>();

  constructor(private readonly options: DiscoveryCacheOptions) {}

  /** `authorityHost` has no trailing slash; `tenant` is a GUID or domain already checked by the caller. */
  async tenant(authorityHost: string, tenant: string): Promise<TenantMetadata> {
    const key = `${authorityHost}|${tenant.toLowerCase()}`;
    const hit = this.cached.get(key);
    if (hit && this.options.now() - hit.fetchedAt < this.options.maxAgeMs) return hit.metadata;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const download = this.download(authorityHost, tenant)
      .then((metadata) => {
        this.cached.set(key, { metadata, fetchedAt: this.options.now() });
        return metadata;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, download);
    return download;
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
