// Blob Storage: partners' drop-offs, lintel's outputs, the access-log anchors, and the Function
// App's deployment package - one account, reached only with Entra identities.

param name string
param location string
param tags object

@description('SFTP endpoint for partner drop-offs. Billed by the hour while enabled.')
param sftpEnabled bool

@description('Days each access-log anchor stays write-protected after it is written.')
@minValue(1)
@maxValue(146000)
param auditAnchorRetentionDays int

@description('True once the operator has locked the audit-anchors policy: a locked policy cannot be re-declared, only extended.')
param auditAnchorPolicyLocked bool

@description('Days a loaded extract stays in processed/: the partner\'s raw file, matching-only identifiers and all. Its rows live on in the store.')
@minValue(1)
param processedRetentionDays int

@description('Days a rejected extract stays in rejected/, beside its report, for the partner to fix and send again.')
@minValue(1)
param rejectedRetentionDays int

@description('Days a dated copy of the planning counts stays in curated/ (latest/ is rewritten every month).')
@minValue(1)
param curatedHistoryDays int

@description('Container that holds the Function App package (Flex Consumption deploys from blob storage).')
param deploymentContainerName string

@description('Container Event Grid writes undeliverable blob events to.')
param eventDeadLetterContainerName string

@description('Queue Event Grid writes each incoming/ BlobCreated event to; the import function is its trigger.')
param importQueueName string

param logAnalyticsWorkspaceId string

// The containers the app reads and writes (shared/blob/blob-storage.ts CONTAINERS). The app
// creates them too if missing, but declaring them here is what lets the audit-anchors policy
// and the Event Grid filter exist from the first deployment.
var dataContainerNames = [
  'incoming'
  'processed'
  'rejected'
  'curated'
]
var auditAnchorsContainerName = 'audit-anchors'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    // UK West has no availability zones, so zone redundancy exists only in UK South. Either way
    // every copy stays in the one region the policy allows.
    name: location == 'uksouth' ? 'Standard_ZRS' : 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    // SFTP requires the hierarchical namespace; both can only be chosen when the account is created.
    isHnsEnabled: true
    isSftpEnabled: sftpEnabled
    // SFTP authenticates "local users" (per-partner SSH keys), not Entra identities.
    isLocalUserEnabled: sftpEnabled
    // No account keys, no SAS signed with them: every blob request carries an Entra token, so
    // every access is attributable to an identity. Local users for SFTP are unaffected.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Partners upload over the internet and Flex Consumption reaches storage without a VNet here;
    // private endpoints are the hardening step (infra/README.md).
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      // A second layer of encryption at the infrastructure level; can only be set at creation.
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    // Blob versioning is not available with a hierarchical namespace, so it is left off; soft
    // delete is, and recovers a deleted file or container for 30 days.
    deleteRetentionPolicy: {
      enabled: true
      days: 30
      allowPermanentDelete: false
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 30
    }
  }
}

resource dataContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in dataContainerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource auditAnchors 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: auditAnchorsContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Write once, read many: while the period runs, an anchor cannot be overwritten or deleted - by
// the app, an operator or an attacker holding the app's identity. That is what makes the
// hash-chained access log provable: rewriting the log would no longer match its anchors.
//
// The policy is created UNLOCKED. An unlocked policy protects blobs but can still be shortened
// or removed by an account administrator; the operator locks it after checking that anchors are
// written (infra/README.md). Locking is irreversible: the period can then only be extended, and
// neither the container nor the storage account can be deleted until every anchor has expired.
// Once locked, set auditAnchorPolicyLocked so re-deployments stop re-declaring it.
resource auditAnchorsImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!auditAnchorPolicyLocked) {
  parent: auditAnchors
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: auditAnchorRetentionDays
    // New blocks may be appended to an append blob (an anchor journal can grow); existing
    // blocks can still never be changed or removed.
    allowProtectedAppendWrites: true
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource eventDeadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: eventDeadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

// Event Grid writes each incoming/ BlobCreated event here and the import function takes it off
// (functions/registry.ts): a message stays hidden, its lease renewed, for as long as its import
// runs, where a webhook delivery is given up after 30 seconds and sent again. The poison queue is
// where the host moves a message whose every delivery failed (host.json maxDequeueCount); it is
// declared so that it exists, empty, from the start, for the operator's alert (infra/README.md).
resource importQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: importQueueName
}

resource importPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${importQueueName}-poison'
}

// Every read, write and delete of a blob, with the identity that made it, for the DPO's
// "who touched this file" question. Blob names carry party and dataset ids, not personal data.
resource blobAuditLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'blob-audit-to-log-analytics'
  scope: blobService
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

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output deploymentContainerName string = deploymentContainer.name
output eventDeadLetterContainerName string = eventDeadLetterContainer.name
output auditAnchorsContainerName string = auditAnchors.name
output importQueueName string = importQueue.name

// Partners' raw files are kept only as long as they are of use. Once loaded, a file's rows are in
// the store (identifiers pseudonymised) and the raw copy in processed/ - raw identifiers, columns
// the store never keeps - is only a copy to check a load against; a rejected file waits for the
// partner to fix and resend it. Each is deleted the set number of days after it was moved there,
// its report with it (the access log and import_run keep the outcome and the counts). Soft
// delete keeps a deleted blob recoverable for 30 more days. Files still in incoming/ are never
// deleted here: an unprocessed file is an operator's to look at (infra/README.md).
resource extractLifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-processed-extracts'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'processed/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: processedRetentionDays
                }
              }
            }
          }
        }
        {
          name: 'delete-rejected-extracts'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'rejected/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: rejectedRetentionDays
                }
              }
            }
          }
        }
        {
          // The planning counts' dated copies are for trends, not kept for ever: each export that
          // stays published is one more to compare against (README, "Planning counts for Power BI").
          name: 'delete-curated-history'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'curated/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: curatedHistoryDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    dataContainers
  ]
}
