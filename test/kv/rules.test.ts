/** The KV engine's pure rules: merge patch, CAS, pruning, delete_version_after, subkeys, input parsing, key paths. */
import { describe, expect, it } from 'vitest';
import { parseCas, casOption, parseCustomMetadata, parseSignedDurationSeconds, parseVersionList, validateCustomMetadata } from '../../shared/kv/input';
import { multiError } from '../../shared/vault/multiError';
import { addVersion, casError, deletionTime, effectiveMaxVersions, isDeletedAt, isKept, CAS_MISMATCH, CAS_REQUIRED } from '../../shared/kv/lifecycle';
import { mergePatch } from '../../shared/kv/mergePatch';
import { folderSegments, keySegments, listingChain, versionOfRow, versionRow, MAX_ESCAPED_KEY_CHARS } from '../../shared/kv/paths';
import { subkeys } from '../../shared/kv/subkeys';
import { vaultTime } from '../../shared/kv/time';
import { compareUtf8 } from '../../shared/kv/listing';
import { VaultError } from '../../shared/vault/errors';

function errorOf(fn: () => unknown): VaultError {
  try {
    fn();
  } catch (err) {
    if (err instanceof VaultError) return err;
    throw err;
  }
  throw new Error('expected a VaultError');
}

describe('merge patch (RFC 7386)', () => {
  it('removes null members, merges objects recursively, replaces everything else', () => {
    const target = { a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2], keep: true };
    const patch = { a: 'z', c: { f: null, h: 'i' }, list: [3], gone: null };
    expect(mergePatch(target, patch)).toEqual({ a: 'z', c: { d: 'e', h: 'i' }, list: [3], keep: true });
    expect(target).toEqual({ a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2], keep: true });
  });

  it('follows the RFC examples', () => {
    expect(mergePatch({ a: 'b' }, { a: 'c' })).toEqual({ a: 'c' });
    expect(mergePatch({ a: 'b' }, { b: 'c' })).toEqual({ a: 'b', b: 'c' });
    expect(mergePatch({ a: 'b' }, { a: null })).toEqual({});
    expect(mergePatch({ a: ['b'] }, { a: 'c' })).toEqual({ a: 'c' });
    expect(mergePatch({ a: 'c' }, { a: ['b'] })).toEqual({ a: ['b'] });
    expect(mergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } })).toEqual({ a: { b: 'd' } });
    expect(mergePatch({ a: [{ b: 'c' }] }, { a: [1] })).toEqual({ a: [1] });
    expect(mergePatch({ e: null }, { a: 1 })).toEqual({ e: null, a: 1 });
    expect(mergePatch([1, 2], { a: 'b', c: null })).toEqual({ a: 'b' });
    expect(mergePatch({}, { a: { bb: { ccc: null } } })).toEqual({ a: { bb: {} } });
  });

  it('stores a "__proto__" key as data, never as a prototype', () => {
    const patched = mergePatch({}, JSON.parse('{"__proto__": {"polluted": "yes"}}')) as Record<string, unknown>;
    expect(Object.keys(patched)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(patched)).toBe('{"__proto__":{"polluted":"yes"}}');
  });
});

describe('check-and-set', () => {
  it('needs cas to equal the current version; 0 means no version yet', () => {
    expect(casError(0, 0, false, false)).toBeUndefined();
    expect(casError(3, 3, true, true)).toBeUndefined();
    expect(casError(2, 3, false, false)).toBe(CAS_MISMATCH);
    expect(casError(0, 1, false, false)).toBe(CAS_MISMATCH);
    expect(casError(-1, 0, false, false)).toBe(CAS_MISMATCH);
  });

  it('requires cas when the mount or the key says so', () => {
    expect(casError(undefined, 5, false, false)).toBeUndefined();
    expect(casError(undefined, 5, true, false)).toBe(CAS_REQUIRED);
    expect(casError(undefined, 5, false, true)).toBe(CAS_REQUIRED);
  });

  it('parses cas as Vault weakly decodes it', () => {
    expect(parseCas(3)).toBe(3);
    expect(parseCas('7')).toBe(7);
    expect(parseCas('-2')).toBe(-2);
    expect(parseCas(true)).toBe(1);
    expect(parseCas(null)).toBe(0);
    expect(parseCas('')).toBe(0);
    for (const bad of ['x', '1.5', 1.5, {}, [1]]) expect(errorOf(() => parseCas(bad)).errors).toEqual(['error parsing check-and-set parameter']);
    expect(casOption(undefined)).toBeUndefined();
    expect(casOption({})).toBeUndefined();
    expect(casOption({ cas: '0' })).toBe(0);
  });
});

