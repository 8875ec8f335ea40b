// Example parameters. Copy, replace the ids, then deploy in one pass:
//   az deployment group create -g rg-azauth -n azauth -f infra/main.bicep -p infra/main.bicepparam
// This runs no deployment script. The encryption key, the package, and the policies, mounts, roles
// and KV mounts below then come from a pipeline: scripts/encryption-key.sh, the package upload,
// scripts/provision.sh with the deployment's provisionInput output (docs/operations.md, "Deploy",
// or infra/README.md).
using 'main.bicep'

param name = 'azauth'

// App ID URI of the app registration made for azauth admins (docs/operations.md, "Admin audience").
param adminAudience = 'api://azauth-admin-contoso'

// Object ids of the azauth admins (root): at least one, nobody becomes admin by running the
// deployment. The pipeline identity that provisions is one only for the bootstrap, until its narrow
// login (provisionLogin below) exists (docs/operations.md, "Provisioning with a narrow token").
param adminPrincipalIds = [
  '55555555-5555-5555-5555-555555555555'
]

// The app's identity gets Reader here, to verify VM and scale-set logins through ARM.
param verifiedScopes = [
  {
    subscriptionId: '00000000-0000-0000-0000-000000000001'
  }
  {
    subscriptionId: '00000000-0000-0000-0000-000000000002'
    resourceGroupName: 'rg-workloads'
  }
]

// ACL policies; roles attach them with token_policies. HCL in a multi-line string.
param policies = [
  {
    name: 'web'
    policy: '''
# The web role's workloads read their own secrets and list their keys, nothing else.
path "kv/data/web/*" {
  capabilities = ["read"]
}
path "kv/metadata/web/*" {
  capabilities = ["list"]
}
'''
  }
]

param mounts = [
  {
    // The default mount exists from the first start; this gives it its config.
    path: 'azure'
    config: {
      tenant_id: '11111111-1111-1111-1111-111111111111'
      resource: 'https://management.azure.com/'
    }
  }
  {
    // A second tenant gets its own mount, with an application registered in that tenant.
    path: 'fabrikam'
    description: 'Workloads of the Fabrikam tenant'
    config: {
      tenant_id: '22222222-2222-2222-2222-222222222222'
      resource: 'https://management.azure.com/'
      client_id: '33333333-3333-3333-3333-333333333333'
    }
  }
]

param roles = [
  {
    mount: 'azure'
    name: 'web'
    bound_subscription_ids: ['00000000-0000-0000-0000-000000000002']
    bound_resource_groups: ['rg-workloads']
    resource_verification: 'claims'
    token_policies: ['web']
    token_ttl: '1h'
    token_max_ttl: '4h'
  }
  {
    mount: 'azure'
    name: 'batch-jobs'
    bound_service_principal_ids: ['44444444-4444-4444-4444-444444444444']
    token_type: 'batch'
    token_ttl: '15m'
  }
]

// KV secrets engines. Their secrets are written through the API by whoever holds a policy for them,
// never through Bicep.
param kvMounts = [
  {
    path: 'kv'
    description: 'Application secrets'
    options: {
      version: '2'
    }
  }
]

param prune = false

// Least-privilege provisioning (docs/operations.md, "Provisioning with a narrow token"): the first
// run of scripts/provision.sh is made by an admin and writes the role azure/azauth-provision, bound
// to this pipeline identity, and its policy, derived from the declarations above. From then on the
// pipeline runs the script with AZAUTH_PROVISION_AUTH=login and is not in adminPrincipalIds.
param provisionLogin = {
  role: 'azauth-provision'
  principal_ids: [
    '77777777-7777-7777-7777-777777777777'
  ]
}

// Who creates AZAUTH_ENCRYPTION_KEY with scripts/encryption-key.sh (gets Key Vault Secrets Officer):
// the platform pipeline's identity, never one that workload pipelines use.
param encryptionKeyCreatorPrincipalIds = [
  '66666666-6666-6666-6666-666666666666'
]

// Both deployment scripts stay off (their defaults): each would make Azure create a storage account
// with shared keys, and provisioning would wait for an app that has no package yet.
param generateEncryptionKey = false
param provisionMountsAndRoles = false
