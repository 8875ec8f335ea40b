/**
 * `sys/auth` (list auth mounts) and `sys/auth/{path}` (read, enable, disable one), in Vault's shape.
 * Only `azure` mounts can be enabled; the `token` mount is built in.
 */
import { app } from '@azure/functions';
import { disableMount } from '../shared/mounts/disable';
import { mountInfo } from '../shared/mounts/info';
import { appServices } from '../shared/services';
import { badRequest } from '../shared/vault/errors';
import { vBool, vString } from '../shared/vault/fields';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition } from '../shared/vault/types';
import { z } from 'zod';

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

export const sysAuthListPath: PathDefinition = {
  pattern: 'sys/auth',
  mountType: 'system',
  operations: {
    read: {
      handler: async () => {
        const data: Record<string, unknown> = {};
        for (const mount of await appServices().mounts.list('auth')) data[`${mount.path}/`] = mountInfo(mount);
        // One of Vault's legacy routes that also copy data's keys to the top of the envelope.
        return { data, copyDataToTop: true };
      },
    },
  },
};

/** Fields of `POST sys/auth/<path>`; everything but `type` is accepted for compatibility. */
const enableFields = {
  type: vString,
  description: vString,
  config: z.unknown(),
  local: vBool,
  seal_wrap: vBool,
  external_entropy_access: vBool,
  options: z.unknown(),
  plugin_name: vString,
  plugin_version: vString,
};

function isNonEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}

export const sysAuthMountPath: PathDefinition = {
  pattern: 'sys/auth/{path}',
  mountType: 'system',
  operations: {
    read: {
      handler: async (req) => {
        const path = req.params.path ?? '';
        const mount = await appServices().mounts.get('auth', path);
        if (!mount) throw badRequest(`No auth engine at ${path}/`);
        return { data: mountInfo(mount) };
      },
    },
    update: {
      handler: async (req) => {
        const path = req.params.path ?? '';
        const { values } = req.fields(enableFields);
        const type = (values.type || values.plugin_name || '').trim();
        if (!type) throw badRequest('backend type must be specified');
        if (type === 'token') throw badRequest('token credential backend cannot be instantiated');
        if (type !== 'azure') throw badRequest(`unsupported auth method type "${type}": this server provides only "azure"`);
        if (isNonEmptyObject(values.config) || isNonEmptyObject(values.options)) {
          req.warn(
            'config and options are accepted but not applied: mount tuning is not supported here; token lifetimes come from the role\'s token_* fields within AZAUTH_DEFAULT_TTL / AZAUTH_MAX_TTL',
          );
        }
        const mount = await appServices().mounts.enable('auth', path, {
          type: 'azure',
          description: values.description ?? '',
          local: values.local ?? false,
          sealWrap: values.seal_wrap ?? false,
        });
        req.audit.note({ mount: mount.path });
        return undefined;
      },
    },
    delete: {
      handler: async (req) => {
        const path = req.params.path ?? '';
        const { warnings } = await disableMount('auth', path, appServices().disable);
        req.audit.note({ mount: path });
        for (const warning of warnings) req.warn(warning);
        return undefined;
      },
    },
  },
};

app.http('sysAuthList', {
  route: 'sys/auth',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysAuthListPath, () => appServices().endpoint),
});

app.http('sysAuthMount', {
  route: 'sys/auth/{path}',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysAuthMountPath, () => appServices().endpoint),
});
