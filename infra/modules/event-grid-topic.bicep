// The Event Grid system topic that publishes the storage account's blob events.
//
// Imports are event-driven: nothing polls the container. Event Grid hands each BlobCreated event
// to the import function's webhook (blob-created-subscription.bicep). The topic is created with
// the rest of the infrastructure; the subscription can only follow once the app's code is deployed.

param name string
param location string
param tags object
param storageAccountName string
param eventDeadLetterContainerName string

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource eventDeadLetter 'containers' existing = {
      name: eventDeadLetterContainerName
    }
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  // A system topic lives in its source's region.
  location: location
  tags: tags
  // Its own identity writes undeliverable events to the dead-letter container; the account has
  // no shared key Event Grid could use instead.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storageAccount.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

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

output name string = systemTopic.name