describe('max_versions pruning', () => {
  it('uses the larger of key and mount, 10 when both are unset', () => {
    expect(effectiveMaxVersions(0, 0)).toBe(10);
    expect(effectiveMaxVersions(3, 0)).toBe(3);
    expect(effectiveMaxVersions(3, 5)).toBe(5);
    expect(effectiveMaxVersions(7, 5)).toBe(7);
  });

  it('keeps oldest at 0 until the window fills, then slides it one version per write', () => {
    let window = { current: 0, oldest: 0 };
    const seen: Array<[number, number, number]> = [];
    for (let i = 0; i < 12; i++) {
      const added = addVersion(window, 10);
      seen.push([added.version, added.oldest, added.pruneThrough]);
      window = { current: added.version, oldest: added.oldest };
    }
    expect(seen.slice(0, 9).every(([, oldest, prune]) => oldest === 0 && prune === 0)).toBe(true);
    expect(seen[9]).toEqual([10, 1, 0]);
    expect(seen[10]).toEqual([11, 2, 1]);
    expect(seen[11]).toEqual([12, 3, 2]);
  });

  it('prunes several versions at once on the next write after max_versions was lowered', () => {
    expect(addVersion({ current: 20, oldest: 11 }, 2)).toEqual({ version: 21, oldest: 20, pruneThrough: 19 });
    expect(addVersion({ current: 0, oldest: 0 }, 1)).toEqual({ version: 1, oldest: 1, pruneThrough: 0 });
  });

  it('knows which versions are kept', () => {
    expect(isKept({ current: 5, oldest: 0 }, 1)).toBe(true);
    expect(isKept({ current: 5, oldest: 0 }, 0)).toBe(false);
    expect(isKept({ current: 5, oldest: 3 }, 2)).toBe(false);
    expect(isKept({ current: 5, oldest: 3 }, 6)).toBe(false);
  });
});

describe('delete_version_after', () => {
  const t = 1_000_000;
  it('takes the smaller non-zero of mount and key; none when both are 0 or the mount disables it', () => {
    expect(deletionTime(t, 0, 0)).toBeUndefined();
    expect(deletionTime(t, 60, 0)).toBe(t + 60_000);
    expect(deletionTime(t, 0, 30)).toBe(t + 30_000);
    expect(deletionTime(t, 60, 30)).toBe(t + 30_000);
    expect(deletionTime(t, 30, 60)).toBe(t + 30_000);
    expect(deletionTime(t, -1, 30)).toBeUndefined();
  });

  it('counts a version as deleted only once its time has passed', () => {
    expect(isDeletedAt(undefined, t)).toBe(false);
    expect(isDeletedAt(Number.NaN, t)).toBe(false);
    expect(isDeletedAt(t - 1, t)).toBe(true);
    expect(isDeletedAt(t + 1, t)).toBe(false);
  });

  it('parses the mount value as a signed duration', () => {
    expect(parseSignedDurationSeconds('-1s')).toEqual({ ok: true, seconds: -1 });
    expect(parseSignedDurationSeconds('1h30m')).toEqual({ ok: true, seconds: 5400 });
    expect(parseSignedDurationSeconds(-5)).toEqual({ ok: true, seconds: -5 });
    expect(parseSignedDurationSeconds('abc').ok).toBe(false);
  });
});

describe('subkeys', () => {
  const data = { a: { b: { c: 1 }, e: {} }, f: [1, 2], g: 'x', h: null };
  it('nulls every leaf; empty objects and arrays are leaves', () => {
    expect(subkeys(data, 0)).toEqual({ a: { b: { c: null }, e: null }, f: null, g: null, h: null });
  });
  it('stops at depth', () => {
    expect(subkeys(data, 1)).toEqual({ a: null, f: null, g: null, h: null });
    expect(subkeys(data, 2)).toEqual({ a: { b: null, e: null }, f: null, g: null, h: null });
    expect(subkeys(data, -1)).toEqual({ a: null, f: null, g: null, h: null });
  });
});

describe('versions lists', () => {
  it('accepts ints, numeric strings and a comma string; drops duplicates', () => {
    expect(parseVersionList([1, 2, 2, 1])).toEqual({ ok: true, versions: [1, 2] });
    expect(parseVersionList(['3', '1'])).toEqual({ ok: true, versions: [3, 1] });
    expect(parseVersionList('1,2, 3')).toEqual({ ok: true, versions: [1, 2, 3] });
    expect(parseVersionList(4)).toEqual({ ok: true, versions: [4] });
    expect(parseVersionList([-1, 0])).toEqual({ ok: true, versions: [-1, 0] });
    expect(parseVersionList('')).toEqual({ ok: true, versions: [] });
    expect(parseVersionList(null)).toEqual({ ok: true, versions: [] });
    expect(parseVersionList(Array.from({ length: 10_000 }, (_, i) => i % 7))).toEqual({ ok: true, versions: [0, 1, 2, 3, 4, 5, 6] });
  });
  it('refuses what is not an integer', () => {
    expect(parseVersionList(['x']).ok).toBe(false);
    expect(parseVersionList([1.5]).ok).toBe(false);
    expect(parseVersionList({}).ok).toBe(false);
  });
});

