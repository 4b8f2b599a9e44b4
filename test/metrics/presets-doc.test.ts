/**
 * docs/presets.md lists every price a preset has, with what it multiplies (the cost model's own label), its
 * category and both built-in presets' values — so the page a user writes a preset from cannot drift from the code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COST_TERMS } from '../../src/metrics/cost.js';
import { PRICE_KEYS, presetById } from '../../src/metrics/presets.js';

const doc = readFileSync(new URL('../../docs/presets.md', import.meta.url), 'utf8');

describe('docs/presets.md', () => {
  it('has one row per price, in the cost model order, saying what it multiplies and what each built-in charges', () => {
    const rows = [...doc.matchAll(/^\| `([a-zA-Z]+)` \| (.+?) \| ([a-z]+) \| (\d+) \| (\d+) \|$/gm)].map((m) => m.slice(1, 6));
    const p4 = presetById('p4-2006')!;
    const sb = presetById('sandybridge-2011')!;
    expect(rows).toEqual(COST_TERMS.map((t) => [t.price, t.label, t.category, String(p4.prices[t.price].cycles), String(sb.prices[t.price].cycles)]));
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(PRICE_KEYS));
  });
});
