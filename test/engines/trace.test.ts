/**
 * --trace is what a student reads to see *why*: every VMM entry as it happens, and beside them what is not an
 * entry — virtual interrupts the VMM injected (`inject`) and sensitive instructions that went wrong without
 * trapping (`silent`). Counting the entry lines of a trace gives exactly the run's VMM entries.
 */
import { describe, expect, it } from 'vitest';
import { ENTRY_KINDS } from '../../src/metrics/counters.js';
import { runCell } from '../../src/run/engine-run.js';
import type { TraceEvent } from '../../strategies/engine.js';
import { ENGINES, engineById } from '../../strategies/registry.js';
import { workloadByName } from '../../workloads/manifest.js';
import { P4 } from '../support/engines.js';

function traced(engine: string, workload: string, isa: 'default' | 'classic', scale = 2) {
  const events: TraceEvent[] = [];
  const r = runCell({ engine: engineById(engine)!, guest: { kind: 'workload', workload: workloadByName(workload)!, scale }, isa, preset: P4, trace: (e) => events.push(e) });
  return { r, events };
}

describe('--trace', () => {
  it.each(ENGINES.map((e) => e.id))('%s: one trace line per VMM entry (multitask and ptemod: interrupts, switches, page tables)', (id) => {
    for (const w of ['multitask', 'ptemod']) {
      const { r, events } = traced(id, w, 'classic');
      const entries = events.filter((e) => (ENTRY_KINDS as readonly string[]).includes(e.kind));
      expect(entries.length, w).toBe(r.counters.vmmEntries);
      expect(events.filter((e) => e.kind === 'inject').length, w).toBe(r.counters.injectedInterrupts);
    }
  });

  it('trap-emulate on the default ISA: the silent popf, pushf and rdmode are in the trace, where they happened', () => {
    const { r, events } = traced('trap-emulate', 'critical-sections', 'default', 1);
    const silent = events.filter((e) => e.kind === 'silent');
    // The oracle's failures, in the order they happened: each first occurrence is a trace line at its pc and clock.
    for (const f of r.silentFailures) {
      expect(silent.some((e) => e.reason === f.instruction && e.pc === f.pc && e.clock === f.firstClock && e.action === f.detail), f.instruction).toBe(true);
    }
    expect(silent.length).toBe(r.silentFailures.reduce((n, f) => n + f.count, 0));
    expect(silent[0]).toMatchObject({ reason: 'rdmode', instruction: expect.stringMatching(/^rdmode /), mode: 'supervisor' });
  });
});
