/**
 * Disabling an auth mount (`DELETE sys/auth/<path>`): revoke the tokens it issued, delete its roles
 * and config, then remove the mount entry. The entry goes last so that a failure half-way leaves a
 * mount that can be disabled again, never orphaned roles that a re-enabled mount would inherit.
 */
import type { ConfigStore } from '../config/store';
import type { RoleStore } from '../roles/store';
import { badRequest } from '../vault/errors';
import type { MountStore } from './store';
import { TOKEN_MOUNT } from './types';

/** Revokes every token issued through `mount`; provided by the token store. */
export type RevokeMountTokens = (mount: string) => Promise<void>;

export interface DisableMountDeps {
  readonly mounts: MountStore;
  readonly configs: ConfigStore;
  readonly roles: RoleStore;
  readonly revokeMountTokens: RevokeMountTokens;
}

/** True when a mount was removed; disabling a path with no mount is a no-op, as in Vault. */
export async function disableMount(path: string, deps: DisableMountDeps): Promise<boolean> {
  if (path === TOKEN_MOUNT) throw badRequest('token credential backend cannot be disabled');
  const mount = await deps.mounts.get(path);
  if (!mount) return false;
  await deps.revokeMountTokens(mount.path);
  await deps.roles.deleteAll(mount.path);
  await deps.configs.delete(mount.path);
  return deps.mounts.remove(mount.path);
}
