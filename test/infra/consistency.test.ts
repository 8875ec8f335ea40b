/**
 * infra/ against the app, without a Bicep compiler (none runs on these machines): the app settings
 * main.bicep sets are exactly the ones the app reads (shared/settings.ts) plus a documented list of
 * platform settings; the provisioning module's mount, role, policy and KV mount types use the API's
 * own field names and every value they can send is accepted by the API's parsing and merge code; the
 * example parameter file is valid input; parameters are described; files referenced by path exist.
 * What this cannot check (schemas of Azure resource types, API versions, RBAC) is listed in
 * infra/README.md.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFields } from '../../functions/authConfig';
import { roleFields } from '../../functions/authRole';
import { applyConfigWrite, type ConfigWriteInput } from '../../shared/config/write';
import { applyTuning, parseKvVersion, secretMountToEnable } from '../../shared/mounts/secret-mounts';
import { DEFAULT_TUNING } from '../../shared/mounts/types';
import { checkPolicyWrite, policyNameFrom } from '../../shared/policies/requests';
import { applyRoleWrite, type RoleWriteInput } from '../../shared/roles/write';
import { SETTINGS, readSettings, type SettingName } from '../../shared/settings';
import { parseFields } from '../../shared/vault/fields';
import {
  bicepLiteral,
  bicepObjectType,
  bicepParams,
  bicepVar,
  declaration,
  memberValue,
  objectMembers,
  readBicep,
  stripComments,
  typeProperties,
  unionLiterals,
  type BicepLiteral,
} from './bicep-source';

const INFRA = path.resolve(__dirname, '..', '..', 'infra');
const MAIN = readBicep(path.join(INFRA, 'main.bicep'));
const PROVISION = readBicep(path.join(INFRA, 'modules', 'provision.bicep'));

/**
 * Settings main.bicep sets that the app never reads, each with the reason Azure needs it. Anything
 * else in main.bicep's appSettings must be a key of SETTINGS.
 */
const PLATFORM_SETTINGS: Readonly<Record<string, string>> = {
  AzureWebJobsStorage__credential:
    'tells the Functions host to reach AzureWebJobsStorage with a managed identity (the app itself uses one whenever no connection string is set)',
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'where the Functions host sends logs and the audit records',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING:
    'the host signs that telemetry with the app identity, because the component has local (key) auth disabled',
};

/**
 * Settings the app reads that main.bicep deliberately leaves unset in Azure, with the reason.
 * AZAUTH_ENCRYPTION_KEY_NEXT is not one: the app settings are replaced whole on every deployment, so
 * a hand-set next key would vanish mid-rollover (and what the app had sealed under it with it);
 * main.bicep sets it, as a second Key Vault reference, while encryptionKeyNextSecretName is given.
 */
const NOT_SET_IN_AZURE: Readonly<Partial<Record<SettingName, string>>> = {
  AzureWebJobsStorage:
    'a connection string carries an account key; the account has shared keys disabled, so storage is reached through the identity-based AzureWebJobsStorage__* settings',
};

/** Overrides that must stay absent unless their parameter is given: set, they pin every mount to one cloud. */
const CONDITIONAL_OVERRIDES: Readonly<Partial<Record<SettingName, string>>> = {
  AZURE_AUTHORITY_HOST: 'authorityHostOverride',
  AZAUTH_ARM_ENDPOINT: 'armEndpointOverride',
  AZAUTH_GRAPH_ENDPOINT: 'graphEndpointOverride',
};

/** Settings Flex Consumption rejects or ignores (the plan declares runtime and package itself). */
const NOT_ON_FLEX = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_CONTENTSHARE',
];

const settingNames = Object.keys(SETTINGS) as SettingName[];
const appSettingsExpression = bicepVar(MAIN, 'appSettings');
const appSettingMembers = objectMembers(appSettingsExpression);
const appSettingKeys = appSettingMembers.map((member) => member.key);
const mainParams = bicepParams(MAIN);

