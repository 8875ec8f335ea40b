// The Function App on the Flex Consumption plan (Linux). Flex has no FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE or content-share settings: the runtime and
// the deployment container are declared in functionAppConfig instead. Several site properties of the
// other plans are rejected on Flex ("Flex Consumption plan deprecations" in the Functions app
// settings reference): siteConfig.ftpsState fails the deployment with ARM error 51021, so it is not
// set; FTP is off anyway, because the ftp publishing-credential policy below allows no FTP login.
// test/infra/flex-site.test.ts lists the properties that must not appear here.

@description('Name of the function app; its host name is <name>.azurewebsites.net, so it is globally unique.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region; Flex Consumption must be offered there.')
param location string

@description('Tags applied to the plan and the app.')
param tags object = {}

@description('Resource id of the app\'s user-assigned identity (storage, Key Vault reference, ARM).')
param identityId string

@description('Blob endpoint of the storage account, with trailing slash.')
param storageBlobEndpoint string

@description('Container the deployment package is uploaded to.')
param deploymentContainerName string

@description('App settings: name to value. Every name here is checked by test/infra/consistency.test.ts.')
param appSettings object

@description('Node.js major version of the worker.')
param nodeVersion ('20' | '22')

@description('Upper bound of instances the platform may scale out to (Flex Consumption: 1 to 1000).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Concurrent HTTP requests each instance takes before the platform adds another.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with this identity rather than a system-assigned one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      appSettings: [
        for setting in items(appSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

// Publishing goes through Entra ID (az functionapp deployment / func publish); no FTP or SCM
// username and password exist to leak. `location` is not in these child resources' published schema
// (Bicep may warn), but some API versions answer "location has an invalid value" without it; with it
// the deployment succeeds either way.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  location: location
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  location: location
  properties: {
    allow: false
  }
}

@description('Name of the function app.')
output name string = site.name

@description('Default host name, e.g. azauth-abc123.azurewebsites.net.')
output defaultHostName string = site.properties.defaultHostName
