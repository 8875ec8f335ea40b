import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('sys/health', () => {
  it('answers GET without a token, in Vault\'s shape', async () => {
    const res = await stack.request('GET', 'sys/health');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    const body = res.json as Record<string, unknown>;
    expect(body).toMatchObject({
      initialized: true,
      sealed: false,
      standby: false,
      performance_standby: false,
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      enterprise: false,
    });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof body.cluster_name).toBe('string');
    expect(body.cluster_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs((body.server_time_utc as number) - Date.now() / 1000)).toBeLessThan(60);
  });
});
