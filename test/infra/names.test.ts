/**
 * Name-length arithmetic: every name main.bicep generates, at the longest base name its @maxLength
 * allows, fits the length limit of its resource type. Names are built from the base name, a
 * 13-character uniqueString() suffix and take() truncations; the check evaluates the longest value of
 * each name expression through the module parameters that carry it.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INFRA_DIR, bicepDeclarations, bicepParams, bicepVar, memberValue, ownMembers, readBicep, readInfra } from './bicep-source';

const MAIN = readInfra('main.bicep');

/**
 * Longest names Azure accepts (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules;
 * a module is a Microsoft.Resources/deployments resource, 64 characters).
 */
const MAX_NAME_LENGTH: Readonly<Record<string, number>> = {
  'Microsoft.Storage/storageAccounts': 24,
  'Microsoft.KeyVault/vaults': 24,
  'Microsoft.Web/sites': 60,
  'Microsoft.Web/serverfarms': 60,
  'Microsoft.ManagedIdentity/userAssignedIdentities': 128,
  'Microsoft.OperationalInsights/workspaces': 63,
  'Microsoft.Insights/components': 260,
  'Microsoft.Resources/deployments': 64,
};

/** uniqueString() always returns 13 characters; guid() a 36-character GUID. */
const UNIQUE_STRING_LENGTH = 13;
const GUID_LENGTH = 36;

/** Splits a call's arguments at top-level commas. */
function callArguments(inner: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < inner.length; i += 1) {
    const ch = inner[i] ?? '';
    if (ch === "'") {
      let j = i + 1;
      while (j < inner.length && inner[j] !== "'") j += inner[j] === '\\' ? 2 : 1;
      current += inner.slice(i, j + 1);
      i = j;
      continue;
    }
    if ('([{'.includes(ch)) depth += 1;
    if (')]}'.includes(ch)) depth -= 1;
    if (ch === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim()) args.push(current.trim());
  return args;
}

/** Longest value of an identifier, or undefined when it is unknown. */
type Lookup = (identifier: string) => number | undefined;

/** Longest string a name expression can produce; throws on anything it cannot bound. */
function longest(expression: string, lookup: Lookup): number {
  const text = expression.trim();
  if (text.startsWith("'") && text.endsWith("'")) {
    let total = 0;
    for (let i = 1; i < text.length - 1; i += 1) {
      if (text.startsWith('${', i)) {
        let depth = 0;
        let j = i + 1;
        for (; j < text.length; j += 1) {
          if (text[j] === '{') depth += 1;
          if (text[j] === '}') {
            depth -= 1;
            if (depth === 0) break;
          }
        }
        total += longest(text.slice(i + 2, j), lookup);
        i = j;
      } else {
        if (text[i] === '\\') i += 1;
        total += 1;
      }
    }
    return total;
  }
  const call = /^(\w+)\(([\s\S]*)\)$/.exec(text);
  if (call) {
    const [, fn = '', inner = ''] = call;
    const args = callArguments(inner);
    if (fn === 'uniqueString') return UNIQUE_STRING_LENGTH;
    if (fn === 'guid') return GUID_LENGTH;
    if (fn === 'toLower' || fn === 'toUpper') return longest(args[0] ?? '', lookup);
    if (fn === 'take') return Math.min(longest(args[0] ?? '', lookup), Number(args[1]));
    if (fn === 'replace' && args[2] === "''") return longest(args[0] ?? '', lookup);
  }
  const known = /^[\w.]+$/.test(text) ? lookup(text) : undefined;
  if (known === undefined) throw new Error(`cannot bound the length of ${text}`);
  return known;
}

/** Lookup in a Bicep file: parameters by @maxLength or default, variables by their expression. */
function fileLookup(source: string, passed: Readonly<Record<string, number>>): Lookup {
  const params = bicepParams(source);
  const lookup: Lookup = (identifier) => {
    if (identifier in passed) return passed[identifier];
    const param = params.find((p) => p.name === identifier);
    if (param) {
      const max = param.decoratorTexts.map((t) => /^@maxLength\((\d+)\)$/.exec(t)?.[1]).find((v) => v !== undefined);
      if (max !== undefined) return Number(max);
      return param.defaultValue === undefined ? undefined : longest(param.defaultValue, lookup);
    }
    try {
      return longest(bicepVar(source, identifier), lookup);
    } catch {
      return undefined;
    }
  };
  return lookup;
}

interface NamedResource {
  where: string;
  type: string;
  longest: number;
}

/** Every resource of a limited type in main.bicep's modules, and every module (deployment) name. */
function generatedNames(): NamedResource[] {
  const mainLookup = fileLookup(MAIN, {});
  const out: NamedResource[] = [];
  for (const module of bicepDeclarations(MAIN).filter((d) => d.kind === 'module')) {
    // Loop variables (verified.subscriptionId) only feed uniqueString(), which has a fixed length.
    out.push({ where: `main.bicep: module ${module.symbol}`, type: 'Microsoft.Resources/deployments', longest: longest(memberValue(module.body, 'name') ?? "''", mainLookup) });
    const file = path.join(INFRA_DIR, module.target);
    const source = readBicep(file);
    const passed: Record<string, number> = {};
    for (const { key, value } of ownMembers(memberValue(module.body, 'params') ?? '{}')) {
      try {
        passed[key] = longest(value, mainLookup);
      } catch {
        // Not a name (an id, an object): only names are bounded.
      }
    }
    const lookup = fileLookup(source, passed);
    for (const resource of bicepDeclarations(source).filter((d) => d.kind === 'resource' && MAX_NAME_LENGTH[d.target] !== undefined)) {
      out.push({
        where: `${module.target}: ${resource.symbol} (via module ${module.symbol})`,
        type: resource.target,
        longest: longest(memberValue(resource.body, 'name') ?? "''", lookup),
      });
    }
  }
  return out;
}

describe('generated names', () => {
  const names = generatedNames();

  it('cover every resource type with a tight limit', () => {
    expect(new Set(names.map((n) => n.type))).toEqual(new Set(Object.keys(MAX_NAME_LENGTH)));
  });

  it('fit their resource type\'s length limit at the longest allowed base name', () => {
    const tooLong = names.filter((n) => n.longest > (MAX_NAME_LENGTH[n.type] ?? 0)).map((n) => `${n.where}: up to ${n.longest} > ${MAX_NAME_LENGTH[n.type]}`);
    expect(tooLong).toEqual([]);
  });

  it('use every character the storage account and Key Vault names allow (st/kv + 9 + 13 = 24)', () => {
    const lookup = fileLookup(MAIN, {});
    expect(longest(bicepVar(MAIN, 'storageAccountName'), lookup)).toBe(24);
    expect(longest(bicepVar(MAIN, 'keyVaultName'), lookup)).toBe(24);
  });
});
