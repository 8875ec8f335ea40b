// azauth on Azure: a Vault-compatible Azure auth method on Azure Functions (Flex Consumption, Linux,
// Node), with no secret anywhere in the pipeline. The app reaches its storage, its Key Vault and
// ARM with a user-assigned managed identity. The encryption key is created once by a principal that
// holds Key Vault Secrets Officer and nothing in azauth; policies, mounts, roles and KV mounts are
// applied through the app's API by a principal that holds nothing in Key Vault: an azauth admin for
// the bootstrap, afterwards a narrow token from an azure mount role (docs/operations.md,
// "Provisioning with a narrow token"). By default both steps run from a pipeline (scripts/*.sh);
// running them as deployment scripts is opt-in, because a deployment script makes Azure create a
// storage account with shared keys.
//
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
//
// See infra/README.md for what the consistency test checks here and what only a deployment (or
// `az deployment group what-if`) can check.
metadata description = 'azauth: serverless, Vault-compatible Azure auth method on Azure Functions Flex Consumption.'

targetScope = 'resourceGroup'

import { configFieldDefaults, kvMount, kvMountConfigDefaults, mount, policy, provisioningLogin, provisioningLoginDefaults, role, roleFieldDefaults } from 'modules/provision.bicep'
import { readerScope } from 'modules/types.bicep'

// ---------------------------------------------------------------------------------------------
// Naming and placement
// ---------------------------------------------------------------------------------------------

@description('Base name of every resource (letters, digits and hyphens). Globally unique names get a suffix derived from the resource group.')
@minLength(3)
@maxLength(20)
param name string = 'azauth'

@description('Region of every resource; Flex Consumption must be offered there.')
param location string = resourceGroup().location

@description('Tags applied to every resource.')
param tags object = {}

// ---------------------------------------------------------------------------------------------
// Who administers azauth (AZAUTH_ADMIN_*)
// ---------------------------------------------------------------------------------------------

@description('AZAUTH_ADMIN_TENANT_ID: Entra tenant that admin tokens come from. Default: the tenant of this deployment.')
param adminTenantId string = tenant().tenantId

@description('AZAUTH_ADMIN_AUDIENCE: exact aud of admin tokens, normally the App ID URI of an app registration made for azauth admins (e.g. api://azauth-admin). The deployment identity must be able to get a token for it (docs/operations.md, "Admin audience").')
@minLength(1)
param adminAudience string

// Required, with no fallback: an empty list used to make whoever ran the deployment the admin,
// silently (issue 10). Name the admins; the pipeline identity that provisions from CI is one only
// until the bootstrap is done (docs/operations.md, "Provisioning with a narrow token").
@description('AZAUTH_ADMIN_PRINCIPAL_IDS: object ids of the azauth admins (users, service principals, managed identities; a group\'s members are not expanded). At least one. The provisioning identity is added when provisionMountsAndRoles is true.')
@minLength(1)
param adminPrincipalIds string[]

// ---------------------------------------------------------------------------------------------
// Login verification
// ---------------------------------------------------------------------------------------------

@description('Scopes (subscriptions or resource groups) whose resources the app verifies logins against through ARM; the app identity gets Reader on each. Only this tenant: other tenants need a mount client_id.')
param verifiedScopes readerScope[] = []

@description('AZURE_TENANT_ID: tenant for mounts whose config has no tenant_id. Empty = none (every mount names its own).')
param fallbackTenantId string = ''

@description('AZURE_AD_RESOURCE: token audience for mounts whose config has no resource. Empty = none.')
param fallbackResource string = ''

@description('AZURE_ENVIRONMENT: cloud for mounts whose config has no environment. Empty = AzurePublicCloud.')
@allowed([
  ''
  'AzurePublicCloud'
  'AzureUSGovernmentCloud'
  'AzureChinaCloud'
])
param fallbackEnvironment string = ''

