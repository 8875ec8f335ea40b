/**
 * The three Microsoft Graph calls root rotation makes, over `fetch`, with the mount's own credentials:
 * list the application by appId, addPassword, removePassword (Graph v1.0; the app needs
 * Application.ReadWrite.OwnedBy and to own itself, or Application.ReadWrite.All).
 *
 * Failures are `graph_unavailable` (502) when Graph or the network failed, and 400 when Graph refused
 * what the configuration asked for (no permission, a malformed client_id), so an operator is sent to
 * fix the right thing.
 */
import { z } from 'zod';
import { VaultError } from '../vault/errors';
import type { AccessTokenSource } from './credentials';
import { exchange, parseJson, type FetchLike, type HttpReply, type RetryOptions, type Sleep } from './http';
import { describeNetworkError, shortText } from '../net/describe';

export interface GraphPasswordCredential {
  readonly keyId: string;
  readonly displayName: string | null;
  /** The first three characters of the secret, as Graph shows them. */
  readonly hint: string | null;
  readonly endDateTime: string | null;
}

export interface GraphApplication {
  /** The application object's id (what addPassword/removePassword address), not its appId. */
  readonly id: string;
  readonly appId: string;
  readonly passwordCredentials: readonly GraphPasswordCredential[];
}

export interface AddedPassword {
  readonly keyId: string;
  readonly secretText: string;
  readonly endDateTime: string;
}

/** What the rotation engine needs from Graph; implemented over HTTP below, faked nowhere in the product. */
export interface GraphApi {
  applicationsByAppId(appId: string): Promise<GraphApplication[]>;
  addPassword(applicationObjectId: string, displayName: string, endDateTime: Date): Promise<AddedPassword>;
  /** Removes one password. Absent already (or the application gone) counts as removed. */
  removePassword(applicationObjectId: string, keyId: string): Promise<void>;
}

/** A Graph answer other than success, with Graph's own status and error code for callers to inspect. */
export class GraphRequestError extends VaultError {
  readonly graphStatus: number;
  readonly graphCode: string;

  constructor(callerCaused: boolean, graphStatus: number, graphCode: string, message: string) {
    super(callerCaused ? 'bad_request' : 'graph_unavailable', message);
    this.name = 'GraphRequestError';
    this.graphStatus = graphStatus;
    this.graphCode = graphCode;
  }
}

const passwordCredentialSchema = z.object({
  keyId: z.string(),
  displayName: z.string().nullable().optional().transform((v) => v ?? null),
  hint: z.string().nullable().optional().transform((v) => v ?? null),
  endDateTime: z.string().nullable().optional().transform((v) => v ?? null),
});

const applicationSchema = z.object({
  id: z.string(),
  appId: z.string(),
  passwordCredentials: z.array(passwordCredentialSchema).nullable().optional().transform((v) => v ?? []),
});

const applicationListSchema = z.object({
  value: z.array(applicationSchema),
  '@odata.nextLink': z.string().optional(),
});

const addedPasswordSchema = z.object({
  keyId: z.string().min(1),
  secretText: z.string().min(1),
  endDateTime: z.string().min(1),
});

const graphErrorSchema = z.object({ error: z.object({ code: z.string().optional(), message: z.string().optional() }) });

export interface GraphClientOptions {
  /** Graph base URL without `/v1.0`, e.g. `https://graph.microsoft.com` or the emulator's URL. */
  readonly baseUrl: string;
  readonly tokens: AccessTokenSource;
  readonly fetch: FetchLike;
  readonly retry: RetryOptions;
  readonly sleep: Sleep;
}

/** A lookup by appId yields one application; more pages than this means something is badly wrong. */
const MAX_PAGES = 5;

export function graphClient(options: GraphClientOptions): GraphApi {
  const base = `${options.baseUrl.replace(/\/+$/, '')}/v1.0`;

  async function call(method: 'GET' | 'POST', url: string, body: unknown, idempotent: boolean, what: string): Promise<HttpReply> {
    const token = await options.tokens.accessToken();
    const result = await exchange(
      url,
      () => ({
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
      { fetch: options.fetch, retry: options.retry, sleep: options.sleep, idempotent },
    );
    if (result.kind === 'network') {
      throw new VaultError('graph_unavailable', `graph unavailable: ${what}: ${describeNetworkError(result.error)}`, { cause: result.error });
    }
    return result.reply;
  }

  return {
    async applicationsByAppId(appId) {
      // OData string literal: a quote is escaped by doubling it.
      const filter = `appId eq '${appId.replace(/'/g, "''")}'`;
      let url: string | undefined = `${base}/applications?$filter=${encodeURIComponent(filter)}`;
      const found: GraphApplication[] = [];
      for (let page = 0; url !== undefined; page++) {
        if (page === MAX_PAGES) throw new VaultError('graph_unavailable', 'graph unavailable: listing applications did not end');
        const reply = await call('GET', url, undefined, true, 'listing applications');
        if (reply.status !== 200) throw replyError(reply, 'listing applications');
        const parsed = applicationListSchema.safeParse(parseJson(reply.body));
        if (!parsed.success) throw new VaultError('graph_unavailable', 'graph unavailable: listing applications: unexpected response');
        found.push(...parsed.data.value);
        url = parsed.data['@odata.nextLink'];
      }
      return found;
    },

    async addPassword(applicationObjectId, displayName, endDateTime) {
      const url = `${base}/applications/${encodeURIComponent(applicationObjectId)}/addPassword`;
      const reply = await call('POST', url, { passwordCredential: { displayName, endDateTime: endDateTime.toISOString() } }, false, 'adding a password');
      if (reply.status !== 200 && reply.status !== 201) throw replyError(reply, 'failed to add new password');
      const parsed = addedPasswordSchema.safeParse(parseJson(reply.body));
      if (!parsed.success) throw new VaultError('graph_unavailable', 'graph unavailable: adding a password: unexpected response');
      return parsed.data;
    },

    async removePassword(applicationObjectId, keyId) {
      const url = `${base}/applications/${encodeURIComponent(applicationObjectId)}/removePassword`;
      const reply = await call('POST', url, { keyId }, true, 'removing a password');
      if (reply.status === 200 || reply.status === 204) return;
      // A repeat of a removal that already happened (a retry, or a recovery run): Graph answers
      // 404 for a gone application and 400 for an unknown keyId. Only trust that after looking.
      if (reply.status === 404) return;
      throw replyError(reply, 'failed to remove password');
    },
  };
}

/**
 * 400 (malformed request), 401/403 (the credentials may not do this) are the configuration's fault;
 * everything else (429 and 5xx after retries, odd statuses) is Graph being unavailable.
 */
function replyError(reply: HttpReply, what: string): GraphRequestError {
  const parsed = graphErrorSchema.safeParse(parseJson(reply.body));
  const code = parsed.success ? (parsed.data.error.code ?? '') : '';
  const message = parsed.success ? shortText(parsed.data.error.message ?? '') : '';
  const detail = [String(reply.status), code, message].filter(Boolean).join(' ');
  const callerCaused = reply.status === 400 || reply.status === 401 || reply.status === 403;
  if (callerCaused) {
    const hint = reply.status === 400 ? '' : ' (the application needs Application.ReadWrite.OwnedBy and to own itself, or Application.ReadWrite.All)';
    return new GraphRequestError(true, reply.status, code, `microsoft graph refused the request: ${what}: ${detail}${hint}`);
  }
  return new GraphRequestError(false, reply.status, code, `graph unavailable: ${what}: ${detail}`);
}
