// Delivers "a file landed in incoming/" to the import function: Event Grid writes each BlobCreated
// event to the import queue, and the function (functions/import-blob.ts) is that queue's trigger
// and streams the blob the event names - rather than a blob binding, which would hand it the
// whole file in memory.
//
// Why a queue and not the Event Grid extension's webhook: Event Grid waits 30 seconds for a
// webhook to answer, then counts the delivery failed and sends the event again, while the first
// import still runs - a large extract on Azure SQL takes minutes, and each extra delivery reads
// the whole file again to hash it before it finds the run taken. A queue message stays hidden,
// its lease renewed by the host, until the import ends. It also needs no function key and no
// deployed code, so the subscription is made in the same provision as everything else.

param systemTopicName string
param storageAccountName string
param eventDeadLetterContainerName string

@description('The queue the import function is the trigger of (functions/import-blob.ts).')
param importQueueName string

@description('The container that function watches.')
param watchedContainerName string = 'incoming'

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource incomingBlobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: '${watchedContainerName}-blob-created'
  properties: {
    // With the topic's own identity (Storage Queue Data Message Sender on this queue alone,
    // event-grid-topic.bicep): the account accepts no shared key.
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storageAccount.id
          queueName: importQueueName
          // Never expires: a file in incoming/ is imported however long the app was down.
          queueMessageTimeToLiveInSeconds: -1
        }
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      // BlobRenamed too: an SFTP client such as WinSCP uploads <name>.filepart and renames it
      // when complete, and the final name is announced by the rename alone.
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
        'Microsoft.Storage.BlobRenamed'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${watchedContainerName}/blobs/'
      // Only a file that is complete. An SFTP upload raises SftpCreate for the empty file opened
      // first and SftpCommit when it is closed; a Data Lake client raises CreateFile first and
      // FlushWithClose last. Without this filter each upload would be imported once empty.
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.api'
          values: [
            'PutBlob'
            'PutBlockList'
            'CopyBlob'
            'FlushWithClose'
            'SftpCommit'
            'RenameFile'
            'SftpRename'
          ]
        }
      ]
    }
    // Event Grid retries a write to the queue it could not make for a day; what it still cannot
    // deliver lands in the dead-letter container rather than being dropped, so no partner file
    // is silently never imported. A failed import is the queue's to retry (host.json).
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storageAccount.id
          blobContainerName: eventDeadLetterContainerName
        }
      }
    }
  }
}

output name string = incomingBlobCreated.name
