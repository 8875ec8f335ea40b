import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../shared/arm/cache';

describe('TtlCache', () => {
  it('shares one load between concurrent callers and serves it until the TTL ends', async () => {
    let now = 0;
    let loads = 0;
    const cache = new TtlCache<number>({ ttlMs: 1000, maxEntries: 10, now: () => now });
    let release: (value: number) => void = () => undefined;
    const load = () => {
      loads++;
      return new Promise<number>((resolve) => {
        release = resolve;
      });
    };
    const waiting = Array.from({ length: 50 }, () => cache.get('k', load));
    expect(loads).toBe(1);
    release(7);
    expect(await Promise.all(waiting)).toEqual(Array(50).fill(7));
    now = 999;
    expect(await cache.get('k', async () => 8)).toBe(7);
    now = 1000;
    expect(await cache.get('k', async () => 8)).toBe(8);
    expect(loads).toBe(1);
  });

  it('does not cache failures', async () => {
    const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10 });
    await expect(cache.get('k', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', async () => 'up')).toBe('up');
  });

  it('drops the oldest entry beyond maxEntries', async () => {
    const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 2 });
    for (const key of ['a', 'b', 'c']) await cache.get(key, async () => key);
    expect(cache.size).toBe(2);
    expect(await cache.get('a', async () => 'reloaded')).toBe('reloaded');
    expect(await cache.get('c', async () => 'reloaded')).toBe('c');
  });

  it('answers a value past its TTL during the grace while one background refresh runs', async () => {
    let now = 0;
    let loads = 0;
    const cache = new TtlCache<number>({ ttlMs: 1000, graceMs: 500, maxEntries: 10, now: () => now });
    const load = async () => ++loads;
    expect(await cache.get('k', load)).toBe(1);
    now = 1200;
    expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual([1, 1]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(loads).toBe(2);
    expect(await cache.get('k', load)).toBe(2);
    now = 1200 + 1000 + 500; // past TTL + grace of the refreshed value: waits for a fresh load
    expect(await cache.get('k', load)).toBe(3);
  });

  it('a failed background refresh drops the stale value', async () => {
    let now = 0;
    const cache = new TtlCache<string>({ ttlMs: 1000, graceMs: 500, maxEntries: 10, now: () => now });
    await cache.get('k', async () => 'old');
    now = 1100;
    expect(await cache.get('k', async () => Promise.reject(new Error('down')))).toBe('old');
    await new Promise((resolve) => setImmediate(resolve));
    await expect(cache.get('k', async () => Promise.reject(new Error('still down')))).rejects.toThrow('still down');
  });
});
