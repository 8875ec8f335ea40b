/**
 * The azure mount an `auth/<mount>/...` request is about, for the handlers of config, roles and
 * rotate-root: Vault's "no handler" 404 naming the request path when there is none (or the path is
 * the token store), and the mount named in the request's audit record.
 */
import type { VaultRequest } from '../vault/types';
import type { MountStore } from './store';
import type { Mount } from './types';

export async function requestedAzureMount(req: VaultRequest, mounts: Pick<MountStore, 'requireAzure'>): Promise<Mount> {
  const mount = await mounts.requireAzure(req.params.mount ?? '', req.path);
  req.audit.note({ mount: mount.path });
  return mount;
}
