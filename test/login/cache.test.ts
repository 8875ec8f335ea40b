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
});
