// ASP.NET Core-style route templates, matched and ordered the way the Functions host does it
// (WebJobsRouteBuilder.RouteComparison + RouteCollection: first matching route wins, and a route
// whose HTTP method constraint fails simply does not match, so routing falls through to the next
// route and finally to 404).

export class RouteTemplateError extends Error {
  override name = 'RouteTemplateError';
}

/** A path that cannot be percent-decoded; the HTTP layer answers 400. */
export class MalformedPathError extends Error {
  override name = 'MalformedPathError';
}

export interface RouteConstraint {
  readonly text: string;
  test(value: string): boolean;
}

export interface LiteralSegment {
  readonly kind: 'literal';
  readonly text: string;
  readonly lower: string;
}

export interface ParameterSegment {
  readonly kind: 'parameter';
  readonly name: string;
  readonly constraints: readonly RouteConstraint[];
  readonly optional: boolean;
  readonly catchAll: boolean;
  readonly defaultValue: string | undefined;
}

export type RouteSegment = LiteralSegment | ParameterSegment;

// ---------------------------------------------------------------------------------------------
// Constraints (Microsoft.AspNetCore.Routing's default constraint map, invariant culture)

const INT32 = { min: -(2n ** 31n), max: 2n ** 31n - 1n };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

function parseInteger(value: string, range: { min: bigint; max: bigint }): bigint | undefined {
  const text = value.trim();
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = BigInt(text);
  return n >= range.min && n <= range.max ? n : undefined;
}

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const GUID = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}|\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\))$/i;

function integerArgs(name: string, arg: string | undefined, count: number): bigint[] {
  const parts = (arg ?? '').split(',').map((p) => p.trim());
  const values = parts.map((p) => parseInteger(p, INT64));
  if (arg === undefined || parts.length !== count || values.some((v) => v === undefined)) {
    throw new RouteTemplateError(`The constraint "${name}" needs ${count} integer argument(s), got "${arg ?? ''}".`);
  }
  return values as bigint[];
}

function buildConstraint(name: string, arg: string | undefined): RouteConstraint['test'] {
  const noArg = (test: (v: string) => boolean) => {
    if (arg !== undefined) throw new RouteTemplateError(`The constraint "${name}" takes no argument.`);
    return test;
  };
  switch (name.toLowerCase()) {
    case 'int':
      return noArg((v) => parseInteger(v, INT32) !== undefined);
    case 'long':
      return noArg((v) => parseInteger(v, INT64) !== undefined);
    case 'bool':
      return noArg((v) => /^\s*(true|false)\s*$/i.test(v));
    case 'double':
    case 'float':
    case 'decimal':
      return noArg((v) => FLOAT.test(v.trim()));
    case 'guid':
      return noArg((v) => GUID.test(v.trim()));
    case 'datetime':
      return noArg((v) => v.trim() !== '' && !Number.isNaN(Date.parse(v)));
    case 'alpha':
      return noArg((v) => /^[a-z]+$/i.test(v));
    case 'required':
      return noArg((v) => v !== '');
    case 'minlength': {
      const [min] = integerArgs(name, arg, 1);
      return (v) => BigInt(v.length) >= min!;
    }
    case 'maxlength': {
      const [max] = integerArgs(name, arg, 1);
      return (v) => BigInt(v.length) <= max!;
    }
    case 'length': {
      const count = (arg ?? '').includes(',') ? 2 : 1;
      const [a, b] = integerArgs(name, arg, count);
      return count === 1 ? (v) => BigInt(v.length) === a! : (v) => BigInt(v.length) >= a! && BigInt(v.length) <= b!;
    }
    case 'min': {
      const [min] = integerArgs(name, arg, 1);
      return (v) => {
        const n = parseInteger(v, INT64);
        return n !== undefined && n >= min!;
      };
    }
    case 'max': {
      const [max] = integerArgs(name, arg, 1);
      return (v) => {
        const n = parseInteger(v, INT64);
        return n !== undefined && n <= max!;
      };
    }
    case 'range': {
      const [min, max] = integerArgs(name, arg, 2);
      return (v) => {
        const n = parseInteger(v, INT64);
        return n !== undefined && n >= min! && n <= max!;
      };
    }
    case 'regex': {
      if (!arg) throw new RouteTemplateError('The constraint "regex" needs a pattern argument.');
      let re: RegExp;
      try {
        // RegexRouteConstraint: case-insensitive and, like ASP.NET, not implicitly anchored.
        re = new RegExp(arg, 'i');
      } catch (err) {
        throw new RouteTemplateError(`The regex constraint pattern "${arg}" is invalid: ${(err as Error).message}`);
      }
      return (v) => re.test(v);
    }
    default:
      throw new RouteTemplateError(`The constraint reference "${name}" could not be resolved (not a known route constraint).`);
  }
}

