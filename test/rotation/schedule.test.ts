// When a scheduled rotation is due: pure functions on a controlled clock.
import { describe, expect, it } from 'vitest';
import { newMountConfig, type MountConfig } from '../../shared/config/types';
import { rotationAnchor, rotationDue } from '../../shared/rotation/schedule';

const at = (iso: string): Date => new Date(iso);

function config(fields: Partial<MountConfig>): MountConfig {
  return { ...newMountConfig(at('2026-03-01T00:00:00Z')), ...fields };
}

describe('rotationDue with rotation_schedule', () => {
  const daily3am = config({ rotationSchedule: '0 3 * * *' });

  it('is not due before the first occurrence after the schedule was configured', () => {
    expect(rotationDue(daily3am, at('2026-03-01T02:59:59Z'))).toEqual({ due: false, next: at('2026-03-01T03:00:00Z') });
  });

  it('is due at the occurrence, and stays due (no window) until a rotation happens', () => {
    expect(rotationDue(daily3am, at('2026-03-01T03:00:00Z'))).toEqual({ due: true, reason: 'schedule', occurrence: at('2026-03-01T03:00:00Z') });
    expect(rotationDue(daily3am, at('2026-03-01T22:00:00Z'))).toMatchObject({ due: true, occurrence: at('2026-03-01T03:00:00Z') });
    // Two occurrences missed: one rotation makes up for them, due for the latest.
    expect(rotationDue(daily3am, at('2026-03-03T04:00:00Z'))).toMatchObject({ due: true, occurrence: at('2026-03-03T03:00:00Z') });
  });

  it('is not due again once a rotation completed after the occurrence', () => {
    const rotated = { ...daily3am, lastRotation: '2026-03-01T03:01:10Z' };
    expect(rotationDue(rotated, at('2026-03-01T03:05:00Z'))).toEqual({ due: false, next: at('2026-03-02T03:00:00Z') });
    expect(rotationDue(rotated, at('2026-03-02T03:00:00Z'))).toMatchObject({ due: true, occurrence: at('2026-03-02T03:00:00Z') });
  });

  it('counts a manual rotation after the occurrence as done, but not one before it', () => {
    expect(rotationDue({ ...daily3am, lastRotation: '2026-03-01T03:00:30Z' }, at('2026-03-01T03:01:00Z')).due).toBe(false);
    expect(rotationDue({ ...daily3am, lastRotation: '2026-03-01T02:59:00Z' }, at('2026-03-01T03:01:00Z')).due).toBe(true);
  });

  it('owes nothing for occurrences before the schedule was (re)configured', () => {
    const late = config({ rotationSchedule: '0 3 * * *', rotationConfiguredAt: '2026-03-01T10:00:00Z' });
    expect(rotationDue(late, at('2026-03-01T10:01:00Z'))).toEqual({ due: false, next: at('2026-03-02T03:00:00Z') });
  });

  it('runs a missed occurrence only inside rotation_window', () => {
    const windowed = { ...daily3am, rotationWindowSeconds: 3600 };
    expect(rotationDue(windowed, at('2026-03-01T03:59:59Z'))).toMatchObject({ due: true, occurrence: at('2026-03-01T03:00:00Z') });
    expect(rotationDue(windowed, at('2026-03-01T04:00:00Z'))).toEqual({ due: false, missed: at('2026-03-01T03:00:00Z'), next: at('2026-03-02T03:00:00Z') });
    expect(rotationDue(windowed, at('2026-03-02T03:30:00Z'))).toMatchObject({ due: true, occurrence: at('2026-03-02T03:00:00Z') });
  });

  it('evaluates in UTC with standard cron fields (day-of-month OR day-of-week when both are set)', () => {
    // Monday 2026-03-02 and the 15th (a Sunday): either matches, as in standard cron.
    const schedule = config({ rotationSchedule: '30 12 15 * MON' });
    expect(rotationDue(schedule, at('2026-03-01T00:00:00Z'))).toMatchObject({ due: false, next: at('2026-03-02T12:30:00Z') });
    expect(rotationDue({ ...schedule, lastRotation: '2026-03-09T12:31:00Z' }, at('2026-03-09T13:00:00Z'))).toMatchObject({ next: at('2026-03-15T12:30:00Z') });
    expect(rotationDue(config({ rotationSchedule: '*/15 * * * *' }), at('2026-03-01T00:16:00Z'))).toMatchObject({ due: true, occurrence: at('2026-03-01T00:15:00Z') });
  });

  it('is never due with an unparsable schedule (stored before a stricter parser)', () => {
    expect(rotationDue(config({ rotationSchedule: '0 3 * *' }), at('2026-03-05T00:00:00Z'))).toEqual({ due: false });
  });
});

describe('rotationDue with rotation_period', () => {
  it('counts from when rotation was configured, then from the last rotation', () => {
    const hourly = config({ rotationPeriodSeconds: 3600 });
    expect(rotationDue(hourly, at('2026-03-01T00:59:59Z'))).toEqual({ due: false, next: at('2026-03-01T01:00:00Z') });
    expect(rotationDue(hourly, at('2026-03-01T01:00:00Z'))).toEqual({ due: true, reason: 'period', occurrence: at('2026-03-01T01:00:00Z') });
    const rotated = { ...hourly, lastRotation: '2026-03-01T01:00:40Z' };
    expect(rotationDue(rotated, at('2026-03-01T01:30:00Z'))).toEqual({ due: false, next: at('2026-03-01T02:00:40Z') });
    expect(rotationDue(rotated, at('2026-03-01T02:00:40Z')).due).toBe(true);
  });

  it('is not due without an anchor', () => {
    expect(rotationDue(config({ rotationPeriodSeconds: 60, rotationConfiguredAt: '' }), at('2030-01-01T00:00:00Z'))).toEqual({ due: false });
  });
});

describe('disable_automated_rotation and no settings', () => {
  it('is never due when disabled or when nothing is configured', () => {
    expect(rotationDue(config({ rotationPeriodSeconds: 60, disableAutomatedRotation: true }), at('2027-01-01T00:00:00Z'))).toEqual({ due: false });
    expect(rotationDue(config({ rotationSchedule: '* * * * *', disableAutomatedRotation: true }), at('2027-01-01T00:00:00Z'))).toEqual({ due: false });
    expect(rotationDue(config({}), at('2027-01-01T00:00:00Z'))).toEqual({ due: false });
  });
});

describe('rotationAnchor', () => {
  it('is the later of the last rotation and the last settings change', () => {
    expect(rotationAnchor({ lastRotation: '2026-03-02T00:00:00Z', rotationConfiguredAt: '2026-03-01T00:00:00Z' })).toBe(Date.parse('2026-03-02T00:00:00Z'));
    expect(rotationAnchor({ lastRotation: '2026-03-01T00:00:00Z', rotationConfiguredAt: '2026-03-05T00:00:00Z' })).toBe(Date.parse('2026-03-05T00:00:00Z'));
    expect(rotationAnchor({ lastRotation: '', rotationConfiguredAt: '' })).toBeUndefined();
  });
});
