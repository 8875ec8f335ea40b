// Entra's token-signing keys: RS256, published in JWKS documents with kid, x5t and x5c.
//
// As in Entra, kid equals x5t (the base64url SHA-1 thumbprint of a self-signed certificate wrapping
// the key), one key set serves every tenant, and rotation publishes the new key next to the old
// one: tokens signed by the old key keep verifying until the old key is retired.
import { createHash, generateKeyPair, type KeyObject } from 'node:crypto';
import { generate } from 'selfsigned';

export interface SigningKey {
  readonly kid: string;
  readonly x5t: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SPKI PEM of the public key (what an HS256 key-confusion attacker would use as the secret). */
  readonly publicKeyPem: string;
  /** Base64 (not url) DER of the wrapping certificate, as in a JWKS x5c entry. */
  readonly x5c: string;
  readonly n: string;
  readonly e: string;
}

export interface JwkEntry {
  kty: 'RSA';
  use: 'sig';
  kid: string;
  x5t: string;
  n: string;
  e: string;
  x5c: string[];
  cloud_instance_name: string;
  issuer?: string;
}

export function generateRsaKeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve({ publicKey, privateKey });
    });
  });
}

async function createSigningKey(): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateRsaKeyPair();
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const cert = await generate([{ name: 'commonName', value: 'accounts.accesscontrol.windows.net' }], {
    algorithm: 'sha256',
    keyPair: { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey: publicKeyPem },
  });
  const der = pemToDer(cert.cert);
  const x5t = createHash('sha1').update(der).digest('base64url');
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw new Error('RSA public key exported without n/e');
  return { kid: x5t, x5t, privateKey, publicKey, publicKeyPem, x5c: der.toString('base64'), n: jwk.n, e: jwk.e };
}

function pemToDer(pem: string): Buffer {
  const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
}

export class KeyStore {
  private keys: SigningKey[];
  private rogue: Promise<SigningKey> | undefined;

  private constructor(first: SigningKey) {
    this.keys = [first];
  }

  static async create(): Promise<KeyStore> {
    return new KeyStore(await createSigningKey());
  }

  /** The key new tokens are signed with (the most recently added). */
  get current(): SigningKey {
    const key = this.keys[this.keys.length - 1];
    if (key === undefined) throw new Error('key store is empty');
    return key;
  }

  /** Keys currently published in the JWKS documents, oldest first. */
  get published(): readonly SigningKey[] {
    return this.keys;
  }

  find(kid: string): SigningKey | undefined {
    return this.keys.find((k) => k.kid === kid);
  }

  /** Adds a new signing key; the previous ones stay published until retireOld(). */
  async rotate(): Promise<SigningKey> {
    const key = await createSigningKey();
    this.keys.push(key);
    return key;
  }

  /** Unpublishes every key but the current one: tokens they signed stop verifying. */
  retireOld(): void {
    this.keys = [this.current];
  }

  /**
   * A key that is never published, for "signed by an unknown key" tokens. Generated once, lazily,
   * because RSA generation is the slowest thing the emulator does.
   */
  rogueKey(): Promise<SigningKey> {
    this.rogue ??= createSigningKey();
    return this.rogue;
  }

  /** The JWKS document; `issuer` is added to each key as the v2 endpoints do. */
  jwks(issuer?: string): { keys: JwkEntry[] } {
    // Entra lists keys newest-last in no documented order; clients must select by kid anyway.
    return {
      keys: this.keys.map((k) => ({
        kty: 'RSA',
        use: 'sig',
        kid: k.kid,
        x5t: k.x5t,
        n: k.n,
        e: k.e,
        x5c: [k.x5c],
        cloud_instance_name: 'microsoftonline.com',
        ...(issuer === undefined ? {} : { issuer }),
      })),
    };
  }
}
