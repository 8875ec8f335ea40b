import { describe, expect, it } from 'vitest';
import { cloudCatalog, cloudNameOf, standardCloud } from '../../../shared/entra/clouds';
import { resolveEffectiveSettings, type FallbackSettings } from '../../../shared/config/effective';
import { nextRotation, parseRotationSchedule } from '../../../shared/config/rotation';
import { newMountConfig, type MountConfig } from '../../../shared/config/types';
import { applyConfigWrite, configReadData, type ConfigWriteContext, type ConfigWriteInput } from '../../../shared/config/write';
import { VaultError } from '../../../shared/vault/errors';

const NOW = new Date('2026-01-15T10:20:30Z');
const NO_ENV: FallbackSettings = {
  AZURE_TENANT_ID: undefined,
  AZURE_AD_RESOURCE: undefined,
  AZURE_ENVIRONMENT: undefined,
  AZURE_AUTHORITY_HOST: undefined,
  AZAUTH_ARM_ENDPOINT: undefined,
  AZAUTH_GRAPH_ENDPOINT: undefined,
};
const ctx = (env: Partial<FallbackSettings> = {}): ConfigWriteContext => ({
  now: NOW,
  env: { ...NO_ENV, ...env },
  sealClientSecret: (plaintext) => `sealed(${plaintext})`,
});
const BASE: ConfigWriteInput = { tenant_id: 't1', resource: 'https://management.azure.com/' };

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VaultError);
    expect((err as VaultError).status).toBe(400);
    return (err as VaultError).errors[0] ?? '';
  }
  throw new Error('expected a 400');
}

