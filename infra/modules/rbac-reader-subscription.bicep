// Reader for the app's identity on a whole subscription it verifies logins against. A
// subscription-scope role assignment has to be made by a deployment at subscription scope, hence
// this separate module (main.bicep deploys it with scope: subscription(id)).
targetScope = 'subscription'

@description('Object id of the app\'s managed identity.')
param principalId string

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'azauth verifies workload logins against ARM (vault-azure-auth resource bindings).'
  }
}
