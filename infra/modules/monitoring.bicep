// Log Analytics + Application Insights.
//
// lintel's logs carry ids, counts and hashes only (never names or numbers), so a 90-day
// workspace retention holds no personal data. Application Insights accepts telemetry only from
// an Entra identity (local auth off): the connection string alone cannot be used to write fake
// telemetry, so it is not treated as a secret. The workspace takes no shared key either: whoever
// held one could write records into the workspace that keeps the blob and Key Vault audit logs,
// and nothing here needs one (diagnostic settings and Application Insights write as Azure does).

param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 90
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

output workspaceId string = workspace.id
output applicationInsightsName string = applicationInsights.name
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString
