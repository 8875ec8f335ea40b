// Types shared by main.bicep and its modules.

@export()
@description('A scope the app verifies logins against, where its identity gets Reader: a whole subscription, or one resource group in it.')
type readerScope = {
  @description('Subscription id (GUID).')
  subscriptionId: string

  @description('Resource group name in that subscription; omit for the whole subscription.')
  resourceGroupName: string?
}
