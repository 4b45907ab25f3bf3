/**
 * The promises infra/ makes to a DPO and an operator, checked on the Bicep source itself (no
 * Bicep compiler or Azure access is available where tests run): the region cannot drift, the
 * audit anchors are write-protected, no key can leak through a template, and the settings the
 * template gives the app are the ones the app reads and would accept at start-up.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mssql from 'mssql';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { registrations } from '../../functions/index.js';
import { QUEUE_MAX_DELIVERIES } from '../../functions/registry.js';
import { CONTAINERS } from '../../shared/blob/blob-storage.js';
import { MAX_IMPORT_ATTEMPTS } from '../../shared/imports/reasons.js';
import * as config from '../../shared/config.js';
import { SECRET_NAMES } from '../../shared/secrets/secret-source.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const infraDir = join(repoRoot, 'infra');

function read(relativePath: string): string {
  return readFileSync(join(repoRoot, relativePath), 'utf8');
}

const bicepFiles: readonly string[] = [
  'infra/main.bicep',
  ...readdirSync(join(infraDir, 'modules'))
    .filter((f) => f.endsWith('.bicep'))
    .map((f) => `infra/modules/${f}`),
];

// ---------------------------------------------------------------------------------------------
// A small reader for the subset of Bicep these templates use: enough to find a resource's body
// and an object's entries without being fooled by braces inside strings, interpolations or
// comments.

/** Index just past the string literal that opens at `start`, interpolations included. */
function skipString(text: string, start: number): number {
  if (text.startsWith("'''", start)) {
    const end = text.indexOf("'''", start + 3);
    if (end < 0) throw new Error('unterminated multi-line string');
    return end + 3;
  }
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      i += 2;
    } else if (c === "'") {
      return i + 1;
    } else if (c === '$' && text[i + 1] === '{') {
      i = skipBalanced(text, i + 2);
    } else {
      i += 1;
    }
  }
  throw new Error(`unterminated string at ${start}`);
}

/** From just inside an opening bracket, index just past its matching closing bracket. */
function skipBalanced(text: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === "'") {
      i = skipString(text, i);
      continue;
    }
    if (text.startsWith('//', i)) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
      continue;
    }
    if (text.startsWith('/*', i)) {
      i = text.indexOf('*/', i) + 2;
      continue;
    }
    if ('{(['.includes(c)) depth += 1;
    if ('})]'.includes(c)) {
      if (depth === 0) return i + 1;
      depth -= 1;
    }
    i += 1;
  }
  throw new Error(`unbalanced bracket after ${from}`);
}

interface BicepResource {
  readonly symbol: string;
  readonly type: string;
  /** The text inside the resource's braces. */
  readonly body: string;
  readonly condition: string | undefined;
}

function resourcesIn(text: string): BicepResource[] {
  const declaration =
    /^[ \t]*resource\s+(\w+)\s+'([^']+)'\s+(?:existing\s+)?=\s*(?:if\s*\((.*)\)\s*)?(?:\[\s*for\b[^:]*:\s*)?\{/gm;
  return [...text.matchAll(declaration)].map((m) => {
    const open = m.index + m[0].length;
    const close = skipBalanced(text, open);
    return { symbol: m[1] ?? '', type: m[2] ?? '', body: text.slice(open, close - 1), condition: m[3] };
  });
}

function resourcesOfType(text: string, typePrefix: string): BicepResource[] {
  return resourcesIn(text).filter((r) => r.type.startsWith(`${typePrefix}@`));
}

function onlyResource(text: string, typePrefix: string): BicepResource {
  const found = resourcesOfType(text, typePrefix);
  expect(found, `exactly one ${typePrefix}`).toHaveLength(1);
  return found[0]!;
}

/** The entries of an object body: key -> value text (comments dropped). */
function objectEntries(body: string): Map<string, string> {
  const entries = new Map<string, string>();
  let i = 0;
  for (;;) {
    while (i < body.length) {
      if (/\s/.test(body[i] ?? '')) i += 1;
      else if (body.startsWith('//', i)) i = body.indexOf('\n', i) < 0 ? body.length : body.indexOf('\n', i);
      else if (body.startsWith('/*', i)) i = body.indexOf('*/', i) + 2;
      else break;
    }
    if (i >= body.length) return entries;
    const key = /^(?:'([^']*)'|([A-Za-z_]\w*))\s*:\s*/.exec(body.slice(i));
    if (!key) throw new Error(`unexpected text in object: ${body.slice(i, i + 60)}`);
    i += key[0].length;
    const start = i;
    while (i < body.length && body[i] !== '\n' && !body.startsWith('//', i)) {
      const c = body[i] ?? '';
      if (c === "'") i = skipString(body, i);
      else if ('{(['.includes(c)) i = skipBalanced(body, i + 1);
      else i += 1;
    }
    entries.set(key[1] ?? key[2] ?? '', body.slice(start, i).trim());
    const nl = body.indexOf('\n', i);
    i = nl < 0 ? body.length : nl + 1;
  }
}

/** The body of the object that is the value of `key` inside `body`. */
function nestedObject(body: string, key: string): string {
  const value = objectEntries(body).get(key);
  if (value === undefined || !value.startsWith('{')) throw new Error(`no object at ${key}`);
  return value.slice(1, -1);
}

