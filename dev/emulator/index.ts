// Local cloud emulator: Entra ID, IMDS, the App Service identity endpoint, Azure Resource Manager
// and Microsoft Graph on loopback, speaking the real wire formats so production code (jose's
// createRemoteJWKSet, @azure/identity, @azure/arm-compute, plain fetch to Graph) runs unchanged.
//
//   const cloud = await startCloudEmulator();
//   // child processes: NODE_EXTRA_CA_CERTS=cloud.caCertPath, AZURE_AUTHORITY_HOST=cloud.url,
//   //                  AZAUTH_ARM_ENDPOINT=cloud.url, AZAUTH_GRAPH_ENDPOINT=cloud.url
//   const vm = cloud.arm.addVm({ subscriptionId, resourceGroup: 'rg', name: 'vm1', location: 'eastus', systemAssigned: true });
//   const jwt = await cloud.entra.mintManagedIdentityToken({ audience: 'https://management.azure.com/', resourceId: vm.id });
//   await cloud.stop();
import { randomUUID } from 'node:crypto';
import type { Agent } from 'node:https';
import { createServer as createHttpsServer } from 'node:https';
import { type AppServiceIdentityEndpoint, AppServiceIdentityHost, type AppServiceIdentityOptions } from './appservice-identity';
import { ArmService } from './arm';
import { ArmModel } from './arm-model';
import { createEmulatorTls } from './ca';
import { type CaFetch, caAgent, createCaFetch } from './client';
import { Entra } from './entra';
import { Faults, type RequestFilter, RequestLog, type RequestRecord, type ServiceName } from './faults';
import { GraphService } from './graph';
import { GraphModel } from './graph-model';
import { ImdsHost, type ImdsOptions } from './imds';
import { KeyStore } from './keys';
import { type ServiceHandler, closeServer, listenLoopback, serviceListener } from './server';
import { TokenMinter } from './tokens';

export type { AppServiceIdentityEndpoint, AppServiceIdentityOptions } from './appservice-identity';
export type { AddResourceOptions, AddScaleSetOptions, AddUserAssignedIdentityOptions, AddVmOptions, ArmModel, ArmResource, PrincipalRecord, SeededIdentity, SeededScaleSet, SeededUserAssignedIdentity, SeededVm } from './arm-model';
export { ARM_AUDIENCES } from './arm';
export { type CaFetch, type CaFetchInit, caAgent, createCaFetch } from './client';
export type { Entra, TenantOptions } from './entra';
export type { FaultHandle, FaultSpec, Faults, RequestFilter, RequestRecord, ServiceName } from './faults';
export { GRAPH_AUDIENCES } from './graph';
export type { AddApplicationOptions, AddedApplication, FederatedCredential, GraphModel, PasswordCredential } from './graph-model';
export type { ImdsOptions } from './imds';
export { FEDERATION_AUDIENCE, type ManagedIdentityTokenSpec, isFirstPartyAudience } from './managed-identity';
export type { Cloud, MintSpec, TokenAttack, TokenVersion } from './tokens';

export interface CloudEmulatorOptions {
  /** HTTPS port for Entra, ARM and Graph; default an ephemeral port. */
  port?: number;
  /** Id of the tenant created at start (subscriptions and applications default to it); default random. */
  defaultTenantId?: string;
}

export interface CloudEmulator {
  /** https://127.0.0.1:PORT: value for AZURE_AUTHORITY_HOST, AZAUTH_ARM_ENDPOINT and AZAUTH_GRAPH_ENDPOINT. */
  readonly url: string;
  /** File holding the CA certificate, for NODE_EXTRA_CA_CERTS in child processes. */
  readonly caCertPath: string;
  /** The CA certificate, for in-process `https.Agent({ ca })`. */
  readonly caCertPem: string;
  readonly defaultTenantId: string;
  readonly entra: Entra;
  readonly arm: ArmModel;
  readonly graph: GraphModel;
  readonly faults: Faults;
  /** Requests served so far (all services), oldest first. */
  requests(filter?: RequestFilter): RequestRecord[];
  count(filter?: RequestFilter): number;
  resetCounts(): void;
  /** Plain-HTTP IMDS for one VM / scale-set instance (http://127.0.0.1:PORT, the AZURE_POD_IDENTITY_AUTHORITY_HOST value). */
  imdsFor(resourceId: string, opts?: ImdsOptions): Promise<string>;
  /** Plain-HTTP App Service identity endpoint for the function app's own identity. */
  appServiceIdentity(opts?: AppServiceIdentityOptions): Promise<AppServiceIdentityEndpoint>;
  /** An https.Agent trusting the emulator's CA. */
  httpsAgent(): Agent;
  /** fetch for https URLs trusting the emulator's CA (e.g. jose's customFetch). */
  readonly fetch: CaFetch;
  /** Closes every listener and removes the CA temp file. Idempotent. */
  stop(): Promise<void>;
}

