/**
 * The acceptance matrix: every workload of the manifest under every registered engine, on the ISA
 * variants each engine declares itself faithful on (`Engine.faithfulOn`) — nothing here lists engines, so a new
 * engine is checked as soon as it is registered.
 *  - An engine running the unmodified guest is `exact` and retires exactly the reference's number of guest
 *    instructions.
 *  - An engine running the paravirtual kernel (a different kernel) produces the reference's output.
 *  - On a variant an engine does not claim, it diverges and names the cause. For trap-emulate on the default ISA
 *    the cause names popf (every workload's kernel restores interrupts with popf in its console critical
 *    section; rdmode's boot check and pushf are named too).
 */
import { describe, expect, it } from 'vitest';
import { ISA_VARIANTS } from '../../src/isa/arch.js';
import { WORKLOADS } from '../../workloads/manifest.js';
import { ENGINE_IDS, ENGINES, REFERENCE_ENGINE_ID } from '../../strategies/registry.js';
import { cell } from '../support/engines.js';

const STRATEGIES = ENGINES.filter((e) => e.id !== REFERENCE_ENGINE_ID);

describe('every engine on every workload', () => {
  it('the registry holds the reference first, then the five strategies the issue names, and vtx with nested paging', () => {
    expect(ENGINE_IDS[0]).toBe(REFERENCE_ENGINE_ID);
    expect(ENGINE_IDS).toEqual(expect.arrayContaining(['emulate', 'trap-emulate', 'dbt', 'paravirt', 'vtx', 'vtx-ept']));
    expect(new Set(ENGINE_IDS).size).toBe(ENGINE_IDS.length);
  });

  it('trap-emulate claims only the classic ISA (Popek and Goldberg); every other engine claims both', () => {
    for (const e of STRATEGIES) expect(e.faithfulOn, e.id).toEqual(e.id === 'trap-emulate' ? ['classic'] : [...ISA_VARIANTS]);
  });

  for (const w of WORKLOADS) {
    describe(w.name, () => {
      for (const e of STRATEGIES) {
        // One faithful variant per engine (the default one where it can): the classic ISA differs only in which
        // instructions trap, and the classic runs of the faithful engines are covered by the fuzzer.
        const isa = e.faithfulOn.includes('default') ? 'default' : e.faithfulOn[0];
        if (e.guest === 'native') {
          it(`${e.id} (${isa} ISA) is exact with the reference's instruction count`, () => {
            const ref = cell(REFERENCE_ENGINE_ID, w.name, { isa });
            const r = cell(e.id, w.name, { isa });
            expect(r.fidelity.verdict, r.fidelity.differences.join('\n')).toBe('exact');
            expect(r.counters.guestInstructions).toBe(ref.counters.guestInstructions);
            expect(r.outputCorrect).toBe(true);
          });
        } else {
          it(`${e.id} (${isa} ISA, its own kernel build) produces the reference output`, () => {
            const r = cell(e.id, w.name, { isa });
            expect(r.fidelity).toMatchObject({ verdict: 'exact', compared: 'output' });
            expect(r.outputCorrect).toBe(true);
          });
        }
        for (const other of ISA_VARIANTS.filter((v) => !e.faithfulOn.includes(v))) {
          it(`${e.id} on the ${other} ISA diverges, and names the cause`, () => {
            const r = cell(e.id, w.name, { isa: other });
            expect(r.fidelity.verdict).toBe('diverged');
            expect(r.fidelity.cause).not.toBeNull();
            if (e.id === 'trap-emulate') expect(r.fidelity.cause).toMatch(/popf silently misbehaved/);
          });
        }
      }
    });
  }
});
