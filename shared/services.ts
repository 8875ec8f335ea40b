/**
 * The composition root: one set of long-lived objects per worker process (settings, table clients,
 * caches), built on first use from the app settings. Function files reach the core only through
 * this, so tests and the local host exercise exactly what Azure runs.
 */
import { readSettings, type Settings } from './settings';
import { ConfigStore } from './config/store';
import type { RevokeMountTokens } from './mounts/disable';
import { MountStore } from './mounts/store';
import { RoleStore } from './roles/store';
import { createTableProvider, type TableProvider } from './storage/tables';
import type { EndpointServices } from './vault/endpoint';
import { VaultError, invalidToken } from './vault/errors';
import type { Access, Caller } from './vault/types';

export interface Services {
  readonly settings: Settings;
  readonly tables: TableProvider;
  /** What every Vault endpoint needs: body limit, caller resolution, audit. */
  readonly endpoint: EndpointServices;
  /** Auth mounts (`sys/auth`). */
  readonly mounts: MountStore;
  /** Per-mount config (`auth/<mount>/config`); also opens the sealed client secret for colleagues. */
  readonly configs: ConfigStore;
  /** Per-mount roles (`auth/<mount>/role/<name>`). */
  readonly roles: RoleStore;
  /** Revokes the tokens a mount issued when it is disabled; the token store provides it. */
  readonly revokeMountTokens: RevokeMountTokens;
}

let current: Services | undefined;

export function appServices(): Services {
  current ??= buildServices(readSettings());
  return current;
}

export function buildServices(settings: Settings): Services {
  const tables = createTableProvider(settings);
  // Placeholder access control until the Entra verifier and the token store are wired in:
  // public operations pass, everything else is refused.
  const authorize = async (access: Access, token: string | undefined): Promise<Caller> => {
    if (access === 'public') return { kind: 'anonymous' };
    if (!token) throw new VaultError('permission_denied', 'permission denied');
    throw invalidToken();
  };
  return {
    settings,
    tables,
    mounts: new MountStore(tables),
    configs: new ConfigStore(tables, settings.AZAUTH_ENCRYPTION_KEY),
    roles: new RoleStore(tables),
    // Placeholder until the token store is wired in: there are no issued tokens to revoke yet.
    revokeMountTokens: async () => undefined,
    endpoint: {
      maxRequestBytes: settings.AZAUTH_MAX_REQUEST_BYTES,
      authorize,
      audit: () => undefined,
    },
  };
}
