/**
 * The version lifecycle rules of Vault's KV v2, as pure functions over numbers: which version a
 * write creates and which old ones it prunes, when a version is deleted, and whether a write's
 * check-and-set holds. Times are milliseconds since the epoch; durations are seconds.
 */

/** Versions kept when neither the key nor the mount says otherwise. */
export const DEFAULT_MAX_VERSIONS = 10;

/** Vault's mount value that disables `delete_version_after` for every key. */
export const DELETE_VERSION_AFTER_DISABLED = -1;

/** The larger of the key's and the mount's `max_versions`, or 10 when both are 0 (Vault's code, not its help text). */
export function effectiveMaxVersions(keyMax: number, mountMax: number): number {
  const larger = Math.max(keyMax, mountMax);
  return larger > 0 ? larger : DEFAULT_MAX_VERSIONS;
}

export interface VersionWindow {
  /** 0 before the first version. */
  readonly current: number;
  /** 0 until the first prune: Vault moves it only when the window is full. */
  readonly oldest: number;
}

export interface AddedVersion {
  readonly version: number;
  readonly oldest: number;
  /** Versions up to and including this one are pruned (metadata and data); 0 when none is. */
  readonly pruneThrough: number;
}

/** Adds `current + 1` and slides the window of kept versions, as Vault's `AddVersion`. */
export function addVersion(window: VersionWindow, maxVersions: number): AddedVersion {
  const version = window.current + 1;
  if (version - window.oldest >= maxVersions) {
    const pruneThrough = version - maxVersions;
    return { version, oldest: pruneThrough + 1, pruneThrough };
  }
  return { version, oldest: window.oldest, pruneThrough: 0 };
}

/** Whether `version` is one the key still keeps (reads of any other answer a bare 404). */
export function isKept(window: VersionWindow, version: number): boolean {
  return version >= 1 && version >= window.oldest && version <= window.current;
}

/**
 * The deletion time of a version created (or undeleted) at `fromMs`: plus the smaller non-zero of
 * the mount's and the key's `delete_version_after`; none when both are 0 or the mount disables it.
 */
export function deletionTime(fromMs: number, mountSeconds: number, keySeconds: number): number | undefined {
  if (mountSeconds < 0) return undefined;
  if (mountSeconds === 0 && keySeconds === 0) return undefined;
  let chosen = keySeconds;
  if ((mountSeconds !== 0 && mountSeconds < chosen) || chosen === 0) chosen = mountSeconds;
  return fromMs + chosen * 1000;
}

/** A version counts as deleted once its deletion time has passed; a future one is still readable. */
export function isDeletedAt(deletionMs: number | undefined, nowMs: number): boolean {
  return deletionMs !== undefined && !Number.isNaN(deletionMs) && deletionMs < nowMs;
}

export const CAS_MISMATCH = 'check-and-set parameter did not match the current version';
export const CAS_REQUIRED = 'check-and-set parameter required for this call';
export const CAS_UNPARSABLE = 'error parsing check-and-set parameter';

/**
 * Vault's check-and-set decision: with `cas`, it must equal the current version (0 = no version
 * yet; a negative one never matches, as Go's uint64 conversion makes it huge); without, the write
 * is refused when the mount or the key requires CAS. Undefined when the write may go ahead.
 */
export function casError(cas: number | undefined, current: number, mountRequires: boolean, keyRequires: boolean): string | undefined {
  if (cas !== undefined) return cas === current ? undefined : CAS_MISMATCH;
  return mountRequires || keyRequires ? CAS_REQUIRED : undefined;
}
