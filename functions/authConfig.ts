/**
 * `auth/{mount}/config`: read, write and delete an azure mount's configuration (Vault's
 * path_config.go). The merge and its checks live in shared/config/write.ts.
 */
import { app } from '@azure/functions';
import { applyConfigWrite, configReadData } from '../shared/config/write';
import { requestedAzureMount } from '../shared/mounts/requests';
import { appServices } from '../shared/services';
import { sensitive, vBool, vDuration, vInt, vString } from '../shared/vault/fields';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition } from '../shared/vault/types';

/** Vault's config fields. `client_secret` is write-only; durations accept "90s", "1h", "2d" or seconds. */
export const configFields = {
  tenant_id: vString, // Entra tenant of the workloads that log in (else AZURE_TENANT_ID)
  resource: vString, // expected audience of their tokens (else AZURE_AD_RESOURCE)
  environment: vString, // AzurePublicCloud | AzureChinaCloud | AzureUSGovernmentCloud (else AZURE_ENVIRONMENT)
  client_id: vString, // app registration used for ARM/Graph calls and root rotation
  client_secret: sensitive(vString), // its secret; sealed with AZAUTH_ENCRYPTION_KEY, never returned
  root_password_ttl: vDuration, // lifetime of secrets created by rotation (default 4380h)
  max_retries: vInt, // ARM client retries (default 3)
  retry_delay: vDuration, // first ARM retry delay (default 4s)
  max_retry_delay: vDuration, // longest ARM retry delay (default 60s)
  identity_token_audience: vString, // workload identity federation: the app's managed-identity token for this audience is the assertion
  identity_token_ttl: vDuration, // stored and echoed: the app's managed-identity token has the lifetime Entra gives it
  rotation_schedule: vString, // standard 5-field cron, UTC
  rotation_window: vDuration, // how long after a scheduled time a missed rotation may still run (≥ 1h)
  rotation_period: vDuration, // rotate every period instead of on a schedule
  disable_automated_rotation: vBool,
  rotation_policy: vString, // stored and echoed
};

export const authConfigPath: PathDefinition = {
  pattern: 'auth/{mount}/config',
  // Vault's plugin has one: writing a config that does not exist yet needs `create`.
  exists: async (req) => (await appServices().configs.read(req.params.mount ?? '')) !== undefined,
  operations: {
    read: {
      handler: async (req) => {
        const { mounts, configs } = appServices();
        const mount = await requestedAzureMount(req, mounts);
        const config = await configs.read(mount.path);
        return config ? { data: configReadData(config, new Date()) } : undefined;
      },
    },
    update: {
      handler: async (req) => {
        const { mounts, configs, settings } = appServices();
        const mount = await requestedAzureMount(req, mounts);
        const { values } = req.fields(configFields);
        await configs.upsert(mount.path, (current) =>
          applyConfigWrite(current, values, {
            now: new Date(),
            env: settings,
            sealClientSecret: (plaintext) => configs.sealClientSecret(mount.path, plaintext),
          }),
        );
        return undefined;
      },
    },
    delete: {
      handler: async (req) => {
        const { mounts, configs } = appServices();
        const mount = await requestedAzureMount(req, mounts);
        await configs.delete(mount.path);
        return undefined;
      },
    },
  },
};

app.http('authConfig', {
  route: 'auth/{mount}/config',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(authConfigPath, () => appServices().endpoint),
});
