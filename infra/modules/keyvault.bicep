// Key Vault in RBAC mode holding AZAUTH_ENCRYPTION_KEY. The app reads the secret only through a
// Key Vault reference resolved by the platform with the app's identity (Key Vault Secrets User).
// Whoever creates the key gets Key Vault Secrets Officer, which can read it too: the key-creation
// identity of encryption-key.bicep (opt-in) and the principals named for scripts/encryption-key.sh.
// None of them is the provisioning identity or otherwise an identity workload pipelines run as.

@description('Key Vault name: 3-24 letters, digits and hyphens, starting with a letter, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Tags applied to the vault.')
param tags object = {}

@description('Object id of the app\'s managed identity, which reads the secret through the Key Vault reference.')
param secretsUserPrincipalId string

@description('Object id of the managed identity that creates the secret in a deployment script (encryption-key.bicep); empty = none.')
param keyCreatorIdentityPrincipalId string = ''

@description('Object ids of principals that create the secret from a pipeline (scripts/encryption-key.sh). Never a principal that workload pipelines use: Key Vault Secrets Officer can read the key.')
param keyCreatorPrincipalIds string[] = []

@description('Name of the secret that holds the base64 of the 32-byte encryption key.')
param encryptionKeySecretName string

@description('Name of a second secret holding the next root key during a root-key rollover (AZAUTH_ENCRYPTION_KEY_NEXT); empty = none.')
param nextEncryptionKeySecretName string = ''

@description('Resource id of the Log Analytics workspace that receives the vault\'s audit events (every read and write of the key).')
param auditWorkspaceId string

@description('Days a deleted vault or secret stays recoverable (7-90). Purge protection is always on: losing the key loses every stored client secret.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource appReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, secretsUserPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: secretsUserPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// No built-in role can write a secret without reading it: Key Vault Secrets Officer is the narrowest.
resource keyCreatorIdentityWritesSecret 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyCreatorIdentityPrincipalId)) {
  name: guid(vault.id, keyCreatorIdentityPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: keyCreatorIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// union() drops duplicates, which would otherwise be two role assignments of the same name.
resource keyCreatorsWriteSecret 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for creator in union(keyCreatorPrincipalIds, []): {
    name: guid(vault.id, creator, keyVaultSecretsOfficer)
    scope: vault
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
      // No principalType: a pipeline's service principal, a user or a group.
      principalId: creator
    }
  }
]

// Every access to the vault (AuditEvent: the platform resolving the Key Vault reference, anyone
// reading or writing the secret, denied attempts) goes to the workspace that also holds azauth's
// own audit log. The default AzureDiagnostics table: Key Vault's category is the same either way.
resource auditToWorkspace 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'azauth-keyvault-audit'
  scope: vault
  properties: {
    workspaceId: auditWorkspaceId
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
  }
}

@description('Name of the vault.')
output name string = vault.name

// Versionless, so the reference follows the secret's current version.
@description('Versionless URI of the encryption key secret, for the Key Vault reference.')
output encryptionKeySecretUri string = '${vault.properties.vaultUri}secrets/${encryptionKeySecretName}/'

// The same for the next key of a rollover. The app identity's Secrets User assignment is on the
// vault, so it reads this secret too.
@description('Versionless URI of the next root key\'s secret during a rollover; empty when none is named.')
output nextEncryptionKeySecretUri string = empty(nextEncryptionKeySecretName) ? '' : '${vault.properties.vaultUri}secrets/${nextEncryptionKeySecretName}/'
