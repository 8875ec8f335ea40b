/**
 * Deployment scripts and the example parameter file (issue 10, "The Bicep", items 2 and 3). A
 * Microsoft.Resources/deploymentScripts resource makes Azure create a storage account with shared
 * keys (the script's container instance mounts its file share by key), which a common "storage
 * accounts should prevent shared key access" Deny policy blocks and which contradicts "no secret
 * anywhere": so every such script must be an opt-in whose default is off, and the example must
 * deploy in one pass without one. The alternative (scripts/*.sh from a pipeline) needs the same
 * input the scripts get in Azure, which main.bicep hands out as an output.
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
  conjuncts,
  memberValue,
  ownMembers,
  readBicep,
  readInfra,
  stripComments,
  type BicepLiteral,
} from './bicep-source';

const MAIN = readInfra('main.bicep');
const PROVISION = readInfra('modules/provision.bicep');
const mainParams = bicepParams(MAIN);
const EXAMPLE = stripComments(readFileSync(path.join(INFRA_DIR, 'main.bicepparam'), 'utf8'));

/** Does this Bicep file declare a deployment script, itself or through its modules? */
function runsDeploymentScript(file: string): boolean {
  const source = readBicep(file);
  return bicepDeclarations(source).some((d) =>
    d.kind === 'resource'
      ? d.target.toLowerCase() === 'microsoft.resources/deploymentscripts'
      : runsDeploymentScript(path.resolve(path.dirname(file), d.target)),
  );
}

/** The bool parameters of main.bicep that default to false. */
const optInParams = mainParams.filter((p) => p.type === 'bool' && p.defaultValue === 'false').map((p) => p.name);

/** The value the example deployment gets: the .bicepparam assignment, else main.bicep's default. */
function exampleValue(name: string): BicepLiteral {
  const match = new RegExp(`^param\\s+${name}\\s*=\\s*`, 'm').exec(EXAMPLE);
  if (match) return bicepLiteral(bicepVar(EXAMPLE.slice(match.index).replace(/^param/, 'var'), name));
  const param = mainParams.find((p) => p.name === name);
  if (param?.defaultValue === undefined) throw new Error(`${name} has no value in the example`);
  return bicepLiteral(param.defaultValue);
}

