// The app's storage account: the Functions host's own state (keys, timer leases) in blobs and
// queues, azauth's state in tables, and the deployment package in a blob container. Shared keys
// are disabled, so every client, the host included, authenticates with Entra ID. A CanNotDelete
// lock keeps the account (and so all state) from being deleted by accident.

@description('Storage account name: 3-24 lower-case letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags applied to the account.')
param tags object = {}

@description('Blob container that Flex Consumption deploys the app package into.')
param deploymentContainerName string

@description('Object id of the app\'s managed identity, granted data access to blobs, queues and tables.')
param appPrincipalId string

// Built-in role definition ids (the same in every tenant).
var dataRoles = {
  // Functions host: keys, timer and singleton leases, deployment package.
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Functions host: internal queues (recommended for every identity-based AzureWebJobsStorage).
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // azauth: mounts, configs, roles, tokens (tables are created on first use).
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// The account holds all of azauth's state: mounts, configs (sealed client secrets), roles, tokens and
// the sealed server keys. Deleting it loses every issued token and mount, so it cannot be deleted
// (nor can its resource group) until this lock is removed on purpose. Data operations are not
// affected. Creating a lock needs Microsoft.Authorization/locks/* (Owner or User Access
// Administrator).
resource keepState 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'azauth-state'
  scope: account
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds all azauth state (mounts, roles, tokens, sealed secrets). Remove this lock only to delete azauth on purpose.'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource dataRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for dataRole in items(dataRoles): {
    name: guid(account.id, appPrincipalId, dataRole.value)
    scope: account
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataRole.value)
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

@description('Name of the storage account.')
output name string = account.name

@description('Blob endpoint, with its trailing slash.')
output blobEndpoint string = account.properties.primaryEndpoints.blob

// Built from the cloud's storage suffix rather than primaryEndpoints.table, whose trailing slash
// would end up inside table URLs.
@description('Table service URI without a trailing slash, as AzureWebJobsStorage__tableServiceUri expects.')
output tableServiceUri string = 'https://${account.name}.table.${environment().suffixes.storage}'

@description('Name of the deployment package container (created here, so the app can reference it).')
output deploymentContainerName string = deploymentContainer.name
