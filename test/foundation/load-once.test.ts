/**
 * LoadOnceCache (the keyring's terms, the server keys): one load per key shared by concurrent callers
 * and kept for good; a failed load is tried again on the next call instead of failing every call after.
 */
import { describe, expect, it } from 'vitest';
import { LoadOnceCache } from '../../shared/storage/load-once';

describe('LoadOnceCache', () => {
  it('loads each key once for concurrent and later callers, and keeps keys apart', async () => {
    const loads: string[] = [];
    const cache = new LoadOnceCache(async (key: string) => {
      loads.push(key);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return `value of ${key}`;
    });
    expect(cache.peek('a')).toBeUndefined();
    expect(await Promise.all([cache.get('a'), cache.get('a'), cache.get('b')])).toEqual(['value of a', 'value of a', 'value of b']);
    expect(await cache.get('a')).toBe('value of a');
    expect(cache.peek('a')).toBe('value of a');
    expect(loads).toEqual(['a', 'b']);
  });

  it('tries a failed load again on the next call; callers that shared the failed one see its error', async () => {
    let loads = 0;
    const cache = new LoadOnceCache(async (key: string) => {
      loads++;
      if (loads === 1) throw new Error('injected: storage unavailable');
      return key;
    });
    const first = await Promise.allSettled([cache.get('k'), cache.get('k')]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(cache.peek('k')).toBeUndefined();
    expect(await cache.get('k')).toBe('k');
    expect(await cache.get('k')).toBe('k');
    expect(loads).toBe(2);
  });

  it('never loads a value it was told to remember', async () => {
    const cache = new LoadOnceCache<string, string>(() => Promise.reject(new Error('must not load')));
    cache.remember('k', 'written here');
    expect(await cache.get('k')).toBe('written here');
  });
});