describe('deployment scripts are opt-in (issue 10, Bicep 3)', () => {
  const scripted = bicepDeclarations(MAIN).filter((d) => d.kind === 'module' && runsDeploymentScript(path.join(INFRA_DIR, d.target)));

  it('main.bicep deploys scripts only through the key and provisioning modules', () => {
    expect(scripted.map((d) => d.symbol).sort()).toEqual(['encryptionKey', 'provision']);
  });

  it('runs each deployment script only behind a bool parameter that defaults to false', () => {
    for (const module of scripted) {
      const gates = conjuncts(module.condition ?? '').filter((operand) => optInParams.includes(operand));
      expect(gates, `module ${module.symbol} (condition: ${module.condition ?? 'none'}) must require an opt-in parameter defaulting to false`).not.toEqual([]);
    }
  });

  it('declares no storage account with shared keys', () => {
    const files = readdirSync(INFRA_DIR, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.bicep'));
    const accounts = files.flatMap((file) =>
      bicepDeclarations(readInfra(file))
        .filter((d) => d.target === 'Microsoft.Storage/storageAccounts')
        .map((account) => ({ where: `${file}: ${account.symbol}`, account })),
    );
    expect(accounts.map((a) => a.where)).toEqual(['modules/storage.bicep: account']);
    for (const { where, account } of accounts) {
      expect(memberValue(memberValue(account.body, 'properties') ?? '{}', 'allowSharedKeyAccess'), where).toBe('false');
    }
  });
});

describe('the example parameter file (issue 10, Bicep 2 and 3)', () => {
  it('deploys in one pass: it applies no mounts or roles while the app has no package', () => {
    const declaresSomething = (exampleValue('mounts') as BicepLiteral[]).length > 0 || (exampleValue('roles') as BicepLiteral[]).length > 0;
    expect(declaresSomething, 'the example should still show mounts and roles').toBe(true);
    expect(exampleValue('provisionMountsAndRoles'), 'the provisioning script would wait for sys/health of an app with no package').toBe(false);
  });

  it('runs no deployment script, so it needs no shared-key storage account', () => {
    for (const module of bicepDeclarations(MAIN).filter((d) => d.kind === 'module' && runsDeploymentScript(path.join(INFRA_DIR, d.target)))) {
      const gates = conjuncts(module.condition ?? 'true').filter((operand) => /^\w+$/.test(operand) && mainParams.some((p) => p.name === operand));
      expect(
        gates.some((gate) => exampleValue(gate) === false),
        `module ${module.symbol} runs a deployment script with the example's values`,
      ).toBe(true);
    }
  });
});

describe('provisioning from a pipeline (issue 10, Bicep 3)', () => {
  const normalize = (expression: string): string => expression.replace(/\s+/g, ' ');

  it('main.bicep builds the login, policies, mounts, roles and KV mounts exactly as modules/provision.bicep does', () => {
    for (const name of ['loginSettings', 'loginRoles', 'desiredLogin', 'desiredMounts', 'desiredRoles', 'desiredKvMounts']) {
      expect(normalize(bicepVar(MAIN, name)), name).toBe(normalize(bicepVar(PROVISION, name)));
    }
    // ...from the parameters of the same names, so the module sees what main.bicep's own copy sees.
    const moduleParams = memberValue(bicepDeclarations(MAIN).find((d) => d.symbol === 'provision')?.body ?? '{}', 'params') ?? '{}';
    for (const name of ['login', 'policies', 'mounts', 'roles', 'kvMounts', 'prune']) {
      expect(memberValue(moduleParams, name), name).toBe(name);
    }
  });

  /** Environment variables the deployment script gets that a pipeline chooses itself. */
  const NOT_IN_PROVISION_INPUT: Readonly<Record<string, string>> = {
    AZAUTH_HEALTH_WAIT_SECONDS: 'a pipeline publishes the package before it provisions, and can wait its own way',
    AZAUTH_PROVISION_AUTH: 'how the pipeline authenticates (an admin for the bootstrap, then its narrow login) is the pipeline\'s choice',
  };

  it('outputs provisionInput: the environment scripts/provision.sh reads, as the module gives it', () => {
    const output = /^output\s+provisionInput\s+object\s*=\s*/m.exec(MAIN);
    expect(output, 'main.bicep has no provisionInput output').not.toBeNull();
    const members = ownMembers(bicepVar(MAIN.slice(output?.index ?? 0).replace(/^output\s+provisionInput\s+object/, 'var provisionInput'), 'provisionInput'));
    const script = readFileSync(path.join(INFRA_DIR, 'scripts', 'provision.sh'), 'utf8');
    const required = [...new Set([...script.matchAll(/\$\{(\w+):\?/g)].map((m) => m[1] ?? ''))];
    expect(required.filter((name) => !members.some((m) => m.key === name)), 'the script requires these').toEqual([]);
    // The same values the deployment script gets from provision.bicep's environmentVariables.
    const scriptEnv = [...PROVISION.matchAll(/name:\s*'(\w+)'\s*\n\s*value:\s*(.+)/g)].map((m) => ({ key: m[1] ?? '', value: (m[2] ?? '').trim() }));
    expect(members.map((m) => m.key).sort()).toEqual(scriptEnv.map((e) => e.key).filter((key) => NOT_IN_PROVISION_INPUT[key] === undefined).sort());
    const moduleParams = memberValue(bicepDeclarations(MAIN).find((d) => d.symbol === 'provision')?.body ?? '{}', 'params') ?? '{}';
    const moduleParamNames = bicepParams(PROVISION).map((p) => p.name);
    for (const { key, value } of members) {
      const inModule = scriptEnv.find((entry) => entry.key === key)?.value;
      expect(inModule, `${key} is not an environment variable of the deployment script`).toBeDefined();
      // provision.bicep's expression in terms of its own parameters, main.bicep's in terms of what it passes them.
      const asInMain = (inModule ?? '').replace(/\b\w+\b/g, (word) => (moduleParamNames.includes(word) ? (memberValue(moduleParams, word) ?? word) : word));
      expect(normalize(value), key).toBe(normalize(asInMain));
    }
  });

  it('passes no token or secret to the script: it authenticates as its identity, by admin token or login', () => {
    const scriptEnv = [...PROVISION.matchAll(/name:\s*'(\w+)'\s*\n\s*value:/g)].map((m) => m[1] ?? '');
    expect(scriptEnv).not.toContain('VAULT_TOKEN');
    expect(scriptEnv.filter((name) => /TOKEN|SECRET|PASSWORD|KEY$/.test(name))).toEqual([]);
    const output = /^output\s+provisionInput\s+object\s*=\s*([\s\S]*?)^\}/m.exec(MAIN)?.[1] ?? '';
    expect(output).not.toMatch(/TOKEN|SECRET/);
  });
});
