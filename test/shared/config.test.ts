import { describe, expect, it } from 'vitest';
import { ConfigurationError, loadConfig } from '../../shared/config.js';

const minimal = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
/** Production storage: the managed identity's blob service URI, as infra/ sets it. */
const azureStorage = { AzureWebJobsStorage__blobServiceUri: 'https://lintelprod.blob.core.windows.net' };
const azureSql = {
  STORE_ENGINE: 'mssql',
  MSSQL_CONNECTION_STRING: 'Server=tcp:sql-lintel.database.windows.net,1433;Database=lintel;Encrypt=true',
};

/** Production with Entra ID tokens and Key Vault, on production storage; the store not yet chosen. */
const entraProduction = {
  ...azureStorage,
  LINTEL_ENV: 'production',
  SECRETS_SOURCE: 'keyvault',
  KEY_VAULT_URI: 'https://lintel-kv.vault.azure.net/',
  AUTH_JWKS_URI: 'https://login.microsoftonline.com/12345678-90ab-cdef-1234-567890abcdef/discovery/v2.0/keys',
  AUTH_ISSUER: 'https://login.microsoftonline.com/12345678-90ab-cdef-1234-567890abcdef/v2.0',
  AUTH_AUDIENCE: '66666666-7777-8888-9999-000000000000',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigurationError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives the embedded defaults from a minimal environment', () => {
    const settings = loadConfig(minimal);
    expect(settings.STORE_ENGINE).toBe('sqlite');
    expect(settings.SQLITE_PATH).toBe('.lintel/lintel.db');
    expect(settings.SECRETS_SOURCE).toBe('local');
    expect(settings.ALLOWED_REGIONS).toEqual(['uksouth', 'ukwest']);
  });

  it('names a missing required setting', () => {
    expect(problemsOf({})).toEqual([expect.stringMatching(/^AzureWebJobsStorage: is required/)]);
    expect(problemsOf({ ...minimal, STORE_ENGINE: 'mssql' })).toEqual([
      expect.stringMatching(/^MSSQL_CONNECTION_STRING: is required/),
    ]);
  });

  it('names a malformed setting without echoing its value', () => {
    const secretLooking = 'sqlserver-with-password-Hunter2';
    const problems = problemsOf({ ...minimal, STORE_ENGINE: secretLooking, KEY_VAULT_URI: 'not a url Hunter2' });
    expect(problems).toHaveLength(2);
    expect(problems.some((p) => p.startsWith('STORE_ENGINE: must be one of sqlite, mssql'))).toBe(true);
    expect(problems.some((p) => p.startsWith('KEY_VAULT_URI:'))).toBe(true);
    expect(problems.join('\n')).not.toContain('Hunter2');
  });

  it('refuses an unresolved Key Vault reference', () => {
    const problems = problemsOf({
      ...minimal,
      STORE_ENGINE: 'mssql',
      MSSQL_CONNECTION_STRING: '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/sql/)',
    });
    expect(problems).toEqual([expect.stringMatching(/^MSSQL_CONNECTION_STRING: is an unresolved Key Vault reference/)]);
  });

  it('refuses to start outside the allowed regions', () => {
    expect(problemsOf({ ...minimal, REGION_NAME: 'East US' })).toEqual([
      expect.stringMatching(/^REGION_NAME: names a region outside ALLOWED_REGIONS/),
    ]);
    expect(loadConfig({ ...minimal, REGION_NAME: 'UK South' }).REGION_NAME).toBe('UK South');
  });

  // ALLOWED_REGIONS written as Azure displays regions (as REGION_NAME gives them) refused the
  // very region it allowed: the list kept the space that the region it was compared with lost.
  it('takes ALLOWED_REGIONS written as display names, as REGION_NAME gives a region', () => {
    expect(problemsOf({ ...minimal, ALLOWED_REGIONS: 'UK South, UK West', REGION_NAME: 'UK South' })).toEqual([]);
    expect(problemsOf({ ...minimal, ALLOWED_REGIONS: 'UK South', DEPLOYMENT_REGION: 'ukwest' })).toEqual([
      'DEPLOYMENT_REGION: names a region outside ALLOWED_REGIONS',
    ]);
  });

  it('refuses local secrets in production', () => {
    expect(problemsOf({ ...minimal, LINTEL_ENV: 'production' })).toContain(
      'SECRETS_SOURCE: must be keyvault in production',
    );
  });
});

