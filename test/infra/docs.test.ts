/**
 * What the deployment documentation must say because the templates cannot (issue 10, "The Bicep",
 * items 4, 5 and 9): the permissions a deployment needs at scopes it reaches through nested
 * deployments, who holds which identity and key, and the step that makes App Service re-read the
 * encryption key's Key Vault reference. Checked against the templates where they decide it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INFRA_DIR, bicepDeclarations, bicepParams, memberValue, readInfra } from './bicep-source';

const MAIN = readInfra('main.bicep');
const INFRA_README = readFileSync(path.join(INFRA_DIR, 'README.md'), 'utf8');
const OPERATIONS = readFileSync(path.join(INFRA_DIR, '..', 'docs', 'operations.md'), 'utf8');
const PROVISION_SCRIPT = readFileSync(path.join(INFRA_DIR, 'scripts', 'provision.sh'), 'utf8');

/** The text of a Markdown section, from its heading to the next heading of the same or a higher level. */
function section(markdown: string, heading: RegExp): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#+ /.test(line) && heading.test(line));
  if (start === -1) throw new Error(`no section ${heading.source}`);
  const level = /^#+/.exec(lines[start] ?? '')?.[0].length ?? 1;
  const end = lines.findIndex((line, index) => index > start && new RegExp(`^#{1,${level}} `).test(line));
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

describe('permissions the deployment needs (issue 10, Bicep 4)', () => {
  it('names deployments/write wherever a module deploys at another scope', () => {
    const crossScope = bicepDeclarations(MAIN).filter((d) => d.kind === 'module' && memberValue(d.body, 'scope') !== undefined);
    expect(crossScope.map((d) => d.symbol).sort()).toEqual(['readerOnResourceGroups', 'readerOnSubscriptions']);
    // A module at another scope is a nested deployment there: User Access Administrator or RBAC
    // Administrator alone (roleAssignments/write) cannot create it.
    for (const text of [INFRA_README, OPERATIONS]) {
      expect(text).toContain('Microsoft.Resources/deployments/write');
      expect(text).toContain('Microsoft.Authorization/roleAssignments/write');
    }
  });

  it('names the lock permission, which only Owner and User Access Administrator have', () => {
    expect(bicepDeclarations(readInfra('modules/storage.bicep')).some((d) => d.target === 'Microsoft.Authorization/locks')).toBe(true);
    for (const text of [INFRA_README, OPERATIONS]) expect(text).toContain('Microsoft.Authorization/locks');
  });
});

describe('who holds what (issue 10, Bicep 5)', () => {
  it('lists every identity main.bicep creates, with what it holds', () => {
    const table = section(OPERATIONS, /Who holds what/i);
    const identities = bicepDeclarations(MAIN).filter((d) => d.kind === 'module' && d.target === 'modules/identity.bicep');
    expect(identities.length).toBeGreaterThanOrEqual(3);
    for (const identity of identities) {
      const suffix = /-(\w+)'$/.exec(memberValue(memberValue(identity.body, 'params') ?? '{}', 'name') ?? '')?.[1] ?? '';
      expect(table, `identity ${identity.symbol} (id-<name>-${suffix})`).toContain(`id-<name>-${suffix}`);
    }
    expect(table).toContain('Key Vault Secrets Officer');
    expect(table).toContain('AZAUTH_ADMIN_PRINCIPAL_IDS');
  });
});

describe('rolling AZAUTH_ENCRYPTION_KEY (issue 10, Bicep 9)', () => {
  it('re-reads the Key Vault reference with a configuration refresh, never a bare restart', () => {
    // App Service caches resolved references and re-fetches them every 24 hours or on a configuration
    // change; a restart alone is not documented to re-read them
    // (learn.microsoft.com/azure/app-service/app-service-key-vault-references#understand-rotation).
    expect(OPERATIONS).toContain('config/configreferences/appsettings/refresh');
    expect(OPERATIONS).not.toMatch(/az (functionapp|webapp) restart/);
    const rotation = section(OPERATIONS, /Rotation/);
    const keyRow = rotation.split('\n').find((line) => line.startsWith('| `AZAUTH_ENCRYPTION_KEY`')) ?? '';
    expect(keyRow).not.toMatch(/restart the app/i);
  });
});

describe('the root-key rollover (issue 12, Bicep)', () => {
  const rolling = section(OPERATIONS, /Rolling the encryption key/);

  it('is written out, with no placeholder left', () => {
    expect(rolling).not.toMatch(/TODO/);
    for (const step of ['AZAUTH_ENCRYPTION_KEY_NEXT', 'sys/rotate/root', 'retirable', 'pending 0', 'config/configreferences/appsettings/refresh']) {
      expect(rolling, step).toContain(step);
    }
    // The rollout caveat lives in docs/secrets.md; the section points there.
    expect(rolling).toContain('secrets.md#root-key-rollover-operators');
    expect(rolling).toMatch(/KV secret values[^|]*\|\s*\*\*Untouched/);
    for (const stored of ['client secret', 'batch tokens', 'Server keys']) expect(rolling, stored).toContain(stored);
  });

  it('sets the next key through the parameter main.bicep declares, and promotes it before removing it', () => {
    const param = /-p (\w+)=azauth-encryption-key-2/.exec(rolling)?.[1];
    expect(param).toBe('encryptionKeyNextSecretName');
    expect(bicepParams(MAIN).map((p) => p.name)).toContain(param);
    // The current secret gets the next key's value first; only then does the setting go.
    const copied = rolling.indexOf('az keyvault secret set --vault-name "$V" --name azauth-encryption-key ');
    const removed = rolling.indexOf('deploy **without** `encryptionKeyNextSecretName`');
    expect(copied).toBeGreaterThan(-1);
    expect(removed).toBeGreaterThan(copied);
    // The rewrap runs until done: a single call may stop at its time budget.
    expect(rolling).toMatch(/vault write -format=json sys\/rotate\/root cursor=/);
  });
});

describe('provisioning with a narrow token (issue 11, item 4)', () => {
  const narrow = section(OPERATIONS, /Provisioning with a narrow token/);

  it('documents every way provision.sh authenticates, the bootstrap first', () => {
    const modes = [...(/case "\$AUTH" in\n([\s\S]*?)\nesac/.exec(PROVISION_SCRIPT)?.[1] ?? '').matchAll(/^ {2}(\w+)\)/gm)].map((m) => m[1] ?? '');
    expect(modes).toEqual(['admin', 'login', 'token']);
    expect(narrow).toContain('AZAUTH_PROVISION_AUTH=login');
    expect(narrow).toContain('VAULT_TOKEN');
    expect(narrow).toMatch(/\*\*Bootstrap, as an admin\*\*/);
    expect(narrow).toContain('AZAUTH_ADMIN_PRINCIPAL_IDS');
    // Honest about what the narrow token does not contain.
    expect(narrow).toMatch(/does not contain a stolen pipeline\s+credential/);
  });

  it('names the parameters main.bicep declares for it, in both documents', () => {
    const params = bicepParams(MAIN).map((p) => p.name);
    for (const name of ['provisionLogin', 'provisionIdentityIsAdmin', 'policies', 'kvMounts']) {
      expect(params, name).toContain(name);
      expect(INFRA_README, name).toContain(`\`${name}`);
      expect(OPERATIONS, name).toContain(`\`${name}`);
    }
  });
});
