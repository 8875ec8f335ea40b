/**
 * Vault's `parseutil.ParseDurationSecond`, which reads `min_wrapping_ttl` and `max_wrapping_ttl`: a
 * number of seconds (a fraction is dropped, as Go's conversion does), a numeric string, "<n>d", or
 * a Go duration string ("90s", "1h30m", "1.5s"; the fraction is kept, as Go keeps nanoseconds).
 * The reasons are Go's texts, because Vault puts them in its parse error.
 */
import { goQuote } from '../vault/goQuote';

export type DurationResult = { readonly ok: true; readonly seconds: number } | { readonly ok: false; readonly reason: string };

/** Nanoseconds per unit, as Go's time package names them. */
const UNIT_NANOS: ReadonlyMap<string, number> = new Map([
  ['ns', 1],
  ['us', 1e3],
  ['µs', 1e3], // U+00B5 micro sign
  ['μs', 1e3], // U+03BC Greek mu
  ['ms', 1e6],
  ['s', 1e9],
  ['m', 60e9],
  ['h', 3600e9],
]);

const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '9';

/** Go's time.ParseDuration, in seconds. */
export function parseGoDuration(text: string): DurationResult {
  const invalid: DurationResult = { ok: false, reason: `time: invalid duration ${goQuote(text)}` };
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return { ok: true, seconds: 0 };
  if (rest === '') return invalid;
  let nanos = 0;
  while (rest !== '') {
    if (!(rest.startsWith('.') || isDigit(rest[0]))) return invalid;
    let i = 0;
    while (isDigit(rest[i])) i++;
    const whole = rest.slice(0, i);
    let fraction = '';
    if (rest[i] === '.') {
      const start = ++i;
      while (isDigit(rest[i])) i++;
      fraction = rest.slice(start, i);
    }
    if (whole === '' && fraction === '') return invalid;
    const unitStart = i;
    while (i < rest.length && rest[i] !== '.' && !isDigit(rest[i])) i++;
    const unit = rest.slice(unitStart, i);
    if (unit === '') return { ok: false, reason: `time: missing unit in duration ${goQuote(text)}` };
    const perUnit = UNIT_NANOS.get(unit);
    if (perUnit === undefined) return { ok: false, reason: `time: unknown unit ${goQuote(unit)} in duration ${goQuote(text)}` };
    nanos += Number(`${whole || '0'}.${fraction || '0'}`) * perUnit;
    rest = rest.slice(i);
  }
  return { ok: true, seconds: (sign * nanos) / 1e9 };
}

/** Go's strconv.ParseInt(s, 10, 64) accepts an optional sign and decimal digits only. */
const GO_INT = /^[+-]?\d+$/;

/**
 * parseutil.ParseDurationSecond. Negative values are refused, as everywhere in this service (Vault
 * takes them and then treats a negative bound as unset).
 */
export function parseDurationSecond(value: unknown): DurationResult {
  let result: DurationResult;
  if (typeof value === 'number') {
    result = Number.isFinite(value) ? { ok: true, seconds: Math.trunc(value) } : { ok: false, reason: 'could not parse duration from input' };
  } else if (typeof value === 'string') {
    if (value === '') result = { ok: true, seconds: 0 };
    else if (GO_INT.test(value)) result = { ok: true, seconds: Number(value) };
    else if (value.endsWith('d')) {
      const days = value.slice(0, -1);
      result = GO_INT.test(days)
        ? { ok: true, seconds: Number(days) * 86400 }
        : { ok: false, reason: `strconv.ParseInt: parsing ${goQuote(days)}: invalid syntax` };
    } else result = parseGoDuration(value);
  } else if (value === null || value === undefined) {
    result = { ok: true, seconds: 0 };
  } else {
    result = { ok: false, reason: 'could not parse duration from input' };
  }
  if (result.ok && result.seconds < 0) return { ok: false, reason: `cannot provide negative value '${result.seconds}'` };
  return result;
}
