/**
 * Timer `mountCleanup`: every minute, finishes disables that were cut short (a crash or a storage
 * failure after `DELETE sys/auth/<path>` or `sys/mounts/<path>` marked the mount `disabling`), and KV
 * version 1 → 2 upgrades a tune started. A mount marked `disabling` already serves nothing; this
 * deletes what it left behind and then its entry, so the path can be enabled again. Idempotent, and harmless when two runs overlap. Locally:
 * `POST /admin/functions/mountCleanup` with the master key runs it on demand.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { finishInterruptedDisables } from '../shared/mounts/disable';
import { finishInterruptedUpgrades } from '../shared/mounts/secrets-engine';
import { appServices } from '../shared/services';

export async function runMountCleanup(timer: Timer, ctx: InvocationContext): Promise<void> {
  const services = appServices();
  const disables = await finishInterruptedDisables(services.disable);
  const upgrades = await finishInterruptedUpgrades(services.mounts, services.secrets, 30_000);
  if (disables.finished.length + disables.failed.length + upgrades.finished.length + upgrades.pending.length > 0) {
    ctx.log(JSON.stringify({ type: 'azauth.mount-cleanup', past_due: timer.isPastDue, disables, upgrades }));
  }
}

app.timer('mountCleanup', {
  schedule: '0 * * * * *',
  handler: runMountCleanup,
});
