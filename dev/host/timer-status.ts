// Where timer schedule status ({Last, Next, LastUpdated}) is kept between runs and restarts.
// Azure writes a blob (azure-webjobs-hosts/timers/{hostId}/{timer}/status); the local host only
// has Azurite's Table service, so it keeps one Table row per timer in the same storage account, and
// falls back to memory when the app has no storage connection string.

export interface ScheduleStatus {
  last: Date;
  next: Date;
  lastUpdated: Date;
}

export interface StatusStore {
  readonly description: string;
  get(timerName: string): Promise<ScheduleStatus | undefined>;
  update(timerName: string, status: ScheduleStatus): Promise<void>;
}

/** .NET's DateTime.MinValue, which the timer extension uses for "never". */
export const DEFAULT_DATE = new Date('0001-01-01T00:00:00.000Z');
/** ScheduleMonitor.DefaultDateTimeThreshold: anything earlier counts as unset. */
export const DEFAULT_DATE_THRESHOLD = new Date('0002-01-01T00:00:00.000Z');
export const STATUS_TABLE = 'AzureWebJobsTimerStatus';

function copy(status: ScheduleStatus): ScheduleStatus {
  return { last: new Date(status.last), next: new Date(status.next), lastUpdated: new Date(status.lastUpdated) };
}

export class MemoryStatusStore implements StatusStore {
  readonly description = 'memory (lost when the host stops)';
  readonly #rows = new Map<string, ScheduleStatus>();

  async get(timerName: string): Promise<ScheduleStatus | undefined> {
    const row = this.#rows.get(timerName);
    return row ? copy(row) : undefined;
  }

  async update(timerName: string, status: ScheduleStatus): Promise<void> {
    this.#rows.set(timerName, copy(status));
  }
}

function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value === 'string') {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  return undefined;
}

/**
 * One row per timer in table AzureWebJobsTimerStatus: PartitionKey = host id,
 * RowKey = timer name, columns Last / Next / LastUpdated (ISO 8601 strings).
 */
export async function createTableStatusStore(connectionString: string, hostId: string): Promise<StatusStore> {
  // Loaded only when a timer needs it: the SDK costs ~0.1-0.2 s of start-up.
  const { TableClient } = await import('@azure/data-tables');
  const insecure = /(^|;)\s*DefaultEndpointsProtocol\s*=\s*http\s*(;|$)|TableEndpoint\s*=\s*http:|UseDevelopmentStorage\s*=\s*true/i.test(connectionString);
  const client = TableClient.fromConnectionString(connectionString, STATUS_TABLE, {
    allowInsecureConnection: insecure,
    retryOptions: { maxRetries: 2 },
  });
  await client.createTable();
  return {
    description: `table ${STATUS_TABLE} in the AzureWebJobsStorage account`,
    async get(timerName) {
      try {
        const row = await client.getEntity<Record<string, unknown>>(hostId, timerName);
        const last = toDate(row.Last);
        const next = toDate(row.Next);
        const lastUpdated = toDate(row.LastUpdated);
        return last && next && lastUpdated ? { last, next, lastUpdated } : undefined;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw err;
      }
    },
    async update(timerName, status) {
      await client.upsertEntity(
        // ISO strings rather than DateTime columns: Table DateTime starts at 1601, and "never" is year 1.
        {
          partitionKey: hostId,
          rowKey: timerName,
          Last: status.last.toISOString(),
          Next: status.next.toISOString(),
          LastUpdated: status.lastUpdated.toISOString(),
        },
        'Replace',
      );
    },
  };
}
