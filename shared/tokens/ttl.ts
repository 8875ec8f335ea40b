/**
 * Vault's lifetime arithmetic (sdk/framework/lease.go CalculateTTL) and policy normalisation
 * (sdk/helper/policyutil SanitizePolicies), restated so login, token create and renewal agree.
 * All durations are whole seconds; times are Unix milliseconds.
 */
import { VaultError } from '../vault/errors';

export interface SystemTtls {
  /** Used when neither the increment nor the backend names a TTL (AZAUTH_DEFAULT_TTL). */
  readonly defaultTtl: number;
  /** The ceiling of every token's lifetime (AZAUTH_MAX_TTL), counted from its issue time. */
  readonly maxTtl: number;
}

export interface TtlInputs {
  /** Requested renewal increment; 0 at issue. */
  readonly increment: number;
  /** The backend's TTL: the role's token_ttl, or the TTL asked for at token create. */
  readonly backendTtl: number;
  readonly period: number;
  /** The role's token_max_ttl; 0 = the system max. */
  readonly backendMaxTtl: number;
  readonly explicitMaxTtl: number;
  /** When the token was issued; the max TTL counts from here, not from the last renewal. */
  readonly startTimeMs: number;
  readonly nowMs: number;
}

export interface TtlResult {
  readonly ttl: number;
  readonly warnings: string[];
}

export function calculateTtl(system: SystemTtls, input: TtlInputs): TtlResult {
  const now = Math.floor(input.nowMs / 1000);
  const start = Math.floor(input.startTimeMs / 1000);
  const warnings: string[] = [];

  let maxTtl = system.maxTtl;
  if (input.backendMaxTtl > 0 && input.backendMaxTtl < maxTtl) maxTtl = input.backendMaxTtl;
  if (input.explicitMaxTtl > 0 && input.explicitMaxTtl < maxTtl) maxTtl = input.explicitMaxTtl;
  if (maxTtl <= 0) throw new VaultError('internal', 'max TTL must be greater than zero');

  let ttl: number;
  let maxValidTime: number | undefined;
  if (input.period > 0) {
    let period = input.period;
    if (period > maxTtl) {
      warnings.push(
        `period of "${humanDuration(period)}" exceeded the effective max_ttl of "${humanDuration(maxTtl)}"; period value is capped accordingly`,
      );
      period = maxTtl;
    }
    ttl = period;
    // A periodic token lives as long as it is renewed; only an explicit max ends it.
    if (input.explicitMaxTtl > 0) maxValidTime = start + input.explicitMaxTtl;
  } else {
    ttl = input.increment > 0 ? input.increment : input.backendTtl > 0 ? input.backendTtl : system.defaultTtl;
    maxValidTime = start + maxTtl;
  }

  if (maxValidTime !== undefined) {
    const maxValidTtl = maxValidTime - now;
    if (maxValidTtl <= 0) throw new VaultError('bad_request', 'past the max TTL, cannot renew');
    if (maxValidTtl < ttl) {
      warnings.push(
        `TTL of "${humanDuration(ttl)}" exceeded the effective max_ttl of "${humanDuration(maxValidTtl)}"; TTL value is capped accordingly`,
      );
      ttl = maxValidTtl;
    }
  }
  return { ttl, warnings };
}

/** Go's time.Duration String() for whole seconds, without Vault's zero elements ("1h", "1h5s"). */
export function humanDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const sign = seconds < 0 ? '-' : '';
  const total = Math.abs(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  let text = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  if (text.endsWith('m0s')) text = text.slice(0, -2);
  const idx = text.indexOf('h0m');
  if (idx > 0) text = text.slice(0, idx + 1) + text.slice(idx + 3);
  return sign + text;
}

/**
 * Trimmed, lower-cased, de-duplicated and sorted; `root` swallows every other policy; `default` is
 * added when asked for, unless `root` is present.
 */
export function sanitizePolicies(policies: readonly string[], addDefault: boolean): string[] {
  const cleaned = policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== '');
  if (cleaned.includes('root')) return ['root'];
  if (addDefault && !cleaned.includes('default')) cleaned.push('default');
  return [...new Set(cleaned)].sort();
}
