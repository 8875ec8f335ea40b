// Fault injection and request accounting, shared by every emulated service.
//
// Tests use these to prove retry, caching and economy claims ("one JWKS fetch", "at most two ARM
// reads per TTL", "a failed addPassword is cleaned up next run") without timing anything.

export type ServiceName = 'entra' | 'imds' | 'arm' | 'graph' | 'identity';

export interface FaultSpec {
  service: ServiceName;
  /** HTTP method, case-insensitive. Any when omitted. */
  method?: string;
  /** Substring of the path and query (case-insensitive; matched raw and percent-decoded). */
  pathIncludes?: string;
  /**
   * Fail the Nth matching call (1-based), counted from when the fault was added. With `times`, fail
   * calls N … N+times-1. Without `nth`, the next `times` matching calls fail (every one, if `times`
   * is omitted too, until removed or cleared).
   */
  nth?: number;
  times?: number;
  /** Status to answer. Omit to make a pure delay fault (the call proceeds normally after delayMs). */
  status?: number;
  /** Response body; defaults to the service's own error shape. */
  body?: unknown;
  /** Adds a Retry-After header (seconds), as throttled Azure services do. */
  retryAfterSeconds?: number;
  /** Wait this long before answering (or before passing the call through when status is omitted). */
  delayMs?: number;
}

export interface FaultHandle {
  /** Matching calls seen since the fault was added. */
  readonly matched: number;
  /** Calls this fault actually failed or delayed. */
  readonly fired: number;
  remove(): void;
}

export interface FiredFault {
  readonly status: number | undefined;
  readonly body: unknown;
  readonly retryAfterSeconds: number | undefined;
  readonly delayMs: number;
}

export interface RequestRecord {
  readonly service: ServiceName;
  readonly method: string;
  /** Path without the query string, as received (not decoded). */
  readonly path: string;
  /** Query string without the leading '?', '' when none. */
  readonly query: string;
  /** 0 until the response has been written. */
  status: number;
  /** Arrival time, epoch milliseconds. */
  readonly at: number;
}

export interface RequestFilter {
  service?: ServiceName;
  method?: string;
  /** Substring of path + query, case-insensitive (raw or percent-decoded). */
  pathIncludes?: string;
  status?: number;
}

class Fault implements FaultHandle {
  matched = 0;
  fired = 0;
  constructor(
    private readonly spec: FaultSpec,
    private readonly owner: Faults,
  ) {}

  matches(service: ServiceName, method: string, pathAndQuery: string): boolean {
    if (this.spec.service !== service) return false;
    if (this.spec.method !== undefined && this.spec.method.toUpperCase() !== method.toUpperCase()) return false;
    if (this.spec.pathIncludes !== undefined && !includesLoosely(pathAndQuery, this.spec.pathIncludes)) return false;
    return true;
  }

  /** Counts a matching call and says whether this call is one the fault should hit. */
  consider(): boolean {
    this.matched += 1;
    const { nth, times } = this.spec;
    let hit: boolean;
    if (nth !== undefined) {
      const span = times ?? 1;
      hit = this.matched >= nth && this.matched < nth + span;
    } else {
      hit = times === undefined || this.fired < times;
    }
    if (hit) this.fired += 1;
    return hit;
  }

  toFired(): FiredFault {
    return {
      status: this.spec.status,
      body: this.spec.body,
      retryAfterSeconds: this.spec.retryAfterSeconds,
      delayMs: this.spec.delayMs ?? 0,
    };
  }

  remove(): void {
    this.owner.removeFault(this);
  }
}

export class Faults {
  private faults: Fault[] = [];

  add(spec: FaultSpec): FaultHandle {
    if (spec.nth !== undefined && (!Number.isInteger(spec.nth) || spec.nth < 1)) {
      throw new Error('fault nth must be an integer >= 1');
    }
    if (spec.times !== undefined && (!Number.isInteger(spec.times) || spec.times < 1)) {
      throw new Error('fault times must be an integer >= 1');
    }
    if (spec.status === undefined && spec.delayMs === undefined) {
      throw new Error('a fault needs a status, a delayMs, or both');
    }
    const fault = new Fault({ ...spec }, this);
    this.faults.push(fault);
    return fault;
  }

  clear(): void {
    this.faults = [];
  }

  /** @internal */
  removeFault(fault: Fault): void {
    this.faults = this.faults.filter((f) => f !== fault);
  }

  /**
   * Every matching fault counts the call (so each one's "Nth call" is independent of the others);
   * the first one, in the order added, that decides to hit wins.
   */
  take(service: ServiceName, method: string, pathAndQuery: string): FiredFault | undefined {
    let winner: Fault | undefined;
    for (const fault of this.faults) {
      if (!fault.matches(service, method, pathAndQuery)) continue;
      if (fault.consider() && winner === undefined) winner = fault;
    }
    return winner?.toFired();
  }
}

export class RequestLog {
  private records: RequestRecord[] = [];

  /** Records an arriving request; the caller fills `status` in when the response is written. */
  begin(service: ServiceName, method: string, url: string): RequestRecord {
    const q = url.indexOf('?');
    const record: RequestRecord = {
      service,
      method: method.toUpperCase(),
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      status: 0,
      at: Date.now(),
    };
    this.records.push(record);
    return record;
  }

  requests(filter: RequestFilter = {}): RequestRecord[] {
    return this.records.filter((r) => {
      if (filter.service !== undefined && r.service !== filter.service) return false;
      if (filter.method !== undefined && r.method !== filter.method.toUpperCase()) return false;
      if (filter.status !== undefined && r.status !== filter.status) return false;
      if (filter.pathIncludes !== undefined) {
        const full = r.query === '' ? r.path : `${r.path}?${r.query}`;
        if (!includesLoosely(full, filter.pathIncludes)) return false;
      }
      return true;
    });
  }

  count(filter: RequestFilter = {}): number {
    return this.requests(filter).length;
  }

  reset(): void {
    this.records = [];
  }
}

function safeDecode(text: string): string {
  try {
    // '+' is a space in query strings (Graph's $filter often arrives as appId+eq+'…').
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function includesLoosely(haystack: string, needle: string): boolean {
  const n = needle.toLowerCase();
  return haystack.toLowerCase().includes(n) || safeDecode(haystack).toLowerCase().includes(n);
}
