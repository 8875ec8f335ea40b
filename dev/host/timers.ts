// Timer triggers, following the timer extension's TimerListener and ScheduleMonitor:
// - start-up: read the stored status; a missed occurrence gives exactly one immediate run with
//   isPastDue; otherwise runOnStartup gives one immediate run; then the regular schedule;
// - one run of a timer at a time (a lock per timer), the next occurrence computed from the run's
//   start after it finished, so an overlong run causes one immediate follow-up, not a backlog;
// - failures are logged and never stop the schedule.
import type { TimerFunction } from './catalog';
import type { HostLogger } from './logger';
import { describeError } from './logger';
import type { Schedule } from './ncrontab';
import { DEFAULT_DATE, DEFAULT_DATE_THRESHOLD, type ScheduleStatus, type StatusStore } from './timer-status';

/** System.Timers.Timer cannot wait longer; the listener re-arms for the remainder. */
const MAX_TIMER_INTERVAL_MS = 24 * 24 * 60 * 60 * 1000;

export type TimerReason = 'Timer' | 'IsPastDue' | 'RunOnStartup' | 'Manual';

export interface TimerRun {
  timer: TimerFunction;
  /** The JSON the host sends as the timer trigger's input (TimerInfo). */
  triggerJson: string;
  reason: TimerReason;
}

/**
 * Runs the function. Resolves once the invocation has an outcome (success, failure or
 * functionTimeout) with `finished`, which settles when the app's code has really returned; after
 * a timeout that can be much later. Never rejects.
 */
export type RunTimerFunction = (run: TimerRun) => Promise<{ finished: Promise<void> }>;

function timerInfoJson(status: ScheduleStatus | null, isPastDue: boolean): string {
  return JSON.stringify({
    Schedule: { AdjustForDST: true },
    ScheduleStatus: status
      ? { Last: status.last.toISOString(), Next: status.next.toISOString(), LastUpdated: status.lastUpdated.toISOString() }
      : null,
    IsPastDue: isPastDue,
  });
}

/** ScheduleMonitor.GetSafeStatusAsync: values below the threshold become "never". */
function safeStatus(status: ScheduleStatus | undefined): ScheduleStatus | undefined {
  if (!status) return undefined;
  const fix = (d: Date) => (d < DEFAULT_DATE_THRESHOLD ? new Date(DEFAULT_DATE) : d);
  return { last: fix(status.last), next: fix(status.next), lastUpdated: fix(status.lastUpdated) };
}

class Lock {
  #tail: Promise<void> = Promise.resolve();

  async run<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Resolves once everything queued so far has run. */
  idle(): Promise<void> {
    return this.run(async () => undefined);
  }
}

class TimerListener {
  readonly #timer: TimerFunction;
  readonly #schedule: Schedule;
  readonly #store: () => Promise<StatusStore>;
  readonly #run: RunTimerFunction;
  readonly #logger: HostLogger;
  readonly #lock = new Lock();
  readonly #timerName: string;
  #status: ScheduleStatus | undefined;
  #handle: NodeJS.Timeout | undefined;
  #remainingMs = 0;
  #startup: { isPastDue: boolean; originalSchedule?: Date } | undefined;
  #stopped = false;

  constructor(timer: TimerFunction, store: () => Promise<StatusStore>, run: RunTimerFunction, logger: HostLogger) {
    this.#timer = timer;
    this.#schedule = timer.schedule;
    this.#store = store;
    this.#run = run;
    this.#logger = logger;
    // What the host uses as the status key for script (non-.NET) functions.
    this.#timerName = `Host.Functions.${timer.name}`;
  }

  get name(): string {
    return this.#timer.name;
  }

  async start(): Promise<void> {
    const now = new Date();
    let isPastDue = false;
    if (this.#timer.useMonitor) {
      try {
        const store = await this.#store();
        this.#status = safeStatus(await store.get(this.#timerName));
        isPastDue = await this.#checkPastDue(store, now, this.#status);
      } catch (err) {
        this.#logger.warn(`Timer '${this.name}': schedule status unavailable, continuing without it: ${describeError(err)}`);
      }
    }
    this.#status ??= { last: new Date(DEFAULT_DATE), next: this.#schedule.next(now), lastUpdated: new Date(DEFAULT_DATE) };

    const upcoming: string[] = [];
    for (let at = now, i = 0; i < 5; i += 1) {
      at = this.#schedule.next(at);
      upcoming.push(at.toISOString());
    }
    this.#logger.info(`The next 5 occurrences of the '${this.name}' schedule (${this.#schedule.expression}) will be:\n${upcoming.join('\n')}`);

    if (isPastDue) {
      this.#startup = { isPastDue: true, originalSchedule: this.#status.next };
      this.#arm(1);
    } else if (this.#timer.runOnStartup) {
      this.#startup = { isPastDue: false };
      this.#arm(1);
    } else {
      this.#armFrom(new Date());
    }
  }

