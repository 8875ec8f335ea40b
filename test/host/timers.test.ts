// Timer triggers on a real host: a failing timer keeps its schedule, and one timer never runs
// twice at once even when a run takes longer than its period.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHost, type SpawnedHost } from '../../dev/host/spawn';
import { BASE_ENV, fixtureState, HOST_APP, waitFor } from './helpers';

let host: SpawnedHost;

beforeAll(async () => {
  host = await spawnHost({
    appRoot: HOST_APP,
    env: { ...BASE_ENV, 'AzureWebJobs.boom.Disabled': 'false', 'AzureWebJobs.slowtick.Disabled': 'false' },
  });
});

afterAll(async () => {
  await host?.stop();
});

describe('timer triggers', () => {
  it('logs a failing run and still runs the next occurrence', async () => {
    await waitFor(
      () => ((host.logs().match(/Executed 'Functions\.boom' \(Failed/g)?.length ?? 0) >= 2 ? true : undefined),
      6000,
      'two failed boom runs',
    );
    expect(host.logs()).toContain('boom timer failed');
    const runs = (await fixtureState(host.url)).timerRuns.boom ?? [];
    expect(runs.length).toBeGreaterThanOrEqual(2);
    // every-second schedules are not monitored (more than one occurrence a minute)
    expect(runs[0]?.scheduleStatus).toBeNull();
    expect(runs[0]?.isPastDue).toBe(false);
  });

  it('never runs one timer twice at once, even when a run outlasts the period', async () => {
    const state = await waitFor(
      async () => {
        const s = await fixtureState(host.url);
        return (s.timerRuns.slowtick?.length ?? 0) >= 3 ? s : undefined;
      },
      8000,
      'three slowtick runs',
    );
    expect(state.maxActive.slowtick).toBe(1);
    const starts = state.timerRuns.slowtick!.map((r) => Date.parse(r.at));
    for (let i = 1; i < starts.length; i += 1) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(1250);
  });
});
