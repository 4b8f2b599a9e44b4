/** Cost presets and the cost model. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Counters, COUNTER_FIELDS } from '../../src/metrics/counters.js';
import { COST_TERMS, modeledCycles } from '../../src/metrics/cost.js';
import { BUILTIN_PRESETS, loadPreset, parsePreset, PRESET_IDS, PRICE_KEYS, PresetError } from '../../src/metrics/presets.js';

const dir = mkdtempSync(join(tmpdir(), 'virtstrat-preset-'));

describe('cost presets', () => {
  it('every built-in preset prices every event and cites a source for each price', () => {
    expect(PRESET_IDS).toEqual(['p4-2006', 'sandybridge-2011']);
    for (const p of BUILTIN_PRESETS) {
      for (const k of PRICE_KEYS) {
        expect(p.prices[k].cycles, `${p.id} ${k}`).toBeGreaterThanOrEqual(0);
        expect(p.prices[k].source.length, `${p.id} ${k}`).toBeGreaterThan(10);
      }
    }
  });
  it('p4-2006 uses the paper figures it cites (VM entry + exit, VMCS access, translation)', () => {
    const p = loadPreset('p4-2006').prices;
    expect(p.vmExit.cycles).toBe(2409 + 1931);
    expect(p.vmcsRead.cycles).toBe(178);
    expect(p.translation.cycles).toBe(2300);
    // trap and callout are the paper's rdtsc round trips minus the 216-cycle emulation counted apart
    expect(p.trap.cycles + p.emulation.cycles).toBe(2030);
    expect(p.callout.cycles + p.emulation.cycles).toBe(1254);
  });
  it('a user preset may extend a built-in one and override some prices', () => {
    const file = join(dir, 'cheap-exits.json');
    writeFileSync(file, JSON.stringify({ id: 'cheap', name: 'cheap exits', extends: 'p4-2006', prices: { vmExit: { cycles: 100, source: 'what if' } } }));
    const p = loadPreset(file);
    expect(p.prices.vmExit).toEqual({ cycles: 100, source: 'what if' });
    expect(p.prices.trap).toEqual(loadPreset('p4-2006').prices.trap);
  });
  it('bad presets give one clear error naming the problem', () => {
    expect(() => loadPreset('p5-1999')).toThrow(/unknown preset 'p5-1999'. Valid presets: p4-2006, sandybridge-2011/);
    expect(() => loadPreset(join(dir, 'missing.json'))).toThrow(/cannot read preset file/);
    expect(() => parsePreset('{ not json', 'x.json')).toThrow(/x.json: not valid JSON/);
    expect(() => parsePreset('{"id":"a","name":"b","prices":{}}', 'x.json')).toThrow(/price "directInstruction" is missing/);
    expect(() => parsePreset('{"id":"a","name":"b","extends":"p4-2006","prices":{"warp":{"cycles":1,"source":"s"}}}', 'x.json')).toThrow(
      /unknown price "warp"/,
    );
    expect(() => parsePreset('{"id":"a","name":"b","extends":"p4-2006","prices":{"trap":{"cycles":-1,"source":"s"}}}', 'x.json')).toThrow(
      /"cycles" must be a number >= 0/,
    );
    expect(() => parsePreset('{"id":"a","name":"b","extends":"p4-2006","prices":{"trap":{"cycles":1}}}', 'x.json')).toThrow(PresetError);
    // A misspelt field would leave every price the base's, silently; a built-in's id would mislabel the results.
    expect(() => parsePreset('{"id":"a","name":"b","extends":"p4-2006","price":{"trap":{"cycles":1,"source":"s"}}}', 'x.json')).toThrow(
      /x.json: unknown field "price". Valid fields: id, name, description, extends, prices/,
    );
    expect(() => parsePreset('{"id":"p4-2006","name":"b","extends":"p4-2006","prices":{}}', 'x.json')).toThrow(
      /x.json: "id" "p4-2006" is a built-in preset's/,
    );
  });
});

describe('the cost model', () => {
  it('modeled cycles are exactly the sum of counts times prices, by category', () => {
    const c = new Counters();
    c.directInstructions = 1000;
    c.enter('trap', 'cli');
    c.enter('vm-exit', '30 I/O instruction');
    c.vmcsReads = 7;
    c.emulatedInstructions = 2;
    const p = loadPreset('p4-2006');
    const m = modeledCycles(c, p);
    const pr = p.prices;
    expect(m.byCategory.direct).toBe(1000 * pr.directInstruction.cycles);
    expect(m.byCategory.trap).toBe(pr.trap.cycles);
    expect(m.byCategory.exit).toBe(pr.vmExit.cycles);
    expect(m.byCategory.vmcs).toBe(7 * pr.vmcsRead.cycles);
    expect(m.byCategory.emulation).toBe(2 * pr.emulation.cycles);
    expect(m.total).toBe(Object.values(m.byCategory).reduce((a, b) => a + b, 0));
  });
  it('every cost term names a price that every preset has', () => {
    for (const t of COST_TERMS) expect(PRICE_KEYS).toContain(t.price);
  });
  it('the counter key list has unique keys and CSV names', () => {
    expect(new Set(COUNTER_FIELDS.map((f) => f.key)).size).toBe(COUNTER_FIELDS.length);
    expect(new Set(COUNTER_FIELDS.map((f) => f.csv)).size).toBe(COUNTER_FIELDS.length);
    for (const f of COUNTER_FIELDS) expect(f.csv).toMatch(/^[a-z][a-z0-9_]*$/);
  });
});
