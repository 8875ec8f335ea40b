/**
 * One GET of a JSON document from Entra (discovery or key set), with a timeout and a size bound.
 * Every failure becomes `entra_unavailable`; nothing here caches.
 */
import { z } from 'zod';
import { entraUnavailable } from './errors';
import { describeNetworkError, shortText } from '../net/describe';

/** The subset of `fetch` the verifier uses, so tests can inject their own. */
export type FetchLike = (url: string, init: { signal: AbortSignal; headers: Record<string, string>; redirect: 'error' }) => Promise<Response>;

/** Entra's documents are a few KiB; anything far larger is not one of them. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

export async function fetchJson(fetchFn: FetchLike, url: string, timeoutMs: number): Promise<unknown> {
  let response: Response;
  try {
    // Redirects are refused: the URL was checked (https or loopback), where it redirects to was not.
    response = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' }, redirect: 'error' });
  } catch (err) {
    throw entraUnavailable(`GET ${url}: ${describeNetworkError(err)}`, err);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    throw entraUnavailable(`GET ${url}: unable to read response body: ${describeNetworkError(err)}`, err);
  }
  if (response.status !== 200) {
    const explanation = entraErrorDescription(text);
    throw entraUnavailable(`${`GET ${url}: ${response.status} ${response.statusText}`.trimEnd()}${explanation ? `: ${explanation}` : ''}`);
  }
  if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) throw entraUnavailable(`GET ${url}: response larger than ${MAX_DOCUMENT_BYTES} bytes`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw entraUnavailable(`GET ${url}: response is not JSON: ${describeNetworkError(err)}`, err);
  }
}

/**
 * Entra explains a refusal in `error_description` (e.g. "AADSTS90002: Tenant '…' not found"), which
 * tells an operator a tenant id is wrong; its first line, shortened, goes into our message.
 */
function entraErrorDescription(body: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = entraErrorSchema.safeParse(json);
  if (!parsed.success) return undefined;
  return shortText(parsed.data.error_description, 200).trim() || undefined;
}

const entraErrorSchema = z.object({ error_description: z.string() });
