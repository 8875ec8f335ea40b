/**
 * What `sys/policies/acl/<name>` and the legacy `sys/policy/<name>` share: the name from the URL, the
 * policy text from the body (with Vault's base64 quirk), and the built-in names' refusals.
 */
import { badRequest } from '../vault/errors';
import { HIDDEN_POLICIES, MAX_POLICY_BYTES, normalizePolicyName, policyNameProblem } from './names';
import { PolicyParseError, parsePolicy } from './parse';
import { DEFAULT_POLICY, ROOT_POLICY, type PolicyStore } from './store';
import type { ParsedPolicy } from './types';

/** The policy name of a request URL, lower-cased and trimmed as Vault stores it; 400 when unusable. */
export function policyNameFrom(raw: string | undefined): string {
  const name = normalizePolicyName(raw ?? '');
  const problem = policyNameProblem(name);
  if (problem) throw badRequest(problem);
  return name;
}

/**
 * Vault's quirk: a policy text that decodes entirely as standard base64 is taken decoded. The
 * decoded text must be valid UTF-8, or it was not meant as base64.
 */
export function decodePolicyText(text: string): string {
  const compact = text.trim();
  if (compact === '' || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return text;
  const bytes = Buffer.from(compact, 'base64');
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return decoded.includes('\uFFFD') ? text : decoded;
}

/** Checks a write of `text` to `name` and parses it; throws Vault's 400s. */
export function checkPolicyWrite(name: string, rawText: string | undefined): { text: string; parsed: ParsedPolicy } {
  if (name === ROOT_POLICY || HIDDEN_POLICIES.has(name)) throw badRequest(`cannot update "${name}" policy`);
  if (!rawText) throw badRequest("'policy' parameter not supplied or empty");
  const text = decodePolicyText(rawText);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_POLICY_BYTES) {
    throw badRequest(`failed to parse policy: the policy is ${bytes} bytes; at most ${MAX_POLICY_BYTES} bytes (${MAX_POLICY_BYTES / 1024} KiB) are accepted`);
  }
  try {
    return { text, parsed: parsePolicy(text) };
  } catch (err) {
    if (err instanceof PolicyParseError) throw badRequest(err.message);
    throw err;
  }
}

/** Vault's refusals to delete a built-in. */
export function checkPolicyDelete(name: string): void {
  if (name === DEFAULT_POLICY) throw badRequest('cannot delete default policy');
  if (name === ROOT_POLICY || HIDDEN_POLICIES.has(name)) throw badRequest(`cannot delete "${name}" policy`);
}

/** The list Vault answers: stored policies minus hidden ones, sorted, then `root` last. */
export function listedPolicies(stored: readonly string[]): string[] {
  return [...stored.filter((name) => !HIDDEN_POLICIES.has(name) && name !== ROOT_POLICY).sort(), ROOT_POLICY];
}

/** The text a read answers: `root` has none (Vault answers an empty document); undefined when absent. */
export async function readPolicyText(store: Pick<PolicyStore, 'read'>, name: string): Promise<string | undefined> {
  if (name === ROOT_POLICY) return '';
  return (await store.read(name))?.text;
}

/** Checks, parses and stores a policy; returns the parser's warnings for the answer. */
export async function writePolicy(store: Pick<PolicyStore, 'write'>, name: string, rawText: string | undefined): Promise<readonly string[]> {
  const { text, parsed } = checkPolicyWrite(name, rawText);
  await store.write(name, text);
  return parsed.warnings;
}

/** Deletes a policy (204 also when absent), refusing the built-ins. */
export async function deletePolicy(store: Pick<PolicyStore, 'delete'>, name: string): Promise<void> {
  checkPolicyDelete(name);
  await store.delete(name);
}
