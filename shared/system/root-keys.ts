/**
 * Root-key rollover (here, above the engines, because it knows where each of them keeps a root-sealed
 * value): every value sealed directly under the root key, where it is stored, and the
 * two operations over all of them: `rewrapRootSealed` (re-seal each under the sealing key, paged,
 * resumable, idempotent) and `rootKeyStatus` (how many values each configured key still opens: the
 * old key may be retired once it opens none).
 *
 * The root key seals few values: the keyring's terms (whose data keys seal every KV secret, which
 * is why a rollover never touches KV data), the server keys, each auth mount's client secret and
 * any pending rotation secret. They are re-sealed one by one rather than moved under the keyring:
 * they are a handful of rows, their owners seal and open synchronously in many places, and a scan
 * over them is needed anyway for values written before the keyring existed.
 *
 * A value is rewritten with a Merge conditional on the ETag the scan read, so a concurrent change
 * (an operator writing a new client secret) is never overwritten: the row is read again and, if it
 * still holds a value under the old key, re-sealed.
 */
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { z } from 'zod';
import { secretContext } from '../config/store';
import { newSecretContext } from '../rotation/engine';
import { decodeKey } from '../storage/keys';
import { TABLES, getEntityOrUndefined, isNotFound, isPreconditionFailed, type TableName, type TableProvider } from '../storage/tables';
import { SERVER_KEYS_PARTITION, serverKeyContext } from '../tokens/serverKeys';
import { badRequest } from '../vault/errors';
import { KEYRING_PARTITION, termContext, termOfRowKey } from '../crypto/keyring';
import type { EncryptionKey, RootKeySetting } from '../crypto/secretbox';

/** One kind of root-sealed value: which rows hold it, in which property, under which context. */
export interface RootSealedField {
  readonly name: string;
  readonly table: TableName;
  /** OData filter selecting the rows that may hold such a value. */
  readonly filter: string;
  readonly property: string;
  /** The context the owner seals with; undefined for a row that is not one of these values. */
  context(partitionKey: string, rowKey: string): string | undefined;
}

export const ROOT_SEALED_FIELDS: readonly RootSealedField[] = [
  {
    name: 'keyring term',
    table: TABLES.state,
    filter: `PartitionKey eq '${KEYRING_PARTITION}' and RowKey ge 'term-' and RowKey lt 'term.'`,
    property: 'sealedKey',
    context: (_pk, rowKey) => {
      const term = termOfRowKey(rowKey);
      return term === undefined ? undefined : termContext(term);
    },
  },
  {
    name: 'server key',
    table: TABLES.state,
    filter: `PartitionKey eq '${SERVER_KEYS_PARTITION}'`,
    property: 'sealed',
    context: (_pk, rowKey) => serverKeyContext(rowKey),
  },
  {
    name: 'auth mount client secret',
    table: TABLES.configs,
    filter: `RowKey eq 'config'`,
    property: 'clientSecretSealed',
    context: (partitionKey) => secretContext(decodeKey(partitionKey)),
  },
  {
    name: 'pending rotation secret',
    table: TABLES.state,
    filter: `RowKey eq 'rotation'`,
    property: 'newSecretSealed',
    context: (partitionKey) => newSecretContext(decodeKey(partitionKey)),
  },
];

/** A stored value no configured key opens: named by where it is, never by its content. */
export interface UnreadableValue {
  readonly field: string;
  readonly table: TableName;
  readonly partitionKey: string;
  readonly rowKey: string;
}

export interface RewrapPage {
  /** Values looked at in this call. */
  readonly scanned: number;
  /** Values re-sealed under the sealing key in this call. */
  readonly rewrapped: number;
  readonly unreadable: readonly UnreadableValue[];
  /** Pass it to the next call; undefined once every field has been scanned to its end. */
  readonly cursor: string | undefined;
  readonly done: boolean;
}

export interface RewrapOptions {
  /** From the previous page; absent to start from the beginning (always safe: done rows are skipped). */
  readonly cursor?: string | undefined;
  /** Rows read per call (one Table Storage page); default 100. */
  readonly pageSize?: number;
  readonly fields?: readonly RootSealedField[];
}

const cursorSchema = z.object({ f: z.number().int().nonnegative(), t: z.string().optional() });