function valueOf(key: string): string {
  const member = appSettingMembers.find((candidate) => candidate.key === key);
  if (!member) throw new Error(`${key} is not in main.bicep's appSettings`);
  return member.value;
}

describe('main.bicep app settings', () => {
  it('sets every setting the app reads, or says why not', () => {
    const missing = settingNames.filter((name) => !appSettingKeys.includes(name) && NOT_SET_IN_AZURE[name] === undefined);
    expect(missing, 'add these to var appSettings in infra/main.bicep (or to NOT_SET_IN_AZURE with a reason)').toEqual([]);
  });

  it('sets nothing the app ignores, except the platform settings listed with their reasons', () => {
    const unknown = appSettingKeys.filter((key) => !(key in SETTINGS) && PLATFORM_SETTINGS[key] === undefined);
    expect(unknown).toEqual([]);
  });

  it('keeps the exception lists honest', () => {
    for (const name of Object.keys(NOT_SET_IN_AZURE)) {
      expect(name in SETTINGS, `${name} is no longer an app setting`).toBe(true);
      expect(appSettingKeys, `${name} is listed as unset but main.bicep sets it`).not.toContain(name);
    }
    for (const name of Object.keys(PLATFORM_SETTINGS)) {
      expect(name in SETTINGS, `${name} is read by the app now: remove it from PLATFORM_SETTINGS`).toBe(false);
      expect(appSettingKeys, `${name} is listed as a platform setting but main.bicep does not set it`).toContain(name);
    }
  });

  it('sets each setting once', () => {
    const seen = new Set<string>();
    const twice = appSettingKeys.filter((key) => (seen.has(key) ? true : (seen.add(key), false)));
    expect(twice).toEqual([]);
  });

  it('sets none of the settings Flex Consumption does not take', () => {
    expect(appSettingKeys.filter((key) => NOT_ON_FLEX.includes(key))).toEqual([]);
  });

  it('sets the endpoint overrides only when their parameter is given', () => {
    for (const [setting, param] of Object.entries(CONDITIONAL_OVERRIDES)) {
      const pattern = new RegExp(`empty\\(${param}\\)\\s*\\?\\s*\\{\\s*\\}\\s*:\\s*\\{\\s*${setting}\\s*:\\s*${param}\\s*\\}`);
      expect(appSettingsExpression, `${setting} must be present only when ${param} is non-empty`).toMatch(pattern);
      expect(mainParams.find((p) => p.name === param)?.defaultValue).toBe("''");
    }
  });

  it('sets AZAUTH_ENCRYPTION_KEY_NEXT only during a rollover, as a Key Vault reference to a second secret of the same vault', () => {
    // Present only when the parameter names a secret: an unresolvable reference would break sealing.
    expect(appSettingsExpression).toMatch(
      /empty\(encryptionKeyNextSecretName\)\s*\?\s*\{\s*\}\s*:\s*\{\s*AZAUTH_ENCRYPTION_KEY_NEXT\s*:\s*'@Microsoft\.KeyVault\(SecretUri=\$\{keyVault\.outputs\.nextEncryptionKeySecretUri\}\)'\s*\}/,
    );
    expect(mainParams.find((p) => p.name === 'encryptionKeyNextSecretName')?.defaultValue).toBe("''");
    const keyVaultParams = memberValue(declaration(MAIN, 'keyVault').body, 'params') ?? '{}';
    expect(memberValue(keyVaultParams, 'nextEncryptionKeySecretName')).toBe('encryptionKeyNextSecretName');
    // The same vault and the same versionless form as the current key's reference.
    const keyVault = readBicep(path.join(INFRA, 'modules', 'keyvault.bicep'));
    const output = (name: string): string => new RegExp(`^output\\s+${name}\\s+string\\s*=\\s*(.+)$`, 'm').exec(keyVault)?.[1] ?? '';
    expect(output('encryptionKeySecretUri')).toBe("'${vault.properties.vaultUri}secrets/${encryptionKeySecretName}/'");
    expect(output('nextEncryptionKeySecretUri')).toBe("empty(nextEncryptionKeySecretName) ? '' : '${vault.properties.vaultUri}secrets/${nextEncryptionKeySecretName}/'");
    // The app identity reads it through its Secrets User assignment on the whole vault.
    expect(memberValue(declaration(keyVault, 'appReadsSecrets').body, 'scope')).toBe('vault');
  });

  it('uses identity-based storage and a Key Vault reference for the encryption key', () => {
    expect(valueOf('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(valueOf('AzureWebJobsStorage__clientId')).toBe(valueOf('AZAUTH_MANAGED_IDENTITY_CLIENT_ID'));
    expect(valueOf('AZAUTH_ENCRYPTION_KEY')).toMatch(/^'@Microsoft\.KeyVault\(SecretUri=\$\{[\w.]+\}\)'$/);
    // The app splits AZAUTH_ADMIN_PRINCIPAL_IDS on commas.
    expect(valueOf('AZAUTH_ADMIN_PRINCIPAL_IDS')).toMatch(/^join\(\w+, ','\)$/);
  });

  it('defaults every tunable setting to a value the app accepts and would use anyway', () => {
    const appDefaults = readSettings({});
    const checked: string[] = [];
    for (const { key, value } of appSettingMembers) {
      if (!(key in SETTINGS)) continue;
      const paramName = /^(?:string\()?(\w+)\)?$/.exec(value)?.[1];
      const param = mainParams.find((candidate) => candidate.name === paramName);
      if (!param?.defaultValue) continue;
      let literal: BicepLiteral;
      try {
        literal = bicepLiteral(param.defaultValue);
      } catch {
        continue; // computed defaults such as tenant().tenantId
      }
      const name = key as SettingName;
      const parsed = readSettings({ [name]: String(literal) });
      expect(parsed[name], `${key}: main.bicep's default ${param.defaultValue} differs from the app's default`).toEqual(appDefaults[name]);
      checked.push(key);
    }
    expect(checked).toEqual(expect.arrayContaining(['AZAUTH_DEFAULT_TTL', 'AZAUTH_MAX_TTL', 'AZAUTH_CLOCK_SKEW', 'AZAUTH_MAX_REQUEST_BYTES']));
  });

  it('allows only cloud names the app accepts for AZURE_ENVIRONMENT', () => {
    const param = mainParams.find((candidate) => candidate.name === 'fallbackEnvironment');
    const allowed = bicepLiteral(/@allowed\(([\s\S]*)\)$/.exec(param?.decoratorTexts.find((t) => t.startsWith('@allowed')) ?? '')?.[1] ?? '');
    expect(Array.isArray(allowed)).toBe(true);
    for (const cloud of allowed as string[]) {
      expect(() => applyConfigWrite(undefined, { tenant_id: 't', resource: 'r' }, configContext({ AZURE_ENVIRONMENT: cloud }))).not.toThrow();
    }
  });
});

// ------------------------------------------------------------------------------------------------

const configType = typeProperties(bicepObjectType(PROVISION, 'mountConfig'));
const mountType = typeProperties(bicepObjectType(PROVISION, 'mount'));
const roleType = typeProperties(bicepObjectType(PROVISION, 'role'));
const configDefaults = bicepLiteral(bicepVar(PROVISION, 'configFieldDefaults')) as Record<string, BicepLiteral>;
const roleDefaults = bicepLiteral(bicepVar(PROVISION, 'roleFieldDefaults')) as Record<string, BicepLiteral>;

/** Fields of the config API that provision.bicep leaves out on purpose. */
const CONFIG_FIELDS_NOT_IN_BICEP: Readonly<Record<string, string>> = {
  client_secret: 'a secret in the pipeline, and re-sent on every deployment it would undo rotate-root',
};
/** Vault's deprecated role aliases: Bicep declares only their token_* replacements. */
const DEPRECATED_ROLE_FIELDS = ['policies', 'num_uses', 'ttl', 'max_ttl', 'period'];
/** Role properties that are URL segments, not body fields. */
const ROLE_PATH_PARTS = ['mount', 'name'];

function configContext(env: Partial<Record<SettingName, string>> = {}) {
  const settings = readSettings(env);
  return {
    now: new Date('2026-01-01T00:00:00Z'),
    env: settings,
    sealClientSecret: (): string => {
      throw new Error('provisioning never sends client_secret');
    },
  };
}

/** What the API does with a provisioning payload: Vault field parsing, then the merge and its checks. */
function applyConfigPayload(payload: Record<string, unknown>) {
  const { values, unknown } = parseFields(configFields, payload);
  expect(unknown, 'fields the config API would ignore').toEqual([]);
  return applyConfigWrite(undefined, values as ConfigWriteInput, configContext());
}

function applyRolePayload(payload: Record<string, unknown>) {
  const { values, unknown } = parseFields(roleFields, payload);
  expect(unknown, 'fields the role API would ignore').toEqual([]);
  return applyRoleWrite('example', undefined, values as RoleWriteInput, { maxLeaseTtlSeconds: readSettings({}).AZAUTH_MAX_TTL });
}

/** A payload as provision.bicep builds it: its defaults, then the declared fields. */
const withDefaults = (defaults: Record<string, BicepLiteral>, declared: Record<string, BicepLiteral>) => ({ ...defaults, ...declared });

describe('provision.bicep types and the API', () => {
  it('names every config property after a config API field', () => {
    const apiFields = Object.keys(configFields);
    expect(configType.map((p) => p.name).filter((name) => !apiFields.includes(name))).toEqual([]);
    const notInBicep = apiFields.filter((name) => !configType.some((p) => p.name === name));
    expect(notInBicep.sort(), 'a new config API field: declare it in mountConfig or explain its absence').toEqual(
      Object.keys(CONFIG_FIELDS_NOT_IN_BICEP).sort(),
    );
  });

  it('names every role property after a role API field, the URL parts aside', () => {
    const apiFields = Object.keys(roleFields);
    const bodyProperties = roleType.map((p) => p.name).filter((name) => !ROLE_PATH_PARTS.includes(name));
    expect(bodyProperties.filter((name) => !apiFields.includes(name))).toEqual([]);
    const notInBicep = apiFields.filter((name) => !bodyProperties.includes(name));
    expect(notInBicep.sort(), 'a new role API field: declare it in role').toEqual([...DEPRECATED_ROLE_FIELDS].sort());
  });

  it('gives a mount its path, an optional description and a required config', () => {
    expect(mountType).toEqual([
      { name: 'path', optional: false, type: 'string' },
      { name: 'description', optional: true, type: 'string' },
      { name: 'config', optional: false, type: 'mountConfig' },
    ]);
  });

  it('has a default for exactly the optional fields, so a field removed from Bicep is reset', () => {
    expect(Object.keys(configDefaults).sort()).toEqual(configType.filter((p) => p.optional).map((p) => p.name).sort());
    expect(Object.keys(roleDefaults).sort()).toEqual(roleType.filter((p) => p.optional).map((p) => p.name).sort());
  });

  it('sends defaults the API accepts and stores as its own defaults', () => {
    const config = applyConfigPayload(withDefaults(configDefaults, { tenant_id: 'tenant', resource: 'https://management.azure.com/' }));
    const fresh = applyConfigWrite(undefined, { tenant_id: 'tenant', resource: 'https://management.azure.com/' }, configContext());
    expect(config).toEqual(fresh);

    const role = applyRolePayload(withDefaults(roleDefaults, { bound_service_principal_ids: ['oid'] }));
    const plain = applyRoleWrite('example', undefined, { bound_service_principal_ids: ['oid'] }, { maxLeaseTtlSeconds: readSettings({}).AZAUTH_MAX_TTL });
    // The defaults set never-set lists to [] rather than null; everything else is the API's default.
    const emptied = { boundGroupIds: [], boundSubscriptionIds: [], boundResourceGroups: [], boundLocations: [], boundScaleSets: [] };
    expect(role.role).toEqual({ ...plain.role, ...emptied });
  });

  it('offers only enum values the API accepts', () => {
    const environment = configType.find((p) => p.name === 'environment');
    const clouds = unionLiterals(/type cloudName = (.+)/.exec(PROVISION)?.[1] ?? '');
    expect(environment?.type).toBe('cloudName');
    for (const cloud of clouds) {
      expect(() => applyConfigPayload({ tenant_id: 't', resource: 'r', environment: cloud })).not.toThrow();
    }
    for (const property of roleType.filter((p) => p.type.includes("'"))) {
      for (const value of unionLiterals(property.type)) {
        expect(() => applyRolePayload({ bound_service_principal_ids: ['oid'], [property.name]: value }), `${property.name}=${value}`).not.toThrow();
      }
    }
  });
});

const policyType = typeProperties(bicepObjectType(PROVISION, 'policy'));
const kvMountType = typeProperties(bicepObjectType(PROVISION, 'kvMount'));
const kvOptionsType = typeProperties(bicepObjectType(PROVISION, 'kvMountOptions'));
const kvConfigType = typeProperties(bicepObjectType(PROVISION, 'kvMountConfig'));
const kvConfigDefaults = bicepLiteral(bicepVar(PROVISION, 'kvMountConfigDefaults')) as Record<string, BicepLiteral>;
const loginType = typeProperties(bicepObjectType(PROVISION, 'provisioningLogin'));
const loginDefaults = bicepLiteral(bicepVar(PROVISION, 'provisioningLoginDefaults')) as Record<string, BicepLiteral>;
const SYSTEM_TTLS = { defaultTtl: readSettings({}).AZAUTH_DEFAULT_TTL, maxTtl: readSettings({}).AZAUTH_MAX_TTL };

/** What scripts/provision.sh sends to POST sys/mounts/<path> for a declared KV mount (desiredKvMounts). */
function enableKvPayload(declared: Record<string, BicepLiteral>) {
  const config = { ...kvConfigDefaults, ...((declared.config as Record<string, BicepLiteral> | undefined) ?? {}) };
  return secretMountToEnable(String(declared.path), { type: 'kv', description: String(declared.description ?? ''), options: declared.options, config }, SYSTEM_TTLS);
}

describe('provision.bicep policy and KV mount types and the API', () => {
  it('declares a policy as the name of its URL and the policy field of PUT sys/policies/acl/<name>', () => {
    expect(policyType).toEqual([
      { name: 'name', optional: false, type: 'string' },
      { name: 'policy', optional: false, type: 'string' },
    ]);
  });

  it('declares a KV mount with the sys/mounts enable fields the script sends, the version required', () => {
    expect(kvMountType).toEqual([
      { name: 'path', optional: false, type: 'string' },
      { name: 'description', optional: true, type: 'string' },
      { name: 'options', optional: false, type: 'kvMountOptions' },
      { name: 'config', optional: true, type: 'kvMountConfig' },
    ]);
    expect(kvOptionsType).toEqual([{ name: 'version', optional: false, type: "('1' | '2')" }]);
    for (const version of unionLiterals(kvOptionsType[0]?.type ?? '')) {
      expect(parseKvVersion(version)).toBe(Number(version));
    }
  });

  it('names every KV config property after a config field that enable and tune both read', () => {
    expect(kvConfigType.length).toBeGreaterThan(0);
    for (const { name } of kvConfigType) {
      // A field the API reads refuses a value it cannot parse; a misspelled one would be ignored.
      expect(() => secretMountToEnable('kv-x', { type: 'kv', config: { [name]: 'not-a-duration' } }, SYSTEM_TTLS), name).toThrow(/unable to parse/);
      expect(() => applyTuning(DEFAULT_TUNING, { [name]: 'not-a-duration' }, SYSTEM_TTLS), name).toThrow(/unable to parse/);
    }
  });

  it('has KV config defaults for exactly the optional fields, giving the API\'s own defaults on enable and resetting them on tune', () => {
    expect(Object.keys(kvConfigDefaults).sort()).toEqual(kvConfigType.filter((p) => p.optional).map((p) => p.name).sort());
    const enabled = enableKvPayload({ path: 'kv-x', options: { version: '2' } });
    expect(enabled).toMatchObject({ type: 'kv', description: '', options: { version: '2' }, tuning: DEFAULT_TUNING });
    const tuned = applyTuning({ ...DEFAULT_TUNING, defaultLeaseTtl: 60, maxLeaseTtl: 120 }, kvConfigDefaults, SYSTEM_TTLS);
    expect(tuned).toEqual(DEFAULT_TUNING);
  });

  it('builds the provisioning role from role API fields, and its defaults give a role the API accepts', () => {
    expect(Object.keys(loginDefaults).sort()).toEqual(loginType.map((p) => p.name).sort());
    expect(loginType.every((p) => p.optional)).toBe(true);
    const loginRoleKeys = objectMembers(bicepVar(PROVISION, 'loginRoles')).map((m) => m.key);
    const body = loginRoleKeys.filter((key) => !ROLE_PATH_PARTS.includes(key));
    expect(body.filter((key) => !roleType.some((p) => p.name === key))).toEqual([]);
    const role = applyRolePayload(
      withDefaults(roleDefaults, {
        bound_service_principal_ids: ['oid'],
        token_policies: [loginDefaults.policy ?? ''],
        token_ttl: loginDefaults.token_ttl ?? '',
        token_max_ttl: loginDefaults.token_ttl ?? '',
      }),
    );
    expect(role.role).toMatchObject({ tokenPolicies: [loginDefaults.policy], tokenTtl: 900, tokenMaxTtl: 900 });
    expect(policyNameFrom(String(loginDefaults.policy))).toBe(loginDefaults.policy);
  });
});

// ------------------------------------------------------------------------------------------------

describe('main.bicepparam example', () => {
  const text = readFileSync(path.join(INFRA, 'main.bicepparam'), 'utf8');
  const source = stripComments(text);
  const assigned = [...source.matchAll(/^param\s+(\w+)\s*=\s*/gm)].map((match) => match[1] ?? '');
  const literal = (name: string): BicepLiteral => {
    const match = new RegExp(`^param\\s+${name}\\s*=\\s*`, 'm').exec(source);
    if (!match) throw new Error(`main.bicepparam does not set ${name}`);
    // Reuse the var reader: `param x = <expr>` has the same shape as `var x = <expr>`.
    return bicepLiteral(bicepVar(source.slice(match.index).replace(/^param/, 'var'), name));
  };

  it('uses main.bicep, sets only its parameters, and every required one', () => {
    expect(source).toMatch(/^using 'main\.bicep'$/m);
    const known = mainParams.map((p) => p.name);
    expect(assigned.filter((name) => !known.includes(name))).toEqual([]);
    const required = mainParams.filter((p) => p.defaultValue === undefined).map((p) => p.name);
    expect(required.filter((name) => !assigned.includes(name))).toEqual([]);
  });

  it('declares mounts and roles the API accepts', () => {
    const mounts = literal('mounts') as Array<Record<string, BicepLiteral>>;
    const roles = literal('roles') as Array<Record<string, BicepLiteral>>;
    expect(mounts.length).toBeGreaterThan(0);
    expect(roles.length).toBeGreaterThan(0);
    for (const mount of mounts) {
      expect(Object.keys(mount).every((key) => mountType.some((p) => p.name === key))).toBe(true);
      applyConfigPayload(withDefaults(configDefaults, mount.config as Record<string, BicepLiteral>));
    }
    for (const role of roles) {
      const { mount, name, ...body } = role;
      expect(typeof mount === 'string' && typeof name === 'string').toBe(true);
      expect(Object.keys(body).every((key) => roleType.some((p) => p.name === key))).toBe(true);
      applyRolePayload(withDefaults(roleDefaults, body));
    }
  });

  it('declares policies the API parses, KV mounts it enables, and roles that name only declared or built-in policies', () => {
    const policies = literal('policies') as Array<Record<string, BicepLiteral>>;
    const kvMounts = literal('kvMounts') as Array<Record<string, BicepLiteral>>;
    const login = { ...loginDefaults, ...(literal('provisionLogin') as Record<string, BicepLiteral>) };
    expect(policies.length).toBeGreaterThan(0);
    expect(kvMounts.length).toBeGreaterThan(0);
    for (const declared of policies) {
      expect(Object.keys(declared).sort()).toEqual(['name', 'policy']);
      const { parsed } = checkPolicyWrite(policyNameFrom(String(declared.name)), String(declared.policy));
      expect(parsed.rules.length, `policy ${String(declared.name)} grants something`).toBeGreaterThan(0);
      expect(parsed.warnings).toEqual([]);
    }
    for (const declared of kvMounts) {
      expect(Object.keys(declared).every((key) => kvMountType.some((p) => p.name === key))).toBe(true);
      expect(enableKvPayload(declared).type).toBe('kv');
    }
    expect(Object.keys(login).every((key) => loginType.some((p) => p.name === key))).toBe(true);
    const named = new Set([...policies.map((p) => String(p.name)), 'default', String(login.policy)]);
    const roles = literal('roles') as Array<Record<string, BicepLiteral>>;
    for (const role of roles) {
      for (const policy of (role.token_policies as string[] | undefined) ?? []) expect(named, `role ${String(role.name)}`).toContain(policy);
    }
  });
});

// ------------------------------------------------------------------------------------------------

function bicepFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? bicepFiles(path.join(dir, entry.name)) : entry.name.endsWith('.bicep') ? [path.join(dir, entry.name)] : [],
  );
}

