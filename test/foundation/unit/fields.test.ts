import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  parseDurationSeconds,
  parseFields,
  parseVaultBool,
  unknownFieldsWarning,
  vBool,
  vDuration,
  vInt,
  vString,
  vStringMap,
  vStringSlice,
} from '../../../shared/vault/fields';
import { VaultError } from '../../../shared/vault/errors';

describe('parseDurationSeconds', () => {
  it.each([
    [3600, 3600],
    ['3600', 3600],
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['1h30m', 5400],
    ['1.5h', 5400],
    ['2d', 172800],
    ['', 0],
    [' 60 ', 60],
    [0, 0],
    [12.9, 12],
  ])('accepts %j as %d seconds', (input, seconds) => {
    expect(parseDurationSeconds(input)).toEqual({ ok: true, seconds });
  });

  it.each(['-1', '-5m', -3, '-2d'])('refuses the negative %j', (input) => {
    const parsed = parseDurationSeconds(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(/cannot provide negative value/);
  });

  it.each(['abc', '1x', '1h-', 'h', true, null, {}, [], Number.NaN, Number.POSITIVE_INFINITY])('refuses %j', (input) => {
    const parsed = parseDurationSeconds(input);
    expect(parsed.ok).toBe(false);
  });
});

describe('parseVaultBool', () => {
  it.each([[true, true], [false, false], ['true', true], ['1', true], ['t', true], ['TRUE', true], ['False', false], ['0', false], [1, true], [0, false]])(
    '%j → %j',
    (input, expected) => expect(parseVaultBool(input)).toBe(expected),
  );
  it.each(['yes', 'no', '', 2, null, 'tRuE'])('refuses %j', (input) => expect(parseVaultBool(input)).toBeUndefined());
});

describe('field schemas', () => {
  it('vStringSlice takes arrays and comma strings, trims and drops empties', () => {
    expect(vStringSlice.parse('a, b ,,c')).toEqual(['a', 'b', 'c']);
    expect(vStringSlice.parse(['x ', ' y'])).toEqual(['x', 'y']);
    expect(vStringSlice.parse('')).toEqual([]);
    expect(vStringSlice.parse(null)).toEqual([]);
    expect(vStringSlice.parse([1, 2])).toEqual(['1', '2']);
    expect(vStringSlice.safeParse({ a: 1 }).success).toBe(false);
    expect(vStringSlice.safeParse([{}]).success).toBe(false);
  });

  it('vInt takes numbers and numeric strings only', () => {
    expect(vInt.parse('42')).toBe(42);
    expect(vInt.parse(-3)).toBe(-3);
    expect(vInt.safeParse('4.5').success).toBe(false);
    expect(vInt.safeParse(4.5).success).toBe(false);
    expect(vInt.safeParse('ten').success).toBe(false);
  });

  it('vString converts scalars and refuses objects', () => {
    expect(vString.parse(5)).toBe('5');
    expect(vString.parse(true)).toBe('true');
    expect(vString.parse(null)).toBe('');
    expect(vString.safeParse(['a']).success).toBe(false);
  });

  it('vBool and vDuration report Vault-style reasons', () => {
    const bool = vBool.safeParse('maybe');
    expect(bool.success).toBe(false);
    expect(bool.error?.issues[0]?.message).toContain('strconv.ParseBool');
    const duration = vDuration.safeParse('soon');
    expect(duration.error?.issues[0]?.message).toContain('time: invalid duration');
  });

  it('vStringMap takes an object or its JSON text', () => {
    expect(vStringMap.parse({ a: 'b' })).toEqual({ a: 'b' });
    expect(vStringMap.parse('{"a":"b"}')).toEqual({ a: 'b' });
    expect(vStringMap.parse('')).toEqual({});
    expect(vStringMap.safeParse({ a: 1 }).success).toBe(false);
    expect(vStringMap.safeParse('{bad').success).toBe(false);
  });
});

describe('parseFields', () => {
  const shape = { ttl: vDuration, name: vString, flag: vBool, extra: z.unknown() };

  it('keeps only present fields, lists unknown ones sorted', () => {
    const parsed = parseFields(shape, { ttl: '1h', zeta: 1, alpha: 2, name: '' });
    expect(parsed.values).toEqual({ ttl: 3600, name: '' });
    expect(parsed.has('name')).toBe(true);
    expect(parsed.has('flag')).toBe(false);
    expect(parsed.unknown).toEqual(['alpha', 'zeta']);
  });

  it('throws a 400 naming the field and the input', () => {
    try {
      parseFields(shape, { ttl: '-1h' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VaultError);
      expect((err as VaultError).status).toBe(400);
      expect((err as VaultError).errors[0]).toBe(
        'Field validation failed: error converting input -1h for field "ttl": cannot provide negative value \'-3600\'',
      );
    }
  });

  it('does not treat inherited object keys as fields', () => {
    expect(parseFields(shape, { toString: 'x', constructor: 'y' }).unknown).toEqual(['constructor', 'toString']);
  });

  it('formats the unknown-parameter warning like Vault', () => {
    expect(unknownFieldsWarning(['a', 'b'])).toBe('Endpoint ignored these unrecognized parameters: [a b]');
    expect(unknownFieldsWarning([])).toBeUndefined();
  });
});
