/**
 * Who holds what (issue 10, "The Bicep", items 5 and 6): the encryption key (Key Vault Secrets
 * Officer can read AZAUTH_ENCRYPTION_KEY) is never held by an identity that is an azauth admin or
 * that provisioning (and so workload templates) run as; key creation and provisioning run as
 * different identities; admins are named explicitly, never "whoever deploys"; and every role
 * definition id is the documented id of the built-in role its name says.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  INFRA_DIR,
  bicepDeclarations,
  bicepLiteral,
  bicepParams,
  bicepVar,
  declaration,
  memberValue,
  readBicep,
  readInfra,
  stripComments,
} from './bicep-source';

const MAIN = readInfra('main.bicep');
const KEY_VAULT = readInfra('modules/keyvault.bicep');
const mainParams = bicepParams(MAIN);

/**
 * Built-in role definition ids, the same in every tenant (learn.microsoft.com/azure/role-based-access-control/built-in-roles),
 * by the camel-cased role name the templates use for them.
 */
const BUILT_IN_ROLES: Readonly<Record<string, string>> = {
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
};

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

function bicepFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((entry) => entry.endsWith('.bicep'))
    .map((entry) => path.join(dir, entry));
}

/** Identity modules (modules/identity.bicep) whose outputs an expression uses. */
function identitiesIn(expression: string): string[] {
  const identities = bicepDeclarations(MAIN)
    .filter((d) => d.kind === 'module' && d.target === 'modules/identity.bicep')
    .map((d) => d.symbol);
  return identities.filter((symbol) => new RegExp(`\\b${symbol}\\.(?:\\?)?outputs\\b`).test(expression));
}

describe('the encryption key and azauth admins (issue 10, Bicep 5)', () => {
  const keyVaultModule = declaration(MAIN, 'keyVault');
  const keyVaultParams = memberValue(keyVaultModule.body, 'params') ?? '{}';

  /** Identities main.bicep makes Key Vault Secrets Officer, through whichever keyvault.bicep parameter. */
  const keyHolders = (): string[] => {
    const params = bicepParams(KEY_VAULT).map((p) => p.name);
    const officerParams = params.filter((name) =>
      bicepDeclarations(KEY_VAULT).some(
        (d) =>
          d.target === 'Microsoft.Authorization/roleAssignments' &&
          /roleDefinitions',\s*keyVaultSecretsOfficer\)/.test(d.body) &&
          new RegExp(`\\b${name}\\b`).test(d.body + (d.loop ?? '')),
      ),
    );
    expect(officerParams, 'keyvault.bicep grants Key Vault Secrets Officer to no parameter').not.toEqual([]);
    return officerParams.flatMap((name) => identitiesIn(memberValue(keyVaultParams, name) ?? ''));
  };

  it('no identity that is an azauth admin holds Key Vault Secrets Officer', () => {
    const admins = identitiesIn(bicepVar(MAIN, 'adminPrincipals'));
    expect(keyHolders().filter((symbol) => admins.includes(symbol))).toEqual([]);
  });

  it('no identity that provisioning (and so workload templates) runs as holds Key Vault Secrets Officer', () => {
    const provisioner = identitiesIn(memberValue(memberValue(declaration(MAIN, 'provision').body, 'params') ?? '{}', 'adminIdentityId') ?? '');
    expect(provisioner).toHaveLength(1);
    expect(keyHolders().filter((symbol) => provisioner.includes(symbol))).toEqual([]);
  });

  it('key creation and provisioning run as different identities', () => {
    const keyCreator = identitiesIn(memberValue(memberValue(declaration(MAIN, 'encryptionKey').body, 'params') ?? '{}', 'keyCreatorIdentityId') ?? '');
    const provisioner = identitiesIn(memberValue(memberValue(declaration(MAIN, 'provision').body, 'params') ?? '{}', 'adminIdentityId') ?? '');
    expect(keyCreator).toHaveLength(1);
    expect(keyCreator.filter((symbol) => provisioner.includes(symbol))).toEqual([]);
  });

  it('outputs no handle on the identity that can read the key', () => {
    const outputs = [...MAIN.matchAll(/^output\s+\w+\s+\w+\s*=\s*(.+)$/gm)].map((m) => m[1] ?? '');
    const holders = keyHolders();
    expect(outputs.flatMap((expression) => identitiesIn(expression)).filter((symbol) => holders.includes(symbol))).toEqual([]);
  });
});

