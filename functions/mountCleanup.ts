/**
 * Timer `mountCleanup`: every minute, finishes disables that were cut short (a crash or a storage
 * failure after `DELETE sys/auth/<path>` or `sys/mounts/<path>` marked the mount `disabling`). A
 * mount marked `disabling` already serves nothing; this deletes what it left behind and then its
 * entry, so the path can be enabled again. Idempotent, and harmless when two runs overlap. Locally:
 * `POST /admin/functions/mountCleanup` with the master key runs it on demand.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { finishInterruptedDisables } from '../shared/mounts/disable';
import { appServices } from '../shared/services';

export async function runMountCleanup(timer: Timer, ctx: InvocationContext): Promise<void> {
  const report = await finishInterruptedDisables(appServices().disable);
  if (report.finished.length > 0 || report.failed.length > 0) {
    ctx.log(JSON.stringify({ type: 'azauth.mount-cleanup', past_due: timer.isPastDue, ...report }));
  }
}

app.timer('mountCleanup', {
  schedule: '0 * * * * *',
  handler: runMountCleanup,
});
