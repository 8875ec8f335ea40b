import { describe, expect, it } from 'vitest';
import { EMPTY_POLICY_NAME, MAX_POLICY_NAME_LENGTH, normalizePolicyName, policyNameProblem } from '../../shared/policies/names';

describe('policy names', () => {
  it('trims and lower-cases, as Vault stores them', () => {
    expect(normalizePolicyName('  MyPolicy ')).toBe('mypolicy');
    expect(normalizePolicyName('APP-KV-Read')).toBe('app-kv-read');
  });

  it('accepts the names Vault users write, slashes and dots included', () => {
    for (const name of ['default', 'app-kv-read', 'team_a.reader', 'team/app', 'ops/ci/deploy', 'a b', 'café', 'x'.repeat(MAX_POLICY_NAME_LENGTH)]) {
      expect(policyNameProblem(name), name).toBeUndefined();
    }
  });

  it('refuses an empty name with Vault\'s text', () => {
    expect(policyNameProblem('')).toBe(EMPTY_POLICY_NAME);
    expect(EMPTY_POLICY_NAME).toBe('policy name must be provided in the URL');
  });

  it('refuses an overlong name', () => {
    expect(policyNameProblem('x'.repeat(MAX_POLICY_NAME_LENGTH + 1))).toBe(`invalid policy name "${'x'.repeat(MAX_POLICY_NAME_LENGTH + 1)}": longer than 128 characters`);
  });

  it.each([
    ['a\u0000b', 'contains a control or invisible character'],
    ['a\nb', 'contains a control or invisible character'],
    ['a\tb', 'contains a control or invisible character'],
    ['a\u007fb', 'contains a control or invisible character'],
    ['a\u200bb', 'contains a control or invisible character'],
    ['a\u202eb', 'contains a control or invisible character'],
    ['a?b', 'contains one of ? # % \\'],
    ['a#b', 'contains one of ? # % \\'],
    ['a%2fb', 'contains one of ? # % \\'],
    ['a\\b', 'contains one of ? # % \\'],
    ['/a', 'has an empty path segment (a leading, trailing or double /)'],
    ['a/', 'has an empty path segment (a leading, trailing or double /)'],
    ['a//b', 'has an empty path segment (a leading, trailing or double /)'],
    ['..', 'has a . or .. path segment'],
    ['a/../b', 'has a . or .. path segment'],
    ['./a', 'has a . or .. path segment'],
  ])('refuses %j', (name, reason) => {
    expect(policyNameProblem(name)).toBe(`invalid policy name ${JSON.stringify(name)}: ${reason}`);
  });
});
