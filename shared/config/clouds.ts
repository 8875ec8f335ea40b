/**
 * The Azure clouds an `azure` mount can be configured for, and their endpoints. Names match Vault's
 * `environment` values case-insensitively; Azure Germany is gone and Vault's code refuses it too.
 */
export type CloudName = 'AzurePublicCloud' | 'AzureChinaCloud' | 'AzureUSGovernmentCloud';

export interface CloudEndpoints {
  readonly name: CloudName;
  /** Entra authority host, with a trailing slash, e.g. `https://login.microsoftonline.com/`. */
  readonly authorityHost: string;
  /** Azure Resource Manager base URL, no trailing slash. */
  readonly resourceManager: string;
  /** Microsoft Graph base URL, no trailing slash (calls go to `<graph>/v1.0`). */
  readonly graph: string;
}

const CLOUDS: Record<CloudName, CloudEndpoints> = {
  AzurePublicCloud: {
    name: 'AzurePublicCloud',
    authorityHost: 'https://login.microsoftonline.com/',
    resourceManager: 'https://management.azure.com',
    graph: 'https://graph.microsoft.com',
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    authorityHost: 'https://login.chinacloudapi.cn/',
    resourceManager: 'https://management.chinacloudapi.cn',
    graph: 'https://microsoftgraph.chinacloudapi.cn',
  },
  AzureUSGovernmentCloud: {
    name: 'AzureUSGovernmentCloud',
    authorityHost: 'https://login.microsoftonline.us/',
    resourceManager: 'https://management.usgovcloudapi.net',
    graph: 'https://graph.microsoft.us',
  },
};

/** The cloud for an `environment` value; "" means the public cloud. Undefined for an unknown name. */
export function cloudByName(environment: string): CloudEndpoints | undefined {
  if (environment === '') return CLOUDS.AzurePublicCloud;
  const wanted = environment.toLowerCase();
  const name = (Object.keys(CLOUDS) as CloudName[]).find((candidate) => candidate.toLowerCase() === wanted);
  return name ? CLOUDS[name] : undefined;
}

/** Vault's text for an unknown environment: the name is upper-cased before it is quoted. */
export function unknownCloudMessage(environment: string): string {
  return `err: no cloud configuration matching the name ${JSON.stringify(environment.toUpperCase())}`;
}
