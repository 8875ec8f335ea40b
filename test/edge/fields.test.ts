/**
 * Field types (issue 10 items 4 and 5): JSON null as Vault's field parser reads it, and sensitive
 * fields whose values a conversion error never shows.
 */
import { describe, expect, it } from 'vitest';
import { VaultError } from '../../shared/vault/errors';
import {
  isSensitiveField,
  parseFields,
  sensitive,
  vBool,
  vDuration,
  vInt,
  vOptionalBool,
  vString,
  vStringMap,
  vStringSlice,
} from '../../shared/vault/fields';

describe('JSON null in a typed field', () => {
  const shape = { n: vInt, b: vBool, d: vDuration, ob: vOptionalBool, s: vString, l: vStringSlice, m: vStringMap };

  it('is 0 for ints and false for bools (present), unset for durations and optional bools', () => {
    const parsed = parseFields(shape, { n: null, b: null, d: null, ob: null, s: null, l: null, m: null });
    expect(parsed.values).toEqual({ n: 0, b: false, s: '', l: [], m: {} });
    expect(parsed.has('n')).toBe(true);
    expect(parsed.has('b')).toBe(true);
    expect(parsed.has('d')).toBe(false);
    expect(parsed.has('ob')).toBe(false);
    expect(parsed.unknown).toEqual([]);
  });

  it('leaves other values alone', () => {
    const parsed = parseFields(shape, { n: '7', b: 'true', d: '1h', ob: false });
    expect(parsed.values).toEqual({ n: 7, b: true, d: 3600, ob: false });
  });
});

describe('sensitive fields', () => {
  const shape = { secret: sensitive(vString), ttl: sensitive(vDuration), plain: vString };

  it('marks a copy, never the shared field type', () => {
    expect(isSensitiveField(shape.secret)).toBe(true);
    expect(isSensitiveField(vString)).toBe(false);
    expect(isSensitiveField(shape.plain)).toBe(false);
  });

  it('keeps the field type\'s own null rule', () => {
    expect(parseFields(shape, { ttl: null }).has('ttl')).toBe(false);
  });

  it.each([[['hunter2-secret']], [{ k: 'hunter2-secret' }]])('a conversion error names the field, not the value %j', (value) => {
    try {
      parseFields(shape, { secret: value });
      expect.unreachable();
    } catch (err) {
      const message = (err as VaultError).errors.join(' ');
      expect((err as VaultError).status).toBe(400);
      expect(message).toContain('"secret"');
      expect(message).not.toContain('hunter2');
    }
  });

  it('a number in a sensitive string field converts, as Vault\'s weak decoding does', () => {
    expect(parseFields(shape, { secret: 12345678 }).values.secret).toBe('12345678');
  });

  it('a duration error of a sensitive field does not quote the input either', () => {
    expect(() => parseFields(shape, { ttl: 'hunter2' })).toThrow(/"ttl"/);
    expect(() => parseFields(shape, { ttl: 'hunter2' })).not.toThrow(/hunter2/);
  });

  it('a non-sensitive field still quotes the input, as Vault does', () => {
    expect(() => parseFields(shape, { plain: ['visible'] })).toThrow(/visible/);
  });
});
