import { z } from 'zod';
import { productionStorageProblem, storageAccountOf } from './blob/storage-connection.js';
import { NOISE_LIMIT } from './curated/indicator-counts.js';
import { SECRET_NAMES, SECRET_VERSION_ID, type SecretName } from './secrets/secret-source.js';
import { parseSqlConnection, type SqlConnection } from './store/sql-connection.js';
import { LONGEST_TIMER_MS } from './timer-limit.js';

/**
 * Every setting lintel reads, parsed once at start-up. A missing or malformed setting stops
 * start-up with a message naming the setting — never its value, because values include
 * connection strings and keys.
 */

const KEY_VAULT_REFERENCE = '@Microsoft.KeyVault(';

/** App Service leaves blank settings as empty strings; treat them as absent. */
const optionalText = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
const text = (defaultValue: string) =>
  z.preprocess((v) => (v === '' || v === undefined ? defaultValue : v), z.string().min(1));
/**
 * A number written as plain decimal digits: `Number()` alone reads '  ' as 0 and '0x1' as 1, so
 * a stray space would allow no bad row and a hex slip every one (found by a review). A minus
 * sign is read, so that a negative value is refused by its setting's bound, which says what it
 * may be, rather than as "must be a number".
 */
const decimal = (defaultValue: string, integer: boolean) =>
  text(defaultValue).transform((v, ctx) => {
    if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'must be a number' });
      return z.NEVER;
    }
    if (integer && !/^-?\d+$/.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'must be a whole number' });
      return z.NEVER;
    }
    return Number(v);
  });
/**
 * A region as Azure names it in code (`uksouth`): REGION_NAME carries its display name
 * (`UK South`), and an operator may write either in ALLOWED_REGIONS or DEPLOYMENT_REGION.
 */
const regionKey = (name: string): string => name.replace(/\s+/g, '').toLowerCase();
const regionList = (defaultValue: string) =>
  text(defaultValue).transform((v) =>
    v
      .split(',')
      .map(regionKey)
      .filter((s) => s.length > 0),
  );

/** The development issuer served by the local host; production refuses it. */
export const DEVELOPMENT_AUTH = {
  issuer: 'http://127.0.0.1:7071/dev-issuer',
  jwksUri: 'http://127.0.0.1:7071/dev-issuer/jwks.json',
  audience: 'api://lintel',
} as const;

