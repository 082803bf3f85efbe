// Optional Azure Container Registry for the module images. Admin user disabled: pushes use `az acr login`
// (Entra ID), and the device pulls with a repository-scoped pull token that deploy.sh creates.

@description('Registry name (5-50 letters and digits, globally unique).')
@minLength(5)
@maxLength(50)
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // checkov:skip=CKV_AZURE_139: the Raspberry Pi pulls images over the internet; private networking is Premium-only
  // checkov:skip=CKV_AZURE_163: vulnerability scanning (Defender for Containers) is a paid subscription-level plan
  // checkov:skip=CKV_AZURE_166: the quarantine policy exists only in the Premium tier, which costs about ten times Basic
  // checkov:skip=CKV_AZURE_233: zone redundancy exists only in the Premium tier; a lost registry is rebuilt with central build --push
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

@description('Registry name.')
output name string = registry.name

@description('Login server, e.g. NAME.azurecr.io.')
output loginServer string = registry.properties.loginServer
