/**
 * Identity templating in policy paths (`{{identity.entity.id}}`), as Vault's identitytpl package does
 * it in ACL mode. A policy is only checked for balanced `{{ }}` when written; the directives are
 * resolved when an ACL is built for a token, and a rule whose directives cannot all be resolved is
 * left out of that token's ACL (the default policy's identity rules rely on this).
 */

/** What a token's identity says, for templated paths. A token without an entity has none of it. */
export interface TemplateContext {
  readonly entityId?: string;
  /** Added to the contract's context: `{{identity.entity.name}}`, which the default policy uses. */
  readonly entityName?: string;
  /** Mount accessor → alias name, for `{{identity.entity.aliases.<accessor>.name}}`. */
  readonly aliases?: Readonly<Record<string, string>>;
}

export const UNBALANCED_TEMPLATE = 'unbalanced templating characters';

/** Vault's validity check: undefined when the path's `{{ }}` pairs are balanced, else the reason. */
export function templateProblem(path: string): string | undefined {
  const pieces = path.split('{{');
  if (pieces[0]?.includes('}}')) return UNBALANCED_TEMPLATE;
  for (const piece of pieces.slice(1)) {
    if (piece.split('}}').length !== 2) return UNBALANCED_TEMPLATE;
  }
  return undefined;
}

/** Whether a (valid) path holds template directives. */
export function isTemplated(path: string): boolean {
  return path.includes('{{');
}

const ENTITY_PREFIX = 'identity.entity.';
const ALIASES_PREFIX = 'aliases.';

/**
 * One directive's value, or undefined when this context cannot supply it. Supported: entity id,
 * entity name and an alias's name by mount accessor; every other directive Vault knows (metadata,
 * alias ids, groups, `time.now`) resolves to nothing here, so its rule is left out.
 */
function directiveValue(directive: string, ctx: TemplateContext | undefined): string | undefined {
  if (!directive.startsWith(ENTITY_PREFIX)) return undefined;
  // Vault refuses every entity directive when the token has no entity.
  if (ctx?.entityId === undefined) return undefined;
  const selector = directive.slice(ENTITY_PREFIX.length);
  if (selector === 'id') return ctx.entityId;
  if (selector === 'name') return ctx.entityName;
  if (selector.startsWith(ALIASES_PREFIX)) {
    const rest = selector.slice(ALIASES_PREFIX.length);
    const dot = rest.indexOf('.');
    if (dot < 0 || rest.slice(dot + 1) !== 'name') return undefined;
    const aliases = ctx.aliases;
    const accessor = rest.slice(0, dot);
    return aliases !== undefined && Object.hasOwn(aliases, accessor) ? aliases[accessor] : undefined;
  }
  return undefined;
}

/**
 * The path with every directive replaced, or undefined when the rule must be left out: a directive
 * this context cannot resolve, an empty value, or a value holding `*` or `+` (Vault refuses
 * wildcards coming from a template, which would widen the rule).
 */
export function resolveTemplates(path: string, ctx: TemplateContext | undefined): string | undefined {
  const pieces = path.split('{{');
  let out = pieces[0] ?? '';
  for (const piece of pieces.slice(1)) {
    const [directive = '', after = ''] = piece.split('}}');
    const value = directiveValue(directive.trim(), ctx);
    if (value === undefined || value === '' || /[*+]/.test(value)) return undefined;
    out += value + after;
  }
  return out;
}
