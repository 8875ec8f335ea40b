import { describe, expect, it } from 'vitest';
import { firesMoreThanOncePerMinute, parseSchedule, resolveSettingReferences, ScheduleError } from '../../dev/host/ncrontab';

const at = (iso: string) => new Date(iso);

describe('NCRONTAB schedules', () => {
  it('reads 6 fields with seconds first and 5 fields without', () => {
    expect(parseSchedule('*/15 * * * * *').next(at('2026-01-01T00:00:07Z')).toISOString()).toBe('2026-01-01T00:00:15.000Z');
    expect(parseSchedule('0 */5 * * *').next(at('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-01-01T05:00:00.000Z');
  });

  it('requires day-of-month AND day-of-week to match, as NCrontab does', () => {
    const s = parseSchedule('0 0 12 1 * Mon');
    const first = s.next(at('2026-01-01T00:00:00Z'));
    expect(first.toISOString()).toBe('2026-06-01T12:00:00.000Z');
    expect(s.next(first).toISOString()).toBe('2027-02-01T12:00:00.000Z');
  });

  it('accepts names and name prefixes, ranges, lists and "value/step"', () => {
    expect(parseSchedule('0 30 9 * Jan Monday-Fri').next(at('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-01-01T09:30:00.000Z');
    // "5/20" = from 5 to the maximum, every 20
    const s = parseSchedule('5/20 * * * * *');
    expect(s.next(at('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-01-01T00:00:05.000Z');
    expect(s.next(at('2026-01-01T00:00:05Z')).toISOString()).toBe('2026-01-01T00:00:25.000Z');
    expect(parseSchedule('0 0,30 8-10 * * *').next(at('2026-01-01T08:10:00Z')).toISOString()).toBe('2026-01-01T08:30:00.000Z');
  });

  it('never returns the base time itself', () => {
    expect(parseSchedule('0 * * * * *').next(at('2026-01-01T00:01:00Z')).toISOString()).toBe('2026-01-01T00:02:00.000Z');
  });

  it.each([
    ['0 0 0 * * 7', /outside 0-6/], // Sunday is 0 only
    ['0 0 0 ? * *', /Day/],
    ['0 0 0 L * *', /Day/],
    ['0 0 0 * * 1#2', /DayOfWeek/],
    ['0 0 0 15W * *', /Day/],
    ['0 0 0 1 1 * 2027', /not recognized/], // no year field
    ['*/0 * * * * *', /step/],
    ['0 0 10-2 * * *', /backwards/],
    ['0 0 0 1 Foo *', /not a known value name/],
    ['61 * * * * *', /outside 0-59/],
    ['every minute', /not recognized/],
  ])('rejects %s like the Functions host', (expression, message) => {
    expect(() => parseSchedule(expression)).toThrow(ScheduleError);
    expect(() => parseSchedule(expression)).toThrow(message);
  });

  it('accepts TimeSpan schedules as a constant interval', () => {
    const s = parseSchedule('00:30:00');
    expect(s.kind).toBe('timespan');
    expect(s.next(at('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-01-01T00:30:00.000Z');
  });

  it('switches schedule monitoring off for schedules firing more than once a minute', () => {
    expect(firesMoreThanOncePerMinute(parseSchedule('*/30 * * * * *'))).toBe(true);
    expect(firesMoreThanOncePerMinute(parseSchedule('0 * * * * *'))).toBe(false);
    expect(firesMoreThanOncePerMinute(parseSchedule('0 */5 * * * *'))).toBe(false);
  });

  it('resolves %Setting% references and fails on unknown ones', () => {
    expect(resolveSettingReferences('%S%', { S: '0 0 * * * *' })).toBe('0 0 * * * *');
    expect(() => resolveSettingReferences('%Missing%', {})).toThrow(/does not resolve/);
  });
});