/**
 * The value a setting would have once deployed: a string literal with its interpolations filled
 * from `sample`, or a parameter looked up in `sample`. Anything more complex is refused, so a
 * new kind of expression makes this test ask for a sample rather than guess.
 */
function evaluate(expression: string, sample: Readonly<Record<string, string>>): string {
  const lookup = (name: string): string => {
    const value = sample[name.trim()];
    if (value === undefined) throw new Error(`no sample value for ${name}`);
    return value;
  };
  if (/^[A-Za-z_][\w.]*$/.test(expression)) return lookup(expression);
  if (expression.startsWith("'") && skipString(expression, 0) === expression.length) {
    let out = '';
    let i = 1;
    while (i < expression.length - 1) {
      if (expression[i] === '\\') {
        out += expression[i + 1];
        i += 2;
      } else if (expression.startsWith('${', i)) {
        const end = skipBalanced(expression, i + 2);
        out += lookup(expression.slice(i + 2, end - 1));
        i = end;
      } else {
        out += expression[i];
        i += 1;
      }
    }
    return out;
  }
  throw new Error(`cannot evaluate ${expression}`);
}

/** The blank-line-separated chunk holding `param <name>`: its decorators and comments. */
function paramDeclaration(text: string, name: string): string {
  const chunk = text.split(/\n\s*\n/).find((c) => new RegExp(`^param ${name}\\b`, 'm').test(c));
  if (!chunk) throw new Error(`no param ${name}`);
  return chunk;
}

function paramNames(text: string): string[] {
  return [...text.matchAll(/^param (\w+) /gm)].map((m) => m[1] ?? '');
}

function quotedItems(text: string): string[] {
  return [...text.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? '');
}

// ---------------------------------------------------------------------------------------------

const main = read('infra/main.bicep');
const storage = read('infra/modules/storage.bicep');
const functionApp = read('infra/modules/function-app.bicep');

const UK_REGIONS = ['uksouth', 'ukwest'];

function allowedLocationsOf(text: string): string[] {
  const allowed = /@allowed\(\[([^\]]*)\]\)/.exec(paramDeclaration(text, 'location'));
  return allowed ? quotedItems(allowed[1] ?? '') : [];
}

function appSettings(): Map<string, string> {
  const resource = resourcesOfType(functionApp, 'Microsoft.Web/sites/config').find(
    (r) => objectEntries(r.body).get('name') === "'appsettings'",
  );
  if (!resource) throw new Error('no appsettings resource');
  return objectEntries(nestedObject(resource.body, 'properties'));
}

const sqlConnectionString = evaluate(objectOutputs(read('infra/modules/sql.bicep')).get('connectionString') ?? '', {
  'server.properties.fullyQualifiedDomainName': 'sql-lintel-example.database.windows.net',
  'database.name': 'lintel',
});

