/**
 * Dev-mode extension: seeds the emulated demo subscription with a VM and a scale set, and prints the
 * workload's side of the workflow: the demo VM asks its own (emulated) IMDS for its managed-identity
 * token, exactly as a workload on an Azure VM does, logs in with it, reads its secret, and is denied
 * the neighbouring path.
 */
import type { DevModeContext, DevModeExtension } from './devmode-extensions';

export const DEMO_RESOURCE_GROUP = 'demo-rg';
export const DEMO_VM = 'demo-vm';
export const DEMO_SCALE_SET = 'demo-vmss';
const DEMO_LOCATION = 'westeurope';

/** The line a test (or a person) runs; it starts with this so it can be picked out of the output. */
export const DEMO_LOGIN_PREFIX = 'JWT=$(curl -s -H Metadata:true';

export const demoLogin: DevModeExtension = async (ctx: DevModeContext) => {
  const { arm } = ctx.emulator;
  const scope = { subscriptionId: ctx.demoSubscriptionId, resourceGroup: DEMO_RESOURCE_GROUP, location: DEMO_LOCATION };
  const vm = arm.addVm({ ...scope, name: DEMO_VM, systemAssigned: true });
  const scaleSet = arm.addScaleSet({ ...scope, name: DEMO_SCALE_SET, orchestration: 'Uniform', systemAssigned: true, instances: 2 });
  const imds = await ctx.emulator.imdsFor(vm.id);
  const tokenUrl = `${imds}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(ctx.demoResource)}`;
  // JSON inside a double-quoted shell word: quotes escaped, the token left to the shell as $JWT.
  const body = JSON.stringify({
    role: ctx.demoRole,
    jwt: '__JWT__',
    subscription_id: ctx.demoSubscriptionId,
    resource_group_name: DEMO_RESOURCE_GROUP,
    vm_name: DEMO_VM,
  })
    .replace(/"/g, '\\"')
    .replace('__JWT__', '$JWT');
  const loginCall = `curl -s -X PUT -d "${body}" "$VAULT_ADDR/v1/auth/azure/login"`;
  const login = `${DEMO_LOGIN_PREFIX} "${tokenUrl}" | sed -E 's/.*"access_token":"([^"]+)".*/\\1/'); ${loginCall}`;
  const keepToken = `VM_TOKEN=$(${loginCall} | sed -E 's/.*"client_token":"([^"]+)".*/\\1/')`;
  return [
    `Demo workloads in subscription ${ctx.demoSubscriptionId}, resource group ${DEMO_RESOURCE_GROUP}:`,
    `  VM ${DEMO_VM} (system-assigned identity ${vm.principalId ?? ''}), its IMDS at ${imds}`,
    `  uniform scale set ${DEMO_SCALE_SET} with instances ${scaleSet.instances.map((i) => i.name).join(', ')}`,
    '',
    '4. On the demo VM: its IMDS token logs it in; the answer\'s auth.client_token is its Vault token (role demo:',
    '   bound to the subscription, proven through ARM).',
    '',
    `    ${login}`,
    '',
    '   Keep the token for the next steps:',
    '',
    `    ${keepToken}`,
    '',
    '5. The VM reads its secret:',
    '',
    `    curl -s -H "X-Vault-Token: $VM_TOKEN" "$VAULT_ADDR/v1/${ctx.demoSecretPath}"`,
    '',
    '6. and nothing else: the neighbouring path is denied (403 permission denied).',
    '',
    '    curl -s -H "X-Vault-Token: $VM_TOKEN" "$VAULT_ADDR/v1/secret/data/billing/db"',
  ];
};
