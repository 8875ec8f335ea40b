// `node dist/dev/emulator/cli.js [--port N] [--json]`: starts the cloud emulator with the demo
// world and prints what to point clients at. Runs until Ctrl-C.
import { seedDemo, type DemoWorld } from './demo';
import { type CloudEmulator, startCloudEmulator } from './index';

interface CliOptions {
  port: number | undefined;
  json: boolean;
}

function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { port: undefined, json: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--json') options.json = true;
    else if (arg === '--port') {
      const port = Number(argv[i + 1]);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port needs a number between 0 and 65535, got ${argv[i + 1] ?? '(nothing)'}`);
      options.port = port;
      i += 1;
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: node dist/dev/emulator/cli.js [--port N] [--json]\n');
      process.exit(0);
    } else {
      throw new Error(`unknown argument ${arg ?? ''}`);
    }
  }
  return options;
}

function describe(cloud: CloudEmulator, demo: DemoWorld): string {
  const arm = 'https://management.azure.com/';
  return [
    'azauth local cloud emulator (Entra ID, ARM, Graph over HTTPS; IMDS and App Service identity over HTTP; loopback only)',
    '',
    `  URL                 ${cloud.url}`,
    '                      use for AZURE_AUTHORITY_HOST, AZAUTH_ARM_ENDPOINT, AZAUTH_GRAPH_ENDPOINT',
    `  CA certificate      ${cloud.caCertPath}`,
    '                      use for NODE_EXTRA_CA_CERTS (Node) or curl --cacert',
    `  Tenant              ${demo.tenantId}`,
    `  Subscription        ${demo.subscriptionId}`,
    `  Resource group      ${demo.resourceGroup}`,
    `  VM                  ${demo.vm.name}  principal ${demo.vm.principalId}`,
    `    IMDS              ${demo.vm.imdsUrl}   (AZURE_POD_IDENTITY_AUTHORITY_HOST)`,
    `  Scale set (uniform) ${demo.scaleSet.name}  principal ${demo.scaleSet.principalId}`,
    `    IMDS, instance 0  ${demo.scaleSet.imdsUrl}`,
    `  Application         appId ${demo.application.appId}  secret ${demo.application.clientSecret}`,
    '',
    'Try:',
    `  curl -s -H Metadata:true '${demo.vm.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(arm)}'`,
    `  curl -s -H Metadata:true '${demo.vm.imdsUrl}/metadata/instance?api-version=2021-05-01'`,
    `  curl -s --cacert ${cloud.caCertPath} ${cloud.url}/${demo.tenantId}/v2.0/.well-known/openid-configuration`,
    '',
    'Ctrl-C stops it.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const cloud = await startCloudEmulator(options.port === undefined ? {} : { port: options.port });
  const demo = await seedDemo(cloud);
  if (options.json) process.stdout.write(`${JSON.stringify({ url: cloud.url, caCertPath: cloud.caCertPath, ...demo })}\n`);
  else process.stdout.write(describe(cloud, demo));
  const shutdown = (): void => {
    void cloud.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`cloud emulator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
