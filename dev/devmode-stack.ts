/**
 * The local stack that dev mode runs and the integration tests start (test/support/stack.ts): an
 * admin tenant and principal seeded in the cloud emulator, and the app settings that point the local
 * Functions host at the emulator, with embedded in-memory Azurite and a fresh encryption key.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { CloudEmulator } from './emulator';
import type { SpawnedHost } from './host/spawn';

/** The audience an admin's Entra token carries (`AZAUTH_ADMIN_AUDIENCE`). */
export const ADMIN_AUDIENCE = 'api://azauth-admin';

export interface LocalAdmin {
  readonly tenantId: string;
  readonly principalId: string;
}

/** A new tenant in the emulator and a principal id in it: the one Entra admin of the local stack. */
export function seedAdmin(emulator: Pick<CloudEmulator, 'entra'>): LocalAdmin {
  return { tenantId: emulator.entra.addTenant(), principalId: randomUUID() };
}

/** The host's app settings: every cloud endpoint at the emulator (trusted through its CA), that admin. */
export function emulatorAppSettings(emulator: Pick<CloudEmulator, 'url' | 'caCertPath'>, admin: LocalAdmin): Record<string, string | undefined> {
  return {
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    NODE_EXTRA_CA_CERTS: emulator.caCertPath,
    AZURE_AUTHORITY_HOST: emulator.url,
    AZAUTH_ARM_ENDPOINT: emulator.url,
    AZAUTH_GRAPH_ENDPOINT: emulator.url,
    // Fresh per start: the storage is in memory too, so nothing sealed outlives it.
    AZAUTH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    AZAUTH_ADMIN_TENANT_ID: admin.tenantId,
    AZAUTH_ADMIN_AUDIENCE: ADMIN_AUDIENCE,
    AZAUTH_ADMIN_PRINCIPAL_IDS: admin.principalId,
  };
}

/**
 * The connection string of the storage the host uses: the embedded Azurite's as the host reported
 * it, or the one it was given. `UseDevelopmentStorage=true` names no port, so it does not count.
 */
export function hostStorageConnectionString(host: SpawnedHost, env: Readonly<Record<string, string | undefined>>): string {
  const connection = host.storageConnectionString ?? env.AzureWebJobsStorage ?? '';
  if (!connection || /UseDevelopmentStorage/i.test(connection)) {
    throw new Error(`the host did not report its storage connection string\n${host.logs()}`);
  }
  return connection;
}
