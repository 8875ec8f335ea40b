/**
 * A small time-bounded cache with single-flight loading: while a value is being fetched, every
 * other caller for the same key waits on that one fetch instead of starting its own. This is what
 * keeps a scale set of a thousand instances logging in at once to a handful of ARM reads (ARM
 * allows about 25 reads per second per principal).
 *
 * Failures are not cached: the next caller after a failed fetch tries again.
 */
export interface TtlCacheOptions {
  /** How long a loaded value is served, in milliseconds. 0 disables caching (single-flight remains). */
  readonly ttlMs: number;
  /** Upper bound on entries; the oldest are dropped first. */
  readonly maxEntries: number;
  /** Injected for tests. */
  readonly now?: () => number;
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inFlight = new Map<string, Promise<V>>();
  private readonly now: () => number;

  constructor(private readonly options: TtlCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The cached value, or the result of `load` shared with every concurrent caller for `key`. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      if (entry.expiresAt > this.now()) return Promise.resolve(entry.value);
      this.entries.delete(key);
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const started = (async () => {
      try {
        const value = await load();
        if (this.options.ttlMs > 0) this.store(key, value);
        return value;
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, started);
    return started;
  }

  /** Forgets one key (a value that must not be reused). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry (e.g. after a configuration change). */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private store(key: string, value: V): void {
    // Map keeps insertion order, so the first key is the oldest entry.
    while (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.now() + this.options.ttlMs });
  }
}
