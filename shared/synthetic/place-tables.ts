/**
 * Places for synthetic addresses: postcode districts of the partnership's area (Kent, Medway)
 * and of the London boroughs that place households there, with their post towns, and the parts
 * street names are made of. Sub-district codes (SE1P, EC1A, W1D...) are included so that the
 * district and outward code differ for some records, as they do in real data.
 */

export interface PostcodeArea {
  /** Area letters, e.g. "ME". */
  readonly area: string;
  /** District numbers that exist in the area. */
  readonly districts: readonly number[];
  readonly town: string;
  /** Relative share of households. */
  readonly weight: number;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export const POSTCODE_AREAS: readonly PostcodeArea[] = [
  { area: 'ME', districts: range(1, 20), town: 'MAIDSTONE', weight: 30 },
  { area: 'CT', districts: range(1, 21), town: 'CANTERBURY', weight: 25 },
  { area: 'TN', districts: range(1, 40), town: 'TONBRIDGE', weight: 30 },
  { area: 'DA', districts: range(1, 18), town: 'DARTFORD', weight: 18 },
  { area: 'BR', districts: range(1, 8), town: 'BROMLEY', weight: 8 },
  { area: 'SE', districts: range(1, 28), town: 'LONDON', weight: 12 },
  { area: 'E', districts: range(1, 18), town: 'LONDON', weight: 6 },
  { area: 'N', districts: range(1, 22), town: 'LONDON', weight: 4 },
  { area: 'RM', districts: range(1, 20), town: 'ROMFORD', weight: 4 },
];

/** Outward codes with a sub-district letter, and their weights. */
export const SUB_DISTRICT_OUTWARDS: readonly (readonly [string, string, number])[] = [
  ['SE1P', 'LONDON', 1],
  ['EC1A', 'LONDON', 1],
  ['EC2V', 'LONDON', 1],
  ['W1D', 'LONDON', 1],
  ['E1W', 'LONDON', 1],
  ['WC2H', 'LONDON', 1],
];

/** Letters allowed in the two final positions of an inward code (no C I K M O V). */
export const INWARD_LETTERS = 'ABDEFGHJLNPQRSTUWXYZ';

// prettier-ignore
export const STREET_STEMS: readonly string[] = [
  'CHURCH', 'STATION', 'HIGH', 'MILL', 'PARK', 'VICTORIA', 'QUEENS', 'KINGS', 'NEW', 'LONDON',
  'MANOR', 'SCHOOL', 'GROVE', 'ALBERT', 'WINDSOR', 'YORK', 'GEORGE', 'MAPLE', 'OAK', 'ELM',
  'BEECH', 'ASH', 'CEDAR', 'WILLOW', 'ORCHARD', 'MEADOW', 'BROOK', 'RIVER', 'BRIDGE', 'CASTLE',
  'ABBEY', 'PRIORY', 'CHAPEL', 'GREEN', 'HILL', 'VALE', 'FOREST', 'HEATH', 'COMMON', 'MARKET',
  'NELSON', 'WELLINGTON', 'CROMWELL', 'TUDOR', 'STUART', 'BLENHEIM', 'FARM', 'WOOD', 'SPRING',
  'HOLLY', 'IVY', 'LAUREL', 'ROWAN', 'HAWTHORN', 'CHESTNUT', 'SYCAMORE', 'LIME', 'POPLAR',
];

export const STREET_TYPES: readonly (readonly [string, string])[] = [
  ['ROAD', 'RD'],
  ['STREET', 'ST'],
  ['LANE', 'LN'],
  ['AVENUE', 'AVE'],
  ['CLOSE', 'CL'],
  ['DRIVE', 'DR'],
  ['GARDENS', 'GDNS'],
  ['WAY', 'WAY'],
  ['CRESCENT', 'CRES'],
  ['PLACE', 'PL'],
];