function objectOutputs(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^output (\w+) \w+ = (.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

/** One plausible set of parameter values for function-app.bicep, as main.bicep would pass them. */
const deployedSample: Record<string, string> = {
  storageAccountName: 'stexample',
  blobEndpoint: 'https://stexample.blob.core.windows.net/',
  queueEndpoint: 'https://stexample.queue.core.windows.net/',
  identityClientId: '11111111-1111-1111-1111-111111111111',
  applicationInsightsConnectionString: 'IngestionEndpoint=https://uksouth-1.in.applicationinsights.azure.com/',
  keyVaultUri: 'https://kv-lintel-example.vault.azure.net/',
  sqlConnectionString,
  location: 'uksouth',
  entraTenantId: '22222222-2222-2222-2222-222222222222',
  apiAudience: '66666666-7777-8888-9999-000000000000',
  partyClientIdsJson: '{}',
  secretVersionsJson: '{}',
  curatedHistoryDays: '400',
  importMaxBadRowShare: '0.05',
  rateLimitPerMinute: '1200',
  rateLimitUnauthenticatedPerMinute: '60',
  curatedMinCell: '10',
  logLevel: 'info',
};

function deployedSettings(): Record<string, string> {
  return Object.fromEntries(
    [...appSettings()].map(([name, expression]) => [name, evaluate(expression, deployedSample)]),
  );
}

function settingNamesReadByApp(): string[] {
  const exported = (config as unknown as Record<string, unknown>)['settingNames'];
  if (Array.isArray(exported)) return exported.map(String);
  const shape = (config.settingsSchema as unknown as { shape?: Record<string, unknown> }).shape;
  if (!shape) throw new Error('shared/config.ts exposes neither settingNames nor settingsSchema.shape');
  return Object.keys(shape);
}

/** Settings read by the Functions host or the Azure SDKs rather than by shared/config.ts. */
const PLATFORM_SETTINGS: Readonly<Record<string, string>> = {
  AzureWebJobsStorage__accountName: 'Functions host: its storage account, reached with an identity',
  AzureWebJobsStorage__queueServiceUri: 'Functions host: the queue the import function is the trigger of',
  AzureWebJobsStorage__credential: 'Functions host: use a managed identity',
  AzureWebJobsStorage__clientId: 'Functions host: which user-assigned identity',
  AZURE_CLIENT_ID: '@azure/identity DefaultAzureCredential: which user-assigned identity',
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'Functions host: where telemetry goes',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Functions host: send telemetry with Entra auth',
};

// ---------------------------------------------------------------------------------------------

describe('infra: region pinning', () => {
  it('offers only UK South and UK West as the deployment region, with no default', () => {
    expect(allowedLocationsOf(main)).toEqual(UK_REGIONS);
    expect(paramDeclaration(main, 'location')).toMatch(/^param location string$/m);
    const allowedRegions = /^var allowedRegions = \[([^\]]*)\]/m.exec(main);
    expect(quotedItems(allowedRegions?.[1] ?? '')).toEqual(UK_REGIONS);
  });

  it('puts every resource in that one region: no module chooses a region of its own', () => {
    for (const file of bicepFiles) {
      const text = read(file);
      const locations = [...text.matchAll(/^\s*location:\s*(.+?)\s*$/gm)].map((m) => m[1]);
      for (const value of locations) expect(value, `${file}: location`).toBe('location');
      if (file !== 'infra/main.bicep' && locations.length > 0) {
        expect(text, `${file}: location must be a parameter without default`).toMatch(/^param location string$/m);
      }
      expect(text, file).not.toMatch(/resourceGroup\(\)\.location|deployment\(\)\.location/);
    }
  });

  it('assigns Azure Policy "Allowed locations" to the resource group with the same regions', () => {
    const policy = read('infra/modules/region-policy.bicep');
    const assignment = onlyResource(policy, 'Microsoft.Authorization/policyAssignments');
    const properties = nestedObject(assignment.body, 'properties');
    expect(objectEntries(properties).get('policyDefinitionId')).toContain("'e56962a6-4747-49cd-b67b-bf8b01975c4c'");
    expect(
      objectEntries(nestedObject(nestedObject(properties, 'parameters'), 'listOfAllowedLocations')).get('value'),
    ).toBe('allowedRegions');
    expect(objectEntries(properties).get('enforcementMode')).toBe("'Default'");
    // main.bicep scopes it to the resource group and hands it the allowed list.
    const moduleCall = /^module regionPolicy 'modules\/region-policy\.bicep' = \{([\s\S]*?)^\}/m.exec(main)?.[1] ?? '';
    expect(moduleCall).toMatch(/^\s*scope: rg$/m);
    expect(moduleCall).toMatch(/^\s*allowedRegions: allowedRegions$/m);
    // And, at subscription scope, new resource groups too.
    const rgPolicy = onlyResource(main, 'Microsoft.Authorization/policyAssignments');
    expect(rgPolicy.body).toContain("'e765b5de-1225-4ba3-bd56-1ac6695af988'");
    expect(rgPolicy.body).toMatch(/value: allowedRegions/);
  });

  it('tells the app to refuse any region outside the same list', () => {
    const settings = deployedSettings();
    expect(settings['ALLOWED_REGIONS']?.split(',')).toEqual(UK_REGIONS);
    expect(appSettings().get('DEPLOYMENT_REGION')).toBe('location');
  });
});

describe('infra: storage', () => {
  const account = onlyResource(storage, 'Microsoft.Storage/storageAccounts');
  const properties = objectEntries(nestedObject(account.body, 'properties'));

  it('reaches blobs only with Entra identities, over TLS 1.2, with no public blob access', () => {
    expect(objectEntries(account.body).get('kind')).toBe("'StorageV2'");
    expect(properties.get('allowSharedKeyAccess')).toBe('false');
    expect(properties.get('allowBlobPublicAccess')).toBe('false');
    expect(properties.get('minimumTlsVersion')).toBe("'TLS1_2'");
    expect(properties.get('supportsHttpsTrafficOnly')).toBe('true');
  });

  it('accepts SFTP drop-offs, which need the hierarchical namespace', () => {
    expect(properties.get('isHnsEnabled')).toBe('true');
    expect(properties.get('isSftpEnabled')).toBe('sftpEnabled');
    expect(properties.get('isLocalUserEnabled')).toBe('sftpEnabled');
    expect(paramDeclaration(main, 'sftpEnabled')).toMatch(/^param sftpEnabled bool = true$/m);
  });

  it('declares every container the app reads and writes', () => {
    const declared = new Set([
      ...quotedItems(/^var dataContainerNames = \[([^\]]*)\]/m.exec(storage)?.[1] ?? ''),
      ...[...storage.matchAll(/^var \w+ContainerName = '([^']+)'$/gm)].map((m) => m[1]),
    ]);
    for (const container of Object.values(CONTAINERS)) expect(declared, container).toContain(container);
  });

  it('write-protects the audit anchors with a time-based policy that still allows appends', () => {
    const anchorsContainer = resourcesOfType(storage, 'Microsoft.Storage/storageAccounts/blobServices/containers').find(
      (r) => objectEntries(r.body).get('name') === 'auditAnchorsContainerName',
    );
    expect(/^var auditAnchorsContainerName = '([^']+)'$/m.exec(storage)?.[1]).toBe(CONTAINERS.auditAnchors);
    expect(anchorsContainer).toBeDefined();
    const policy = onlyResource(
      storage,
      'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies',
    );
    expect(objectEntries(policy.body).get('parent')).toBe(anchorsContainer?.symbol);
    const policyProperties = objectEntries(nestedObject(policy.body, 'properties'));
    expect(policyProperties.get('allowProtectedAppendWrites')).toBe('true');
    // The two append modes are mutually exclusive; only the append-blob one is wanted.
    expect(policyProperties.has('allowProtectedAppendWritesAll')).toBe(false);
    expect(policyProperties.get('immutabilityPeriodSinceCreationInDays')).toBe('auditAnchorRetentionDays');
    // Only skipped once the operator has locked it (a locked policy cannot be re-declared).
    expect(policy.condition).toBe('!auditAnchorPolicyLocked');
    expect(paramDeclaration(main, 'auditAnchorPolicyLocked')).toMatch(/= false$/m);
  });

  it("deletes partners' raw files from processed/ and rejected/, and planning counts' history, after the set days, and never from incoming/", () => {
    const policy = onlyResource(storage, 'Microsoft.Storage/storageAccounts/managementPolicies');
    expect(objectEntries(policy.body).get('name')).toBe("'default'");
    const rules = nestedObject(nestedObject(policy.body, 'properties'), 'policy');
    const daysByPrefix = new Map<string, string>();
    for (const rule of rules.split(/\n\s*\{\n/).slice(1)) {
      const prefixes = quotedItems(/prefixMatch:\s*\[([^\]]*)\]/.exec(rule)?.[1] ?? '');
      const days = /daysAfterModificationGreaterThan:\s*(\w+)/.exec(rule)?.[1] ?? '';
      for (const prefix of prefixes) daysByPrefix.set(prefix, days);
    }
    expect(Object.fromEntries(daysByPrefix)).toEqual({
      [`${CONTAINERS.processed}/`]: 'processedRetentionDays',
      [`${CONTAINERS.rejected}/`]: 'rejectedRetentionDays',
      [`${CONTAINERS.curated}/`]: 'curatedHistoryDays',
    });
    expect(paramDeclaration(main, 'curatedHistoryDays')).toMatch(/= 400$/m);
    // The store's view keeps the export's releases as long as the container keeps their files.
    expect(deployedSettings().CURATED_HISTORY_DAYS).toBe('400');
    expect(read('infra/main.bicep')).toMatch(/^\s*curatedHistoryDays: curatedHistoryDays$/m);
    expect(paramDeclaration(main, 'processedRetentionDays')).toMatch(/= 30$/m);
    expect(paramDeclaration(main, 'rejectedRetentionDays')).toMatch(/= 30$/m);
  });

  it('keeps deleted files recoverable, and never turns on versioning the namespace does not support', () => {
    const blobService = onlyResource(storage, 'Microsoft.Storage/storageAccounts/blobServices');
    const serviceProperties = nestedObject(blobService.body, 'properties');
    expect(objectEntries(nestedObject(serviceProperties, 'deleteRetentionPolicy')).get('enabled')).toBe('true');
    expect(objectEntries(nestedObject(serviceProperties, 'containerDeleteRetentionPolicy')).get('enabled')).toBe(
      'true',
    );
    expect(storage).not.toMatch(/isVersioningEnabled:\s*true/);
  });
});

