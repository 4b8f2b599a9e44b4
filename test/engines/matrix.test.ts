/**
 * The acceptance matrix: every workload of the manifest under every engine.
 *  - Faithful engines running the unmodified guest (emulate, dbt, vtx, vtx-ept, trap-emulate on the classic ISA) are
 *    `exact` and retire exactly the reference's number of guest instructions.
 *  - paravirt runs a different kernel: its output (status, exit code, console) is the reference's.
 *  - trap-emulate on the default ISA is `diverged`, and the cause names popf (every workload's kernel path
 *    restores interrupts with popf in its console critical section).
 */
import { describe, expect, it } from 'vitest';
import { WORKLOADS } from '../../workloads/manifest.js';
import { ENGINE_IDS } from '../../strategies/registry.js';
import { cell } from '../support/engines.js';

const FAITHFUL: { engine: string; isa: 'default' | 'classic' }[] = [
  { engine: 'emulate', isa: 'default' },
  { engine: 'dbt', isa: 'default' },
  { engine: 'vtx', isa: 'default' },
  { engine: 'vtx-ept', isa: 'default' },
  { engine: 'trap-emulate', isa: 'classic' },
];

describe('every engine on every workload', () => {
  it('the registry holds the reference, the five strategies, and vtx in its nested-paging configuration', () => {
    expect(ENGINE_IDS).toEqual(['native', 'emulate', 'trap-emulate', 'dbt', 'paravirt', 'vtx', 'vtx-ept']);
  });

  for (const w of WORKLOADS) {
    describe(w.name, () => {
      for (const { engine, isa } of FAITHFUL) {
        it(`${engine} (${isa} ISA) is exact with the reference's instruction count`, () => {
          const ref = cell('native', w.name, { isa });
          const r = cell(engine, w.name, { isa });
          expect(r.fidelity.verdict, r.fidelity.differences.join('\n')).toBe('exact');
          expect(r.counters.guestInstructions).toBe(ref.counters.guestInstructions);
          expect(r.outputCorrect).toBe(true);
        });
      }
      it('paravirt produces the reference output', () => {
        const r = cell('paravirt', w.name);
        expect(r.fidelity).toMatchObject({ verdict: 'exact', compared: 'output' });
        expect(r.outputCorrect).toBe(true);
      });
      it('trap-emulate on the default ISA diverges, and names popf', () => {
        const r = cell('trap-emulate', w.name);
        expect(r.fidelity.verdict).toBe('diverged');
        expect(r.fidelity.cause).toMatch(/popf silently misbehaved/);
      });
    });
  }
});