const settingsObject = z.object({
  LINTEL_ENV: z.preprocess(
    (v) => (v === '' || v === undefined ? 'development' : v),
    z.enum(['development', 'test', 'production']),
  ),
  STORE_ENGINE: z.preprocess((v) => (v === '' || v === undefined ? 'sqlite' : v), z.enum(['sqlite', 'mssql'])),
  SQLITE_PATH: text('.lintel/lintel.db'),
  MSSQL_CONNECTION_STRING: optionalText,
  /** Connection string (Azurite locally); or, for managed identity, AzureWebJobsStorage__blobServiceUri. */
  AzureWebJobsStorage: optionalText,
  AzureWebJobsStorage__blobServiceUri: optionalText.pipe(z.url().optional()),
  SECRETS_SOURCE: z.preprocess((v) => (v === '' || v === undefined ? 'local' : v), z.enum(['local', 'keyvault'])),
  LOCAL_SECRETS_PATH: text('.lintel/secrets.json'),
  KEY_VAULT_URI: optionalText.pipe(z.url().optional()),
  /** JSON object pinning secret names to Key Vault versions, e.g. {"pseudonymisation-key":"3f2a…"}. */
  SECRET_VERSIONS: text('{}').transform((v, ctx) => {
    let versions: Record<string, string>;
    try {
      versions = z.record(z.string(), z.string().min(1)).parse(JSON.parse(v));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of secret name to version' });
      return z.NEVER;
    }
    // A misspelt name pins nothing: the secret it meant would follow its latest version.
    if (Object.keys(versions).some((name) => !(SECRET_NAMES as readonly string[]).includes(name))) {
      ctx.addIssue({ code: 'custom', message: `may name only the secrets ${SECRET_NAMES.join(', ')}` });
      return z.NEVER;
    }
    // The whole secret id pasted for its last segment asked Key Vault for a version that cannot be,
    // and every import and lookup failed on a key "unavailable" or "gone", naming no setting.
    const notVersionIds = Object.keys(versions).filter((name) => !SECRET_VERSION_ID.test(versions[name]!));
    if (notVersionIds.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `pins ${notVersionIds.join(', ')} to what is not a version id (letters and digits: the last segment of the secret id)`,
      });
      return z.NEVER;
    }
    return versions as Partial<Record<SecretName, string>>;
  }),
  ALLOWED_REGIONS: regionList('uksouth,ukwest'),
  /**
   * Azure sets WEBSITE_SITE_NAME, the Function App's name, on every host it runs; Core Tools and
   * the local host never do. It is how lintel knows it runs in Azure, whatever LINTEL_ENV says.
   */
  WEBSITE_SITE_NAME: optionalText,
  /** Azure sets REGION_NAME on Functions hosts; DEPLOYMENT_REGION overrides it elsewhere. */
  DEPLOYMENT_REGION: optionalText,
  REGION_NAME: optionalText,
  AGREEMENTS_DIR: text('agreements'),
  LOG_LEVEL: z.preprocess(
    (v) => (v === '' || v === undefined ? 'info' : v),
    z.enum(['debug', 'info', 'warn', 'error']),
  ),
  /** Entra ID in production: https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys */
  AUTH_JWKS_URI: optionalText.pipe(z.url().optional()),
  /** Entra ID in production: https://login.microsoftonline.com/{tenant}/v2.0 */
  AUTH_ISSUER: optionalText,
  /** The lintel API app registration's client id (Entra ID v2.0 tokens carry it as `aud`). */
  AUTH_AUDIENCE: optionalText,
  /** JSON object mapping Entra ID client ids to agreement party ids. */
  PARTY_CLIENT_IDS: text('{}'),
  DEV_ISSUER_KEY_PATH: text('.lintel/dev-issuer-key.json'),
  /** Requests a minute each client may make (per instance). */
  RATE_LIMIT_PER_MINUTE: decimal('1200', true).pipe(z.number().int().positive()),
  /**
   * Calls a minute one address may make without a valid token, or refused `party-unknown`
   * (per instance), before they are answered 429 with no access-log entry (request-pipeline.ts).
   * A partner's client fails authentication a handful of times a misconfigured day, not a minute.
   */
  RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: decimal('60', true).pipe(z.number().int().positive()),
  /** Share of bad rows (0–1) above which a whole import file is rejected and nothing loads. */
  IMPORT_MAX_BAD_ROW_SHARE: decimal('0.05', false).pipe(z.number().min(0).max(1)),
  /**
   * The curated planning export suppresses any count of people below this (shared/curated/).
   * 10 is the common floor for published health and social care statistics; lower it only with
   * the DPO's agreement.
   */
  // Suppression goes by the noisy count (shared/curated/indicator-counts.ts): a count up to the
  // noise's limit below the minimum may be published, so the minimum keeps that at 3 people.
  CURATED_MIN_CELL: decimal('10', true).pipe(
    z
      .number()
      .int()
      .min(3 + NOISE_LIMIT),
  ),
  /**
   * Days the planning export's releases stay in the store's view `curated_indicator_counts`; set
   * it as the curated container's lifecycle rule keeps the dated folders (infra: curatedHistoryDays).
   */
  CURATED_HISTORY_DAYS: decimal('400', true).pipe(z.number().int().positive()),
});