describe('running in Azure', () => {
  // Azure sets WEBSITE_SITE_NAME on every Function App host. An app deployed without infra/'s
  // settings, or whose LINTEL_ENV was removed, ran as development: a pseudonymisation key made
  // on the instance's scratch disk, SQLite beside it, and no production check at all.
  const inAzure = { ...azureStorage, WEBSITE_SITE_NAME: 'func-lintel-prod' };

  it('refuses to run in Azure as development, whether LINTEL_ENV says so or is missing', () => {
    expect(problemsOf(inAzure)).toEqual(['LINTEL_ENV: must be production in Azure (WEBSITE_SITE_NAME is set)']);
    expect(problemsOf({ ...inAzure, LINTEL_ENV: 'development' })).toEqual([
      'LINTEL_ENV: must be production in Azure (WEBSITE_SITE_NAME is set)',
    ]);
    expect(problemsOf({ ...inAzure, LINTEL_ENV: 'test' })).toEqual([
      'LINTEL_ENV: must be production in Azure (WEBSITE_SITE_NAME is set)',
    ]);
  });

  it('control: production settings in Azure are accepted, and development outside it', () => {
    expect(
      problemsOf({
        ...inAzure,
        ...entraProduction,
        ...azureSql,
      }),
    ).toEqual([]);
    expect(problemsOf(azureStorage)).toEqual([]);
  });
});

describe('pinned secret versions', () => {
  // A pin under a misspelt name was taken and ignored: the secret it meant to hold still
  // followed Key Vault's latest version, changing under the running app at the next rotation.
  it('refuses a pin of a secret lintel does not read, rather than leave the secret it meant unpinned', () => {
    expect(problemsOf({ ...minimal, SECRET_VERSIONS: '{"pseudonymization-key":"3f2a"}' })).toEqual([
      'SECRET_VERSIONS: may name only the secrets pseudonymisation-key, audit-signing-key, person-ref-key',
    ]);
  });

  // Pinned to the whole secret id (or with a slash, a space) the app asked Key Vault for a version
  // that cannot be, and every import and lookup failed as a key unavailable, naming no setting.
  it('refuses a pin that is not a version id, naming the secret, quoting nothing of the pin', () => {
    const secretId = 'https://lintel-kv.vault.azure.net/secrets/pseudonymisation-key/3f2a9c';
    const problems = problemsOf({
      ...minimal,
      SECRET_VERSIONS: JSON.stringify({ 'pseudonymisation-key': secretId, 'person-ref-key': '3f2a ' }),
    });
    expect(problems).toEqual([
      'SECRET_VERSIONS: pins pseudonymisation-key, person-ref-key to what is not a version id (letters and digits: the last segment of the secret id)',
    ]);
    expect(problems.join('\n')).not.toContain('3f2a');
  });

  it('control: pins of the secrets lintel reads are taken', () => {
    expect(loadConfig({ ...minimal, SECRET_VERSIONS: '{"pseudonymisation-key":"3f2a"}' }).SECRET_VERSIONS).toEqual({
      'pseudonymisation-key': '3f2a',
    });
  });
});

