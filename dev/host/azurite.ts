// Embedded Azurite Table service for `AzureWebJobsStorage=UseDevelopmentStorage=true`.
// It runs in this process (no child to babysit), in memory, on a free loopback port. Telemetry
// stays inert in-process: only Azurite's CLI entry point initialises its telemetry client.

export const DEV_ACCOUNT_NAME = 'devstoreaccount1';
/** The well-known, public development storage key (documented by Microsoft; not a secret). */
export const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface EmbeddedAzurite {
  /** e.g. http://127.0.0.1:41234/devstoreaccount1 */
  tableEndpoint: string;
  connectionString: string;
  stop(): Promise<void>;
}

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  getHttpServerAddress(): string;
}

type ServerConstructor = new (config: unknown) => AzuriteServer;
type ConfigurationConstructor = new (...args: unknown[]) => unknown;

/** `UseDevelopmentStorage=true`, in any letter case and with optional spaces / trailing `;`. */
export function isDevelopmentStorage(value: string | undefined): boolean {
  return value !== undefined && /^\s*UseDevelopmentStorage\s*=\s*true\s*;?\s*$/i.test(value);
}

export function devConnectionString(tableEndpoint: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};AccountKey=${DEV_ACCOUNT_KEY};TableEndpoint=${tableEndpoint};`;
}

export async function startEmbeddedAzurite(): Promise<EmbeddedAzurite> {
  // Deep imports: azurite has no exports map, and only the Table service is needed (the package
  // root would load Blob and Queue as well).
  const TableServer = (require('azurite/dist/src/table/TableServer') as { default: ServerConstructor }).default;
  const TableConfiguration = (require('azurite/dist/src/table/TableConfiguration') as { default: ConfigurationConstructor }).default;
  const config = new TableConfiguration(
    '127.0.0.1', // host
    0, // port: any free one
    5, // keep-alive timeout (s)
    'unused.json', // LokiJS db path, unused in memory mode
    false, // debug log
    false, // access log
    undefined, // access log stream
    undefined, // debug log path
    false, // loose
    true, // skipApiVersionCheck: newer SDKs send newer x-ms-version values
    '', // cert
    '', // key
    '', // pwd
    undefined, // oauth
    false, // disableProductStyleUrl
    true, // in-memory persistence
  );
  const server = new TableServer(config);
  await server.start();
  const tableEndpoint = `${server.getHttpServerAddress()}/${DEV_ACCOUNT_NAME}`;
  let stopped = false;
  return {
    tableEndpoint,
    connectionString: devConnectionString(tableEndpoint),
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
    },
  };
}
