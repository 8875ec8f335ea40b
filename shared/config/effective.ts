/**
 * The settings a mount actually uses: its stored config, with the app settings `AZURE_TENANT_ID`,
 * `AZURE_AD_RESOURCE` and `AZURE_ENVIRONMENT` filling what the config leaves empty (config wins, as
 * in Vault's plugin since v0.24), and the endpoint overrides for private clouds and the emulator.
 */
import type { Settings } from '../settings';
import { cloudByName, unknownCloudMessage, type CloudEndpoints } from './clouds';
import type { MountConfig } from './types';

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
  /**
   * Endpoints to call: the cloud's, replaced by `AZURE_AUTHORITY_HOST`, `AZAUTH_ARM_ENDPOINT` and
   * `AZAUTH_GRAPH_ENDPOINT` when set. Whether an override is acceptable (https, or loopback http) is
   * checked by the code that calls it.
   */
  readonly endpoints: { readonly authorityHost: string; readonly resourceManager: string; readonly graph: string };
  readonly clientId: string;
  readonly hasClientSecret: boolean;
}

export type EffectiveSettingsResult = { ok: true; settings: EffectiveAzureSettings } | { ok: false; problem: string };

/** Vault's order: tenant, then resource, then environment. `config` may be absent (env only). */
export function resolveEffectiveSettings(config: MountConfig | undefined, env: FallbackSettings): EffectiveSettingsResult {
  const tenantId = config?.tenantId || env.AZURE_TENANT_ID || '';
  if (!tenantId) return { ok: false, problem: 'tenant_id is required' };
  const resource = config?.resource || env.AZURE_AD_RESOURCE || '';
  if (!resource) return { ok: false, problem: 'resource is required' };
  const environment = config?.environment || env.AZURE_ENVIRONMENT || '';
  const cloud = cloudByName(environment);
  if (!cloud) return { ok: false, problem: unknownCloudMessage(environment) };
  return {
    ok: true,
    settings: {
      tenantId,
      resource,
      cloud,
      endpoints: {
        authorityHost: withTrailingSlash(env.AZURE_AUTHORITY_HOST ?? cloud.authorityHost),
        resourceManager: withoutTrailingSlash(env.AZAUTH_ARM_ENDPOINT ?? cloud.resourceManager),
        graph: withoutTrailingSlash(env.AZAUTH_GRAPH_ENDPOINT ?? cloud.graph),
      },
      clientId: config?.clientId ?? '',
      hasClientSecret: (config?.clientSecretSealed ?? '') !== '',
    },
  };
}

const withTrailingSlash = (url: string): string => (url.endsWith('/') ? url : `${url}/`);
const withoutTrailingSlash = (url: string): string => url.replace(/\/+$/, '');
