import { describe, expect, it } from 'vitest';
import { MAX_POLICY_BYTES } from '../../shared/policies/names';
import { DUPLICATE_ATTRIBUTES_WARNING, PolicyParseError, parsePolicy } from '../../shared/policies/parse';
import type { PolicyRule } from '../../shared/policies/types';

/** The message of the PolicyParseError `text` raises. */
function parseError(text: string): string {
  try {
    parsePolicy(text);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyParseError);
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('expected a parse error');
}

const only = (text: string): PolicyRule => {
  const rules = parsePolicy(text).rules;
  expect(rules).toHaveLength(1);
  const [rule] = rules;
  if (rule === undefined) throw new Error('no rule');
  return rule;
};

const RULE_DEFAULTS = { allowedParameters: {}, deniedParameters: {}, requiredParameters: [], minWrappingTtl: 0, maxWrappingTtl: 0 };

describe('parsePolicy: the forms of the policy language', () => {
  it('reads every attribute of a path block, with all three comment styles', () => {
    const policy = parsePolicy(`# hash comment
// slash comment
/* block
   comment */
path "secret/data/app/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
  allowed_parameters  = { "data" = [] }       # trailing comment
  denied_parameters   = { "TTL" = ["1h", 30, true] }
  required_parameters = ["data"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = 3600
}
`);
    expect(policy).toEqual({
      rules: [
        {
          path: 'secret/data/app/*',
          capabilities: ['create', 'read', 'update', 'delete', 'list', 'patch'],
          allowedParameters: { data: [] },
          deniedParameters: { ttl: ['1h', 30, true] },
          requiredParameters: ['data'],
          minWrappingTtl: 60,
          maxWrappingTtl: 3600,
        },
      ],
      templated: false,
      warnings: [],
    });
  });

  it('reads the JSON form to the same rules as the HCL form', () => {
    const hcl = parsePolicy('path "secret/*" {\n  capabilities = ["read"]\n  allowed_parameters = { "data" = ["a*"] }\n}\npath "b" { policy = "write" }\n');
    const json = parsePolicy('{"path": {"secret/*": {"capabilities": ["read"], "allowed_parameters": {"data": ["a*"]}}, "b": {"policy": "write"}}}');
    expect(json).toEqual(hcl);
    expect(json.rules).toHaveLength(2);
  });

  it('reads the JSON list form of path', () => {
    const policy = parsePolicy('{"path": [{"a": {"capabilities": ["read"]}}, {"a": {"capabilities": ["list"]}}]}');
    expect(policy.rules.map((r) => r.capabilities)).toEqual([['read'], ['list']]);
  });

  it('keeps repeated path blocks with the same path as separate rules, in order', () => {
    const policy = parsePolicy('path "a" { capabilities = ["read"] }\npath "b" { capabilities = ["list"] }\npath "a" { capabilities = ["update"] }');
    expect(policy.rules.map((r) => [r.path, r.capabilities])).toEqual([
      ['a', ['read']],
      ['b', ['list']],
      ['a', ['update']],
    ]);
  });

  it('accepts a document without path blocks (it grants nothing) and ignores name', () => {
    expect(parsePolicy('')).toEqual({ rules: [], templated: false, warnings: [] });
    expect(parsePolicy('# only a comment\nname = "ignored"\n').rules).toEqual([]);
  });

  it('accepts an empty or missing capabilities list: the rule matches and grants nothing', () => {
    expect(only('path "a" {}')).toEqual({ path: 'a', capabilities: [], ...RULE_DEFAULTS });
    expect(only('path "a" { capabilities = [] }').capabilities).toEqual([]);
  });

  it('reads heredoc comments, comma-separated attributes, quoted keys and the block-map form', () => {
    expect(only('path "a" {\n  comment = <<EOT\nfree "text" here\nEOT\n  capabilities = ["read"], policy = "read"\n}').capabilities).toEqual(['read', 'list']);
    expect(only('"path" "a" { "capabilities" = ["read"] }').capabilities).toEqual(['read']);
    expect(only('path "a" {\n  allowed_parameters {\n    "x" = ["1"]\n  }\n}').allowedParameters).toEqual({ x: ['1'] });
  });

  it('reads numbers and booleans in a capability list as their text, as Vault does', () => {
    expect(parseError('path "a" { capabilities = [1] }')).toBe('failed to parse policy: path "a": invalid capability "1"');
  });

  it('accepts the Enterprise and event keys (mfa_methods, control_group, subscribe_event_types) and ignores them', () => {
    const rule = only('path "a" {\n capabilities = ["read", "subscribe"]\n mfa_methods = ["m"]\n control_group = { ttl = "1h" }\n subscribe_event_types = ["kv*"]\n comment = "x"\n}');
    expect(rule.capabilities).toEqual(['read', 'subscribe']);
  });
});