describe('infra: keys and secrets', () => {
  it('keeps the Key Vault role-based, soft-deleting and purge-protected', () => {
    const vault = onlyResource(read('infra/modules/key-vault.bicep'), 'Microsoft.KeyVault/vaults');
    const properties = objectEntries(nestedObject(vault.body, 'properties'));
    expect(properties.get('enableRbacAuthorization')).toBe('true');
    expect(properties.get('enableSoftDelete')).toBe('true');
    expect(properties.get('enablePurgeProtection')).toBe('true');
    expect(properties.has('accessPolicies')).toBe(false);
  });

  it('puts no secret value in any template or parameter file', () => {
    const secretLooking: readonly RegExp[] = [
      /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
      /AccountKey=/i,
      /SharedAccessSignature=|[?&]sig=/i,
      /\b(?:Password|Pwd)\s*=/i,
      /\bUser ID\s*=/i,
      /administratorLoginPassword/,
      /InstrumentationKey=[0-9a-f-]{36}/i,
      /'[A-Za-z0-9+/]{43}='/, // a 32-byte key in base64
      /code=[A-Za-z0-9_-]{20,}/, // a function key written out
    ];
    for (const file of [...bicepFiles, 'infra/main.parameters.json', 'azure.yaml']) {
      const text = read(file);
      for (const pattern of secretLooking) expect(text, `${file} matches ${pattern}`).not.toMatch(pattern);
      expect(text, file).not.toContain("'Microsoft.KeyVault/vaults/secrets@");
    }
  });

  it('takes no shared key where data or logs are kept: storage, Application Insights and its workspace', () => {
    // A workspace's shared keys can still write into it (the HTTP Data Collector API, legacy
    // agents) beside the blob and Key Vault audit logs the DPO relies on, whoever holds them.
    const monitoring = read('infra/modules/monitoring.bicep');
    const workspace = onlyResource(monitoring, 'Microsoft.OperationalInsights/workspaces');
    const workspaceProperties = nestedObject(workspace.body, 'properties');
    expect(objectEntries(nestedObject(workspaceProperties, 'features')).get('disableLocalAuth')).toBe('true');
    const insights = onlyResource(monitoring, 'Microsoft.Insights/components');
    expect(objectEntries(nestedObject(insights.body, 'properties')).get('DisableLocalAuth')).toBe('true');
    const account = onlyResource(storage, 'Microsoft.Storage/storageAccounts');
    expect(objectEntries(nestedObject(account.body, 'properties')).get('allowSharedKeyAccess')).toBe('false');
  });

  it("sends every secret read and every blob read, write and delete, with the caller's identity, to the workspace", () => {
    // The DPO's evidence that only lintel's identity used the keys, and of who touched a file.
    for (const [file, scope] of [
      ['infra/modules/key-vault.bicep', 'vault'],
      ['infra/modules/storage.bicep', 'blobService'],
    ] as const) {
      const setting = onlyResource(read(file), 'Microsoft.Insights/diagnosticSettings');
      expect(objectEntries(setting.body).get('scope'), file).toBe(scope);
      const properties = nestedObject(setting.body, 'properties');
      expect(objectEntries(properties).get('workspaceId'), file).toBe('logAnalyticsWorkspaceId');
      const logs = objectEntries(properties).get('logs') ?? '';
      expect(logs, file).toMatch(/categoryGroup: '(?:audit|allLogs)'/);
      expect(logs, file).toMatch(/enabled: true/);
    }
    expect(main.match(/^\s*logAnalyticsWorkspaceId: monitoring\.outputs\.workspaceId$/gm)).toHaveLength(2);
  });

  it('reads no key in any template: every grant is to an identity', () => {
    const uses = bicepFiles.flatMap((file) =>
      read(file)
        .split('\n')
        .filter((line) => /listKeys|listSecrets|listConnectionStrings/.test(line) && !line.trim().startsWith('//'))
        .map((line) => ({ file, line: line.trim() })),
    );
    expect(uses).toEqual([]);
  });

  it('tells the operator how to create every secret the app reads, without secret values', () => {
    const readme = read('infra/README.md');
    for (const name of SECRET_NAMES) expect(readme, name).toContain(`--name ${name} --file`);
    expect(readme).toMatch(/openssl rand -base64 32/);
    expect(readme).toMatch(/openssl genpkey -algorithm ed25519/);
  });
});

