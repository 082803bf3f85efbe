// The IoT Hub the Raspberry Pi connects to. B1 is not offered: the basic tier has no IoT Edge, twins or
// direct methods. Telemetry keeps flowing to the built-in events endpoint through an explicit route, because
// once any custom route exists, unrouted messages no longer reach it.

@description('IoT Hub name (3-50 letters, digits and hyphens, globally unique).')
@minLength(3)
@maxLength(50)
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('S1 (standard, 400,000 messages/day/unit) or F1 (free, 8,000 messages/day, one per subscription). B1 has no IoT Edge.')
@allowed(['S1', 'F1'])
param sku string

@description('Number of units (F1 allows exactly 1).')
@minValue(1)
@maxValue(200)
param capacity int

@description('Blob endpoint of the storage account that archives telemetry; empty for no archive.')
param archiveBlobEndpoint string = ''

@description('Resource id of the user-assigned identity that writes the archive; empty for no archive.')
param archiveIdentityId string = ''

var archive = !empty(archiveBlobEndpoint) && !empty(archiveIdentityId)

var eventsRoute = {
  name: 'DeviceTelemetryToEvents'
  source: 'DeviceMessages'
  condition: 'true'
  endpointNames: ['events']
  isEnabled: true
}

var archiveRoute = {
  name: 'DeviceTelemetryToStorage'
  source: 'DeviceMessages'
  condition: 'true'
  endpointNames: ['telemetry-archive']
  isEnabled: true
}

var archiveEndpoint = {
  name: 'telemetry-archive'
  endpointUri: archiveBlobEndpoint
  authenticationType: 'identityBased'
  identity: {
    userAssignedIdentity: archiveIdentityId
  }
  containerName: 'telemetry'
  fileNameFormat: '{iothub}/{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}'
  encoding: 'JSON'
  batchFrequencyInSeconds: 300
  maxChunkSizeInBytes: 104857600
}

// IoT Hub authenticates to the archive with this identity; without an archive it needs none.
var identity = archive ? { type: 'UserAssigned', userAssignedIdentities: { '${archiveIdentityId}': {} } } : { type: 'None' }

resource hub 'Microsoft.Devices/IotHubs@2023-06-30' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
    capacity: capacity
  }
  identity: identity
  properties: {
    minTlsVersion: '1.2'
    eventHubEndpoints: {
      events: {
        retentionTimeInDays: 1
        // The free tier requires exactly two partitions.
        partitionCount: sku == 'F1' ? 2 : 4
      }
    }
    routing: {
      endpoints: {
        storageContainers: archive ? [archiveEndpoint] : []
      }
      routes: archive ? [eventsRoute, archiveRoute] : [eventsRoute]
      fallbackRoute: {
        name: '$fallback'
        source: 'DeviceMessages'
        condition: 'true'
        endpointNames: ['events']
        isEnabled: true
      }
    }
  }
}

@description('IoT Hub name.')
output name string = hub.name

@description('Host name devices connect to.')
output hostName string = hub.properties.hostName
