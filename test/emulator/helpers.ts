// Shared bits of the emulator tests.
import type { Agent } from 'node:https';
import type { ClientSecretCredentialOptions } from '@azure/identity';
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from 'jose';
import type { CloudEmulator } from '../../dev/emulator/index';

export const SUB = '5f1c2c36-1b0c-4f6e-9d0e-3a9a2b6c7d01';
export const SUB2 = '6a2d3d47-2c1d-4a7f-8e1f-4b0b3c7d8e02';
export const ARM = 'https://management.azure.com/';

type AdditionalPolicy = NonNullable<ClientSecretCredentialOptions['additionalPolicies']>[number];

/**
 * A per-call pipeline policy that sends Azure SDK requests through an https.Agent trusting the
 * emulator's CA. In-process only; child processes use NODE_EXTRA_CA_CERTS instead.
 */
export function trustEmulator(agent: Agent): AdditionalPolicy[] {
  return [
    {
      position: 'perCall',
      policy: {
        name: 'trustCloudEmulatorCa',
        sendRequest: (request, next) => {
          request.agent = agent;
          return next(request);
        },
      },
    },
  ];
}

/** Verifies a token the way the product does: remote JWKS from the discovery document's jwks_uri. */
export async function verifyWithDiscovery(
  cloud: CloudEmulator,
  token: string,
  opts: { tenant: string; version: '1.0' | '2.0'; audience: string },
): Promise<JWTPayload> {
  const discoveryUrl = cloud.entra.discoveryUrl(opts.tenant, opts.version);
  const discovery = (await (await cloud.fetch(discoveryUrl)).json()) as { issuer: string; jwks_uri: string };
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri), { [customFetch]: cloud.fetch });
  const { payload } = await jwtVerify(token, jwks, { issuer: discovery.issuer, audience: opts.audience, algorithms: ['RS256'] });
  return payload;
}

export function decodePayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function decodeHeader(token: string): Record<string, unknown> {
  const part = token.split('.')[0] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