describe('infra: identities and access', () => {
  const roles = read('infra/modules/role-assignments.bicep');
  const assignments = resourcesOfType(roles, 'Microsoft.Authorization/roleAssignments').map((r) => {
    const properties = objectEntries(nestedObject(r.body, 'properties'));
    return {
      scope: objectEntries(r.body).get('scope'),
      principalId: properties.get('principalId'),
      roleDefinitionId: properties.get('roleDefinitionId'),
    };
  });
  const roleIds = objectEntries(/^var roles = \{([\s\S]*?)^\}/m.exec(roles)?.[1] ?? '');

  function appGrants(roleKey: string): (string | undefined)[] {
    return assignments
      .filter((a) => a.principalId === 'appPrincipalId' && a.roleDefinitionId?.includes(`roles.${roleKey})`))
      .map((a) => a.scope);
  }

  it('grants each role on one named resource (app: blobs, secrets, telemetry; operator: secrets), never wider', () => {
    expect(roleIds.get('storageBlobDataOwner')).toBe("'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'");
    expect(roleIds.get('keyVaultSecretsUser')).toBe("'4633458b-17de-408a-b874-0445c86b69e6'");
    expect(roleIds.get('storageQueueDataContributor')).toBe("'974c5e8b-45b9-4653-ba55-5f855dd0fb88'");
    expect(appGrants('storageBlobDataOwner')).toEqual(['storageAccount']);
    // The import queue's trigger, and the host moving a failing message to the poison queue.
    expect(appGrants('storageQueueDataContributor')).toEqual(['storageAccount']);
    expect(appGrants('keyVaultSecretsUser')).toEqual(['vault']);
    expect(appGrants('monitoringMetricsPublisher')).toEqual(['applicationInsights']);
    // Nothing is granted on the whole resource group or subscription: every assignment names
    // one of the resources it is for.
    expect(assignments.length).toBeGreaterThanOrEqual(5);
    for (const a of assignments) expect(['storageAccount', 'vault', 'applicationInsights']).toContain(a.scope);
    const operator = assignments.filter((a) => a.principalId === 'operatorPrincipalId');
    expect(operator.map((a) => [a.scope, a.roleDefinitionId?.includes('roles.keyVaultSecretsOfficer)')])).toEqual([
      ['vault', true],
    ]);
  });

  it('tells the operator how to get the data role each storage command in the guide needs, as the template grants none', () => {
    // The operator holds Key Vault Secrets Officer alone (above) and the account takes no shared
    // key, so an `az storage` data command signed in as the operator is refused 403 unless the
    // guide has them grant themselves a role for it first, as step 6 does for the anchors.
    const guide = read('infra/README.md');
    const commands = [...guide.matchAll(/az storage (blob|message) ([\w-]+)[^`]*?--auth-mode login/g)].map((m) => ({
      command: `az storage ${m[1]} ${m[2]}`,
      roleFamily: m[1] === 'message' ? 'Storage Queue Data ' : 'Storage Blob Data ',
    }));
    expect(commands.length).toBeGreaterThan(0);
    const granted = [...guide.matchAll(/az role assignment create[^`]*?--role "([^"]+)"/g)].map((m) => m[1] ?? '');
    for (const { command, roleFamily } of commands)
      expect(
        granted.filter((role) => role.startsWith(roleFamily)),
        `a ${roleFamily}… grant for ${command}`,
      ).not.toEqual([]);
  });

  it('lets only Entra identities into SQL, over TLS 1.2, with the app signing in as its managed identity', () => {
    const server = onlyResource(read('infra/modules/sql.bicep'), 'Microsoft.Sql/servers');
    const properties = nestedObject(server.body, 'properties');
    expect(objectEntries(properties).get('minimalTlsVersion')).toBe("'1.2'");
    expect(objectEntries(nestedObject(properties, 'administrators')).get('azureADOnlyAuthentication')).toBe('true');
    // Parsed the way shared/store/database.ts parses it: no user means managed identity.
    const parsed = mssql.ConnectionPool.parseConnectionString(sqlConnectionString) as {
      server?: string;
      database?: string;
      user?: string;
      password?: string;
      options?: { encrypt?: boolean };
    };
    expect(parsed.server).toBe('sql-lintel-example.database.windows.net');
    expect(parsed.database).toBe('lintel');
    expect(parsed.user).toBeUndefined();
    expect(parsed.password).toBeUndefined();
    expect(parsed.options?.encrypt).toBe(true);
  });
});