describe('the provisioning identity is root only for the bootstrap (issue 11, item 4)', () => {
  const provisionParams = memberValue(declaration(MAIN, 'provision').body, 'params') ?? '{}';

  it('is in AZAUTH_ADMIN_PRINCIPAL_IDS exactly when the script authenticates as an admin', () => {
    const param = mainParams.find((p) => p.name === 'provisionIdentityIsAdmin');
    expect(param?.type).toBe('bool');
    // The first run writes the provisioning policy and role, which only an admin can.
    expect(param?.defaultValue).toBe('true');
    const admins = bicepVar(MAIN, 'adminPrincipals');
    const conditioned = /(\w+(?:\s*&&\s*\w+)*)\s*\?\s*\[provisionIdentity\.outputs\.principalId\]/.exec(admins)?.[1] ?? '';
    expect(conditioned.split(/\s*&&\s*/).sort()).toEqual(['provisionIdentityIsAdmin', 'provisionMountsAndRoles']);
    expect(memberValue(provisionParams, 'auth')).toBe("provisionIdentityIsAdmin ? 'admin' : 'login'");
  });

  it('is bound to the provisioning role, so that it can log in once it is no admin', () => {
    expect(memberValue(provisionParams, 'login')).toBe('login');
    const login = bicepVar(MAIN, 'login');
    expect(identitiesIn(login)).toEqual(['provisionIdentity']);
    expect(login).toMatch(/principal_ids:\s*union\(provisionLogin\.\?principal_ids \?\? \[\], provisionMountsAndRoles \? \[provisionIdentity\.outputs\.principalId\] : \[\]\)/);
    // The role binds the login's principals and carries the provisioning policy alone.
    const roles = bicepVar(readInfra('modules/provision.bicep'), 'loginRoles');
    expect(roles).toMatch(/bound_service_principal_ids:\s*loginSettings\.principal_ids/);
    expect(roles).toMatch(/token_policies:\s*\[loginSettings\.policy\]/);
  });
});

describe('admins are named, never implied (issue 10, Bicep 6)', () => {
  it('adminPrincipalIds is required, with @minLength(1)', () => {
    const param = mainParams.find((p) => p.name === 'adminPrincipalIds');
    expect(param?.defaultValue, 'a default would let an empty list through').toBeUndefined();
    expect(param?.decoratorTexts).toContain('@minLength(1)');
  });

  it('never makes the deploying principal an admin by default', () => {
    expect(MAIN).not.toMatch(/\bdeployer\(\)/);
  });

  it('the example names at least one admin object id', () => {
    const example = stripComments(readFileSync(path.join(INFRA_DIR, 'main.bicepparam'), 'utf8'));
    const match = /^param\s+adminPrincipalIds\s*=\s*/m.exec(example);
    expect(match, 'main.bicepparam does not set adminPrincipalIds').not.toBeNull();
    const ids = bicepLiteral(bicepVar(example.slice(match?.index ?? 0).replace(/^param/, 'var'), 'adminPrincipalIds'));
    expect(Array.isArray(ids) && ids.length > 0 && ids.every((id) => typeof id === 'string' && new RegExp(`^${GUID.source}$`).test(id))).toBe(true);
  });
});

describe('role definition ids', () => {
  it('are the documented built-in ids of the roles their names say', () => {
    const checked: string[] = [];
    for (const file of bicepFiles(INFRA_DIR)) {
      const source = readBicep(file);
      for (const match of source.matchAll(new RegExp(`(\\w+)\\s*[:=]\\s*'(${GUID.source})'`, 'g'))) {
        const [, name = '', id = ''] = match;
        const where = `${path.relative(INFRA_DIR, file)}: ${name}`;
        expect(Object.keys(BUILT_IN_ROLES), `${where} is not a known built-in role name`).toContain(name);
        expect(id, where).toBe(BUILT_IN_ROLES[name]);
        checked.push(name);
      }
      // Every role definition a file assigns is one of those named ids.
      for (const match of source.matchAll(/roleDefinitions',\s*([\w.]+)\)/g)) {
        const reference = match[1] ?? '';
        const where = `${path.relative(INFRA_DIR, file)}: roleDefinitions ${reference}`;
        expect(reference === 'dataRole.value' || Object.keys(BUILT_IN_ROLES).includes(reference), where).toBe(true);
      }
    }
    expect(new Set(checked).size).toBe(Object.keys(BUILT_IN_ROLES).length);
  });
});
