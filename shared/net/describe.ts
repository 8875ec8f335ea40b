/** Error texts about remote services, for messages operators read: bounded, and never the request's own data. */

/** What went wrong with a request that got no reply, without the request's own data. */
export function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer in time';
    // fetch wraps the network error ("fetch failed"); its cause says what actually went wrong.
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

/** The first line of a service's message, bounded, for an error text shown to operators. */
export function shortText(text: string, max = 300): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
