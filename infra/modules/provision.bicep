// Declares azauth policies, auth mounts, roles and KV mounts next to the workloads they admit, and
// applies them through the app's own Vault HTTP API (sys/policies/acl, sys/auth, auth/<path>/config,
// auth/<mount>/role/<name>, sys/mounts) from a deployment script, signed in as a user-assigned
// managed identity: no secret exists anywhere. The script authenticates either as an azauth admin
// (auth 'admin': the identity is in AZAUTH_ADMIN_PRINCIPAL_IDS and asks Entra for a token for
// AZAUTH_ADMIN_AUDIENCE: the bootstrap) or, once the bootstrap is done, through the narrow
// provisioning login (auth 'login': an azure mount role bound to the identity, whose token carries
// only the provisioning policy; docs/operations.md, "Provisioning with a narrow token"). Usable from
// main.bicep or from any workload's Bicep file in the same tenant. Every use runs a deployment
// script, for which Azure creates a storage account with shared keys: where policy forbids that,
// run scripts/provision.sh from a pipeline instead, with the same input (main.bicep's
// provisionInput output).
//
// Property names of the types below are the API's field names (test/infra/consistency.test.ts
// checks them against the app's request schemas), so a mount, role, policy or KV mount reads as the
// JSON the API takes. Durations are strings in Vault's syntax ('90s', '1h', '2d') because Bicep
// types cannot say "int or string". Nothing here carries a secret: no client_secret, no KV data.

@export()
@description('The clouds the config API accepts (matched case-insensitively by the app).')
type cloudName = 'AzurePublicCloud' | 'AzureUSGovernmentCloud' | 'AzureChinaCloud'

@export()
@description('Body of POST auth/<path>/config. client_secret is deliberately not a field here: it would be a secret in the pipeline and would undo rotate-root on every deployment. A mount that needs one gets it once through the API (see docs/operations.md).')
type mountConfig = {
  @description('Entra tenant id whose tokens this mount accepts.')
  tenant_id: string

  @description('Exact audience (aud) of login tokens, trailing slash included, e.g. https://management.azure.com/.')
  resource: string

  @description('Cloud of the tenant; omitted = AZURE_ENVIRONMENT app setting, else the public cloud.')
  environment: cloudName?

  @description('Application (client) id the mount uses for ARM and Graph; omitted = the function app\'s own managed identity.')
  client_id: string?

  @description('Audience of the app\'s managed-identity token used as client assertion for client_id (workload identity federation).')
  identity_token_audience: string?

  @description('Lifetime requested for that assertion (duration).')
  identity_token_ttl: string?

  @description('ARM retries (default 3).')
  max_retries: int?

  @description('First ARM retry delay (duration, default 4s).')
  retry_delay: string?

  @description('Longest ARM retry delay (duration, default 60s).')
  max_retry_delay: string?

  @description('Lifetime of a client secret created by rotate-root (duration, default 4380h).')
  root_password_ttl: string?

  @description('5-field cron (UTC) for automated rotation of the client secret.')
  rotation_schedule: string?

  @description('How long after a missed scheduled time a rotation may still run (duration, 0 or at least 1h).')
  rotation_window: string?

  @description('Rotate the client secret this long after the last rotation (duration).')
  rotation_period: string?

  @description('Stop automated rotation.')
  disable_automated_rotation: bool?

  @description('Stored and echoed, as Vault does.')
  rotation_policy: string?
}

@export()
@description('An auth mount: POST sys/auth/<path> (type azure) when missing, then its config.')
type mount = {
  @description('Mount path, one segment of letters, digits, _ - and . (the API lives at /v1/auth/<path>/).')
  path: string

  @description('Description listed by GET sys/auth; used only when the mount is created.')
  description: string?

  @description('The mount\'s config.')
  config: mountConfig
}

@export()
@description('A role: POST auth/<mount>/role/<name>. Every field left out is written as its default, so the deployment sets the whole role.')
type role = {
  @description('Path of the mount the role belongs to (declared in mounts, or existing such as azure).')
  mount: string

  @description('Role name (case-insensitive; letters, digits, _ - .).')
  name: string

  @description('Object ids allowed to log in; ["*"] = any.')
  bound_service_principal_ids: string[]?

  @description('Group object ids, one of which the token\'s groups claim must hold; ["*"] = any.')
  bound_group_ids: string[]?

  @description('Subscriptions the caller\'s resource must be in.')
  bound_subscription_ids: string[]?

  @description('Resource groups the caller\'s resource must be in.')
  bound_resource_groups: string[]?

  @description('Regions the caller\'s resource must be in (checked through ARM).')
  bound_locations: string[]?

  @description('Scale sets the caller must belong to.')
  bound_scale_sets: string[]?

  @description('How the identity-to-resource link is proven: arm (Vault\'s way, default) or claims (xms_mirid/xms_az_rid, no ARM call).')
  resource_verification: ('arm' | 'claims')?

  @description('Initial token TTL (duration; 0 = system default).')
  token_ttl: string?

  @description('Maximum token lifetime including renewals (duration; 0 = system maximum).')
  token_max_ttl: string?

  @description('Hard cap on token lifetime (duration; 0 = none).')
  token_explicit_max_ttl: string?

  @description('Period of periodic tokens (duration; 0 = not periodic).')
  token_period: string?

  @description('Policies attached to issued tokens.')
  token_policies: string[]?

  @description('CIDRs the login and the token\'s uses must come from.')
  token_bound_cidrs: string[]?

  @description('Leave the default policy off issued tokens.')
  token_no_default_policy: bool?

  @description('Uses per token; 0 = unlimited.')
  token_num_uses: int?

  @description('Token type: default (service here), service, or batch (not stored, not renewable).')
  token_type: ('default' | 'service' | 'batch')?
}

