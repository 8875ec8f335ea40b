import { describe, expect, it } from 'vitest';
import { calculateTtl, humanDuration, sanitizePolicies } from '../../shared/tokens/ttl';
import { planToken, entityIdFor } from '../../shared/tokens/issue';

const system = { defaultTtl: 768 * 3600, maxTtl: 768 * 3600 };
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const base = { increment: 0, backendTtl: 0, period: 0, backendMaxTtl: 0, explicitMaxTtl: 0, startTimeMs: T0, nowMs: T0 };

describe('humanDuration (Vault lease.go)', () => {
  it('drops zero elements like Vault', () => {
    expect(humanDuration(0)).toBe('0s');
    expect(humanDuration(45)).toBe('45s');
    expect(humanDuration(90)).toBe('1m30s');
    expect(humanDuration(3600)).toBe('1h');
    expect(humanDuration(3605)).toBe('1h5s');
    expect(humanDuration(3660)).toBe('1h1m');
    expect(humanDuration(768 * 3600)).toBe('768h');
  });
});

describe('calculateTtl', () => {
  it('uses the system default when neither increment nor backend TTL is set', () => {
    expect(calculateTtl(system, base)).toEqual({ ttl: 768 * 3600, warnings: [] });
  });

  it('prefers the increment, then the backend TTL', () => {
    expect(calculateTtl(system, { ...base, backendTtl: 600 }).ttl).toBe(600);
    expect(calculateTtl(system, { ...base, backendTtl: 600, increment: 60 }).ttl).toBe(60);
  });

  it('caps at the backend max counted from the start time, with Vault\'s warning', () => {
    const r = calculateTtl(system, { ...base, backendTtl: 7200, backendMaxTtl: 3600 });
    expect(r.ttl).toBe(3600);
    expect(r.warnings).toEqual(['TTL of "2h" exceeded the effective max_ttl of "1h"; TTL value is capped accordingly']);
    // Half an hour later, only the rest of the hour is left.
    const later = calculateTtl(system, { ...base, backendTtl: 7200, backendMaxTtl: 3600, nowMs: T0 + 1800_000 });
    expect(later.ttl).toBe(1800);
    expect(later.warnings[0]).toContain('effective max_ttl of "30m"');
  });

  it('explicit max TTL is lower than everything else', () => {
    expect(calculateTtl(system, { ...base, backendTtl: 7200, backendMaxTtl: 3600, explicitMaxTtl: 600 }).ttl).toBe(600);
  });

  it('periodic: TTL is the period, the increment is ignored, no limit but explicit max', () => {
    const farLater = T0 + 800 * 3600_000; // past the system max from start
    expect(calculateTtl(system, { ...base, period: 300, increment: 9999, nowMs: farLater })).toEqual({ ttl: 300, warnings: [] });
    const capped = calculateTtl(system, { ...base, period: 300, explicitMaxTtl: 1000, nowMs: T0 + 900_000 });
    expect(capped.ttl).toBe(100);
  });

  it('caps a period above the max with the period warning', () => {
    const r = calculateTtl(system, { ...base, period: 7200, backendMaxTtl: 3600 });
    expect(r.ttl).toBe(3600);
    expect(r.warnings[0]).toBe('period of "2h" exceeded the effective max_ttl of "1h"; period value is capped accordingly');
  });

  it('refuses a renewal past the max', () => {
    expect(() => calculateTtl(system, { ...base, backendMaxTtl: 60, nowMs: T0 + 61_000 })).toThrow('past the max TTL, cannot renew');
  });
});

describe('sanitizePolicies', () => {
  it('trims, lower-cases, dedupes, sorts and adds default', () => {
    expect(sanitizePolicies([' Web', 'app', 'web', ''], true)).toEqual(['app', 'default', 'web']);
    expect(sanitizePolicies(['b', 'a'], false)).toEqual(['a', 'b']);
  });
  it('root swallows everything, default included', () => {
    expect(sanitizePolicies(['a', 'ROOT', 'b'], true)).toEqual(['root']);
  });
});

describe('planToken', () => {
  const login = { type: 'service' as const, mount: 'azure', mountAccessor: 'auth_azure_1', path: 'auth/azure/login', role: 'web', policies: ['web'], displayName: 'azure-x' };

  it('applies token_ttl and token_max_ttl and adds default', () => {
    const plan = planToken({ ...login, ttl: 3600, maxTtl: 7200 }, system, T0);
    expect(plan.record.policies).toEqual(['default', 'web']);
    expect(plan.record.creationTtl).toBe(3600);
    expect(plan.record.expireTimeMs).toBe(T0 + 3600_000);
    expect(plan.record.renewable).toBe(true);
    expect(plan.warnings).toEqual([]);
  });

  it('token_no_default_policy leaves default out', () => {
    expect(planToken({ ...login, noDefaultPolicy: true }, system, T0).record.policies).toEqual(['web']);
  });

  it('a TTL above the system max is capped with a warning', () => {
    const plan = planToken({ ...login, ttl: 1000 * 3600 }, system, T0);
    expect(plan.record.creationTtl).toBe(768 * 3600);
    expect(plan.warnings[0]).toContain('exceeded the effective max_ttl of "768h"');
  });

  it('auth methods cannot create root tokens; token create can, and they never expire', () => {
    expect(() => planToken({ ...login, policies: ['root'] }, system, T0)).toThrow('auth methods cannot create root tokens');
    const root = planToken({ ...login, policies: ['root'], allowRoot: true, boundCidrs: ['10.0.0.0/8'] }, system, T0);
    expect(root.record.expireTimeMs).toBeNull();
    expect(root.record.renewable).toBe(false);
    expect(root.record.boundCidrs).toEqual([]);
    const bounded = planToken({ ...login, policies: ['root'], allowRoot: true, explicitMaxTtl: 60 }, system, T0);
    expect(bounded.record.creationTtl).toBe(60);
  });

  it('batch tokens refuse use counts, periods, explicit max TTLs and root', () => {
    const batch = { ...login, type: 'batch' as const };
    expect(() => planToken({ ...batch, numUses: 2 }, system, T0)).toThrow('batch tokens cannot have "num_uses" set');
    expect(() => planToken({ ...batch, period: 60 }, system, T0)).toThrow('batch tokens cannot have "period" set');
    expect(() => planToken({ ...batch, explicitMaxTtl: 60 }, system, T0)).toThrow('batch tokens cannot have "explicit_max_ttl" set');
    expect(() => planToken({ ...batch, policies: ['root'], allowRoot: true }, system, T0)).toThrow('batch tokens cannot be root tokens');
    expect(planToken(batch, system, T0).record.renewable).toBe(false);
  });

  it('refuses negative use counts and malformed CIDRs', () => {
    expect(() => planToken({ ...login, numUses: -1 }, system, T0)).toThrow('number of uses cannot be negative');
    expect(() => planToken({ ...login, boundCidrs: ['10.0.0.0/33'] }, system, T0)).toThrow('invalid token_bound_cidrs: 10.0.0.0/33');
  });

  it('derives a stable entity id per tenant and principal', () => {
    const plan = planToken({ ...login, tenantId: 'T', principalId: 'P' }, system, T0);
    expect(plan.record.entityId).toBe(entityIdFor('t', 'p'));
    expect(plan.record.entityId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(entityIdFor('t', 'q')).not.toBe(plan.record.entityId);
  });
});
