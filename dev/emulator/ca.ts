// A throw-away certificate authority for the emulator's HTTPS listener.
//
// The Azure SDK refuses bearer tokens over plain http (core-rest-pipeline checks for https:// even
// with allowInsecureConnection) and @azure/identity refuses an http authority host, so Entra, ARM and
// Graph must be served over TLS. We mint a CA and a leaf for 127.0.0.1/localhost at every start:
// nothing is persisted, so no stale trust lingers on the machine. Child processes trust the CA
// through NODE_EXTRA_CA_CERTS=<caCertPath>; in-process clients pass caCertPem to an https.Agent.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface EmulatorTls {
  /** PEM of the generated CA certificate (what clients must trust). */
  readonly caCertPem: string;
  /** Path of a temp file holding caCertPem, for NODE_EXTRA_CA_CERTS. */
  readonly caCertPath: string;
  /** Leaf certificate (SAN IP:127.0.0.1, DNS:localhost) and its key, for the HTTPS server. */
  readonly certPem: string;
  readonly keyPem: string;
  /** Removes the temp directory holding caCertPath. */
  dispose(): Promise<void>;
}

const HOUR_MS = 3_600_000;

export async function createEmulatorTls(): Promise<EmulatorTls> {
  // Back-date validity by an hour so a client whose clock is slightly behind still accepts it.
  const notBeforeDate = new Date(Date.now() - HOUR_MS);
  const notAfterDate = new Date(Date.now() + 30 * 24 * HOUR_MS);
  // EC keys: generation is a few milliseconds, where RSA-2048 costs ~200 ms per key on 2 cores.
  const ca = await generate([{ name: 'commonName', value: 'azauth local cloud emulator CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), 'azauth-emulator-'));
  const caCertPath = join(dir, 'ca.pem');
  await writeFile(caCertPath, ca.cert, { mode: 0o644 });
  return {
    caCertPem: ca.cert,
    caCertPath,
    certPem: leaf.cert,
    keyPem: leaf.private,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
