/**
 * Determinism (issue 8), on EVERY workload: a cell's counts never depend on what ran before it or beside it.
 * The whole matrix is run twice in this process, with the engines in registry order and then reversed (so every
 * cell runs after different cells, with caches warmed differently), and each workload is run once more as a
 * single cell; every record — status, message, counters, exit reasons, batch sizes, fidelity, modeled cycles —
 * must be identical. (test/bench/bench.test.ts checks that two whole `bench` runs write identical count columns.)
 *
 * At scale 1: how many operations a workload does does not change what is being checked, and the matrix runs in
 * a few seconds. On the classic ISA, where trap-and-emulate is exact too (on the default ISA two of its cells run
 * to their budget, which costs more time than everything else together and proves nothing more here).
 */
import { describe, expect, it } from 'vitest';
import { countCell, runMatrix, type MatrixPlan } from '../../bench/matrix.js';
import type { CellRecord } from '../../src/report/model.js';
import { ENGINES } from '../../strategies/registry.js';
import { WORKLOADS } from '../../workloads/manifest.js';
import { P4 } from '../support/engines.js';

const plan = (engines: MatrixPlan['engines']): MatrixPlan => ({
  engines,
  workloads: WORKLOADS,
  preset: P4,
  isa: 'classic',
  scaleOf: () => 1,
  timing: null,
  jobs: 1,
});

const byCell = (records: CellRecord[]): Map<string, CellRecord> => new Map(records.map((r) => [`${r.engine} × ${r.workload}`, r]));

describe('counts are deterministic on every workload', () => {
  it('registry order, reversed order and single cells give identical records', async () => {
    const forward = byCell(await runMatrix(plan(ENGINES)));
    const reversed = await runMatrix(plan([...ENGINES].reverse()));
    expect(forward.size).toBe(ENGINES.length * WORKLOADS.length);
    expect(reversed.map((r) => r.engine).slice(0, ENGINES.length)).toEqual(ENGINES.map((e) => e.id).reverse());
    for (const r of reversed) {
      const key = `${r.engine} × ${r.workload}`;
      expect(r.status, `${key}: ${r.error ?? r.message}`).not.toBe('error');
      expect(r, key).toEqual(forward.get(key));
    }
    // One more run of one cell per workload, on its own (each engine in turn, so that all of them take part).
    WORKLOADS.forEach((w, i) => {
      const engine = ENGINES[i % ENGINES.length];
      const key = `${engine.id} × ${w.name}`;
      expect(countCell(plan([engine]), engine, w), key).toEqual(forward.get(key));
    });
  });
});
