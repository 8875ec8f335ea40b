/**
 * Timer `rotation`, every minute (NCRONTAB `0 * * * * *`, UTC): for every azure mount, finishes or
 * undoes an interrupted rotation, swaps in a new root secret once AZAUTH_ROTATION_SWAP_DELAY has
 * passed, and starts the rotations `rotation_schedule` / `rotation_period` make due. Replaces Vault's
 * periodic function, WAL rollback and (Enterprise) rotation manager.
 *
 * Safe to run on several instances at once: each step is an ETag-conditional write and Graph work
 * happens under a per-mount lease (shared/rotation/engine.ts). Runs on demand through the host's
 * admin API: `POST /admin/functions/rotation` with the master key.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import type { TickResult } from '../shared/rotation/engine';
import { appServices } from '../shared/services';

/** Outcomes that change nothing: an idle minute is silent; only changes and failures are logged. */
const QUIET_ACTIONS: ReadonlySet<TickResult['action']> = new Set(['none', 'waiting', 'busy', 'backoff', 'idle']);

export async function rotationTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const results = await appServices().rotation.runTimer();
  for (const result of results) {
    if (QUIET_ACTIONS.has(result.action)) continue;
    const line = `rotation of mount ${JSON.stringify(result.mount)}: ${result.action}${result.error ? `: ${result.error}` : ''}`;
    if (result.action === 'failed') context.warn(line);
    else context.log(line);
  }
}

app.timer('rotation', {
  schedule: '0 * * * * *',
  runOnStartup: false,
  handler: rotationTimer,
});
