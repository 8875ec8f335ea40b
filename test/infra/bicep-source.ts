/**
 * Just enough reading of Bicep source for the consistency checks: comments removed, parameters with
 * their decorators, a variable's expression, the keys of object literals, the properties of a
 * user-defined object type, and plain literal values. No Bicep compiler runs on these machines, so
 * this reads the subset of the language that infra/ uses and fails loudly on anything else.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Index of the closing quote of the string that starts at `i`: the last quote of a multi-line
 * `'''...'''` (verbatim, no escapes), or the quote ending a `'...'` (with `\\` escapes).
 */
function stringEnd(text: string, i: number): number {
  if (text.startsWith("'''", i)) {
    const end = text.indexOf("'''", i + 3);
    return end === -1 ? text.length : end + 2;
  }
  let j = i + 1;
  while (j < text.length && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
  return j;
}

/** Removes `//` and `/* *\/` comments, keeping strings ('...', '''...''') intact. */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith("'''", i)) {
      const end = source.indexOf("'''", i + 3);
      const stop = end === -1 ? source.length : end + 3;
      out += source.slice(i, stop);
      i = stop;
    } else if (source[i] === "'") {
      const j = stringEnd(source, i);
      out += source.slice(i, j + 1);
      i = j + 1;
    } else if (source.startsWith('//', i)) {
      while (i < source.length && source[i] !== '\n') i += 1;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      i = end === -1 ? source.length : end + 2;
    } else {
      out += source[i];
      i += 1;
    }
  }
  return out;
}

export function readBicep(file: string): string {
  return stripComments(readFileSync(file, 'utf8'));
}

/**
 * The text from `start` to the end of the expression that begins there: brackets balanced, strings
 * skipped, ending at a newline at bracket depth 0.
 */
