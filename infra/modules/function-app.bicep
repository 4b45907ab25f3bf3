// The Function App on the Flex Consumption plan, and every setting lintel reads.
//
// Settings hold addresses and switches, never secrets: keys live in Key Vault and are read by
// the app through its identity; storage, SQL and Key Vault are all reached with that identity.
// The setting names are the ones shared/config.ts parses (test/infra/infra.test.ts checks it).

param name string
param planName string
param location string
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity; DefaultAzureCredential and the Functions host need it to pick it.')
param identityClientId string

param storageAccountName string
param blobEndpoint string

@description('The account\'s queue endpoint: the import function is the trigger of a queue there.')
param queueEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
param keyVaultUri string
param sqlConnectionString string

@description('Entra tenant whose tokens the API accepts.')
param entraTenantId string

@description('AUTH_AUDIENCE: the lintel API app registration\'s client id (a GUID), which Entra ID v2.0 tokens carry as aud; shared/config.ts refuses any other form in production.')
param apiAudience string

@description('JSON object: Entra client id -> agreement party id.')
param partyClientIdsJson string

@description('JSON object: Key Vault secret name -> pinned version.')
param secretVersionsJson string

@description('Days the planning export keeps its releases: the store view as the curated container does.')
@minValue(1)
param curatedHistoryDays int

@description('IMPORT_MAX_BAD_ROW_SHARE: share of bad rows (0 to 1) above which an import file is rejected whole.')
param importMaxBadRowShare string

@description('RATE_LIMIT_PER_MINUTE: requests a minute each API client may make, per instance.')
@minValue(1)
param rateLimitPerMinute int

@description('RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: calls a minute one address may make without a valid token, per instance.')
@minValue(1)
param rateLimitUnauthenticatedPerMinute int

@description('CURATED_MIN_CELL: the planning export suppresses a count of people that comes to less than this with its noise (±4); at least 7.')
@minValue(7)
param curatedMinCell int

@description('LOG_LEVEL: debug, info, warn or error.')
param logLevel string

@description('Upper bound on instances; each holds its own SQL connection pool.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy the `api` service (azure.yaml) by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
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
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          // The package is read with the app's identity: no storage key or SAS exists.
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// azd deploys with the operator's Entra token; publishing with a username and password is off.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// Replaces the whole set on every deployment: a setting changed by hand in the portal is undone
// by the next `azd provision`, so every setting lives here (or in azd env values feeding it).
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // Functions host storage through the app's identity (Flex Consumption reads the rest of the
    // host configuration from functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and friends are not set).
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__blobServiceUri: blobEndpoint
    AzureWebJobsStorage__queueServiceUri: queueEndpoint
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // Picks the user-assigned identity for DefaultAzureCredential (Key Vault, blobs, SQL).
    AZURE_CLIENT_ID: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

    LINTEL_ENV: 'production'
    STORE_ENGINE: 'mssql'
    MSSQL_CONNECTION_STRING: sqlConnectionString
    SECRETS_SOURCE: 'keyvault'
    KEY_VAULT_URI: keyVaultUri
    SECRET_VERSIONS: secretVersionsJson
    // The app refuses to start if the region it runs in is not one of these: a second line of
    // defence behind the Azure Policy assignment.
    ALLOWED_REGIONS: 'uksouth,ukwest'
    DEPLOYMENT_REGION: location
    // Relative to the deployed package root; the agreement files ship inside the package.
    AGREEMENTS_DIR: 'agreements'
    LOG_LEVEL: logLevel

    // Entra ID v2.0 endpoints: the API app registration must issue v2 access tokens
    // (requestedAccessTokenVersion 2), or tokens carry the v1 issuer and are refused.
    AUTH_JWKS_URI: 'https://login.microsoftonline.com/${entraTenantId}/discovery/v2.0/keys'
    AUTH_ISSUER: 'https://login.microsoftonline.com/${entraTenantId}/v2.0'
    AUTH_AUDIENCE: apiAudience
    PARTY_CLIENT_IDS: partyClientIdsJson
    // The same span as the curated container's lifecycle rule (storage.bicep), for the store's view.
    CURATED_HISTORY_DAYS: '${curatedHistoryDays}'
    CURATED_MIN_CELL: '${curatedMinCell}'
    IMPORT_MAX_BAD_ROW_SHARE: importMaxBadRowShare
    RATE_LIMIT_PER_MINUTE: '${rateLimitPerMinute}'
    RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '${rateLimitUnauthenticatedPerMinute}'
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
