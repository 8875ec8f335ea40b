/**
 * Values read from storage once per process and then kept for good (the keyring's terms, the server
 * keys): they never change once written, so the cache needs no expiry.
 */
export class LoadOnceCache<K, V> {
  private readonly loaded = new Map<K, V>();
  private readonly loading = new Map<K, Promise<V>>();

  constructor(private readonly load: (key: K) => Promise<V>) {}

  /**
   * The loaded value, or the load every concurrent caller for `key` shares. A failed load is not
   * remembered: storage or configuration may be fixed by the next call.
   */
  get(key: K): Promise<V> {
    const cached = this.loaded.get(key);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(key).then(
        (value) => {
          this.loaded.set(key, value);
          this.loading.delete(key);
          return value;
        },
        (err: unknown) => {
          this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** The value if it has already been loaded or remembered, without I/O. */
  peek(key: K): V | undefined {
    return this.loaded.get(key);
  }

  /** Keeps a value this process wrote itself, so it is never read back. */
  remember(key: K, value: V): void {
    this.loaded.set(key, value);
  }
}
