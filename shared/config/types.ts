/**
 * The configuration of one `azure` mount (Vault's `auth/<mount>/config`), as stored and as the rest
 * of the core sees it. One entity per mount in `TABLES.configs`.
 */
import { z } from 'zod';

export interface MountConfig {
  readonly tenantId: string;
  /** Expected `aud` of login tokens. */
  readonly resource: string;
  /** As typed by the operator ("" = public cloud); matched case-insensitively. */
  readonly environment: string;
  readonly clientId: string;
  /** AES-256-GCM sealed client secret (see `ConfigStore.sealClientSecret`), "" when none. Never returned. */
  readonly clientSecretSealed: string;
  /** Entra key id of the current client secret, kept by root rotation; never returned. */
  readonly clientSecretKeyId: string;
  readonly rootPasswordTtlSeconds: number;
  readonly maxRetries: number;
  readonly retryDelaySeconds: number;
  readonly maxRetryDelaySeconds: number;
  readonly identityTokenAudience: string;
  readonly identityTokenTtlSeconds: number;
  /** Standard 5-field cron, UTC; "" when rotation is not scheduled. */
  readonly rotationSchedule: string;
  readonly rotationWindowSeconds: number;
  readonly rotationPeriodSeconds: number;
  readonly disableAutomatedRotation: boolean;
  readonly rotationPolicy: string;
  /** RFC 3339 time the rotation settings last changed: the start of a period when no rotation happened yet. */
  readonly rotationConfiguredAt: string;
  /** RFC 3339 expiry of the client secret put in place by the last rotation; "" until then. */
  readonly rootPasswordExpirationDate: string;
  /** RFC 3339 time of the last completed root rotation; "" until then. */
  readonly lastRotation: string;
}

/** Vault's defaults for a config written for the first time. */
export const CONFIG_DEFAULTS = {
  rootPasswordTtlSeconds: 4380 * 3600,
  maxRetries: 3,
  retryDelaySeconds: 4,
  maxRetryDelaySeconds: 60,
} as const;

export function newMountConfig(now: Date): MountConfig {
  return {
    tenantId: '',
    resource: '',
    environment: '',
    clientId: '',
    clientSecretSealed: '',
    clientSecretKeyId: '',
    ...CONFIG_DEFAULTS,
    identityTokenAudience: '',
    identityTokenTtlSeconds: 0,
    rotationSchedule: '',
    rotationWindowSeconds: 0,
    rotationPeriodSeconds: 0,
    disableAutomatedRotation: false,
    rotationPolicy: '',
    rotationConfiguredAt: now.toISOString(),
    rootPasswordExpirationDate: '',
    lastRotation: '',
  };
}

const text = z.string().default('');
const count = z.number().int().nonnegative();

/** How a config entity is read back from Table Storage (its properties are the fields above). */
export const mountConfigEntitySchema = z.object({
  tenantId: text,
  resource: text,
  environment: text,
  clientId: text,
  clientSecretSealed: text,
  clientSecretKeyId: text,
  rootPasswordTtlSeconds: count.default(CONFIG_DEFAULTS.rootPasswordTtlSeconds),
  maxRetries: count.default(CONFIG_DEFAULTS.maxRetries),
  retryDelaySeconds: count.default(CONFIG_DEFAULTS.retryDelaySeconds),
  maxRetryDelaySeconds: count.default(CONFIG_DEFAULTS.maxRetryDelaySeconds),
  identityTokenAudience: text,
  identityTokenTtlSeconds: count.default(0),
  rotationSchedule: text,
  rotationWindowSeconds: count.default(0),
  rotationPeriodSeconds: count.default(0),
  disableAutomatedRotation: z.boolean().default(false),
  rotationPolicy: text,
  rotationConfiguredAt: text,
  rootPasswordExpirationDate: text,
  lastRotation: text,
});