describe('infra: the Function App', () => {
  it('sets only settings that lintel or the platform reads', () => {
    const known = new Set([...settingNamesReadByApp(), ...Object.keys(PLATFORM_SETTINGS)]);
    const unknown = [...appSettings().keys()].filter((name) => !known.has(name));
    expect(unknown).toEqual([]);
  });

  it('lets an operator set the thresholds a DPO may ask to change through azd env values, not the portal', () => {
    const settings = config.loadConfig(deployedSettings());
    expect(settings).toMatchObject({
      IMPORT_MAX_BAD_ROW_SHARE: 0.05,
      RATE_LIMIT_PER_MINUTE: 1200,
      RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: 60,
      CURATED_MIN_CELL: 10,
      CURATED_HISTORY_DAYS: 400,
      LOG_LEVEL: 'info',
    });
    const parameterFile = read('infra/main.parameters.json');
    for (const name of [
      'LINTEL_IMPORT_MAX_BAD_ROW_SHARE=0.05',
      'LINTEL_RATE_LIMIT_PER_MINUTE=1200',
      'LINTEL_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE=60',
      'LINTEL_CURATED_MIN_CELL=10',
      'LINTEL_CURATED_HISTORY_DAYS=400',
      'LINTEL_LOG_LEVEL=info',
    ])
      expect(parameterFile).toContain(`\${${name}}`);
  });

  it('gives the app settings that pass its own production start-up checks', () => {
    const settings = config.loadConfig(deployedSettings());
    expect(settings.LINTEL_ENV).toBe('production');
    expect(settings.STORE_ENGINE).toBe('mssql');
    expect(settings.SECRETS_SOURCE).toBe('keyvault');
    expect(settings.KEY_VAULT_URI).toBe(deployedSample['keyVaultUri']);
    expect(settings.AzureWebJobsStorage__blobServiceUri).toBe(deployedSample['blobEndpoint']);
    expect(deployedSettings()['AzureWebJobsStorage__queueServiceUri']).toBe(deployedSample['queueEndpoint']);
    expect(settings.MSSQL_CONNECTION_STRING).toBe(sqlConnectionString);
    expect(deployedSettings()['AUTH_ISSUER']).toBe(
      `https://login.microsoftonline.com/${deployedSample['entraTenantId']}/v2.0`,
    );
  });

  it('keeps secrets out of app settings: no storage connection string, no Key Vault references', () => {
    const settings = deployedSettings();
    expect(settings).not.toHaveProperty('AzureWebJobsStorage');
    for (const [name, value] of Object.entries(settings)) expect(value, name).not.toContain('@Microsoft.KeyVault(');
  });

  it('runs on Flex Consumption with Node 22, without the settings that plan rejects', () => {
    const plan = onlyResource(functionApp, 'Microsoft.Web/serverfarms');
    expect(objectEntries(nestedObject(plan.body, 'sku')).get('name')).toBe("'FC1'");
    const site = onlyResource(functionApp, 'Microsoft.Web/sites');
    const appConfig = nestedObject(nestedObject(site.body, 'properties'), 'functionAppConfig');
    expect(objectEntries(nestedObject(appConfig, 'runtime'))).toEqual(
      new Map([
        ['name', "'node'"],
        ['version', "'22'"],
      ]),
    );
    const deploymentStorage = nestedObject(nestedObject(appConfig, 'deployment'), 'storage');
    expect(objectEntries(nestedObject(deploymentStorage, 'authentication')).get('type')).toBe("'UserAssignedIdentity'");
    const rejectedOnFlex = [
      'FUNCTIONS_WORKER_RUNTIME',
      'FUNCTIONS_EXTENSION_VERSION',
      'WEBSITE_NODE_DEFAULT_VERSION',
      'WEBSITE_RUN_FROM_PACKAGE',
      'WEBSITE_CONTENTSHARE',
      'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
    ];
    for (const name of rejectedOnFlex) expect(appSettings().has(name), name).toBe(false);
    // azd deploys the `api` service (azure.yaml) to the app carrying this tag.
    expect(objectEntries(site.body).get('tags')).toContain("'azd-service-name': 'api'");
  });
});

