// lintel's production infrastructure, deployed with `azd up` (see infra/README.md).
//
// Subscription scope because azd creates the resource group itself, and because the optional
// "Allowed locations for resource groups" assignment lives at subscription scope. Everything
// else is deployed into the one resource group, in the one region chosen below.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name: names the resource group and seeds every resource name.')
param environmentName string

// The only place a region is chosen: every module takes this value, none has a default of its
// own, and the Azure Policy assignment below refuses anything else inside the resource group.
@allowed([
  'uksouth'
  'ukwest'
])
@description('Region for every resource. UK South is primary; UK West is its pair.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the operator running the deployment (azd sets AZURE_PRINCIPAL_ID). Gets Key Vault Secrets Officer and, by default, SQL administration.')
param principalId string

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Entra tenant whose access tokens the API accepts.')
param entraTenantId string = tenant().tenantId

@minLength(1)
@description('The lintel API app registration\'s client id (a GUID): the audience Entra ID v2.0 puts in partners\' tokens. Set with `azd env set LINTEL_API_AUDIENCE ...`.')
param apiAudience string

@description('Partners\' Entra client ids mapped to agreement party ids, as "clientId=partyId,clientId=partyId".')
param partyClientIds string = ''

@description('Key Vault secret versions to pin, as "secret-name=version,...". Unpinned secrets follow the latest version.')
param secretVersions string = ''

@description('Object id of an Entra group of DBAs to administer Azure SQL. Empty: the operator (principalId) administers it.')
param sqlAdminGroupObjectId string = ''

@description('Display name of that group.')
param sqlAdminGroupName string = ''

@description('Minutes idle before the database pauses; -1 never pauses (no 503s while it resumes).')
param sqlAutoPauseDelayMinutes int = -1

@description('Days each access-log anchor is write-protected. Set before locking the policy: afterwards it can only grow.')
@minValue(1)
@maxValue(146000)
param auditAnchorRetentionDays int = 2557

@description('Set to true after locking the audit-anchors immutability policy, so deployments stop re-declaring it.')
param auditAnchorPolicyLocked bool = false

@description('Days a loaded extract (the partner\'s raw file) is kept in processed/ before it is deleted.')
@minValue(1)
param processedRetentionDays int = 30

@description('Days a rejected extract and its report are kept in rejected/ before they are deleted.')
@minValue(1)
param rejectedRetentionDays int = 30

@description('Days a dated copy of the planning counts is kept in curated/: 13 months, for a year-on-year comparison.')
@minValue(1)
param curatedHistoryDays int = 400

@description('Share of bad rows (0 to 1) above which an import file is rejected whole: IMPORT_MAX_BAD_ROW_SHARE.')
param importMaxBadRowShare string = '0.05'

@description('Requests a minute each API client may make, per instance: RATE_LIMIT_PER_MINUTE.')
@minValue(1)
param rateLimitPerMinute int = 1200

@description('Calls a minute one address may make without a valid token, per instance, before they are answered 429 with no access-log entry: RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE.')
@minValue(1)
param rateLimitUnauthenticatedPerMinute int = 60

@description('The planning export suppresses a count of people that comes to less than this with its noise (±4); at least 7; lower it only with the DPO: CURATED_MIN_CELL.')
@minValue(7)
param curatedMinCell int = 10

