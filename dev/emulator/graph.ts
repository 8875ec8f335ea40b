// Microsoft Graph, the slice the product uses for root-credential rotation
// (vault-azure-auth-behaviour.md §5 and §6): list applications by appId, addPassword,
// removePassword. Callers need an emulator-signed token for Graph; they see the applications of
// their token's tenant only.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ApplicationRecord, GraphModel, PasswordCredential } from './graph-model';
import { HttpError, bearerToken, parseJsonObject, readBody, sendEmpty, sendJson } from './http-util';
import { isGuid } from './ids';
import type { KeyStore } from './keys';
import { verifyEmulatorToken } from './tokens';

/** Audiences Graph accepts: its URI with and without a trailing slash, per cloud, and its app id. */
export const GRAPH_AUDIENCES: readonly string[] = [
  'https://graph.microsoft.com',
  'https://graph.microsoft.com/',
  'https://graph.microsoft.us',
  'https://graph.microsoft.us/',
  'https://microsoftgraph.chinacloudapi.cn',
  'https://microsoftgraph.chinacloudapi.cn/',
  '00000003-0000-0000-c000-000000000000',
];

const GRAPH_CONTEXT = 'https://graph.microsoft.com/v1.0/$metadata';

export function graphErrorBody(code: string, message: string): { error: { code: string; message: string; innerError: Record<string, string> } } {
  const requestId = randomUUID();
  return { error: { code, message, innerError: { date: new Date().toISOString().replace(/\.\d+Z$/, ''), 'request-id': requestId, 'client-request-id': requestId } } };
}

function graphError(status: number, code: string, message: string): HttpError {
  return new HttpError(status, graphErrorBody(code, message));
}

const addPasswordBody = z.object({
  passwordCredential: z
    .object({
      displayName: z.string().max(1024).nullable().optional(),
      endDateTime: z.string().optional(),
      startDateTime: z.string().optional(),
    })
    .optional(),
});

const removePasswordBody = z.object({ keyId: z.string().refine(isGuid, 'keyId must be a GUID') });

function publicPassword(p: PasswordCredential): Record<string, unknown> {
  // Graph never returns a secret after addPassword; listings carry secretText: null.
  return { customKeyIdentifier: null, displayName: p.displayName, endDateTime: p.endDateTime, hint: p.hint, keyId: p.keyId, secretText: null, startDateTime: p.startDateTime };
}

function publicApplication(app: ApplicationRecord): Record<string, unknown> {
  return {
    id: app.id,
    appId: app.appId,
    displayName: app.displayName,
    createdDateTime: app.createdDateTime,
    signInAudience: 'AzureADMyOrg',
    keyCredentials: [],
    passwordCredentials: app.passwords.map(publicPassword),
  };
}

function parseDate(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw graphError(400, 'Request_BadRequest', `Invalid value specified for property '${field}' of resource 'PasswordCredential'.`);
  return new Date(ms).toISOString();
}

