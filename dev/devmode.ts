/**
 * Dev mode (`npm start`), the counterpart of `vault server -dev`: starts the local cloud emulator,
 * the local Functions host with embedded in-memory Azurite, and an admin tenant and principal, then
 * prints VAULT_ADDR, two admin credentials (an Entra access token and, as Vault's dev server does, a
 * root token), mounts `secret/` as KV version 2, and prints the whole workflow of a workload as
 * ready-to-paste commands. Everything is in memory and gone on exit.
 * Settings: PORT (default 8200, Vault's port), AZAUTH_DEV_QUIET=1 to hide host logs.
 */
import path from 'node:path';
import { createRootToken } from '../shared/tokens/root';
import { startCloudEmulator, type CloudEmulator } from './emulator';
import { spawnHost, type SpawnedHost } from './host/spawn';
import { DEV_MODE_EXTENSIONS, type DevModeContext } from './devmode-extensions';
import { ADMIN_AUDIENCE, emulatorAppSettings, hostStorageConnectionString, seedAdmin } from './devmode-stack';

const DEFAULT_PORT = 8200;
const ADMIN_TOKEN_LIFETIME_SECONDS = 24 * 3600;
/** The subscription the demo role is bound to; the emulator's demo world uses the same one. */
export const DEMO_SUBSCRIPTION_ID = '3f9c1a2b-5d4e-4f60-8a7b-9c0d1e2f3a4b';
const DEMO_RESOURCE = 'https://management.azure.com/';
const DEMO_ROLE = 'demo';
/** The policy the demo role carries, and the secret it may read (as `vault server -dev`'s `secret/`). */
export const DEMO_POLICY = 'app';
export const DEMO_POLICY_TEXT = 'path "secret/data/app/*" { capabilities = ["read"] }';
export const DEMO_SECRET_PATH = 'secret/data/app/db';

function parsePort(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return DEFAULT_PORT;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a number from 0 to 65535, got "${text}"`);
  return port;
}

/** Single-quotes a value for a POSIX shell. */
const sq = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

export function instructions(ctx: DevModeContext, emulator: Pick<CloudEmulator, 'url' | 'caCertPath'>): string[] {
  const config = JSON.stringify({ tenant_id: ctx.demoTenantId, resource: ctx.demoResource });
  const role = JSON.stringify({ bound_subscription_ids: [ctx.demoSubscriptionId], token_policies: [DEMO_POLICY], token_ttl: '1h' });
  const policy = JSON.stringify({ policy: DEMO_POLICY_TEXT });
  const secret = JSON.stringify({ data: { password: 'correct-horse-battery-staple' } });
  // Double quotes only inside, so the single-quoted shell argument needs no escapes.
  const nodeVault = [
    'const vault = require("node-vault")({ endpoint: process.env.VAULT_ADDR, token: process.env.VAULT_TOKEN, noCustomHTTPVerbs: true });',
    `vault.write("auth/azure/config", ${config})`,
    `.then(() => vault.write("auth/azure/role/${ctx.demoRole}", ${role}))`,
    `.then(() => vault.list("auth/azure/role")).then((r) => console.log(r.data.keys), (e) => { console.error(e.message); process.exitCode = 1; });`,
  ].join(' ');
  return [
    '',
    `azauth dev mode: a Vault-compatible Azure auth method at ${ctx.vaultAddr}/v1/`,
    'Everything runs on loopback and in memory (embedded Azurite, emulated Entra/ARM/Graph); it is gone on exit.',
    '',
    'In another shell:',
    '',
    `    export VAULT_ADDR=${sq(ctx.vaultAddr)}`,
    `    export VAULT_TOKEN=${sq(ctx.adminToken)}`,
    '',
    `VAULT_TOKEN is an admin credential: an Entra access token minted by the emulator (tenant ${adminTenantOf(ctx)},`,
    `audience ${ADMIN_AUDIENCE}), valid ${ADMIN_TOKEN_LIFETIME_SECONDS / 3600} h. Restart dev mode for a new one.`,
    '',
    `Root Token: ${ctx.rootToken}`,
    '',
    'The root token is an admin credential too, as `vault server -dev` prints one: a token of this',
    'service with the root policy that does not expire. It works as VAULT_TOKEN or X-Vault-Token.',
    '',
    'Check it is up:',
    '',
    '    curl -s "$VAULT_ADDR/v1/sys/health"',
    '',
    'A KV version 2 secrets engine is mounted at secret/, as in `vault server -dev`. The workflow of a workload',
    'on Azure, step by step (each line runs as printed):',
    '',
    `1. A least-privilege policy "${DEMO_POLICY}": read secret/data/app/*, nothing else.`,
    '',
    `    curl -s -X PUT -H "X-Vault-Token: $VAULT_TOKEN" -d ${sq(policy)} "$VAULT_ADDR/v1/sys/policies/acl/${DEMO_POLICY}"`,
    '',
    '2. A secret for the application:',
    '',
    `    curl -s -X POST -H "X-Vault-Token: $VAULT_TOKEN" -d ${sq(secret)} "$VAULT_ADDR/v1/${DEMO_SECRET_PATH}"`,
    '',
    `3. The azure mount for the demo tenant (${ctx.demoTenantId}) and a role for the demo VM carrying that policy:`,
    '',
    `    curl -s -X POST -H "X-Vault-Token: $VAULT_TOKEN" -d ${sq(config)} "$VAULT_ADDR/v1/auth/azure/config"`,
    `    curl -s -X POST -H "X-Vault-Token: $VAULT_TOKEN" -d ${sq(role)} "$VAULT_ADDR/v1/auth/azure/role/${ctx.demoRole}"`,
    `    curl -s -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/auth/azure/role/${ctx.demoRole}"`,
    '    curl -s -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/auth/azure/role?list=true"',
    '',
    '   or step 3 with node-vault (from this repository; noCustomHTTPVerbs because Node servers cannot receive LIST):',
    '',
    `    node -e ${sq(nodeVault)}`,
    '',
    '   or steps 1 to 3 with the Vault CLI, if you have it:',
    '',
    `    echo ${sq(DEMO_POLICY_TEXT)} | vault policy write ${DEMO_POLICY} -`,
    '    vault kv put secret/app/db password=correct-horse-battery-staple',
    `    vault write auth/azure/config tenant_id=${ctx.demoTenantId} resource=${ctx.demoResource}`,
    `    vault write auth/azure/role/${ctx.demoRole} bound_subscription_ids=${ctx.demoSubscriptionId} token_policies=${DEMO_POLICY} token_ttl=1h`,
    '',
    `Emulated cloud: ${emulator.url} (CA certificate ${emulator.caCertPath}).`,
  ];
}

/** `secret/` as KV version 2, as `vault server -dev` mounts it, through the API with the root token. */
async function mountDevSecrets(vaultAddr: string, rootToken: string): Promise<void> {
  const res = await fetch(`${vaultAddr}/v1/sys/mounts/secret`, {
    method: 'POST',
    headers: { 'X-Vault-Token': rootToken, 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'kv', options: { version: '2' }, description: 'key/value secret storage' }),
  });
  if (res.status !== 204) throw new Error(`mounting secret/ failed: ${res.status} ${await res.text()}`);
}