@description('AZURE_AUTHORITY_HOST: replaces every mount\'s Entra authority (private clouds only). Empty = each mount\'s cloud decides; the setting is then not set at all.')
param authorityHostOverride string = ''

@description('AZAUTH_ARM_ENDPOINT: replaces every mount\'s ARM endpoint (private clouds only). Empty = not set.')
param armEndpointOverride string = ''

@description('AZAUTH_GRAPH_ENDPOINT: replaces every mount\'s Microsoft Graph endpoint (private clouds only). Empty = not set.')
param graphEndpointOverride string = ''

@description('AZAUTH_CLOCK_SKEW: leeway for nbf, iat and exp of Entra tokens (duration).')
param clockSkew string = '60s'

@description('AZAUTH_ARM_CACHE_TTL: how long ARM facts about a resource are trusted (duration). Longer = fewer ARM reads, slower reaction to a detached identity.')
param armCacheTtl string = '60s'

// ---------------------------------------------------------------------------------------------
// Tokens, rotation, requests
// ---------------------------------------------------------------------------------------------

@description('AZAUTH_DEFAULT_TTL: TTL of issued tokens when the role sets none (duration; Vault\'s default 768h).')
param defaultTokenTtl string = '768h'

@description('AZAUTH_MAX_TTL: system maximum token lifetime (duration; Vault\'s default 768h).')
param maxTokenTtl string = '768h'

@description('AZAUTH_ROTATION_SWAP_DELAY: time a new client secret replicates in Entra before rotate-root swaps it in (duration).')
param rotationSwapDelay string = '60s'

@description('AZAUTH_MAX_REQUEST_BYTES: largest request body accepted.')
@minValue(1024)
param maxRequestBytes int = 1048576

// ---------------------------------------------------------------------------------------------
// Hosting
// ---------------------------------------------------------------------------------------------

// 22 by default: Node 20 left community support on 2026-04-30. The app builds and its whole test
// suite passes on Node 22 (issue 10).
@description('Node.js major version of the Functions worker.')
param nodeVersion ('20' | '22') = '22'

