/**
 * results.csv and results.json as data for other tools: every row says which preset and mode it was measured
 * with, and the schema insists on every counter key.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { COUNTER_FIELDS } from '../../src/metrics/counters.js';
import { resultsCsv } from '../../src/report/csv.js';
import { cell, report } from './fixture.js';

const schema = JSON.parse(readFileSync(new URL('../../src/report/results.schema.json', import.meta.url), 'utf8'));
const cells = [
  cell({ engine: 'native', workload: 'hello', overhead: 1, cycles: { direct: 100 } }),
  cell({ engine: 'dbt', workload: 'hello', overhead: 13, cycles: { translation: 1300 } }),
];

describe('results.csv', () => {
  it('carries the preset and quick mode in every row, so concatenated reports keep them apart', () => {
    const read = (csv: string): Record<string, string>[] => parse(csv, { columns: true });
    const a = read(resultsCsv(report(cells, { preset: 'p4-2006', quick: true })));
    const b = read(resultsCsv(report(cells, { preset: 'sandybridge-2011', quick: false })));
    expect([...a, ...b].map((r) => [r.engine, r.preset, r.quick])).toEqual([
      ['native', 'p4-2006', 'true'],
      ['dbt', 'p4-2006', 'true'],
      ['native', 'sandybridge-2011', 'false'],
      ['dbt', 'sandybridge-2011', 'false'],
    ]);
  });

  it('writes a counter of an absent mechanism as 0, not empty (as documented)', () => {
    const [native] = parse(resultsCsv(report(cells)), { columns: true }) as Record<string, string>[];
    expect([native.blocks_translated, native.avg_block_length, native.vm_exits]).toEqual(['0', '0', '0']);
  });
});

describe('results.schema.json', () => {
  it('requires every key of the counter list in a cell\'s counters', () => {
    const counters = schema.definitions.cell.properties.counters.oneOf[1];
    expect(counters.required).toEqual(COUNTER_FIELDS.map((f) => f.key));
    const validate = new Ajv({ allErrors: true, validateFormats: false }).compile(schema);
    const r = JSON.parse(JSON.stringify(report(cells)));
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    delete r.cells[0].counters.vmExits;
    expect(validate(r)).toBe(false);
  });
});
