import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { makeFolder } from '../make-folder.js';
import { SECRET_GENERATORS, hasSecretShape } from './secret-generators.js';
import {
  SECRET_NAMES,
  SECRET_VERSION_ID,
  SecretVersionGoneError,
  type SecretName,
  type SecretSource,
  type SecretValue,
} from './secret-source.js';

const fileSchema = z.object({
  secrets: z.record(z.string(), z.object({ current: z.string(), versions: z.record(z.string(), z.string()) })),
});
type SecretsFile = z.infer<typeof fileSchema>;

/**
 * A development key file lintel cannot use. The message names the file, and the secret and
 * version at fault, never the file's content: JSON.parse's own message quotes the text around
 * the fault, a key's characters among them.
 */
export class SecretsFileError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path} ${problem}`);
    this.name = 'SecretsFileError';
  }
}

/**
 * Development stand-in for Key Vault: a JSON file under `.lintel/` (git-ignored), created with
 * fresh keys on first start and readable only by its owner. It keeps old versions so rotation
 * behaves as it does in Key Vault.
 */
export class LocalSecretSource implements SecretSource {
  private file: SecretsFile;

  constructor(private readonly path: string) {
    this.file = existsSync(path) ? readSecretsFile(path) : { secrets: {} };
    if (SECRET_NAMES.some((n) => !this.file.secrets[n])) {
      for (const name of SECRET_NAMES) if (!this.file.secrets[name]) this.addVersion(name);
      this.save();
    }
  }

  async get(name: SecretName, version?: string): Promise<SecretValue> {
    const entry = this.file.secrets[name];
    const wanted = version ?? entry?.current;
    const value = wanted ? entry?.versions[wanted] : undefined;
    // A file either holds a version or never will: as Key Vault's 404, not a passing fault.
    if (!wanted || value === undefined) throw new SecretVersionGoneError(name, version);
    return { name, value, version: wanted };
  }

  /** Make a new current version, keeping the old ones readable (what `az keyvault secret set` does). */
  rotate(name: SecretName): string {
    const version = this.addVersion(name);
    this.save();
    return version;
  }

  private addVersion(name: SecretName): string {
    const version = randomUUID().replaceAll('-', '');
    const entry = (this.file.secrets[name] ??= { current: version, versions: {} });
    entry.versions[version] = SECRET_GENERATORS[name]();
    entry.current = version;
    return version;
  }

  private save(): void {
    makeFolder(dirname(this.path));
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.file, null, 2), { mode: 0o600 });
    renameSync(temporary, this.path);
    chmodSync(this.path, 0o600);
  }
}

/**
 * The file as lintel wrote it, each secret's current version among its versions and every
 * version in its secret's shape: one edited by hand (to rotate, or restore a version) is refused
 * at start, naming what is wrong, not found out by the first import or checkpoint that reads it.
 */
function readSecretsFile(path: string): SecretsFile {
  let parsed;
  try {
    parsed = fileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    throw new SecretsFileError(path, 'is not JSON');
  }
  if (!parsed.success) throw new SecretsFileError(path, 'is not a key file as lintel writes it');
  for (const name of SECRET_NAMES) {
    const entry = parsed.data.secrets[name];
    if (entry === undefined) continue;
    if (entry.versions[entry.current] === undefined)
      throw new SecretsFileError(
        path,
        `names ${name} ${versionNamed(entry.current)} current, and holds no such version`,
      );
    for (const [version, value] of Object.entries(entry.versions))
      if (!hasSecretShape(name, value))
        throw new SecretsFileError(path, `holds ${name} ${versionNamed(version)} in a shape that is not ${name}'s`);
  }
  return parsed.data;
}

/**
 * A version by its id where it is one (letters and digits, as lintel and Key Vault make them): a
 * key pasted in its place is not quoted.
 */
const versionNamed = (version: string): string =>
  SECRET_VERSION_ID.test(version) ? `version ${version}` : 'a version whose id is not letters and digits';
