import { describe, expect, it } from 'vitest';
import { decodeKey, encodeKey } from '../../../shared/storage/keys';

// Characters Table Storage refuses in keys: / \ # ? and control characters.
const FORBIDDEN = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

describe('encodeKey', () => {
  it('leaves ordinary names readable', () => {
    expect(encodeKey('azure')).toBe('azure');
    expect(encodeKey('my-role_1.2')).toBe('my-role_1.2');
  });

  it.each(['a/b', 'a\\b', 'a#b', 'a?b', 'tab\there', 'nul\u0000', 'del\u007f', 'c1\u0085', 'é', '日本', '😀', '~', '~41', 'a b', "quote'"])(
    'escapes %j reversibly and without forbidden characters',
    (name) => {
      const key = encodeKey(name);
      expect(key).not.toMatch(FORBIDDEN);
      expect(decodeKey(key)).toBe(name);
    },
  );

  it('is injective for names that look like escapes', () => {
    expect(encodeKey('~41')).not.toBe(encodeKey('A'));
    expect(decodeKey(encodeKey('~41'))).toBe('~41');
  });

  it('refuses empty keys and keys over 1 KiB', () => {
    expect(() => encodeKey('')).toThrow(RangeError);
    expect(encodeKey('a'.repeat(512))).toHaveLength(512);
    expect(() => encodeKey('a'.repeat(513))).toThrow(RangeError);
    // Each é is two UTF-8 bytes → six characters escaped.
    expect(() => encodeKey('é'.repeat(100))).toThrow(RangeError);
  });
});
