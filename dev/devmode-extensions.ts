/**
 * Extension point of dev mode (`npm start`): each extension gets the running emulator and the
 * dev-mode facts, may seed more of the emulated cloud (a demo VM, ...), and returns lines that dev
 * mode prints after its own instructions. Add an extension to `DEV_MODE_EXTENSIONS`.
 */
import { demoLogin } from './devmode-login';
import type { CloudEmulator } from './emulator';

export interface DevModeContext {
  readonly emulator: CloudEmulator;
  /** e.g. http://127.0.0.1:8200 */
  readonly vaultAddr: string;
  /** The admin credential printed as VAULT_TOKEN (an Entra access token). */
  readonly adminToken: string;
  /** The root token printed as `Root Token:` (a non-expiring `hvs.` token with the root policy). */
  readonly rootToken: string;
  /** Tenant and subscription the printed commands configure the `azure` mount and its role for. */
  readonly demoTenantId: string;
  readonly demoSubscriptionId: string;
  readonly demoResource: string;
  readonly demoRole: string;
  /** The secret the demo policy lets the role read (`secret/data/app/db`). */
  readonly demoSecretPath: string;
  /** The settings the local host runs with. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
}

/** Returns lines to print (no trailing newlines); an empty list prints nothing. */
export type DevModeExtension = (ctx: DevModeContext) => Promise<string[]>;

export const DEV_MODE_EXTENSIONS: DevModeExtension[] = [demoLogin];
