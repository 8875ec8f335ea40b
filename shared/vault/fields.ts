/**
 * Vault's framework field types, as zod schemas, so parsing and typing are one step.
 *
 * Vault accepts loosely typed input (numbers as strings, "1h" for durations, "a, b" for lists) because
 * its CLI sends everything as strings. Clients written against Vault rely on that, so we do too.
 */
import { z } from 'zod';
import { badRequest } from './errors';

const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const GO_UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600,
};

/** Parses a Go duration ("1h30m", "90s", "1.5h") to seconds; undefined when it is not one. */
function parseGoDuration(text: string): number | undefined {
  if (!GO_DURATION.test(text)) return undefined;
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (GO_UNIT_SECONDS[part[2] ?? 's'] ?? 1);
  }
  return total;
}

/**
 * Duration in whole seconds: a number of seconds, a numeric string, a Go duration or "<n>d".
 * Returns a message describing why the input is not a duration.
 */
export function parseDurationSeconds(input: unknown): { ok: true; seconds: number } | { ok: false; reason: string } {
  let seconds: number | undefined;
  if (typeof input === 'number') {
    seconds = Number.isFinite(input) ? Math.trunc(input) : undefined;
  } else if (typeof input === 'string') {
    const text = input.trim();
    if (text === '') seconds = 0;
    else if (/^[-+]?\d+$/.test(text)) seconds = Number(text);
    else if (/^[-+]?\d+d$/.test(text)) seconds = Number(text.slice(0, -1)) * 86400;
    else {
      const negative = text.startsWith('-');
      const parsed = parseGoDuration(text.replace(/^[-+]/, ''));
      if (parsed !== undefined) seconds = Math.trunc(negative ? -parsed : parsed);
    }
  }
  if (seconds === undefined || !Number.isSafeInteger(seconds)) {
    return { ok: false, reason: `time: invalid duration "${String(input)}"` };
  }
  // Vault's signed-duration fields accept negatives, but a negative TTL or retry delay is never
  // meaningful here, so every duration refuses them (a deliberate difference, see README).
  if (seconds < 0) return { ok: false, reason: `cannot provide negative value '${seconds}'` };
  return { ok: true, seconds };
}

/** Go's strconv.ParseBool vocabulary, plus JSON booleans and 0/1 numbers (mapstructure's weak decode). */
export function parseVaultBool(input: unknown): boolean | undefined {
  if (typeof input === 'boolean') return input;
  if (typeof input === 'number') return input === 1 ? true : input === 0 ? false : undefined;
  if (typeof input !== 'string') return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(input)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(input)) return false;
  return undefined;
}

/**
 * What the parser knows about a field beyond its zod schema. Kept beside the schemas (not in zod's
 * global registry) so that marking one field never marks the shared field type it was made from.
 */
interface FieldTraits {
  /** Never shown: a conversion error names the field only, and the audit record HMACs it whole. */
  readonly sensitive?: boolean;
  /** JSON null leaves the field unset (Vault's nil for durations, Go's *bool), instead of converting. */
  readonly nullIsUnset?: boolean;
}

const TRAITS = new WeakMap<z.ZodType, FieldTraits>();

/** A copy of `schema` with `traits` added: a copy, so the shared field type it came from stays unmarked. */
function withTraits<T extends z.ZodType>(schema: T, traits: FieldTraits): T {
  const copy = schema.clone() as T;
  TRAITS.set(copy, { ...TRAITS.get(schema), ...traits });
  return copy;
}

/**
 * A sensitive field (a secret, a token, an accessor, a JWT): a copy of `schema` whose value no error
 * message repeats and which the audit record shows only as an HMAC, whatever its JSON type.
 */
export function sensitive<T extends z.ZodType>(schema: T): T {
  return withTraits(schema, { sensitive: true });
}

/**
 * A copy of `schema` that JSON null leaves unset (the field is absent from `values` and `has`), like
 * a Go pointer field or a plugin that reads null as "not given" (hvac sends null for every argument
 * it was not passed), instead of converting null the framework's way.
 */
export function nullIsUnset<T extends z.ZodType>(schema: T): T {
  return withTraits(schema, { nullIsUnset: true });
}

export function isSensitiveField(schema: z.ZodType): boolean {
  return TRAITS.get(schema)?.sensitive === true;
}

/** The names of a shape's sensitive fields. */
export function sensitiveFieldNames(shape: FieldShape): string[] {
  return Object.entries(shape)
    .filter(([, schema]) => isSensitiveField(schema))
    .map(([name]) => name);
}

/** Vault's TypeDurationSecond: a nil input is "not set" (GetOk answers false), never an error. */
export const vDuration = nullIsUnset(
  z.unknown().transform((value, ctx): number => {
    const parsed = parseDurationSeconds(value);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.reason });
      return z.NEVER;
    }
    return parsed.seconds;
  }),
);

/** Vault's TypeBool: mapstructure decodes nil into false. */
export const vBool = z.unknown().transform((value, ctx): boolean => {
  if (value === null) return false;
  const parsed = parseVaultBool(value);
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: `strconv.ParseBool: parsing "${String(value)}": invalid syntax` });
    return z.NEVER;
  }
  return parsed;
});

