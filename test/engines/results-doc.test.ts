/**
 * docs/results.md quotes `virtstrat paper`'s two tables (p4-2006 and sandybridge-2011). The numbers are modeled
 * and deterministic, so the page can be checked: every engine's cycles per operation in the page are the ones the
 * command computes now. (A change to the kernel or an engine that moves them must update the page.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PAPER_WORKLOADS } from '../../src/run/per-op.js';
import { ENGINE_IDS } from '../../strategies/registry.js';
import { cli } from '../support/cli.js';

const doc = readFileSync(new URL('../../docs/results.md', import.meta.url), 'utf8');

/** The rows of the first table after `heading` whose header starts with `| operation |`: engine id -> value, per row. */
function table(heading: string): Record<string, number>[] {
  const lines = doc.slice(doc.indexOf(heading)).split('\n');
  const start = lines.findIndex((l) => l.startsWith('| operation |'));
  const header = lines[start].split('|').map((c) => c.trim());
  const rows: Record<string, number>[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').map((c) => c.trim());
    rows.push(Object.fromEntries(ENGINE_IDS.map((e) => [e, Number(cells[header.indexOf(e)].replace(/,/g, ''))])));
  }
  return rows;
}

async function paper(preset: string): Promise<Record<string, number>[]> {
  const r = await cli('paper', '--json', '--preset', preset);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out).rows as { virtstrat: Record<string, number> }[]).map((x) => x.virtstrat);
}

describe("docs/results.md quotes virtstrat paper's numbers as they are now", () => {
  it.each([
    ['p4-2006', '## Pentium 4'],
    ['sandybridge-2011', '## Sandy Bridge'],
  ])('%s', async (preset, heading) => {
    const quoted = table(heading);
    expect(quoted).toHaveLength(PAPER_WORKLOADS.length);
    expect(quoted).toEqual(await paper(preset));
  });
});