// ---------------------------------------------------------------------------------------------
// Template parsing

/** Splits a template on "/" outside parameters, undoing the "{{" / "}}" escapes. */
function splitTemplate(template: string): Array<{ text: string; parameter: boolean }[]> {
  const segments: Array<{ text: string; parameter: boolean }[]> = [];
  let parts: { text: string; parameter: boolean }[] = [];
  let literal = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i]!;
    if (ch === '{' && template[i + 1] === '{') {
      literal += '{';
      i += 2;
    } else if (ch === '}' && template[i + 1] === '}') {
      literal += '}';
      i += 2;
    } else if (ch === '}') {
      throw new RouteTemplateError(`There is an incomplete parameter in the route template "${template}".`);
    } else if (ch === '{') {
      if (literal) parts.push({ text: literal, parameter: false });
      literal = '';
      let j = i + 1;
      let content = '';
      for (;;) {
        if (j >= template.length) {
          throw new RouteTemplateError(`There is an incomplete parameter in the route template "${template}".`);
        }
        const c = template[j]!;
        if ((c === '{' || c === '}') && template[j + 1] === c) {
          content += c;
          j += 2;
        } else if (c === '}') {
          break;
        } else if (c === '{') {
          throw new RouteTemplateError(`There is an incomplete parameter in the route template "${template}".`);
        } else {
          content += c;
          j += 1;
        }
      }
      parts.push({ text: content, parameter: true });
      i = j + 1;
    } else if (ch === '/') {
      if (literal) parts.push({ text: literal, parameter: false });
      literal = '';
      segments.push(parts);
      parts = [];
      i += 1;
    } else {
      literal += ch;
      i += 1;
    }
  }
  if (literal) parts.push({ text: literal, parameter: false });
  segments.push(parts);
  return segments;
}