@description('The app\'s log level: LOG_LEVEL.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

@description('SFTP endpoint for partner drop-offs (billed hourly while enabled).')
param sftpEnabled bool = true

@description('Also assign "Allowed locations for resource groups" to the whole subscription. Turn off in a subscription shared with services that may use other regions.')
param pinSubscriptionResourceGroupLocations bool = true

@description('Upper bound on Function App instances; each holds a pool of up to 10 SQL connections.')
@minValue(1)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

var allowedRegions = [
  'uksouth'
  'ukwest'
]
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
// A DBA group outlives any one operator; without one, whoever deployed administers SQL.
var operatorAsSqlAdmin = {
  objectId: principalId
  login: 'lintel-sql-admin'
  principalType: principalType == 'ServicePrincipal' ? 'Application' : principalType
}
var groupAsSqlAdmin = {
  objectId: sqlAdminGroupObjectId
  login: empty(sqlAdminGroupName) ? 'lintel-sql-admins' : sqlAdminGroupName
  principalType: 'Group'
}
var sqlAdmin = empty(sqlAdminGroupObjectId) ? operatorAsSqlAdmin : groupAsSqlAdmin
// The queue Event Grid writes incoming/ blob events to: the `queue` the import function registers
// (functions/import-blob.ts; test/infra checks they agree).
var importQueueName = 'import-blob-created'

var tags = {
  'azd-env-name': environmentName
  application: 'lintel'
}

// "a=b,c=d" -> {"a":"b","c":"d"}: azd substitutes environment values into
// main.parameters.json as raw text, where a JSON object's quotes would break the file.
var partyClientIdPairs = filter(map(split(partyClientIds, ','), pair => trim(pair)), pair => !empty(pair))
var partyClientIdsJson = string(toObject(partyClientIdPairs, pair => trim(split(pair, '=')[0]), pair => trim(last(split(pair, '=')))))
var secretVersionPairs = filter(map(split(secretVersions, ','), pair => trim(pair)), pair => !empty(pair))
var secretVersionsJson = string(toObject(secretVersionPairs, pair => trim(split(pair, '=')[0]), pair => trim(last(split(pair, '=')))))

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module regionPolicy 'modules/region-policy.bicep' = {
  name: 'region-policy'
  scope: rg
  params: {
    assignmentName: 'lintel-allowed-locations'
    allowedRegions: allowedRegions
  }
}

// Keeps new resource groups in the subscription in the UK too. Subscription-wide, so it can be
// turned off where the subscription is shared (pinSubscriptionResourceGroupLocations).
resource resourceGroupLocations 'Microsoft.Authorization/policyAssignments@2023-04-01' = if (pinSubscriptionResourceGroupLocations) {
  name: 'lintel-rg-locations-${resourceToken}'
  properties: {
    displayName: 'lintel: resource groups only in ${join(allowedRegions, ', ')}'
    // Built-in "Allowed locations for resource groups".
    policyDefinitionId: tenantResourceId('Microsoft.Authorization/policyDefinitions', 'e765b5de-1225-4ba3-bd56-1ac6695af988')
    parameters: {
      listOfAllowedLocations: {
        value: allowedRegions
      }
    }
    enforcementMode: 'Default'
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-lintel-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-lintel-${resourceToken}'
    applicationInsightsName: 'appi-lintel-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    sftpEnabled: sftpEnabled
    auditAnchorRetentionDays: auditAnchorRetentionDays
    auditAnchorPolicyLocked: auditAnchorPolicyLocked
    processedRetentionDays: processedRetentionDays
    rejectedRetentionDays: rejectedRetentionDays
    curatedHistoryDays: curatedHistoryDays
    deploymentContainerName: 'app-package'
    eventDeadLetterContainerName: 'event-deadletter'
    importQueueName: importQueueName
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    name: 'kv-lintel-${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module sql 'modules/sql.bicep' = {
  name: 'sql'
  scope: rg
  params: {
    serverName: 'sql-lintel-${resourceToken}'
    databaseName: 'lintel'
    location: location
    tags: tags
    adminObjectId: sqlAdmin.objectId
    adminLogin: sqlAdmin.login
    adminPrincipalType: sqlAdmin.principalType
    autoPauseDelayMinutes: sqlAutoPauseDelayMinutes
  }
}

module roles 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: 'func-lintel-${resourceToken}'
    planName: 'plan-lintel-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    keyVaultUri: keyVault.outputs.uri
    sqlConnectionString: sql.outputs.connectionString
    entraTenantId: entraTenantId
    apiAudience: apiAudience
    partyClientIdsJson: partyClientIdsJson
    secretVersionsJson: secretVersionsJson
    maximumInstanceCount: functionMaximumInstanceCount
    curatedHistoryDays: curatedHistoryDays
    importMaxBadRowShare: importMaxBadRowShare
    rateLimitPerMinute: rateLimitPerMinute
    rateLimitUnauthenticatedPerMinute: rateLimitUnauthenticatedPerMinute
    curatedMinCell: curatedMinCell
    logLevel: logLevel
  }
  // The app's first start reads its package, storage and secrets with these grants.
  dependsOn: [
    roles
  ]
}

module eventGridTopic 'modules/event-grid-topic.bicep' = {
  name: 'event-grid-topic'
  scope: rg
  params: {
    name: 'evgt-lintel-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    eventDeadLetterContainerName: storage.outputs.eventDeadLetterContainerName
    importQueueName: storage.outputs.importQueueName
  }
}

// Events wait in the queue until the app is deployed and takes them off, so the subscription is
// made in the same provision as the rest.
module blobEvents 'modules/blob-created-subscription.bicep' = {
  name: 'blob-created-subscription'
  scope: rg
  params: {
    systemTopicName: eventGridTopic.outputs.name
    storageAccountName: storage.outputs.name
    eventDeadLetterContainerName: storage.outputs.eventDeadLetterContainerName
    importQueueName: storage.outputs.importQueueName
  }
}

// azd stores these in the environment (.azure/<env>/.env); infra/README.md's commands read them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output LINTEL_API_BASE_URL string = 'https://${functionApp.outputs.defaultHostName}/api'
output LINTEL_APP_IDENTITY_NAME string = identity.outputs.name
output LINTEL_APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_SQL_SERVER_NAME string = sql.outputs.serverName
output AZURE_SQL_SERVER_FQDN string = sql.outputs.serverFqdn
output AZURE_SQL_DATABASE_NAME string = sql.outputs.databaseName
output LINTEL_EVENT_GRID_TOPIC_NAME string = eventGridTopic.outputs.name
