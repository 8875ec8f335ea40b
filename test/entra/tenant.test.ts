import { describe, expect, it } from 'vitest';
import { isTenantId, tenantIdProblem } from '../../shared/entra/tenant';

describe('tenant ids (config write and login)', () => {
  it('accepts GUIDs in any case and domain names', () => {
    for (const ok of ['72f988bf-86f1-41af-91ab-2d7cd011db47', '72F988BF-86F1-41AF-91AB-2D7CD011DB47', 'contoso.onmicrosoft.com', 'a-b.c', 't1']) {
      expect(isTenantId(ok), ok).toBe(true);
    }
  });

  it('refuses what is no host name: dots alone or doubled, slashes, edge hyphens, long labels or names', () => {
    for (const bad of ['', '.', '..', 'a..b', '.a', 'a.', 'a/b', 'a b', '-a', 'a-', 'a_b', 'x'.repeat(64), `${'a.'.repeat(127)}ab`, 'ü.com']) {
      expect(isTenantId(bad), bad).toBe(false);
    }
  });

  it('never quotes more than a short prefix of the value', () => {
    expect(tenantIdProblem('a/b')).toBe('tenant_id "a/b" is not a tenant id (a GUID) or a domain name');
    expect(tenantIdProblem('x'.repeat(5000))).toBe(`tenant_id "${'x'.repeat(32)}…" (5000 characters) is not a tenant id (a GUID) or a domain name`);
  });
});
