/**
 * The glob of parameter constraints (go-secure-stdlib's strutil.GlobbedStringsMatch): a `*` at the
 * start means "ends with", at the end "starts with", at both ends "contains"; a `*` anywhere else is
 * literal, and a pattern shorter than two characters must match exactly (so "*" alone matches only "*").
 */
export function globMatches(pattern: string, value: string): boolean {
  if (pattern.length < 2) return value === pattern;
  const leading = pattern.startsWith('*');
  const trailing = pattern.endsWith('*');
  if (leading && trailing) return value.includes(pattern.slice(1, -1));
  if (leading) return value.endsWith(pattern.slice(1));
  if (trailing) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}
