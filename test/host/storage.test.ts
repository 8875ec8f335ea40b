// AzureWebJobsStorage handling: UseDevelopmentStorage=true starts embedded Azurite (Table) and
// hands the app an explicit connection string; any other value passes through untouched; timer
// schedule status lives in that account, so a missed occurrence gives one past-due run.
import net from 'node:net';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCOUNT_KEY } from '../../dev/host/azurite';
import { spawnHost, type SpawnedHost } from '../../dev/host/spawn';
import { STATUS_TABLE } from '../../dev/host/timer-status';
import { BASE_ENV, fixtureState, HOST_APP, waitFor, waitForLog } from './helpers';

let embedded: SpawnedHost;

beforeAll(async () => {
  embedded = await spawnHost({
    appRoot: HOST_APP,
    env: { ...BASE_ENV, AzureWebJobsStorage: 'UseDevelopmentStorage=true', AzureFunctionsWebHost__hostid: 'embedded-host' },
  });
});

afterAll(async () => {
  await embedded?.stop();
});

function canConnect(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('storage', () => {
  it('starts embedded Azurite and gives the app the explicit connection string', async () => {
    const connection = embedded.storageConnectionString;
    expect(connection).toMatch(
      /^DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=[^;]+;TableEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;$/,
    );
    expect(connection).toContain(`AccountKey=${DEV_ACCOUNT_KEY};`);
    expect((await fixtureState(embedded.url)).storage).toBe(connection);
  });

  it('keeps timer schedule status in a Table row of that account', async () => {
    const table = TableClient.fromConnectionString(embedded.storageConnectionString!, STATUS_TABLE, { allowInsecureConnection: true });
    const row = await waitFor(
      async () => {
        try {
          // The row is first written at start-up with Last = 0001-01-01 and rewritten after the
          // runOnStartup run; wait for the second write.
          const row = await table.getEntity<Record<string, string>>('embedded-host', 'Host.Functions.startup');
          return Date.parse(row.Last ?? '') > 0 ? row : undefined;
        } catch {
          return undefined;
        }
      },
      5000,
      'the startup timer status row after the runOnStartup run',
    );
    expect(Date.parse(row.Last!)).toBeGreaterThan(Date.parse('2026-01-01T00:00:00Z')); // the runOnStartup run
    expect(row.Next).toMatch(/^\d{4}-01-01T00:00:00\.000Z$/);
  });

  it('passes any other value through and runs a missed occurrence once with isPastDue', async () => {
    const connection = embedded.storageConnectionString!;
    // The startup timer is yearly (0 0 0 1 1 *): a status whose Next (2021) is long gone is past due.
    const table = TableClient.fromConnectionString(connection, STATUS_TABLE, { allowInsecureConnection: true });
    await table.createTable();
    await table.upsertEntity(
      { partitionKey: 'pastdue-host', rowKey: 'Host.Functions.startup', Last: '2020-01-01T00:00:00.000Z', Next: '2021-01-01T00:00:00.000Z', LastUpdated: '2020-01-01T00:00:00.000Z' },
      'Replace',
    );
    const second = await spawnHost({ appRoot: HOST_APP, env: { ...BASE_ENV, AzureWebJobsStorage: connection, AzureFunctionsWebHost__hostid: 'pastdue-host' } });
    try {
      expect(second.storageConnectionString).toBeUndefined();
      const state = await waitFor(
        async () => {
          const s = await fixtureState(second.url);
          return s.timerRuns.startup?.length ? s : undefined;
        },
        5000,
        'the past-due run',
      );
      expect(state.storage).toBe(connection);
      expect(state.timerRuns.startup).toHaveLength(1); // past due wins over runOnStartup: one run
      expect(state.timerRuns.startup![0]).toMatchObject({
        isPastDue: true,
        scheduleStatus: { last: '2020-01-01T00:00:00.000Z', next: '2021-01-01T00:00:00.000Z' },
      });
      await waitForLog(second, "Timer 'startup' is past due.");
    } finally {
      await second.stop();
    }
  });

  it('stops Azurite when the host stops', async () => {
    const endpoint = /TableEndpoint=([^;]+)/.exec(embedded.storageConnectionString!)![1]!;
    expect(await canConnect(endpoint)).toBe(true);
    await embedded.stop();
    expect(await canConnect(endpoint)).toBe(false);
  });
});
