/**
 * Go's `%q` for the texts Vault and go-oidc put in messages (`invalid role name "x"`,
 * `expected audience "a"`): scripts match on these messages, quotes included.
 */
export function goQuote(value: string): string {
  return JSON.stringify(value);
}