export class GraphService {
  constructor(
    private readonly model: GraphModel,
    private readonly keys: KeyStore,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const token = bearerToken(req);
    if (token === undefined) throw graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    const verified = await verifyEmulatorToken(this.keys, token, GRAPH_AUDIENCES);
    if (!verified.ok) throw graphError(401, 'InvalidAuthenticationToken', `Access token validation failure: ${verified.reason}.`);
    const tenant = typeof verified.claims['tid'] === 'string' ? verified.claims['tid'] : '';

    const method = req.method ?? 'GET';
    let path: string;
    try {
      path = decodeURIComponent(url.pathname).replace(/\/+$/, '');
    } catch {
      throw graphError(400, 'BadRequest', `Invalid request URI ${url.pathname}.`);
    }
    const match = /^\/v1\.0\/applications(?:\/([^/]+)(?:\/([^/]+))?|\(appId='([^']+)'\))?$/i.exec(path);
    if (match === null) {
      const segment = path.split('/')[2] ?? '';
      throw graphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
    }
    const [, objectId, action, appIdKey] = match;

    if (objectId === undefined && appIdKey === undefined) {
      if (method !== 'GET') throw graphError(405, 'Request_BadRequest', `Method ${method} is not supported on applications by the emulator.`);
      return sendJson(res, 200, { '@odata.context': `${GRAPH_CONTEXT}#applications`, value: this.list(tenant, url) });
    }
    const app = appIdKey !== undefined ? this.model.findByAppId(appIdKey, tenant)[0] : this.inTenant(objectId ?? '', tenant);
    if (app === undefined) {
      throw graphError(404, 'Request_ResourceNotFound', `Resource '${objectId ?? appIdKey ?? ''}' does not exist or one of its queried reference-property objects are not present.`);
    }
    if (action === undefined) {
      if (method !== 'GET') throw graphError(405, 'Request_BadRequest', `Method ${method} is not supported on an application by the emulator.`);
      return sendJson(res, 200, { '@odata.context': `${GRAPH_CONTEXT}#applications/$entity`, ...publicApplication(app) });
    }
    if (method !== 'POST') throw graphError(405, 'Request_BadRequest', `${action} needs POST.`);
    const body = parseJsonObject(await readBody(req), graphErrorBody('BadRequest', 'Unable to read JSON request payload.'));
    switch (action.toLowerCase()) {
      case 'addpassword':
        return sendJson(res, 200, this.addPassword(app, body));
      case 'removepassword': {
        const parsed = removePasswordBody.safeParse(body);
        if (!parsed.success) throw graphError(400, 'Request_BadRequest', 'Invalid value specified for property \'keyId\' of resource \'removePassword\'.');
        if (!this.model.removePassword(app.id, parsed.data.keyId)) {
          throw graphError(400, 'Request_BadRequest', `No password credential found with keyId '${parsed.data.keyId}'.`);
        }
        return sendEmpty(res, 204);
      }
      default:
        throw graphError(400, 'BadRequest', `Resource not found for the segment '${action}'.`);
    }
  }

  private inTenant(objectId: string, tenant: string): ApplicationRecord | undefined {
    const app = this.model.application(objectId);
    return app !== undefined && app.tenantId.toLowerCase() === tenant.toLowerCase() ? app : undefined;
  }

  private list(tenant: string, url: URL): Record<string, unknown>[] {
    const filter = url.searchParams.get('$filter');
    if (filter === null) return this.model.applicationsInTenant(tenant).map(publicApplication);
    const byAppId = /^\s*appId\s+eq\s+'([^']*)'\s*$/i.exec(filter);
    if (byAppId === null) throw graphError(400, 'Request_UnsupportedQuery', `Unsupported query: the emulator filters applications by "appId eq '<id>'" only, got ${filter}.`);
    return this.model.findByAppId(byAppId[1] ?? '', tenant).map(publicApplication);
  }

  private addPassword(app: ApplicationRecord, body: Record<string, unknown>): Record<string, unknown> {
    const parsed = addPasswordBody.safeParse(body);
    if (!parsed.success) throw graphError(400, 'Request_BadRequest', `Invalid addPassword payload: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const requested = parsed.data.passwordCredential ?? {};
    const endDateTime = parseDate(requested.endDateTime, 'endDateTime');
    const startDateTime = parseDate(requested.startDateTime, 'startDateTime');
    if (endDateTime !== undefined && Date.parse(endDateTime) <= Date.parse(startDateTime ?? new Date().toISOString())) {
      throw graphError(400, 'Request_BadRequest', 'Key credential end date is invalid.');
    }
    const created = this.model.addPassword(app.id, {
      displayName: requested.displayName ?? null,
      ...(endDateTime === undefined ? {} : { endDateTime }),
      ...(startDateTime === undefined ? {} : { startDateTime }),
    });
    return {
      '@odata.context': `${GRAPH_CONTEXT}#microsoft.graph.passwordCredential`,
      customKeyIdentifier: null,
      displayName: created.displayName,
      endDateTime: created.endDateTime,
      hint: created.hint,
      keyId: created.keyId,
      secretText: created.secretText,
      startDateTime: created.startDateTime,
    };
  }
}
