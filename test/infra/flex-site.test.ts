/**
 * The function app on Flex Consumption, read against what the platform accepts (issue 10, "The Bicep",
 * items 1, 8 and 10). No Bicep compiler or ARM endpoint runs here, so these are the rules ARM would
 * enforce at deployment, written down with their source and checked on the source text.
 */
import { describe, expect, it } from 'vitest';
import { bicepDeclarations, bicepParams, memberValue, objectMembers, readInfra, unionLiterals, type BicepDeclaration } from './bicep-source';

const FUNCTION_APP = readInfra('modules/functionapp.bicep');

/**
 * Site properties Flex Consumption rejects or has replaced ("Flex Consumption plan deprecations",
 * learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations).
 * A deployment that sets one fails: `siteConfig.ftpsState` comes back as ARM error 51021,
 * "FtpsState ... for Flex Consumption sites is invalid". Compared case-insensitively, at any depth.
 */
const NOT_ON_FLEX_SITE: Readonly<Record<string, string>> = {
  ftpsState: 'FTPS is not supported (ARM error 51021)',
  use32BitWorkerProcess: '32-bit is not supported',
  isReserved: 'not valid',
  isXenon: 'not valid',
  windowsFxVersion: 'not valid',
  alwaysOn: 'not valid',
  preWarmedInstanceCount: 'replaced by always-ready instances',
  functionAppScaleLimit: 'replaced by functionAppConfig.scaleAndConcurrency.maximumInstanceCount',
  containerSize: 'replaced by instanceMemoryMB',
  javaVersion: 'replaced by functionAppConfig.runtime',
  powerShellVersion: 'replaced by functionAppConfig.runtime',
  netFrameworkVersion: 'replaced by functionAppConfig.runtime',
  linuxFxVersion: 'replaced by functionAppConfig.runtime',
};

function resourcesOfType(source: string, type: string): BicepDeclaration[] {
  return bicepDeclarations(source).filter((d) => d.kind === 'resource' && d.target.toLowerCase() === type.toLowerCase());
}

describe('Flex Consumption site properties (issue 10, Bicep 1)', () => {
  it('the plan is Flex Consumption, so the Flex rules apply to the site', () => {
    const [plan] = resourcesOfType(FUNCTION_APP, 'Microsoft.Web/serverfarms');
    expect(plan?.body).toMatch(/tier:\s*'FlexConsumption'/);
    expect(resourcesOfType(FUNCTION_APP, 'Microsoft.Web/sites')).toHaveLength(1);
  });

  it('sets none of the site properties Flex Consumption rejects or deprecates (siteConfig.ftpsState, ...)', () => {
    const [site] = resourcesOfType(FUNCTION_APP, 'Microsoft.Web/sites');
    const forbidden = Object.keys(NOT_ON_FLEX_SITE).map((key) => key.toLowerCase());
    const used = objectMembers(site?.body ?? '{}')
      .map((member) => member.key)
      .filter((key) => forbidden.includes(key.toLowerCase()));
    expect(used, used.map((key) => `${key}: ${NOT_ON_FLEX_SITE[key] ?? 'not on Flex'}`).join('; ')).toEqual([]);
  });
});

describe('basic publishing credential policies (issue 10, Bicep 10)', () => {
  it('give every basicPublishingCredentialsPolicies resource a location', () => {
    // Some API versions answer "location has an invalid value" without one; with one it is harmless.
    const policies = resourcesOfType(FUNCTION_APP, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => memberValue(p.body, 'name'))).toEqual(["'ftp'", "'scm'"]);
    for (const policy of policies) {
      expect(memberValue(policy.body, 'location'), `${policy.symbol} has no location`).toBe('location');
      expect(memberValue(memberValue(policy.body, 'properties') ?? '{}', 'allow'), `${policy.symbol} must stay disallowed`).toBe('false');
    }
  });
});

/**
 * Flex Consumption's maximum instance count: 1 to 1,000, default 100 (learn.microsoft.com/azure/azure-functions/
 * migration/migrate-plan-consumption-to-flex, "Set it to a value between 1 and 1,000"; the old lower bound of 40
 * was a preview limit).
 */
const FLEX_MAX_INSTANCES = { min: 1, max: 1000 };

describe('hosting parameters (issue 10, Bicep 8)', () => {
  const params = { 'main.bicep': bicepParams(readInfra('main.bicep')), 'modules/functionapp.bicep': bicepParams(FUNCTION_APP) };

  it('maximumInstanceCount allows Flex Consumption\'s whole range, 1 to 1000, in main.bicep and the module', () => {
    for (const [file, list] of Object.entries(params)) {
      const param = list.find((p) => p.name === 'maximumInstanceCount');
      expect(param?.decoratorTexts, file).toEqual(expect.arrayContaining([`@minValue(${FLEX_MAX_INSTANCES.min})`, `@maxValue(${FLEX_MAX_INSTANCES.max})`]));
    }
  });

  it('nodeVersion offers the same versions in main.bicep and the module, and main.bicep defaults to the newest', () => {
    const main = params['main.bicep'].find((p) => p.name === 'nodeVersion');
    const module = params['modules/functionapp.bicep'].find((p) => p.name === 'nodeVersion');
    const offered = unionLiterals(main?.type ?? '');
    expect(unionLiterals(module?.type ?? '')).toEqual(offered);
    const newest = [...offered].sort((a, b) => Number(b) - Number(a))[0];
    expect(main?.defaultValue).toBe(`'${newest}'`);
  });
});
