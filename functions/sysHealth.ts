/**
 * `GET|HEAD /v1/sys/health`: public, answers like Vault (always initialized, unsealed and active).
 * Other verbs get 405, as in Vault, so the route takes every method and lets the adapter refuse.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { clusterIdentity, healthAnswer, productVersion } from '../shared/system/health';
import { vaultEndpoint, type HttpHandlerLike } from '../shared/vault/endpoint';
import type { PathDefinition } from '../shared/vault/types';

export const sysHealthPath: PathDefinition = {
  pattern: 'sys/health',
  // Vault's unauthenticated path: no token is needed, and one sent is not looked at.
  unauthenticated: true,
  operations: {
    read: {
      handler: async (req) => {
        const identity = { version: productVersion(), ...clusterIdentity(appServices().settings) };
        const answer = healthAnswer(req.data, identity, new Date());
        return { kind: 'raw', status: answer.status, body: answer.body };
      },
    },
  },
};

const endpoint = vaultEndpoint(sysHealthPath, () => appServices().endpoint);

/** HEAD is GET without a body (Vault's handleSysHealthHead). */
export const sysHealthHandler: HttpHandlerLike = async (req, ctx) => {
  if (req.method.toUpperCase() !== 'HEAD') return endpoint(req, ctx);
  const response = await endpoint(
    { method: 'GET', url: req.url, headers: req.headers, params: req.params, text: () => req.text() },
    ctx,
  );
  return { status: response.status, headers: response.headers };
};

app.http('sysHealth', {
  route: 'sys/health',
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: sysHealthHandler,
});