export async function startCloudEmulator(opts: CloudEmulatorOptions = {}): Promise<CloudEmulator> {
  const [tls, keys] = await Promise.all([createEmulatorTls(), KeyStore.create()]);
  const faults = new Faults();
  const log = new RequestLog();
  const deps = { faults, log };

  // Listen first: every document and token names the URL, which is only known once bound.
  const server = createHttpsServer({ key: tls.keyPem, cert: tls.certPem });
  let port: number;
  try {
    port = await listenLoopback(server, opts.port ?? 0);
  } catch (err) {
    await tls.dispose();
    throw err;
  }
  const baseUrl = `https://127.0.0.1:${port}`;

  const defaultTenantId = (opts.defaultTenantId ?? randomUUID()).toLowerCase();
  const minter = new TokenMinter(keys, baseUrl);
  const arm = new ArmModel(defaultTenantId);
  const graph = new GraphModel(defaultTenantId);
  const entra = new Entra(baseUrl, keys, minter, arm, defaultTenantId);
  const armService = new ArmService(arm, keys, baseUrl);
  const graphService = new GraphService(graph, keys);
  const tokenContext = { baseUrl, graph, keys, mint: (spec: Parameters<Entra['mintToken']>[0]) => entra.mintToken(spec) };
  const imds = new ImdsHost(arm, entra, deps);
  const identity = new AppServiceIdentityHost(arm, entra, deps);

  const routes: Record<'entra' | 'arm' | 'graph', ServiceHandler> = {
    entra: (req, res, url) => entra.handle(req, res, url, tokenContext),
    arm: (req, res, url) => armService.handle(req, res, url),
    graph: (req, res, url) => graphService.handle(req, res, url),
  };
  // One HTTPS origin serves all three, told apart by path as their real hosts' paths never overlap.
  server.on(
    'request',
    serviceListener(deps, (url) => {
      const service = serviceForPath(url.pathname);
      return { service, handler: routes[service] };
    }),
  );

  let stopped: Promise<void> | undefined;
  const agent = caAgent(tls.caCertPem);
  return {
    url: baseUrl,
    caCertPath: tls.caCertPath,
    caCertPem: tls.caCertPem,
    defaultTenantId,
    entra,
    arm,
    graph,
    faults,
    requests: (filter) => log.requests(filter),
    count: (filter) => log.count(filter),
    resetCounts: () => log.reset(),
    imdsFor: (resourceId, imdsOpts) => imds.urlFor(resourceId, imdsOpts),
    appServiceIdentity: (identityOpts) => identity.start(identityOpts),
    httpsAgent: () => agent,
    fetch: createCaFetch(tls.caCertPem),
    stop: () => {
      stopped ??= (async () => {
        agent.destroy();
        await Promise.all([closeServer(server), imds.closeAll(), identity.closeAll()]);
        await tls.dispose();
      })();
      return stopped;
    },
  };
}

function serviceForPath(pathname: string): Extract<ServiceName, 'entra' | 'arm' | 'graph'> {
  const lower = pathname.toLowerCase();
  if (lower.startsWith('/v1.0/') || lower === '/v1.0' || lower.startsWith('/beta/')) return 'graph';
  if (lower.startsWith('/subscriptions/') || lower.startsWith('/providers/')) return 'arm';
  return 'entra';
}