export const settingsSchema = settingsObject
  .superRefine((s, ctx) => {
    if (s.STORE_ENGINE === 'mssql' && !s.MSSQL_CONNECTION_STRING) {
      ctx.addIssue({
        code: 'custom',
        path: ['MSSQL_CONNECTION_STRING'],
        message: 'is required when STORE_ENGINE is mssql',
      });
    }
    if (!s.AzureWebJobsStorage && !s.AzureWebJobsStorage__blobServiceUri) {
      ctx.addIssue({
        code: 'custom',
        path: ['AzureWebJobsStorage'],
        message: 'is required (or AzureWebJobsStorage__blobServiceUri for managed identity)',
      });
    }
    // Set both, lintel's blob client takes the connection string (createBlobServiceClient), as the
    // Functions host takes a connection's own value before its `__` settings, and the identity-based
    // settings beside it are passed over, silently: in production, where infra/
    // sets the identity's alone, a connection string added beside them (copied from
    // local.settings.json, say) is refused whatever it names; elsewhere, when the two name different
    // storage accounts (or one that cannot be read), as an operator reading either would be misled.
    // Azurite's UseDevelopmentStorage=true beside its own endpoint names one account, and is taken.
    if (s.AzureWebJobsStorage && s.AzureWebJobsStorage__blobServiceUri) {
      const storage = { connectionString: s.AzureWebJobsStorage, serviceUri: s.AzureWebJobsStorage__blobServiceUri };
      const account = storageAccountOf(storage, 'connectionString');
      if (s.LINTEL_ENV === 'production') {
        ctx.addIssue({
          code: 'custom',
          path: ['AzureWebJobsStorage'],
          message:
            'must not be set beside AzureWebJobsStorage__blobServiceUri in production: the connection string would be used and the managed identity passed over',
        });
      } else if (account === undefined || account !== storageAccountOf(storage, 'serviceUri')) {
        ctx.addIssue({
          code: 'custom',
          path: ['AzureWebJobsStorage'],
          message:
            'names another storage account than AzureWebJobsStorage__blobServiceUri: set one of them (the connection string is used when both are)',
        });
      }
    }
    if (s.SECRETS_SOURCE === 'keyvault' && !s.KEY_VAULT_URI) {
      ctx.addIssue({ code: 'custom', path: ['KEY_VAULT_URI'], message: 'is required when SECRETS_SOURCE is keyvault' });
    }
    // An app whose LINTEL_ENV was left out (deployed without infra/, or the setting removed)
    // would otherwise run in Azure as development: a key file and SQLite on each instance's
    // scratch disk, and none of the checks below.
    if (s.WEBSITE_SITE_NAME && s.LINTEL_ENV !== 'production') {
      ctx.addIssue({
        code: 'custom',
        path: ['LINTEL_ENV'],
        message: 'must be production in Azure (WEBSITE_SITE_NAME is set)',
      });
    }
    if (s.STORE_ENGINE === 'mssql' && s.MSSQL_CONNECTION_STRING) {
      const problem = sqlConnectionProblem(s.MSSQL_CONNECTION_STRING, s.LINTEL_ENV === 'production');
      if (problem) ctx.addIssue({ code: 'custom', path: ['MSSQL_CONNECTION_STRING'], message: problem });
    }
    if (s.LINTEL_ENV === 'production' && s.SECRETS_SOURCE === 'local') {
      ctx.addIssue({ code: 'custom', path: ['SECRETS_SOURCE'], message: 'must be keyvault in production' });
    }
    if (s.LINTEL_ENV === 'production') {
      // SQLite would sit on each instance's scratch disk: its own records and access log, gone
      // when the platform recycles the instance. A blank STORE_ENGINE defaults to it, so refuse.
      if (s.STORE_ENGINE !== 'mssql') {
        ctx.addIssue({ code: 'custom', path: ['STORE_ENGINE'], message: 'must be mssql in production' });
      }
      for (const name of ['AUTH_JWKS_URI', 'AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
        if (!s[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required in production' });
      }
      if (s.AUTH_ISSUER && URL.canParse(s.AUTH_ISSUER) && isDevelopmentIssuer(s.AUTH_ISSUER)) {
        ctx.addIssue({
          code: 'custom',
          path: ['AUTH_ISSUER'],
          message: 'must not be the development issuer in production',
        });
      } else if (s.AUTH_ISSUER && !/^https:\/\/[^/]/.test(s.AUTH_ISSUER)) {
        ctx.addIssue({ code: 'custom', path: ['AUTH_ISSUER'], message: 'must be an https URL in production' });
      }
      // Entra ID's v2.0 tokens carry `iss` with the tenant's GUID in lower case and no trailing
      // slash, and the issuer is compared exactly (token-verifier.ts): any other spelling of it (a
      // trailing slash, the tenant's domain, `common`, the discovery document's `{tenantid}`) was
      // taken, and every partner's token refused with the one 401 that never says why (found by a
      // defect hunt).
      if (s.AUTH_ISSUER && isEntraV2Issuer(s.AUTH_ISSUER) && !ENTRA_V2_TOKEN_ISSUER.test(s.AUTH_ISSUER)) {
        ctx.addIssue({
          code: 'custom',
          path: ['AUTH_ISSUER'],
          message:
            "must be Entra ID's v2.0 issuer as its tokens carry it, https://login.microsoftonline.com/{tenant id}/v2.0: the tenant's GUID in lower case, and no trailing slash",
        });
      }
      // Entra ID's v2.0 access tokens name the API by its client id, never by its application id
      // URI (api://…): any other audience would refuse every partner's token.
      if (s.AUTH_ISSUER && isEntraV2Issuer(s.AUTH_ISSUER) && s.AUTH_AUDIENCE && !GUID.test(s.AUTH_AUDIENCE)) {
        ctx.addIssue({
          code: 'custom',
          path: ['AUTH_AUDIENCE'],
          message: "must be the API app registration's client id (a GUID): Entra ID v2.0 tokens carry it as aud",
        });
      }
      if (s.AUTH_JWKS_URI && !s.AUTH_JWKS_URI.startsWith('https://')) {
        ctx.addIssue({ code: 'custom', path: ['AUTH_JWKS_URI'], message: 'must be https in production' });
      } else if (s.AUTH_JWKS_URI && isDevelopmentIssuer(s.AUTH_JWKS_URI)) {
        ctx.addIssue({
          code: 'custom',
          path: ['AUTH_JWKS_URI'],
          message: "must not be the development issuer's key set in production",
        });
      }
      // Azurite or plain http would pass start-up and fail at the first blob call (an upload
      // waiting in incoming/, a checkpoint anchor): refuse them here, as for the store.
      const storage = {
        connectionString: s.AzureWebJobsStorage,
        serviceUri: s.AzureWebJobsStorage__blobServiceUri,
      };
      for (const [name, setting] of [
        ['AzureWebJobsStorage', 'connectionString'],
        ['AzureWebJobsStorage__blobServiceUri', 'serviceUri'],
      ] as const) {
        const problem = productionStorageProblem(storage, setting);
        if (problem === 'development') {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'must not be development storage (Azurite) in production',
          });
        } else if (problem === 'not-https') {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: setting === 'serviceUri' ? 'must be https in production' : 'must use https in production',
          });
        }
      }
      // Secrets, and the managed identity's token for them, go to Key Vault only over TLS.
      if (s.KEY_VAULT_URI && !s.KEY_VAULT_URI.startsWith('https://')) {
        ctx.addIssue({ code: 'custom', path: ['KEY_VAULT_URI'], message: 'must be https in production' });
      }
    }
    const region = s.DEPLOYMENT_REGION ?? s.REGION_NAME;
    if (region && !s.ALLOWED_REGIONS.includes(regionKey(region))) {
      ctx.addIssue({
        code: 'custom',
        path: [s.DEPLOYMENT_REGION ? 'DEPLOYMENT_REGION' : 'REGION_NAME'],
        message: 'names a region outside ALLOWED_REGIONS',
      });
    }
  })
  .transform((s) => ({
    ...s,
    AUTH_JWKS_URI: s.AUTH_JWKS_URI ?? DEVELOPMENT_AUTH.jwksUri,
    AUTH_ISSUER: s.AUTH_ISSUER ?? DEVELOPMENT_AUTH.issuer,
    AUTH_AUDIENCE: s.AUTH_AUDIENCE ?? DEVELOPMENT_AUTH.audience,
  }));

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Entra ID's v2.0 issuer exactly as its tokens carry it, in the public or a national cloud. */
const ENTRA_V2_TOKEN_ISSUER =
  /^https:\/\/login\.(microsoftonline\.(com|us)|partner\.microsoftonline\.cn)\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/v2\.0$/;

