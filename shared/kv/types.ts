/**
 * What the KV engine gives back: each shape is exactly the `data` of Vault's response for the path
 * that calls it (keys in Go's sorted map order), so a handler wraps it in the envelope and nothing
 * else. Reads that Vault answers with a 404 say which 404: `absent` is the bare `{"errors":[]}`,
 * `gone` (a deleted or destroyed version) carries the body Vault sends with its 404.
 */
import type { JsonObject } from '../vault/json';

/** The mount a call acts on: the lead's SecretMountRef satisfies it. */
export interface KvMount {
  readonly uuid: string;
}

/** Who makes a change, from the request (Vault's `getAttribution`); the engine adds `operation`. */
export interface Actor {
  /** The token's display name, e.g. "token", "root", "azure-vm1". */
  readonly actor?: string;
  readonly entityId?: string;
  readonly clientId?: string;
}

/** Vault's Attribution as JSON: empty fields are left out. */
export interface Attribution {
  readonly actor?: string;
  readonly client_id?: string;
  readonly entity_id?: string;
  readonly operation?: string;
}

export type Lookup<T> = { readonly kind: 'found'; readonly data: T } | { readonly kind: 'gone'; readonly data: T } | { readonly kind: 'absent' };

/** One version's metadata as data reads, writes and subkeys report it. */
export interface VersionMetadata {
  readonly created_time: string;
  readonly custom_metadata: Record<string, string> | null;
  /** "" when none. */
  readonly deletion_time: string;
  readonly destroyed: boolean;
  readonly version: number;
}

/** `GET data/<key>`: `data` is null for a deleted or destroyed version. */
export interface DataRead {
  readonly data: JsonObject | null;
  readonly metadata: VersionMetadata;
}

/** `POST/PUT data/<key>`, and `PATCH data/<key>` once written. */
export interface WriteResult {
  readonly data: VersionMetadata;
  readonly warnings: readonly string[];
}

/** `PATCH data/<key>`: `absent` is a bare 404, `gone` a 404 whose body's `data` is the flat version metadata. */
export type PatchResult =
  | { readonly kind: 'absent' }
  | { readonly kind: 'gone'; readonly data: VersionMetadata }
  | { readonly kind: 'written'; readonly data: VersionMetadata; readonly warnings: readonly string[] };

/** `GET subkeys/<key>`. */
export interface SubkeysRead {
  readonly metadata: VersionMetadata;
  readonly subkeys: JsonObject | null;
}

/** `GET config`. */
export interface KvConfigData {
  readonly cas_required: boolean;
  /** Go duration: "0s" unset, "-1s" disabled. */
  readonly delete_version_after: string;
  readonly max_versions: number;
}

export interface VersionInfo {
  readonly created_by: Attribution | null;
  readonly created_time: string;
  readonly deleted_by: Attribution | null;
  readonly deletion_time: string;
  readonly destroyed: boolean;
}

/** `GET metadata/<key>`. */
export interface MetadataRead {
  readonly cas_required: boolean;
  readonly created_time: string;
  readonly current_version: number;
  readonly custom_metadata: Record<string, string> | null;
  readonly delete_version_after: string;
  readonly last_updated_by: Attribution | null;
  readonly max_versions: number;
  readonly oldest_version: number;
  readonly updated_time: string;
  /** Keyed by the version number in decimal. */
  readonly versions: Record<string, VersionInfo>;
}

/** `POST config`: only the fields given change. */
export interface KvConfigInput {
  readonly maxVersions?: number;
  readonly casRequired?: boolean;
  /** Signed seconds: negative disables deletion for every key, 0 clears. */
  readonly deleteVersionAfter?: number;
}

/** `POST/PUT/PATCH metadata/<key>`: only the fields given change. */
export interface MetadataInput {
  readonly maxVersions?: number;
  readonly casRequired?: boolean;
  /** Seconds, 0 clears. */
  readonly deleteVersionAfter?: number;
  /** Replaces the whole map on POST/PUT; merged on PATCH, where a null value removes the entry. */
  readonly customMetadata?: Readonly<Record<string, unknown>>;
}

/** A v1 read: the stored object and the lease duration Vault reports with it. */
export interface V1Read {
  readonly data: JsonObject;
  readonly lease_duration: number;
}

/** Progress of a paged, resumable operation over a whole mount. */
export interface MountSweep {
  /** Rows (purge) or keys (upgrade) handled by this call. */
  readonly count: number;
  /** True once nothing is left: call again until it is. */
  readonly done: boolean;
}
