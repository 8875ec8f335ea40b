/**
 * AES-256-GCM for secrets at rest (client secrets, server keys). The context string is bound as
 * additional data, so a ciphertext copied to another mount or field fails to open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { VaultError } from '../vault/errors';

const VERSION = 'v1';

export class EncryptionKey {
  private constructor(private readonly key: Buffer) {}

  /** Parses the base64 of 32 bytes held in AZAUTH_ENCRYPTION_KEY. */
  static fromBase64(text: string): EncryptionKey {
    const key = Buffer.from(text, 'base64');
    if (key.length !== 32) throw new Error('AZAUTH_ENCRYPTION_KEY must be the base64 encoding of 32 bytes');
    return new EncryptionKey(key);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(sealed: string, context: string): string {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== VERSION || iv === undefined || body === undefined || tag === undefined) {
      throw new Error('sealed value has an unknown format');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** The key, or the 400 a caller gets when it tries to store a secret without one configured. */
export function requireEncryptionKey(base64: string | undefined, what: string): EncryptionKey {
  if (!base64) {
    throw new VaultError('bad_request', `${what} cannot be stored: app setting AZAUTH_ENCRYPTION_KEY is not set`);
  }
  return EncryptionKey.fromBase64(base64);
}
