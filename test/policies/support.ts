import { Acl, type AclOperation, type AclRequest, type TemplateContext } from '../../shared/policies/acl';
import { parsePolicy } from '../../shared/policies/parse';

/** An ACL from policy documents, named p0, p1, ... in order. */
export function aclOf(docs: readonly string[], ctx?: TemplateContext): Acl {
  return Acl.build(
    docs.map((doc, i) => ({ name: `p${i}`, rules: parsePolicy(doc).rules })),
    ctx,
  );
}

/** `path "<path>" { capabilities = [<caps>] }` */
export function rule(path: string, ...capabilities: string[]): string {
  return `path ${JSON.stringify(path)} { capabilities = ${JSON.stringify(capabilities)} }\n`;
}

export function allowed(acl: Acl, operation: AclOperation, path: string, extra: Omit<AclRequest, 'path' | 'operation'> = {}): boolean {
  return acl.allowOperation({ path, operation, ...extra }).allowed;
}
