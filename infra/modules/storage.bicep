// Storage for photos, videos and (optionally) the telemetry archive that IoT Hub routes to.
// Secure defaults: HTTPS only, TLS 1.2, no anonymous blob access; a lifecycle rule deletes old blobs so a
// forgotten camera does not grow the bill.

@description('Storage account name (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Days after which photos, videos and archived telemetry are deleted.')
@minValue(1)
@maxValue(3650)
param retentionDays int

@description('Principal id of the identity IoT Hub uses to write the telemetry archive; empty for no archive.')
param telemetryWriterPrincipalId string = ''

var archiveTelemetry = !empty(telemetryWriterPrincipalId)
var mediaContainers = ['photos', 'videos']
var containers = archiveTelemetry ? concat(mediaContainers, ['telemetry']) : mediaContainers
// Built-in role "Storage Blob Data Contributor".
var blobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the Raspberry Pi uploads from a home network over the internet; HTTPS, TLS 1.2 and account-key auth protect it, a firewall default-deny would lock the device out
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35, the device reaches storage through its public endpoint
  // checkov:skip=CKV_AZURE_206: photos and videos are a student's camera output with a retention rule; locally redundant storage is the cost-appropriate choice, geo-replication triples the price
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in containers: {
    parent: blobService
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource retention 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-after-retention'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: [for container in containers: '${container}/']
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: retentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

// IoT Hub writes the telemetry archive with its managed identity, so no storage key goes into the hub.
resource telemetryWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (archiveTelemetry) {
  name: guid(account.id, telemetryWriterPrincipalId, blobDataContributorRoleId)
  scope: account
  properties: {
    principalId: telemetryWriterPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributorRoleId)
  }
}

@description('Storage account name.')
output name string = account.name

@description('Primary blob endpoint, e.g. https://NAME.blob.core.windows.net/.')
output blobEndpoint string = account.properties.primaryEndpoints.blob
