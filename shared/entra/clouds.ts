/**
 * The three Azure clouds Vault's plugin knows (its `environment` field), their endpoints, and the
 * app-setting overrides that point them at a private cloud or the local emulator.
 *
 * Overrides are endpoints this service will send credentials and tokens to, so they must be HTTPS;
 * plain HTTP is allowed only to a loopback address (tests, the local emulator).
 */
import { isIP } from 'node:net';
import { quoteInput } from '../config/input-echo';

export type CloudName = 'AzurePublicCloud' | 'AzureUSGovernmentCloud' | 'AzureChinaCloud';

export const CLOUD_NAMES: readonly CloudName[] = ['AzurePublicCloud', 'AzureUSGovernmentCloud', 'AzureChinaCloud'];

export interface CloudEndpoints {
  readonly name: CloudName;
  /** Entra authority without a trailing slash; a tenant's metadata lives at `<authorityHost>/<tenant>/...`. */
  readonly authorityHost: string;
  /** Azure Resource Manager base URL, no trailing slash. */
  readonly armEndpoint: string;
  /** The resource to request ARM tokens for (`<armAudience>.default` is the scope). */
  readonly armAudience: string;
  /**
   * Every `aud` value Entra uses for ARM tokens in this cloud (with and without the trailing slash,
   * and the classic `management.core` form). Login uses it to recognise a first-party ARM token.
   */
  readonly armAudiences: readonly string[];
  /** Microsoft Graph base URL, no trailing slash (API calls go to `<graphEndpoint>/v1.0`). */
  readonly graphEndpoint: string;
  /** The resource to request Graph tokens for: the cloud's real Graph, even when the endpoint is overridden. */
  readonly graphAudience: string;
}

/** Both spellings of each ARM audience, as Entra accepts and emits them. */
function armAudienceForms(...bases: string[]): string[] {
  return bases.flatMap((base) => [`${base}/`, base]);
}

const CLOUDS: Readonly<Record<CloudName, CloudEndpoints>> = {
  AzurePublicCloud: {
    name: 'AzurePublicCloud',
    authorityHost: 'https://login.microsoftonline.com',
    armEndpoint: 'https://management.azure.com',
    armAudience: 'https://management.azure.com/',
    armAudiences: armAudienceForms('https://management.azure.com', 'https://management.core.windows.net'),
    graphEndpoint: 'https://graph.microsoft.com',
    graphAudience: 'https://graph.microsoft.com',
  },
  AzureUSGovernmentCloud: {
    name: 'AzureUSGovernmentCloud',
    authorityHost: 'https://login.microsoftonline.us',
    armEndpoint: 'https://management.usgovcloudapi.net',
    armAudience: 'https://management.usgovcloudapi.net/',
    armAudiences: armAudienceForms('https://management.usgovcloudapi.net', 'https://management.core.usgovcloudapi.net'),
    graphEndpoint: 'https://graph.microsoft.us',
    graphAudience: 'https://graph.microsoft.us',
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    authorityHost: 'https://login.chinacloudapi.cn',
    armEndpoint: 'https://management.chinacloudapi.cn',
    armAudience: 'https://management.chinacloudapi.cn/',
    armAudiences: armAudienceForms('https://management.chinacloudapi.cn', 'https://management.core.chinacloudapi.cn'),
    graphEndpoint: 'https://microsoftgraph.chinacloudapi.cn',
    graphAudience: 'https://microsoftgraph.chinacloudapi.cn',
  },
};

/**
 * An environment name none of the clouds has. `message` is Vault's wording minus its `err: ` prefix
 * (Go's %q of the upper-cased name); `upperName` is the name as Vault quotes it.
 */
export class UnknownCloudError extends Error {
  readonly upperName: string;
  constructor(requested: string) {
    const upperName = requested.toUpperCase();
    super(`no cloud configuration matching the name ${quoteInput(upperName)}`);
    this.name = 'UnknownCloudError';
    this.upperName = upperName;
  }
}

/** An override setting that is not an acceptable endpoint URL; the message names the setting. */
export class EndpointSettingError extends Error {
  readonly setting: string;
  constructor(setting: string, reason: string) {
    super(`invalid app setting ${setting}: ${reason}`);
    this.name = 'EndpointSettingError';
    this.setting = setting;
  }
}

