/**
 * Plain JSON objects built from request data without prototype surprises: a secret may well have a
 * key named `__proto__`, and assigning it on a `{}` would change the object's prototype instead of
 * storing the key. Every object built from user keys (KV values, audit records) goes through `setOwn`.
 */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

export function setOwn(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
