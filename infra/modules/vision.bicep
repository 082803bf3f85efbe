// Computer Vision (Image Analysis) for the vision module's cloud backend.

@description('Account name, also its custom subdomain (globally unique).')
@minLength(2)
@maxLength(64)
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('F0 (free, about 20 calls/min and 5,000/month, one per subscription) or S1 (about 10 calls/s).')
@allowed(['F0', 'S1'])
param sku string

resource vision 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_134: the vision module calls the service from the Raspberry Pi over the internet; a private endpoint needs a virtual network the Pi is not in
  // checkov:skip=CKV_AZURE_236: the vision module authenticates with the account key (no managed identity exists off Azure), so local auth stays enabled
  name: name
  location: location
  tags: tags
  kind: 'ComputerVision'
  sku: {
    name: sku
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    customSubDomainName: name
    publicNetworkAccess: 'Enabled'
    disableLocalAuth: false
    networkAcls: {
      defaultAction: 'Allow'
    }
  }
}

@description('Account name (the scripts read its key with az, never from an output).')
output name string = vision.name

@description('Endpoint for the vision module.')
output endpoint string = vision.properties.endpoint
