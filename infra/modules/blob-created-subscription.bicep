// Delivers "a file landed in incoming/" to the import function: the BlobCreated event itself,
// through the Event Grid extension's webhook. The function (functions/import-blob.ts) is an Event
// Grid trigger that streams the blob named in the event, rather than a blob binding that would
// hand it the whole file in memory.
//
// Deployed only on the SECOND provision (blobEventsEnabled, see infra/README.md): the
// `eventgrid_extension` system key exists only after the host has started with an Event Grid
// trigger in its code, and Event Grid validates the webhook when the subscription is created -
// before the code is deployed, both fail.

param systemTopicName string
param functionAppName string
param storageAccountName string
param eventDeadLetterContainerName string

@description('The registered name of the import function (functions/import-blob.ts).')
param importFunctionName string = 'importBlob'

@description('The container that function watches.')
param watchedContainerName string = 'incoming'

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName

  resource host 'host' existing = {
    name: 'default'
  }
}

// Read here rather than passed in: a module parameter is kept in clear in the deployment
// history, a value computed inside the module is not. Event Grid itself returns the endpoint
// without its query string, so the key is not readable back from the subscription either.
var eventGridExtensionKey = functionApp::host.listKeys().systemKeys.eventgrid_extension

resource incomingBlobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: '${watchedContainerName}-blob-created'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        // The app's own default host name: Flex Consumption apps may get a unique, region-scoped
        // host name rather than <name>.azurewebsites.net.
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/eventgrid?functionName=${importFunctionName}&code=${eventGridExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
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
          ]
        }
      ]
    }
    // A failed import answers the webhook with an error, so Event Grid retries it for a day;
    // what it still cannot deliver lands in the dead-letter container rather than being
    // dropped, so no partner file is silently never imported.
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
