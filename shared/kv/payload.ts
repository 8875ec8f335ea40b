/**
 * A version's value in Table Storage: the JSON text, sealed, split over binary properties `p0`,
 * `p1`, … of one entity. A property holds at most 64 KiB and an entity 1 MiB, so 512 KiB of JSON
 * (our limit per version) takes nine properties and leaves room for the rest of the row; one entity
 * per version keeps a write one entity-group transaction, which either lands whole or not at all.
 */
import { VaultError } from '../vault/errors';

/** Largest JSON text of one version's data, in bytes. */
export const MAX_VALUE_BYTES = 512 * 1024;
/** Bytes per binary property: under Table Storage's 64 KiB per property. */
export const CHUNK_BYTES = 60 * 1024;
/** Sealing adds a 33-byte header, so 512 KiB of JSON needs this many properties at most. */
export const MAX_CHUNKS = Math.ceil((MAX_VALUE_BYTES + 64) / CHUNK_BYTES);

/** The JSON text of a value, or the 413 the HTTP layer returns for one over the limit. */
export function encodeValue(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  if (json.length > MAX_VALUE_BYTES) {
    throw new VaultError(
      'payload_too_large',
      `the secret's data is ${json.length} bytes of JSON; a version holds at most ${MAX_VALUE_BYTES} bytes (512 KiB)`,
    );
  }
  return json;
}

export function chunkProperties(sealed: Buffer): Record<string, Uint8Array | number> {
  const props: Record<string, Uint8Array | number> = {};
  let count = 0;
  for (let offset = 0; offset < sealed.length; offset += CHUNK_BYTES) {
    props[`p${count}`] = new Uint8Array(sealed.subarray(offset, offset + CHUNK_BYTES));
    count += 1;
  }
  props.n = count;
  return props;
}

/** Joins `p0…p<n-1>` back; throws when a chunk is missing (a damaged row must not open as something else). */
export function joinChunks(entity: Readonly<Record<string, unknown>>): Buffer {
  const count = entity.n;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_CHUNKS) {
    throw new Error('stored value has no valid chunk count');
  }
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const part = entity[`p${i}`];
    if (!(part instanceof Uint8Array)) throw new Error(`stored value is missing chunk ${i}`);
    parts.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  }
  return Buffer.concat(parts);
}
