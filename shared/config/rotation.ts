/**
 * Automated root-credential rotation settings: parsing `rotation_schedule` (standard 5-field cron,
 * UTC) and computing when the next rotation is due. The rotation timer and the config read share
 * these, so what `GET config` shows as `next_rotation` is what the timer does.
 */
import { Cron } from 'croner';
import type { MountConfig } from './types';
import { quoteInput } from './input-echo';

/** Vault's SDK scheduler refuses a non-zero window below one hour. */
export const MIN_ROTATION_WINDOW_SECONDS = 3600;

const MONTH_NAMES = 'JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC';
const DAY_NAMES = 'SUN|MON|TUE|WED|THU|FRI|SAT';

/** One field of standard cron: lists of `*`, values or ranges, each with an optional `/step`. */
function fieldPattern(names?: string): RegExp {
  const value = names ? `(?:\\d+|${names})` : '\\d+';
  const item = `(?:\\*|${value}(?:-${value})?)(?:/\\d+)?`;
  return new RegExp(`^${item}(?:,${item})*$`, 'i');
}

// minute, hour, day of month, month, day of week. No seconds, years, `?`, `L`, `W`, `#` or
// `@descriptors`: croner understands those, standard cron (and Vault's scheduler) does not.
const FIELD_PATTERNS = [fieldPattern(), fieldPattern(), fieldPattern(), fieldPattern(MONTH_NAMES), fieldPattern(DAY_NAMES)];

export type ScheduleParse = { ok: true; cron: Cron } | { ok: false; reason: string };

/** Parses a rotation schedule. The reason is meant to follow Vault's "failed to parse provided rotation_schedule: ". */
export function parseRotationSchedule(schedule: string): ScheduleParse {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) {
    return { ok: false, reason: `expected exactly 5 fields (minute hour day-of-month month day-of-week), found ${fields.length}` };
  }
  for (const [index, field] of fields.entries()) {
    if (!FIELD_PATTERNS[index]?.test(field)) {
      return { ok: false, reason: `field ${index + 1} (${quoteInput(field)}) is not standard cron syntax` };
    }
  }
  try {
    // Standard cron ORs day-of-month and day-of-week when both are restricted (croner's default).
    return { ok: true, cron: new Cron(fields.join(' '), { timezone: 'UTC', mode: '5-part', paused: true }) };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message.replace(/^CronPattern: /, '') : String(err) };
  }
}

/** Whether the config asks for automated rotation at all. */
export function automatedRotationActive(config: MountConfig): boolean {
  return !config.disableAutomatedRotation && (config.rotationSchedule !== '' || config.rotationPeriodSeconds > 0);
}

/**
 * When the next automated rotation is due, or undefined when none is configured. A schedule gives
 * its next run after `now`; a period counts from the last rotation, or from when rotation was
 * configured if none happened yet (an overdue period answers its due time, which is in the past).
 */
export function nextRotation(config: MountConfig, now: Date): Date | undefined {
  if (!automatedRotationActive(config)) return undefined;
  if (config.rotationSchedule !== '') {
    const parsed = parseRotationSchedule(config.rotationSchedule);
    return parsed.ok ? (parsed.cron.nextRun(now) ?? undefined) : undefined;
  }
  const anchor = Date.parse(config.lastRotation || config.rotationConfiguredAt);
  if (Number.isNaN(anchor)) return undefined;
  return new Date(anchor + config.rotationPeriodSeconds * 1000);
}
