/**
 * Policy documents → rules, with Vault's validation and Vault's error texts (vault/policy.go).
 *
 * The document is decoded by the HCL v1 library Vault uses (hcl.ts); this module checks what Vault
 * checks on top of it, in Vault's order: top-level keys, then each path block in turn (template
 * syntax, its keys, value types, `+*`, the legacy `policy`, capabilities, parameters, wrapping TTLs).
 * Every error starts with "failed to parse policy: ", as Vault's do, and is a 400 for the caller.
 */
import { goQuote } from '../vault/goQuote';
import { multiError } from '../vault/multiError';
import { parseDurationSecond } from './duration';
import { decodeHcl } from './hcl';
import { MAX_POLICY_BYTES } from './names';
import { hasDuplicateAttributes, outlineDocument, outlinePathBlocks, type OutlineItem } from './outline';
import { isTemplated, templateProblem } from './template';
import { CAPABILITIES, isCapability, type Capability, type ParsedPolicy, type PolicyRule } from './types';

export class PolicyParseError extends Error {
  constructor(detail: string) {
    super(`failed to parse policy: ${detail}`);
    this.name = 'PolicyParseError';
  }
}

/** Vault's warning for an attribute set twice in one block (it still takes both, as we do). */
export const DUPLICATE_ATTRIBUTES_WARNING = 'policy contains duplicate attributes, which will no longer be supported in a future version';

const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(['name', 'path']);
const PATH_KEYS: ReadonlySet<string> = new Set([
  'comment',
  'policy',
  'capabilities',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'mfa_methods',
  'control_group',
  'subscribe_event_types',
]);

/** The legacy `policy = "..."` values and the capabilities each one appends. */
const LEGACY_POLICIES: ReadonlyMap<string, readonly Capability[]> = new Map([
  ['read', ['read', 'list']],
  ['write', ['create', 'read', 'update', 'delete', 'list']],
  ['sudo', ['create', 'read', 'update', 'delete', 'list', 'sudo']],
]);

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * "invalid key" errors for the keys of `present` that `valid` lacks: in document order and with
 * Vault's line when the outline can tell, else in name order on line 0.
 */
function invalidKeyErrors(present: readonly string[], valid: ReadonlySet<string>, outline: readonly OutlineItem[] | undefined): string[] {
  const invalid = present.filter((key) => !valid.has(key));
  if (invalid.length === 0) return [];
  const located = (outline ?? []).filter((item) => invalid.includes(item.keys[0] ?? '')).map((item) => `invalid key ${goQuote(item.keys[0] ?? '')} on line ${item.assignLine}`);
  return located.length > 0 ? located : [...invalid].sort().map((key) => `invalid key ${goQuote(key)} on line 0`);
}

/** One path block as the decoder yields it. */
interface PathBlock {
  readonly label: string;
  readonly body: JsonObject;
}

/**
 * The path blocks of the decoded `path` value, in document order. A `path` that is not a block
 * gets Vault's text for it (Vault then looks for keys in a value that has none).
 */
function pathBlocks(value: unknown): PathBlock[] {
  if (value === undefined) return [];
  const entries = Array.isArray(value) ? value : [value];
  if (!entries.every(isObject)) {
    const astType = Array.isArray(value) ? '*ast.ListType' : '*ast.LiteralType';
    throw new PolicyParseError(`path "path": cannot check HCL keys of type ${astType}`);
  }
  const blocks: PathBlock[] = [];
  for (const entry of entries) {
    for (const [label, bodies] of Object.entries(entry)) {
      const list = Array.isArray(bodies) ? bodies : [bodies];
      if (!list.every(isObject)) {
        // `path = { "a" = 1 }`: Vault sees the key "a" inside a path block named "path".
        throw new PolicyParseError(multiError([`path "path": invalid key ${goQuote(label)} on line 0`]));
      }
      for (const body of list) blocks.push({ label, body });
    }
  }
  return blocks;
}

const typeError = (label: string, key: string, expected: string): PolicyParseError => new PolicyParseError(`path ${goQuote(label)}: ${key}: expected ${expected}`);

/** A single value read as a string, as HCL's decoder does for string fields (numbers and bools as written). */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function stringList(body: JsonObject, key: string, label: string): string[] {
  const value = body[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw typeError(label, key, 'a list of strings');
  return value.map((item) => {
    const text = scalarText(item);
    if (text === undefined) throw typeError(label, key, 'a list of strings');
    return text;
  });
}

/**
 * `allowed_parameters` / `denied_parameters`: a map of name → list of values, keys lower-cased.
 * Undefined when absent. Written twice, the maps are combined and a later key wins.
 */
function parameterMap(body: JsonObject, key: string, label: string): Map<string, readonly unknown[]> | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  const maps = Array.isArray(value) ? value : [value];
  const out = new Map<string, readonly unknown[]>();
  for (const map of maps) {
    if (!isObject(map)) throw typeError(label, key, 'a map of lists');
    for (const [name, values] of Object.entries(map)) {
      if (!Array.isArray(values)) throw typeError(label, key, `a list for ${goQuote(name)}`);
      out.set(name.toLowerCase(), values);
    }
  }
  return out;
}

function recordOf(map: ReadonlyMap<string, readonly unknown[]> | undefined): Readonly<Record<string, readonly unknown[]>> {
  // Object.fromEntries defines own properties, so a parameter named "__proto__" stays a parameter.
  return Object.fromEntries(map ?? []);
}

