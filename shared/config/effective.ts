/**
 * The settings a mount actually uses: its stored config, with the app settings `AZURE_TENANT_ID`,
 * `AZURE_AD_RESOURCE` and `AZURE_ENVIRONMENT` filling what the config leaves empty (config wins, as
 * in Vault's plugin since v0.24). The cloud comes from the one catalogue in shared/entra/clouds.ts;
 * where its endpoints are overridden is decided there too (`cloudCatalog`).
 */
import { UnknownCloudError, cloudNameOf, standardCloud, type CloudEndpoints } from '../entra/clouds';
import type { Settings } from '../settings';
import type { MountConfig } from './types';

/**
 * The app settings a mount falls back on. The endpoint overrides are not read here, but they travel
 * with these: the callers build their cloud catalogue (`cloudCatalog`) from the same object.
 */
export type FallbackSettings = Pick<
  Settings,
  'AZURE_TENANT_ID' | 'AZURE_AD_RESOURCE' | 'AZURE_ENVIRONMENT' | 'AZURE_AUTHORITY_HOST' | 'AZAUTH_ARM_ENDPOINT' | 'AZAUTH_GRAPH_ENDPOINT'
>;

export interface EffectiveAzureSettings {
  readonly tenantId: string;
  /** Expected audience of login tokens (exact, case-sensitive). */
  readonly resource: string;
  /** The named cloud with its standard endpoints. */
  readonly cloud: CloudEndpoints;
}

export type EffectiveSettingsResult = { ok: true; settings: EffectiveAzureSettings } | { ok: false; problem: string };

/** Vault's order: tenant, then resource, then environment. `config` may be absent (env only). */
export function resolveEffectiveSettings(config: MountConfig | undefined, env: FallbackSettings): EffectiveSettingsResult {
  const tenantId = config?.tenantId || env.AZURE_TENANT_ID || '';
  if (!tenantId) return { ok: false, problem: 'tenant_id is required' };
  const resource = config?.resource || env.AZURE_AD_RESOURCE || '';
  if (!resource) return { ok: false, problem: 'resource is required' };
  const environment = config?.environment || env.AZURE_ENVIRONMENT || '';
  try {
    return { ok: true, settings: { tenantId, resource, cloud: standardCloud(cloudNameOf(environment)) } };
  } catch (err) {
    if (err instanceof UnknownCloudError) return { ok: false, problem: `err: ${err.message}` };
    throw err;
  }
}
