/**
 * The rules of `sys/mounts` (Vault's logical_system.go for secrets engines), as pure functions: which
 * paths and types may be mounted, the `config` and `options` of an enable, and what a tune changes.
 * Every refusal carries Vault's text.
 */
import { z } from 'zod';
import { VaultError, badRequest } from '../vault/errors';
import { parseDurationSeconds, vBool, vStringSlice } from '../vault/fields';
import { tuningSetKeys } from './info';
import type { EnableMountInput } from './store';
import { DEFAULT_TUNING, type Mount, type MountTuning } from './types';

/** System TTLs the lease settings are checked against (AZAUTH_DEFAULT_TTL / AZAUTH_MAX_TTL). */
export interface SystemLeaseTtls {
  readonly defaultTtl: number;
  readonly maxTtl: number;
}

/** First path segments a secrets engine may not take: Vault's protected prefixes and our own routes. */
const RESERVED_PATHS = new Set(['sys', 'auth', 'audit', 'cubbyhole', 'identity']);

/** Engine types that exist in Vault but are never mounted by a caller. */
const UNMOUNTABLE_TYPES = new Set(['cubbyhole', 'system', 'token', 'identity']);

export function isReservedSecretPath(path: string): boolean {
  return RESERVED_PATHS.has(path.toLowerCase());
}

/** Vault's answer to enabling at a reserved path: 403 `cannot mount "<path>/"`. */
export function refuseReservedMount(path: string): VaultError {
  return new VaultError('permission_denied', `cannot mount "${path}/"`);
}

/** A string map (`options`): numbers and booleans become strings as Go's weak decoding does. */
const optionsSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

const configSchema = z.object({
  default_lease_ttl: z.unknown().optional(),
  max_lease_ttl: z.unknown().optional(),
  force_no_cache: z.unknown().optional(),
  listing_visibility: z.unknown().optional(),
  audit_non_hmac_request_keys: z.unknown().optional(),
  audit_non_hmac_response_keys: z.unknown().optional(),
  passthrough_request_headers: z.unknown().optional(),
  allowed_response_headers: z.unknown().optional(),
});

export interface EnableRequest {
  readonly type?: string;
  readonly description?: string;
  readonly config?: unknown;
  readonly options?: unknown;
  readonly local?: boolean;
  readonly seal_wrap?: boolean;
  readonly external_entropy_access?: boolean;
  readonly plugin_name?: string;
}

/** Turns a `POST sys/mounts/<path>` body into what the store enables, or Vault's refusal. */
export function secretMountToEnable(path: string, req: EnableRequest, system: SystemLeaseTtls): EnableMountInput {
  if (isReservedSecretPath(path)) throw refuseReservedMount(path);
  const requestedType = (req.type || req.plugin_name || '').trim();
  if (!requestedType) throw badRequest('backend type must be specified as a string');
  if (UNMOUNTABLE_TYPES.has(requestedType)) throw new VaultError('permission_denied', `mount type of "${requestedType}" is not mountable`);
  const options: Record<string, string> = { ...parseOptions(req.options) };
  let type = requestedType;
  if (type === 'kv-v1' || type === 'kv-v2') {
    options.version = type === 'kv-v2' ? '2' : '1';
    type = 'kv';
  } else if (type === 'generic') {
    type = 'kv';
  }
  if (type !== 'kv') {
    if (options.version !== undefined) throw badRequest(`secrets engine "${type}" does not allow setting a version`);
    throw badRequest(`plugin not found in the catalog: ${type}: this server provides the "kv" secrets engine only`);
  }
  if (options.version !== undefined) options.version = String(parseKvVersion(options.version));
  const tuning = parseConfig(req.config, DEFAULT_TUNING, system);
  return {
    type: 'kv',
    description: req.description ?? '',
    local: req.local ?? false,
    sealWrap: req.seal_wrap ?? false,
    externalEntropyAccess: req.external_entropy_access ?? false,
    options: Object.keys(options).length > 0 ? options : null,
    tuning,
  };
}

/** `options.version` of a KV mount: "1" or "2" ("" means 1); anything else is Vault's 400. */
export function parseKvVersion(raw: string): 1 | 2 {
  if (raw.trim() === '') return 1;
  if (!/^[-+]?\d+$/.test(raw.trim())) throw badRequest(`unable to parse options: strconv.Atoi: parsing "${raw}": invalid syntax`);
  const version = Number(raw);
  if (version !== 1 && version !== 2) throw badRequest(`invalid version provided: ${version}`);
  return version;
}

function parseOptions(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null || raw === '') return {};
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) throw badRequest('Field validation failed: error converting input for field "options": expected a map of strings');
  return parsed.data;
}

/**
 * A lease TTL of `config` or tune: a duration, `"system"` (back to the system value, stored as 0) or
 * `""` (keep `current`).
 */
function leaseTtl(raw: unknown, current: number, label: 'default' | 'max'): number {
  if (raw === undefined || raw === null || raw === '') return current;
  if (raw === 'system') return 0;
  const parsed = parseDurationSeconds(raw);
  if (!parsed.ok) throw badRequest(`unable to parse ${label === 'default' ? 'default TTL' : 'max TTL'} of ${String(raw)}: ${parsed.reason}`);
  return parsed.seconds;
}

