// Workspace-based Application Insights. Local (instrumentation-key) auth is disabled, so telemetry
// is accepted only from the app's identity (Monitoring Metrics Publisher) and the connection
// string alone lets nobody write into it.

@description('Base name of the workspace and the component.')
param name string

@description('Azure region of the resources.')
param location string

@description('Tags applied to the resources.')
param tags object = {}

@description('Object id of the app\'s managed identity, allowed to send telemetry.')
param publisherPrincipalId string

@description('Days the workspace keeps logs, including the audit records in traces.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 90

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${name}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

resource appPublishesTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, publisherPrincipalId, monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: publisherPrincipalId
    principalType: 'ServicePrincipal'
  }
}

@description('Connection string for APPLICATIONINSIGHTS_CONNECTION_STRING (not a credential: local auth is off).')
output connectionString string = insights.properties.ConnectionString

@description('Name of the Application Insights component, for queries.')
output insightsName string = insights.name

@description('Name of the Log Analytics workspace.')
output workspaceName string = workspace.name

@description('Resource id of the Log Analytics workspace (destination of the Key Vault audit events).')
output workspaceId string = workspace.id
