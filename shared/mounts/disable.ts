/**
 * Disabling an auth mount (`DELETE sys/auth/<path>`): revoke the tokens it issued, delete its roles,
 * its rotation state (with the password an unfinished rotation added) and its config, then remove
 * the mount entry. Rotation goes before the config, whose credentials remove that password. The
 * entry goes last so that a failure half-way leaves a mount that can be disabled again, never
 * orphaned roles or rotation state that a re-enabled mount would inherit.
 */
import type { ConfigStore } from '../config/store';
import type { RoleStore } from '../roles/store';
import type { RotationService } from '../rotation/service';
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
  readonly rotation: Pick<RotationService, 'discardMount'>;
}

export interface DisableOutcome {
  /** False when there was no mount at the path: disabling it is a no-op, as in Vault. */
  readonly removed: boolean;
  /** What could not be cleaned up (a password left on the mount's application). */
  readonly warnings: string[];
}

export async function disableMount(path: string, deps: DisableMountDeps): Promise<DisableOutcome> {
  if (path === TOKEN_MOUNT) throw badRequest('token credential backend cannot be disabled');
  const mount = await deps.mounts.get(path);
  if (!mount) return { removed: false, warnings: [] };
  await deps.revokeMountTokens(mount.path);
  await deps.roles.deleteAll(mount.path);
  const { warnings } = await deps.rotation.discardMount(mount.path);
  await deps.configs.delete(mount.path);
  return { removed: await deps.mounts.remove(mount.path), warnings };
}
