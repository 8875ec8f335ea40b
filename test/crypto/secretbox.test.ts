/** The root key set: which key seals, which open, rewrap and fingerprints. */
import { describe, expect, it } from 'vitest';
import { EncryptionKey, newSealedDataKey, openDataKey, requireEncryptionKey } from '../../shared/crypto/secretbox';
import { newRootKey } from './support';

describe('root keys', () => {
  it('seals under the next key while one is configured, and opens values under either', () => {
    const current = newRootKey();
    const next = newRootKey();
    const legacy = EncryptionKey.fromBase64(current).seal('old', 'ctx');
    const both = EncryptionKey.fromSource({ AZAUTH_ENCRYPTION_KEY: current, AZAUTH_ENCRYPTION_KEY_NEXT: next });
    if (!both) throw new Error('expected keys');
    expect(both.open(legacy, 'ctx')).toBe('old');
    const fresh = both.seal('new', 'ctx');
    expect(EncryptionKey.fromBase64(next).open(fresh, 'ctx')).toBe('new');
    expect(() => EncryptionKey.fromBase64(current).open(fresh, 'ctx')).toThrow();
    expect(both.describe().map((k) => [k.setting, k.sealing])).toEqual([
      ['AZAUTH_ENCRYPTION_KEY_NEXT', true],
      ['AZAUTH_ENCRYPTION_KEY', false],
    ]);
  });

  it('rewraps only what is not under the sealing key, keeping the context binding', () => {
    const current = newRootKey();
    const next = newRootKey();
    const both = requireEncryptionKey({ AZAUTH_ENCRYPTION_KEY: current, AZAUTH_ENCRYPTION_KEY_NEXT: next }, 'x');
    const legacy = EncryptionKey.fromBase64(current).seal('v', 'ctx');
    const moved = both.rewrap(legacy, 'ctx');
    expect(moved).toBeDefined();
    expect(EncryptionKey.fromBase64(next).open(moved ?? '', 'ctx')).toBe('v');
    expect(both.rewrap(moved ?? '', 'ctx')).toBeUndefined();
    expect(() => both.rewrap(legacy, 'other ctx')).toThrow();
    expect(both.keyOf(legacy, 'ctx')).toBe(both.describe()[1]?.fingerprint);
    expect(both.keyOf(legacy, 'other ctx')).toBeUndefined();
  });

  it('counts one key configured in both settings once, and has no key when neither is set', () => {
    const k = newRootKey();
    expect(EncryptionKey.fromSource({ AZAUTH_ENCRYPTION_KEY: k, AZAUTH_ENCRYPTION_KEY_NEXT: k })?.describe()).toHaveLength(1);
    expect(EncryptionKey.fromSource({})).toBeUndefined();
    expect(EncryptionKey.fromSource(undefined)).toBeUndefined();
    expect(() => requireEncryptionKey({ AZAUTH_ENCRYPTION_KEY: undefined }, 'client_secret')).toThrow(/AZAUTH_ENCRYPTION_KEY is not set/);
    expect(() => EncryptionKey.fromSource({ AZAUTH_ENCRYPTION_KEY_NEXT: 'short' })).toThrow(/AZAUTH_ENCRYPTION_KEY_NEXT must be/);
  });

  it('gives stable fingerprints that differ between keys', () => {
    const k = newRootKey();
    const a = EncryptionKey.fromBase64(k).describe()[0]?.fingerprint;
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(EncryptionKey.fromBase64(k).describe()[0]?.fingerprint).toBe(a);
    expect(EncryptionKey.fromBase64(newRootKey()).describe()[0]?.fingerprint).not.toBe(a);
  });

  it('opens a sealed data key only under its context, refuses one of the wrong length, and names it in errors', () => {
    const root = EncryptionKey.fromBase64(newRootKey());
    const { key, sealed } = newSealedDataKey(root, 'ctx');
    expect(key).toHaveLength(32);
    expect(openDataKey(root, sealed, 'ctx', 'key k')).toEqual(key);
    expect(() => openDataKey(root, sealed, 'other ctx', 'key k')).toThrow();
    expect(() => openDataKey(root, sealed, 'other ctx', 'key k', 'key k does not open')).toThrow(/^key k does not open$/);
    const short = root.seal(Buffer.alloc(16).toString('base64'), 'ctx');
    expect(() => openDataKey(root, short, 'ctx', 'key k', 'key k does not open')).toThrow(/^key k has the wrong length$/);
  });
});
