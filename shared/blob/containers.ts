// Apart from blob-storage.ts, which loads the storage SDK (and @azure/identity): `npm run import`
// and `npm run seed` name the containers in what they print, and refuse a command line they cannot
// run without loading the SDK (some 1 s for tsx).

/** The containers lintel owns. Names are fixed: partners' SFTP users and Power BI point at them. */
export const CONTAINERS = {
  incoming: 'incoming',
  processed: 'processed',
  rejected: 'rejected',
  curated: 'curated',
  auditAnchors: 'audit-anchors',
} as const;

export type ContainerName = (typeof CONTAINERS)[keyof typeof CONTAINERS];