// Flex Consumption takes 1 to 1,000 (the former lower bound of 40 was a preview limit). Microsoft
// warns that HTTP apps capped below 40 can see request failures and long throttling when traffic
// exceeds what the instances serve.
@description('Most instances Flex Consumption may run (1-1000; below 40, HTTP bursts beyond capacity fail rather than scale); caps cost and the load on storage and ARM.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per instance in MB (billed per GB-second).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('HTTP requests one instance serves at once before Flex adds an instance.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Days Log Analytics keeps logs, including the audit records.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 90

// Both deployment scripts are opt-in (issue 10): Azure runs a script in a container instance that
// mounts a file share of a storage account it creates with shared keys, which a "storage accounts
// should prevent shared key access" policy denies and which puts an account key into the resource
// group. The default path runs scripts/*.sh from a pipeline instead (docs/operations.md, "Deploy").
@description('Opt-in: create AZAUTH_ENCRYPTION_KEY with a deployment script, run as a key-creation identity (id-<name>-keygen: Key Vault Secrets Officer on this vault, nothing else). Azure creates a shared-key storage account for the script. false (default): create the key with scripts/encryption-key.sh from a pipeline, as a principal in encryptionKeyCreatorPrincipalIds.')
param generateEncryptionKey bool = false

@description('Object ids given Key Vault Secrets Officer on the vault, to create AZAUTH_ENCRYPTION_KEY with scripts/encryption-key.sh. That role can read the key: never a principal that workload pipelines use, and preferably not an azauth admin. The assignment can be removed once the key exists.')
param encryptionKeyCreatorPrincipalIds string[] = []

@description('Azure CLI version of the deployment scripts\' container.')
param azCliVersion string = '2.67.0'

// A root-key rollover (docs/operations.md, "Rolling the encryption key") needs the next key beside
// the current one for a while. Hand-set, AZAUTH_ENCRYPTION_KEY_NEXT would vanish at the next
// deployment (the app settings are replaced whole), and values the app had sealed under it would no
// longer open: so the rollover goes through this parameter.
@description('Name of a second Key Vault secret in this vault holding the next root key, during a root-key rollover only: set, AZAUTH_ENCRYPTION_KEY_NEXT becomes a Key Vault reference to it. Create the secret first (scripts/encryption-key.sh with SECRET_NAME), use a fresh name for each rollover, and clear this once the next key has been promoted. Empty (default): no rollover.')
param encryptionKeyNextSecretName string = ''

// ---------------------------------------------------------------------------------------------
// Policies, mounts, roles and KV mounts (applied through the app's API; the package must be
// published first). By default a pipeline applies them: scripts/provision.sh with the
// provisionInput output.
// ---------------------------------------------------------------------------------------------

@description('ACL policies to write (see modules/provision.bicep for the fields); roles name them in token_policies.')
param policies policy[] = []

@description('Auth mounts to create when missing and configure (see modules/provision.bicep for the fields).')
param mounts mount[] = []

@description('Roles to write.')
param roles role[] = []

@description('KV secrets engines to create when missing, or tune (see modules/provision.bicep). No secret goes through Bicep.')
param kvMounts kvMount[] = []

@description('The narrow provisioning login: an azure mount role bound to principal_ids (and to id-<name>-provision when it exists) whose tokens carry only the provisioning policy derived by scripts/provision.sh. Written by an Entra-admin run (the bootstrap); afterwards provisioning logs in with it. Empty role (default): none.')
param provisionLogin provisioningLogin = {}

@description('Whether id-<name>-provision (provisionMountsAndRoles) is an azauth admin and provisions with its Entra admin token: the bootstrap, and every run that widens the provisioning policy. false once the bootstrap is done: it is then no admin and logs in through provisionLogin, which must name a role.')
param provisionIdentityIsAdmin bool = true

@description('Delete roles of the managed mounts that are not declared in roles.')
param prune bool = false

@description('Opt-in: apply policies, mounts, roles and KV mounts in this deployment with a deployment script, run as a provisioning identity (id-<name>-provision: no Azure role and no Key Vault access; an azauth admin while provisionIdentityIsAdmin, afterwards only the provisioning policy; workload templates reuse it with modules/provision.bicep). The script needs the published package (so not on the first deployment) and Azure creates a shared-key storage account for it. false (default): apply them with scripts/provision.sh from a pipeline, using the provisionInput output.')
param provisionMountsAndRoles bool = false

@description('Changes on every deployment so the provisioning script runs again and repairs drift.')
param provisionRunTag string = utcNow()

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

var suffix = uniqueString(resourceGroup().id, name)
var compactName = take(toLower(replace(name, '-', '')), 9)
var appName = '${name}-${suffix}'
var storageAccountName = 'st${compactName}${suffix}'
var keyVaultName = 'kv${compactName}${suffix}'
var deploymentContainerName = 'app-package'
var encryptionKeySecretName = 'azauth-encryption-key'

// ---------------------------------------------------------------------------------------------
// Identities
// ---------------------------------------------------------------------------------------------

module appIdentity 'modules/identity.bicep' = {
  name: 'azauth-app-identity'
  params: {
    name: 'id-${name}-app'
    location: location
    tags: tags
  }
}

// Runs the key-creation deployment script (opt-in): Key Vault Secrets Officer on this vault, which
// can read the key, so it is no azauth admin, runs nothing else and is not an output that a workload
// template could pick up.
module keyCreatorIdentity 'modules/identity.bicep' = if (generateEncryptionKey) {
  name: 'azauth-keygen-identity'
  params: {
    name: 'id-${name}-keygen'
    location: location
    tags: tags
  }
}

// Runs the provisioning deployment script (opt-in) and, through modules/provision.bicep, workload
// templates' role declarations: no Azure role and no access to the key; an azauth admin only while
// provisionIdentityIsAdmin (the bootstrap), afterwards it logs in through provisionLogin.
module provisionIdentity 'modules/identity.bicep' = if (provisionMountsAndRoles) {
  name: 'azauth-provision-identity'
  params: {
    name: 'id-${name}-provision'
    location: location
    tags: tags
  }
}

// ---------------------------------------------------------------------------------------------
// Storage, secrets, telemetry
// ---------------------------------------------------------------------------------------------

module storage 'modules/storage.bicep' = {
  name: 'azauth-storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    appPrincipalId: appIdentity.outputs.principalId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'azauth-keyvault'
  params: {
    name: keyVaultName
    location: location
    tags: tags
    secretsUserPrincipalId: appIdentity.outputs.principalId
    keyCreatorIdentityPrincipalId: generateEncryptionKey ? keyCreatorIdentity.outputs.principalId : ''
    keyCreatorPrincipalIds: encryptionKeyCreatorPrincipalIds
    encryptionKeySecretName: encryptionKeySecretName
    nextEncryptionKeySecretName: encryptionKeyNextSecretName
    auditWorkspaceId: monitoring.outputs.workspaceId
  }
}

module encryptionKey 'modules/encryption-key.bicep' = if (generateEncryptionKey) {
  name: 'azauth-encryption-key'
  params: {
    location: location
    tags: tags
    keyVaultName: keyVault.outputs.name
    secretName: encryptionKeySecretName
    keyCreatorIdentityId: keyCreatorIdentity.outputs.id
    azCliVersion: azCliVersion
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'azauth-monitoring'
  params: {
    name: name
    location: location
    tags: tags
    publisherPrincipalId: appIdentity.outputs.principalId
    retentionInDays: logRetentionInDays
  }
}

// ---------------------------------------------------------------------------------------------
// Reader on the verified scopes (ARM verification of logins)
// ---------------------------------------------------------------------------------------------

module readerOnSubscriptions 'modules/rbac-reader-subscription.bicep' = [
  for verified in filter(verifiedScopes, s => empty(s.?resourceGroupName ?? '')): {
    name: 'azauth-reader-${uniqueString(verified.subscriptionId)}'
    scope: subscription(verified.subscriptionId)
    params: {
      principalId: appIdentity.outputs.principalId
    }
  }
]

module readerOnResourceGroups 'modules/rbac-reader.bicep' = [
  for verified in filter(verifiedScopes, s => !empty(s.?resourceGroupName ?? '')): {
    name: 'azauth-reader-${uniqueString(verified.subscriptionId, verified.?resourceGroupName ?? '')}'
    scope: resourceGroup(verified.subscriptionId, verified.?resourceGroupName ?? '')
    params: {
      principalId: appIdentity.outputs.principalId
    }
  }
]

// ---------------------------------------------------------------------------------------------
// App settings: every setting the app reads (shared/settings.ts) and the platform's own. The
// consistency test parses this object: keep one setting per line.
// ---------------------------------------------------------------------------------------------

// The provisioning identity is root only for the bootstrap; afterwards it logs in through
// provisionLogin and holds the provisioning policy alone.
var adminPrincipals = union(adminPrincipalIds, provisionMountsAndRoles && provisionIdentityIsAdmin ? [provisionIdentity.outputs.principalId] : [])

var appSettings = union(
  {
    // Platform: identity-based AzureWebJobsStorage for the Functions host (shared keys are off).
    AzureWebJobsStorage__accountName: storage.outputs.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: appIdentity.outputs.clientId
    // Read by the app's table client; explicit so it never has to guess the cloud's suffix.
    AzureWebJobsStorage__tableServiceUri: storage.outputs.tableServiceUri
    // Platform: telemetry, accepted only from the app identity.
    APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${appIdentity.outputs.clientId}'
    AZAUTH_ENCRYPTION_KEY: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.encryptionKeySecretUri})'
    AZAUTH_ADMIN_TENANT_ID: adminTenantId
    AZAUTH_ADMIN_AUDIENCE: adminAudience
    AZAUTH_ADMIN_PRINCIPAL_IDS: join(adminPrincipals, ',')
    AZAUTH_MANAGED_IDENTITY_CLIENT_ID: appIdentity.outputs.clientId
    AZURE_TENANT_ID: fallbackTenantId
    AZURE_AD_RESOURCE: fallbackResource
    AZURE_ENVIRONMENT: fallbackEnvironment
    AZAUTH_DEFAULT_TTL: defaultTokenTtl
    AZAUTH_MAX_TTL: maxTokenTtl
    AZAUTH_CLOCK_SKEW: clockSkew
    AZAUTH_ARM_CACHE_TTL: armCacheTtl
    AZAUTH_ROTATION_SWAP_DELAY: rotationSwapDelay
    AZAUTH_MAX_REQUEST_BYTES: string(maxRequestBytes)
    // Deadlines well under host.json's functionTimeout (60 s): one storage call, one request.
    AZAUTH_STORAGE_TIMEOUT: '10s'
    AZAUTH_REQUEST_TIMEOUT: '45s'
  },
  // Endpoint overrides are absent unless given: present, they would pin every mount to one cloud.
  empty(authorityHostOverride) ? {} : { AZURE_AUTHORITY_HOST: authorityHostOverride },
  empty(armEndpointOverride) ? {} : { AZAUTH_ARM_ENDPOINT: armEndpointOverride },
  empty(graphEndpointOverride) ? {} : { AZAUTH_GRAPH_ENDPOINT: graphEndpointOverride },
  // During a root-key rollover only: the next key, a second Key Vault reference beside the current one.
  empty(encryptionKeyNextSecretName) ? {} : { AZAUTH_ENCRYPTION_KEY_NEXT: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.nextEncryptionKeySecretUri})' }
)