/** Case-insensitive lookup; an empty or missing name means the public cloud, as in Vault. */
export function cloudNameOf(requested: string | undefined): CloudName {
  const wanted = (requested ?? '').trim();
  if (wanted === '') return 'AzurePublicCloud';
  const found = CLOUD_NAMES.find((name) => name.toLowerCase() === wanted.toLowerCase());
  if (!found) throw new UnknownCloudError(wanted);
  return found;
}

/** A cloud's own endpoints, without the override settings (those apply through `cloudCatalog`). */
export function standardCloud(name: CloudName): CloudEndpoints {
  return CLOUDS[name];
}

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped) and the name `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) {
    if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
    // The WHATWG URL parser writes an IPv4-mapped address in hex: ::ffff:7f00:1 is 127.0.0.1.
    const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(host);
    return mapped !== null && mapped[1] !== undefined && (parseInt(mapped[1], 16) >> 8) === 127;
  }
  return false;
}

/**
 * Checks an endpoint URL (from a setting or a discovery document): absolute, `https:`, or `http:` to
 * a loopback address; no credentials, fragment, or query unless allowed. Returns it without a trailing slash, or why not.
 */
export function parseEndpointUrl(value: string, options: { allowQuery?: boolean } = {}): { ok: true; url: string } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return { ok: false, reason: `"${value}" is not an absolute URL` };
  }
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      return { ok: false, reason: `http:// is allowed only to a loopback address (127.0.0.1, ::1, localhost); use https:// for ${url.host}` };
    }
  } else if (url.protocol !== 'https:') {
    return { ok: false, reason: `only https:// (or http:// to a loopback address) is allowed, got ${url.protocol}` };
  }
  if (url.username || url.password) return { ok: false, reason: 'credentials in the URL are not allowed' };
  if (url.hash || (url.search && !options.allowQuery)) return { ok: false, reason: 'a query or fragment is not allowed' };
  return { ok: true, url: url.search ? url.href : url.href.replace(/\/+$/, '') };
}

/** `parseEndpointUrl` for an app setting: throws `EndpointSettingError` naming the setting. */
export function checkEndpointSetting(setting: string, value: string): string {
  const parsed = parseEndpointUrl(value);
  if (!parsed.ok) throw new EndpointSettingError(setting, parsed.reason);
  return parsed.url;
}

/** The override settings, as declared in `shared/settings.ts`. */
export interface CloudOverrideSettings {
  readonly AZURE_AUTHORITY_HOST?: string | undefined;
  readonly AZAUTH_ARM_ENDPOINT?: string | undefined;
  readonly AZAUTH_GRAPH_ENDPOINT?: string | undefined;
}

/** The clouds with the overrides applied; built once per process from the settings. */
export interface CloudCatalog {
  /** Resolves a (case-insensitive) environment name; throws `UnknownCloudError`. */
  cloud(requested: string | undefined): CloudEndpoints;
}

/**
 * Validates the override settings (throwing `EndpointSettingError` naming the bad one) and returns
 * the catalogue. An override replaces that endpoint for every cloud; token audiences stay the
 * cloud's own, since they are identifiers Entra issues tokens for, not addresses we call.
 */
export function cloudCatalog(settings: CloudOverrideSettings): CloudCatalog {
  const authorityHost = settings.AZURE_AUTHORITY_HOST ? checkEndpointSetting('AZURE_AUTHORITY_HOST', settings.AZURE_AUTHORITY_HOST) : undefined;
  const armEndpoint = settings.AZAUTH_ARM_ENDPOINT ? checkEndpointSetting('AZAUTH_ARM_ENDPOINT', settings.AZAUTH_ARM_ENDPOINT) : undefined;
  const graphEndpoint = settings.AZAUTH_GRAPH_ENDPOINT ? checkEndpointSetting('AZAUTH_GRAPH_ENDPOINT', settings.AZAUTH_GRAPH_ENDPOINT) : undefined;
  const withOverrides = (base: CloudEndpoints): CloudEndpoints =>
    Object.freeze({
      ...base,
      authorityHost: authorityHost ?? base.authorityHost,
      armEndpoint: armEndpoint ?? base.armEndpoint,
      graphEndpoint: graphEndpoint ?? base.graphEndpoint,
    });
  const resolved: Readonly<Record<CloudName, CloudEndpoints>> = {
    AzurePublicCloud: withOverrides(CLOUDS.AzurePublicCloud),
    AzureUSGovernmentCloud: withOverrides(CLOUDS.AzureUSGovernmentCloud),
    AzureChinaCloud: withOverrides(CLOUDS.AzureChinaCloud),
  };
  return { cloud: (requested) => resolved[cloudNameOf(requested)] };
}
