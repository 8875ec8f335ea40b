/**
 * The function app's own Azure credential for ARM, chosen in Vault's order:
 *   1. the mount's `client_secret` (with its `client_id` and tenant) → client-secret credential;
 *   2. the mount's `identity_token_audience` → workload identity federation: a client-assertion
 *      credential for `client_id` whose assertion is the app's own managed-identity token for that
 *      audience (Vault sends its plugin identity token here; the app's managed identity is ours);
 *   3. otherwise the app's managed identity, user-assigned when AZAUTH_MANAGED_IDENTITY_CLIENT_ID
 *      names one.
 *
 * `@azure/identity` is loaded only when a credential is first built: logins that need no ARM call
 * never pay for its import.
 */
import type { ComputeManagementClient } from '@azure/arm-compute';
import { VaultError } from '../vault/errors';

/** What the ARM clients accept (core-auth's TokenCredential, named through the client that takes it). */
export type TokenCredential = ConstructorParameters<typeof ComputeManagementClient>[0];

export interface ArmCredentialSpec {
  readonly tenantId: string;
  /** The mount's `client_id`; "" when none. */
  readonly clientId: string;
  /** The mount's client secret in plain text; "" when none. */
  readonly clientSecret: string;
  /** The mount's `identity_token_audience`; "" when none. */
  readonly identityTokenAudience: string;
  /** Entra authority for this cloud (or the override), e.g. `https://login.microsoftonline.com`. */
  readonly authorityHost: string;
  /** AZAUTH_MANAGED_IDENTITY_CLIENT_ID; undefined = system-assigned. */
  readonly managedIdentityClientId: string | undefined;
}

export type CredentialKind = 'client-secret' | 'workload-identity-federation' | 'managed-identity';

export function credentialKind(spec: ArmCredentialSpec): CredentialKind {
  if (spec.clientSecret !== '') return 'client-secret';
  if (spec.identityTokenAudience !== '') return 'workload-identity-federation';
  return 'managed-identity';
}

/** The scope of a token for `resource`, as Entra's v2 endpoint expects it. */
export function scopeFor(resource: string): string {
  return resource.endsWith('/') ? `${resource}.default` : `${resource}/.default`;
}

export async function createArmCredential(spec: ArmCredentialSpec): Promise<TokenCredential> {
  const identity = await import('@azure/identity');
  const managedIdentity = (): TokenCredential =>
    spec.managedIdentityClientId ? new identity.ManagedIdentityCredential({ clientId: spec.managedIdentityClientId }) : new identity.ManagedIdentityCredential();
  // The authority override may point at a private cloud or the local emulator; instance discovery
  // would ask the public cloud which authorities exist, so it is always off.
  const authority = { authorityHost: spec.authorityHost, disableInstanceDiscovery: true } as const;
  switch (credentialKind(spec)) {
    case 'client-secret':
      if (spec.clientId === '') throw armCredentialProblem('client_secret is configured without client_id');
      return new identity.ClientSecretCredential(spec.tenantId, spec.clientId, spec.clientSecret, authority);
    case 'workload-identity-federation': {
      if (spec.clientId === '') throw armCredentialProblem('identity_token_audience is configured without client_id');
      const own = managedIdentity();
      const scope = scopeFor(spec.identityTokenAudience);
      const assertion = async (): Promise<string> => {
        const token = await own.getToken(scope);
        if (!token) throw armCredentialProblem(`the app's managed identity returned no token for ${spec.identityTokenAudience}`);
        return token.token;
      };
      return new identity.ClientAssertionCredential(spec.tenantId, spec.clientId, assertion, authority);
    }
    case 'managed-identity':
      return managedIdentity();
  }
}

function armCredentialProblem(detail: string): VaultError {
  return new VaultError('arm_unavailable', `ARM credentials: ${detail}`);
}