describe('infra: blob imports through Event Grid and the import queue', () => {
  const subscriptionModule = read('infra/modules/blob-created-subscription.bicep');
  const subscription = onlyResource(subscriptionModule, 'Microsoft.EventGrid/systemTopics/eventSubscriptions');
  const topicModule = read('infra/modules/event-grid-topic.bicep');
  const parameterDefault = (name: string) =>
    new RegExp(`^param ${name} string = '([^']*)'$`, 'm').exec(subscriptionModule)?.[1];
  const hostJson = JSON.parse(read('host.json')) as {
    extensions?: { queues?: { maxDequeueCount?: number; visibilityTimeout?: string; messageEncoding?: string } };
  };

  it('writes the events of files landing in the watched container to the queue the import function is the trigger of', () => {
    // Read loosely: the registry's shape is functions/'s to change, and a change of trigger kind
    // must show up here as a failure rather than as a compile error in an unrelated test.
    const triggers = (registrations() as readonly unknown[])
      .map((r) => r as { kind: string; name: string; container?: string; queue?: string })
      // HTTP and timer triggers need no Event Grid wiring.
      .filter((r) => r.kind !== 'http' && r.kind !== 'timer');
    expect(triggers).toHaveLength(1);
    const trigger = triggers[0]!;
    expect(trigger.kind).toBe('blob-created');
    expect(parameterDefault('watchedContainerName')).toBe(trigger.container);
    expect(/^var importQueueName = '([^']*)'$/m.exec(main)?.[1]).toBe(trigger.queue);
    expect(storage).toMatch(/^output importQueueName string = importQueue\.name$/m);
    expect(main).toMatch(/^module blobEvents 'modules\/blob-created-subscription\.bicep' = \{$/m);

    const properties = nestedObject(subscription.body, 'properties');
    // Never the Event Grid extension's webhook: Event Grid gives a webhook 30 seconds, then
    // delivers again while the import still runs.
    expect(properties).not.toContain('WebHook');
    const delivery = nestedObject(properties, 'deliveryWithResourceIdentity');
    expect(objectEntries(nestedObject(delivery, 'identity')).get('type')).toBe("'SystemAssigned'");
    const destination = nestedObject(delivery, 'destination');
    expect(objectEntries(destination).get('endpointType')).toBe("'StorageQueue'");
    const queue = objectEntries(nestedObject(destination, 'properties'));
    expect(queue.get('queueName')).toBe('importQueueName');
    expect(queue.get('resourceId')).toBe('storageAccount.id');
    expect(queue.get('queueMessageTimeToLiveInSeconds')).toBe('-1');
    const filter = objectEntries(nestedObject(properties, 'filter'));
    expect(filter.get('subjectBeginsWith')).toBe("'/blobServices/default/containers/${watchedContainerName}/blobs/'");
    expect(filter.get('includedEventTypes')).toContain("'Microsoft.Storage.BlobCreated'");
    // The app parses the Event Grid schema (shared/blob/blob-created-event.ts), not CloudEvents.
    expect(objectEntries(properties).get('eventDeliverySchema')).toBe("'EventGridSchema'");
  });

  it('lets the topic add messages to the import queue alone, with its own identity', () => {
    const grant = resourcesOfType(topicModule, 'Microsoft.Authorization/roleAssignments').find(
      (r) => r.symbol === 'importQueueSender',
    )!;
    expect(grant).toBeDefined();
    expect(objectEntries(grant.body).get('scope')).toBe('storageAccount::queueService::importQueue');
    const properties = objectEntries(nestedObject(grant.body, 'properties'));
    expect(properties.get('principalId')).toBe('systemTopic.identity.principalId');
    expect(topicModule).toMatch(/^var storageQueueDataMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'$/m);
    expect(properties.get('roleDefinitionId')).toContain('storageQueueDataMessageSender');
  });

  it('retries a failed import past its own attempts, so the last delivery rejects the file with a report', () => {
    const queues = hostJson.extensions?.queues;
    expect(queues?.maxDequeueCount).toBe(QUEUE_MAX_DELIVERIES);
    expect(QUEUE_MAX_DELIVERIES).toBeGreaterThan(MAX_IMPORT_ATTEMPTS);
    // Minutes between attempts, as Event Grid's back-off gave before: an outage of the store is
    // ridden out rather than the file's attempts spent in seconds.
    expect(queues?.visibilityTimeout).toMatch(/^00:0[1-9]:00$/);
    expect(queues?.messageEncoding).toBe('base64');
    // The poison queue exists from the first deployment, for the operator's alert.
    expect(storage).toContain("name: '${importQueueName}-poison'");
  });

  it('imports an upload once it is complete, not when SFTP opens the empty file', () => {
    const filter = nestedObject(nestedObject(subscription.body, 'properties'), 'filter');
    const apis = quotedItems(objectEntries(filter).get('advancedFilters') ?? '');
    expect(apis).toContain('data.api');
    expect(apis).toEqual(expect.arrayContaining(['PutBlob', 'PutBlockList', 'FlushWithClose', 'SftpCommit']));
    expect(apis).not.toContain('SftpCreate');
    expect(apis).not.toContain('CreateFile');
  });

  it('imports an SFTP or Data Lake upload made under a temporary name when it is renamed to its own', () => {
    // WinSCP uploads as <name>.filepart and renames when complete: the final name is only ever
    // announced by BlobRenamed (functions/import-blob.ts imports its destination).
    const filter = nestedObject(nestedObject(subscription.body, 'properties'), 'filter');
    expect(objectEntries(filter).get('includedEventTypes')).toContain("'Microsoft.Storage.BlobRenamed'");
    const apis = quotedItems(objectEntries(filter).get('advancedFilters') ?? '');
    expect(apis).toEqual(expect.arrayContaining(['SftpRename', 'RenameFile']));
  });

  it('keeps undeliverable events instead of dropping them', () => {
    const properties = nestedObject(subscription.body, 'properties');
    const deadLetter = nestedObject(
      nestedObject(properties, 'deadLetterWithResourceIdentity'),
      'deadLetterDestination',
    );
    expect(objectEntries(deadLetter).get('endpointType')).toBe("'StorageBlob'");
  });
});

describe('infra: the azd project', () => {
  it('deploys the repository as one Function App service called api', () => {
    const project = parseYaml(read('azure.yaml')) as {
      infra?: { provider?: string; path?: string };
      services?: Record<string, { project?: string; language?: string; host?: string }>;
    };
    expect(project.infra).toMatchObject({ provider: 'bicep', path: 'infra' });
    expect(Object.keys(project.services ?? {})).toEqual(['api']);
    expect(project.services?.['api']).toMatchObject({ project: '.', host: 'function' });
    expect(['js', 'ts']).toContain(project.services?.['api']?.language);
  });

  it('deploys the folder `npm run package` stages, built here, not the repository and its development tools', () => {
    const api = (
      parseYaml(read('azure.yaml')) as {
        services: Record<string, { dist?: string; remoteBuild?: boolean; hooks?: Record<string, { run?: string }> }>;
      }
    ).services['api'];
    expect(api?.dist).toBe('.lintel/package');
    expect(api?.remoteBuild).toBe(false);
    expect(api?.hooks?.['prepackage']?.run).toBe('npm run package');
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['package']).toBe('tsx scripts/package.ts');
  });

  it('passes main.bicep only parameters it declares, and every one it requires', () => {
    const parameterFile = JSON.parse(read('infra/main.parameters.json')) as { parameters: Record<string, unknown> };
    const declared = paramNames(main);
    const passed = Object.keys(parameterFile.parameters);
    expect(passed.filter((name) => !declared.includes(name))).toEqual([]);
    const required = [...main.matchAll(/^param (\w+) [\w.]+$/gm)].map((m) => m[1]);
    expect(required.filter((name) => !passed.includes(name ?? ''))).toEqual([]);
  });

  it('turns every `azd env set` in the operator guide into a template parameter', () => {
    const parameterFile = read('infra/main.parameters.json');
    const told = new Set([...read('infra/README.md').matchAll(/azd env set ([A-Z_]+)/g)].map((m) => m[1] ?? ''));
    expect(told.size).toBeGreaterThan(0);
    for (const name of told) expect(parameterFile, name).toContain(`\${${name}`);
  });
});