function expressionFrom(source: string, start: number): string {
  let depth = 0;
  let i = start;
  while (i < source.length) {
    const ch = source[i];
    if (ch === "'") {
      const j = stringEnd(source, i);
      i = j + 1;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') depth += 1;
    else if (ch === ')' || ch === ']' || ch === '}') depth -= 1;
    else if (ch === '\n' && depth === 0) break;
    i += 1;
  }
  return source.slice(start, i).trim();
}

/** From an opening bracket at `start` to its matching closing bracket, strings skipped. */
function balancedFrom(source: string, start: number): string {
  let depth = 0;
  for (let i = start; i < source.length; i += 1) {
    const ch = source[i];
    if (ch === "'") {
      const j = stringEnd(source, i);
      i = j;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') depth += 1;
    else if (ch === ')' || ch === ']' || ch === '}') {
      depth -= 1;
      if (depth === 0) return source.slice(start, i + 1);
    }
  }
  throw new Error(`unbalanced brackets from: ${source.slice(start, start + 80)}`);
}

export interface BicepParam {
  name: string;
  /** The declared type as written (`string`, `int`, `mount[]`, `('20' | '22')`). */
  type: string;
  /** The default value's expression, undefined when the parameter is required. */
  defaultValue: string | undefined;
  /** Decorator names, e.g. ['description', 'secure', 'allowed']. */
  decorators: string[];
  /** Raw decorator texts, e.g. "@allowed([ '' 'AzurePublicCloud' ])". */
  decoratorTexts: string[];
}

/** Every top-level `param` with the decorators written directly above it. */
export function bicepParams(source: string): BicepParam[] {
  const params: BicepParam[] = [];
  const lines = source.split('\n');
  let pending: string[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    const trimmed = line.trim();
    if (trimmed.startsWith('@')) {
      // A decorator may span lines (@allowed([...])): take the balanced expression.
      const offset = lines.slice(0, index).join('\n').length + (index > 0 ? 1 : 0) + line.indexOf('@');
      const text = expressionFrom(source, offset);
      pending.push(text);
      index += text.split('\n').length - 1;
      continue;
    }
    const match = /^param\s+(\w+)\s+(.+?)(?:\s*=\s*(.+))?$/.exec(trimmed);
    if (match) {
      const [, name = '', type = '', inlineDefault] = match;
      let defaultValue = inlineDefault?.trim();
      if (defaultValue !== undefined && /[[{(]$/.test(defaultValue)) {
        // A multi-line default: take the balanced expression after '='.
        const offset = lines.slice(0, index).join('\n').length + 1 + line.indexOf('=') + 1;
        defaultValue = expressionFrom(source, offset);
        index += defaultValue.split('\n').length - 1;
      }
      params.push({
        name,
        type: type.trim(),
        defaultValue,
        decorators: pending.map((text) => /^@(?:sys\.)?(\w+)/.exec(text)?.[1] ?? ''),
        decoratorTexts: pending,
      });
      pending = [];
      continue;
    }
    if (trimmed !== '') pending = [];
  }
  return params;
}

/** The expression of `var <name> = ...`. */
export function bicepVar(source: string, name: string): string {
  const match = new RegExp(`^var\\s+${name}\\s*=\\s*`, 'm').exec(source);
  if (!match) throw new Error(`no var ${name}`);
  return expressionFrom(source, match.index + match[0].length);
}

/** The body of `type <name> = { ... }` (without the outer braces). */
export function bicepObjectType(source: string, name: string): string {
  const match = new RegExp(`^type\\s+${name}\\s*=\\s*\\{`, 'm').exec(source);
  if (!match) throw new Error(`no object type ${name}`);
  const body = balancedFrom(source, match.index + match[0].length - 1);
  return body.slice(1, -1);
}

export interface TypeProperty {
  name: string;
  optional: boolean;
  /** The property's type as written, e.g. `string`, `string[]`, `('arm' | 'claims')`. */
  type: string;
}

/** Properties of an object type body: `name: type` or `name: type?`, decorators skipped. */
export function typeProperties(body: string): TypeProperty[] {
  const out: TypeProperty[] = [];
  for (const member of topLevelMembers(body)) {
    if (member.startsWith('@')) continue;
    const match = /^(\w+)\s*:\s*([\s\S]+)$/.exec(member);
    if (!match) throw new Error(`cannot read type member: ${member}`);
    const type = (match[2] ?? '').trim();
    out.push({ name: match[1] ?? '', optional: type.endsWith('?'), type: type.replace(/\?$/, '').trim() });
  }
  return out;
}

/** Splits the inside of an object literal or type into members (newline or comma separated). */
function topLevelMembers(body: string): string[] {
  const members: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < body.length; i += 1) {
    const ch = body[i] ?? '';
    if (ch === "'") {
      const j = stringEnd(body, i);
      current += body.slice(i, j + 1);
      i = j;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') depth += 1;
    if (ch === ')' || ch === ']' || ch === '}') depth -= 1;
    if ((ch === '\n' || ch === ',') && depth === 0) {
      if (current.trim()) members.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim()) members.push(current.trim());
  return members;
}

export interface ObjectMember {
  key: string;
  value: string;
}

/**
 * Members of every object literal in an expression, at any depth, whose key starts a member (so
 * `a ? b : c` inside a value is never mistaken for a key). Keys are identifiers or quoted strings.
 */
export function objectMembers(expression: string): ObjectMember[] {
  const out: ObjectMember[] = [];
  const visit = (text: string): void => {
    for (let i = 0; i < text.length; i += 1) {
      const ch = text[i];
      if (ch === "'") {
        const j = stringEnd(text, i);
        i = j;
        continue;
      }
      if (ch !== '{') continue;
      const literal = balancedFrom(text, i);
      for (const member of topLevelMembers(literal.slice(1, -1))) {
        const match = /^(?:(\w+)|'([^']*)')\s*:\s*([\s\S]*)$/.exec(member);
        if (!match) throw new Error(`cannot read object member: ${member}`);
        const value = (match[3] ?? '').trim();
        out.push({ key: match[1] ?? match[2] ?? '', value });
        visit(value);
      }
      i += literal.length - 1;
    }
  };
  visit(expression);
  return out;
}

export type BicepLiteral = string | number | boolean | null | BicepLiteral[] | { [key: string]: BicepLiteral };

/** Evaluates a literal: strings without interpolation, numbers, booleans, null, arrays, objects. */
export function bicepLiteral(text: string): BicepLiteral {
  const value = text.trim();
  // A multi-line string is verbatim; a newline right after the opening quotes is not part of it.
  const multiLine = /^'''\r?\n?([\s\S]*?)'''$/.exec(value);
  if (multiLine) return multiLine[1] ?? '';
  if (/^'(?:[^'\\$]|\\.|\$(?!\{))*'$/.test(value)) return value.slice(1, -1).replace(/\\(.)/g, '$1');
  if (/^-?\d+$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  if (value === 'null') return null;
  if (value.startsWith('[') && value.endsWith(']')) return topLevelMembers(value.slice(1, -1)).map(bicepLiteral);
  if (value.startsWith('{') && value.endsWith('}')) {
    const object: { [key: string]: BicepLiteral } = {};
    for (const member of topLevelMembers(value.slice(1, -1))) {
      const match = /^(?:(\w+)|'([^']*)')\s*:\s*([\s\S]*)$/.exec(member);
      if (!match) throw new Error(`cannot read object member: ${member}`);
      object[match[1] ?? match[2] ?? ''] = bicepLiteral(match[3] ?? '');
    }
    return object;
  }
  throw new Error(`not a literal: ${value}`);
}

/** String literals of a union type such as `('arm' | 'claims')`. */
export function unionLiterals(type: string): string[] {
  const inner = type.replace(/^\(/, '').replace(/\)$/, '');
  const parts = inner.split('|').map((part) => part.trim());
  if (!parts.every((part) => /^'[^']*'$/.test(part))) throw new Error(`not a union of string literals: ${type}`);
  return parts.map((part) => part.slice(1, -1));
}

/** The members of one object literal `{ ... }`, without descending into their values. */
export function ownMembers(literal: string): ObjectMember[] {
  const text = literal.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) throw new Error(`not an object literal: ${text.slice(0, 80)}`);
  return topLevelMembers(text.slice(1, -1)).map((member) => {
    const match = /^(?:(\w+)|'([^']*)')\s*:\s*([\s\S]*)$/.exec(member);
    if (!match) throw new Error(`cannot read object member: ${member}`);
    return { key: match[1] ?? match[2] ?? '', value: (match[3] ?? '').trim() };
  });
}

/** The value of `key` in an object literal, undefined when the literal has no such member. */
export function memberValue(literal: string, key: string): string | undefined {
  return ownMembers(literal).find((member) => member.key === key)?.value;
}

export interface BicepDeclaration {
  kind: 'resource' | 'module';
  /** Symbolic name. */
  symbol: string;
  /** Resource type (`Microsoft.Web/sites`) or module path (`modules/storage.bicep`). */
  target: string;
  /** API version of a resource, undefined for modules. */
  apiVersion: string | undefined;
  /** The expression inside `if (...)`, undefined when the declaration is unconditional. */
  condition: string | undefined;
  /** `for x in y` of a loop, undefined otherwise. */
  loop: string | undefined;
  /** The declaration's object body, braces included. */
  body: string;
}

/** Skips a quoted string starting at `i`; returns the index of its closing quote. */
function skipString(text: string, i: number): number {
  return stringEnd(text, i);
}

/** Index of the first `{` at bracket depth 0 from `start`, strings skipped. */
function firstTopLevelBrace(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === "'") {
      i = skipString(text, i);
      continue;
    }
    if (ch === '{' && depth === 0) return i;
    if (ch === '(' || ch === '[') depth += 1;
    else if (ch === ')' || ch === ']') depth -= 1;
  }
  throw new Error(`no object body after: ${text.slice(start, start + 80)}`);
}

/**
 * Every top-level `resource` and `module` declaration: plain, conditional (`= if (c) { }`) or a loop
 * (`= [for x in y: { }]`, optionally with an `if` inside). `existing` resources are included.
 */
export function bicepDeclarations(source: string): BicepDeclaration[] {
  const out: BicepDeclaration[] = [];
  const header = /^(resource|module)\s+(\w+)\s+'([^']+)'(?:\s+existing)?\s*=\s*/gm;
  for (const match of source.matchAll(header)) {
    const [whole, kind = '', symbol = '', target = ''] = match;
    let i = match.index + whole.length;
    let condition: string | undefined;
    let loop: string | undefined;
    let body: string;
    if (source[i] === '[') {
      const inner = balancedFrom(source, i).slice(1, -1);
      // The loop source may itself contain ':' (lambdas, ternaries): the body is the first '{' at
      // bracket depth 0 after `for`, and an `if (...)` may stand between the loop header and it.
      const braceAt = firstTopLevelBrace(inner, inner.indexOf('for') + 3);
      const beforeBody = inner.slice(0, braceAt);
      const ifAt = beforeBody.search(/:\s*if\s*\(/);
      if (ifAt !== -1) {
        condition = balancedFrom(inner, beforeBody.indexOf('(', ifAt)).slice(1, -1).trim();
        loop = beforeBody.slice(0, ifAt).trim();
      } else {
        loop = beforeBody.trim().replace(/:$/, '').trim();
      }
      body = balancedFrom(inner, braceAt);
    } else {
      if (source.startsWith('if', i)) {
        const open = source.indexOf('(', i);
        const parens = balancedFrom(source, open);
        condition = parens.slice(1, -1).trim();
        i = open + parens.length;
      }
      body = balancedFrom(source, firstTopLevelBrace(source, i));
    }
    const [type, apiVersion] = kind === 'resource' ? target.split('@') : [target, undefined];
    out.push({ kind: kind === 'resource' ? 'resource' : 'module', symbol, target: type ?? target, apiVersion, condition, loop, body });
  }
  return out;
}

/** The operands of a top-level `&&` chain, each trimmed, outer parentheses kept. */
export function conjuncts(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < expression.length; i += 1) {
    const ch = expression[i] ?? '';
    if (ch === "'") {
      const end = skipString(expression, i);
      current += expression.slice(i, end + 1);
      i = end;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') depth += 1;
    if (ch === ')' || ch === ']' || ch === '}') depth -= 1;
    if (depth === 0 && expression.startsWith('&&', i)) {
      parts.push(current.trim());
      current = '';
      i += 1;
      continue;
    }
    current += ch;
  }
  parts.push(current.trim());
  return parts;
}

/** The repository's infra/ folder. */
export const INFRA_DIR = path.resolve(__dirname, '..', '..', 'infra');

/** A Bicep file under infra/, comments removed. */
export function readInfra(relative: string): string {
  return readBicep(path.join(INFRA_DIR, relative));
}

/** The declaration with this symbolic name; throws when the file has none. */
export function declaration(source: string, symbol: string): BicepDeclaration {
  const found = bicepDeclarations(source).find((candidate) => candidate.symbol === symbol);
  if (!found) throw new Error(`no resource or module named ${symbol}`);
  return found;
}
