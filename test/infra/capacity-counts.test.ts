/**
 * The Table Storage work per login that docs/capacity.md prices, measured: the app on the local host
 * talks to Azurite through a counting proxy. Writes per warm login must equal the document's "Work
 * per login" table; point reads must be what its login-state cache allows (mount, role and config at
 * most once per worker and cache period). A change to the login path's storage traffic fails here
 * until the cost model is updated.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devConnectionString, startEmbeddedAzurite, type EmbeddedAzurite } from '../../dev/host/azurite';
import { LOGIN_STATE_CACHE_MS } from '../../shared/login/login';
import { startStack, type Stack } from '../support/stack';

const CAPACITY = readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'capacity.md'), 'utf8');

/** The two figures (service, batch) of a row of the "Work per login" table. */
function documented(rowStart: string): { service: number; batch: number } {
  const line = CAPACITY.split('\n').find((l) => l.startsWith(`| ${rowStart}`));
  const cells = line?.split('|').map((cell) => cell.trim()) ?? [];
  const leading = (cell: string | undefined) => Number(/^(\d+)/.exec(cell ?? '')?.[1] ?? Number.NaN);
  return { service: leading(cells[2]), batch: leading(cells[3]) };
}

type Kind = 'point-read' | 'query' | 'insert' | 'update' | 'delete' | 'table';

/** What one Table service request is, from its method and path. */
function kindOf(method: string, url: string): Kind {
  const pathname = decodeURIComponent(url.split('?')[0] ?? '');
  if (/\/Tables(\(|$)/.test(pathname)) return 'table';
  if (method === 'GET') return /\(PartitionKey='.*',RowKey='.*'\)$/.test(pathname) ? 'point-read' : 'query';
  if (method === 'POST') return 'insert';
  if (method === 'DELETE') return 'delete';
  return 'update';
}

let azurite: EmbeddedAzurite;
let proxy: http.Server;
let stack: Stack;
const seen: Kind[] = [];

beforeAll(async () => {
  azurite = await startEmbeddedAzurite();
  const target = new URL(azurite.tableEndpoint);
  // Shared-key signatures cover the path and headers, not the host, so forwarding keeps them valid.
  proxy = http.createServer((req, res) => {
    // Only the app's own tables (TABLES in shared/storage/tables.ts are all azauth*); the local
    // host's timer bookkeeping is not login work.
    if (/^\/devstoreaccount1\/(?:azauth|Tables)/.test(req.url ?? '')) seen.push(kindOf(req.method ?? 'GET', req.url ?? '/'));
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;
  stack = await startStack({ env: { AzureWebJobsStorage: devConnectionString(`http://127.0.0.1:${port}/devstoreaccount1`) } });
});

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await azurite?.stop();
});

describe('Table Storage work per login, as docs/capacity.md prices it', () => {
  it('matches the document for service and batch tokens', async () => {
    const tenant = stack.emulator.entra.addTenant();
    const oid = randomUUID();
    const resource = 'https://management.azure.com/';
    const admin = { token: await stack.adminToken() };
    expect((await stack.request('POST', 'auth/azure/config', { ...admin, body: { tenant_id: tenant, resource } })).status).toBe(204);
    for (const [role, tokenType] of [
      ['svc', 'service'],
      ['bat', 'batch'],
    ] as const) {
      const res = await stack.request('POST', `auth/azure/role/${role}`, { ...admin, body: { bound_service_principal_ids: [oid], token_type: tokenType } });
      expect(res.status, res.text).toBe(204);
    }
    const jwt = await stack.emulator.entra.mintToken({ tenant, audience: resource, oid });

    const countLogins = async (role: string, logins: number) => {
      // One login first, so one-time work (table creation, server keys) is not counted.
      expect((await stack.request('POST', 'auth/azure/login', { body: { role, jwt } })).status).toBe(200);
      const before = seen.length;
      const started = Date.now();
      for (let i = 0; i < logins; i += 1) {
        const res = await stack.request('POST', 'auth/azure/login', { body: { role, jwt } });
        expect(res.status, res.text).toBe(200);
      }
      const periods = Math.ceil((Date.now() - started) / LOGIN_STATE_CACHE_MS) + 1;
      const counts: Record<Kind, number> = { 'point-read': 0, query: 0, insert: 0, update: 0, delete: 0, table: 0 };
      for (const kind of seen.slice(before)) counts[kind] += 1;
      return { counts, periods };
    };

    const writes = documented('Table Storage writes');
    const readsRow = documented('Table Storage point reads');
    expect(readsRow, 'the document says warm logins read nothing').toEqual({ service: 0, batch: 0 });
    const logins = 20;
    for (const [role, documentedWrites] of [
      ['svc', writes.service],
      ['bat', writes.batch],
    ] as const) {
      const { counts, periods } = await countLogins(role, logins);
      expect(counts.insert + counts.update + counts.delete, `${role}: writes for ${logins} logins`).toBe(documentedWrites * logins);
      expect(counts.table, `${role}: no table calls`).toBe(0);
      // The mount table: one query of the whole table per cache period (one worker here).
      expect(counts.query, `${role}: mount-table reads for ${logins} logins over ${periods} cache periods`).toBeLessThanOrEqual(periods);
      // Role and config: at most one read each per cache period.
      expect(counts['point-read'], `${role}: reads for ${logins} logins over ${periods} cache periods`).toBeLessThanOrEqual(2 * periods);
      expect(counts['point-read'] + counts.query).toBeLessThan(3 * logins);
    }
  });
});
