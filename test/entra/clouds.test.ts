import { describe, expect, it } from 'vitest';
import { EndpointSettingError, UnknownCloudError, cloudCatalog, cloudNameOf, isLoopbackHost, parseEndpointUrl } from '../../shared/entra/clouds';

describe('cloud names', () => {
  it('resolves the three clouds case-insensitively, empty meaning public', () => {
    expect(cloudNameOf('azurepubliccloud')).toBe('AzurePublicCloud');
    expect(cloudNameOf('AZUREUSGOVERNMENTCLOUD')).toBe('AzureUSGovernmentCloud');
    expect(cloudNameOf(' AzureChinaCloud ')).toBe('AzureChinaCloud');
    expect(cloudNameOf(undefined)).toBe('AzurePublicCloud');
    expect(cloudNameOf('')).toBe('AzurePublicCloud');
  });

  it("refuses an unknown name with Vault's text, the name upper-cased", () => {
    let caught: unknown;
    try {
      cloudNameOf('AzureNotRealCloud');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnknownCloudError);
    expect((caught as UnknownCloudError).message).toBe('no cloud configuration matching the name "AZURENOTREALCLOUD"');
    expect((caught as UnknownCloudError).upperName).toBe('AZURENOTREALCLOUD');
    // AzureGermanCloud was retired; Vault no longer knows it either.
    expect(() => cloudNameOf('AzureGermanCloud')).toThrow(UnknownCloudError);
  });
});

describe('cloud endpoints', () => {
  const clouds = cloudCatalog({});

  it('public cloud', () => {
    const cloud = clouds.cloud('AzurePublicCloud');
    expect(cloud.authorityHost).toBe('https://login.microsoftonline.com');
    expect(cloud.armEndpoint).toBe('https://management.azure.com');
    expect(cloud.armAudience).toBe('https://management.azure.com/');
    expect(cloud.armAudiences).toEqual([
      'https://management.azure.com/',
      'https://management.azure.com',
      'https://management.core.windows.net/',
      'https://management.core.windows.net',
    ]);
    expect(cloud.graphEndpoint).toBe('https://graph.microsoft.com');
  });

  it('US Government and China clouds', () => {
    const gov = clouds.cloud('azureusgovernmentcloud');
    expect(gov.authorityHost).toBe('https://login.microsoftonline.us');
    expect(gov.armEndpoint).toBe('https://management.usgovcloudapi.net');
    expect(gov.armAudiences).toContain('https://management.core.usgovcloudapi.net/');
    expect(gov.graphEndpoint).toBe('https://graph.microsoft.us');
    const china = clouds.cloud('AzureChinaCloud');
    expect(china.authorityHost).toBe('https://login.chinacloudapi.cn');
    expect(china.armEndpoint).toBe('https://management.chinacloudapi.cn');
    expect(china.armAudiences).toContain('https://management.core.chinacloudapi.cn');
    expect(china.graphEndpoint).toBe('https://microsoftgraph.chinacloudapi.cn');
  });

  it('overrides replace the endpoints of every cloud but keep their token audiences', () => {
    const overridden = cloudCatalog({
      AZURE_AUTHORITY_HOST: 'https://127.0.0.1:8443/',
      AZAUTH_ARM_ENDPOINT: 'http://localhost:9000',
      AZAUTH_GRAPH_ENDPOINT: 'https://graph.contoso.example/',
    });
    for (const name of ['AzurePublicCloud', 'AzureUSGovernmentCloud', 'AzureChinaCloud']) {
      const cloud = overridden.cloud(name);
      expect(cloud.authorityHost).toBe('https://127.0.0.1:8443');
      expect(cloud.armEndpoint).toBe('http://localhost:9000');
      expect(cloud.graphEndpoint).toBe('https://graph.contoso.example');
    }
    expect(overridden.cloud('AzureChinaCloud').armAudience).toBe('https://management.chinacloudapi.cn/');
  });

  it('keeps a path in the authority (private clouds) without a trailing slash', () => {
    expect(cloudCatalog({ AZURE_AUTHORITY_HOST: 'https://login.contoso.example/sts/' }).cloud(undefined).authorityHost).toBe(
      'https://login.contoso.example/sts',
    );
  });
});

describe('endpoint overrides: https, or http only to loopback', () => {
  it.each(['https://login.example.com', 'https://10.0.0.5:8443', 'http://127.0.0.1:3000', 'http://127.8.9.10', 'http://[::1]:4000', 'http://localhost:8080'])(
    'accepts %s',
    (value) => {
      expect(cloudCatalog({ AZURE_AUTHORITY_HOST: value }).cloud(undefined).authorityHost).toBe(value.replace(/\/$/, ''));
    },
  );

  it.each([
    ['http://login.example.com', 'http:// is allowed only to a loopback address'],
    ['http://10.0.0.5', 'http:// is allowed only to a loopback address'],
    ['http://169.254.169.254', 'http:// is allowed only to a loopback address'],
    ['http://localhost.example.com', 'http:// is allowed only to a loopback address'],
    ['http://[::2]', 'http:// is allowed only to a loopback address'],
    ['ftp://127.0.0.1', 'only https://'],
    ['file:///etc/passwd', 'only https://'],
    ['login.microsoftonline.com', 'is not an absolute URL'],
    ['https://user:pw@login.example.com', 'credentials'],
    ['https://login.example.com/?x=1', 'query'],
  ])('refuses %s', (value, reason) => {
    for (const setting of ['AZURE_AUTHORITY_HOST', 'AZAUTH_ARM_ENDPOINT', 'AZAUTH_GRAPH_ENDPOINT'] as const) {
      let caught: unknown;
      try {
        cloudCatalog({ [setting]: value });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(EndpointSettingError);
      expect((caught as EndpointSettingError).message).toContain(`invalid app setting ${setting}: `);
      expect((caught as EndpointSettingError).message).toContain(reason);
    }
  });

  it('recognises loopback addresses, including IPv4-mapped IPv6', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost(new URL('http://[::ffff:127.0.0.1]').hostname)).toBe(true);
    expect(isLoopbackHost(new URL('http://[::ffff:10.0.0.1]').hostname)).toBe(false);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
  });

  it('allows a query only where asked (jwks_uri may carry ?appid=)', () => {
    expect(parseEndpointUrl('https://login.example.com/common/discovery/keys?appid=x').ok).toBe(false);
    expect(parseEndpointUrl('https://login.example.com/common/discovery/keys?appid=x', { allowQuery: true })).toEqual({
      ok: true,
      url: 'https://login.example.com/common/discovery/keys?appid=x',
    });
  });
});
