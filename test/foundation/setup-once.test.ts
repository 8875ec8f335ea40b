/**
 * setUpOnce: the one-time setup of a table (the built-in mounts, the `default` policy) runs once for
 * all callers, and a failed one is tried again on the next call instead of failing every call after.
 */
import { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { setUpOnce } from '../../shared/storage/tables';

// Never sent a request: the setup functions below only count and fail.
const client = TableClient.fromConnectionString('UseDevelopmentStorage=true', 'azauthsetuponce');

describe('setUpOnce', () => {
  it('runs the setup once for concurrent and later callers, and hands each the table', async () => {
    let runs = 0;
    const ready = setUpOnce(
      async () => client,
      async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      },
    );
    const clients = await Promise.all([ready(), ready(), ready()]);
    expect(await ready()).toBe(client);
    expect(clients.every((c) => c === client)).toBe(true);
    expect(runs).toBe(1);
  });

  it('tries a failed setup again on the next call; callers that shared the failed one see its error', async () => {
    let runs = 0;
    const ready = setUpOnce(
      async () => client,
      async () => {
        runs++;
        if (runs === 1) throw new Error('injected: storage unavailable');
      },
    );
    const first = await Promise.allSettled([ready(), ready()]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(runs).toBe(1);
    expect(await ready()).toBe(client);
    expect(await ready()).toBe(client);
    expect(runs).toBe(2);
  });
});
