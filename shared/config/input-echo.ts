/**
 * A caller's value quoted for an error message (Go's %q, as Vault's texts have it): whole when
 * short, else its first characters and its length. Error messages go back to the caller and into
 * the audit log; a 5,000-character value must not come back whole.
 */
import { goQuote } from '../vault/goQuote';

/** Longest input echoed whole; longer input is shown by its start and its length. */
export const MAX_ECHO = 64;

export function quoteInput(value: string, max = MAX_ECHO): string {
  if (value.length <= max) return goQuote(value);
  return `${goQuote(`${value.slice(0, max / 2)}…`)} (${value.length} characters)`;
}
