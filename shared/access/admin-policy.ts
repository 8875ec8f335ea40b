/**
 * The admin policy from the app settings. The admin tenant lives in the cloud named by
 * `AZURE_ENVIRONMENT` (public when unset), reached through `AZURE_AUTHORITY_HOST` when that is set.
 */
import { EndpointSettingError, UnknownCloudError, cloudCatalog, type CloudEndpoints } from '../entra/clouds';
import type { Settings } from '../settings';
import { VaultError } from '../vault/errors';
import type { AdminPolicy } from './authorize';

type AdminSettings = Pick<
  Settings,
  | 'AZAUTH_ADMIN_TENANT_ID'
  | 'AZAUTH_ADMIN_AUDIENCE'
  | 'AZAUTH_ADMIN_PRINCIPAL_IDS'
  | 'AZURE_ENVIRONMENT'
  | 'AZURE_AUTHORITY_HOST'
  | 'AZAUTH_ARM_ENDPOINT'
  | 'AZAUTH_GRAPH_ENDPOINT'
>;

export function adminPolicyFromSettings(settings: AdminSettings): AdminPolicy {
  // Settings are fixed for the life of the process: resolve the admin cloud once, on first use
  // (a bad setting is reported on admin calls rather than stopping the app, so it is not cached).
  let resolved: CloudEndpoints | undefined;
  return {
    tenantId: settings.AZAUTH_ADMIN_TENANT_ID,
    audience: settings.AZAUTH_ADMIN_AUDIENCE,
    principalIds: settings.AZAUTH_ADMIN_PRINCIPAL_IDS,
    cloud: () => {
      try {
        resolved ??= cloudCatalog(settings).cloud(settings.AZURE_ENVIRONMENT);
        return resolved;
      } catch (err) {
        if (err instanceof EndpointSettingError) throw new VaultError('internal', err.message, { cause: err });
        if (err instanceof UnknownCloudError) throw new VaultError('internal', `invalid app setting AZURE_ENVIRONMENT: ${err.message}`, { cause: err });
        throw err;
      }
    },
  };
}
