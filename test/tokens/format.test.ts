import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { accessorOf, classifyToken, isAccessorShaped, newServiceToken, partitionOf, tokenHash } from '../../shared/tokens/format';
import { openBatchToken, sealBatchToken } from '../../shared/tokens/batch';
import { planToken } from '../../shared/tokens/issue';
import type { TokenRecord } from '../../shared/tokens/record';
import { addressAllowed } from '../../shared/net/cidr';

describe('service token format', () => {
  it('is hvs. + 43 base64url characters of 32 random bytes, never repeating', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const token = newServiceToken();
      expect(token).toMatch(/^hvs\.[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
      seen.add(token);
    }
    expect(seen.size).toBe(200);
  });

  it('derives a 24-character base62 accessor one way, distinct from the stored hash', () => {
    const token = newServiceToken();
    const accessor = accessorOf(token);
    expect(accessor).toMatch(/^[0-9A-Za-z]{24}$/);
    expect(accessorOf(token)).toBe(accessor);
    expect(accessorOf(newServiceToken())).not.toBe(accessor);
    expect(tokenHash(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenHash(token)).not.toContain(accessor);
    expect(partitionOf(accessor)).toMatch(/^[0-9a-f]{3}$/);
  });

  it('spreads partitions', () => {
    const partitions = new Set(Array.from({ length: 2000 }, () => partitionOf(accessorOf(newServiceToken()))));
    expect(partitions.size).toBeGreaterThan(1500);
  });

  it('classifies garbage without I/O', () => {
    expect(classifyToken(newServiceToken())).toBe('service');
    expect(classifyToken('')).toBe('malformed');
    expect(classifyToken('s.abcdefghijklmnopqrstuvwx')).toBe('malformed');
    expect(classifyToken(`hvs.${'A'.repeat(42)}`)).toBe('malformed');
    expect(classifyToken(`hvs.${'A'.repeat(10_000)}`)).toBe('malformed');
    expect(classifyToken(`hvs.${'A'.repeat(42)}=`)).toBe('malformed');
    expect(classifyToken(`hvb.${'A'.repeat(10_000)}`)).toBe('malformed');
    expect(classifyToken('hvb.abc')).toBe('batch');
    expect(isAccessorShaped('auth_azure_1a2b3c4d')).toBe(false);
  });
});

describe('batch tokens', () => {
  const system = { defaultTtl: 3600, maxTtl: 7200 };
  const now = Date.UTC(2025, 0, 1);
  const record = (): TokenRecord => ({
    ...planToken(
      { type: 'batch', mount: 'azure', mountAccessor: 'auth_azure_1', path: 'auth/azure/login', role: 'web', policies: ['web'], displayName: 'azure-oid', principalId: 'oid', tenantId: 'tid', meta: { role: 'web' }, boundCidrs: ['10.0.0.0/8'] },
      system,
      now,
    ).record,
    hash: '',
    accessor: '',
  });

  it('round-trips the record under the key and nothing readable is in the token', () => {
    const key = randomBytes(32);
    const token = sealBatchToken(record(), key);
    expect(token.startsWith('hvb.')).toBe(true);
    expect(classifyToken(token)).toBe('batch');
    expect(token).not.toMatch(/web|azure|oid/);
    expect(Buffer.from(token.slice(4), 'base64url').toString('latin1')).not.toContain('web');
    const opened = openBatchToken(token, key);
    expect(opened?.policies).toEqual(['default', 'web']);
    expect(opened?.meta).toEqual({ role: 'web' });
    expect(opened?.expireTimeMs).toBe(now + 3600_000);
    expect(opened?.boundCidrs).toEqual(['10.0.0.0/8']);
    expect(opened?.hash).toBe(tokenHash(token));
  });

  it('rejects any tampering, another key, truncation and another version', () => {
    const key = randomBytes(32);
    const token = sealBatchToken(record(), key);
    const raw = Buffer.from(token.slice(4), 'base64url');
    for (const index of [0, 5, 20, raw.length - 1]) {
      const copy = Buffer.from(raw);
      copy[index] = copy[index]! ^ 1;
      expect(openBatchToken(`hvb.${copy.toString('base64url')}`, key)).toBeUndefined();
    }
    expect(openBatchToken(token, randomBytes(32))).toBeUndefined();
    expect(openBatchToken(token.slice(0, -4), key)).toBeUndefined();
    expect(openBatchToken('hvb.', key)).toBeUndefined();
  });
});

describe('bound CIDRs', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses; no address means no match', () => {
    expect(addressAllowed([], undefined)).toBe(true);
    expect(addressAllowed(['10.0.0.0/8'], '10.1.2.3')).toBe(true);
    expect(addressAllowed(['10.0.0.0/8'], '::ffff:10.1.2.3')).toBe(true);
    expect(addressAllowed(['10.0.0.0/8'], '127.0.0.1')).toBe(false);
    expect(addressAllowed(['127.0.0.1'], '127.0.0.1')).toBe(true);
    expect(addressAllowed(['fd00::/8'], 'fd12::1')).toBe(true);
    expect(addressAllowed(['10.0.0.0/8'], undefined)).toBe(false);
    expect(addressAllowed(['10.0.0.0/8'], 'not-an-ip')).toBe(false);
  });
});