function parseParameter(content: string, template: string): ParameterSegment {
  let i = 0;
  let catchAll = false;
  if (content.startsWith('**')) {
    catchAll = true;
    i = 2;
  } else if (content.startsWith('*')) {
    catchAll = true;
    i = 1;
  }
  const nameStart = i;
  while (i < content.length && !':=?'.includes(content[i]!)) i += 1;
  const name = content.slice(nameStart, i);
  if (!name || /[{}/*]/.test(name)) {
    throw new RouteTemplateError(
      `The route parameter name "${name}" in "${template}" is invalid. Names must be non-empty and cannot contain "{", "}", "/" or "*".`,
    );
  }

  const constraints: RouteConstraint[] = [];
  while (content[i] === ':') {
    i += 1;
    const start = i;
    while (i < content.length && /[A-Za-z0-9_]/.test(content[i]!)) i += 1;
    const constraintName = content.slice(start, i);
    let arg: string | undefined;
    if (content[i] === '(') {
      // The argument ends at the first ")" that is followed by the end of the parameter or by the
      // start of the next token (":", "=", or a final "?"), so regex patterns may contain ")".
      let j = i + 1;
      let end = -1;
      for (; j < content.length; j += 1) {
        if (content[j] !== ')') continue;
        const next = content[j + 1];
        if (next === undefined || next === ':' || next === '=' || (next === '?' && j + 2 === content.length)) {
          end = j;
          break;
        }
      }
      if (end < 0) throw new RouteTemplateError(`The constraint "${constraintName}" in "${template}" has no closing parenthesis.`);
      arg = content.slice(i + 1, end);
      i = end + 1;
    }
    if (!constraintName) throw new RouteTemplateError(`An empty constraint appears in "${template}".`);
    constraints.push({ text: arg === undefined ? constraintName : `${constraintName}(${arg})`, test: buildConstraint(constraintName, arg) });
  }

  let defaultValue: string | undefined;
  let optional = false;
  if (content[i] === '=') {
    defaultValue = content.slice(i + 1);
    i = content.length;
    if (defaultValue.endsWith('?')) {
      throw new RouteTemplateError(`An optional parameter cannot have a default value ("${template}").`);
    }
  } else if (content[i] === '?' && i === content.length - 1) {
    optional = true;
    i += 1;
  }
  if (i !== content.length) throw new RouteTemplateError(`The route parameter "{${content}}" in "${template}" is invalid.`);
  if (catchAll && optional) throw new RouteTemplateError(`A catch-all parameter cannot be marked optional ("${template}").`);
  return { kind: 'parameter', name, constraints, optional, catchAll, defaultValue };
}

export function parseRouteTemplate(template: string): RouteSegment[] {
  let text = template;
  if (text.startsWith('~/')) text = text.slice(2);
  else if (text.startsWith('/')) text = text.slice(1);
  if (text === '') return [];
  const raw = splitTemplate(text);
  const segments: RouteSegment[] = [];
  const names = new Set<string>();
  raw.forEach((parts, index) => {
    const last = index === raw.length - 1;
    if (parts.length === 0) {
      throw new RouteTemplateError(`The route template separator "/" cannot appear consecutively or at the end ("${template}").`);
    }
    if (parts.length > 1) {
      throw new RouteTemplateError(
        `The segment "${parts.map((p) => (p.parameter ? `{${p.text}}` : p.text)).join('')}" of "${template}" mixes several parts; complex segments are not supported by the local host.`,
      );
    }
    const part = parts[0]!;
    if (!part.parameter) {
      if (part.text.includes('?')) throw new RouteTemplateError(`Literal route segments cannot contain "?" ("${template}").`);
      segments.push({ kind: 'literal', text: part.text, lower: part.text.toLowerCase() });
      return;
    }
    const parameter = parseParameter(part.text, template);
    const lowerName = parameter.name.toLowerCase();
    if (names.has(lowerName)) throw new RouteTemplateError(`The route parameter name "${parameter.name}" appears more than once in "${template}".`);
    names.add(lowerName);
    if (parameter.catchAll && !last) throw new RouteTemplateError(`A catch-all parameter can only appear as the last segment ("${template}").`);
    if (parameter.optional && !last) throw new RouteTemplateError(`An optional parameter must be at the end of the template ("${template}").`);
    segments.push(parameter);
  });
  return segments;
}

// ---------------------------------------------------------------------------------------------
// Request path handling

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  // Kestrel decodes every escape except %2F, which would otherwise change the segment structure.
  return segment
    .split(/(%2F)/i)
    .map((piece) => {
      if (/^%2F$/i.test(piece)) return piece;
      try {
        return decodeURIComponent(piece);
      } catch {
        throw new MalformedPathError(`The request path segment "${segment}" is not valid percent-encoding.`);
      }
    })
    .join('');
}

/** Splits an encoded request path ("/v1/a%20b/") into decoded segments (["v1", "a b"]). */
export function splitRequestPath(path: string): string[] {
  let text = path.startsWith('/') ? path.slice(1) : path;
  if (text.endsWith('/')) text = text.slice(0, -1); // ASP.NET routing tolerates one trailing slash
  if (text === '') return [];
  return text.split('/').map(decodeSegment);
}

// ---------------------------------------------------------------------------------------------
// Route table

export interface RouteEntry<T> {
  readonly template: string;
  readonly segments: readonly RouteSegment[];
  /** Upper-case method names; undefined = every method. */
  readonly methods: ReadonlySet<string> | undefined;
  readonly target: T;
  readonly index: number;
}

export interface RouteMatch<T> {
  entry: RouteEntry<T>;
  params: Record<string, string>;
}

/** WebJobsRouteBuilder.RouteComparison: literals first, more constraints first, longer first. */
function hostComparison(x: readonly RouteSegment[], y: readonly RouteSegment[]): number {
  for (let i = 0; i < x.length; i += 1) {
    if (y.length <= i) return -1;
    const xs = x[i]!;
    const ys = y[i]!;
    if (xs.kind === 'literal' && ys.kind === 'parameter') return -1;
    if (xs.kind === 'parameter' && ys.kind === 'literal') return 1;
    if (xs.kind === 'parameter' && ys.kind === 'parameter') {
      if (xs.constraints.length !== ys.constraints.length) return ys.constraints.length - xs.constraints.length;
    } else {
      const a = (xs as LiteralSegment).lower;
      const b = (ys as LiteralSegment).lower;
      if (a !== b) return a < b ? -1 : 1;
    }
  }
  return y.length > x.length ? 1 : 0;
}

/** ASP.NET inbound precedence digit, used only to break the host comparison's ties. */
function precedenceDigit(segment: RouteSegment): number {
  if (segment.kind === 'literal') return 1;
  const base = segment.catchAll ? 5 : 3;
  return segment.constraints.length > 0 ? base - 1 : base;
}

function tieBreak(x: readonly RouteSegment[], y: readonly RouteSegment[]): number {
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i += 1) {
    const a = x[i] ? precedenceDigit(x[i]!) : 0;
    const b = y[i] ? precedenceDigit(y[i]!) : 0;
    if (a !== b) return a - b;
  }
  return 0;
}

function matchSegments(segments: readonly RouteSegment[], path: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i]!;
    if (segment.kind === 'parameter' && segment.catchAll) {
      const value = path.slice(i).join('/');
      if (value === '') {
        if (segment.defaultValue !== undefined) params[segment.name] = segment.defaultValue;
        else if (segment.constraints.length > 0) return undefined;
      } else {
        if (!segment.constraints.every((c) => c.test(value))) return undefined;
        params[segment.name] = value;
      }
      return params;
    }
    if (i >= path.length) {
      if (segment.kind === 'parameter' && (segment.optional || segment.defaultValue !== undefined)) {
        if (segment.defaultValue !== undefined) params[segment.name] = segment.defaultValue;
        continue;
      }
      return undefined;
    }
    const value = path[i]!;
    if (segment.kind === 'literal') {
      if (value.toLowerCase() !== segment.lower) return undefined;
    } else {
      if (value === '') return undefined;
      if (!segment.constraints.every((c) => c.test(value))) return undefined;
      params[segment.name] = value;
    }
  }
  return path.length > segments.length ? undefined : params;
}

