// Reader for the app's identity on one resource group it verifies logins against: ARM GETs of VMs,
// scale sets, user-assigned identities, resource providers and any resource named by resource_id.
targetScope = 'resourceGroup'

@description('Object id of the app\'s managed identity.')
param principalId string

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'azauth verifies workload logins against ARM (vault-azure-auth resource bindings).'
  }
}