  /** ScheduleMonitor.CheckPastDueAsync (mutates `status` like the original). */
  async #checkPastDue(store: StatusStore, now: Date, status: ScheduleStatus | undefined): Promise<boolean> {
    let recordedNext: Date;
    if (!status) {
      const next = this.#schedule.next(now);
      await store.update(this.#timerName, { last: new Date(DEFAULT_DATE), next, lastUpdated: now });
      recordedNext = next;
    } else {
      let expected: Date;
      let lastUpdated: Date;
      if (status.last > DEFAULT_DATE_THRESHOLD) {
        expected = this.#schedule.next(status.last);
        lastUpdated = status.last;
      } else if (status.lastUpdated > DEFAULT_DATE_THRESHOLD) {
        expected = this.#schedule.next(status.lastUpdated);
        lastUpdated = status.lastUpdated;
      } else {
        expected = this.#schedule.next(now);
        lastUpdated = now;
      }
      // The schedule changed since the status was written: start over from now rather than
      // reporting a past-due run.
      if (status.next.getTime() !== expected.getTime()) {
        if (now > expected) {
          expected = this.#schedule.next(now);
          lastUpdated = now;
        }
        status.last = new Date(DEFAULT_DATE);
        status.next = expected;
        status.lastUpdated = lastUpdated;
        await store.update(this.#timerName, status);
      }
      recordedNext = status.next;
    }
    return now > recordedNext;
  }

  #arm(intervalMs: number): void {
    if (this.#stopped) return;
    let wait = Math.max(1, intervalMs);
    if (wait > MAX_TIMER_INTERVAL_MS) {
      this.#remainingMs = wait - MAX_TIMER_INTERVAL_MS;
      wait = MAX_TIMER_INTERVAL_MS;
    } else {
      this.#remainingMs = 0;
    }
    this.#handle = setTimeout(() => void this.#onTimer(), wait);
  }

  #armFrom(now: Date): void {
    const next = this.#status?.next ?? this.#schedule.next(now);
    this.#arm(next.getTime() - now.getTime());
  }

  async #onTimer(): Promise<void> {
    this.#handle = undefined;
    if (this.#remainingMs > 0) {
      this.#arm(this.#remainingMs);
      return;
    }
    try {
      const startup = this.#startup;
      this.#startup = undefined;
      if (startup?.isPastDue) {
        this.#logger.info(`Timer '${this.name}' is past due.`);
        await this.#invoke(new Date(), 'IsPastDue');
      } else if (startup) {
        await this.#invoke(new Date(), 'RunOnStartup');
      } else {
        await this.#invoke(new Date(), 'Timer');
      }
    } catch (err) {
      this.#logger.error(`Error occurred during scheduled invocation for '${this.name}': ${describeError(err)}`);
    } finally {
      this.#armFrom(new Date());
    }
  }

  async #invoke(invocationTime: Date, reason: Exclude<TimerReason, 'Manual'>): Promise<void> {
    await this.#lock.run(async () => {
      if (this.#stopped) return;
      const status = this.#status!;
      const { finished } = await this.#run({
        timer: this.#timer,
        triggerJson: timerInfoJson(this.#timer.useMonitor ? status : null, reason === 'IsPastDue'),
        reason,
      });
      // Hold the lock until the code has stopped, so runs never overlap.
      await finished;
      // A timer that fired slightly early must not compute the same Next twice.
      const adjusted = reason === 'Timer' && status.next > invocationTime ? status.next : invocationTime;
      this.#status = { last: adjusted, next: this.#schedule.next(adjusted), lastUpdated: adjusted };
      if (this.#timer.useMonitor) {
        try {
          await (await this.#store()).update(this.#timerName, this.#status);
        } catch (err) {
          this.#logger.warn(`Timer '${this.name}': could not store the schedule status: ${describeError(err)}`);
        }
      }
    });
  }

  /**
   * A run requested through the admin API. It waits for a scheduled run in progress (the local
   * host never runs one timer twice at once) and does not move the schedule, like Azure.
   */
  async runManually(): Promise<void> {
    let outcome!: () => void;
    const hasOutcome = new Promise<void>((resolve) => {
      outcome = resolve;
    });
    const locked = this.#lock.run(async () => {
      try {
        let status: ScheduleStatus | null = null;
        if (this.#timer.useMonitor) {
          try {
            status = safeStatus(await (await this.#store()).get(this.#timerName)) ?? null;
          } catch (err) {
            this.#logger.warn(`Timer '${this.name}': schedule status unavailable: ${describeError(err)}`);
          }
        }
        const { finished } = await this.#run({ timer: this.#timer, triggerJson: timerInfoJson(status, false), reason: 'Manual' });
        // The caller gets its answer when the run has an outcome; the lock waits for the code.
        outcome();
        await finished;
      } finally {
        outcome();
      }
    });
    await Promise.race([hasOutcome, locked]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#handle) clearTimeout(this.#handle);
    this.#handle = undefined;
    await this.#lock.idle();
  }
}

export class TimerScheduler {
  readonly #listeners = new Map<string, TimerListener>();
  readonly #logger: HostLogger;
  #started: Array<Promise<void>> = [];

  constructor(timers: readonly TimerFunction[], store: () => Promise<StatusStore>, run: RunTimerFunction, logger: HostLogger) {
    this.#logger = logger;
    for (const timer of timers) this.#listeners.set(timer.name.toLowerCase(), new TimerListener(timer, store, run, logger));
  }

  /** Starts every listener in the background so HTTP is served while status is being read. */
  start(): void {
    this.#started = [...this.#listeners.values()].map((listener) =>
      listener.start().catch((err: unknown) => {
        this.#logger.error(`Timer '${listener.name}' could not start: ${describeError(err)}`);
      }),
    );
  }

  /** Resolves when every listener has read its status and armed its first run. */
  async started(): Promise<void> {
    await Promise.all(this.#started);
  }

  async runManually(name: string): Promise<boolean> {
    const listener = this.#listeners.get(name.toLowerCase());
    if (!listener) return false;
    await listener.runManually();
    return true;
  }

  /** Stops scheduling and waits for runs in progress. */
  async stop(): Promise<void> {
    await Promise.all(this.#started);
    await Promise.all([...this.#listeners.values()].map((l) => l.stop()));
  }
}
