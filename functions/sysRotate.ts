/**
 * The keyring and the root key (Vault's `sys/rotate`, `sys/key-status` and `sys/rotate/root`):
 *
 * - `POST sys/rotate` (also `sys/rotate/keyring`, sudo): adds a new data-key term; new secrets are
 *   sealed under it, older terms still open what they sealed.
 * - `GET sys/key-status`: the current term and when it was installed.
 * - `GET sys/rotate/root` (sudo): how many stored values each configured root key
 *   (`AZAUTH_ENCRYPTION_KEY`, `AZAUTH_ENCRYPTION_KEY_NEXT`) still opens, and which may be retired.
 * - `POST sys/rotate/root` (sudo): re-seals every root-sealed value under the next key, as far as
 *   the request's time allows; repeat until `done`. The root key is an app setting (a Key Vault
 *   reference), so "rotating" it is a rollover: set the next key beside the current one, rewrap,
 *   promote the next key and remove the old one (docs/secrets.md).
 */
import { app } from '@azure/functions';
import { EncryptionKey } from '../shared/crypto/secretbox';
import { appServices } from '../shared/services';
import { rewrapRootSealed, rootKeyStatus } from '../shared/system/root-keys';
import { badRequest } from '../shared/vault/errors';
import { vString } from '../shared/vault/fields';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;
/** How long one `POST sys/rotate/root` keeps rewrapping before answering with a cursor. */
const REWRAP_BUDGET_MS = 20_000;

const rotateKeyring: PathHandler = async (req) => {
  req.fields({});
  await appServices().keyring.rotate();
  return undefined;
};

export const sysRotatePath: PathDefinition = {
  pattern: 'sys/rotate',
  mountType: 'system',
  operations: { update: { handler: rotateKeyring } },
};

export const sysRotateKeyringPath: PathDefinition = {
  pattern: 'sys/rotate/keyring',
  mountType: 'system',
  operations: { update: { handler: rotateKeyring } },
};

export const sysKeyStatusPath: PathDefinition = {
  pattern: 'sys/key-status',
  mountType: 'system',
  operations: {
    read: {
      handler: async () => {
        const status = await appServices().keyring.status();
        // A legacy sys/ route in Vault: the data is also at the top level.
        return { data: { term: status.term, install_time: status.install_time }, copyDataToTop: true };
      },
    },
  },
};

function rootKeys(): EncryptionKey {
  const keys = EncryptionKey.fromSource(appServices().settings);
  if (!keys) throw badRequest('no root key is configured: set AZAUTH_ENCRYPTION_KEY');
  return keys;
}

export const sysRotateRootPath: PathDefinition = {
  pattern: 'sys/rotate/root',
  mountType: 'system',
  operations: {
    read: {
      handler: async () => {
        const status = await rootKeyStatus(appServices().tables, rootKeys());
        return {
          data: {
            keys: status.keys.map((key) => ({ setting: key.setting, fingerprint: key.fingerprint, sealing: key.sealing, values: key.values })),
            pending: status.pending,
            unreadable: status.unreadable.map((value) => ({ field: value.field, table: value.table, partition_key: value.partitionKey, row_key: value.rowKey })),
            retirable: [...status.retirable],
          },
        };
      },
    },
    update: {
      handler: async (req) => {
        const { values } = req.fields({ cursor: vString });
        const keys = rootKeys();
        if (!keys.describe().some((key) => key.setting === 'AZAUTH_ENCRYPTION_KEY_NEXT')) {
          throw badRequest('nothing to roll over to: set AZAUTH_ENCRYPTION_KEY_NEXT to the next root key (beside AZAUTH_ENCRYPTION_KEY), then rewrap');
        }
        const deadline = Date.now() + REWRAP_BUDGET_MS;
        let cursor = values.cursor || undefined;
        let scanned = 0;
        let rewrapped = 0;
        const unreadable: Array<Record<string, string>> = [];
        for (;;) {
          const page = await rewrapRootSealed(appServices().tables, keys, { cursor });
          scanned += page.scanned;
          rewrapped += page.rewrapped;
          for (const value of page.unreadable) unreadable.push({ field: value.field, table: value.table, partition_key: value.partitionKey, row_key: value.rowKey });
          cursor = page.cursor;
          if (page.done || Date.now() >= deadline) break;
        }
        return { data: { scanned, rewrapped, unreadable, done: cursor === undefined, cursor: cursor ?? '' } };
      },
    },
  },
};

app.http('sysRotate', { route: 'sys/rotate', methods: [...ALL_METHODS], authLevel: 'anonymous', handler: vaultEndpoint(sysRotatePath, () => appServices().endpoint) });
app.http('sysRotateKeyring', { route: 'sys/rotate/keyring', methods: [...ALL_METHODS], authLevel: 'anonymous', handler: vaultEndpoint(sysRotateKeyringPath, () => appServices().endpoint) });
app.http('sysKeyStatus', { route: 'sys/key-status', methods: [...ALL_METHODS], authLevel: 'anonymous', handler: vaultEndpoint(sysKeyStatusPath, () => appServices().endpoint) });
app.http('sysRotateRoot', { route: 'sys/rotate/root', methods: [...ALL_METHODS], authLevel: 'anonymous', handler: vaultEndpoint(sysRotateRootPath, () => appServices().endpoint) });
