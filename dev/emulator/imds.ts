// Azure Instance Metadata Service, one plain-HTTP listener per emulated VM: IMDS cannot tell
// callers apart (it answers whoever reaches 169.254.169.254 from inside the VM), so each VM gets
// its own port, and a workload points at it with AZURE_POD_IDENTITY_AUTHORITY_HOST (msal-node) or
// by URL (curl, Vault's Go helper). Formats per azure-identity-and-peers.md §3 and
// vault-wire-contract.md §5/§8.9: expires_in/expires_on/not_before are JSON strings.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ArmModel, ArmResource } from './arm-model';
import type { Entra } from './entra';
import { HttpError, queryParam, sendJson } from './http-util';
import { idKey } from './ids';
import { issueLocalToken } from './local-token';
import { ManagedIdentityTokenCache, selectIdentity } from './managed-identity';
import { type ServiceDeps, closeServer, listenLoopback, serviceListener } from './server';

export interface ImdsOptions {
  /** Lifetime of issued tokens in seconds; default 86400 (managed-identity tokens live about a day). */
  tokenLifetimeSeconds?: number;
  /** Hand out the same token (same uti) for repeat requests, as IMDS does; default true. */
  cacheTokens?: boolean;
}

interface ImdsListener {
  readonly server: Server;
  readonly url: string;
}

const AZ_ENVIRONMENT = { public: 'AzurePublicCloud', usgov: 'AzureUSGovernmentCloud', china: 'AzureChinaCloud' } as const;

function imdsError(status: number, error: string, description: string): HttpError {
  return new HttpError(status, { error, error_description: description });
}

export class ImdsHost {
  private readonly listeners = new Map<string, ImdsListener>();

  constructor(
    private readonly arm: ArmModel,
    private readonly entra: Entra,
    private readonly deps: ServiceDeps,
  ) {}

