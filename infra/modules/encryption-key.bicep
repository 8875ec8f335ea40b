// Creates AZAUTH_ENCRYPTION_KEY once: 32 bytes from the script container's CSPRNG, written straight
// to Key Vault by the key-creation identity, so the key never passes through the pipeline, a
// parameter or deployment history. Opt-in (main.bicep's generateEncryptionKey): a deployment script
// makes Azure create a storage account with shared keys for the script's container. The default is
// to run the same scripts/encryption-key.sh from a pipeline (docs/operations.md, "Deploy"). Later deployments keep the existing key (and recover a
// soft-deleted one rather than minting a new key that could not open what the old one sealed).
// Values derived in Bicep (guid(), uniqueString()) are not an option: they are predictable hashes
// of deployment inputs, not 256 random bits.

@description('Azure region where the deployment script runs.')
param location string

@description('Tags applied to the deployment script.')
param tags object = {}

@description('Name of the Key Vault that holds the key.')
param keyVaultName string

@description('Name of the secret that holds the key.')
param secretName string

@description('Resource id of the user-assigned identity the script runs as: Key Vault Secrets Officer on the vault, and nothing else (not an azauth admin).')
param keyCreatorIdentityId string

@description('Azure CLI version of the script container.')
param azCliVersion string

resource createKeyOnce 'Microsoft.Resources/deploymentScripts@2023-08-01' = {
  name: 'azauth-encryption-key-${uniqueString(resourceGroup().id, keyVaultName, secretName)}'
  location: location
  tags: tags
  kind: 'AzureCLI'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${keyCreatorIdentityId}': {}
    }
  }
  properties: {
    azCliVersion: azCliVersion
    scriptContent: loadTextContent('../scripts/encryption-key.sh')
    environmentVariables: [
      {
        name: 'KEY_VAULT_NAME'
        value: keyVaultName
      }
      {
        name: 'SECRET_NAME'
        value: secretName
      }
    ]
    // No forceUpdateTag: the script runs when the resource is created or changed, and again once
    // the resource has expired after retentionInterval; each run is idempotent.
    retentionInterval: 'PT1H'
    cleanupPreference: 'OnSuccess'
    timeout: 'PT15M'
  }
}

@description('What the script did: created, kept or recovered.')
output outcome string = createKeyOnce.properties.outputs.outcome
