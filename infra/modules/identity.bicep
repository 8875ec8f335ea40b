// A user-assigned managed identity. The app uses one (rather than a system-assigned identity) so
// that role assignments and the Key Vault reference can be granted before the app itself exists.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id of the identity (for identity blocks and keyVaultReferenceIdentity).')
output id string = identity.id

@description('Object (principal) id of the identity, for role assignments and admin lists.')
output principalId string = identity.properties.principalId

@description('Client (application) id of the identity, which token requests name.')
output clientId string = identity.properties.clientId
