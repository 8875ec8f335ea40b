/**
 * A small time-bounded cache with single-flight loading: while a value is being fetched, every
 * other caller for the same key waits on that one fetch instead of starting its own. This is what
 * keeps a scale set of a thousand instances logging in at once to a handful of ARM reads (ARM
 * allows about 25 reads per second per principal).
 *
 * With `graceMs`, a value past its TTL is still answered for that long while one refresh runs in
 * the background, so a busy key never makes callers wait for its reload; a value older than
 * TTL + grace is never answered.
 *
 * Failures are not cached: the next caller after a failed fetch tries again (a failed background
 * refresh drops the entry, so the next caller sees the failure rather than an ever older value).
 *
 * A load hears of every caller that joins it while it runs (`SharedLoad.onJoin`): an ARM read
 * waiting between retries uses that to try again soon when logins are waiting (arm/retry.ts).
 */
export interface TtlCacheOptions<V> {
  /** How long a loaded value is served, in milliseconds. 0 disables caching (single-flight remains). */
  readonly ttlMs: number;
  /** How long past its TTL a value may still be answered while it is being refreshed. Default 0. */
  readonly graceMs?: number;
  /** Upper bound on entries; the oldest are dropped first. */
  readonly maxEntries: number;
  /** Injected for tests. */
  readonly now?: () => number;
  /** Which loaded values may be kept (default all); the others are only shared while in flight. */
  readonly keep?: (value: V) => boolean;
}

/** What a running load learns about the callers sharing it. */
export interface SharedLoad {
  /** `listener` runs each time another caller starts waiting on this load. */
  onJoin(listener: () => void): void;
}

interface InFlight<V> {
  readonly promise: Promise<V>;
  readonly listeners: (() => void)[];
}

interface Entry<V> {
  readonly value: V;
  readonly freshUntil: number;
  readonly staleUntil: number;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inFlight = new Map<string, InFlight<V>>();
  private readonly now: () => number;

  constructor(private readonly options: TtlCacheOptions<V>) {
    this.now = options.now ?? Date.now;
  }

  /** The cached value, or the result of `load` shared with every concurrent caller for `key`. */
  get(key: string, load: (shared: SharedLoad) => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      const now = this.now();
      if (now < entry.freshUntil) return Promise.resolve(entry.value);
      if (now < entry.staleUntil) {
        if (!this.inFlight.has(key)) this.load(key, load).catch(() => this.entries.delete(key));
        return Promise.resolve(entry.value);
      }
      this.entries.delete(key);
    }
    const running = this.inFlight.get(key);
    if (running === undefined) return this.load(key, load);
    for (const listener of running.listeners) listener();
    return running.promise;
  }

  /** Forgets one key (a value that must not be reused). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private load(key: string, load: (shared: SharedLoad) => Promise<V>): Promise<V> {
    const listeners: (() => void)[] = [];
    const shared: SharedLoad = { onJoin: (listener) => listeners.push(listener) };
    const started = (async () => {
      try {
        const value = await load(shared);
        if (this.options.ttlMs > 0 && (this.options.keep?.(value) ?? true)) this.store(key, value);
        return value;
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, { promise: started, listeners });
    return started;
  }

  private store(key: string, value: V): void {
    this.entries.delete(key);
    // Map keeps insertion order, so the first key is the oldest entry.
    while (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    const freshUntil = this.now() + this.options.ttlMs;
    this.entries.set(key, { value, freshUntil, staleUntil: freshUntil + (this.options.graceMs ?? 0) });
  }
}
