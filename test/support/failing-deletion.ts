import type { KyselyPlugin } from 'kysely';

/**
 * A plugin under which the `nth` deletion from `table` fails as a lost connection would, before
 * it is sent; every other statement goes as it is. `failed` tells whether it has failed yet.
 */
export function failingDeletionFrom(table: string, nth = 1): KyselyPlugin & { readonly failed: boolean } {
  let deletions = 0;
  return {
    get failed() {
      return deletions >= nth;
    },
    transformQuery: (args) => {
      if (args.node.kind === 'DeleteQueryNode' && JSON.stringify(args.node.from).includes(`"${table}"`)) {
        if (++deletions === nth) throw new Error('connection lost');
      }
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
}
