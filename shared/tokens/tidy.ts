/**
 * Tidy: deletes expired service tokens, a page at a time. (Batch tokens are never stored, and an
 * accessor is the token's own row key, so there are no orphaned accessor records to sweep: see
 * README "Token API".)
 *
 * Each delete is conditional on the ETag the page returned, so a token renewed after the page was
 * read survives; 404 and 412 count as "someone else handled it". Two instances tidying at once
 * therefore only duplicate some reads, and a run stopped half-way is finished by the next one.
 */
import type { TokenStore } from './store';

export interface TidyOptions {
  readonly pageSize?: number;
  /** Stop starting new pages after this long (the caller may be an HTTP request). */
  readonly budgetMs?: number;
  readonly now?: () => number;
}

export interface TidyReport {
  /** Expired tokens found by the scan. */
  readonly expiredFound: number;
  /** Of those, deleted by this run (the rest were gone or renewed meanwhile). */
  readonly deleted: number;
  readonly pages: number;
  /** False when the time budget ran out before the scan reached the end. */
  readonly complete: boolean;
}

export async function tidyTokens(store: TokenStore, options: TidyOptions = {}): Promise<TidyReport> {
  const now = options.now ?? Date.now;
  const pageSize = options.pageSize ?? 100;
  const started = now();
  const cutoff = new Date(started);
  let expiredFound = 0;
  let deleted = 0;
  let pages = 0;
  let continuation: string | undefined;
  do {
    if (options.budgetMs !== undefined && now() - started > options.budgetMs) {
      return { expiredFound, deleted, pages, complete: false };
    }
    const page = await store.scan({ expiredBefore: cutoff }, pageSize, continuation);
    pages++;
    expiredFound += page.keys.length;
    const outcomes = await Promise.all(page.keys.map((key) => store.remove(key.accessor, key.etag)));
    deleted += outcomes.filter((o) => o.ok).length;
    continuation = page.continuation;
  } while (continuation);
  return { expiredFound, deleted, pages, complete: true };
}