export class RouteTable<T> {
  #entries: RouteEntry<T>[] = [];
  #sorted = true;

  add(template: string, methods: readonly string[] | undefined, target: T): RouteEntry<T> {
    const entry: RouteEntry<T> = {
      template,
      segments: parseRouteTemplate(template),
      methods: methods && methods.length > 0 ? new Set(methods.map((m) => m.toUpperCase())) : undefined,
      target,
      index: this.#entries.length,
    };
    this.#entries.push(entry);
    this.#sorted = false;
    return entry;
  }

  /** Routes in the order they are tried. */
  entries(): readonly RouteEntry<T>[] {
    if (!this.#sorted) {
      this.#entries.sort(
        (a, b) => hostComparison(a.segments, b.segments) || tieBreak(a.segments, b.segments) || a.index - b.index,
      );
      this.#sorted = true;
    }
    return this.#entries;
  }

  /** `path` is the decoded segment list from splitRequestPath. */
  match(method: string, path: readonly string[]): RouteMatch<T> | undefined {
    const upper = method.toUpperCase();
    for (const entry of this.entries()) {
      if (entry.methods && !entry.methods.has(upper)) continue;
      const params = matchSegments(entry.segments, path);
      if (params) return { entry, params };
    }
    return undefined;
  }
}

/** Joins routePrefix and a function's route like BuildRouteTemplate in the host. */
export function joinRoute(routePrefix: string, route: string): string {
  const trimmed = route.replace(/^~?\//, '');
  return routePrefix ? (trimmed ? `${routePrefix}/${trimmed}` : routePrefix) : trimmed;
}
