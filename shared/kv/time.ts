/**
 * Vault's timestamps: Go's RFC 3339 with nanoseconds, UTC, trailing zeros of the fraction trimmed
 * (`2024-05-01T10:20:30.12Z`, `2024-05-01T10:20:30Z`). Clients parse them with RFC 3339 parsers and
 * consul-template compares `deletion_time` with the clock, so the shape matters; our clock has
 * millisecond precision, so the fraction has at most three digits.
 */
export function vaultTime(date: Date): string {
  const iso = date.toISOString(); // 2024-05-01T10:20:30.120Z
  const [whole, fraction = ''] = iso.slice(0, -1).split('.');
  const trimmed = fraction.replace(/0+$/, '');
  return trimmed === '' ? `${whole}Z` : `${whole}.${trimmed}Z`;
}

/** Milliseconds since the epoch of a stored timestamp; NaN for "" (no time). */
export function timeMs(text: string): number {
  return text === '' ? Number.NaN : Date.parse(text);
}