describe('parsePolicy: capabilities and the legacy policy shorthand', () => {
  it('keeps every capability name, deduplicated in capability order', () => {
    expect(only('path "a" { capabilities = ["recover", "sudo", "read", "read", "patch", "subscribe", "create", "update", "delete", "list"] }').capabilities).toEqual([
      'create',
      'read',
      'update',
      'delete',
      'list',
      'sudo',
      'patch',
      'subscribe',
      'recover',
    ]);
  });

  it('turns a block with deny into a deny-only rule, dropping its parameters, TTLs and later capabilities', () => {
    const rule = only('path "a" {\n capabilities = ["read", "deny", "bogus"]\n allowed_parameters = { "x" = [] }\n required_parameters = ["x"]\n max_wrapping_ttl = "not a ttl"\n}');
    expect(rule).toEqual({ path: 'a', capabilities: ['deny'], ...RULE_DEFAULTS });
  });

  it('checks capabilities before the deny in order (an invalid one before deny fails)', () => {
    expect(parseError('path "a" { capabilities = ["bogus", "deny"] }')).toBe('failed to parse policy: path "a": invalid capability "bogus"');
  });

  it('refuses an unknown or wrongly cased capability, and root', () => {
    expect(parseError('path "a" { capabilities = ["Read"] }')).toBe('failed to parse policy: path "a": invalid capability "Read"');
    expect(parseError('path "/a" { capabilities = ["root"] }')).toBe('failed to parse policy: path "/a": invalid capability "root"');
  });

  it.each([
    ['read', ['read', 'list']],
    ['write', ['create', 'read', 'update', 'delete', 'list']],
    ['sudo', ['create', 'read', 'update', 'delete', 'list', 'sudo']],
    ['deny', ['deny']],
  ])('expands policy = "%s"', (legacy, expected) => {
    expect(only(`path "a" { policy = "${legacy}" }`).capabilities).toEqual(expected);
  });

  it('appends the legacy capabilities to the written ones (write has no patch), and deny replaces them', () => {
    expect(only('path "a" {\n capabilities = ["patch"]\n policy = "write"\n}').capabilities).toEqual(['create', 'read', 'update', 'delete', 'list', 'patch']);
    expect(only('path "a" {\n capabilities = ["read"]\n policy = "deny"\n}').capabilities).toEqual(['deny']);
  });

  it('refuses an unknown legacy policy', () => {
    expect(parseError('path "a" { policy = "admin" }')).toBe('failed to parse policy: path "a": invalid policy "admin"');
  });
});

describe('parsePolicy: path strings', () => {
  it('strips exactly one leading slash and keeps a trailing *', () => {
    expect(only('path "/secret/*" {}').path).toBe('secret/*');
    expect(only('path "//secret" {}').path).toBe('/secret');
  });

  it('refuses +* anywhere, naming the path after the slash is stripped', () => {
    expect(parseError('path "/secret/+*" {}')).toBe(`failed to parse policy: path "secret/+*": invalid use of wildcards ('+*' is forbidden)`);
    expect(parseError('path "a/+*/b" {}')).toBe(`failed to parse policy: path "a/+*/b": invalid use of wildcards ('+*' is forbidden)`);
  });

  it('accepts * and + in odd places as Vault does (literal * inside, +abc as a literal segment)', () => {
    expect(only('path "a*b" { capabilities = ["read"] }').path).toBe('a*b');
    expect(only('path "a/+abc/*" {}').path).toBe('a/+abc/*');
    expect(only('path "+" {}').path).toBe('+');
    expect(only('path "*" {}').path).toBe('*');
  });

  it('marks a templated policy and refuses unbalanced template braces', () => {
    const policy = parsePolicy('path "secret/{{identity.entity.id}}/*" { capabilities = ["read"] }\npath "plain" {}');
    expect(policy.templated).toBe(true);
    expect(policy.rules[0]?.path).toBe('secret/{{identity.entity.id}}/*');
    expect(parsePolicy('path "plain" {}').templated).toBe(false);
    expect(parseError('path "a/{{identity.entity.id}" {}')).toBe('failed to parse policy: failed to validate policy templating: unbalanced templating characters');
    expect(parseError('path "a/}}x{{y}}" {}')).toBe('failed to parse policy: failed to validate policy templating: unbalanced templating characters');
  });

  it('accepts any directive name when written (Vault checks only the braces); unknown ones are resolved at ACL build', () => {
    expect(parsePolicy('path "a/{{ no.such.thing }}" {}').templated).toBe(true);
  });
});