// ---------------------------------------------------------------------------------------------
// The function app
// ---------------------------------------------------------------------------------------------

module functionApp 'modules/functionapp.bicep' = {
  name: 'azauth-functionapp'
  params: {
    name: appName
    planName: 'plan-${name}-${suffix}'
    location: location
    tags: tags
    identityId: appIdentity.outputs.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appSettings: appSettings
    nodeVersion: nodeVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
  }
  // The Key Vault reference resolves when the app starts, so the secret must exist by then. The
  // storage, Key Vault and monitoring modules (with their role assignments) are dependencies
  // already, through the outputs appSettings uses.
  dependsOn: [
    encryptionKey
  ]
}

var vaultAddr = 'https://${functionApp.outputs.defaultHostName}'

// The provisioning login with the provisioning identity bound to its role when that identity exists.
var login = union(provisionLogin, {
  principal_ids: union(provisionLogin.?principal_ids ?? [], provisionMountsAndRoles ? [provisionIdentity.outputs.principalId] : [])
})

// Exactly what modules/provision.bicep gives its script (the consistency tests compare the two), so
// a pipeline running scripts/provision.sh with the provisionInput output applies the same state.
var loginSettings = union(provisioningLoginDefaults, login)

var loginRoles = empty(loginSettings.role) ? [] : [
  {
    mount: loginSettings.mount
    name: loginSettings.role
    bound_service_principal_ids: loginSettings.principal_ids
    token_policies: [loginSettings.policy]
    token_ttl: loginSettings.token_ttl
    token_max_ttl: loginSettings.token_ttl
  }
]

