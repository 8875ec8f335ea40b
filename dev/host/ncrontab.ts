// Timer schedules as the Functions timer extension reads them: NCRONTAB (6 fields with seconds
// first, or 5 fields) or a TimeSpan ("hh:mm:ss", constant interval). Expressions are validated
// with NCrontab's own grammar first, because croner accepts things Azure rejects (weekday 7,
// `? L W #`, year fields, wrap-around ranges), then normalised to plain numbers for croner,
// which evaluates them with NCrontab's day-of-month AND day-of-week rule.
import { Cron } from 'croner';
import { parseTimeSpan } from './settings';

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

export interface Schedule {
  /** The expression as written (after %Setting% resolution). */
  readonly expression: string;
  readonly kind: 'cron' | 'timespan';
  /** Next occurrence strictly after `after`. */
  next(after: Date): Date;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const SECOND: FieldSpec = { name: 'Second', min: 0, max: 59 };
const MINUTE: FieldSpec = { name: 'Minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'Hour', min: 0, max: 23 };
const DAY: FieldSpec = { name: 'Day', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'Month', min: 1, max: 12, names: MONTHS };
const DAY_OF_WEEK: FieldSpec = { name: 'DayOfWeek', min: 0, max: 6, names: DAYS };

function fieldError(spec: FieldSpec, text: string, why: string): ScheduleError {
  return new ScheduleError(`'${text}' is not a valid [${spec.name}] crontab field expression: ${why}`);
}

function parseValue(spec: FieldSpec, text: string, whole: string): number {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < spec.min || value > spec.max) {
      throw fieldError(spec, whole, `${value} is outside ${spec.min}-${spec.max}`);
    }
    return value;
  }
  if (spec.names && /^[a-z]+$/i.test(text)) {
    // NCrontab accepts any case-insensitive prefix of the English name ("Mon", "Monday", "M").
    const index = spec.names.findIndex((n) => n.toLowerCase().startsWith(text.toLowerCase()));
    if (index >= 0) return index + spec.min;
    throw fieldError(spec, whole, `'${text}' is not a known value name`);
  }
  throw fieldError(spec, whole, `'${text}' must be a number between ${spec.min} and ${spec.max}`);
}

/** Validates one field with NCrontab's grammar and rewrites it using numbers only. */
function normaliseField(spec: FieldSpec, text: string): string {
  return text
    .split(',')
    .map((item) => {
      if (item === '') throw fieldError(spec, text, 'empty list item');
      let body = item;
      let step: number | undefined;
      const slash = item.indexOf('/');
      if (slash >= 0) {
        const stepText = item.slice(slash + 1);
        if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw fieldError(spec, text, `invalid step '${stepText}'`);
        step = Number(stepText);
        body = item.slice(0, slash);
      }
      const suffix = step === undefined ? '' : `/${step}`;
      if (body === '*') return `*${suffix}`;
      const dash = body.indexOf('-');
      if (dash > 0) {
        const first = parseValue(spec, body.slice(0, dash), text);
        const last = parseValue(spec, body.slice(dash + 1), text);
        if (first > last) throw fieldError(spec, text, `range ${first}-${last} runs backwards`);
        return `${first}-${last}${suffix}`;
      }
      const value = parseValue(spec, body, text);
      // NCrontab reads "5/10" as "from 5 to the field maximum, every 10"; croner wants it spelled out.
      return step === undefined ? `${value}` : `${value}-${spec.max}${suffix}`;
    })
    .join(',');
}

class CronSchedule implements Schedule {
  readonly kind = 'cron';
  readonly #cron: Cron;

  constructor(readonly expression: string, normalised: string) {
    this.#cron = new Cron(normalised, { mode: '5-or-6-parts', domAndDow: true, timezone: 'UTC', paused: true });
  }

  next(after: Date): Date {
    const next = this.#cron.nextRun(after);
    if (!next) throw new ScheduleError(`The schedule '${this.expression}' has no future occurrence.`);
    return next;
  }
}

class ConstantSchedule implements Schedule {
  readonly kind = 'timespan';
  constructor(readonly expression: string, readonly intervalMs: number) {}

  next(after: Date): Date {
    return new Date(after.getTime() + this.intervalMs);
  }
}

export function parseSchedule(expression: string): Schedule {
  const fields = expression.split(/\s+/).filter((f) => f !== '');
  if (fields.length === 5 || fields.length === 6) {
    const specs = fields.length === 6 ? [SECOND, MINUTE, HOUR, DAY, MONTH, DAY_OF_WEEK] : [MINUTE, HOUR, DAY, MONTH, DAY_OF_WEEK];
    const normalised = fields.map((field, i) => normaliseField(specs[i]!, field));
    // A day that can never occur (e.g. 30 February) would make croner search forever or throw.
    const schedule = new CronSchedule(expression, normalised.join(' '));
    schedule.next(new Date());
    return schedule;
  }
  const trimmed = expression.trim();
  const intervalMs = /^\d+$/.test(trimmed) ? Number(trimmed) * 86_400_000 : parseTimeSpan(trimmed);
  if (intervalMs !== undefined && intervalMs > 0) return new ConstantSchedule(expression, intervalMs);
  throw new ScheduleError(`The schedule expression '${expression}' was not recognized as a valid cron expression or timespan string.`);
}

/**
 * TimerSchedule.Create: schedule monitoring (status persistence) is switched off when more than
 * one occurrence falls within the next minute, whatever `useMonitor` says.
 */
export function firesMoreThanOncePerMinute(schedule: Schedule, now = new Date()): boolean {
  const first = schedule.next(now);
  const second = schedule.next(first);
  return second.getTime() < now.getTime() + 60_000;
}

/** Resolves `%Name%` references from app settings (the WebJobs name resolver). */
export function resolveSettingReferences(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/%([^%]+)%/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined || value === '') {
      throw new ScheduleError(`'%${name}%' does not resolve to a value.`);
    }
    return value;
  });
}
