// Central Edge in Azure: IoT Hub, Storage, Computer Vision and (optionally) a Container Registry, in one
// resource group. deploy.sh deploys this file; destroy.sh deletes the resource group. Outputs carry names and
// endpoints only: keys are read with `az` after deploying and go into .env, never into deployment history.
targetScope = 'resourceGroup'

@description('Short prefix for resource names (3-11 lowercase letters and digits, starting with a letter).')
@minLength(3)
@maxLength(11)
param namePrefix string = 'central'

@description('Azure region; defaults to the resource group\'s.')
param location string = resourceGroup().location

@description('IoT Hub tier: S1 (standard) or F1 (free, one per subscription). B1 is refused: it has no IoT Edge.')
@allowed(['S1', 'F1'])
param iotHubSku string = 'S1'

@description('IoT Hub units (F1 allows exactly 1).')
@minValue(1)
@maxValue(200)
param iotHubCapacity int = 1

@description('Computer Vision tier: F0 (free, one per subscription) or S1.')
@allowed(['F0', 'S1'])
param visionSku string = 'F0'

@description('Also create an Azure Container Registry (Basic, admin user disabled) for the module images.')
param createRegistry bool = false

@description('Also archive device telemetry to the storage account (container "telemetry"), besides the events endpoint.')
param routeTelemetryToStorage bool = false

@description('Days after which photos, videos and archived telemetry are deleted.')
@minValue(1)
@maxValue(3650)
param retentionDays int = 30

@description('Tags applied to every resource.')
param tags object = {
  project: 'central-edge'
}

// Deterministic per resource group, so a second deployment updates the same resources instead of adding more.
var suffix = uniqueString(resourceGroup().id)
var compactPrefix = toLower(replace(namePrefix, '-', ''))

resource archiveWriter 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (routeTelemetryToStorage) {
  name: '${namePrefix}-hub-archive-${suffix}'
  location: location
  tags: tags
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: take('${compactPrefix}${suffix}', 24)
    location: location
    tags: tags
    retentionDays: retentionDays
    telemetryWriterPrincipalId: routeTelemetryToStorage ? archiveWriter!.properties.principalId : ''
  }
}

module hub 'modules/iothub.bicep' = {
  name: 'iothub'
  params: {
    name: '${namePrefix}-hub-${suffix}'
    location: location
    tags: tags
    sku: iotHubSku
    capacity: iotHubSku == 'F1' ? 1 : iotHubCapacity
    // Reading the storage output makes the hub wait for the role assignment the archive endpoint needs.
    archiveBlobEndpoint: routeTelemetryToStorage ? storage.outputs.blobEndpoint : ''
    archiveIdentityId: routeTelemetryToStorage ? archiveWriter!.id : ''
  }
}

module vision 'modules/vision.bicep' = {
  name: 'vision'
  params: {
    name: '${namePrefix}-vision-${suffix}'
    location: location
    tags: tags
    sku: visionSku
  }
}

module registry 'modules/registry.bicep' = if (createRegistry) {
  name: 'registry'
  params: {
    name: '${compactPrefix}acr${suffix}'
    location: location
    tags: tags
  }
}

@description('IoT Hub name.')
output iotHubName string = hub.outputs.name

@description('IoT Hub host name.')
output iotHubHostName string = hub.outputs.hostName

@description('Storage account name.')
output storageAccountName string = storage.outputs.name

@description('Computer Vision account name.')
output visionName string = vision.outputs.name

@description('Computer Vision endpoint.')
output visionEndpoint string = vision.outputs.endpoint

@description('Container registry name, empty when none was created.')
output registryName string = createRegistry ? registry!.outputs.name : ''

@description('Container registry login server, empty when none was created.')
output registryLoginServer string = createRegistry ? registry!.outputs.loginServer : ''
