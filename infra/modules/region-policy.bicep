// Region pinning enforced by Azure itself: with this assignment on the resource group, Azure
// Resource Manager refuses to create any resource in it outside the allowed regions - whoever
// asks, by whatever tool. The app's own ALLOWED_REGIONS check is the second line.

param assignmentName string

@description('Regions resources in this resource group may be created in.')
param allowedRegions array

resource allowedLocations 'Microsoft.Authorization/policyAssignments@2023-04-01' = {
  name: assignmentName
  properties: {
    displayName: 'lintel: resources only in ${join(allowedRegions, ', ')}'
    description: 'Data shared under the partnership\'s agreements stays in the UK. Built-in policy "Allowed locations".'
    // Built-in "Allowed locations". It ignores resources whose location is "global".
    policyDefinitionId: tenantResourceId('Microsoft.Authorization/policyDefinitions', 'e56962a6-4747-49cd-b67b-bf8b01975c4c')
    parameters: {
      listOfAllowedLocations: {
        value: allowedRegions
      }
    }
    enforcementMode: 'Default'
    nonComplianceMessages: [
      {
        message: 'lintel holds partnership data that must stay in the UK: only ${join(allowedRegions, ', ')} are allowed.'
      }
    ]
  }
}

output id string = allowedLocations.id