describe('parsePolicy: parameters', () => {
  it('lower-cases the keys of allowed and denied parameters, keeps values and required names as written', () => {
    const rule = only('path "a" {\n allowed_parameters = { "Foo" = ["Bar"], "*" = [] }\n denied_parameters = { "TOKEN_Policies" = ["Admin"] }\n required_parameters = ["Foo"]\n}');
    expect(rule.allowedParameters).toEqual({ foo: ['Bar'], '*': [] });
    expect(rule.deniedParameters).toEqual({ token_policies: ['Admin'] });
    expect(rule.requiredParameters).toEqual(['Foo']);
  });

  it('keeps a parameter named __proto__ as a parameter', () => {
    const rule = only('path "a" { allowed_parameters = { "__proto__" = ["x"] } }');
    expect(Object.keys(rule.allowedParameters)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(rule.allowedParameters)).toBe(Object.prototype);
  });

  it('combines a map written twice, the later key winning', () => {
    const rule = only('path "a" {\n allowed_parameters = { "a" = ["1"] }\n allowed_parameters = { "a" = ["2"], "b" = [] }\n}');
    expect(rule.allowedParameters).toEqual({ a: ['2'], b: [] });
  });

  it('refuses values of the wrong shape', () => {
    expect(parseError('path "a" { allowed_parameters = { "x" = "y" } }')).toBe('failed to parse policy: path "a": allowed_parameters: expected a list for "x"');
    expect(parseError('path "a" { capabilities = "read" }')).toBe('failed to parse policy: path "a": capabilities: expected a list of strings');
    expect(parseError('path "a" { required_parameters = [["x"]] }')).toBe('failed to parse policy: path "a": required_parameters: expected a list of strings');
    expect(parseError('path "a" { policy = ["read"] }')).toBe('failed to parse policy: path "a": policy: expected a string');
  });
});

describe('parsePolicy: wrapping TTLs', () => {
  it.each([
    ['3600', 3600],
    ['"90s"', 90],
    ['"1h30m"', 5400],
    ['"1.5s"', 1.5],
    ['"2d"', 172800],
    ['"120"', 120],
    ['""', 0],
  ])('reads max_wrapping_ttl = %s', (written, seconds) => {
    expect(only(`path "a" { max_wrapping_ttl = ${written} }`).maxWrappingTtl).toBe(seconds);
  });

  it('refuses a bad value with Go\'s reason', () => {
    expect(parseError('path "a" { min_wrapping_ttl = "abc" }')).toBe('failed to parse policy: error parsing min_wrapping_ttl: time: invalid duration "abc"');
    expect(parseError('path "a" { max_wrapping_ttl = "5x" }')).toBe('failed to parse policy: error parsing max_wrapping_ttl: time: unknown unit "x" in duration "5x"');
    expect(parseError('path "a" { max_wrapping_ttl = "xd" }')).toBe('failed to parse policy: error parsing max_wrapping_ttl: strconv.ParseInt: parsing "x": invalid syntax');
    expect(parseError('path "a" { max_wrapping_ttl = ["1h"] }')).toBe('failed to parse policy: error parsing max_wrapping_ttl: could not parse duration from input');
  });

  it('refuses a negative value (a difference: Vault takes it as unset)', () => {
    expect(parseError('path "a" { min_wrapping_ttl = -5 }')).toBe("failed to parse policy: error parsing min_wrapping_ttl: cannot provide negative value '-5'");
  });

  it('refuses max below min, and accepts equal bounds', () => {
    expect(parseError('path "a" {\n min_wrapping_ttl = "2m"\n max_wrapping_ttl = 60\n}')).toBe('failed to parse policy: max_wrapping_ttl cannot be less than min_wrapping_ttl');
    expect(only('path "a" {\n min_wrapping_ttl = 60\n max_wrapping_ttl = "1m"\n}')).toMatchObject({ minWrappingTtl: 60, maxWrappingTtl: 60 });
  });
});