@export()
@description('An ACL policy: PUT sys/policies/acl/<name> with {"policy": "<text>"}. Written whole on every run; never deleted by provisioning.')
type policy = {
  @description('Policy name (case-insensitive; letters, digits, _ - .). Not root; default may be declared (it replaces Vault\'s default rules).')
  name: string

  @description('The policy document in Vault\'s HCL (or its JSON form); a Bicep multi-line string keeps it readable.')
  policy: string
}

@export()
@description('options of a KV mount.')
type kvMountOptions = {
  @description('KV version, required so that no default decides it: \'2\' (versioned, the usual choice) or \'1\'. An existing mount of another version is left alone and reported.')
  version: ('1' | '2')
}

@export()
@description('config of a KV mount (sys/mounts/<path> and its tune).')
type kvMountConfig = {
  @description('Default lease TTL (duration, or \'system\'); v1 reads report it as lease_duration.')
  default_lease_ttl: string?

  @description('Maximum lease TTL (duration, or \'system\').')
  max_lease_ttl: string?
}

@export()
@description('A KV secrets engine: POST sys/mounts/<path> (type kv) when missing; an existing one of the declared version is tuned (description, lease TTLs). Never disabled here, and no secret goes through Bicep.')
type kvMount = {
  @description('Mount path, one segment of letters, digits, _ - and . (not sys, auth, audit, cubbyhole, identity).')
  path: string

  @description('Description listed by GET sys/mounts.')
  description: string?

  @description('The KV version.')
  options: kvMountOptions

  @description('Lease TTLs.')
  config: kvMountConfig?
}

@export()
@description('The narrow provisioning login (docs/operations.md, "Provisioning with a narrow token"): an azure mount role bound to the provisioning principals whose tokens carry only the provisioning policy, which scripts/provision.sh derives from the declarations. Both are written by Entra-admin runs only (the bootstrap).')
type provisioningLogin = {
  @description('Role name; empty (default) = no provisioning login.')
  role: string?

  @description('Path of the azure mount the role belongs to; its config must accept the principals\' tenant and resource. Default azure.')
  mount: string?

  @description('Name of the derived provisioning policy. Default azauth-provision.')
  policy: string?

  @description('The mount\'s resource: the audience of the Entra token the principals log in with. Default https://management.azure.com/.')
  resource: string?

  @description('Object ids bound to the role (pipeline identities; main.bicep adds its provisioning identity).')
  principal_ids: string[]?

  @description('Lifetime of a provisioning token (duration, also its maximum). Default 15m.')
  token_ttl: string?
}

@description('Azure region where the deployment script runs.')
param location string = resourceGroup().location

@description('Tags applied to the deployment script.')
param tags object = {}

@description('Origin of the azauth app, e.g. https://azauth-abc.azurewebsites.net (no /v1).')
param vaultAddr string

@description('AZAUTH_ADMIN_AUDIENCE of the app: the resource the script requests its admin token for.')
param adminAudience string

@description('Resource id of the user-assigned identity the script runs as. With auth \'admin\' its object id must be in the app\'s AZAUTH_ADMIN_PRINCIPAL_IDS; with \'login\' it must be bound to the role of login.')
param adminIdentityId string

@description('How the script authenticates: admin (an Entra admin token: the bootstrap, and every run that widens what provisioning may touch) or login (through login\'s role: the provisioning policy only).')
param auth ('admin' | 'login') = 'admin'

@description('The narrow provisioning login: its role is declared with the roles, its policy derived by the script. Empty role = none.')
param login provisioningLogin = {}

@description('ACL policies to write (roles name them in token_policies).')
param policies policy[] = []

@description('Auth mounts to create when missing and configure.')
param mounts mount[] = []

@description('Roles to write.')
param roles role[] = []

@description('KV secrets engines to create when missing, or tune.')
param kvMounts kvMount[] = []

@description('Delete roles of the listed mounts (and of the mounts the roles name) that are not in roles. Off by default: a role is deleted only when asked.')
param prune bool = false

@description('Changes on every deployment by default, so the script runs again and repairs drift; pass a fixed value to run it only when mounts or roles change.')
param runTag string = utcNow()

@description('Name of the deployment script resource; distinct per set of mounts managed from one place.')
param scriptName string = 'azauth-provision-${uniqueString(resourceGroup().id, vaultAddr)}'

