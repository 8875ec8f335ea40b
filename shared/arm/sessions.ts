/**
 * One ARM session per distinct set of credentials and endpoint: the credential (with its token
 * cache) and the ARM clients are built once and reused by every login of every mount that shares
 * them. A changed client secret or retry setting gives a new session; old ones age out.
 *
 * Each session also names its credential (`credentialKey`, a digest over endpoint, tenant and
 * credential, retry settings left out) for the ARM facts cache: mounts share facts only when they
 * read ARM with the very same credential.
 */
import { createHash } from 'node:crypto';
import { createArmCredential, credentialKind, type ArmCredentialSpec } from './credentials';
import { createArmReader, type ArmReader } from './reader';
import type { ArmSession } from './resource-facts';

export interface ArmSessionSpec extends ArmCredentialSpec {
  /** ARM base URL, no trailing slash. */
  readonly endpoint: string;
  /** Token scope for ARM, e.g. `https://management.azure.com/.default`. */
  readonly scope: string;
  readonly maxRetries: number;
  readonly retryDelaySeconds: number;
  readonly maxRetryDelaySeconds: number;
}

/** Upper bound on one ARM read, retries included, so a slow ARM cannot hold logins indefinitely. */
const ARM_READ_DEADLINE_MS = 30_000;
const MAX_SESSIONS = 32;

export class ArmSessions {
  private readonly sessions = new Map<string, ArmSession>();

  forSpec(spec: ArmSessionSpec): ArmSession {
    const key = fingerprint(spec);
    const existing = this.sessions.get(key);
    if (existing) return existing;
    let reader: Promise<ArmReader> | undefined;
    const session: ArmSession = {
      endpoint: spec.endpoint,
      credentialKey: credentialKeyOf(spec),
      reader: () => {
        if (!reader) {
          const building = (async () =>
            createArmReader({
              credential: await createArmCredential(spec),
              endpoint: spec.endpoint,
              scope: spec.scope,
              maxRetries: spec.maxRetries,
              retryDelaySeconds: spec.retryDelaySeconds,
              maxRetryDelaySeconds: spec.maxRetryDelaySeconds,
              deadlineMs: ARM_READ_DEADLINE_MS,
            }))();
          reader = building;
          // A failed build (bad configuration) is not remembered: the next login tries again.
          building.catch(() => {
            if (reader === building) reader = undefined;
          });
        }
        return reader;
      },
    };
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next();
      if (oldest.done !== true) this.sessions.delete(oldest.value);
    }
    this.sessions.set(key, session);
    return session;
  }
}

/** A key over every field; the secret only as part of a hash, never kept as a map key. */
function fingerprint(spec: ArmSessionSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
}

/** Who reads ARM, and where: everything that decides what ARM lets the reader see, as a digest. */
function credentialKeyOf(spec: ArmSessionSpec): string {
  const who = [
    spec.endpoint,
    spec.tenantId.toLowerCase(),
    spec.authorityHost,
    credentialKind(spec),
    spec.clientId.toLowerCase(),
    spec.clientSecret,
    spec.identityTokenAudience,
    spec.managedIdentityClientId ?? '',
  ];
  return createHash('sha256').update(JSON.stringify(who)).digest('hex');
}
