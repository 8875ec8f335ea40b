/**
 * The composition root: one set of long-lived objects per worker process (settings, table clients,
 * caches), built on first use from the app settings. Function files reach the core only through
 * this, so tests and the local host exercise exactly what Azure runs.
 */
import { readSettings, type Settings } from './settings';
import { adminPolicyFromSettings } from './access/admin-policy';
import { createAuthorize, type TokenAuthenticator } from './access/authorize';
import { EntraTokenVerifier } from './entra/verify';
import { ConfigStore } from './config/store';
import type { RevokeMountTokens } from './mounts/disable';
import { MountStore } from './mounts/store';
import { RoleStore } from './roles/store';
import { createTableProvider, TABLES, type TableProvider } from './storage/tables';
import { createAuditSink, type AuditSink } from './audit/sink';
import { createServerKeys } from './tokens/serverKeys';
import { TokenService } from './tokens/service';
import { createTokenStore } from './tokens/store';
import { LoginService } from './login/login';
import { createRotationService, type RotationService } from './rotation/service';
import type { EndpointServices } from './vault/endpoint';

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
  /** Verifies Entra access tokens (admin access, login); one per process so its caches are shared. */
  readonly entraVerifier: EntraTokenVerifier;
  /** Issues, authenticates, renews and revokes tokens (`issueToken` for login, `auth/token/*`). */
  readonly tokens: TokenService;
  /** The audit device behind `endpoint.audit`; `auditHash` gives the HMAC an operator can search for. */
  readonly audit: AuditSink;
  /** `auth/<mount>/login`: token verification, bindings (claims and ARM, with the ARM cache), issue. */
  readonly login: LoginService;
  /** Root credential rotation (`auth/<mount>/rotate-root`, the `rotation` timer, and its clean-up when a mount is disabled). */
  readonly rotation: RotationService;
}

let current: Services | undefined;

export function appServices(): Services {
  current ??= buildServices(readSettings());
  return current;
}

export function buildServices(settings: Settings): Services {
  const tables = createTableProvider(settings);
  const entraVerifier = new EntraTokenVerifier({ clockSkewSeconds: settings.AZAUTH_CLOCK_SKEW });
  const roles = new RoleStore(tables);
  // Server keys (batch-token key, audit HMAC key): generated once, sealed in the state table.
  const serverKeys = createServerKeys(() => tables.table(TABLES.state), settings);
  const tokenService = new TokenService({
    store: createTokenStore(() => tables.table(TABLES.tokens)),
    keys: serverKeys,
    system: { defaultTtl: settings.AZAUTH_DEFAULT_TTL, maxTtl: settings.AZAUTH_MAX_TTL },
    // Renewal re-reads the login's role from the role store (Vault's plugin renew handler).
    roles: { read: (mount, name) => roles.read(mount, name) },
  });
  const tokens: TokenAuthenticator = tokenService;
  const audit = createAuditSink(serverKeys);
  const authorizeCaller = createAuthorize({
    verifier: entraVerifier,
    tokens,
    admin: adminPolicyFromSettings(settings),
    warn: (message) => console.warn(`azauth: ${message}`),
  });
  const mounts = new MountStore(tables);
  const configs = new ConfigStore(tables, settings);
  const login = new LoginService({
    mounts,
    roles,
    configs,
    settings,
    verifier: entraVerifier,
    issueToken: (spec) => tokenService.issueToken(spec),
  });
  return {
    settings,
    tables,
    mounts,
    configs,
    roles,
    revokeMountTokens: async (mount) => {
      // Disabling starts here: this worker's logins stop using what they remember of the mount.
      login.forgetMount(mount);
      await tokenService.revokeMountTokens(mount);
    },
    entraVerifier,
    tokens: tokenService,
    audit,
    login,
    rotation: createRotationService({
      settings,
      tables,
      configs,
      azureMounts: async () => (await mounts.list()).filter((mount) => mount.type === 'azure').map((mount) => mount.path),
      log: (message) => console.warn(`azauth: ${message}`),
    }),
    endpoint: {
      maxRequestBytes: settings.AZAUTH_MAX_REQUEST_BYTES,
      // The audit key is loaded before the first request runs, so each request's record is written
      // inside its own invocation (after the first, this await is an already-settled promise).
      authorize: async (access, token, remoteAddress) => {
        await audit.ready();
        return authorizeCaller(access, token, remoteAddress);
      },
      audit: (entry, ctx) => audit.audit(entry, ctx),
    },
  };
}
