// Console logging with host.json `logging.logLevel` category filters (ASP.NET-style: the longest
// configured category prefix wins, then "default"). Categories follow the Functions host:
// `Function.<name>` for execution, `Function.<name>.User` for the app's own context.log calls.
import type { RpcLogLevel } from './core-types';

const ORDER: Record<RpcLogLevel, number> = {
  trace: 0,
  debug: 1,
  information: 2,
  warning: 3,
  error: 4,
  critical: 5,
  none: 6,
};

function parseLevel(text: string): RpcLogLevel | undefined {
  const lower = text.toLowerCase();
  return lower in ORDER ? (lower as RpcLogLevel) : undefined;
}

export interface Writable {
  write(chunk: string): unknown;
}

/**
 * Collects stdout lines written in one turn of the event loop and writes them at once: a line per
 * request would otherwise cost a write system call per request under load.
 */
class BatchedWriter {
  #chunks: string[] = [];
  #scheduled = false;

  constructor(private readonly target: Writable) {}

  write(text: string): void {
    this.#chunks.push(text);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#chunks.length === 0) return;
    const text = this.#chunks.join('');
    this.#chunks = [];
    this.target.write(text);
  }
}

export class HostLogger {
  readonly #rules: Array<{ prefix: string; level: RpcLogLevel }>;
  readonly #defaultLevel: RpcLogLevel;
  readonly #cache = new Map<string, number>();
  readonly #out: BatchedWriter;
  readonly #err: Writable;

  constructor(logLevels: Record<string, string> = {}, out: Writable = process.stdout, err: Writable = process.stderr) {
    this.#out = new BatchedWriter(out);
    this.#err = err;
    let defaultLevel: RpcLogLevel = 'information';
    const rules: Array<{ prefix: string; level: RpcLogLevel }> = [];
    for (const [category, text] of Object.entries(logLevels)) {
      const level = parseLevel(text);
      if (!level) continue;
      if (category.toLowerCase() === 'default') defaultLevel = level;
      else rules.push({ prefix: category.toLowerCase(), level });
    }
    rules.sort((a, b) => b.prefix.length - a.prefix.length);
    this.#rules = rules;
    this.#defaultLevel = defaultLevel;
  }

  /** Writes buffered stdout lines now (before printing directly, and before exiting). */
  flush(): void {
    this.#out.flush();
  }

  #threshold(category: string): number {
    let threshold = this.#cache.get(category);
    if (threshold === undefined) {
      const lower = category.toLowerCase();
      const rule = this.#rules.find((r) => lower === r.prefix || lower.startsWith(`${r.prefix}.`));
      threshold = ORDER[rule ? rule.level : this.#defaultLevel];
      this.#cache.set(category, threshold);
    }
    return threshold;
  }

  enabled(category: string, level: RpcLogLevel): boolean {
    return level !== 'none' && ORDER[level] >= this.#threshold(category);
  }

  log(category: string, level: RpcLogLevel, message: string): void {
    if (!this.enabled(category, level)) return;
    this.write(level, message);
  }

  /** Writes without category filtering (start-up banner, request lines, fatal errors). */
  write(level: RpcLogLevel, message: string): void {
    const line = `[${new Date().toISOString()}] ${message}\n`;
    if (ORDER[level] >= ORDER.error) {
      this.#out.flush(); // keep errors in order with what was logged before them
      this.#err.write(line);
    } else {
      this.#out.write(line);
    }
  }

  info(message: string): void {
    this.log('Host', 'information', message);
  }

  warn(message: string): void {
    this.log('Host', 'warning', message);
  }

  error(message: string): void {
    this.log('Host', 'error', message);
  }
}

/** Message and stack of an unknown thrown value, for logs only (never for HTTP responses). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