function encodeCursor(field: number, token: string | undefined): string {
  return Buffer.from(JSON.stringify(token === undefined ? { f: field } : { f: field, t: token }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | undefined): { field: number; token: string | undefined } {
  if (cursor === undefined || cursor === '') return { field: 0, token: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('invalid rewrap cursor');
  }
  const result = cursorSchema.safeParse(parsed);
  if (!result.success) throw badRequest('invalid rewrap cursor');
  return { field: result.data.f, token: result.data.t };
}

/**
 * Re-seals one page of root-sealed values under the sealing key (AZAUTH_ENCRYPTION_KEY_NEXT during
 * a rollover). Call it with the returned cursor until `done`; calling again from the start is
 * harmless, since values already under the sealing key are left as they are.
 */
export async function rewrapRootSealed(tables: TableProvider, keys: EncryptionKey, options: RewrapOptions = {}): Promise<RewrapPage> {
  const fields = options.fields ?? ROOT_SEALED_FIELDS;
  const pageSize = options.pageSize ?? 100;
  let { field: index, token } = decodeCursor(options.cursor);
  let rows = 0;
  let scanned = 0;
  let rewrapped = 0;
  const unreadable: UnreadableValue[] = [];
  // Bounded by rows read, not values found, so a page of rows without a value still ends the call.
  while (index < fields.length && rows < pageSize) {
    const field = fields[index];
    if (!field) break;
    const client = await tables.table(field.table);
    const page = await readPage(client, field, token, pageSize - rows);
    rows += page.entities.length;
    for (const entity of page.entities) {
      const outcome = await rewrapRow(client, field, keys, entity);
      if (outcome === 'none') continue;
      scanned += 1;
      if (outcome === 'rewrapped') rewrapped += 1;
      if (outcome === 'unreadable') unreadable.push(where(field, entity));
    }
    token = page.continuation;
    if (token === undefined) index += 1;
  }
  const done = index >= fields.length;
  return { scanned, rewrapped, unreadable, cursor: done ? undefined : encodeCursor(index, token), done };
}

export interface RootKeyCount {
  readonly setting: RootKeySetting;
  readonly fingerprint: string;
  readonly sealing: boolean;
  /** Stored values this key opens. */
  readonly values: number;
}

export interface RootKeyStatus {
  readonly keys: readonly RootKeyCount[];
  readonly unreadable: readonly UnreadableValue[];
  /** Values the sealing key does not open yet: the rewrap is complete when this is 0. */
  readonly pending: number;
  /**
   * The settings whose key no stored value needs any more: during a rollover, AZAUTH_ENCRYPTION_KEY
   * once the rewrap is complete (the operator then promotes the next key and removes the old one).
   */
  readonly retirable: readonly RootKeySetting[];
}

/** Counts, over every root-sealed value, which configured key opens it. Reads everything; no writes. */
export async function rootKeyStatus(tables: TableProvider, keys: EncryptionKey, fields: readonly RootSealedField[] = ROOT_SEALED_FIELDS): Promise<RootKeyStatus> {
  const described = keys.describe();
  const counts = new Map<string, number>(described.map((k) => [k.fingerprint, 0]));
  const unreadable: UnreadableValue[] = [];
  for (const field of fields) {
    const client = await tables.table(field.table);
    let token: string | undefined;
    do {
      const page = await readPage(client, field, token, 1000);
      for (const entity of page.entities) {
        const value = sealedValue(field, entity);
        if (value === undefined) continue;
        let owner: string | undefined;
        try {
          owner = keys.keyOf(value.sealed, value.context);
        } catch {
          owner = undefined;
        }
        if (owner === undefined) unreadable.push(where(field, entity));
        else counts.set(owner, (counts.get(owner) ?? 0) + 1);
      }
      token = page.continuation;
    } while (token !== undefined);
  }
  const result = described.map((k) => ({ ...k, values: counts.get(k.fingerprint) ?? 0 }));
  const sealing = result.find((k) => k.sealing);
  const pending = result.filter((k) => !k.sealing).reduce((sum, k) => sum + k.values, 0) + unreadable.length;
  return {
    keys: result,
    unreadable,
    pending,
    retirable: result.filter((k) => !k.sealing && k.values === 0 && unreadable.length === 0 && sealing !== undefined).map((k) => k.setting),
  };
}

interface Page {
  readonly entities: readonly TableEntityResult<Record<string, unknown>>[];
  readonly continuation: string | undefined;
}

async function readPage(client: TableClient, field: RootSealedField, token: string | undefined, size: number): Promise<Page> {
  const pages = client
    .listEntities<Record<string, unknown>>({ queryOptions: { filter: field.filter, select: ['PartitionKey', 'RowKey', field.property] } })
    .byPage({ maxPageSize: Math.max(1, Math.min(size, 1000)), ...(token !== undefined ? { continuationToken: token } : {}) });
  const next = await pages.next();
  if (next.done) return { entities: [], continuation: undefined };
  const page = next.value;
  return { entities: page, continuation: page.continuationToken ?? undefined };
}

function sealedValue(field: RootSealedField, entity: { partitionKey?: string; rowKey?: string; [k: string]: unknown }): { sealed: string; context: string } | undefined {
  const sealed = entity[field.property];
  if (typeof sealed !== 'string' || sealed === '' || entity.partitionKey === undefined || entity.rowKey === undefined) return undefined;
  const context = field.context(entity.partitionKey, entity.rowKey);
  return context === undefined ? undefined : { sealed, context };
}

function where(field: RootSealedField, entity: { partitionKey?: string; rowKey?: string }): UnreadableValue {
  return { field: field.name, table: field.table, partitionKey: entity.partitionKey ?? '', rowKey: entity.rowKey ?? '' };
}

type Outcome = 'none' | 'current' | 'rewrapped' | 'unreadable';

/** Re-seals one row's value, re-reading the row when a concurrent writer changed it meanwhile. */
async function rewrapRow(client: TableClient, field: RootSealedField, keys: EncryptionKey, first: TableEntityResult<Record<string, unknown>>): Promise<Outcome> {
  let entity: TableEntityResult<Record<string, unknown>> | undefined = first;
  for (let attempt = 0; attempt < 10 && entity; attempt++) {
    const value = sealedValue(field, entity);
    if (value === undefined) return 'none';
    let rewrapped: string | undefined;
    try {
      rewrapped = keys.rewrap(value.sealed, value.context);
    } catch {
      return 'unreadable';
    }
    if (rewrapped === undefined) return 'current';
    try {
      await client.updateEntity(
        { partitionKey: entity.partitionKey ?? '', rowKey: entity.rowKey ?? '', [field.property]: rewrapped },
        'Merge',
        { etag: entity.etag },
      );
      return 'rewrapped';
    } catch (err) {
      if (isNotFound(err)) return 'none';
      if (!isPreconditionFailed(err)) throw err;
    }
    entity = await getEntityOrUndefined<Record<string, unknown>>(client, entity.partitionKey ?? '', entity.rowKey ?? '');
  }
  if (!entity) return 'none';
  throw new Error(`the ${field.name} in ${field.table} kept changing while being rewrapped; run the rewrap again`);
}
