/**
 * `sys/health` as Vault answers it. This service has no seal, no standby and no replication, so it
 * is always initialized, unsealed and active; the query parameters still parse as Vault's do, so a
 * load balancer probe written for Vault (`?standbyok=true&activecode=200`) works unchanged.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { badRequest } from '../vault/errors';
import { parseVaultBool } from '../vault/fields';

const BOOL_PARAMS = ['standbyok', 'perfstandbyok'] as const;
const CODE_PARAMS = ['activecode', 'standbycode', 'drsecondarycode', 'performancestandbycode', 'sealedcode', 'uninitcode'] as const;

export interface HealthIdentity {
  readonly version: string;
  readonly clusterName: string;
  readonly clusterId: string;
}

export interface HealthAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * The status and body for a health request. Only `activecode` can apply (we are always active);
 * every parameter is still validated: a bad value is a 400 naming it.
 */
export function healthAnswer(query: Readonly<Record<string, unknown>>, identity: HealthIdentity, now: Date): HealthAnswer {
  for (const name of BOOL_PARAMS) {
    const raw = query[name];
    if (raw !== undefined && parseVaultBool(raw) === undefined) {
      throw badRequest(`bad value for ${name} parameter: strconv.ParseBool: parsing ${JSON.stringify(String(raw))}: invalid syntax`);
    }
  }
  const codes: Partial<Record<(typeof CODE_PARAMS)[number], number>> = {};
  for (const name of CODE_PARAMS) {
    const raw = query[name];
    if (raw === undefined) continue;
    const text = String(raw).trim();
    const code = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
    // Vault takes any integer; a status outside 200–599 cannot be sent meaningfully, so it is refused.
    if (!Number.isInteger(code) || code < 200 || code > 599) {
      throw badRequest(`bad value for ${name} parameter: ${JSON.stringify(String(raw))} is not an HTTP status code from 200 to 599`);
    }
    codes[name] = code;
  }
  return {
    status: codes.activecode ?? 200,
    body: {
      initialized: true,
      sealed: false,
      standby: false,
      performance_standby: false,
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      server_time_utc: Math.floor(now.getTime() / 1000),
      version: identity.version,
      enterprise: false,
      cluster_name: identity.clusterName,
      cluster_id: identity.clusterId,
      echo_duration_ms: 0,
      clock_skew_ms: 0,
      replication_primary_canary_age_ms: 0,
    },
  };
}

/** The `version` of the package.json above this module (found from `dist/` as from the sources). */
export function productVersion(): string {
  return PRODUCT_VERSION;
}

function readProductVersion(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 6; depth++) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') return parsed.version;
    } catch {
      // not here; look one level up
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

// Read once when the module loads (one small file at start-up), not on each health request.
const PRODUCT_VERSION = readProductVersion();

/**
 * A stable cluster identity for a deployment: derived from its storage account (what makes two
 * instances one service), never from a key, so it survives restarts and key rotation.
 */
export function clusterIdentity(storage: {
  AzureWebJobsStorage?: string | undefined;
  AzureWebJobsStorage__tableServiceUri?: string | undefined;
  AzureWebJobsStorage__accountName?: string | undefined;
}): { clusterName: string; clusterId: string } {
  const connection = storage.AzureWebJobsStorage ?? '';
  const fromConnection = ['AccountName', 'TableEndpoint', 'UseDevelopmentStorage']
    .map((key) => new RegExp(`(?:^|;)\\s*${key}=([^;]*)`, 'i').exec(connection)?.[1] ?? '')
    .join('|');
  const source = [fromConnection, storage.AzureWebJobsStorage__tableServiceUri ?? '', storage.AzureWebJobsStorage__accountName ?? ''].join('|');
  const hex = createHash('sha256').update(`azauth-cluster:${source}`).digest('hex');
  const clusterId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  return { clusterName: `azauth-cluster-${hex.slice(0, 8)}`, clusterId };
}