/**
 * A bool that JSON null leaves unset, like a Go `*bool` (token create's `renewable`, where unset
 * means the default, true), rather than Vault's framework bool (nil = false).
 */
export const vOptionalBool = nullIsUnset(vBool);

/** Vault's TypeInt: mapstructure decodes nil into 0. */
export const vInt = z.unknown().transform((value, ctx): number => {
  if (value === null) return 0;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) {
    ctx.addIssue({ code: 'custom', message: `cannot parse "${String(value)}" as an integer` });
    return z.NEVER;
  }
  return n;
});

export const vString = z.unknown().transform((value, ctx): string => {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return '';
  ctx.addIssue({ code: 'custom', message: 'expected a string' });
  return z.NEVER;
});

/**
 * Vault's TypeCommaStringSlice: a JSON array of strings (numbers as their text) or one
 * comma-separated string; elements trimmed. Empty elements are dropped unless `keepEmpty` (a caller
 * that must refuse them, not quietly shorten the list); `badElement` is the error for an element
 * that is neither a string nor a number.
 */
export function commaStringSlice(options: { readonly keepEmpty: boolean; readonly badElement: string }) {
  return z.unknown().transform((value, ctx): string[] => {
    const items: unknown[] | undefined =
      typeof value === 'string' ? (value.trim() === '' ? [] : value.split(',')) : Array.isArray(value) ? value : value === null ? [] : undefined;
    if (items === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected a list of strings or a comma-separated string' });
      return z.NEVER;
    }
    const out: string[] = [];
    for (const item of items) {
      if (typeof item === 'string' || typeof item === 'number') out.push(String(item).trim());
      else {
        ctx.addIssue({ code: 'custom', message: options.badElement });
        return z.NEVER;
      }
    }
    return options.keepEmpty ? out : out.filter((s) => s !== '');
  });
}

/** comma-string-slice as Vault's fields use it: empty elements dropped. */
export const vStringSlice = commaStringSlice({ keepEmpty: false, badElement: 'list elements must be strings' });

/** Map of string to string (token metadata). */
export const vStringMap = z.unknown().transform((value, ctx): Record<string, string> => {
  let candidate = value;
  if (typeof value === 'string') {
    if (value.trim() === '') return {};
    try {
      candidate = JSON.parse(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a map of strings' });
      return z.NEVER;
    }
  }
  const parsed = z.record(z.string(), z.string()).safeParse(candidate ?? {});
  if (!parsed.success) {
    ctx.addIssue({ code: 'custom', message: 'expected a map of strings' });
    return z.NEVER;
  }
  return parsed.data;
});

export type FieldShape = Record<string, z.ZodType>;
export type ParsedFields<S extends FieldShape> = { [K in keyof S]?: z.output<S[K]> };

export interface FieldParseResult<S extends FieldShape> {
  /** Only the fields present in the request (Vault's GetOk semantics): absent keys stay undefined. */
  values: ParsedFields<S>;
  /** Whether the request carried the field at all, even as an empty string. */
  has(name: keyof S & string): boolean;
  /** Request keys the schema does not know, sorted, for Vault's "ignored" warning. */
  unknown: string[];
}

/**
 * Parses the request data against a shape of field schemas. A conversion failure is a 400 with
 * Vault's framework wording, naming the field and the input.
 */
export function parseFields<S extends FieldShape>(shape: S, data: Record<string, unknown>): FieldParseResult<S> {
  const values: Record<string, unknown> = {};
  const present = new Set<string>();
  const unknown: string[] = [];
  for (const [key, raw] of Object.entries(data)) {
    const schema = Object.prototype.hasOwnProperty.call(shape, key) ? shape[key] : undefined;
    if (!schema) {
      unknown.push(key);
      continue;
    }
    const traits = TRAITS.get(schema);
    if (raw === null && traits?.nullIsUnset) continue;
    present.add(key);
    const result = schema.safeParse(raw);
    if (!result.success) throw conversionError(key, raw, result.error.issues[0]?.message, traits?.sensitive === true);
    values[key] = result.data;
  }
  return {
    values: values as ParsedFields<S>,
    has: (name) => present.has(name),
    unknown: unknown.sort(),
  };
}

function conversionError(key: string, raw: unknown, reason: string | undefined, secret: boolean): Error {
  if (secret) {
    // The reason may quote the input too (durations, bools, ints do), so only the JSON type is named.
    return badRequest(`Field validation failed: error converting input of type ${jsonType(raw)} for field "${key}": the value of a sensitive field is not shown`);
  }
  return badRequest(`Field validation failed: error converting input ${formatInput(raw)} for field "${key}": ${reason ?? 'invalid value'}`);
}

function jsonType(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'array';
  return typeof raw;
}

function formatInput(raw: unknown): string {
  if (typeof raw === 'string') return raw.length > 64 ? `${raw.slice(0, 64)}…` : raw;
  try {
    const text = JSON.stringify(raw) ?? String(raw);
    return text.length > 64 ? `${text.slice(0, 64)}…` : text;
  } catch {
    return String(raw);
  }
}

export function unknownFieldsWarning(unknown: string[]): string | undefined {
  return unknown.length ? `Endpoint ignored these unrecognized parameters: [${unknown.join(' ')}]` : undefined;
}
