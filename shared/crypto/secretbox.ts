/**
 * AES-256-GCM under the root key(s) for the few values sealed directly by them: the keyring's data
 * keys, server keys, mounts' client secrets and pending rotation secrets. The context string is bound
 * as additional data, so a ciphertext copied to another mount or field fails to open.
 *
 * Root-key rollover: `AZAUTH_ENCRYPTION_KEY_NEXT` may be configured beside `AZAUTH_ENCRYPTION_KEY`.
 * While it is, new values are sealed under the next key and values under either key open; the
 * rewrap (shared/system/root-keys.ts) re-seals every stored value under the next key, after which
 * the operator makes it the current key and removes the old one. The sealed format carries no key
 * id: GCM's tag tells the keys apart (a wrong key fails authentication), so values written by the
 * code before rollover existed, and values written now, have one format that every version opens.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { VaultError } from '../vault/errors';

const VERSION = 'v1';

/** Where the root keys come from: the app settings, or one key's base64 (tests and single-key callers). */
export interface RootKeySettings {
  readonly AZAUTH_ENCRYPTION_KEY?: string | undefined;
  readonly AZAUTH_ENCRYPTION_KEY_NEXT?: string | undefined;
}
export type RootKeySource = string | RootKeySettings | undefined;

export type RootKeySetting = 'AZAUTH_ENCRYPTION_KEY' | 'AZAUTH_ENCRYPTION_KEY_NEXT';

export interface RootKeyInfo {
  /** Which app setting holds the key. */
  readonly setting: RootKeySetting;
  /** A short HMAC of the key under itself: names a key in reports without revealing anything about it. */
  readonly fingerprint: string;
  /** True for the key new values are sealed under. */
  readonly sealing: boolean;
}

interface RootKey {
  readonly setting: RootKeySetting;
  readonly key: Buffer;
  readonly fingerprint: string;
}

export class EncryptionKey {
  /** `keys[0]` seals; every key opens. */
  private constructor(private readonly keys: readonly RootKey[]) {}

  /** Parses the base64 of 32 bytes held in AZAUTH_ENCRYPTION_KEY. */
  static fromBase64(text: string): EncryptionKey {
    return new EncryptionKey([rootKey('AZAUTH_ENCRYPTION_KEY', text)]);
  }

  /**
   * The configured root keys, or undefined when none is. With a next key configured it seals and
   * the current key only opens; the same key in both settings counts once.
   */
  static fromSource(source: RootKeySource): EncryptionKey | undefined {
    if (source === undefined) return undefined;
    if (typeof source === 'string') return source.trim() === '' ? undefined : EncryptionKey.fromBase64(source);
    const keys: RootKey[] = [];
    const next = source.AZAUTH_ENCRYPTION_KEY_NEXT?.trim();
    const current = source.AZAUTH_ENCRYPTION_KEY?.trim();
    if (next) keys.push(rootKey('AZAUTH_ENCRYPTION_KEY_NEXT', next));
    if (current) {
      const key = rootKey('AZAUTH_ENCRYPTION_KEY', current);
      if (!keys.some((k) => k.key.equals(key.key))) keys.push(key);
    }
    return keys.length === 0 ? undefined : new EncryptionKey(keys);
  }

  /** The configured keys, the sealing one first. */
  describe(): RootKeyInfo[] {
    return this.keys.map((k, i) => ({ setting: k.setting, fingerprint: k.fingerprint, sealing: i === 0 }));
  }

  seal(plaintext: string, context: string): string {
    return sealWith(this.sealingKey().key, plaintext, context);
  }

  open(sealed: string, context: string): string {
    return this.openAny(parse(sealed), context).plaintext;
  }

  /**
   * The fingerprint of the configured key that opens `sealed` under `context`, or undefined when
   * none does (another key, a tampered value, or the wrong context). Throws on an unknown format.
   */
  keyOf(sealed: string, context: string): string | undefined {
    const parts = parse(sealed); // outside the try: an unknown format is thrown, not "no key"
    try {
      return this.openAny(parts, context).key.fingerprint;
    } catch {
      return undefined;
    }
  }

