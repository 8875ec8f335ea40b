/**
 * Mounts: where an auth method lives (`/v1/auth/<path>/…`, the `auth` table of `sys/auth`) or a
 * secrets engine lives (`/v1/<path>/…`, the `secret` table of `sys/mounts`). One store and one naming
 * rule for both, as Vault's mount table. Each `azure` auth mount has its own config and roles, so one
 * deployment serves many Entra tenants; each `kv` mount has its own secrets.
 */
import { z } from 'zod';
import { jsonColumn } from '../storage/columns';

/** Which of Vault's two mount tables an entry belongs to. */
export type MountTable = 'auth' | 'secret';

/** `azure` auth mounts are ours; `token` is the built-in token store; `kv` is the KV secrets engine. */
export type MountType = 'azure' | 'token' | 'kv';

/**
 * `disabling`: a disable has begun. From that moment the mount serves nothing (no login, no use of
 * its tokens, no secret read) on every instance within the mount cache's bound, while its data is
 * deleted; the entry goes last, so a disable cut short is finished by a retry or the cleanup timer.
 */
export type MountState = 'active' | 'disabling';

/** Vault's per-mount `config` (tune) values we store; TTLs in seconds, 0 = the system default. */
export interface MountTuning {
  readonly defaultLeaseTtl: number;
  readonly maxLeaseTtl: number;
  readonly forceNoCache: boolean;
  readonly listingVisibility: '' | 'unauth' | 'hidden';
  readonly auditNonHmacRequestKeys: readonly string[];
  readonly auditNonHmacResponseKeys: readonly string[];
  readonly passthroughRequestHeaders: readonly string[];
  readonly allowedResponseHeaders: readonly string[];
}

export const DEFAULT_TUNING: MountTuning = {
  defaultLeaseTtl: 0,
  maxLeaseTtl: 0,
  forceNoCache: false,
  listingVisibility: '',
  auditNonHmacRequestKeys: [],
  auditNonHmacResponseKeys: [],
  passthroughRequestHeaders: [],
  allowedResponseHeaders: [],
};

export interface Mount {
  readonly table: MountTable;
  /** The path without slashes, e.g. `azure` or `secret`. */
  readonly path: string;
  readonly type: MountType;
  /** Vault-style accessor (`auth_azure_1a2b3c4d`, `kv_1a2b3c4d`); new for every enable of a path. */
  readonly accessor: string;
  readonly uuid: string;
  readonly description: string;
  /** Accepted and echoed for Vault compatibility; there is no replication here. */
  readonly local: boolean;
  readonly sealWrap: boolean;
  readonly externalEntropyAccess: boolean;
  /** Engine options (`{"version": "2"}` for KV v2); null when none, as Vault shows it. */
  readonly options: Readonly<Record<string, string>> | null;
  readonly tuning: MountTuning;
  readonly state: MountState;
  /** When the disable began (RFC 3339); "" while active. */
  readonly disablingSince: string;
  /**
   * A KV mount tuned from version 1 to 2 whose data is still being moved: until it is done, every
   * request to the mount answers Vault's 400 "Upgrading from non-versioned to versioned data".
   */
  readonly upgrading: boolean;
  /** When the upgrade began (RFC 3339); "" when none is under way. */
  readonly upgradingSince: string;
  /** RFC 3339 time the mount was enabled. */
  readonly createdAt: string;
}

/** The mount every deployment starts with, as `vault auth enable azure` would create. */
export const DEFAULT_AZURE_MOUNT = 'azure';
/** The token store's mount, listed as Vault lists it and never enabled or disabled by callers. */
export const TOKEN_MOUNT = 'token';

/**
 * Vault's name pattern for path segments (`framework.GenericNameRegex`), ASCII only as Go's `\w` is.
 * Vault also allows nested mount paths (`team/azure`); an Azure Functions route value is a single
 * segment, so a mount path here is one segment (a documented difference).
 */
const MOUNT_PATH_PATTERN = /^\w(?:[\w.-]*\w)?$/;
const MAX_MOUNT_PATH_LENGTH = 128;

/** Why a requested mount path is unusable, or undefined when it is fine. */
export function mountPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'mount path is empty';
  if (path.length > MAX_MOUNT_PATH_LENGTH) return `mount path is longer than ${MAX_MOUNT_PATH_LENGTH} characters`;
  if (!MOUNT_PATH_PATTERN.test(path)) {
    return `invalid mount path "${path}": use one path segment of letters, digits, "_", "-" and ".", starting and ending with a letter, digit or "_"`;
  }
  return undefined;
}

/** A KV mount's version from its options: Vault treats a missing or empty version as 1. */
export function kvVersionOf(mount: Pick<Mount, 'options'>): 1 | 2 {
  return mount.options?.version === '2' ? 2 : 1;
}

const stringList = z.array(z.string()).default([]);

const tuningSchema = z.object({
  defaultLeaseTtl: z.number().int().nonnegative().default(0),
  maxLeaseTtl: z.number().int().nonnegative().default(0),
  forceNoCache: z.boolean().default(false),
  listingVisibility: z.enum(['', 'unauth', 'hidden']).default(''),
  auditNonHmacRequestKeys: stringList,
  auditNonHmacResponseKeys: stringList,
  passthroughRequestHeaders: stringList,
  allowedResponseHeaders: stringList,
});

/**
 * Table entity of a mount (partition = its table, row = escaped path), parsed with zod on load.
 * Rows written before secret mounts existed have no `table`, `options`, `tuning` or `state` column:
 * they are active auth mounts with defaults.
 */
export const mountEntitySchema = z.object({
  table: z.enum(['auth', 'secret']).default('auth'),
  path: z.string(),
  type: z.enum(['azure', 'token', 'kv']),
  accessor: z.string(),
  uuid: z.string(),
  description: z.string().default(''),
  local: z.boolean().default(false),
  sealWrap: z.boolean().default(false),
  externalEntropyAccess: z.boolean().default(false),
  options: jsonColumn(z.record(z.string(), z.string()).nullable(), { value: null }),
  tuning: jsonColumn(tuningSchema, { value: {} }),
  state: z.enum(['active', 'disabling']).default('active'),
  disablingSince: z.string().default(''),
  upgrading: z.boolean().default(false),
  upgradingSince: z.string().default(''),
  createdAt: z.string(),
});