describe('authentication settings', () => {
  const production = {
    ...azureStorage,
    ...azureSql,
    LINTEL_ENV: 'production',
    SECRETS_SOURCE: 'keyvault',
    KEY_VAULT_URI: 'https://lintel-kv.vault.azure.net/',
  };

  it('defaults to the development issuer outside production', () => {
    expect(loadConfig(minimal).AUTH_ISSUER).toBe('http://127.0.0.1:7071/dev-issuer');
  });

  it('requires explicit Entra ID settings in production', () => {
    expect(problemsOf(production).sort()).toEqual([
      expect.stringMatching(/^AUTH_AUDIENCE: is required in production/),
      expect.stringMatching(/^AUTH_ISSUER: is required in production/),
      expect.stringMatching(/^AUTH_JWKS_URI: is required in production/),
    ]);
  });

  it('never accepts the development issuer in production', () => {
    const problems = problemsOf({
      ...production,
      AUTH_JWKS_URI: 'http://127.0.0.1:7071/dev-issuer/jwks.json',
      AUTH_ISSUER: 'http://127.0.0.1:7071/dev-issuer',
      AUTH_AUDIENCE: 'api://lintel',
    });
    expect(problems).toContain('AUTH_ISSUER: must not be the development issuer in production');
    expect(problems).toContain('AUTH_JWKS_URI: must be https in production');
  });

  const entra = {
    ...production,
    AUTH_JWKS_URI: 'https://login.microsoftonline.com/12345678-90ab-cdef-1234-567890abcdef/discovery/v2.0/keys',
    AUTH_ISSUER: 'https://login.microsoftonline.com/12345678-90ab-cdef-1234-567890abcdef/v2.0',
  };

  it("takes Entra ID's v2.0 audience as the API's client id, and refuses its api:// URI, which no token carries", () => {
    expect(problemsOf({ ...entra, AUTH_AUDIENCE: '66666666-7777-8888-9999-000000000000' })).toEqual([]);
    expect(problemsOf({ ...entra, AUTH_AUDIENCE: 'api://lintel' })).toEqual([
      expect.stringMatching(/^AUTH_AUDIENCE: must be the API app registration's client id/),
    ]);
  });

  it('says an issuer that is not a URL is not a URL', () => {
    expect(
      problemsOf({
        ...entra,
        AUTH_ISSUER: 'login.microsoftonline.com/12345678-90ab-cdef-1234-567890abcdef/v2.0',
        AUTH_AUDIENCE: 'x',
      }),
    ).toEqual(['AUTH_ISSUER: must be an https URL in production']);
  });
});

describe('numeric settings', () => {
  it.each([
    ['RATE_LIMIT_PER_MINUTE', '0', 'must be more than 0'],
    ['RATE_LIMIT_PER_MINUTE', '1.5', 'must be a whole number'],
    ['IMPORT_MAX_BAD_ROW_SHARE', '5', 'must be at most 1'],
    ['CURATED_MIN_CELL', '6', 'must be at least 7'],
    ['CURATED_HISTORY_DAYS', 'soon', 'must be a number'],
    // A negative number is a number: its refusal says what the setting may be.
    ['RATE_LIMIT_PER_MINUTE', '-5', 'must be more than 0'],
    ['RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE', '-60', 'must be more than 0'],
    ['IMPORT_MAX_BAD_ROW_SHARE', '-0.05', 'must be at least 0'],
    ['CURATED_MIN_CELL', '-10', 'must be at least 7'],
    ['CURATED_HISTORY_DAYS', '-400', 'must be more than 0'],
  ])('%s=%s: %s', (name, value, message) => {
    expect(problemsOf({ ...minimal, [name]: value })).toEqual([`${name}: ${message}`]);
  });
});

describe('numeric settings written otherwise than as plain decimals (found by a review)', () => {
  it('refuses a blank-but-not-empty IMPORT_MAX_BAD_ROW_SHARE instead of reading it as 0', () => {
    // Number('  ') is 0: a stray space turns "5% bad rows allowed" into "no bad row allowed".
    expect(problemsOf({ ...minimal, IMPORT_MAX_BAD_ROW_SHARE: '  ' })).toEqual([
      expect.stringMatching(/^IMPORT_MAX_BAD_ROW_SHARE:/),
    ]);
  });

  it('refuses a hexadecimal IMPORT_MAX_BAD_ROW_SHARE instead of reading 0x1 as 100% bad rows allowed', () => {
    expect(problemsOf({ ...minimal, IMPORT_MAX_BAD_ROW_SHARE: '0x1' })).toEqual([
      expect.stringMatching(/^IMPORT_MAX_BAD_ROW_SHARE:/),
    ]);
  });

  it('refuses a non-decimal CURATED_MIN_CELL (0x10, 1e1) rather than silently converting it', () => {
    expect(problemsOf({ ...minimal, CURATED_MIN_CELL: '0x10' })).toEqual([expect.stringMatching(/^CURATED_MIN_CELL:/)]);
  });
});

describe('production transport and issuer settings (found by a review)', () => {
  const entraProductionOnSql = { ...entraProduction, ...azureSql };

  it('control: the Entra ID production settings are accepted', () => {
    expect(problemsOf(entraProductionOnSql)).toEqual([]);
  });

  it('refuses a Key Vault URI that is not https in production (secrets and the identity token would go in clear)', () => {
    expect(problemsOf({ ...entraProductionOnSql, KEY_VAULT_URI: 'http://lintel-kv.vault.azure.net/' })).toEqual([
      expect.stringMatching(/^KEY_VAULT_URI:/),
    ]);
  });

  // Entra ID's v2.0 tokens carry `iss` as https://login.microsoftonline.com/{tenant GUID}/v2.0 and
  // the issuer is compared exactly: any other spelling of it started, and refused every partner's
  // token with the one 401 that never says why.
  it.each([
    ['with a trailing slash', 'https://login.microsoftonline.com/12345678-90ab-cdef-1234-567890abcdef/v2.0/'],
    ['naming the tenant by its domain', 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0'],
    ['for any organisation (common)', 'https://login.microsoftonline.com/common/v2.0'],
    [
      "with the tenant left as the discovery document's placeholder",
      'https://login.microsoftonline.com/{tenantid}/v2.0',
    ],
    ['with the tenant GUID in capitals', 'https://login.microsoftonline.com/12345678-90AB-CDEF-1234-567890ABCDEF/v2.0'],
  ])('refuses an Entra ID v2.0 issuer %s, which no token carries', (_name, issuer) => {
    expect(problemsOf({ ...entraProductionOnSql, AUTH_ISSUER: issuer })).toEqual([
      "AUTH_ISSUER: must be Entra ID's v2.0 issuer as its tokens carry it, https://login.microsoftonline.com/{tenant id}/v2.0: the tenant's GUID in lower case, and no trailing slash",
    ]);
  });

  it("refuses the development issuer's JWKS as the production key set", () => {
    expect(
      problemsOf({ ...entraProductionOnSql, AUTH_JWKS_URI: 'https://localhost:7071/dev-issuer/jwks.json' }),
    ).toEqual([expect.stringMatching(/^AUTH_JWKS_URI:/)]);
  });
});

describe('the store in production', () => {
  // A production app whose STORE_ENGINE was left out or blanked fell back to SQLite on the
  // instance's scratch disk: every instance its own records, consents and access log, all lost
  // when the platform recycled it, and the DPO's verify reading only one instance's log.
  it('refuses SQLite in production, whether STORE_ENGINE says so or is missing', () => {
    expect(problemsOf({ ...entraProduction, STORE_ENGINE: 'sqlite' })).toEqual([
      'STORE_ENGINE: must be mssql in production',
    ]);
    expect(problemsOf({ ...entraProduction, STORE_ENGINE: '' })).toEqual(['STORE_ENGINE: must be mssql in production']);
    expect(problemsOf(entraProduction)).toEqual(['STORE_ENGINE: must be mssql in production']);
  });

  it('control: Azure SQL in production is accepted', () => {
    expect(problemsOf({ ...entraProduction, ...azureSql })).toEqual([]);
  });

  // Encrypt=false passed start-up and failed at the first statement (Azure SQL requires TLS);
  // TrustServerCertificate=true passed for good, sending records and the identity's token over
  // TLS that accepts any certificate a machine in the middle presents.
  it.each([
    ['Encrypt=False', 'MSSQL_CONNECTION_STRING: must not turn encryption off (Encrypt) in production'],
    ['Encrypt=no', 'MSSQL_CONNECTION_STRING: must not turn encryption off (Encrypt) in production'],
    [
      'Encrypt=true;TrustServerCertificate=True',
      "MSSQL_CONNECTION_STRING: must not trust the server's certificate unchecked (TrustServerCertificate) in production",
    ],
  ])('refuses an Azure SQL connection with %s in production, naming the setting but not its value', (tls, message) => {
    const MSSQL_CONNECTION_STRING = `Server=tcp:sql-lintel.database.windows.net,1433;Database=lintel;${tls}`;
    const problems = problemsOf({ ...entraProduction, ...azureSql, MSSQL_CONNECTION_STRING });
    expect(problems).toEqual([message]);
    expect(problems.join('\n')).not.toContain('sql-lintel');
  });

  // Connect Timeout=0 (ADO.NET's "wait for ever") would make the driver give up every connection at
  // once, and one naming no number would be dropped unsaid.
  it.each(['0', '-5', 'soon'])('refuses an Azure SQL connection string with Connect Timeout=%s', (timeout) => {
    const MSSQL_CONNECTION_STRING = `Server=tcp:sql-lintel.database.windows.net,1433;Connect Timeout=${timeout}`;
    expect(problemsOf({ ...minimal, STORE_ENGINE: 'mssql', MSSQL_CONNECTION_STRING })).toEqual([
      'MSSQL_CONNECTION_STRING: must give Connect Timeout as a whole number of seconds above 0',
    ]);
    expect(
      problemsOf({
        ...entraProduction,
        ...azureSql,
        MSSQL_CONNECTION_STRING: `${azureSql.MSSQL_CONNECTION_STRING};Connect Timeout=30`,
      }),
    ).toEqual([]);
  });

  // mssql's reader keeps a value's leading digits: Connect Timeout=0.5 was refused as not "above 0",
  // which it is, and 1.5 or 2.5 s were taken as 1 or 2 s without a word.
  it.each(['0.5', '1.5', '2.5', '5s'])('refuses Connect Timeout=%s as no whole number of seconds', (timeout) => {
    const MSSQL_CONNECTION_STRING = `Server=tcp:sql-lintel.database.windows.net,1433;User ID=lintel;Password=Hunter2-secret;Connect Timeout=${timeout}`;
    const problems = problemsOf({ ...minimal, STORE_ENGINE: 'mssql', MSSQL_CONNECTION_STRING });
    expect(problems).toEqual([
      'MSSQL_CONNECTION_STRING: must give Connect Timeout as a whole number of seconds above 0',
    ]);
    expect(problems.join('\n')).not.toMatch(/Hunter2|sql-lintel/);
  });

  // Request Timeout was read by mssql's parser and then dropped for a fixed 15 minutes; now that it
  // is honoured, it is held to Connect Timeout's rule.
  it.each([
    ['0', 'must give Request Timeout as a whole number of seconds above 0'],
    ['1.5', 'must give Request Timeout as a whole number of seconds above 0'],
    ['soon', 'must give Request Timeout as a whole number of seconds above 0'],
    ['2147484', 'must give Request Timeout as at most 2147483 seconds (about 24 days)'],
  ])('refuses an Azure SQL connection string with Request Timeout=%s', (timeout, message) => {
    const MSSQL_CONNECTION_STRING = `Server=tcp:sql-lintel.database.windows.net,1433;User ID=lintel;Password=Hunter2-secret;Request Timeout=${timeout}`;
    const problems = problemsOf({ ...minimal, STORE_ENGINE: 'mssql', MSSQL_CONNECTION_STRING });
    expect(problems).toEqual([`MSSQL_CONNECTION_STRING: ${message}`]);
    expect(problems.join('\n')).not.toMatch(/Hunter2|sql-lintel/);
    expect(
      problemsOf({
        ...entraProduction,
        ...azureSql,
        MSSQL_CONNECTION_STRING: `${azureSql.MSSQL_CONNECTION_STRING};Request Timeout=2147483`,
      }),
    ).toEqual([]);
  });

  // Node's timers hold at most 2^31-1 ms (about 24.8 days) and fire a longer one after 1 ms: a
  // Connect Timeout past that, set to mean "wait as long as it takes", failed every connection at once.
  it('refuses a Connect Timeout longer than the driver can wait, and takes the longest it can', () => {
    const withTimeout = (seconds: number) => ({
      ...minimal,
      STORE_ENGINE: 'mssql',
      MSSQL_CONNECTION_STRING: `Server=tcp:sql-lintel.database.windows.net,1433;Connect Timeout=${seconds}`,
    });
    expect(problemsOf(withTimeout(2_147_484))).toEqual([
      'MSSQL_CONNECTION_STRING: must give Connect Timeout as at most 2147483 seconds (about 24 days)',
    ]);
    expect(problemsOf(withTimeout(2_147_483))).toEqual([]);
  });

  // A connection string naming no server passed start-up and failed at the first statement.
  it('refuses an Azure SQL connection string that names no server, in production or not', () => {
    expect(problemsOf({ ...entraProduction, ...azureSql, MSSQL_CONNECTION_STRING: 'Database=lintel' })).toEqual([
      'MSSQL_CONNECTION_STRING: must name a server (Server=…)',
    ]);
    expect(problemsOf({ ...minimal, STORE_ENGINE: 'mssql', MSSQL_CONNECTION_STRING: 'lintel-sql' })).toEqual([
      'MSSQL_CONNECTION_STRING: must name a server (Server=…)',
    ]);
  });

  it('still takes an unencrypted SQL Server connection outside production', () => {
    expect(
      problemsOf({ ...minimal, STORE_ENGINE: 'mssql', MSSQL_CONNECTION_STRING: 'Server=localhost;Encrypt=false' }),
    ).toEqual([]);
  });
});

describe('blob storage settings in production', () => {
  // Settings production otherwise accepts, storage apart: each case below changes only storage.
  const production = {
    ...azureSql,
    LINTEL_ENV: 'production',
    SECRETS_SOURCE: 'keyvault',
    KEY_VAULT_URI: 'https://lintel-kv.vault.azure.net/',
    AUTH_JWKS_URI: 'https://login.microsoftonline.com/12345678-90ab-cdef-1234-567890abcdef/discovery/v2.0/keys',
    AUTH_ISSUER: 'https://login.microsoftonline.com/12345678-90ab-cdef-1234-567890abcdef/v2.0',
    AUTH_AUDIENCE: '66666666-7777-8888-9999-000000000000',
  };
  const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

  it('accepts the managed identity blob service URI, and an https connection string to an Azure account', () => {
    expect(
      problemsOf({ ...production, AzureWebJobsStorage__blobServiceUri: 'https://lintelprod.blob.core.windows.net' }),
    ).toEqual([]);
    expect(
      problemsOf({
        ...production,
        AzureWebJobsStorage:
          'DefaultEndpointsProtocol=https;AccountName=lintelprod;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net',
      }),
    ).toEqual([]);
  });

  it.each([
    ['UseDevelopmentStorage=true', 'UseDevelopmentStorage=true'],
    ['the same, spelt otherwise', ' usedevelopmentstorage = TRUE ;'],
    [
      "Azurite's account on a loopback endpoint",
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`,
    ],
    [
      "Azurite's well-known account behind https",
      `DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=https://storage.example.org/devstoreaccount1;`,
    ],
  ])('refuses development storage at start, not at the first upload: %s', (_, AzureWebJobsStorage) => {
    const problems = problemsOf({ ...production, AzureWebJobsStorage });
    expect(problems).toEqual(['AzureWebJobsStorage: must not be development storage (Azurite) in production']);
    expect(problems.join('\n')).not.toContain('devstoreaccount1');
    expect(problems.join('\n')).not.toContain('Eby8');
  });

  it.each([
    [
      'plain http by protocol',
      'DefaultEndpointsProtocol=http;AccountName=lintelprod;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net',
    ],
    [
      'an http blob endpoint',
      'DefaultEndpointsProtocol=https;AccountName=lintelprod;AccountKey=c2VjcmV0;BlobEndpoint=http://lintelprod.blob.core.windows.net',
    ],
  ])('refuses a connection string that sends data and its key unencrypted: %s', (_, AzureWebJobsStorage) => {
    const problems = problemsOf({ ...production, AzureWebJobsStorage });
    expect(problems).toEqual(['AzureWebJobsStorage: must use https in production']);
    expect(problems.join('\n')).not.toContain('lintelprod');
  });

  it.each([
    [
      'http',
      'http://lintelprod.blob.core.windows.net',
      'AzureWebJobsStorage__blobServiceUri: must be https in production',
    ],
    [
      'a loopback (Azurite) endpoint',
      'https://127.0.0.1:10000/devstoreaccount1',
      'AzureWebJobsStorage__blobServiceUri: must not be development storage (Azurite) in production',
    ],
  ])('refuses a blob service URI that is %s', (_, uri, message) => {
    const problems = problemsOf({ ...production, AzureWebJobsStorage__blobServiceUri: uri });
    expect(problems).toEqual([message]);
    expect(problems.join('\n')).not.toContain('lintelprod');
  });

  // Both set, the connection string was used and the blob service URI passed over without a word,
  // though it may name another account: an operator reading either setting would be misled.
  it('refuses a connection string beside the blob service URI in production, whatever it names', () => {
    const problems = problemsOf({
      ...production,
      AzureWebJobsStorage:
        'DefaultEndpointsProtocol=https;AccountName=lintelprod;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net',
      AzureWebJobsStorage__blobServiceUri: 'https://lintelprod.blob.core.windows.net',
    });
    expect(problems).toEqual([
      'AzureWebJobsStorage: must not be set beside AzureWebJobsStorage__blobServiceUri in production: the connection string would be used and the managed identity passed over',
    ]);
    expect(problems.join('\n')).not.toContain('lintelprod');
  });

  it('refuses outside production a connection string and a blob service URI naming different accounts', () => {
    const problems = problemsOf({
      LINTEL_ENV: 'test',
      AzureWebJobsStorage:
        'DefaultEndpointsProtocol=https;AccountName=lintelstaging;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net',
      AzureWebJobsStorage__blobServiceUri: 'https://lintelprod.blob.core.windows.net',
    });
    expect(problems).toEqual([
      'AzureWebJobsStorage: names another storage account than AzureWebJobsStorage__blobServiceUri: set one of them (the connection string is used when both are)',
    ]);
    expect(problems.join('\n')).not.toMatch(/lintelprod|lintelstaging/);
  });

  it('takes both outside production where they name one account: Azurite, or an account in Azure', () => {
    expect(
      problemsOf({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        AzureWebJobsStorage__blobServiceUri: 'http://127.0.0.1:10000/devstoreaccount1',
      }),
    ).toEqual([]);
    expect(
      problemsOf({
        LINTEL_ENV: 'test',
        AzureWebJobsStorage:
          'DefaultEndpointsProtocol=https;AccountName=LintelStaging;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net',
        AzureWebJobsStorage__blobServiceUri: 'https://lintelstaging.blob.core.windows.net/',
      }),
    ).toEqual([]);
  });

  it('still takes development storage and http outside production', () => {
    expect(problemsOf({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' })).toEqual([]);
    expect(
      problemsOf({ LINTEL_ENV: 'test', AzureWebJobsStorage__blobServiceUri: 'http://127.0.0.1:10000/acct' }),
    ).toEqual([]);
  });
});