/** Entra ID's v2.0 issuer, in the public or a national cloud: `https://login.…/{tenant}/v2.0`. */
function isEntraV2Issuer(issuer: string): boolean {
  const url = URL.canParse(issuer) ? new URL(issuer) : undefined;
  return (
    url !== undefined &&
    /^login\.(microsoftonline\.(com|us)|partner\.microsoftonline\.cn)$/.test(url.hostname) &&
    /\/v2\.0\/?$/.test(url.pathname)
  );
}

/**
 * Why the store could not use an Azure SQL connection string, or undefined when it can. Without
 * a server it would start and fail at the first statement. In production, records and the
 * managed identity's token go only over TLS that checks the server's certificate: Azure SQL
 * refuses Encrypt=false at the first connection, and TrustServerCertificate=true would hand
 * both to anyone between the app and the server.
 */
function sqlConnectionProblem(connectionString: string, production: boolean): string | undefined {
  let connection: SqlConnection;
  try {
    connection = parseSqlConnection(connectionString);
  } catch {
    // mssql's reader refuses some forms (named pipes); its message is not ours to pass on.
    return 'is not a connection string the store can read';
  }
  if (!connection.server) return 'must name a server (Server=…)';
  const timeoutProblem =
    sqlTimeoutProblem('Connect Timeout', connection.connectTimeoutMs) ??
    sqlTimeoutProblem('Request Timeout', connection.requestTimeoutMs);
  if (timeoutProblem) return timeoutProblem;
  if (!production) return undefined;
  if (!connection.encrypt) return 'must not turn encryption off (Encrypt) in production';
  if (connection.trustServerCertificate) {
    return "must not trust the server's certificate unchecked (TrustServerCertificate) in production";
  }
  return undefined;
}

