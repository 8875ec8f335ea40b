/**
 * Every app setting the product reads, in one place: names, defaults and validation. App settings
 * reach a Functions app as environment variables. `infra/main.bicep` must set exactly these (a test
 * checks it), so add a setting here and there together.
 */
import { z } from 'zod';
import { parseDurationSeconds } from './vault/fields';

const duration = (fallbackSeconds: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return fallbackSeconds;
      const parsed = parseDurationSeconds(value);
      if (!parsed.ok) {
        ctx.addIssue({ code: 'custom', message: parsed.reason });
        return z.NEVER;
      }
      return parsed.seconds;
    });

/** A duration that must be above zero (a deadline of 0 would refuse everything). */
const positiveDuration = (fallbackSeconds: number) =>
  duration(fallbackSeconds).refine((seconds) => seconds > 0, { message: 'expected a duration above zero' });

const list = z
  .string()
  .optional()
  .transform((value) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean));

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value && value.trim() !== '' ? value.trim() : undefined));

const positiveInt = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return fallback;
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n <= 0) {
        ctx.addIssue({ code: 'custom', message: 'expected a positive integer' });
        return z.NEVER;
      }
      return n;
    });

/** Setting name → schema. The keys are the exact environment variable names. */
/** The default deadline of one storage operation; also used by callers that pass no setting at all. */
export const DEFAULT_STORAGE_TIMEOUT_SECONDS = 10;

export const SETTINGS = {
  // Storage: the standard Functions connection, as a connection string or identity-based.
  AzureWebJobsStorage: optionalText,
  AzureWebJobsStorage__tableServiceUri: optionalText,
  AzureWebJobsStorage__accountName: optionalText,
  AzureWebJobsStorage__clientId: optionalText,
  // Root key: base64 of 32 bytes. Seals the keyring's data keys (which seal KV secrets), server keys,
  // client secrets and pending rotation secrets.
  AZAUTH_ENCRYPTION_KEY: optionalText,
  // Set only during a root-key rollover (docs/secrets.md): the next root key. While set it seals new
  // values and the rewrap moves stored ones under it; then it becomes AZAUTH_ENCRYPTION_KEY.
  AZAUTH_ENCRYPTION_KEY_NEXT: optionalText,
  // Who is an admin: Entra tokens from this tenant, for this audience, with one of these object ids.
  AZAUTH_ADMIN_TENANT_ID: optionalText,
  AZAUTH_ADMIN_AUDIENCE: optionalText,
  AZAUTH_ADMIN_PRINCIPAL_IDS: list,
  // Vault's plugin falls back to these for a mount without stored values (config wins, as in Vault 0.24).
  AZURE_TENANT_ID: optionalText,
  AZURE_AD_RESOURCE: optionalText,
  AZURE_ENVIRONMENT: optionalText,
  // Overrides of the cloud endpoints, for private clouds and the local emulator.
  AZURE_AUTHORITY_HOST: optionalText,
  AZAUTH_ARM_ENDPOINT: optionalText,
  AZAUTH_GRAPH_ENDPOINT: optionalText,
  // The function app's own user-assigned managed identity (client id); empty = system-assigned.
  AZAUTH_MANAGED_IDENTITY_CLIENT_ID: optionalText,
  // Token lifetimes: Vault's system defaults are 768h for both.
  AZAUTH_DEFAULT_TTL: duration(768 * 3600),
  AZAUTH_MAX_TTL: duration(768 * 3600),
  // Leeway for nbf/iat/exp of Entra tokens.
  AZAUTH_CLOCK_SKEW: duration(60),
  // How long ARM facts about a resource (identities, location) are trusted.
  AZAUTH_ARM_CACHE_TTL: duration(60),
  // How long a new root password replicates in Entra before it replaces the old one.
  AZAUTH_ROTATION_SWAP_DELAY: duration(60),
  // Largest request body the API accepts; Vault's default is 32 MiB, ours is smaller.
  AZAUTH_MAX_REQUEST_BYTES: positiveInt(1024 * 1024),
  // Deadline of one storage operation, retries and back-off included: 503 "storage unavailable".
  AZAUTH_STORAGE_TIMEOUT: positiveDuration(DEFAULT_STORAGE_TIMEOUT_SECONDS),
  // Deadline of one API request, below host.json's functionTimeout (60 s) so that the client gets
  // Vault's 503 and the audit log says what the client got, rather than the host's bare 500.
  AZAUTH_REQUEST_TIMEOUT: positiveDuration(45),
} as const;

export type SettingName = keyof typeof SETTINGS;

const settingsSchema = z.object(SETTINGS);
export type Settings = z.output<typeof settingsSchema>;

/** Reads and validates every setting; a bad value fails loudly with the setting's name. */
export function readSettings(env: Readonly<Record<string, string | undefined>> = process.env): Settings {
  const input: Record<string, string | undefined> = {};
  for (const name of Object.keys(SETTINGS)) input[name] = env[name];
  const parsed = settingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid app setting ${String(issue?.path[0] ?? '')}: ${issue?.message ?? 'invalid value'}`);
  }
  return parsed.data;
}