function listField(raw: unknown, current: readonly string[], name: string): readonly string[] {
  if (raw === undefined || raw === null) return current;
  const parsed = vStringSlice.safeParse(raw);
  if (!parsed.success) throw badRequest(`Field validation failed: error converting input for field "${name}": expected a list of strings`);
  return parsed.data;
}

/** The `config` object of an enable (or the tune fields) applied over `current`, with Vault's checks. */
export function parseConfig(raw: unknown, current: MountTuning, system: SystemLeaseTtls): MountTuning {
  if (raw === undefined || raw === null || raw === '') return current;
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw badRequest('Field validation failed: error converting input for field "config": expected an object');
  return applyTuning(current, parsed.data, system);
}

export interface TuneFields {
  readonly default_lease_ttl?: unknown;
  readonly max_lease_ttl?: unknown;
  readonly force_no_cache?: unknown;
  readonly listing_visibility?: unknown;
  readonly audit_non_hmac_request_keys?: unknown;
  readonly audit_non_hmac_response_keys?: unknown;
  readonly passthrough_request_headers?: unknown;
  readonly allowed_response_headers?: unknown;
}

export function applyTuning(current: MountTuning, fields: TuneFields, system: SystemLeaseTtls): MountTuning {
  const defaultLeaseTtl = leaseTtl(fields.default_lease_ttl, current.defaultLeaseTtl, 'default');
  const maxLeaseTtl = leaseTtl(fields.max_lease_ttl, current.maxLeaseTtl, 'max');
  if (defaultLeaseTtl !== 0 && maxLeaseTtl !== 0 && defaultLeaseTtl > maxLeaseTtl) {
    throw badRequest('given default lease TTL greater than given max lease TTL');
  }
  if (defaultLeaseTtl > system.maxTtl) throw badRequest(`given default lease TTL greater than system max lease TTL of ${system.maxTtl}`);
  if (maxLeaseTtl > system.maxTtl) throw badRequest(`given max lease TTL greater than system max lease TTL of ${system.maxTtl}`);
  let listingVisibility = current.listingVisibility;
  if (fields.listing_visibility !== undefined && fields.listing_visibility !== null) {
    const value = String(fields.listing_visibility);
    if (value !== '' && value !== 'unauth' && value !== 'hidden') throw badRequest(`invalid listing_visibility ${value}`);
    listingVisibility = value;
  }
  let forceNoCache = current.forceNoCache;
  if (fields.force_no_cache !== undefined && fields.force_no_cache !== null) {
    const parsed = vBool.safeParse(fields.force_no_cache);
    if (!parsed.success) throw badRequest('Field validation failed: error converting input for field "force_no_cache": expected a boolean');
    forceNoCache = parsed.data;
  }
  return {
    defaultLeaseTtl,
    maxLeaseTtl,
    forceNoCache,
    listingVisibility,
    auditNonHmacRequestKeys: listField(fields.audit_non_hmac_request_keys, current.auditNonHmacRequestKeys, 'audit_non_hmac_request_keys'),
    auditNonHmacResponseKeys: listField(fields.audit_non_hmac_response_keys, current.auditNonHmacResponseKeys, 'audit_non_hmac_response_keys'),
    passthroughRequestHeaders: listField(fields.passthrough_request_headers, current.passthroughRequestHeaders, 'passthrough_request_headers'),
    allowedResponseHeaders: listField(fields.allowed_response_headers, current.allowedResponseHeaders, 'allowed_response_headers'),
  };
}

/** What a tune's `options` do: merged into the current map; an empty value deletes a key, except `version`. */
export interface OptionsChange {
  readonly options: Readonly<Record<string, string>> | null;
  /** Set when the KV version goes from 1 to 2 (Vault's upgrade). */
  readonly upgradeToV2: boolean;
}

export function tuneOptions(mount: Pick<Mount, 'options' | 'type'>, raw: unknown): OptionsChange {
  const incoming = parseOptions(raw);
  const merged: Record<string, string> = { ...mount.options };
  let upgradeToV2 = false;
  for (const [key, value] of Object.entries(incoming)) {
    if (key === 'version') {
      const current = mount.options?.version ? parseKvVersion(mount.options.version) : 1;
      const wanted = parseKvVersion(value);
      if (wanted < current) throw badRequest(`cannot downgrade mount from version ${current}`);
      if (wanted > current) upgradeToV2 = true;
      merged.version = String(wanted);
    } else if (value === '') {
      delete merged[key];
    } else {
      merged[key] = value;
    }
  }
  return { options: Object.keys(merged).length > 0 ? merged : null, upgradeToV2 };
}

/** `GET sys/mounts/<path>/tune`: the effective TTLs, and the optional keys only when set. */
export function tuneData(mount: Mount, system: SystemLeaseTtls): Record<string, unknown> {
  const { tuning } = mount;
  const data: Record<string, unknown> = {
    description: mount.description,
    default_lease_ttl: tuning.defaultLeaseTtl || system.defaultTtl,
    max_lease_ttl: tuning.maxLeaseTtl || system.maxTtl,
    force_no_cache: tuning.forceNoCache,
  };
  if (mount.externalEntropyAccess) data.external_entropy_access = true;
  Object.assign(data, tuningSetKeys(tuning));
  if (mount.options && Object.keys(mount.options).length > 0) data.options = { ...mount.options };
  if (mount.table === 'auth') data.token_type = 'default-service';
  return data;
}
