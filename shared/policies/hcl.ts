/**
 * HCL v1 (and its JSON form) to a plain JSON tree, through js-hcl-parser: Vault's own parser library
 * (hashicorp/hcl v1) compiled to JavaScript, so what Vault accepts we accept, and a syntax error
 * carries Vault's text ("At 4:1: object expected closing RBRACE got: EOF").
 *
 * The tree is hcl.Unmarshal's generic decoding: a block `path "a" { ... }` becomes
 * `{"path": [{"a": [{...}]}]}` (every block and every map-valued attribute is a list of objects,
 * one per occurrence, in document order), repeated list attributes are concatenated and a repeated
 * scalar attribute keeps its last value, exactly as Vault's typed decoding does.
 */
/** The package's `parse`: hcl.Unmarshal into interface{}, then json.MarshalIndent. */
type HclToJson = (input: string) => string;

/** The prefix the package puts on a failure instead of throwing. */
const FAILURE_PREFIX = 'unable to parse JSON: ';

let loaded: HclToJson | undefined;

/**
 * Loads the package on first use. The GopherJS runtime sets process-wide state when it loads:
 * `Error.stackTraceLimit = Infinity` (every Error in the process would then record its whole stack)
 * and `global.require`; both are put back, the parser needs neither.
 */
function hclToJson(): HclToJson {
  if (loaded) return loaded;
  const stackTraceLimit = Error.stackTraceLimit;
  const hadGlobalRequire = Object.hasOwn(globalThis, 'require');
  let exported: unknown;
  try {
    // The package has no types; what it exports is checked below instead.
    exported = require('js-hcl-parser');
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    if (!hadGlobalRequire) Reflect.deleteProperty(globalThis, 'require');
  }
  if (typeof exported !== 'object' || exported === null || !('parse' in exported) || typeof exported.parse !== 'function') {
    throw new Error('js-hcl-parser does not export parse()');
  }
  const parse = exported.parse;
  loaded = (input: string): string => {
    const output: unknown = parse(input);
    if (typeof output !== 'string') throw new Error('js-hcl-parser parse() did not return a string');
    return output;
  };
  return loaded;
}

export type HclDecodeResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/** Decodes HCL v1 or JSON text; on failure, the parser's message (Vault prefixes it with "failed to parse policy: "). */
export function decodeHcl(text: string): HclDecodeResult {
  let output: string;
  try {
    output = hclToJson()(text);
  } catch (err) {
    // A Go panic or a JS stack overflow inside the compiled parser: still the caller's bad input.
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  if (output.startsWith(FAILURE_PREFIX)) return { ok: false, message: output.slice(FAILURE_PREFIX.length) };
  try {
    const value: unknown = JSON.parse(output);
    return { ok: true, value };
  } catch {
    // "unable to print JSON: ..." (json.Marshal failed): cannot come from HCL input, kept for completeness.
    return { ok: false, message: output };
  }
}