/** `${NAME:?` (required) and `${NAME:-` (optional) environment variables of a script. */
function scriptVariables(script: string): { required: string[]; optional: string[] } {
  const required = [...script.matchAll(/\$\{(\w+):\?/g)].map((m) => m[1] ?? '');
  const optional = [...script.matchAll(/\$\{(\w+):-/g)].map((m) => m[1] ?? '');
  return { required: [...new Set(required)], optional: [...new Set(optional)] };
}

describe('all Bicep files', () => {
  const files = bicepFiles(INFRA);

  it('describe every parameter, and mark credential-like ones secure', () => {
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const file of files) {
      for (const param of bicepParams(readBicep(file))) {
        const where = `${path.relative(INFRA, file)}: param ${param.name}`;
        expect(param.decorators, where).toContain('description');
        if (/(secret|password|key|token|connectionstring)$/i.test(param.name) && /^(string|object)$/.test(param.type)) {
          expect(param.decorators, `${where} looks like a credential`).toContain('secure');
        }
      }
    }
  });

  it('reference modules and scripts that exist', () => {
    for (const file of files) {
      const source = readBicep(file);
      for (const match of source.matchAll(/^module\s+\w+\s+'([^']+)'/gm)) {
        expect(existsSync(path.resolve(path.dirname(file), match[1] ?? '')), `${file} → ${match[1]}`).toBe(true);
      }
      for (const match of source.matchAll(/(?:import\s+\{[^}]*\}\s+from|loadTextContent\()\s*'([^']+)'/g)) {
        expect(existsSync(path.resolve(path.dirname(file), match[1] ?? '')), `${file} → ${match[1]}`).toBe(true);
      }
    }
  });

  it('give each deployment script exactly the environment variables it reads', () => {
    for (const file of files) {
      const source = readBicep(file);
      const script = /loadTextContent\('([^']+\.sh)'\)/.exec(source)?.[1];
      if (!script) continue;
      const provided = [...source.matchAll(/name:\s*'(\w+)'\s*\n\s*value:/g)].map((m) => m[1] ?? '');
      const { required, optional } = scriptVariables(readFileSync(path.resolve(path.dirname(file), script), 'utf8'));
      expect(required.filter((name) => !provided.includes(name)), `${script} needs these from ${path.basename(file)}`).toEqual([]);
      expect(provided.filter((name) => !required.includes(name) && !optional.includes(name)), `${script} never reads these`).toEqual([]);
    }
  });
});
