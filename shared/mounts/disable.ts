/**
 * Disabling a mount (`DELETE sys/auth/<path>`, `DELETE sys/mounts/<path>`), in Vault's order:
 *
 * 1. Mark the entry `disabling`. From this moment the instance that handled the request serves
 *    nothing of the mount (its mount snapshot is refreshed by the write): no login, no use of the
 *    mount's tokens (service or batch: each use checks its mount), no secret read or write.
 * 2. Wait until every other instance's snapshot has expired (`MOUNT_CACHE_MS` after the mark), so
 *    that when the caller gets its answer no instance anywhere still serves the mount.
 * 3. Delete what the mount owns: for an auth mount its tokens, roles, rotation state (with the
 *    password an unfinished rotation added) and config; for a secrets engine its secrets.
 * 4. Remove the entry, last: a disable cut short (a crash, a storage failure) leaves a `disabling`
 *    entry that a repeated DELETE or the `mounts` cleanup timer finishes, and the path cannot be
 *    enabled again (with leftovers to inherit) until it is done.
 *
 * A token a login issued while the disable ran (it read the mount just before the mark) can still be
 * inserted after step 3: it is dead at its first use (its mount is gone, or is a new enable with
 * another accessor), and tidy deletes it when it expires.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfigStore } from '../config/store';
import type { RoleStore } from '../roles/store';
import type { RotationService } from '../rotation/service';
import { badRequest } from '../vault/errors';
import { MOUNT_CACHE_MS, type MountStore } from './store';
import { TOKEN_MOUNT, type Mount, type MountTable } from './types';

/** Revokes every token issued through an auth mount; provided by the token store. */
export type RevokeMountTokens = (mount: Mount) => Promise<void>;
/** Deletes every secret of a secrets-engine mount (paged, resumable, idempotent). */
export type PurgeSecretMount = (mount: Mount) => Promise<void>;

export interface DisableMountDeps {
  readonly mounts: MountStore;
  readonly configs: Pick<ConfigStore, 'delete'>;
  readonly roles: Pick<RoleStore, 'deleteAll'>;
  readonly revokeMountTokens: RevokeMountTokens;
  readonly purgeSecretMount: PurgeSecretMount;
  readonly rotation: Pick<RotationService, 'discardMount'>;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface DisableOutcome {
  /** False when there was no mount at the path: disabling it is a no-op, as in Vault. */
  readonly removed: boolean;
  /** What could not be cleaned up (a password left on the mount's application). */
  readonly warnings: string[];
}

/** Margin over the snapshot bound, for clock granularity and a read already in flight at the mark. */
const CACHE_MARGIN_MS = 250;

export async function disableMount(table: MountTable, path: string, deps: DisableMountDeps): Promise<DisableOutcome> {
  if (table === 'auth' && path === TOKEN_MOUNT) throw badRequest('token credential backend cannot be disabled');
  const marked = await deps.mounts.beginDisable(table, path);
  if (!marked) return { removed: false, warnings: [] };
  return finishDisable(marked, deps);
}

/** Steps 2–4 for a mount already marked `disabling` (also the cleanup timer's entry point). */
export async function finishDisable(mount: Mount, deps: DisableMountDeps): Promise<DisableOutcome> {
  const now = deps.now ?? Date.now;
  const wait = Date.parse(mount.disablingSince) + MOUNT_CACHE_MS + CACHE_MARGIN_MS - now();
  if (wait > 0) await (deps.sleep ?? sleep)(wait);
  let warnings: string[] = [];
  if (mount.table === 'auth') {
    await deps.revokeMountTokens(mount);
    await deps.roles.deleteAll(mount.path);
    // Rotation goes before the config, whose credentials remove the password it added.
    warnings = (await deps.rotation.discardMount(mount.path)).warnings;
    await deps.configs.delete(mount.path);
  } else {
    await deps.purgeSecretMount(mount);
  }
  return { removed: await deps.mounts.remove(mount.table, mount.path, mount.uuid), warnings };
}

/**
 * How long a disable belongs to the request that began it before the timer takes it over: longer
 * than a request may run (AZAUTH_REQUEST_TIMEOUT, 45 s by default), so the timer never works beside a
 * disable that is still being answered.
 */
export const DISABLE_HANDOVER_MS = 60_000;

/** Finishes every disable that was cut short (the `mountCleanup` timer). */
export async function finishInterruptedDisables(deps: DisableMountDeps): Promise<{ finished: string[]; failed: string[] }> {
  const now = deps.now ?? Date.now;
  const finished: string[] = [];
  const failed: string[] = [];
  for (const mount of await deps.mounts.disabling()) {
    if (now() - Date.parse(mount.disablingSince) < DISABLE_HANDOVER_MS) continue;
    const name = `${mount.table === 'auth' ? 'auth/' : ''}${mount.path}`;
    try {
      await finishDisable(mount, deps);
      finished.push(name);
    } catch {
      // Left for the next run; the others still get their turn.
      failed.push(name);
    }
  }
  return { finished, failed };
}
