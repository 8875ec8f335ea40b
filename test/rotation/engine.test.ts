// The rotation state machine against a real Azurite and the cloud emulator (both in process), with
// a controlled clock, and faults injected at every Graph call and every storage write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultError } from '../../shared/vault/errors';
import { LEASE_SECONDS, SWAP_DELAY_SECONDS, StepFaults, TestClock, newMount, startShared, writeConfig, type FaultMode, type Shared, type TestMount } from './support';

let shared: Shared;
beforeAll(async () => {
  shared = await startShared();
});
afterAll(async () => {
  await shared?.stop();
});

/** Exactly one password left, the config holds its secret, Entra accepts it, no rotation in progress. */
async function expectSettled(m: TestMount): Promise<void> {
  const passwords = shared.cloud.graph.passwords(m.app.id);
  expect(passwords).toHaveLength(1);
  const secret = await m.configSecret();
  expect(secret).toBe(passwords[0]?.secretText);
  expect(await m.secretWorks(secret)).toBe(true);
  expect((await m.state()).phase).toBe('idle');
}

async function rejection(promise: Promise<unknown>): Promise<VaultError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(VaultError);
    return err as VaultError;
  }
  throw new Error('expected a rejection');
}

describe('rotate-root and the swap', () => {
  it('adds a password, keeps the old secret until the swap delay has passed, then swaps and removes only the replaced password', async () => {
    const m = await newMount(shared);
    const original = m.app.password?.secretText ?? '';
    // Another password on the same application (another mount, a human): Vault would delete it.
    const bystander = shared.cloud.graph.addPassword(m.app.id, { displayName: 'someone else' });
    const engine = m.engine();

    const started = await engine.rotateRoot(m.mount);
    expect(started.warnings).toEqual([]);
    expect(started.swapAfter.getTime()).toBe(m.clock.ms + SWAP_DELAY_SECONDS * 1000);
    const passwords = shared.cloud.graph.passwords(m.app.id);
    expect(passwords).toHaveLength(3);
    const added = passwords.find((p) => p.displayName === `azauth-${started.rotationId}`);
    expect(added).toBeDefined();
    const state = await m.state();
    expect(state).toMatchObject({ phase: 'pending', newKeyId: added?.keyId, replacedKeyId: m.app.password?.keyId, leaseOwner: '' });
    // Sealed, never stored in the clear.
    expect(JSON.stringify(state)).not.toContain(added?.secretText ?? '?');
    expect(state.newSecretExpiresAt.slice(0, 10)).toBe(new Date(m.clock.ms + 4380 * 3600 * 1000).toISOString().slice(0, 10));
    expect(await m.configSecret()).toBe(original);

    // Before the delay: nothing happens.
    m.clock.advance(SWAP_DELAY_SECONDS - 1);
    expect(await engine.tick(m.mount)).toEqual({ mount: m.mount, action: 'waiting' });
    expect(await m.configSecret()).toBe(original);
    expect(await m.secretWorks(original)).toBe(true);

    m.clock.advance(2);
    expect(await engine.tick(m.mount)).toEqual({ mount: m.mount, action: 'swapped' });
    expect(await m.configSecret()).toBe(added?.secretText);
    expect(await m.secretWorks(original)).toBe(false);
    expect(await m.secretWorks(added?.secretText ?? '')).toBe(true);
    expect(shared.cloud.graph.passwords(m.app.id).map((p) => p.keyId).sort()).toEqual([added?.keyId, bystander.keyId].sort());
    const config = await m.configs.read(m.mount);
    expect(config).toMatchObject({ clientSecretKeyId: added?.keyId, lastRotation: m.clock.now().toISOString() });
    expect(config?.rootPasswordExpirationDate).toBe(added?.endDateTime);
    expect(await m.state()).toMatchObject({ phase: 'idle', lastOutcome: 'rotated', lastRotationId: started.rotationId, newSecretSealed: '' });

    // The next rotation knows the key id from the config and replaces exactly that password again.
    await engine.rotateRoot(m.mount);
    m.clock.advance(SWAP_DELAY_SECONDS);
    expect((await engine.tick(m.mount)).action).toBe('swapped');
    const after = shared.cloud.graph.passwords(m.app.id);
    expect(after.map((p) => p.keyId)).not.toContain(added?.keyId);
    expect(after.map((p) => p.keyId)).toContain(bystander.keyId);
    expect(after).toHaveLength(2);
  });

  it('uses root_password_ttl for the new password', async () => {
    const m = await newMount(shared, { root_password_ttl: 7200 });
    await m.engine().rotateRoot(m.mount);
    expect((await m.state()).newSecretExpiresAt).toBe(new Date(m.clock.ms + 7200 * 1000).toISOString());
  });

  it('answers 409 to a second rotate-root while one waits for its swap', async () => {
    const m = await newMount(shared);
    await m.engine().rotateRoot(m.mount);
    const err = await rejection(m.engine().rotateRoot(m.mount));
    expect(err.status).toBe(409);
    expect(err.message).toContain('already in progress');
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(2);
  });

  it('lets exactly one of two concurrent rotate-roots win', async () => {
    const m = await newMount(shared);
    const results = await Promise.allSettled([m.engine().rotateRoot(m.mount), m.engine().rotateRoot(m.mount)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed?.reason).toBeInstanceOf(VaultError);
    expect((failed?.reason as VaultError).status).toBe(409);
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(2);
    m.clock.advance(SWAP_DELAY_SECONDS);
    await m.engine().tick(m.mount);
    await expectSettled(m);
  });

  it('is harmless when two timers run the swap at once', async () => {
    const m = await newMount(shared);
    await m.engine().rotateRoot(m.mount);
    m.clock.advance(SWAP_DELAY_SECONDS);
    shared.cloud.resetCounts();
    const results = await Promise.all([m.engine().tick(m.mount), m.engine().tick(m.mount)]);
    expect(results.map((r) => r.action)).toContain('swapped');
    expect(results.filter((r) => r.action === 'swapped')).toHaveLength(1);
    expect(results.map((r) => r.action).every((a) => a === 'swapped' || a === 'busy' || a === 'idle')).toBe(true);
    expect(shared.cloud.count({ service: 'graph', pathIncludes: '/removePassword' })).toBe(1);
    await expectSettled(m);
  });

  it('keeps waiting while Entra refuses the new secret, and abandons it after the grace period', async () => {
    const m = await newMount(shared);
    const original = await m.configSecret();
    const started = await m.engine().rotateRoot(m.mount);
    // Entra never accepts the new password (here: it vanished, as if never replicated).
    const added = shared.cloud.graph.passwords(m.app.id).find((p) => p.displayName === `azauth-${started.rotationId}`);
    shared.cloud.graph.removePassword(m.app.id, added?.keyId ?? '');
    m.clock.advance(SWAP_DELAY_SECONDS);
    expect((await m.engine().tick(m.mount)).action).toBe('waiting');
    expect(await m.state()).toMatchObject({ phase: 'pending', leaseOwner: '', lastError: expect.stringContaining('not accepted') });
    expect(await m.configSecret()).toBe(original);
    m.clock.advance(3000);
    expect((await m.engine().tick(m.mount)).action).toBe('waiting');
    m.clock.advance(601);
    expect((await m.engine().tick(m.mount)).action).toBe('abandoned');
    expect(await m.state()).toMatchObject({ phase: 'idle', lastOutcome: 'abandoned', lastError: expect.stringContaining('did not accept') });
    await expectSettled(m);
    expect(await m.configSecret()).toBe(original);
  });

  it('abandons the rotation when the operator writes another client_secret before the swap', async () => {
    const m = await newMount(shared);
    await m.engine().rotateRoot(m.mount);
    const manual = shared.cloud.graph.addPassword(m.app.id, { displayName: 'operator' });
    await writeConfig(m.configs, m.mount, m.clock.now(), { client_secret: manual.secretText });
    m.clock.advance(SWAP_DELAY_SECONDS);
    expect((await m.engine().tick(m.mount)).action).toBe('abandoned');
    expect(await m.configSecret()).toBe(manual.secretText);
    // The rotation's new password is gone; the operator's and the original stay (theirs to manage).
    const names = shared.cloud.graph.passwords(m.app.id).map((p) => p.displayName);
    expect(names.sort()).toEqual(['initial', 'operator']);
  });

  it('warns and leaves the old password when it cannot tell which one the current secret is', async () => {
    const m = await newMount(shared);
    const secret = await m.configSecret();
    // A second password whose secret starts with the same three characters makes the hint ambiguous.
    shared.cloud.graph.addPassword(m.app.id, { displayName: 'lookalike' });
    const record = shared.cloud.graph.application(m.app.id);
    if (!record) throw new Error('application vanished');
    record.passwords = record.passwords.map((p) => (p.displayName === 'lookalike' ? { ...p, hint: secret.slice(0, 3) } : p));
    const started = await m.engine().rotateRoot(m.mount);
    expect(started.warnings[0]).toContain('could not tell which');
    m.clock.advance(SWAP_DELAY_SECONDS);
    expect((await m.engine().tick(m.mount)).action).toBe('swapped');
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(3);
    expect(await m.secretWorks(await m.configSecret())).toBe(true);
  });
});

describe('bad input', () => {
  it('refuses a mount without config', async () => {
    const m = await newMount(shared);
    await m.configs.delete(m.mount);
    const err = await rejection(m.engine().rotateRoot(m.mount));
    expect(err.status).toBe(400);
    expect(err.message).toContain('config is nil');
  });

  it('refuses a mount without client_secret (managed identity), saying rotation is for client secrets', async () => {
    const m = await newMount(shared);
    await writeConfig(m.configs, m.mount, m.clock.now(), { client_secret: '' });
    const err = await rejection(m.engine().rotateRoot(m.mount));
    expect(err.status).toBe(400);
    expect(err.message).toContain('rotation applies to client secrets only');
    expect(err.message).toContain('managed identity');
  });

  it('refuses a mount without client_id', async () => {
    const m = await newMount(shared);
    await writeConfig(m.configs, m.mount, m.clock.now(), { client_id: '' });
    const err = await rejection(m.engine().rotateRoot(m.mount));
    expect(err.status).toBe(400);
    expect(err.message).toContain('client_id is required');
  });

  it('says "no application found" when Graph lists none, and changes nothing', async () => {
    const m = await newMount(shared);
    const fault = shared.cloud.faults.add({ service: 'graph', method: 'GET', pathIncludes: m.app.appId, status: 200, body: { value: [] } });
    try {
      const err = await rejection(m.engine().rotateRoot(m.mount));
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/^no application found/);
    } finally {
      fault.remove();
    }
    await expectSettled(m);
  });

  it("answers Vault's message when two applications carry the client_id", async () => {
    const m = await newMount(shared);
    shared.cloud.graph.addApplication({ appId: m.app.appId, withPassword: false });
    const err = await rejection(m.engine().rotateRoot(m.mount));
    expect(err.status).toBe(400);
    expect(err.message).toBe('multiple applications found - double check your client_id');
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(1);
  });

  it('answers 400 when Entra refuses the configured secret', async () => {
    const m = await newMount(shared, { client_secret: 'not-the-secret' });
    const err = await rejection(m.engine().rotateRoot(m.mount));
    expect(err.status).toBe(400);
    expect(err.message).toContain('refused by Entra ID');
  });
});

