// Key Vault: the pseudonymisation keys and the audit signing key.
//
// No secret is declared here: a value in a template ends up in deployment history and in source
// control. The operator creates the three secrets after deployment (infra/README.md); the app
// reads them through its managed identity (shared/secrets/key-vault-secret-source.ts).

param name string
param location string
param tags object
param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Azure RBAC instead of access policies: who may read secrets is granted and audited like
    // every other role, and "Key Vault Secrets User" cannot create, change or delete secrets.
    enableRbacAuthorization: true
    // Losing the pseudonymisation key would orphan every pseudonym made with it; purge
    // protection means a deleted vault or secret can always be recovered for 90 days, by anyone
    // including an administrator. It cannot be turned off once on.
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForTemplateDeployment: false
    enabledForDiskEncryption: false
    // Private endpoint is the hardening step (infra/README.md).
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// Every secret read, with the identity that read it: the evidence that only lintel's identity
// ever used the keys.
resource vaultAuditLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'key-vault-audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