  /**
   * The value re-sealed under the sealing key, or undefined when it already is. Throws when no
   * configured key opens it: the caller reports such values rather than guessing.
   */
  rewrap(sealed: string, context: string): string | undefined {
    const parts = parse(sealed);
    const sealing = this.sealingKey();
    const opened = this.openAny(parts, context);
    return opened.key === sealing ? undefined : sealWith(sealing.key, opened.plaintext, context);
  }

  /**
   * The first configured key (the sealing one first) that opens `parts`, with the plaintext. When
   * none does, throws the last key's error. The format names no key, so each is tried in turn.
   */
  private openAny(parts: SealedParts, context: string): { readonly key: RootKey; readonly plaintext: string } {
    let failure: unknown;
    for (const key of this.keys) {
      try {
        return { key, plaintext: openWith(key.key, parts, context) };
      } catch (err) {
        failure = err;
      }
    }
    throw failure instanceof Error ? failure : new Error('sealed value does not open');
  }

  private sealingKey(): RootKey {
    const key = this.keys[0];
    if (!key) throw new Error('no root key configured');
    return key;
  }
}

/** Data keys (the keyring's terms, the server keys) are 32 random bytes, sealed as their base64. */
const DATA_KEY_BYTES = 32;

/** A fresh data key and its sealed form under the root key(s), bound to `context`, for storing. */
export function newSealedDataKey(root: EncryptionKey, context: string): { readonly key: Buffer; readonly sealed: string } {
  const key = randomBytes(DATA_KEY_BYTES);
  return { key, sealed: root.seal(key.toString('base64'), context) };
}

/**
 * The data key `newSealedDataKey` sealed; `label` names it in errors ("keyring term 3"). One that is
 * not 32 bytes is refused. A value no root key opens throws `notOpenedMessage` when given (the
 * keyring names the term there, with open's error as the cause), otherwise open's own error.
 */
export function openDataKey(root: EncryptionKey, sealed: string, context: string, label: string, notOpenedMessage?: string): Buffer {
  let text: string;
  try {
    text = root.open(sealed, context);
  } catch (err) {
    if (notOpenedMessage === undefined) throw err;
    throw new Error(notOpenedMessage, { cause: err });
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== DATA_KEY_BYTES) throw new Error(`${label} has the wrong length`);
  return key;
}

function rootKey(setting: RootKeySetting, text: string): RootKey {
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error(`${setting} must be the base64 encoding of 32 bytes`);
  const fingerprint = createHmac('sha256', key).update('azauth root key fingerprint').digest('hex').slice(0, 16);
  return { setting, key, fingerprint };
}

interface SealedParts {
  readonly iv: Buffer;
  readonly body: Buffer;
  readonly tag: Buffer;
}

function parse(sealed: string): SealedParts {
  const [version, iv, body, tag, extra] = sealed.split('.');
  if (version !== VERSION || iv === undefined || body === undefined || tag === undefined || extra !== undefined) {
    throw new Error('sealed value has an unknown format');
  }
  return { iv: Buffer.from(iv, 'base64url'), body: Buffer.from(body, 'base64url'), tag: Buffer.from(tag, 'base64url') };
}

function sealWith(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

function openWith(key: Buffer, parts: SealedParts, context: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key, parts.iv);
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(parts.tag);
  return Buffer.concat([decipher.update(parts.body), decipher.final()]).toString('utf8');
}

/** The key(s), or the 400 a caller gets when it tries to store a secret without one configured. */
export function requireEncryptionKey(source: RootKeySource, what: string): EncryptionKey {
  const keys = EncryptionKey.fromSource(source);
  if (!keys) {
    throw new VaultError('bad_request', `${what} cannot be stored: app setting AZAUTH_ENCRYPTION_KEY is not set`);
  }
  return keys;
}