/** Why a timeout the connection string sets cannot be used, or undefined when it can (or is not set). */
function sqlTimeoutProblem(key: string, ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined;
  // 0 is ADO.NET's "wait for ever", which the driver cannot do for a connection (it would give up
  // at once) and lintel does not want for a statement (one stuck behind a lock would outlive the
  // host's function timeout). A fraction was cut to its whole seconds by mssql's reader, unsaid.
  if (!(ms > 0)) return `must give ${key} as a whole number of seconds above 0`;
  // The driver and the pool wait with Node's timers, which fire one longer than this at once.
  if (ms > LONGEST_TIMER_MS) {
    return `must give ${key} as at most ${Math.floor(LONGEST_TIMER_MS / 1000)} seconds (about 24 days)`;
  }
  return undefined;
}

function isDevelopmentIssuer(issuer: string): boolean {
  const url = URL.canParse(issuer) ? new URL(issuer) : undefined;
  return !url || url.pathname.startsWith('/dev-issuer') || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

export type Settings = z.infer<typeof settingsSchema>;

export class ConfigurationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

/** Names of every setting the schema reads, for the Key Vault reference check. */
export const settingNames = Object.keys(settingsObject.shape) as (keyof Settings)[];

/**
 * Parse the environment. An app setting still reading `@Microsoft.KeyVault(` means the platform
 * could not resolve the reference (identity or access policy missing): refuse it rather than
 * use the literal text as a secret.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Settings {
  const problems: string[] = [];
  const unresolved = new Set<string>();
  for (const name of settingNames) {
    if (env[name]?.trimStart().startsWith(KEY_VAULT_REFERENCE)) {
      problems.push(`${name}: is an unresolved Key Vault reference (check the app's identity and vault access)`);
      unresolved.add(name);
    }
  }
  const picked = Object.fromEntries(settingNames.map((n) => [n, env[n]]));
  const parsed = settingsSchema.safeParse(picked);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.length > 0 ? String(issue.path[0]) : 'configuration';
      // The reference's text was never the value meant: what is wrong with it says nothing more.
      if (unresolved.has(name)) continue;
      const given = picked[name] !== undefined && picked[name] !== '';
      problems.push(`${name}: ${describeIssue(issue, given)}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigurationError(problems);
  return parsed.data;
}

/** zod's default messages can quote the received input for some checks; rebuild them without it. */
function describeIssue(issue: z.core.$ZodIssue, given: boolean): string {
  switch (issue.code) {
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return `is not a valid ${issue.format}`;
    case 'invalid_type':
      if (!given) return 'is required';
      return issue.expected === 'int' ? 'must be a whole number' : `must be a ${issue.expected}`;
    case 'custom':
      return issue.message;
    case 'too_small':
      return `must be ${issue.inclusive ? 'at least' : 'more than'} ${String(issue.minimum)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}`;
    default:
      return 'is malformed';
  }
}