describe('parsePolicy: errors with Vault\'s texts', () => {
  it('gives the HCL syntax error with its line and column', () => {
    expect(parseError('path "a" {\n  capabilities = ["read"\n}\n')).toBe('failed to parse policy: At 4:1: object expected closing RBRACE got: EOF');
    expect(parseError('path "a {\n capabilities = ["read"]\n}')).toMatch(/^failed to parse policy: At 1:\d+: literal not terminated$/);
    expect(parseError('path "a" = { capabilities = ["read"] }')).toBe('failed to parse policy: At 1:10: nested object expected: LBRACE got: ASSIGN');
  });

  it('gives the JSON syntax error (HCL\'s JSON parser is lenient and words its own errors)', () => {
    expect(parseError('{\n"path": {\n"a": tru\n}}')).toBe('failed to parse policy: 3:8: illegal char');
  });

  it('refuses a top-level key other than name and path, with the line of its =, each occurrence in document order', () => {
    expect(parseError('path "a" {}\n\nfoo = 1\n')).toBe('failed to parse policy: 1 error occurred:\n\t* invalid key "foo" on line 3\n\n');
    expect(parseError('zeta = 1\npath "a" {}\nalpha = 2\nzeta = 3\n')).toBe(
      'failed to parse policy: 3 errors occurred:\n\t* invalid key "zeta" on line 1\n\t* invalid key "alpha" on line 3\n\t* invalid key "zeta" on line 4\n\n',
    );
  });

  it('gives line 0 for a key written as a block, as Vault (no = sign)', () => {
    expect(parseError('path "a" {}\npaths "b" {\n}\n')).toBe('failed to parse policy: 1 error occurred:\n\t* invalid key "paths" on line 0\n\n');
  });

  it('refuses an unknown key in a path block, prefixed with the path', () => {
    expect(parseError('path "a" {\n  capabilities = ["read"]\n  capability = ["list"]\n}\n')).toBe(
      'failed to parse policy: 1 error occurred:\n\t* path "a": invalid key "capability" on line 3\n\n',
    );
    expect(parseError('path "a" {}\npath "b" {\n  x = 1\n  nested {\n  }\n}\n')).toBe(
      'failed to parse policy: 2 errors occurred:\n\t* path "b": invalid key "x" on line 3\n\t* path "b": invalid key "nested" on line 0\n\n',
    );
  });

  it('refuses an unknown key in the JSON form, with the line of its colon', () => {
    expect(parseError('{\n  "path": {\n    "a": {\n      "capabilities": ["read"],\n      "bogus": 1\n    }\n  }\n}')).toBe(
      'failed to parse policy: 1 error occurred:\n\t* path "a": invalid key "bogus" on line 5\n\n',
    );
  });

  it('checks path blocks in order: an earlier block\'s error wins over a later one', () => {
    expect(parseError('path "a" { capabilities = ["bogus"] }\npath "b" { x = 1 }')).toBe('failed to parse policy: path "a": invalid capability "bogus"');
  });

  it('refuses path written as a value', () => {
    expect(parseError('path = "a"')).toBe('failed to parse policy: path "path": cannot check HCL keys of type *ast.LiteralType');
    expect(parseError('path = ["a"]')).toBe('failed to parse policy: path "path": cannot check HCL keys of type *ast.ListType');
  });

  it('quotes paths and values the way Go does in messages', () => {
    expect(parseError('path "a\\"b" { capabilities = ["x\\ty"] }')).toBe('failed to parse policy: path "a\\"b": invalid capability "x\\ty"');
  });
});

describe('parsePolicy: warnings and limits', () => {
  it('takes an attribute written twice (lists concatenated, a value\'s last wins) and warns as Vault does', () => {
    const policy = parsePolicy('path "a" {\n capabilities = ["read"]\n capabilities = ["list"]\n}');
    expect(policy.rules[0]?.capabilities).toEqual(['read', 'list']);
    expect(policy.warnings).toEqual([DUPLICATE_ATTRIBUTES_WARNING]);
    const legacy = parsePolicy('path "a" {\n policy = "deny"\n policy = "read"\n}');
    expect(legacy.rules[0]?.capabilities).toEqual(['read', 'list']);
    expect(legacy.warnings).toEqual([DUPLICATE_ATTRIBUTES_WARNING]);
  });

  it('does not warn for repeated path blocks or distinct attributes', () => {
    expect(parsePolicy('path "a" { capabilities = ["read"] }\npath "a" { capabilities = ["list"] }').warnings).toEqual([]);
  });

  it('refuses a 1 MiB document before parsing it, and accepts one at the limit', () => {
    const block = 'path "secret/data/some/application/*" {\n  capabilities = ["read", "list"]\n}\n';
    const huge = block.repeat(Math.ceil((1024 * 1024) / block.length));
    const started = performance.now();
    expect(parseError(huge)).toBe(`failed to parse policy: policy is ${Buffer.byteLength(huge)} bytes, more than the limit of ${MAX_POLICY_BYTES} bytes`);
    // Parsing 1 MiB would take seconds (3 to 5 ms per KiB); refusing it takes a byte count.
    expect(performance.now() - started).toBeLessThan(1000);
    const atLimit = block.repeat(Math.floor(MAX_POLICY_BYTES / block.length));
    expect(parsePolicy(atLimit).rules.length).toBe(Math.floor(MAX_POLICY_BYTES / block.length));
    expect(parseError(`${atLimit}${'#'.repeat(MAX_POLICY_BYTES - atLimit.length + 1)}`)).toMatch(/more than the limit/);
  });

  it('counts the limit in UTF-8 bytes', () => {
    const text = `# ${'é'.repeat(MAX_POLICY_BYTES / 2)}\n`;
    expect(text.length).toBeLessThan(MAX_POLICY_BYTES);
    expect(parseError(text)).toMatch(/more than the limit/);
  });
});
