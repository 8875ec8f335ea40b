// Azure Resource Manager, read-only: the GETs the product makes (vault-azure-auth-behaviour.md
// §4.4 and §6): VMs (with $expand=instanceView), scale sets and their instances, user-assigned
// identities (one, or listed per resource group with nextLink paging), resource providers, and any
// resource by id. Shapes follow what @azure/arm-compute 24.1.0 deserialises.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ArmModel, ArmResource } from './arm-model';
import { HttpError, bearerToken, queryParam, sendJson } from './http-util';
import type { KeyStore } from './keys';
import { verifyEmulatorToken } from './tokens';

/** ARM accepts its audience with or without a trailing slash, in each cloud, and the legacy core URI. */
export const ARM_AUDIENCES: readonly string[] = [
  'https://management.azure.com',
  'https://management.core.windows.net',
  'https://management.usgovcloudapi.net',
  'https://management.core.usgovcloudapi.net',
  'https://management.chinacloudapi.cn',
  'https://management.core.chinacloudapi.cn',
].flatMap((a) => [a, `${a}/`]);

function armError(status: number, code: string, message: string, headers: Record<string, string> = {}): HttpError {
  return new HttpError(status, { error: { code, message } }, headers);
}

export function armErrorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export class ArmService {
  constructor(
    private readonly model: ArmModel,
    private readonly keys: KeyStore,
    private readonly baseUrl: string,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    await this.authenticate(req);
    const apiVersion = queryParam(url, 'api-version');
    if (apiVersion === undefined || apiVersion === '') {
      throw armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    }
    if ((req.method ?? 'GET') !== 'GET') {
      throw armError(405, 'MethodNotAllowed', `The emulator's ARM is read-only; seed resources through its API instead of ${req.method ?? ''}.`);
    }
    let path: string;
    try {
      path = decodeURIComponent(url.pathname).replace(/\/+$/, '');
    } catch {
      throw armError(400, 'InvalidRequestUri', `The request URI ${url.pathname} is not valid.`);
    }
    const headers = { 'x-ms-request-id': randomUUID(), 'x-ms-ratelimit-remaining-subscription-reads': '11999' };

    const provider = /^\/subscriptions\/([^/]+)\/providers\/([^/]+)$/i.exec(path);
    if (provider !== null) return sendJson(res, 200, this.provider(provider[1] ?? '', provider[2] ?? ''), headers);

    const list = /^\/subscriptions\/([^/]+)(?:\/resourcegroups\/([^/]+))?\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities$/i.exec(path);
    if (list !== null) return sendJson(res, 200, this.listIdentities(url, path, apiVersion, list[1] ?? '', list[2]), headers);

    const resource = this.model.get(path);
    if (resource === undefined) throw notFound(path);
    const expand = queryParam(url, '$expand');
    return sendJson(res, 200, this.render(resource, expand?.toLowerCase() === 'instanceview'), headers);
  }

  private async authenticate(req: IncomingMessage): Promise<void> {
    const challenge = { 'www-authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The authentication failed"' };
    const token = bearerToken(req);
    if (token === undefined) throw armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", challenge);
    const verified = await verifyEmulatorToken(this.keys, token, ARM_AUDIENCES);
    if (!verified.ok) throw armError(401, 'AuthenticationFailed', `Authentication failed: ${verified.reason}.`, challenge);
  }

  private provider(subscriptionId: string, namespace: string): Record<string, unknown> {
    const entry = this.model.provider(namespace);
    if (entry === undefined) throw armError(404, 'InvalidResourceNamespace', `The resource namespace '${namespace}' is invalid.`);
    return {
      id: `/subscriptions/${subscriptionId}/providers/${entry.namespace}`,
      namespace: entry.namespace,
      registrationState: 'Registered',
      registrationPolicy: 'RegistrationRequired',
      resourceTypes: entry.types.map((t) => ({
        resourceType: t.resourceType,
        locations: ['East US', 'West Europe', 'North Europe', 'West US 2'],
        apiVersions: [...t.apiVersions],
        capabilities: 'None',
      })),
    };
  }

  private listIdentities(url: URL, path: string, apiVersion: string, subscriptionId: string, resourceGroup: string | undefined): Record<string, unknown> {
    const all = this.model.listUserAssignedIdentities(subscriptionId, resourceGroup);
    const skip = Number.parseInt(queryParam(url, '$skiptoken') ?? '0', 10);
    const start = Number.isFinite(skip) && skip > 0 ? skip : 0;
    const pageSize = Math.max(1, this.model.pageSize);
    const page = all.slice(start, start + pageSize);
    const body: Record<string, unknown> = { value: page.map((r) => this.render(r, false)) };
    if (start + pageSize < all.length) {
      const next = new URL(`${this.baseUrl}${path}`);
      next.searchParams.set('api-version', apiVersion);
      next.searchParams.set('$skiptoken', String(start + pageSize));
      body['nextLink'] = next.toString();
    }
    return body;
  }

  private identityBlock(resource: ArmResource, principalsOfUserAssigned: boolean): Record<string, unknown> | undefined {
    const { system, userAssigned } = this.model.effectiveIdentities(resource);
    if (system === undefined && userAssigned.length === 0) return undefined;
    const type = system !== undefined && userAssigned.length > 0 ? 'SystemAssigned, UserAssigned' : system !== undefined ? 'SystemAssigned' : 'UserAssigned';
    const block: Record<string, unknown> = { type };
    if (system !== undefined) {
      block['principalId'] = system.principalId;
      block['tenantId'] = system.tenantId;
    }
    if (userAssigned.length > 0) {
      block['userAssignedIdentities'] = Object.fromEntries(
        userAssigned.map((u) => [
          u.id,
          // A Flexible scale set's GET lists its user-assigned identities without principal ids
          // (Vault looks each one up); everything else includes them.
          principalsOfUserAssigned && u.principal !== undefined ? { principalId: u.principal.principalId, clientId: u.principal.clientId } : {},
        ]),
      );
    }
    return block;
  }

  private render(resource: ArmResource, instanceView: boolean): Record<string, unknown> {
    const common = { id: resource.id, name: resource.name, type: resource.type, location: resource.location, tags: { ...resource.tags } };
    switch (resource.kind) {
      case 'uami': {
        const p = resource.principal;
        return { ...common, properties: { tenantId: p?.tenantId, principalId: p?.principalId, clientId: p?.clientId, isolationScope: 'None' } };
      }
      case 'vm': {
        const properties: Record<string, unknown> = {
          vmId: resource.vmId,
          hardwareProfile: { vmSize: 'Standard_B2s' },
          provisioningState: 'Succeeded',
          timeCreated: '2024-01-01T00:00:00.0000000+00:00',
        };
        if (resource.scaleSetId !== undefined) properties['virtualMachineScaleSet'] = { id: resource.scaleSetId };
        if (instanceView) properties['instanceView'] = vmInstanceView(resource.name);
        return { ...common, ...optional('identity', this.identityBlock(resource, true)), properties };
      }
      case 'vmss':
        return {
          ...common,
          sku: { name: 'Standard_B2s', tier: 'Standard', capacity: resource.members.length },
          ...optional('identity', this.identityBlock(resource, resource.orchestration !== 'Flexible')),
          properties: {
            orchestrationMode: resource.orchestration,
            uniqueId: resource.uniqueId,
            provisioningState: 'Succeeded',
            platformFaultDomainCount: 1,
            ...(resource.orchestration === 'Uniform' ? { upgradePolicy: { mode: 'Manual' }, singlePlacementGroup: true } : {}),
            timeCreated: '2024-01-01T00:00:00.0000000+00:00',
          },
        };
      case 'vmssVm':
        return {
          ...common,
          instanceId: resource.instanceId,
          sku: { name: 'Standard_B2s', tier: 'Standard' },
          ...optional('identity', this.identityBlock(resource, true)),
          properties: {
            vmId: resource.vmId,
            latestModelApplied: true,
            provisioningState: 'Succeeded',
            ...(instanceView ? { instanceView: vmInstanceView(resource.name) } : {}),
          },
        };
      case 'generic':
        return {
          ...common,
          ...(resource.resourceKind === undefined ? {} : { kind: resource.resourceKind }),
          ...optional('identity', this.identityBlock(resource, true)),
          properties: { provisioningState: 'Succeeded', ...resource.properties },
        };
    }
  }
}

function optional(key: string, value: Record<string, unknown> | undefined): Record<string, unknown> {
  return value === undefined ? {} : { [key]: value };
}

function vmInstanceView(name: string): Record<string, unknown> {
  return {
    computerName: name,
    osName: 'ubuntu',
    osVersion: '22.04',
    statuses: [
      { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
      { code: 'PowerState/running', level: 'Info', displayStatus: 'VM running' },
    ],
  };
}

function notFound(path: string): HttpError {
  const rg = /\/resourcegroups\/([^/]+)/i.exec(path)?.[1];
  const typed = /\/providers\/(.+)$/i.exec(path)?.[1] ?? path;
  return armError(
    404,
    'ResourceNotFound',
    `The Resource '${typed}' under resource group '${rg ?? ''}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}
