/**
 * Audit of the key and protection of the state (issue 10, "The Bicep", item 7): Key Vault sends its
 * audit events (category AuditEvent: every read of AZAUTH_ENCRYPTION_KEY, by the platform or anyone
 * else) to the Log Analytics workspace that already holds azauth's own audit log, and the storage
 * account that holds all of azauth's state (mounts, configs, roles, tokens, sealed server keys)
 * carries a CanNotDelete lock.
 */
import { describe, expect, it } from 'vitest';
import { bicepDeclarations, bicepLiteral, declaration, memberValue, readInfra, type BicepDeclaration } from './bicep-source';

const MAIN = readInfra('main.bicep');
const KEY_VAULT = readInfra('modules/keyvault.bicep');
const STORAGE = readInfra('modules/storage.bicep');
const MONITORING = readInfra('modules/monitoring.bicep');

const ofType = (source: string, type: string): BicepDeclaration[] =>
  bicepDeclarations(source).filter((d) => d.kind === 'resource' && d.target.toLowerCase() === type.toLowerCase());

describe('Key Vault audit events (issue 10, Bicep 7)', () => {
  const [vault] = ofType(KEY_VAULT, 'Microsoft.KeyVault/vaults');
  const settings = ofType(KEY_VAULT, 'Microsoft.Insights/diagnosticSettings');

  it('has an unconditional diagnostic setting on the vault', () => {
    expect(vault).toBeDefined();
    expect(settings).toHaveLength(1);
    const [setting] = settings;
    expect(memberValue(setting?.body ?? '{}', 'scope')).toBe(vault?.symbol);
    expect(setting?.condition).toBeUndefined();
  });

  it('sends the AuditEvent category, enabled, to the Log Analytics workspace', () => {
    const properties = memberValue(settings[0]?.body ?? '{}', 'properties') ?? '{}';
    // Literal logs only: the category must be visible here, not computed.
    const logs = bicepLiteral(memberValue(properties, 'logs') ?? '[]');
    expect(logs).toEqual(expect.arrayContaining([{ category: 'AuditEvent', enabled: true }]));

    const workspaceParam = memberValue(properties, 'workspaceId') ?? '';
    expect(workspaceParam).toMatch(/^\w+$/);
    const passed = memberValue(memberValue(declaration(MAIN, 'keyVault').body, 'params') ?? '{}', workspaceParam);
    expect(passed, `main.bicep must pass ${workspaceParam} to the Key Vault module`).toMatch(/^monitoring\.outputs\.(\w+)$/);
    const output = /^monitoring\.outputs\.(\w+)$/.exec(passed ?? '')?.[1] ?? '';
    expect(MONITORING).toMatch(new RegExp(`^output\\s+${output}\\s+string\\s*=\\s*workspace\\.id$`, 'm'));
  });
});

describe('the storage account that holds all state (issue 10, Bicep 7)', () => {
  it('carries an unconditional CanNotDelete lock', () => {
    const [account] = ofType(STORAGE, 'Microsoft.Storage/storageAccounts');
    const locks = ofType(STORAGE, 'Microsoft.Authorization/locks');
    expect(locks).toHaveLength(1);
    const [lock] = locks;
    expect(lock?.condition).toBeUndefined();
    expect(memberValue(lock?.body ?? '{}', 'scope')).toBe(account?.symbol);
    expect(memberValue(memberValue(lock?.body ?? '{}', 'properties') ?? '{}', 'level')).toBe("'CanNotDelete'");
  });
});
