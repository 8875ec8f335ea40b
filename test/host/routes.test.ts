import { describe, expect, it } from 'vitest';
import { joinRoute, MalformedPathError, parseRouteTemplate, RouteTable, RouteTemplateError, splitRequestPath } from '../../dev/host/routes';

function table(routes: Array<[string, string[] | undefined]>): RouteTable<string> {
  const t = new RouteTable<string>();
  for (const [template, methods] of routes) t.add(template, methods, template);
  return t;
}

function match(t: RouteTable<string>, method: string, path: string) {
  const m = t.match(method, splitRequestPath(path));
  return m ? { route: m.entry.target, params: m.params } : undefined;
}

describe('route templates', () => {
  it('parses literals, parameters, optional, defaults, catch-all and constraints', () => {
    const segments = parseRouteTemplate('v1/items/{id:int:min(1)}/{rest?}');
    expect(segments.map((s) => s.kind)).toEqual(['literal', 'literal', 'parameter', 'parameter']);
    const id = segments[2];
    expect(id?.kind === 'parameter' && id.constraints.map((c) => c.text)).toEqual(['int', 'min(1)']);
    expect(parseRouteTemplate('a/{*rest}').at(-1)).toMatchObject({ catchAll: true, name: 'rest' });
    expect(parseRouteTemplate('a/{x=5}').at(-1)).toMatchObject({ defaultValue: '5' });
  });

  it('keeps ")" and escaped braces inside regex constraints', () => {
    const [seg] = parseRouteTemplate('{code:regex(^(a|b){{2}}$)}');
    expect(seg?.kind === 'parameter' && seg.constraints[0]?.text).toBe('regex(^(a|b){2}$)');
  });

  it.each([
    ['a/{*rest}/b', /catch-all/],
    ['a/{id?}/b', /optional/],
    ['a/{id}/{id}', /more than once/],
    ['a//b', /consecutively/],
    ['a/{id:nosuch}', /could not be resolved/],
    ['a/{id', /incomplete/],
    ['a/x{id}', /complex segments/],
    ['a/{id:min(x)}', /integer/],
  ])('rejects %s', (template, message) => {
    expect(() => parseRouteTemplate(template)).toThrow(RouteTemplateError);
    expect(() => parseRouteTemplate(template)).toThrow(message);
  });

  it('joins the route prefix like the host', () => {
    expect(joinRoute('v1', 'sys/health')).toBe('v1/sys/health');
    expect(joinRoute('', 'sys/health')).toBe('sys/health');
    expect(joinRoute('api', '/x')).toBe('api/x');
  });
});

describe('route matching', () => {
  it('matches case-insensitively, decodes segments but keeps %2F, tolerates one trailing slash', () => {
    const t = table([['api/Items/{name}', undefined]]);
    expect(match(t, 'GET', '/API/items/a%20b/')).toEqual({ route: 'api/Items/{name}', params: { name: 'a b' } });
    expect(match(t, 'GET', '/api/items/a%2Fb')?.params).toEqual({ name: 'a%2Fb' });
    expect(match(t, 'GET', '/api/items')).toBeUndefined();
    expect(match(t, 'GET', '/api/items/a/b')).toBeUndefined();
    expect(() => splitRequestPath('/api/%zz')).toThrow(MalformedPathError);
  });

  it('applies constraints', () => {
    const t = table([
      ['n/{v:int}', undefined],
      ['g/{v:guid}', undefined],
      ['b/{v:bool}', undefined],
      ['l/{v:length(2,3)}', undefined],
      ['r/{v:range(5,10)}', undefined],
      ['x/{v:regex(^[a-f]+$)}', undefined],
    ]);
    expect(match(t, 'GET', '/n/-12')).toBeDefined();
    expect(match(t, 'GET', '/n/2147483648')).toBeUndefined();
    expect(match(t, 'GET', '/g/3f2504e0-4f89-11d3-9a0c-0305e82c3301')).toBeDefined();
    expect(match(t, 'GET', '/g/not-a-guid')).toBeUndefined();
    expect(match(t, 'GET', '/b/TRUE')).toBeDefined();
    expect(match(t, 'GET', '/l/abcd')).toBeUndefined();
    expect(match(t, 'GET', '/r/7')).toBeDefined();
    expect(match(t, 'GET', '/r/11')).toBeUndefined();
    expect(match(t, 'GET', '/x/CAFE')).toBeDefined(); // RegexRouteConstraint ignores case
    expect(match(t, 'GET', '/x/cafez')).toBeUndefined();
  });

  it('handles optional parameters, defaults and empty catch-alls', () => {
    const t = table([
      ['a/{id?}', undefined],
      ['d/{page=1}', undefined],
      ['c/{*rest}', undefined],
    ]);
    expect(match(t, 'GET', '/a')?.params).toEqual({});
    expect(match(t, 'GET', '/a/5')?.params).toEqual({ id: '5' });
    expect(match(t, 'GET', '/d')?.params).toEqual({ page: '1' });
    expect(match(t, 'GET', '/c')?.params).toEqual({});
    expect(match(t, 'GET', '/c/x/y%20z')?.params).toEqual({ rest: 'x/y z' });
  });

  it('orders routes like the Functions host: literals, then constrained, then plain parameters, longer first, catch-all last', () => {
    const t = table([
      ['v1/{*path}', undefined],
      ['v1/auth/{mount}/login', ['POST']],
      ['v1/auth/token/lookup-self', ['GET', 'POST']],
      ['v1/items/{name}', ['GET']],
      ['v1/items/{id:int}', ['GET']],
    ]);
    expect(t.entries().map((e) => e.target)).toEqual([
      'v1/auth/token/lookup-self',
      'v1/auth/{mount}/login',
      'v1/items/{id:int}',
      'v1/items/{name}',
      'v1/{*path}',
    ]);
    expect(match(t, 'GET', '/v1/auth/token/lookup-self')?.route).toBe('v1/auth/token/lookup-self');
    expect(match(t, 'POST', '/v1/auth/token/login')).toEqual({ route: 'v1/auth/{mount}/login', params: { mount: 'token' } });
    expect(match(t, 'GET', '/v1/items/42')?.route).toBe('v1/items/{id:int}');
    expect(match(t, 'GET', '/v1/items/abc')?.route).toBe('v1/items/{name}');
    expect(match(t, 'GET', '/v1/sys/mounts/x')).toEqual({ route: 'v1/{*path}', params: { path: 'sys/mounts/x' } });
  });

  it('lets a method mismatch fall through to the next route, and to no match at all', () => {
    const t = table([
      ['v1/auth/{mount}/login', ['POST']],
      ['v1/{*path}', ['GET']],
    ]);
    expect(match(t, 'GET', '/v1/auth/azure/login')?.route).toBe('v1/{*path}');
    expect(match(t, 'PUT', '/v1/auth/azure/login')).toBeUndefined();
  });
});