describe('a fault at every step, then the next run', () => {
  // One clean rotation, to learn its steps (Graph calls and storage writes, in order).
  async function cleanSteps(): Promise<string[]> {
    const m = await newMount(shared);
    const faults = new StepFaults();
    await m.engine(faults).rotateRoot(m.mount);
    m.clock.advance(SWAP_DELAY_SECONDS);
    expect((await m.engine(faults).tick(m.mount)).action).toBe('swapped');
    return faults.steps;
  }

  let steps: string[] = [];
  beforeAll(async () => {
    steps = await cleanSteps();
  });

  it('knows every step of a rotation', () => {
    expect(steps).toEqual([
      'graph.list',
      'state.write(adding)',
      'graph.addPassword',
      'state.write(pending)',
      'state.write(pending)', // the timer's lease
      'entra.token',
      'config.update',
      'state.write(swapping)',
      'graph.list',
      'graph.removePassword',
      'state.write(idle)',
    ]);
  });

  const modes: FaultMode[] = ['error', 'crash', 'crash-after'];
  for (const mode of modes) {
    it(`recovers from a ${mode} at each step`, async () => {
      for (let failAt = 1; failAt <= steps.length; failAt++) {
        const m = await newMount(shared, {}, new TestClock(Date.now()));
        const original = await m.configSecret();
        const faults = new StepFaults(failAt, mode);
        const engine = m.engine(faults);
        const label = `${mode} at step ${failAt} (${steps[failAt - 1]})`;
        await engine.rotateRoot(m.mount).catch(() => undefined);
        m.clock.advance(SWAP_DELAY_SECONDS);
        await engine.tick(m.mount);

        // Right after the failure: the config's secret still works.
        expect(await m.secretWorks(await m.configSecret()), label).toBe(true);

        // The next runs (a new process, after any lease has expired) finish or undo it.
        const next = m.engine();
        for (let run = 0; run < 4 && (await m.state()).phase !== 'idle'; run++) {
          m.clock.advance(LEASE_SECONDS + SWAP_DELAY_SECONDS);
          await next.tick(m.mount);
        }
        const passwords = shared.cloud.graph.passwords(m.app.id);
        expect(passwords, label).toHaveLength(1);
        const secret = await m.configSecret();
        expect(secret, label).toBe(passwords[0]?.secretText);
        expect(await m.secretWorks(secret), label).toBe(true);
        expect((await m.state()).phase, label).toBe('idle');
        // Whether rotated or undone, it is one or the other, never a half state.
        const outcome = (await m.state()).lastOutcome;
        if (secret === original) expect(['undone', 'abandoned', ''], label).toContain(outcome);
        else expect(outcome, label).toBe('rotated');

        // And the mount can rotate again.
        await next.rotateRoot(m.mount);
        m.clock.advance(SWAP_DELAY_SECONDS);
        expect((await next.tick(m.mount)).action, label).toBe('swapped');
        expect(shared.cloud.graph.passwords(m.app.id), label).toHaveLength(1);
      }
    });
  }

  it('undoes at once (same request) when addPassword fails, leaving no trace', async () => {
    const m = await newMount(shared);
    const fault = shared.cloud.faults.add({ service: 'graph', method: 'POST', pathIncludes: '/addPassword', status: 500 });
    try {
      const err = await rejection(m.engine().rotateRoot(m.mount));
      expect(err.status).toBe(502);
      expect(err.message).toMatch(/^graph unavailable: failed to add new password: 500/);
    } finally {
      fault.remove();
    }
    expect(await m.state()).toMatchObject({ phase: 'idle', lastOutcome: 'undone' });
    await expectSettled(m);
  });

  it('removes a password added by a request whose answer was lost (found by its display name)', async () => {
    const m = await newMount(shared);
    const faults = new StepFaults(3, 'crash-after'); // graph.addPassword
    await m.engine(faults).rotateRoot(m.mount).catch(() => undefined);
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(2);
    const state = await m.state();
    expect(state.phase).toBe('adding');
    // Within the lease, the crashed runner still owns it: another run stays away.
    expect((await m.engine().tick(m.mount)).action).toBe('busy');
    const rotate = await rejection(m.engine().rotateRoot(m.mount));
    expect(rotate.status).toBe(409);
    // It names when the stopped run's lease ends, the first moment anything acts on the rotation.
    expect(rotate.message).toContain(`it is resumed after ${state.leaseUntil}`);
    m.clock.advance(LEASE_SECONDS + 1);
    expect((await m.engine().tick(m.mount)).action).toBe('undone');
    expect(shared.cloud.graph.passwords(m.app.id).map((p) => p.displayName)).toEqual(['initial']);
    await expectSettled(m);
  });
});