describe('infra: how long one function execution may run (host.json functionTimeout)', () => {
  // Flex Consumption's documented limits (infra/README.md, "How long an import may run"): a
  // default of 30 minutes and no maximum, but an execution still running 60 minutes after its
  // instance is told to scale in is cut off. Left unset, the limit is whatever the plan defaults
  // to; unbounded ('-1'), a hung import would hold its queue message and its transaction's locks
  // for as long as the instance lives, and never be retried or rejected.
  const timeout = (JSON.parse(read('host.json')) as { functionTimeout?: unknown }).functionTimeout;
  const minutesOf = (value: unknown): number | undefined => {
    const m = typeof value === 'string' ? /^(\d{2}):([0-5]\d):([0-5]\d)$/.exec(value) : null;
    return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) / 60 : undefined;
  };

  it('is set, bounded, long enough for a large extract on Azure SQL and within the scale-in grace period', () => {
    const minutes = minutesOf(timeout);
    expect(minutes, 'functionTimeout as hh:mm:ss').toBeDefined();
    // 1M rows take 10–20 s against local SQLite (README, bench:import); allow Azure SQL fifty
    // times that, about 17 minutes, before an import is cut off and retried.
    expect(minutes).toBeGreaterThanOrEqual(20);
    // Past the 60-minute scale-in grace the platform may end the execution anyway, unlogged as a
    // timeout: a longer limit buys nothing.
    expect(minutes).toBeLessThanOrEqual(60);
  });

  it('holds for the plan the template deploys, and the operator guide gives the value and its reasons', () => {
    // The limits above are Flex Consumption's: the Consumption plan allows at most 10 minutes.
    expect(read('infra/modules/function-app.bicep')).toMatch(/name: 'FC1'\s+tier: 'FlexConsumption'/);
    expect(read('infra/README.md')).toContain(`\`functionTimeout\` ${String(timeout)}`);
  });
});