function ordered(capabilities: ReadonlySet<Capability>): Capability[] {
  return CAPABILITIES.filter((c) => capabilities.has(c));
}

function parsePathBlock({ label, body }: PathBlock, outline: readonly OutlineItem[] | undefined): PolicyRule {
  const templating = templateProblem(label);
  if (templating !== undefined) throw new PolicyParseError(`failed to validate policy templating: ${templating}`);

  const keyErrors = invalidKeyErrors(Object.keys(body), PATH_KEYS, outline).map((e) => `path ${goQuote(label)}: ${e}`);
  if (keyErrors.length > 0) throw new PolicyParseError(multiError(keyErrors));

  // Value types, as Vault's decoder checks them before anything else in the block.
  const policyValue = body['policy'];
  const legacy = policyValue === undefined ? '' : scalarText(policyValue);
  if (legacy === undefined) throw typeError(label, 'policy', 'a string');
  const written = stringList(body, 'capabilities', label);
  const allowed = parameterMap(body, 'allowed_parameters', label);
  const denied = parameterMap(body, 'denied_parameters', label);
  const required = stringList(body, 'required_parameters', label);
  // Accepted and checked for shape only: MFA and control groups are Vault Enterprise features, and
  // nothing here publishes events.
  stringList(body, 'mfa_methods', label);
  stringList(body, 'subscribe_event_types', label);

  const path = label.startsWith('/') ? label.slice(1) : label;
  if (path.includes('+*')) throw new PolicyParseError(`path ${goQuote(path)}: invalid use of wildcards ('+*' is forbidden)`);

  let names: readonly string[] = written;
  if (legacy !== '') {
    if (legacy === 'deny') names = ['deny'];
    else {
      const added = LEGACY_POLICIES.get(legacy);
      if (added === undefined) throw new PolicyParseError(`path ${goQuote(label)}: invalid policy ${goQuote(legacy)}`);
      names = [...written, ...added];
    }
  }

  const capabilities = new Set<Capability>();
  for (const name of names) {
    // Vault stops at the first deny: what follows it, parameters and TTLs included, is not looked at.
    if (name === 'deny') {
      return { path, capabilities: ['deny'], allowedParameters: {}, deniedParameters: {}, requiredParameters: [], minWrappingTtl: 0, maxWrappingTtl: 0 };
    }
    if (!isCapability(name)) throw new PolicyParseError(`path ${goQuote(label)}: invalid capability ${goQuote(name)}`);
    capabilities.add(name);
  }

  let minWrappingTtl = 0;
  let maxWrappingTtl = 0;
  if (body['min_wrapping_ttl'] !== undefined) {
    const parsed = parseDurationSecond(body['min_wrapping_ttl']);
    if (!parsed.ok) throw new PolicyParseError(`error parsing min_wrapping_ttl: ${parsed.reason}`);
    minWrappingTtl = parsed.seconds;
  }
  if (body['max_wrapping_ttl'] !== undefined) {
    const parsed = parseDurationSecond(body['max_wrapping_ttl']);
    if (!parsed.ok) throw new PolicyParseError(`error parsing max_wrapping_ttl: ${parsed.reason}`);
    maxWrappingTtl = parsed.seconds;
  }
  if (minWrappingTtl !== 0 && maxWrappingTtl !== 0 && maxWrappingTtl < minWrappingTtl) {
    throw new PolicyParseError('max_wrapping_ttl cannot be less than min_wrapping_ttl');
  }

  return {
    path,
    capabilities: ordered(capabilities),
    allowedParameters: recordOf(allowed),
    deniedParameters: recordOf(denied),
    requiredParameters: required,
    minWrappingTtl,
    maxWrappingTtl,
  };
}

/** Parses a policy document (HCL v1 or JSON). Throws PolicyParseError with Vault's text. */
export function parsePolicy(text: string): ParsedPolicy {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_POLICY_BYTES) throw new PolicyParseError(`policy is ${bytes} bytes, more than the limit of ${MAX_POLICY_BYTES} bytes`);

  const decoded = decodeHcl(text);
  if (!decoded.ok) throw new PolicyParseError(decoded.message);
  const root = decoded.value;
  if (!isObject(root)) throw new PolicyParseError('does not contain a root object');

  const outline = outlineDocument(text);
  const topErrors = invalidKeyErrors(Object.keys(root), TOP_LEVEL_KEYS, outline);
  if (topErrors.length > 0) throw new PolicyParseError(multiError(topErrors));

  // `name` is ignored, as in Vault: a policy's name comes from the URL.
  const blocks = pathBlocks(root['path']);
  const outlined = outline === undefined ? undefined : outlinePathBlocks(outline);
  // The outline's blocks line up with the decoder's when both list the same labels in the same order.
  const aligned = outlined !== undefined && outlined.length === blocks.length && outlined.every((b, i) => b.label === blocks[i]?.label) ? outlined : undefined;

  const rules = blocks.map((block, i) => parsePathBlock(block, aligned?.[i]?.items));
  const duplicates = outline !== undefined && (hasDuplicateAttributes(outline) || (outlined ?? []).some((b) => hasDuplicateAttributes(b.items)));
  return {
    rules,
    templated: rules.some((rule) => isTemplated(rule.path)),
    warnings: duplicates ? [DUPLICATE_ATTRIBUTES_WARNING] : [],
  };
}
