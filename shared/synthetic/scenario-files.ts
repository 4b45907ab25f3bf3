/**
 * Writes a synthetic linkage scenario as the files `npm run link` takes: two partner CSVs, the
 * column map and the truth (record_id,person_id), so the CLI can be tried end to end on data
 * whose answer is known.
 */

import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { personId } from './people.js';
import type { LinkageScenario, SourceRecords } from './sources.js';

function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const BASE_HEADER = [
  'id',
  'forename',
  'surname',
  'date_of_birth',
  'postcode',
  'address',
  'nhs_number',
  'upn',
  'ni_number',
];

async function writeSource(path: string, source: SourceRecords): Promise<void> {
  const systems = [...source.systemIds.keys()];
  const out = createWriteStream(path);
  const write = async (line: string): Promise<void> => {
    if (!out.write(line)) await once(out, 'drain');
  };
  await write(`${[...BASE_HEADER, ...systems.map((s) => `${s}_id`)].join(',')}\n`);
  for (let k = 0; k < source.size; k++) {
    const cells = [
      source.recordId[k],
      source.givenName[k],
      source.familyName[k],
      source.dob[k],
      source.postcode[k],
      source.address[k],
      source.nhsNumber[k],
      source.upn[k],
      source.niNumber[k],
      ...systems.map((s) => source.systemIds.get(s)?.[k]),
    ];
    await write(`${cells.map((c) => field(c ?? '')).join(',')}\n`);
  }
  out.end();
  await once(out, 'finish');
}

function columnMap(source: SourceRecords): object {
  return {
    sourceId: source.sourceId,
    columns: {
      recordId: 'id',
      givenName: 'forename',
      familyName: 'surname',
      dob: 'date_of_birth',
      postcode: 'postcode',
      address: 'address',
      nhsNumber: 'nhs_number',
      upn: 'upn',
      niNumber: 'ni_number',
      systemIds: [...source.systemIds.keys()].map((system) => ({ system, column: `${system}_id` })),
    },
  };
}

export interface ScenarioFiles {
  readonly left: string;
  readonly right: string;
  readonly map: string;
  readonly truth: string;
}

/** Writes left.csv, right.csv, map.json and truth.csv into `directory`. */
export async function writeScenarioFiles(scenario: LinkageScenario, directory: string): Promise<ScenarioFiles> {
  const files: ScenarioFiles = {
    left: join(directory, 'left.csv'),
    right: join(directory, 'right.csv'),
    map: join(directory, 'map.json'),
    truth: join(directory, 'truth.csv'),
  };
  await writeSource(files.left, scenario.left);
  await writeSource(files.right, scenario.right);
  await writeFile(
    files.map,
    `${JSON.stringify({ left: columnMap(scenario.left), right: columnMap(scenario.right) }, null, 2)}\n`,
  );
  const truth = createWriteStream(files.truth);
  truth.write('record_id,person_id\n');
  for (const source of [scenario.left, scenario.right]) {
    for (let k = 0; k < source.size; k++) {
      if (!truth.write(`${field(source.recordId[k] ?? '')},${personId(source.personIndex[k] ?? -1)}\n`))
        await once(truth, 'drain');
    }
  }
  truth.end();
  await once(truth, 'finish');
  return files;
}
