// Azure SQL: the joint record store, match links, consents and the append-only access log.
//
// Entra-only authentication: no SQL login or password exists to leak or rotate. The server's
// Entra administrator is a person or group (the operator by default), NOT the app: the app's
// identity gets a contained database user with only the rights it needs, created once after
// deployment (infra/README.md), so a compromised app cannot grant itself more.

param serverName string
param databaseName string
param location string
param tags object

@description('Object id of the Entra user or group that administers the server.')
param adminObjectId string

@description('Display name recorded for that administrator.')
param adminLogin string

@allowed([
  'User'
  'Group'
  'Application'
])
param adminPrincipalType string

@description('Minutes idle before the serverless database pauses; -1 never pauses.')
param autoPauseDelayMinutes int

resource server 'Microsoft.Sql/servers@2021-11-01' = {
  name: serverName
  location: location
  tags: tags
  properties: {
    minimalTlsVersion: '1.2'
    // Reached over the public endpoint through the "Azure services" rule below; private
    // endpoint + VNet integration is the hardening step (infra/README.md).
    publicNetworkAccess: 'Enabled'
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      login: adminLogin
      sid: adminObjectId
      principalType: adminPrincipalType
      tenantId: tenant().tenantId
    }
  }
}

// 0.0.0.0 is Azure's marker for "connections from Azure services" - the Function App has no
// fixed outbound address on Flex Consumption. Every connection must still present an Entra token
// for a user that exists in the database.
resource allowAzureServices 'Microsoft.Sql/servers/firewallRules@2021-11-01' = {
  parent: server
  name: 'AllowAllWindowsAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource database 'Microsoft.Sql/servers/databases@2021-11-01' = {
  parent: server
  name: databaseName
  location: location
  tags: tags
  sku: {
    name: 'GP_S_Gen5'
    tier: 'GeneralPurpose'
    family: 'Gen5'
    capacity: 2
  }
  properties: {
    collation: 'SQL_Latin1_General_CP1_CI_AS'
    // A paused database takes about a minute to resume; lookups that arrive meanwhile get 503
    // (the access log cannot be written). Never pausing costs the minimum vCores around the clock.
    autoPauseDelay: autoPauseDelayMinutes
    minCapacity: json('0.5')
    zoneRedundant: false
    // Backups are copied to the paired region, which for UK South is UK West (and vice versa):
    // they never leave the UK.
    requestedBackupStorageRedundancy: 'Geo'
  }
}

output serverName string = server.name
output databaseName string = database.name
output serverFqdn string = server.properties.fullyQualifiedDomainName
// No User ID and no password: the app (shared/store/database.ts) then authenticates with
// DefaultAzureCredential, which picks the managed identity named by AZURE_CLIENT_ID.
output connectionString string = 'Server=tcp:${server.properties.fullyQualifiedDomainName},1433;Database=${database.name};Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;Authentication=Active Directory Default'