describe('custom_metadata', () => {
  it('turns values into strings as Vault does and refuses nested ones', () => {
    expect(parseCustomMetadata({ a: 'x', b: 2, c: true, d: 1.5 }, false)).toEqual({ a: 'x', b: '2', c: '1', d: '1.5' });
    expect(parseCustomMetadata({ a: null }, true)).toEqual({ a: null });
    expect(errorOf(() => parseCustomMetadata({ a: { b: 1 } }, false)).errors[0]).toMatch(/^custom_metadata validation failed: '' expected type 'string'/);
  });

  it('enforces the limits with Vault texts', () => {
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expect(errorOf(() => validateCustomMetadata(tooMany)).errors).toEqual([
      '1 error occurred:\n\t* custom_metadata validation failed: payload must contain at most 64 keys, provided 65\n\n',
    ]);
    const long = 'k'.repeat(129);
    expect(errorOf(() => validateCustomMetadata({ [long]: 'v' })).errors[0]).toBe(
      multiError([`custom_metadata validation failed: length of key "${long}" is 129 but must be 0 < len(key) <= 128`]),
    );
    expect(errorOf(() => validateCustomMetadata({ a: '', b: 'x'.repeat(513), 'c\n': 'ok' })).errors[0]).toBe(
      '3 errors occurred:\n' +
        '\t* custom_metadata validation failed: length of value for key "a" is 0 but must be 0 < len(value) <= 512\n' +
        '\t* custom_metadata validation failed: length of value for key "b" is 513 but must be 0 < len(value) <= 512\n' +
        '\t* custom_metadata validation failed: key "c\\n" (c\n) contains unprintable characters\n\n',
    );
    expect(() => validateCustomMetadata({ ok: 'fine value', 'ünï': 'çödé ✓' })).not.toThrow();
  });
});

describe('key paths', () => {
  it('accepts Vault keys and refuses empty, "." and ".." segments', () => {
    expect(keySegments('app/db/password')).toEqual(['app', 'db', 'password']);
    expect(keySegments('we?ird#na me\\x')).toEqual(['we?ird#na me\\x']);
    for (const bad of ['a//b', '/a', 'a/', '..', 'a/../b', 'a/./b', '.']) {
      expect(errorOf(() => keySegments(bad)).status, bad).toBe(400);
    }
    expect(errorOf(() => keySegments('')).errors).toEqual(['missing path']);
    expect(folderSegments('')).toEqual([]);
    expect(folderSegments('a/b/')).toEqual(['a', 'b']);
    expect(folderSegments('a/b')).toEqual(['a', 'b']);
  });

  it('refuses a key too long for a partition key with a clear 400', () => {
    expect(() => keySegments('a'.repeat(MAX_ESCAPED_KEY_CHARS))).not.toThrow();
    const err = errorOf(() => keySegments('s'.repeat(2000)));
    expect(err.status).toBe(400);
    expect(err.errors[0]).toMatch(/is 2000 characters once escaped for storage; at most 470 are supported/);
    expect(errorOf(() => keySegments('é'.repeat(100))).errors[0]).toMatch(/is 600 characters once escaped/);
  });

  it('lists a key in every folder up to the root, deepest first', () => {
    expect(listingChain(['a', 'b', 'c'])).toEqual([
      { folder: 'a/b', child: 'c' },
      { folder: 'a', child: 'b/' },
      { folder: '', child: 'a/' },
    ]);
    expect(listingChain(['top'])).toEqual([{ folder: '', child: 'top' }]);
  });

  it('sorts version rows newest first and reads them back', () => {
    expect(versionRow(1) > versionRow(2)).toBe(true);
    expect(versionRow(2) > 'm').toBe(true);
    expect(versionOfRow(versionRow(123456))).toBe(123456);
    expect(versionOfRow('m')).toBeUndefined();
  });

  it('sorts names as Go does (UTF-8 bytes)', () => {
    expect(['b', 'a/', '\u{1F600}', '\uFF5E', 'A'].sort(compareUtf8)).toEqual(['A', 'a/', 'b', '\uFF5E', '\u{1F600}']);
  });
});

describe('timestamps', () => {
  it('are RFC 3339 UTC with the fraction trimmed, as Go prints them', () => {
    expect(vaultTime(new Date('2024-05-01T10:20:30.120Z'))).toBe('2024-05-01T10:20:30.12Z');
    expect(vaultTime(new Date('2024-05-01T10:20:30.000Z'))).toBe('2024-05-01T10:20:30Z');
    expect(vaultTime(new Date('2024-05-01T10:20:30.007Z'))).toBe('2024-05-01T10:20:30.007Z');
  });
});
