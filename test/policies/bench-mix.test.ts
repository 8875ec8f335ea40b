import { describe, expect, it } from 'vitest';
import { benchPolicyText, benchRequests } from '../../bench/acl';
import { Acl } from '../../shared/policies/acl';
import { parsePolicy } from '../../shared/policies/parse';

describe('the ACL benchmark\'s policies and requests', () => {
  const policies = Array.from({ length: 20 }, (_, i) => ({ name: `team-${i}`, rules: parsePolicy(benchPolicyText(i)).rules }));
  const acl = Acl.build(policies);

  it('has 20 policies of 20 rules: exact, prefix, + and parameter-constrained', () => {
    for (const { rules } of policies) {
      expect(rules).toHaveLength(20);
      expect(rules.filter((r) => r.path.endsWith('*') && !r.path.includes('+')).length).toBe(6);
      expect(rules.filter((r) => r.path.includes('+')).length).toBe(4);
      expect(rules.filter((r) => Object.keys(r.allowedParameters).length > 0).length).toBe(2);
    }
  });

  it('decides each kind of request as its comment says', () => {
    const decisions = benchRequests()
      .slice(0, 9)
      .map((request) => acl.allowOperation(request).allowed);
    expect(decisions).toEqual([true, false, true, true, true, true, true, false, false]);
  });
});
