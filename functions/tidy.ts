/**
 * Timer `tidy`: every hour (NCRONTAB `0 0 * * * *`), deletes expired tokens in pages. Runs on one
 * instance at a time in Azure (timer listeners are singletons), but is also harmless when two runs
 * overlap (conditional deletes; see shared/tokens/tidy.ts). Locally: `POST /admin/functions/tidy`
 * with the master key runs it on demand.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { appServices } from '../shared/services';

export async function runTidy(timer: Timer, ctx: InvocationContext): Promise<void> {
  const report = await appServices().tokens.tidy({ budgetMs: 50_000 });
  // The function timeout is 60 s; a run that stops at its budget is finished by the next one.
  ctx.log(JSON.stringify({ type: 'azauth.tidy', past_due: timer.isPastDue, ...report }));
}

app.timer('tidy', {
  schedule: '0 0 * * * *',
  handler: runTidy,
});
