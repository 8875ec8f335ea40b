// Entra application registrations as Microsoft Graph exposes them: password credentials (client
// secrets) and federated identity credentials. The token endpoint authenticates clients against
// this same state, so a password removed through Graph stops working at once and a new one works
// at once (real Entra takes a while to replicate; the product adds its own delay for that).
import { randomBytes, randomUUID } from 'node:crypto';
import { assertGuid } from './ids';

export interface PasswordCredential {
  readonly keyId: string;
  readonly displayName: string | null;
  /** First three characters of the secret, as Graph shows them. */
  readonly hint: string;
  readonly secretText: string;
  readonly startDateTime: string;
  readonly endDateTime: string;
}

export interface FederatedCredential {
  readonly id: string;
  readonly name: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audiences: readonly string[];
}

export interface ApplicationRecord {
  /** Object id (what /applications/{id} addresses). */
  readonly id: string;
  readonly appId: string;
  readonly displayName: string;
  readonly tenantId: string;
  readonly servicePrincipalId: string;
  readonly createdDateTime: string;
  passwords: PasswordCredential[];
  federated: FederatedCredential[];
}

export interface AddApplicationOptions {
  displayName?: string;
  /** Reuse an appId to model the "multiple applications found" misconfiguration. Random by default. */
  appId?: string;
  /** Default: the emulator's default tenant. */
  tenantId?: string;
  /** Create an initial password (default true). */
  withPassword?: boolean;
}

export interface AddedApplication {
  readonly id: string;
  readonly appId: string;
  readonly servicePrincipalId: string;
  readonly tenantId: string;
  readonly password?: { readonly keyId: string; readonly secretText: string };
}

export type SecretCheck = 'ok' | 'invalid' | 'expired';

const TWO_YEARS_MS = 2 * 365 * 24 * 3_600_000;
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~';

/** A 40-character secret shaped like Entra's: three characters, `8Q~`, then 34 more. */
function newSecret(): string {
  const bytes = randomBytes(37);
  const chars = [...bytes].map((b) => SECRET_ALPHABET[b % SECRET_ALPHABET.length] ?? 'A');
  return `${chars.slice(0, 3).join('')}8Q~${chars.slice(3, 37).join('')}`;
}

export class GraphModel {
  private readonly apps = new Map<string, ApplicationRecord>();

  constructor(private readonly defaultTenantId: string) {}

  addApplication(opts: AddApplicationOptions = {}): AddedApplication {
    const appId = opts.appId ?? randomUUID();
    assertGuid(appId, 'appId');
    const tenantId = opts.tenantId ?? this.defaultTenantId;
    assertGuid(tenantId, 'tenantId');
    const app: ApplicationRecord = {
      id: randomUUID(),
      appId,
      displayName: opts.displayName ?? `app-${appId.slice(0, 8)}`,
      tenantId,
      servicePrincipalId: randomUUID(),
      createdDateTime: new Date().toISOString(),
      passwords: [],
      federated: [],
    };
    this.apps.set(app.id, app);
    const base = { id: app.id, appId, servicePrincipalId: app.servicePrincipalId, tenantId };
    if (opts.withPassword === false) return base;
    const password = this.addPassword(app.id, { displayName: 'initial' });
    return { ...base, password: { keyId: password.keyId, secretText: password.secretText } };
  }

  removeApplication(id: string): boolean {
    return this.apps.delete(id.toLowerCase());
  }

  application(id: string): ApplicationRecord | undefined {
    return this.apps.get(id.toLowerCase());
  }

  /** Applications with this appId in a tenant (or in any tenant when tenantId is omitted). */
  findByAppId(appId: string, tenantId?: string): ApplicationRecord[] {
    return [...this.apps.values()].filter(
      (a) => a.appId.toLowerCase() === appId.toLowerCase() && (tenantId === undefined || a.tenantId.toLowerCase() === tenantId.toLowerCase()),
    );
  }

  applicationsInTenant(tenantId: string): ApplicationRecord[] {
    return [...this.apps.values()].filter((a) => a.tenantId.toLowerCase() === tenantId.toLowerCase());
  }

  addPassword(appObjectId: string, opts: { displayName?: string | null; endDateTime?: string; startDateTime?: string } = {}): PasswordCredential {
    const app = this.require(appObjectId);
    const now = Date.now();
    const secretText = newSecret();
    const credential: PasswordCredential = {
      keyId: randomUUID(),
      displayName: opts.displayName ?? null,
      hint: secretText.slice(0, 3),
      secretText,
      startDateTime: opts.startDateTime ?? new Date(now).toISOString(),
      endDateTime: opts.endDateTime ?? new Date(now + TWO_YEARS_MS).toISOString(),
    };
    app.passwords.push(credential);
    return credential;
  }

  removePassword(appObjectId: string, keyId: string): boolean {
    const app = this.require(appObjectId);
    const before = app.passwords.length;
    app.passwords = app.passwords.filter((p) => p.keyId.toLowerCase() !== keyId.toLowerCase());
    return app.passwords.length !== before;
  }

  /** Current passwords, secrets included (tests only: Graph never returns secretText after creation). */
  passwords(appObjectId: string): readonly PasswordCredential[] {
    return [...this.require(appObjectId).passwords];
  }

  addFederatedCredential(appObjectId: string, opts: { issuer: string; subject: string; audiences: readonly string[]; name?: string }): FederatedCredential {
    const app = this.require(appObjectId);
    if (opts.audiences.length === 0) throw new Error('a federated credential needs at least one audience');
    const credential: FederatedCredential = {
      id: randomUUID(),
      name: opts.name ?? `fic-${app.federated.length + 1}`,
      issuer: opts.issuer,
      subject: opts.subject,
      audiences: [...opts.audiences],
    };
    app.federated.push(credential);
    return credential;
  }

  removeFederatedCredential(appObjectId: string, credentialId: string): boolean {
    const app = this.require(appObjectId);
    const before = app.federated.length;
    app.federated = app.federated.filter((f) => f.id !== credentialId);
    return app.federated.length !== before;
  }

  /** Whether `secret` is a password of the application, within its validity window. */
  checkSecret(app: ApplicationRecord, secret: string, now = Date.now()): SecretCheck {
    const password = app.passwords.find((p) => p.secretText === secret);
    if (password === undefined) return 'invalid';
    if (Date.parse(password.startDateTime) > now + 300_000) return 'invalid';
    return Date.parse(password.endDateTime) <= now ? 'expired' : 'ok';
  }

  private require(appObjectId: string): ApplicationRecord {
    const app = this.application(appObjectId);
    if (app === undefined) throw new Error(`no application with object id ${appObjectId}`);
    return app;
  }
}