@description('Azure CLI version of the script container.')
param azCliVersion string = '2.67.0'

@description('Minutes the script waits for the app to answer sys/health before giving up (first deployments: the package must be published).')
@minValue(1)
@maxValue(50)
param healthWaitMinutes int = 10

// The value each config field takes when a mount leaves it out (the API's own defaults), so a
// field deleted from Bicep is reset rather than silently kept by the API's merge-on-write.
// Exported: main.bicep builds the same payload for its provisionInput output.
@export()
var configFieldDefaults = {
  environment: ''
  client_id: ''
  identity_token_audience: ''
  identity_token_ttl: '0'
  max_retries: 3
  retry_delay: '4s'
  max_retry_delay: '60s'
  root_password_ttl: '4380h'
  rotation_schedule: ''
  rotation_window: '0'
  rotation_period: '0'
  disable_automated_rotation: false
  rotation_policy: ''
}

// The same for roles: a binding or policy removed from Bicep must disappear from the role.
@export()
var roleFieldDefaults = {
  bound_service_principal_ids: []
  bound_group_ids: []
  bound_subscription_ids: []
  bound_resource_groups: []
  bound_locations: []
  bound_scale_sets: []
  resource_verification: 'arm'
  token_ttl: '0'
  token_max_ttl: '0'
  token_explicit_max_ttl: '0'
  token_period: '0'
  token_policies: []
  token_bound_cidrs: []
  token_no_default_policy: false
  token_num_uses: 0
  token_type: 'default'
}

// The same for a KV mount's config: 'system' puts a lease TTL back to the system value on tune.
@export()
var kvMountConfigDefaults = {
  default_lease_ttl: 'system'
  max_lease_ttl: 'system'
}

// What an omitted field of login means.
@export()
var provisioningLoginDefaults = {
  role: ''
  mount: 'azure'
  policy: 'azauth-provision'
  resource: 'https://management.azure.com/'
  principal_ids: []
  token_ttl: '15m'
}

// main.bicep's provisionInput repeats the expressions below word for word (the consistency tests
// compare them), so a pipeline gets exactly what this script gets.
var loginSettings = union(provisioningLoginDefaults, login)

// The provisioning role: bound to the provisioning principals, carrying only the provisioning
// policy, short-lived. Declared like any role (so prune keeps it); the script writes it only when
// it runs as an admin.
var loginRoles = empty(loginSettings.role) ? [] : [
  {
    mount: loginSettings.mount
    name: loginSettings.role
    bound_service_principal_ids: loginSettings.principal_ids
    token_policies: [loginSettings.policy]
    token_ttl: loginSettings.token_ttl
    token_max_ttl: loginSettings.token_ttl
  }
]

var desiredLogin = empty(loginSettings.role) ? {} : {
  mount: loginSettings.mount
  role: loginSettings.role
  policy: loginSettings.policy
  resource: loginSettings.resource
}

var desiredMounts = map(mounts, declared => {
  path: declared.path
  description: declared.?description ?? ''
  config: union(configFieldDefaults, declared.config)
})

var desiredRoles = map(concat(roles, loginRoles), declared => union(roleFieldDefaults, declared))

var desiredKvMounts = map(kvMounts, declared => {
  path: declared.path
  description: declared.?description ?? ''
  options: declared.options
  config: union(kvMountConfigDefaults, declared.?config ?? {})
})

resource provision 'Microsoft.Resources/deploymentScripts@2023-08-01' = {
  name: scriptName
  location: location
  tags: tags
  kind: 'AzureCLI'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${adminIdentityId}': {}
    }
  }
  properties: {
    azCliVersion: azCliVersion
    scriptContent: loadTextContent('../scripts/provision.sh')
    environmentVariables: [
      {
        name: 'VAULT_ADDR'
        value: vaultAddr
      }
      {
        name: 'AZAUTH_ADMIN_AUDIENCE'
        value: adminAudience
      }
      {
        name: 'AZAUTH_MOUNTS'
        value: string(desiredMounts)
      }
      {
        name: 'AZAUTH_ROLES'
        value: string(desiredRoles)
      }
      {
        name: 'AZAUTH_POLICIES'
        value: string(policies)
      }
      {
        name: 'AZAUTH_KV_MOUNTS'
        value: string(desiredKvMounts)
      }
      {
        name: 'AZAUTH_PROVISION_LOGIN'
        value: string(desiredLogin)
      }
      {
        name: 'AZAUTH_PROVISION_AUTH'
        value: auth
      }
      {
        name: 'AZAUTH_PRUNE'
        value: prune ? 'true' : 'false'
      }
      {
        name: 'AZAUTH_HEALTH_WAIT_SECONDS'
        value: string(healthWaitMinutes * 60)
      }
    ]
    forceUpdateTag: runTag
    retentionInterval: 'PT1H'
    cleanupPreference: 'OnSuccess'
    timeout: 'PT1H'
  }
}

@description('What the run did: how it authenticated, policies written, mounts created, configs written, KV mounts created or tuned, roles written or deleted, undeclared roles kept, errors.')
output summary object = provision.properties.outputs