describe('discard (the mount is being disabled)', () => {
  const stateGone = async (m: TestMount): Promise<boolean> => (await m.states.read(m.mount)).etag === undefined;

  it('removes a pending rotation: its new password and its state; the config keeps its working secret', async () => {
    const m = await newMount(shared);
    const original = await m.configSecret();
    const started = await m.engine().rotateRoot(m.mount);
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(2);
    expect(await m.engine().discard(m.mount)).toEqual({ warnings: [] });
    expect(shared.cloud.graph.passwords(m.app.id).map((p) => p.displayName)).toEqual(['initial']);
    expect(shared.cloud.graph.passwords(m.app.id).map((p) => p.displayName)).not.toContain(`azauth-${started.rotationId}`);
    expect(await stateGone(m)).toBe(true);
    expect(await m.states.listInProgress()).not.toContain(m.mount);
    expect(await m.configSecret()).toBe(original);
    expect(await m.secretWorks(original)).toBe(true);
  });

  it('removes a password added but never recorded (adding), even while the crashed runner holds the lease', async () => {
    const m = await newMount(shared);
    await m.engine(new StepFaults(3, 'crash-after')).rotateRoot(m.mount).catch(() => undefined); // graph.addPassword
    expect((await m.state()).phase).toBe('adding');
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(2);
    expect(await m.engine().discard(m.mount)).toEqual({ warnings: [] });
    expect(shared.cloud.graph.passwords(m.app.id).map((p) => p.displayName)).toEqual(['initial']);
    expect(await stateGone(m)).toBe(true);
  });

  it('finishes a swap in progress: the replaced password goes, the new secret stays in the config', async () => {
    const m = await newMount(shared);
    const faults = new StepFaults(9, 'crash'); // the graph.list before graph.removePassword
    await m.engine(faults).rotateRoot(m.mount);
    m.clock.advance(SWAP_DELAY_SECONDS);
    await m.engine(faults).tick(m.mount);
    expect((await m.state()).phase).toBe('swapping');
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(2);
    expect(await m.engine().discard(m.mount)).toEqual({ warnings: [] });
    const passwords = shared.cloud.graph.passwords(m.app.id);
    expect(passwords).toHaveLength(1);
    expect(await m.configSecret()).toBe(passwords[0]?.secretText);
    expect(passwords[0]?.displayName).not.toBe('initial');
    expect(await stateGone(m)).toBe(true);
  });

  it('removes an idle state and touches nothing in Entra; no state at all is a no-op', async () => {
    const m = await newMount(shared);
    expect(await m.engine().discard(m.mount)).toEqual({ warnings: [] });
    await m.engine().rotateRoot(m.mount);
    m.clock.advance(SWAP_DELAY_SECONDS);
    expect((await m.engine().tick(m.mount)).action).toBe('swapped');
    expect(await stateGone(m)).toBe(false);
    const before = shared.cloud.graph.passwords(m.app.id).map((p) => p.keyId);
    expect(await m.engine().discard(m.mount)).toEqual({ warnings: [] });
    expect(await stateGone(m)).toBe(true);
    expect(shared.cloud.graph.passwords(m.app.id).map((p) => p.keyId)).toEqual(before);
  });

  it('is best effort: when Graph fails, the state still goes and the warning names the password left behind', async () => {
    const m = await newMount(shared);
    await m.engine().rotateRoot(m.mount);
    const { newKeyId } = await m.state();
    const fault = shared.cloud.faults.add({ service: 'graph', pathIncludes: '/removePassword', status: 500 });
    let warnings: string[] = [];
    try {
      ({ warnings } = await m.engine().discard(m.mount));
    } finally {
      fault.remove();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`its new password (key id ${newKeyId}) may remain on the application`);
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(2);
    expect(await stateGone(m)).toBe(true);
  });
});