describe('applyConfigWrite', () => {
  it('applies Vault defaults to a new config', () => {
    const config = applyConfigWrite(undefined, BASE, ctx());
    expect(config).toMatchObject({
      tenantId: 't1',
      rootPasswordTtlSeconds: 15768000,
      maxRetries: 3,
      retryDelaySeconds: 4,
      maxRetryDelaySeconds: 60,
      identityTokenTtlSeconds: 0,
      environment: '',
    });
  });

  it('keeps stored values a write omits (Vault resets four of them)', () => {
    const first = applyConfigWrite(undefined, { ...BASE, max_retries: 9, retry_delay: 7, max_retry_delay: 70, root_password_ttl: 100, client_id: 'c' }, ctx());
    const second = applyConfigWrite(first, { resource: 'api://x' }, ctx());
    expect(second).toMatchObject({ tenantId: 't1', resource: 'api://x', maxRetries: 9, retryDelaySeconds: 7, maxRetryDelaySeconds: 70, rootPasswordTtlSeconds: 100, clientId: 'c' });
  });

  it('seals a client secret, clears it with "", and never keeps the plain text', () => {
    const withSecret = applyConfigWrite(undefined, { ...BASE, client_secret: 'pw' }, ctx());
    expect(withSecret.clientSecretSealed).toBe('sealed(pw)');
    expect(JSON.stringify(withSecret)).not.toContain('"pw"');
    expect(applyConfigWrite(withSecret, { client_secret: '' }, ctx()).clientSecretSealed).toBe('');
    expect(applyConfigWrite(withSecret, { client_id: 'x' }, ctx()).clientSecretSealed).toBe('sealed(pw)');
  });

  it('checks tenant, then resource, then environment, with env fallbacks', () => {
    expect(refusal(() => applyConfigWrite(undefined, {}, ctx()))).toBe('tenant_id is required');
    expect(refusal(() => applyConfigWrite(undefined, { tenant_id: 't' }, ctx()))).toBe('resource is required');
    expect(refusal(() => applyConfigWrite(undefined, { ...BASE, environment: 'AzureNotRealCloud' }, ctx()))).toBe(
      'err: no cloud configuration matching the name "AZURENOTREALCLOUD"',
    );
    expect(refusal(() => applyConfigWrite(undefined, { ...BASE, environment: 'AzureGermanCloud' }, ctx()))).toContain('AZUREGERMANCLOUD');
    expect(applyConfigWrite(undefined, {}, ctx({ AZURE_TENANT_ID: 'env-t', AZURE_AD_RESOURCE: 'env-r' })).tenantId).toBe('');
    expect(refusal(() => applyConfigWrite(undefined, BASE, ctx({ AZURE_ENVIRONMENT: 'Mars' })))).toContain('"MARS"');
  });

  it('stores the environment as typed and accepts any case', () => {
    expect(applyConfigWrite(undefined, { ...BASE, environment: 'azurechinacloud' }, ctx()).environment).toBe('azurechinacloud');
    expect(applyConfigWrite(undefined, { ...BASE, environment: 'AZUREUSGOVERNMENTCLOUD' }, ctx()).environment).toBe('AZUREUSGOVERNMENTCLOUD');
  });

  it('refuses client_secret together with identity_token_audience, and WIF without the application it federates to', () => {
    expect(refusal(() => applyConfigWrite(undefined, { ...BASE, client_secret: 's', identity_token_audience: 'a' }, ctx()))).toBe(
      "only one of 'client_secret' or 'identity_token_audience' can be set",
    );
    expect(refusal(() => applyConfigWrite(undefined, { ...BASE, identity_token_audience: 'a' }, ctx()))).toBe(
      "identity_token_audience requires client_id: the application whose federated credential trusts this app's managed identity",
    );
    expect(applyConfigWrite(undefined, { ...BASE, client_id: 'app', identity_token_audience: 'api://AzureADTokenExchange' }, ctx()).identityTokenAudience).toBe(
      'api://AzureADTokenExchange',
    );
    expect(applyConfigWrite(undefined, { ...BASE, identity_token_ttl: 600 }, ctx()).identityTokenTtlSeconds).toBe(600);
  });

  it('refuses negative max_retries', () => {
    expect(refusal(() => applyConfigWrite(undefined, { ...BASE, max_retries: -1 }, ctx()))).toBe('max_retries cannot be negative');
  });

  describe('rotation fields', () => {
    it('uses Vault messages for the request-level checks', () => {
      expect(refusal(() => applyConfigWrite(undefined, { ...BASE, rotation_schedule: '0 * * * *', rotation_period: 3600 }, ctx()))).toBe(
        'mutually exclusive fields rotation_schedule and rotation_period were both specified; only one of them can be provided',
      );
      expect(refusal(() => applyConfigWrite(undefined, { ...BASE, rotation_schedule: 'not cron' }, ctx()))).toMatch(
        /^failed to parse provided rotation_schedule: /,
      );
      expect(refusal(() => applyConfigWrite(undefined, { ...BASE, rotation_period: 86400, rotation_window: 7200 }, ctx()))).toBe(
        'rotation_window does not apply to period',
      );
      expect(refusal(() => applyConfigWrite(undefined, { ...BASE, rotation_window: 7200 }, ctx()))).toBe(
        'cannot use rotation_window without rotation_schedule',
      );
      expect(refusal(() => applyConfigWrite(undefined, { ...BASE, rotation_schedule: '0 3 * * *', rotation_window: 60 }, ctx()))).toMatch(
        /rotation_window must be 0 or at least 3600 seconds/,
      );
    });

    it('needs the window in the same request as the schedule, even when one is stored', () => {
      const scheduled = applyConfigWrite(undefined, { ...BASE, rotation_schedule: '0 3 * * *' }, ctx());
      expect(refusal(() => applyConfigWrite(scheduled, { rotation_window: 7200 }, ctx()))).toBe('cannot use rotation_window without rotation_schedule');
      expect(applyConfigWrite(scheduled, { rotation_schedule: '0 3 * * *', rotation_window: 7200 }, ctx()).rotationWindowSeconds).toBe(7200);
    });

    it('refuses a period while a schedule is stored, and switching works by clearing it', () => {
      const scheduled = applyConfigWrite(undefined, { ...BASE, rotation_schedule: '0 3 * * *', rotation_window: 3600 }, ctx());
      expect(refusal(() => applyConfigWrite(scheduled, { rotation_period: 86400 }, ctx()))).toMatch(/mutually exclusive/);
      const switched = applyConfigWrite(scheduled, { rotation_schedule: '', rotation_period: 86400 }, ctx());
      expect(switched).toMatchObject({ rotationSchedule: '', rotationPeriodSeconds: 86400, rotationWindowSeconds: 0 });
    });

    it('records when rotation settings changed', () => {
      const first = applyConfigWrite(undefined, BASE, ctx());
      const later = new Date('2026-02-01T00:00:00Z');
      const unchanged = applyConfigWrite(first, { client_id: 'x' }, { ...ctx(), now: later });
      expect(unchanged.rotationConfiguredAt).toBe(first.rotationConfiguredAt);
      const changed = applyConfigWrite(first, { rotation_period: 3600 }, { ...ctx(), now: later });
      expect(changed.rotationConfiguredAt).toBe(later.toISOString());
    });
  });
});

