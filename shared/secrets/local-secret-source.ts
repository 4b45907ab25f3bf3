import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { makeFolder } from '../make-folder.js';
import { SECRET_GENERATORS } from './secret-generators.js';
import {
  SECRET_NAMES,
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
 * Development stand-in for Key Vault: a JSON file under `.lintel/` (git-ignored), created with
 * fresh keys on first start and readable only by its owner. It keeps old versions so rotation
 * behaves as it does in Key Vault.
 */
export class LocalSecretSource implements SecretSource {
  private file: SecretsFile;

  constructor(private readonly path: string) {
    this.file = existsSync(path) ? fileSchema.parse(JSON.parse(readFileSync(path, 'utf8'))) : { secrets: {} };
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
    if (!wanted || value === undefined) throw new SecretVersionGoneError(name);
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
