/**
 * Merging a `config` write into the stored config, with Vault's checks in Vault's order
 * (vault-plugin-auth-azure `pathConfigWrite`), and the read-back shape.
 *
 * Deliberate differences from Vault (listed in the README): an omitted field always keeps its stored
 * value (Vault resets root_password_ttl, max_retries, retry_delay and max_retry_delay to defaults);
 * the caller's mistakes are 400 (Vault answers 500 for a missing tenant/resource or an unknown cloud);
 * `tenant_id` must be a GUID or a domain name (Vault takes any text);
 * rotation settings are honoured by our own timer instead of being refused as "Enterprise only";
 * durations read back in whole seconds.
 */
import { tenantIdProblem } from '../entra/tenant';
import { badRequest } from '../vault/errors';
import { resolveEffectiveSettings, type FallbackSettings } from './effective';
import { MIN_ROTATION_WINDOW_SECONDS, nextRotation, parseRotationSchedule } from './rotation';
import { newMountConfig, type MountConfig } from './types';

/** The request's fields after Vault field parsing; a key is present only when the request sent it. */
export interface ConfigWriteInput {
  tenant_id?: string;
  resource?: string;
  environment?: string;
  client_id?: string;
  client_secret?: string;
  root_password_ttl?: number;
  max_retries?: number;
  retry_delay?: number;
  max_retry_delay?: number;
  identity_token_audience?: string;
  identity_token_ttl?: number;
  rotation_schedule?: string;
  rotation_window?: number;
  rotation_period?: number;
  disable_automated_rotation?: boolean;
  rotation_policy?: string;
}

export interface ConfigWriteContext {
  readonly now: Date;
  readonly env: FallbackSettings;
  /** Seals a client secret for this mount; throws the 400 naming AZAUTH_ENCRYPTION_KEY without a key. */
  sealClientSecret(plaintext: string): string;
}

/** The config being built by a write (MountConfig is read-only everywhere else). */
type MutableConfig = { -readonly [K in keyof MountConfig]: MountConfig[K] };

export const MUTUALLY_EXCLUSIVE_ROTATION =
  'mutually exclusive fields rotation_schedule and rotation_period were both specified; only one of them can be provided';

/** Returns the config to store, or throws a 400 VaultError; `current` is never modified. */
export function applyConfigWrite(current: MountConfig | undefined, input: ConfigWriteInput, ctx: ConfigWriteContext): MountConfig {
  const base = current ?? newMountConfig(ctx.now);
  const next: MutableConfig = { ...base };

  if (input.tenant_id !== undefined) {
    // Login puts the tenant into Entra's discovery URL: refuse now what login would refuse (Vault
    // checks nothing here). "" clears it, leaving AZURE_TENANT_ID to apply.
    const tenantId = input.tenant_id.trim();
    const problem = tenantId === '' ? undefined : tenantIdProblem(tenantId);
    if (problem) throw badRequest(problem);
    next.tenantId = tenantId;
  }
  if (input.resource !== undefined) next.resource = input.resource.trim();
  if (input.environment !== undefined) next.environment = input.environment.trim();
  if (input.client_id !== undefined) next.clientId = input.client_id.trim();
  if (input.client_secret !== undefined) {
    // An explicit "" clears the secret; a new secret replaces the old one and its Entra key id.
    next.clientSecretSealed = input.client_secret === '' ? '' : ctx.sealClientSecret(input.client_secret);
    next.clientSecretKeyId = '';
  }
  if (input.root_password_ttl !== undefined) next.rootPasswordTtlSeconds = input.root_password_ttl;
  if (input.max_retries !== undefined) {
    if (input.max_retries < 0) throw badRequest('max_retries cannot be negative');
    next.maxRetries = input.max_retries;
  }
  if (input.retry_delay !== undefined) next.retryDelaySeconds = input.retry_delay;
  if (input.max_retry_delay !== undefined) next.maxRetryDelaySeconds = input.max_retry_delay;
  if (input.identity_token_audience !== undefined) next.identityTokenAudience = input.identity_token_audience.trim();
  if (input.identity_token_ttl !== undefined) next.identityTokenTtlSeconds = input.identity_token_ttl;

  applyRotationFields(next, input, ctx.now);

  if (next.clientSecretSealed !== '' && next.identityTokenAudience !== '') {
    throw badRequest("only one of 'client_secret' or 'identity_token_audience' can be set");
  }
  if (next.identityTokenAudience !== '' && next.clientId === '') {
    // Workload identity federation: the app's own managed-identity token for this audience is the
    // client assertion of the application named by client_id, so that application must be named.
    // (Vault Community edition refuses identity_token_audience outright; we support it.)
    throw badRequest("identity_token_audience requires client_id: the application whose federated credential trusts this app's managed identity");
  }

  const effective = resolveEffectiveSettings(next, ctx.env);
  if (!effective.ok) throw badRequest(effective.problem);
  return next;
}

