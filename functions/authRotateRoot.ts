/**
 * `auth/{mount}/rotate-root` (POST or PUT, no fields; Vault's path_rotate_root.go): adds a new
 * password to the mount's application and schedules its swap. The old secret stays in
 * use until the `rotation` timer swaps after AZAUTH_ROTATION_SWAP_DELAY; the new secret is never
 * returned. State machine and guarantees: shared/rotation/engine.ts.
 */
import { app } from '@azure/functions';
import { requestedAzureMount } from '../shared/mounts/requests';
import { appServices } from '../shared/services';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition } from '../shared/vault/types';

/** Vault's rotate-root takes no fields; anything sent is reported back as ignored. */
export const rotateRootFields = {};

export const authRotateRootPath: PathDefinition = {
  pattern: 'auth/{mount}/rotate-root',
  operations: {
    update: {
      handler: async (req) => {
        const { mounts, rotation } = appServices();
        const mount = await requestedAzureMount(req, mounts);
        req.audit.note({ operation: 'rotate-root' });
        req.fields(rotateRootFields);
        const started = await rotation.rotateRoot(mount.path);
        for (const warning of started.warnings) req.warn(warning);
        // Vault answers 204; a warning turns it into a 200 envelope, as in Vault.
        return undefined;
      },
    },
  },
};

app.http('authRotateRoot', {
  route: 'auth/{mount}/rotate-root',
  // Every verb, so GET and DELETE get Vault's 405 from the adapter instead of the host's 404.
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(authRotateRootPath, () => appServices().endpoint),
});
