import { z } from 'zod';

/**
 * What a subject access request by identifiers could not compare: the hashes kept under key
 * versions Key Vault no longer has (crypto-shredded at the end of a retention period, or deleted
 * by mistake). The answer stands on every other version; the DPO is told what it lacks, by
 * version and count only, so as to judge whether the requester may be among them.
 */
export const notComparedSchema = z
  .object({
    detail: z.string().describe('The same in a sentence, for the DPO'),
    keyVersions: z.array(
      z.object({
        keyVersion: z.string().describe('The pseudonymisation key version Key Vault no longer has'),
        hashSets: z
          .number()
          .int()
          .describe(
            "Sets of kept hashes under it in the datasets searched: one person's in one dataset, kept after retention deleted their records or for an opt-out",
          ),
      }),
    ),
  })
  .describe(
    'By identifiers only, and only when some were not: kept identifier hashes that could not be compared with the identifiers given, their key version gone from Key Vault (deleted or disabled). Anyone held only by them is not in this answer. The current key, or a version a record holds, gone answers 503 `key-unavailable` instead',
  );

export type NotCompared = z.infer<typeof notComparedSchema>;

/** The answer's `notCompared`, or undefined when nothing kept was left uncompared. */
export function notCompared(keyVersions: NotCompared['keyVersions']): NotCompared | undefined {
  if (keyVersions.length === 0) return undefined;
  const sets = keyVersions.reduce((sum, v) => sum + v.hashSets, 0);
  const versions = keyVersions.map((v) => v.keyVersion).join(', ');
  return {
    detail: `${sets} stored hash set${sets === 1 ? '' : 's'} under key version${keyVersions.length === 1 ? '' : 's'} ${versions} could not be compared: the key is gone from Key Vault. Anyone held only by ${sets === 1 ? 'it' : 'them'} is not in this answer.`,
    keyVersions,
  };
}
