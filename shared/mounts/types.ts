/**
 * Auth mounts: where an auth method lives under `/v1/auth/<path>/`. Each `azure` mount has its own
 * config and roles, so one deployment serves many Entra tenants.
 */
import { z } from 'zod';

/** The types a mount can have: `azure` mounts are ours; `token` is the built-in token store. */
export type MountType = 'azure' | 'token';

export interface Mount {
  /** The path without slashes, e.g. `azure`. */
  readonly path: string;
  readonly type: MountType;
  /** Vault-style accessor, e.g. `auth_azure_1a2b3c4d`; stable for the mount's life. */
  readonly accessor: string;
  readonly uuid: string;
  readonly description: string;
  /** Accepted and echoed for Vault compatibility; there is no replication here. */
  readonly local: boolean;
  readonly sealWrap: boolean;
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

/** Table entity of a mount (partition `mounts`, row = escaped path). Parsed with zod on load. */
export const mountEntitySchema = z.object({
  path: z.string(),
  type: z.enum(['azure', 'token']),
  accessor: z.string(),
  uuid: z.string(),
  description: z.string().default(''),
  local: z.boolean().default(false),
  sealWrap: z.boolean().default(false),
  createdAt: z.string(),
});