function applyRotationFields(
  next: MutableConfig,
  input: ConfigWriteInput,
  now: Date,
): void {
  const schedule = input.rotation_schedule?.trim();
  const period = input.rotation_period;
  const window = input.rotation_window;

  // Vault's checks, on this request's values.
  if (schedule !== undefined && period !== undefined && schedule !== '' && period !== 0) {
    throw badRequest(MUTUALLY_EXCLUSIVE_ROTATION);
  }
  if (schedule) {
    const parsed = parseRotationSchedule(schedule);
    if (!parsed.ok) throw badRequest(`failed to parse provided rotation_schedule: ${parsed.reason}`);
  }
  if (window !== undefined && window !== 0 && period !== undefined && period !== 0) {
    throw badRequest('rotation_window does not apply to period');
  }
  if (window !== undefined && window !== 0 && !schedule) {
    throw badRequest('cannot use rotation_window without rotation_schedule');
  }
  // Vault leaves this to its Enterprise rotation manager; our timer needs it at write time.
  if (window !== undefined && window !== 0 && window < MIN_ROTATION_WINDOW_SECONDS) {
    throw badRequest(`rotation_window must be 0 or at least ${MIN_ROTATION_WINDOW_SECONDS} seconds (1h), got ${window}`);
  }

  const before = { schedule: next.rotationSchedule, period: next.rotationPeriodSeconds, disabled: next.disableAutomatedRotation };
  if (schedule !== undefined) next.rotationSchedule = schedule;
  if (period !== undefined) next.rotationPeriodSeconds = period;
  if (window !== undefined) next.rotationWindowSeconds = window;
  if (input.disable_automated_rotation !== undefined) next.disableAutomatedRotation = input.disable_automated_rotation;
  if (input.rotation_policy !== undefined) next.rotationPolicy = input.rotation_policy;

  // Our timer acts on the stored result, so a schedule and a period may not coexist there either
  // (Vault only looks at one request): switching needs the other set to "" / 0 in the same write.
  if (next.rotationSchedule !== '' && next.rotationPeriodSeconds !== 0) throw badRequest(MUTUALLY_EXCLUSIVE_ROTATION);
  // A window belongs to a schedule; without one it would linger unseen.
  if (next.rotationSchedule === '') next.rotationWindowSeconds = 0;

  const changed =
    before.schedule !== next.rotationSchedule || before.period !== next.rotationPeriodSeconds || before.disabled !== next.disableAutomatedRotation;
  if (changed) next.rotationConfiguredAt = now.toISOString();
}

/** `GET config` data: Vault's keys (durations all in whole seconds), plus what rotation adds. */
export function configReadData(config: MountConfig, now: Date): Record<string, unknown> {
  const data: Record<string, unknown> = {
    tenant_id: config.tenantId,
    resource: config.resource,
    environment: config.environment,
    client_id: config.clientId,
    root_password_ttl: config.rootPasswordTtlSeconds,
    retry_delay: config.retryDelaySeconds,
    max_retry_delay: config.maxRetryDelaySeconds,
    max_retries: config.maxRetries,
    identity_token_audience: config.identityTokenAudience,
    identity_token_ttl: config.identityTokenTtlSeconds,
    rotation_schedule: config.rotationSchedule,
    rotation_window: config.rotationWindowSeconds,
    rotation_period: config.rotationPeriodSeconds,
    disable_automated_rotation: config.disableAutomatedRotation,
    rotation_policy: config.rotationPolicy,
  };
  if (config.rootPasswordExpirationDate) data.root_password_expiration_date = config.rootPasswordExpirationDate;
  const next = nextRotation(config, now);
  if (next) data.next_rotation = next.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return data;
}