var desiredLogin = empty(loginSettings.role) ? {} : {
  mount: loginSettings.mount
  role: loginSettings.role
  policy: loginSettings.policy
  resource: loginSettings.resource
}

var desiredMounts = map(mounts, declared => {
  path: declared.path
  description: declared.?description ?? ''
  config: union(configFieldDefaults, declared.config)
})

var desiredRoles = map(concat(roles, loginRoles), declared => union(roleFieldDefaults, declared))

var desiredKvMounts = map(kvMounts, declared => {
  path: declared.path
  description: declared.?description ?? ''
  options: declared.options
  config: union(kvMountConfigDefaults, declared.?config ?? {})
})

// Parameters only (no module output), so the condition is known when the deployment starts.
var declaresSomething = !empty(mounts) || !empty(roles) || !empty(policies) || !empty(kvMounts) || !empty(provisionLogin.?role ?? '')

module provision 'modules/provision.bicep' = if (provisionMountsAndRoles && declaresSomething) {
  name: 'azauth-provision'
  params: {
    location: location
    tags: tags
    vaultAddr: vaultAddr
    adminAudience: adminAudience
    adminIdentityId: provisionIdentity.outputs.id
    auth: provisionIdentityIsAdmin ? 'admin' : 'login'
    login: login
    policies: policies
    mounts: mounts
    roles: roles
    kvMounts: kvMounts
    prune: prune
    runTag: provisionRunTag
    azCliVersion: azCliVersion
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------

@description('Use as VAULT_ADDR. The API is under /v1 of this origin, as Vault\'s is, so VAULT_ADDR has no path.')
output vaultAddr string = vaultAddr

@description('Object id of the app\'s managed identity: grant it Reader where it verifies logins outside verifiedScopes.')
output identityPrincipalId string = appIdentity.outputs.principalId

@description('Client id of the app\'s managed identity.')
output identityClientId string = appIdentity.outputs.clientId

@description('Object id of the provisioning identity (no Azure role; an azauth admin while provisionIdentityIsAdmin); empty unless provisionMountsAndRoles is true.')
output provisionIdentityPrincipalId string = provisionMountsAndRoles ? provisionIdentity.outputs.principalId : ''

@description('Resource id of the provisioning identity, the adminIdentityId of modules/provision.bicep in workload templates; empty unless provisionMountsAndRoles is true.')
output provisionIdentityId string = provisionMountsAndRoles ? provisionIdentity.outputs.id : ''

@description('Name of the function app (for az functionapp deployment source config-zip).')
output functionAppName string = functionApp.outputs.name

@description('Resource id of the function app (for the Key Vault reference refresh after the key is created or changed).')
output functionAppId string = functionApp.outputs.id

@description('Name of the Key Vault holding AZAUTH_ENCRYPTION_KEY (KEY_VAULT_NAME of scripts/encryption-key.sh).')
output keyVaultName string = keyVault.outputs.name

@description('Name of the secret holding AZAUTH_ENCRYPTION_KEY (SECRET_NAME of scripts/encryption-key.sh).')
output encryptionKeySecretName string = encryptionKeySecretName

@description('Name of the Application Insights component that receives the audit log.')
output applicationInsightsName string = monitoring.outputs.insightsName

@description('What the provisioning script did, when it ran.')
output provisionSummary object = provisionMountsAndRoles && declaresSomething ? provision.outputs.summary : {}

@description('The environment of scripts/provision.sh for applying policies, mounts, roles and KV mounts from a pipeline (docs/operations.md, "Deploy"): the same values the provisioning deployment script gets, except how it authenticates (AZAUTH_PROVISION_AUTH, the pipeline\'s choice). No secret: client_secret is not a field of the mount type and KV mounts carry no data.')
output provisionInput object = {
  VAULT_ADDR: vaultAddr
  AZAUTH_ADMIN_AUDIENCE: adminAudience
  AZAUTH_POLICIES: string(policies)
  AZAUTH_MOUNTS: string(desiredMounts)
  AZAUTH_ROLES: string(desiredRoles)
  AZAUTH_KV_MOUNTS: string(desiredKvMounts)
  AZAUTH_PROVISION_LOGIN: string(desiredLogin)
  AZAUTH_PRUNE: prune ? 'true' : 'false'
}
