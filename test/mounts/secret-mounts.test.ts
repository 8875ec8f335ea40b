/** The rules of `sys/mounts` enable and tune, as pure functions (Vault's texts). */
import { describe, expect, it } from 'vitest';
import { applyTuning, parseKvVersion, secretMountToEnable, tuneData, tuneOptions } from '../../shared/mounts/secret-mounts';
import { DEFAULT_TUNING, type Mount } from '../../shared/mounts/types';
import { VaultError } from '../../shared/vault/errors';

const SYSTEM = { defaultTtl: 768 * 3600, maxTtl: 768 * 3600 };

function refusal(fn: () => unknown): { status: number; text: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof VaultError) return { status: err.status, text: err.errors.join() };
    throw err;
  }
  throw new Error('expected a refusal');
}

const kvMount = (options: Record<string, string> | null): Mount => ({
  table: 'secret',
  path: 'kv',
  type: 'kv',
  accessor: 'kv_1',
  uuid: 'u',
  description: '',
  local: false,
  sealWrap: false,
  externalEntropyAccess: false,
  options,
  tuning: DEFAULT_TUNING,
  state: 'active',
  disablingSince: '',
  upgrading: false,
  upgradingSince: '',
  createdAt: '',
});

describe('enable', () => {
  it('maps kv-v1, kv-v2 and generic onto kv with a string version', () => {
    expect(secretMountToEnable('a', { type: 'kv-v2' }, SYSTEM)).toMatchObject({ type: 'kv', options: { version: '2' } });
    expect(secretMountToEnable('a', { type: 'kv-v1' }, SYSTEM)).toMatchObject({ type: 'kv', options: { version: '1' } });
    expect(secretMountToEnable('a', { type: 'generic' }, SYSTEM)).toMatchObject({ type: 'kv', options: null });
    expect(secretMountToEnable('a', { type: 'kv', options: { version: 2 } }, SYSTEM)).toMatchObject({ options: { version: '2' } });
  });

  it('refuses with Vault\'s texts', () => {
    expect(refusal(() => secretMountToEnable('a', {}, SYSTEM))).toEqual({ status: 400, text: 'backend type must be specified as a string' });
    expect(refusal(() => secretMountToEnable('sys', { type: 'kv' }, SYSTEM))).toEqual({ status: 403, text: 'cannot mount "sys/"' });
    expect(refusal(() => secretMountToEnable('Auth', { type: 'kv' }, SYSTEM))).toEqual({ status: 403, text: 'cannot mount "Auth/"' });
    expect(refusal(() => secretMountToEnable('a', { type: 'cubbyhole' }, SYSTEM))).toEqual({ status: 403, text: 'mount type of "cubbyhole" is not mountable' });
    expect(refusal(() => secretMountToEnable('a', { type: 'pki', options: { version: '2' } }, SYSTEM)).text).toBe('secrets engine "pki" does not allow setting a version');
    expect(refusal(() => secretMountToEnable('a', { type: 'pki' }, SYSTEM)).text).toMatch(/^plugin not found in the catalog: pki/);
    expect(refusal(() => secretMountToEnable('a', { type: 'kv', options: { version: '3' } }, SYSTEM)).text).toBe('invalid version provided: 3');
    expect(refusal(() => secretMountToEnable('a', { type: 'kv', options: 'x' }, SYSTEM)).status).toBe(400);
  });

  it('checks lease TTLs against each other and the system max', () => {
    expect(secretMountToEnable('a', { type: 'kv', config: { default_lease_ttl: '1h', max_lease_ttl: '2h' } }, SYSTEM).tuning).toMatchObject({ defaultLeaseTtl: 3600, maxLeaseTtl: 7200 });
    expect(refusal(() => secretMountToEnable('a', { type: 'kv', config: { default_lease_ttl: '3h', max_lease_ttl: '2h' } }, SYSTEM)).text).toBe(
      'given default lease TTL greater than given max lease TTL',
    );
    expect(refusal(() => secretMountToEnable('a', { type: 'kv', config: { default_lease_ttl: '1000h' } }, SYSTEM)).text).toBe(
      `given default lease TTL greater than system max lease TTL of ${768 * 3600}`,
    );
    expect(refusal(() => secretMountToEnable('a', { type: 'kv', config: { default_lease_ttl: 'soon' } }, SYSTEM)).text).toMatch(/^unable to parse default TTL of soon/);
    expect(refusal(() => secretMountToEnable('a', { type: 'kv', config: { listing_visibility: 'everyone' } }, SYSTEM)).text).toBe('invalid listing_visibility everyone');
    // hvac sends JSON null for what it does not set.
    expect(secretMountToEnable('a', { type: 'kv', config: null, options: null }, SYSTEM)).toMatchObject({ options: null, tuning: DEFAULT_TUNING });
  });
});

describe('tune', () => {
  it('"" keeps a TTL, "system" resets it', () => {
    const tuned = applyTuning({ ...DEFAULT_TUNING, defaultLeaseTtl: 60 }, { default_lease_ttl: '', max_lease_ttl: '1h' }, SYSTEM);
    expect(tuned).toMatchObject({ defaultLeaseTtl: 60, maxLeaseTtl: 3600 });
    expect(applyTuning(tuned, { default_lease_ttl: 'system' }, SYSTEM).defaultLeaseTtl).toBe(0);
  });

  it('merges options, deletes a key with an empty value, upgrades 1 to 2 and never downgrades', () => {
    expect(tuneOptions(kvMount({ version: '1', a: 'x' }), { a: '', b: 'y' })).toEqual({ options: { version: '1', b: 'y' }, upgradeToV2: false });
    expect(tuneOptions(kvMount(null), { version: '2' })).toEqual({ options: { version: '2' }, upgradeToV2: true });
    expect(tuneOptions(kvMount({ version: '2' }), { version: '2' }).upgradeToV2).toBe(false);
    expect(refusal(() => tuneOptions(kvMount({ version: '2' }), { version: '1' })).text).toBe('cannot downgrade mount from version 2');
    expect(refusal(() => tuneOptions(kvMount(null), { version: 'two' })).text).toMatch(/^unable to parse options: /);
    expect(parseKvVersion('')).toBe(1);
  });

  it('reads back effective TTLs and only the keys that are set', () => {
    const data = tuneData(kvMount({ version: '2' }), SYSTEM);
    expect(data).toEqual({ description: '', default_lease_ttl: SYSTEM.defaultTtl, max_lease_ttl: SYSTEM.maxTtl, force_no_cache: false, options: { version: '2' } });
  });
});
