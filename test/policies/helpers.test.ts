import { describe, expect, it } from 'vitest';
import { parseDurationSecond, parseGoDuration } from '../../shared/policies/duration';
import { globMatches } from '../../shared/policies/glob';
import { outlineDocument, outlinePathBlocks } from '../../shared/policies/outline';
import { resolveTemplates, templateProblem } from '../../shared/policies/template';

describe('globMatches (strutil.GlobbedStringsMatch)', () => {
  it.each([
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['ab*', 'abcd', true],
    ['*cd', 'abcd', true],
    ['*bc*', 'abcd', true],
    ['*x*', 'abcd', false],
    ['a*c', 'abc', false],
    ['a*c', 'a*c', true],
    ['*', 'anything', false],
    ['*', '*', true],
    ['**', 'anything', true],
    ['', '', true],
  ])('%j against %j is %s', (pattern, value, expected) => {
    expect(globMatches(pattern, value)).toBe(expected);
  });
});

describe('durations (Go\'s time.ParseDuration and parseutil.ParseDurationSecond)', () => {
  it.each([
    ['0', 0],
    ['1h', 3600],
    ['1h30m10s', 5410],
    ['1.5h', 5400],
    ['.5s', 0.5],
    ['500ms', 0.5],
    ['2us', 2e-6],
    ['2µs', 2e-6],
    ['+5s', 5],
  ])('%s is %d s', (text, seconds) => {
    expect(parseGoDuration(text)).toEqual({ ok: true, seconds });
  });

  it.each([
    ['', 'time: invalid duration ""'],
    ['s', 'time: invalid duration "s"'],
    ['.s', 'time: invalid duration ".s"'],
    ['1.5', 'time: missing unit in duration "1.5"'],
    ['3weeks', 'time: unknown unit "weeks" in duration "3weeks"'],
  ])('%j is refused', (text, reason) => {
    expect(parseGoDuration(text)).toEqual({ ok: false, reason });
  });

  it('reads numbers (dropping a fraction), numeric strings, days and Go durations', () => {
    expect(parseDurationSecond(90.9)).toEqual({ ok: true, seconds: 90 });
    expect(parseDurationSecond('90')).toEqual({ ok: true, seconds: 90 });
    expect(parseDurationSecond('3d')).toEqual({ ok: true, seconds: 259200 });
    expect(parseDurationSecond('1m')).toEqual({ ok: true, seconds: 60 });
    expect(parseDurationSecond('')).toEqual({ ok: true, seconds: 0 });
    expect(parseDurationSecond(true)).toEqual({ ok: false, reason: 'could not parse duration from input' });
    expect(parseDurationSecond('-1h')).toEqual({ ok: false, reason: "cannot provide negative value '-3600'" });
  });
});

describe('template syntax', () => {
  it('checks only that {{ }} are balanced', () => {
    expect(templateProblem('a/{{x}}/b/{{ y }}')).toBeUndefined();
    expect(templateProblem('no templates')).toBeUndefined();
    expect(templateProblem('a/{{x')).toBe('unbalanced templating characters');
    expect(templateProblem('a/x}}')).toBe('unbalanced templating characters');
    expect(templateProblem('a/{{x}}}}')).toBe('unbalanced templating characters');
  });

  it('fills every directive or none', () => {
    expect(resolveTemplates('a/{{identity.entity.id}}/b/{{identity.entity.name}}', { entityId: 'i', entityName: 'n' })).toBe('a/i/b/n');
    expect(resolveTemplates('a/{{identity.entity.id}}/b/{{identity.entity.name}}', { entityId: 'i' })).toBeUndefined();
    expect(resolveTemplates('a/{{identity.entity.aliases.acc.id}}', { entityId: 'i', aliases: { acc: 'n' } })).toBeUndefined();
  });
});

describe('the outline of a document (lines for messages)', () => {
  it('follows strings with quotes in interpolations, comments with braces, and heredocs', () => {
    const text = [
      '# a comment with { and "',
      'path "a/${lookup("x", "y")}" {',
      '  comment = <<EOT',
      'text with } and "',
      'EOT',
      '  /* } */ capabilities = ["read"]',
      '}',
      'bad = 1',
    ].join('\n');
    const outline = outlineDocument(text);
    expect(outline?.map((item) => [item.keys, item.assignLine])).toEqual([
      [['path', 'a/${lookup("x", "y")}'], 0],
      [['bad'], 8],
    ]);
    expect(outlinePathBlocks(outline ?? [])[0]?.items.map((item) => [item.keys[0], item.assignLine])).toEqual([
      ['comment', 3],
      ['capabilities', 6],
    ]);
  });

  it('gives up on text it cannot follow', () => {
    expect(outlineDocument('path "a" {')).toBeUndefined();
  });
});
