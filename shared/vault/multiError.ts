/**
 * hashicorp/go-multierror's text, which Vault returns as the error string where it gathers several
 * problems (policy key errors, KV custom_metadata): scripts and tests match on it, layout included.
 */
export function multiError(messages: readonly string[]): string {
  if (messages.length === 1) return `1 error occurred:\n\t* ${messages[0] ?? ''}\n\n`;
  return `${messages.length} errors occurred:\n\t${messages.map((m) => `* ${m}`).join('\n\t')}\n\n`;
}