function adminTenantOf(ctx: DevModeContext): string {
  return ctx.hostEnv.AZAUTH_ADMIN_TENANT_ID ?? '';
}

async function main(): Promise<void> {
  const port = parsePort(process.env.PORT);
  const quiet = process.env.AZAUTH_DEV_QUIET === '1';
  const emulator = await startCloudEmulator();
  let host: SpawnedHost | undefined;
  const stop = async (): Promise<void> => {
    await host?.stop();
    await emulator.stop();
  };
  try {
    const admin = seedAdmin(emulator);
    const hostEnv: Record<string, string | undefined> = {
      ...emulatorAppSettings(emulator, admin),
      // The function app's own managed identity (App Service identity endpoint), which login uses for ARM.
      ...(await emulator.appServiceIdentity()).env,
    };
    host = await spawnHost({ appRoot: path.resolve(__dirname, '..', '..'), env: hostEnv, port });
    const adminToken = await emulator.entra.mintToken({
      tenant: admin.tenantId,
      audience: ADMIN_AUDIENCE,
      oid: admin.principalId,
      lifetimeSeconds: ADMIN_TOKEN_LIFETIME_SECONDS,
    });
    // Written into the host's own storage with the host's settings, so the host accepts it as any token it issued.
    const rootToken = await createRootToken({ ...hostEnv, AzureWebJobsStorage: hostStorageConnectionString(host, hostEnv) });
    await mountDevSecrets(host.url, rootToken);
    const ctx: DevModeContext = {
      emulator,
      vaultAddr: host.url,
      adminToken,
      rootToken,
      demoTenantId: emulator.defaultTenantId,
      demoSubscriptionId: DEMO_SUBSCRIPTION_ID,
      demoResource: DEMO_RESOURCE,
      demoRole: DEMO_ROLE,
      demoSecretPath: DEMO_SECRET_PATH,
      hostEnv,
    };
    const lines = instructions(ctx, emulator);
    for (const extension of DEV_MODE_EXTENSIONS) {
      const extra = await extension(ctx);
      if (extra.length > 0) lines.push('', ...extra);
    }
    lines.push('', 'Ctrl-C stops dev mode.', '');
    process.stdout.write(`${lines.join('\n')}\n`);
    if (!quiet) forwardHostLogs(host);
  } catch (err) {
    await stop();
    throw err;
  }
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    void stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** Prints what the host logs after start-up (its request and function logs), prefixed. */
function forwardHostLogs(host: SpawnedHost): void {
  let shown = host.logs().length;
  const timer = setInterval(() => {
    const text = host.logs();
    if (text.length <= shown) return;
    const fresh = text.slice(shown);
    shown = text.length;
    process.stdout.write(fresh.replace(/^(?=.)/gm, '[host] '));
  }, 250);
  timer.unref();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`azauth dev mode: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
