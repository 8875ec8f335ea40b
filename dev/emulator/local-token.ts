// Token issuance shared by the two local managed-identity endpoints (IMDS and App Service):
// resolve the identity on the resource, mint (or reuse from cache) the token Entra would issue.
import type { ArmModel } from './arm-model';
import type { Entra } from './entra';
import { type ManagedIdentityTokenCache, managedIdentityMintSpec, resolveIdentity } from './managed-identity';

export interface LocalTokenRequest {
  readonly resourceId: string;
  readonly identity: 'system' | string;
  readonly audience: string;
  readonly lifetimeSeconds: number;
  readonly cache: ManagedIdentityTokenCache | undefined;
}

export interface LocalToken {
  readonly token: string;
  readonly exp: number;
  readonly nbf: number;
  readonly clientId: string;
}

export async function issueLocalToken(entra: Entra, arm: ArmModel, request: LocalTokenRequest): Promise<LocalToken> {
  const principal = resolveIdentity(arm, request.resourceId, request.identity).principal;
  const mint = async (): Promise<{ token: string; exp: number; nbf: number }> => {
    const now = Math.floor(Date.now() / 1000);
    const nbf = now - 300;
    const exp = now + request.lifetimeSeconds;
    const spec = managedIdentityMintSpec(arm, {
      audience: request.audience,
      resourceId: request.resourceId,
      identity: request.identity,
      overrides: { iat: nbf, nbf, exp },
    });
    return { token: await entra.mintToken(spec), exp, nbf };
  };
  const key = `${principal.principalId}|${request.resourceId.toLowerCase()}|${request.audience}`;
  const minted = request.cache === undefined ? await mint() : await request.cache.get(key, mint);
  return { ...minted, clientId: principal.clientId };
}
