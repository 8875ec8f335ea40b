/**
 * A mount's client-secret credential: OAuth 2.0 client credentials against Entra's v2 token endpoint.
 *
 * Rotation only ever holds a client secret (managed identity and federation have none to rotate), so
 * this is the one credential kind it needs. It is a plain form POST over the same `fetch` as the Graph
 * calls rather than @azure/identity's ClientSecretCredential: one transport to point at the emulator,
 * no instance discovery, no token cache shared across secrets, and the refusal of a secret (which the
 * swap waits out while Entra replicates a new password) is told apart from Entra being down.
 */
import { z } from 'zod';
import { VaultError } from '../vault/errors';
import { exchange, parseJson, type FetchLike, type RetryOptions, type Sleep } from './http';
import { describeNetworkError, shortText } from '../net/describe';

export interface AccessTokenSource {
  /** A bearer token for the source's scope; cached until shortly before it expires. */
  accessToken(): Promise<string>;
}

export interface ClientSecretIdentity {
  /** Entra authority, e.g. `https://login.microsoftonline.com` (a trailing slash is fine). */
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface TokenSourceOptions {
  readonly scope: string;
  readonly fetch: FetchLike;
  readonly retry: RetryOptions;
  readonly sleep: Sleep;
  readonly now?: () => number;
}

/**
 * Entra refused these client credentials (wrong or removed secret, unknown client, or a new password
 * not yet replicated). A 400: the mount's configuration, not the service, is at fault.
 */
export class CredentialsRefusedError extends VaultError {
  constructor(detail: string) {
    super('bad_request', `the mount's client credentials were refused by Entra ID: ${detail}`);
    this.name = 'CredentialsRefusedError';
  }
}

export function isCredentialsRefused(err: unknown): err is CredentialsRefusedError {
  return err instanceof CredentialsRefusedError;
}

const tokenReplySchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
});

const tokenErrorSchema = z.object({
  error: z.string(),
  error_description: z.string().optional(),
});

/** OAuth error codes that mean "these credentials are not accepted" rather than "try later". */
const REFUSALS = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant']);

/** Tokens are renewed this long before Entra's expiry, so a call never starts with a dying token. */
const RENEW_BEFORE_MS = 5 * 60_000;

export function clientSecretTokenSource(identity: ClientSecretIdentity, options: TokenSourceOptions): AccessTokenSource {
  const now = options.now ?? Date.now;
  const url = `${identity.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(identity.tenantId)}/oauth2/v2.0/token`;
  let cached: { token: string; renewAt: number } | undefined;
  return {
    async accessToken() {
      if (cached && now() < cached.renewAt) return cached.token;
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: identity.clientId,
        client_secret: identity.clientSecret,
        scope: options.scope,
      });
      const result = await exchange(
        url,
        () => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString() }),
        { fetch: options.fetch, retry: options.retry, sleep: options.sleep, idempotent: true },
      );
      if (result.kind === 'network') {
        throw new VaultError('entra_unavailable', `entra unavailable: token request: ${describeNetworkError(result.error)}`, { cause: result.error });
      }
      const { reply } = result;
      const body = parseJson(reply.body);
      if (reply.status === 200) {
        const parsed = tokenReplySchema.safeParse(body);
        if (!parsed.success) throw new VaultError('entra_unavailable', 'entra unavailable: token response has no access_token');
        const lifetimeMs = (parsed.data.expires_in ?? 3600) * 1000;
        cached = { token: parsed.data.access_token, renewAt: now() + Math.max(0, lifetimeMs - RENEW_BEFORE_MS) };
        return parsed.data.access_token;
      }
      const failure = tokenErrorSchema.safeParse(body);
      const detail = failure.success
        ? `${failure.data.error}${failure.data.error_description ? `: ${shortText(failure.data.error_description)}` : ''}`
        : `${reply.status} ${reply.statusText}`.trim();
      if (reply.status >= 400 && reply.status < 500 && reply.status !== 429) {
        if (failure.success && REFUSALS.has(failure.data.error)) throw new CredentialsRefusedError(detail);
        // Unknown tenant, bad scope: still the configuration's fault, not Entra being down.
        throw new VaultError('bad_request', `token request refused by Entra ID: ${detail}`);
      }
      throw new VaultError('entra_unavailable', `entra unavailable: token request: ${detail}`);
    },
  };
}
