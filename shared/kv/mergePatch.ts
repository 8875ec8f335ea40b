/**
 * JSON merge patch (RFC 7386), as Vault's `PATCH data/<key>` and `PATCH metadata/<key>` apply it:
 * a `null` member removes the key, an object member merges recursively, anything else (arrays
 * included) replaces. Inputs are never modified.
 */
import { isJsonObject, setOwn, type JsonObject } from '../vault/json';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const result: JsonObject = {};
  if (isJsonObject(target)) for (const [key, value] of Object.entries(target)) setOwn(result, key, value);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setOwn(result, key, mergePatch(Object.prototype.hasOwnProperty.call(result, key) ? result[key] : undefined, value));
  }
  return result;
}
