// azauth on Azure: a Vault-compatible Azure auth method on Azure Functions (Flex Consumption, Linux,
// Node), with no secret anywhere in the pipeline. The app reaches its storage, its Key Vault and
// ARM with a user-assigned managed identity; its encryption key is generated inside Azure; mounts
// and roles are applied through the app's API by a deployment identity that is an admin of it.
//
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
//
// See infra/README.md for what the consistency test checks here and what only a deployment (or
// `az deployment group what-if`) can check.
metadata description = 'azauth: serverless, Vault-compatible Azure auth method on Azure Functions Flex Consumption.'

targetScope = 'resourceGroup'

import { mount, role } from 'modules/provision.bicep'
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

@description('AZAUTH_ADMIN_PRINCIPAL_IDS: object ids of admin users, groups\' members are not expanded. Empty = the principal running this deployment. The deployment identity is always added.')
param adminPrincipalIds string[] = []

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

@description('Node.js major version of the Functions worker.')
param nodeVersion ('20' | '22') = '20'

@description('Most instances Flex Consumption may run (40-1000); caps cost and the load on storage and ARM.')
@minValue(40)
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

@description('Create AZAUTH_ENCRYPTION_KEY in Key Vault when it is missing (a deployment script; needs the resource group to allow the script\'s temporary storage account). false = you put the secret there yourself before the app stores a client secret.')
param generateEncryptionKey bool = true

@description('Azure CLI version of the deployment scripts\' container.')
param azCliVersion string = '2.67.0'

// ---------------------------------------------------------------------------------------------
// Mounts and roles (applied through the app's API; the package must be published first)
// ---------------------------------------------------------------------------------------------

@description('Auth mounts to create when missing and configure (see modules/provision.bicep for the fields).')
param mounts mount[] = []

@description('Roles to write.')
param roles role[] = []

@description('Delete roles of the managed mounts that are not declared in roles.')
param prune bool = false

@description('Apply mounts and roles in this deployment. Set false for the very first deployment, before the package is published: the script needs a running app.')
param provisionMountsAndRoles bool = true

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

// Runs the deployment scripts: creates the encryption key once, and is an azauth admin so it can
// apply mounts and roles. It has no other Azure permission.
module deploymentIdentity 'modules/identity.bicep' = {
  name: 'azauth-deployment-identity'
  params: {
    name: 'id-${name}-deploy'
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
    secretsOfficerPrincipalId: deploymentIdentity.outputs.principalId
    encryptionKeySecretName: encryptionKeySecretName
  }
}

module encryptionKey 'modules/encryption-key.bicep' = if (generateEncryptionKey) {
  name: 'azauth-encryption-key'
  params: {
    location: location
    tags: tags
    keyVaultName: keyVault.outputs.name
    secretName: encryptionKeySecretName
    deploymentIdentityId: deploymentIdentity.outputs.id
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

var adminPrincipals = union(empty(adminPrincipalIds) ? [deployer().objectId] : adminPrincipalIds, [deploymentIdentity.outputs.principalId])

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
  empty(graphEndpointOverride) ? {} : { AZAUTH_GRAPH_ENDPOINT: graphEndpointOverride }
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

module provision 'modules/provision.bicep' = if (provisionMountsAndRoles && (!empty(mounts) || !empty(roles))) {
  name: 'azauth-provision'
  params: {
    location: location
    tags: tags
    vaultAddr: vaultAddr
    adminAudience: adminAudience
    adminIdentityId: deploymentIdentity.outputs.id
    mounts: mounts
    roles: roles
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

@description('Object id of the deployment identity (an azauth admin; reuse it with modules/provision.bicep from workload templates).')
output deploymentIdentityPrincipalId string = deploymentIdentity.outputs.principalId

@description('Resource id of the deployment identity, the adminIdentityId of modules/provision.bicep.')
output deploymentIdentityId string = deploymentIdentity.outputs.id

@description('Name of the function app (for az functionapp deployment source config-zip).')
output functionAppName string = functionApp.outputs.name

@description('Name of the Key Vault holding AZAUTH_ENCRYPTION_KEY.')
output keyVaultName string = keyVault.outputs.name

@description('Name of the Application Insights component that receives the audit log.')
output applicationInsightsName string = monitoring.outputs.insightsName

@description('What the provisioning script did, when it ran.')
output provisionSummary object = provisionMountsAndRoles && (!empty(mounts) || !empty(roles)) ? provision.outputs.summary : {}
