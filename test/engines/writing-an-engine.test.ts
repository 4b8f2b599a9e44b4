/** The example engine of docs/writing-an-engine.md works as the page says. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/metrics/counters.js';
import { runCell } from '../../src/run/engine-run.js';
import type { Engine } from '../../strategies/engine.js';
import { bareOutcome, runBareMachine } from '../../strategies/bare.js';
import { workloadByName } from '../../workloads/manifest.js';
import { P4 } from '../support/engines.js';

// The engine exactly as the page shows it.
const sampling: Engine = {
  id: 'sampling',
  title: 'sampling emulation',
  summary: 'Full emulation that also samples every Nth instruction.',
  guest: 'native',
  faithfulOn: ['default', 'classic'],
  options: [{ name: 'every', help: 'sample one instruction in N', default: 100 }],
  run(spec) {
    const m = runBareMachine(spec, 'interpreter'); // the hardware model (interpreted), run to the end
    const c = new Counters();
    c.interpretedInstructions = m.retired;
    const every = Number(spec.options.every);
    for (let i = 0; i < Math.floor(m.retired / every); i++) c.enter('callout', 'sample');
    return bareOutcome(m, c);
  },
};

describe('docs/writing-an-engine.md', () => {
  it('shows the example engine verbatim', () => {
    const doc = readFileSync(new URL('../../docs/writing-an-engine.md', import.meta.url), 'utf8');
    expect(doc).toContain("for (let i = 0; i < Math.floor(m.retired / every); i++) c.enter('callout', 'sample');");
  });
  it('the example runs, is exact, counts its entries and is priced by the cost model with no extra code', () => {
    const w = workloadByName('sieve')!;
    const r = runCell({ engine: sampling, guest: { kind: 'workload', workload: w, scale: w.quickScale }, isa: 'default', preset: P4, options: { every: 1000 } });
    expect(r.fidelity.verdict).toBe('exact');
    expect(r.counters.callouts).toBe(Math.floor(r.counters.guestInstructions / 1000));
    expect(r.reasons).toEqual([{ kind: 'callout', reason: 'sample', count: r.counters.callouts }]);
    expect(r.cycles.byCategory.callout).toBe(r.counters.callouts * P4.prices.callout.cycles);
  });
});
