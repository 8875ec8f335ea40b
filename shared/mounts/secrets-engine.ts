/**
 * What the mount table asks of the KV engine, with the sweeps run to completion: purging a disabled
 * mount, and moving a KV version 1 mount's data to version 2 after `options.version` was tuned to 2.
 *
 * The upgrade follows Vault: the tune marks the mount `upgrading` (and version 2) in one write, so
 * from that moment every request to it answers Vault's 400 "Upgrading from non-versioned to versioned
 * data…"; the keys are then moved (each one transaction), and the mark is cleared. A sweep cut short
 * by its time budget is finished by the `mountCleanup` timer.
 */
import type { KvEngine } from '../kv/store';
import { DISABLE_HANDOVER_MS } from './disable';
import type { MountStore } from './store';
import type { Mount } from './types';

export interface SecretsEngine {
  /** Deletes every secret of a mount (paged, resumable, idempotent). */
  purgeMount(mount: Mount): Promise<void>;
  /** Moves a mount marked `upgrading` to version 2; true when done and the mark is cleared. */
  continueUpgrade(mount: Mount, budgetMs: number): Promise<boolean>;
}

export function kvSecretsEngine(kv: KvEngine, mounts: MountStore, now: () => number = Date.now): SecretsEngine {
  return {
    async purgeMount(mount) {
      for (;;) if ((await kv.purgeMount(mount)).done) return;
    },
    async continueUpgrade(mount, budgetMs) {
      const deadline = now() + budgetMs;
      for (;;) {
        if ((await kv.upgradeToV2(mount)).done) break;
        if (now() >= deadline) return false;
      }
      // Cleared only on this enable of the mount (a disable and re-enable meanwhile is another mount).
      await mounts.update('secret', mount.path, (current) => (current.uuid === mount.uuid ? { ...current, upgrading: false, upgradingSince: '' } : current));
      return true;
    },
  };
}

/**
 * Finishes upgrades that were cut short (the `mountCleanup` timer). An upgrade belongs to the tune
 * request that began it for `DISABLE_HANDOVER_MS` (longer than a request may run), so the timer never
 * works beside it; one marked without a start time (written before the time was recorded) is taken.
 */
export async function finishInterruptedUpgrades(
  mounts: MountStore,
  engine: SecretsEngine,
  budgetMs: number,
  now: () => number = Date.now,
): Promise<{ finished: string[]; pending: string[] }> {
  const finished: string[] = [];
  const pending: string[] = [];
  for (const mount of await mounts.upgrading()) {
    const since = Date.parse(mount.upgradingSince);
    if (Number.isFinite(since) && now() - since < DISABLE_HANDOVER_MS) continue;
    if (await engine.continueUpgrade(mount, budgetMs)) finished.push(mount.path);
    else pending.push(mount.path);
  }
  return { finished, pending };
}
