// The Event Grid system topic that publishes the storage account's blob events.
//
// Imports are event-driven: nothing polls the container. Event Grid writes each BlobCreated event
// to the import queue, whose trigger is the import function (blob-created-subscription.bicep).

param name string
param location string
param tags object
param storageAccountName string
param eventDeadLetterContainerName string
param importQueueName string

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource eventDeadLetter 'containers' existing = {
      name: eventDeadLetterContainerName
    }
  }

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource importQueue 'queues' existing = {
      name: importQueueName
    }
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  // A system topic lives in its source's region.
  location: location
  tags: tags
  // Its own identity writes events to the import queue and undeliverable ones to the dead-letter
  // container; the account has no shared key Event Grid could use instead.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storageAccount.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageQueueDataMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'

// Scoped to the dead-letter container alone: the topic can write there and read nothing else.
resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount::blobService::eventDeadLetter.id, systemTopic.id, storageBlobDataContributor)
  scope: storageAccount::blobService::eventDeadLetter
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Scoped to the import queue alone: the topic can add messages there and read none.
resource importQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount::queueService::importQueue.id, systemTopic.id, storageQueueDataMessageSender)
  scope: storageAccount::queueService::importQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSender)
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The subscription's module takes the name from here, so it is created after both grants.
output name string = systemTopic.name
