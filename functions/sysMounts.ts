/**
 * `sys/mounts` (list secrets engines), `sys/mounts/{path}` (read, enable, disable) and
 * `sys/mounts/{path}/tune` (read, tune): Vault's logical_system.go for secrets engines. The only
 * engine is `kv` (versions 1 and 2; `kv-v1`, `kv-v2` and `generic` are its aliases). Secret mounts and
 * auth mounts share one mount table and one naming rule (one path segment).
 */
import { app } from '@azure/functions';
import { z } from 'zod';
import { disableMount } from '../shared/mounts/disable';
import { mountInfo } from '../shared/mounts/info';
import {
  applyTuning,
  isReservedSecretPath,
  secretMountToEnable,
  tuneData,
  tuneOptions,
} from '../shared/mounts/secret-mounts';
import type { Mount } from '../shared/mounts/types';
import { appServices } from '../shared/services';
import { badRequest } from '../shared/vault/errors';
import { vBool, vString } from '../shared/vault/fields';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition, VaultRequest } from '../shared/vault/types';

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;
/** How long a tune moves v1 data to v2 itself before leaving the rest to the mountCleanup timer. */
const UPGRADE_BUDGET_MS = 20_000;

/** The built-in `sys/` mount Vault lists beside the engines. */
function systemMount(): Record<string, unknown> {
  return {
    accessor: 'system_azauth',
    config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
    description: 'system endpoints used for control, policy and debugging',
    external_entropy_access: false,
    local: false,
    options: null,
    plugin_version: '',
    running_plugin_version: '',
    running_sha256: '',
    seal_wrap: true,
    type: 'system',
    uuid: '00000000-0000-0000-0000-000000000000',
  };
}

function systemTtls(): { defaultTtl: number; maxTtl: number } {
  const { settings } = appServices();
  return { defaultTtl: settings.AZAUTH_DEFAULT_TTL, maxTtl: settings.AZAUTH_MAX_TTL };
}

export const sysMountsListPath: PathDefinition = {
  pattern: 'sys/mounts',
  mountType: 'system',
  operations: {
    read: {
      handler: async () => {
        const data: Record<string, unknown> = { 'sys/': systemMount() };
        for (const mount of await appServices().mounts.list('secret')) data[`${mount.path}/`] = mountInfo(mount);
        return { data, copyDataToTop: true };
      },
    },
  },
};

/** Fields of `POST sys/mounts/<path>`; hvac sends JSON null for the ones it does not set. */
const enableFields = {
  type: vString,
  description: vString,
  config: z.unknown(),
  options: z.unknown(),
  local: vBool,
  seal_wrap: vBool,
  external_entropy_access: vBool,
  plugin_name: vString,
  plugin_version: vString,
};

const mountPathOf = (req: VaultRequest): string => req.params.path ?? '';

export const sysMountsPath: PathDefinition = {
  pattern: 'sys/mounts/{path}',
  mountType: 'system',
  operations: {
    read: {
      handler: async (req) => {
        const path = mountPathOf(req);
        const mount = await appServices().mounts.get('secret', path);
        if (!mount) throw badRequest(`No secret engine mount at ${path}/`);
        return { data: mountInfo(mount), copyDataToTop: true };
      },
    },
    update: {
      handler: async (req) => {
        const path = mountPathOf(req);
        const { values } = req.fields(enableFields);
        const input = secretMountToEnable(path, values, systemTtls());
        const mount = await appServices().mounts.enable('secret', path, input);
        req.audit.note({ mount: mount.path });
        return undefined;
      },
    },
    delete: {
      handler: async (req) => {
        const path = mountPathOf(req);
        if (isReservedSecretPath(path)) throw badRequest(`cannot unmount "${path}/"`);
        req.audit.note({ mount: path });
        const { warnings } = await disableMount('secret', path, appServices().disable);
        for (const warning of warnings) req.warn(warning);
        return undefined;
      },
    },
  },
};

const tuneFields = {
  default_lease_ttl: z.unknown(),
  max_lease_ttl: z.unknown(),
  description: vString,
  force_no_cache: z.unknown(),
  listing_visibility: z.unknown(),
  audit_non_hmac_request_keys: z.unknown(),
  audit_non_hmac_response_keys: z.unknown(),
  passthrough_request_headers: z.unknown(),
  allowed_response_headers: z.unknown(),
  options: z.unknown(),
  token_type: vString,
  plugin_version: vString,
};

export const sysMountsTunePath: PathDefinition = {
  pattern: 'sys/mounts/{path}/tune',
  mountType: 'system',
  operations: {
    read: {
      handler: async (req) => {
        const path = mountPathOf(req);
        const mount = await appServices().mounts.get('secret', path);
        if (!mount) throw badRequest(`cannot fetch sysview for path "${path}/"`);
        return { data: tuneData(mount, systemTtls()) };
      },
    },
    update: {
      handler: async (req) => {
        const path = mountPathOf(req);
        if (isReservedSecretPath(path)) throw badRequest(`cannot tune "${path}/"`);
        const { values, has } = req.fields(tuneFields);
        if (has('token_type') && values.token_type) throw badRequest("'token_type' can only be modified on auth mounts");
        let upgrade = false;
        const tuned = await appServices().mounts.update('secret', path, (mount): Mount => {
          const options = has('options') ? tuneOptions(mount, values.options) : { options: mount.options, upgradeToV2: false };
          upgrade = options.upgradeToV2;
          return {
            ...mount,
            description: has('description') ? (values.description ?? '') : mount.description,
            tuning: applyTuning(mount.tuning, values, systemTtls()),
            options: options.options,
            // From this write on, the mount answers "Upgrading…" until its data is version 2.
            upgrading: mount.upgrading || options.upgradeToV2,
            upgradingSince: mount.upgrading ? mount.upgradingSince : options.upgradeToV2 ? new Date().toISOString() : '',
          };
        });
        if (!tuned) throw badRequest(`tune of path "${path}/" failed: no mount entry found`);
        req.audit.note({ mount: path });
        if (upgrade) {
          req.warn('Upgrading mount from version 1 to version 2. This mount will be unavailable for a brief period and will resume service shortly.');
          // Within this request as far as its budget goes; the mountCleanup timer finishes the rest.
          await appServices().secrets.continueUpgrade(tuned, UPGRADE_BUDGET_MS);
        }
        return undefined;
      },
    },
  },
};

app.http('sysMountsList', {
  route: 'sys/mounts',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysMountsListPath, () => appServices().endpoint),
});

app.http('sysMounts', {
  route: 'sys/mounts/{path}',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysMountsPath, () => appServices().endpoint),
});

app.http('sysMountsTune', {
  route: 'sys/mounts/{path}/tune',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysMountsTunePath, () => appServices().endpoint),
});
