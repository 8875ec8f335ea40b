/**
 * `subkeys/<key>`: the secret's structure with every value replaced by null. A non-empty object is
 * descended into while its depth (top-level keys are at depth 1) stays within `maxDepth`; `0` means
 * no limit. Empty objects, arrays and scalars are leaves. Same rule as Vault's, including a negative
 * depth, which makes every top-level key a leaf.
 */
import { isJsonObject, setOwn, type JsonObject } from '../vault/json';

export function subkeys(data: JsonObject, maxDepth: number): JsonObject {
  const walk = (input: JsonObject, depth: number): JsonObject => {
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(input)) {
      const childDepth = depth + 1;
      const descend = isJsonObject(value) && Object.keys(value).length > 0 && (maxDepth === 0 || childDepth <= maxDepth);
      setOwn(out, key, descend && isJsonObject(value) ? walk(value, childDepth) : null);
    }
    return out;
  };
  return walk(data, 1);
}