describe('configReadData', () => {
  it('shows every Vault key, durations in seconds, never the secret', () => {
    const config = applyConfigWrite(undefined, { ...BASE, client_secret: 'pw', retry_delay: 5 }, ctx());
    const data = configReadData(config, NOW);
    expect(Object.keys(data).sort()).toEqual(
      [
        'client_id', 'disable_automated_rotation', 'environment', 'identity_token_audience', 'identity_token_ttl', 'max_retries',
        'max_retry_delay', 'resource', 'retry_delay', 'root_password_ttl', 'rotation_period', 'rotation_policy', 'rotation_schedule',
        'rotation_window', 'tenant_id',
      ].sort(),
    );
    expect(data.retry_delay).toBe(5);
    expect(JSON.stringify(data)).not.toContain('pw');
  });

  it('adds root_password_expiration_date and next_rotation when they exist', () => {
    const config: MountConfig = {
      ...newMountConfig(NOW),
      tenantId: 't',
      resource: 'r',
      rotationSchedule: '0 3 * * *',
      rootPasswordExpirationDate: '2026-07-01T00:00:00Z',
    };
    const data = configReadData(config, NOW);
    expect(data.root_password_expiration_date).toBe('2026-07-01T00:00:00Z');
    expect(data.next_rotation).toBe('2026-01-16T03:00:00Z');
    expect(configReadData({ ...config, disableAutomatedRotation: true }, NOW).next_rotation).toBeUndefined();
  });
});

describe('rotation schedule', () => {
  it.each(['0 3 * * *', '*/15 * * * *', '0 0 1 JAN *', '30 2 * * MON-FRI', '0 0 1,15 * *', '5 4 * * sun', '0 */6 * * 1-5'])('accepts %j', (cron) => {
    expect(parseRotationSchedule(cron).ok).toBe(true);
  });
  it.each(['@daily', '0 0 0 * * *', '0 0 L * *', '0 0 * * 5#2', '0 0 ? * *', '60 * * * *', '* * *', '0 0 15W * *', 'a b c d e', ''])('refuses %j', (cron) => {
    expect(parseRotationSchedule(cron).ok).toBe(false);
  });

  it('gives the next run in UTC, and a period from the last rotation or the configuration time', () => {
    const base = { ...newMountConfig(NOW), tenantId: 't', resource: 'r' };
    expect(nextRotation({ ...base, rotationSchedule: '*/15 * * * *' }, NOW)?.toISOString()).toBe('2026-01-15T10:30:00.000Z');
    expect(nextRotation({ ...base, rotationPeriodSeconds: 3600 }, NOW)?.toISOString()).toBe('2026-01-15T11:20:30.000Z');
    expect(nextRotation({ ...base, rotationPeriodSeconds: 3600, lastRotation: '2026-01-15T10:00:00Z' }, NOW)?.toISOString()).toBe(
      '2026-01-15T11:00:00.000Z',
    );
    expect(nextRotation(base, NOW)).toBeUndefined();
  });
});

describe('clouds and effective settings', () => {
  it('knows the three clouds case-insensitively, "" is public', () => {
    expect(standardCloud(cloudNameOf('')).name).toBe('AzurePublicCloud');
    expect(standardCloud(cloudNameOf('azurechinacloud')).authorityHost).toBe('https://login.chinacloudapi.cn');
    expect(standardCloud(cloudNameOf('AzureUSGovernmentCloud')).graphEndpoint).toBe('https://graph.microsoft.us');
    expect(() => cloudNameOf('AzureGermanCloud')).toThrow('no cloud configuration matching the name "AZUREGERMANCLOUD"');
    expect(resolveEffectiveSettings(undefined, { ...NO_ENV, AZURE_TENANT_ID: 't', AZURE_AD_RESOURCE: 'r', AZURE_ENVIRONMENT: 'AzureGermanCloud' })).toEqual({
      ok: false,
      problem: 'err: no cloud configuration matching the name "AZUREGERMANCLOUD"',
    });
  });

  it('prefers config over env, and env over nothing', () => {
    const config = { ...newMountConfig(NOW), tenantId: 'cfg-t', resource: '' };
    const result = resolveEffectiveSettings(config, { ...NO_ENV, AZURE_TENANT_ID: 'env-t', AZURE_AD_RESOURCE: 'env-r', AZURE_ENVIRONMENT: 'AzureChinaCloud' });
    expect(result).toMatchObject({ ok: true, settings: { tenantId: 'cfg-t', resource: 'env-r', cloud: { name: 'AzureChinaCloud' } } });
    expect(resolveEffectiveSettings(undefined, NO_ENV)).toEqual({ ok: false, problem: 'tenant_id is required' });
  });

  it('applies endpoint overrides (the cloud catalogue the callers build from the same settings)', () => {
    const cloud = cloudCatalog({ ...NO_ENV, AZURE_AUTHORITY_HOST: 'https://127.0.0.1:9999', AZAUTH_ARM_ENDPOINT: 'https://127.0.0.1:9999/' }).cloud('');
    expect({ authorityHost: cloud.authorityHost, armEndpoint: cloud.armEndpoint, graphEndpoint: cloud.graphEndpoint }).toEqual({
      authorityHost: 'https://127.0.0.1:9999',
      armEndpoint: 'https://127.0.0.1:9999',
      graphEndpoint: 'https://graph.microsoft.com',
    });
  });
});