  /**
   * The IMDS base URL (http://127.0.0.1:PORT) for a VM, a uniform scale-set instance, or a flexible
   * member VM. A scale-set id stands for its first instance. One listener per resource, reused.
   */
  async urlFor(resourceId: string, opts: ImdsOptions = {}): Promise<string> {
    const vm = this.machine(resourceId);
    const existing = this.listeners.get(idKey(vm.id));
    if (existing !== undefined) return existing.url;
    const cache = opts.cacheTokens === false ? undefined : new ManagedIdentityTokenCache();
    const lifetime = opts.tokenLifetimeSeconds ?? 86_400;
    const server = createServer(
      serviceListener(this.deps, () => ({ service: 'imds', handler: (req, res, url) => this.handle(vm.id, lifetime, cache, req, res, url) })),
    );
    const port = await listenLoopback(server);
    const url = `http://127.0.0.1:${port}`;
    this.listeners.set(idKey(vm.id), { server, url });
    return url;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.listeners.values()].map((l) => closeServer(l.server)));
    this.listeners.clear();
  }

  private machine(resourceId: string): ArmResource {
    const resource = this.arm.get(resourceId);
    if (resource === undefined) throw new Error(`no such resource: ${resourceId}`);
    if (resource.kind === 'vm' || resource.kind === 'vmssVm') return resource;
    if (resource.kind === 'vmss') {
      const first = resource.members[0] === undefined ? undefined : this.arm.get(resource.members[0]);
      if (first === undefined) throw new Error(`scale set ${resource.id} has no instances`);
      return first;
    }
    throw new Error(`IMDS exists on VMs and scale-set instances only, not on ${resource.type}`);
  }

  private async handle(
    vmId: string,
    lifetime: number,
    cache: ManagedIdentityTokenCache | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): Promise<void> {
    // IMDS refuses proxied requests and anything without the exact `Metadata: true` header (its SSRF guard).
    if (req.headers['x-forwarded-for'] !== undefined) throw imdsError(400, 'invalid_request', 'Requests through a proxy (X-Forwarded-For) are not allowed');
    if (req.method !== 'GET') throw imdsError(405, 'invalid_request', 'Only GET is supported');
    const path = url.pathname.replace(/\/+$/, '').toLowerCase();
    if (req.headers['metadata'] !== 'true') {
      throw path.startsWith('/metadata/identity')
        ? imdsError(400, 'invalid_request', 'Required metadata header not specified')
        : new HttpError(400, { error: 'Bad request. Required metadata header not specified' });
    }
    const apiVersion = queryParam(url, 'api-version');
    if (apiVersion === undefined || apiVersion === '') {
      throw new HttpError(400, { error: 'Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds', newest_versions: ['2023-07-01', '2021-12-13', '2021-05-01'] });
    }
    const vm = this.arm.get(vmId);
    if (vm === undefined) throw imdsError(404, 'not_found', 'The virtual machine no longer exists');

    if (path === '/metadata/identity/oauth2/token') return this.token(vm, lifetime, cache, res, url);
    if (path === '/metadata/instance') return sendJson(res, 200, { compute: this.compute(vm), network: network() });
    if (path === '/metadata/instance/compute') return sendJson(res, 200, this.compute(vm));
    if (path === '/metadata/instance/network') return sendJson(res, 200, network());
    throw new HttpError(404, { error: 'Not found' });
  }

  private async token(vm: ArmResource, lifetime: number, cache: ManagedIdentityTokenCache | undefined, res: ServerResponse, url: URL): Promise<void> {
    const resource = queryParam(url, 'resource');
    if (resource === undefined || resource === '') throw imdsError(400, 'invalid_request', 'Required audience parameter not specified');
    const selection = selectIdentity(this.arm, vm, {
      clientId: queryParam(url, 'client_id'),
      objectId: queryParam(url, 'object_id'),
      resourceId: queryParam(url, 'msi_res_id') ?? queryParam(url, 'mi_res_id'),
    });
    if (!selection.ok) throw imdsError(400, 'invalid_request', selection.message);
    const issued = await issueLocalToken(this.entra, this.arm, { resourceId: vm.id, identity: selection.identity, audience: resource, lifetimeSeconds: lifetime, cache });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = String(Math.max(0, issued.exp - now));
    sendJson(res, 200, {
      access_token: issued.token,
      client_id: issued.clientId,
      expires_in: expiresIn,
      expires_on: String(issued.exp),
      ext_expires_in: expiresIn,
      not_before: String(issued.nbf),
      resource,
      token_type: 'Bearer',
      refresh_token: '',
    });
  }

  private compute(vm: ArmResource): Record<string, unknown> {
    const scaleSet = vm.scaleSetId === undefined ? undefined : this.arm.get(vm.scaleSetId);
    const tenant = this.arm.tenantOf(vm.subscriptionId);
    return {
      azEnvironment: AZ_ENVIRONMENT[this.entra.tenantCloud(tenant)],
      location: vm.location,
      name: vm.name,
      offer: '0001-com-ubuntu-server-jammy',
      osType: 'Linux',
      provider: 'Microsoft.Compute',
      publisher: 'canonical',
      resourceGroupName: vm.resourceGroup,
      resourceId: vm.id,
      sku: '22_04-lts-gen2',
      subscriptionId: vm.subscriptionId,
      tags: Object.entries(vm.tags).map(([k, v]) => `${k}:${v}`).join(';'),
      tagsList: Object.entries(vm.tags).map(([name, value]) => ({ name, value })),
      vmId: vm.vmId,
      vmScaleSetName: scaleSet?.name ?? '',
      vmSize: 'Standard_B2s',
      zone: '',
    };
  }
}

function network(): Record<string, unknown> {
  return {
    interface: [
      {
        ipv4: { ipAddress: [{ privateIpAddress: '10.0.0.4', publicIpAddress: '' }], subnet: [{ address: '10.0.0.0', prefix: '24' }] },
        ipv6: { ipAddress: [] },
        macAddress: '000D3A000001',
      },
    ],
  };
}
