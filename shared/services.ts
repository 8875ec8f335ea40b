/**
 * The composition root: one set of long-lived objects per worker process (settings, table clients,
 * caches), built on first use from the app settings. Function files reach the core only through
 * this, so tests and the local host exercise exactly what Azure runs.
 */
import { readSettings, type Settings } from './settings';
import { adminPolicyFromSettings } from './access/admin-policy';
import { createAccessControl, type AccessControl } from './access/enforce';
import { PolicyStore } from './policies/store';
import { EntraTokenVerifier } from './entra/verify';
import { ConfigStore } from './config/store';
import type { DisableMountDeps } from './mounts/disable';
import { MountStore } from './mounts/store';
import { kvSecretsEngine, type SecretsEngine } from './mounts/secrets-engine';
import { createKeyring, type Keyring } from './crypto/keyring';
import { createKvEngine, type KvEngine } from './kv/store';
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
  /** What every Vault endpoint needs: body limit, the authorization decision, audit. */
  readonly endpoint: EndpointServices;
  /** The mount table: auth mounts (`sys/auth`) and secrets engines (`sys/mounts`). */
  readonly mounts: MountStore;
  /** ACL policies (`sys/policies/acl`) and the compiled ACLs of token policy sets. */
  readonly policies: PolicyStore;
  /** The one authorization decision, and the ACL of a token being looked at (`sys/capabilities`). */
  readonly access: AccessControl;
  /** Per-mount config (`auth/<mount>/config`); also opens the sealed client secret for colleagues. */
  readonly configs: ConfigStore;
  /** Per-mount roles (`auth/<mount>/role/<name>`). */
  readonly roles: RoleStore;
  /** Data keys (terms) sealed under the root key: `sys/rotate`, `sys/key-status`, and the KV engine's sealer. */
  readonly keyring: Keyring;
  /** The KV secrets engine (versions 1 and 2) behind `kv` mounts. */
  readonly kv: KvEngine;
  /** What the mount table needs of it: purging a disabled mount, finishing a v1 → v2 upgrade. */
  readonly secrets: SecretsEngine;
  /** What disabling a mount needs (`sys/auth`, `sys/mounts`, the `mounts` cleanup timer). */
  readonly disable: DisableMountDeps;
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
  const mounts = new MountStore(tables);
  // Server keys (batch-token key, audit HMAC key): generated once, sealed in the state table.
  const serverKeys = createServerKeys(() => tables.table(TABLES.state), settings);
  const tokenService = new TokenService({
    store: createTokenStore(
      () => tables.table(TABLES.tokens),
      () => tables.table(TABLES.tokenChildren),
    ),
    mounts,
    keys: serverKeys,
    system: { defaultTtl: settings.AZAUTH_DEFAULT_TTL, maxTtl: settings.AZAUTH_MAX_TTL },
    // Renewal re-reads the login's role from the role store (Vault's plugin renew handler).
    roles: { read: (mount, name) => roles.read(mount, name) },
  });
  const audit = createAuditSink(serverKeys);
  const policies = new PolicyStore(tables);
  const access = createAccessControl({
    tokens: tokenService,
    policies,
    verifier: entraVerifier,
    admin: adminPolicyFromSettings(settings),
    warn: (message) => console.warn(`azauth: ${message}`),
  });
  const configs = new ConfigStore(tables, settings);
  const login = new LoginService({
    mounts,
    roles,
    configs,
    settings,
    verifier: entraVerifier,
    issueToken: (spec) => tokenService.issueToken(spec),
  });
  const rotation = createRotationService({
    settings,
    tables,
    configs,
    azureMounts: async () => (await mounts.list('auth')).filter((mount) => mount.type === 'azure').map((mount) => mount.path),
    log: (message) => console.warn(`azauth: ${message}`),
  });
  // Data keys of the secrets engines, sealed under the root key (AZAUTH_ENCRYPTION_KEY[_NEXT]).
  const keyring = createKeyring(tables, settings);
  const kv = createKvEngine(tables, keyring);
  const secrets = kvSecretsEngine(kv, mounts);
  return {
    settings,
    tables,
    mounts,
    policies,
    access,
    keyring,
    kv,
    secrets,
    configs,
    roles,
    entraVerifier,
    tokens: tokenService,
    audit,
    login,
    rotation,
    disable: {
      mounts,
      configs,
      roles,
      rotation,
      revokeMountTokens: async (mount) => {
        await tokenService.revokeMountTokens(mount.path);
      },
      purgeSecretMount: (mount) => secrets.purgeMount(mount),
    },
    endpoint: {
      maxRequestBytes: settings.AZAUTH_MAX_REQUEST_BYTES,
      requestTimeoutSeconds: settings.AZAUTH_REQUEST_TIMEOUT,
      // The audit key is loaded before the first request runs, so each request's record is written
      // inside its own invocation (after the first, this await is an already-settled promise).
      checkAccess: async (request) => {
        await audit.ready();
        return access.check(request);
      },
      audit: (entry, ctx) => audit.audit(entry, ctx),
    },
  };
}
