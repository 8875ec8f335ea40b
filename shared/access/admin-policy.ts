/**
 * Who counts as an Entra admin (root by configuration: the bootstrap) and how their tokens are
 * verified; enforce.ts makes the decision. The admin policy comes from the app settings; the admin
 * tenant lives in the cloud named by `AZURE_ENVIRONMENT` (public when unset), reached through
 * `AZURE_AUTHORITY_HOST` when that is set.
 */
import { EndpointSettingError, UnknownCloudError, cloudCatalog, type CloudEndpoints } from '../entra/clouds';
import type { EntraTokenExpectation, VerifiedEntraToken } from '../entra/verify';
import type { Settings } from '../settings';
import { VaultError } from '../vault/errors';

/** The part of `EntraTokenVerifier` access control needs (a fake in unit tests). */
export interface EntraVerifier {
  verifyEntraToken(jwt: string, expected: EntraTokenExpectation): Promise<VerifiedEntraToken>;
}

/** Who counts as an Entra admin, from the app settings. */
export interface AdminPolicy {
  readonly tenantId: string | undefined;
  readonly audience: string | undefined;
  /** Object ids, compared case-insensitively. */
  readonly principalIds: readonly string[];
  /**
   * The admin tenant's cloud. A function, so that a bad cloud setting fails admin calls with a
   * message naming it (throw a `VaultError`) instead of taking the whole app down at start.
   */
  readonly cloud: () => Pick<CloudEndpoints, 'authorityHost'>;
}

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
