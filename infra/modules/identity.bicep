// The identity lintel's Function App runs as.
//
// User-assigned rather than system-assigned: it exists before the Function App does, so its
// role assignments (storage, Key Vault, Application Insights) are in place before the app's
// first start, and it survives the app being deleted and recreated - the SQL contained user
// created for it once (see infra/README.md) keeps working.

param name string
param location string
param tags object

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = appIdentity.id
output name string = appIdentity.name
output principalId string = appIdentity.properties.principalId
output clientId string = appIdentity.properties.clientId