describe('scheduled rotation on a controlled clock', () => {
  const HOUR = 3600_000;
  /** The next full hour after now: occurrences of "0 * * * *" relative to real time keep Entra's validity checks meaningful. */
  const nextHour = (): number => Math.ceil((Date.now() + 1) / HOUR) * HOUR;

  it('rotates at the scheduled time, once, and again at the next occurrence', async () => {
    const hour = nextHour();
    const clock = new TestClock(hour - 30 * 60_000);
    const m = await newMount(shared, { rotation_schedule: '0 * * * *' }, clock);
    const engine = m.engine();
    clock.set(new Date(hour - 60_000));
    expect((await engine.tick(m.mount)).action).toBe('none');
    clock.set(new Date(hour + 30_000));
    expect((await engine.tick(m.mount)).action).toBe('started');
    expect((await m.state()).trigger).toBe('scheduled');
    clock.advance(SWAP_DELAY_SECONDS);
    expect((await engine.tick(m.mount)).action).toBe('swapped');
    await expectSettled(m);
    clock.advance(5 * 60);
    expect((await engine.tick(m.mount)).action).toBe('none');
    clock.set(new Date(hour + HOUR + 1_000));
    expect((await engine.tick(m.mount)).action).toBe('started');
  });

  it('does not make up an occurrence from before the schedule was configured', async () => {
    const hour = nextHour();
    const clock = new TestClock(hour + 10 * 60_000);
    const m = await newMount(shared, { rotation_schedule: '0 * * * *' }, clock);
    clock.advance(60);
    expect((await m.engine().tick(m.mount)).action).toBe('none');
  });

  it('runs a missed occurrence only inside rotation_window', async () => {
    const hour = nextHour();
    const inside = new TestClock(hour - 60_000);
    const a = await newMount(shared, { rotation_schedule: '0 * * * *', rotation_window: 3600 }, inside);
    inside.set(new Date(hour + 59 * 60_000));
    expect((await a.engine().tick(a.mount)).action).toBe('started');

    const outside = new TestClock(hour - 60_000);
    const b = await newMount(shared, { rotation_schedule: '0 2 * * *', rotation_window: 3600 }, outside);
    // A daily 02:00 schedule: configured before 02:00 today, the timer comes back at 03:30.
    const today2 = new Date(hour);
    today2.setUTCHours(2, 0, 0, 0);
    const configuredAt = new Date(today2.getTime() - 60_000);
    await writeConfig(b.configs, b.mount, configuredAt, { rotation_schedule: '' });
    await writeConfig(b.configs, b.mount, configuredAt, { rotation_schedule: '0 2 * * *', rotation_window: 3600 });
    outside.set(new Date(today2.getTime() + 90 * 60_000));
    expect((await b.engine().tick(b.mount)).action).toBe('none');
    outside.set(new Date(today2.getTime() + 59 * 60_000));
    expect((await b.engine().tick(b.mount)).action).toBe('started');
  });

  it('rotates every rotation_period, counted from the last rotation', async () => {
    const clock = new TestClock(Date.now());
    const m = await newMount(shared, { rotation_period: 7200 }, clock);
    const engine = m.engine();
    clock.advance(7199);
    expect((await engine.tick(m.mount)).action).toBe('none');
    clock.advance(1);
    expect((await engine.tick(m.mount)).action).toBe('started');
    clock.advance(SWAP_DELAY_SECONDS);
    expect((await engine.tick(m.mount)).action).toBe('swapped');
    clock.advance(7199);
    expect((await engine.tick(m.mount)).action).toBe('none');
    clock.advance(1);
    expect((await engine.tick(m.mount)).action).toBe('started');
  });

  it('does nothing when disable_automated_rotation is set', async () => {
    const clock = new TestClock(Date.now());
    const m = await newMount(shared, { rotation_period: 3600, disable_automated_rotation: true }, clock);
    clock.advance(10 * 3600);
    expect((await m.engine().tick(m.mount)).action).toBe('none');
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(1);
    // rotate-root by hand still works.
    await m.engine().rotateRoot(m.mount);
    expect((await m.state()).phase).toBe('pending');
  });

  it('backs off after a failed scheduled attempt, then tries again', async () => {
    const clock = new TestClock(Date.now());
    const m = await newMount(shared, { rotation_period: 3600 }, clock);
    clock.advance(3600);
    const fault = shared.cloud.faults.add({ service: 'graph', method: 'GET', pathIncludes: m.app.appId, status: 503 });
    try {
      const failed = await m.engine().tick(m.mount);
      expect(failed.action).toBe('failed');
      expect(failed.error).toMatch(/^graph unavailable/);
    } finally {
      fault.remove();
    }
    clock.advance(60);
    expect((await m.engine().tick(m.mount)).action).toBe('backoff');
    clock.advance(300);
    expect((await m.engine().tick(m.mount)).action).toBe('started');
  });

  it('lets only one of two concurrent timers start a due rotation', async () => {
    const clock = new TestClock(Date.now());
    const m = await newMount(shared, { rotation_period: 3600 }, clock);
    clock.advance(3600);
    const results = await Promise.all([m.engine().tick(m.mount), m.engine().tick(m.mount)]);
    expect(results.filter((r) => r.action === 'started')).toHaveLength(1);
    expect(shared.cloud.graph.passwords(m.app.id)).toHaveLength(2);
  });

  it('tickAll covers every mount, and rotations whose mount has no config any more', async () => {
    const clock = new TestClock(Date.now());
    const m = await newMount(shared, {}, clock);
    await m.engine().rotateRoot(m.mount);
    await m.configs.delete(m.mount);
    clock.advance(SWAP_DELAY_SECONDS);
    const results = await m.engine().tickAll([]);
    expect(results).toEqual([{ mount: m.mount, action: 'abandoned' }]);
    // The new password went (removed with its own secret); the original is the operator's business.
    expect(shared.cloud.graph.passwords(m.app.id).map((p) => p.displayName)).toEqual(['initial']);
  });
});
