import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EncryptionKey, requireEncryptionKey } from '../../../shared/crypto/secretbox';
import { VaultError } from '../../../shared/vault/errors';

const keyText = () => randomBytes(32).toString('base64');

describe('secretbox', () => {
  it('round-trips a secret and never contains it in plain text', () => {
    const key = EncryptionKey.fromBase64(keyText());
    const sealed = key.seal('s3cret-value', 'ctx');
    expect(sealed).not.toContain('s3cret');
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(key.open(sealed, 'ctx')).toBe('s3cret-value');
  });

  it('uses a fresh IV every time', () => {
    const key = EncryptionKey.fromBase64(keyText());
    expect(key.seal('x', 'c')).not.toBe(key.seal('x', 'c'));
  });

  it('binds the context: a ciphertext moved to another mount does not open', () => {
    const key = EncryptionKey.fromBase64(keyText());
    const sealed = key.seal('secret', 'azauth:config:a:client_secret');
    expect(() => key.open(sealed, 'azauth:config:b:client_secret')).toThrow();
  });

  it('refuses another key and a tampered ciphertext', () => {
    const key = EncryptionKey.fromBase64(keyText());
    const sealed = key.seal('secret', 'c');
    expect(() => EncryptionKey.fromBase64(keyText()).open(sealed, 'c')).toThrow();
    const parts = sealed.split('.');
    const body = Buffer.from(parts[2] ?? '', 'base64url');
    body[0] = (body[0] ?? 0) ^ 1;
    parts[2] = body.toString('base64url');
    expect(() => key.open(parts.join('.'), 'c')).toThrow();
    expect(() => key.open('v2.a.b.c', 'c')).toThrow(/unknown format/);
    expect(() => key.open('garbage', 'c')).toThrow(/unknown format/);
  });

  it('needs exactly 32 bytes of key', () => {
    expect(() => EncryptionKey.fromBase64(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
    expect(() => EncryptionKey.fromBase64('')).toThrow(/32 bytes/);
  });

  it('answers 400 naming AZAUTH_ENCRYPTION_KEY when no key is configured', () => {
    try {
      requireEncryptionKey(undefined, 'client_secret');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VaultError);
      expect((err as VaultError).status).toBe(400);
      expect((err as VaultError).message).toContain('AZAUTH_ENCRYPTION_KEY');
    }
    expect(requireEncryptionKey(keyText(), 'client_secret')).toBeInstanceOf(EncryptionKey);
  });
});
