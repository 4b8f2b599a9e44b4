/**
 * Failures the bench must survive and report precisely: a workload whose reference run cannot finish (its scale
 * is too large for the instruction budget), and an engine that fails only while it is being timed.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { countCell, type MatrixPlan } from '../../bench/matrix.js';
import { runBench, type BenchPlan } from '../../bench/bench.js';
import { presetById } from '../../src/metrics/presets.js';
import type { Engine } from '../../strategies/engine.js';
import { engineById } from '../../strategies/registry.js';
import { workloadByName, type WorkloadSpec } from '../../workloads/manifest.js';

const P4 = presetById('p4-2006')!;

/** workloads/tests/spin.s as a workload: a task that never ends. */
const spin: WorkloadSpec = {
  name: 'spin',
  purpose: 'never ends',
  exposes: 'nothing',
  program: 'tests/spin.s',
  defaultScale: 1,
  quickScale: 1,
  scaleUnit: '(none)',
  expected: () => 'spinning\n',
};

describe('a workload whose reference run does not finish', () => {
  const plan: Pick<MatrixPlan, 'scaleOf' | 'isa' | 'preset'> = { scaleOf: () => 1, isa: 'default', preset: P4 };

  it.each(['native', 'dbt', 'vtx'])('%s: an error row naming the reference, not a run that "matches" a truncated one', (id) => {
    const r = countCell(plan, engineById(id)!, spin, 300_000);
    expect(r.status).toBe('error');
    expect(r.message).toBe('the reference run did not finish');
    expect(r.error).toMatch(
      /^Error: the reference run of spin at scale 1 did not finish \(budget-exhausted: stopped after the instruction budget of 300000 instructions at pc 0x[0-9a-f]+\); no engine can be measured against it — use a smaller --scale$/,
    );
    expect(r.counters).toBeNull();
  });

  it('a workload that finishes is measured as usual with the same budget', () => {
    const r = countCell(plan, engineById('dbt')!, workloadByName('hello')!, 300_000);
    expect(r.status).toBe('exited');
    expect(r.fidelity?.verdict).toBe('exact');
  });
});

describe('an engine that fails only while it is timed', () => {
  it('becomes an error row carrying the exception message from inside the timing loop', async () => {
    const native = engineById('native')!;
    let calls = 0;
    const flaky: Engine = {
      ...native,
      id: 'flaky',
      title: 'flaky',
      run(spec) {
        // The count phase runs the engine once; the timing phase runs it again and again.
        if (++calls >= 3) throw new Error('boom in timing');
        return native.run(spec);
      },
    };
    const out = mkdtempSync(join(tmpdir(), 'virtstrat-failures-'));
    const plan: BenchPlan = {
      engines: [native, flaky],
      workloads: [workloadByName('hello')!],
      preset: P4,
      isa: 'default',
      scale: null,
      quick: true,
      timing: true,
      out,
    };
    let err = '';
    expect(await runBench(plan, { out: () => {}, err: (t) => (err += t), isTTY: false })).toBe(1);
    const rows: Record<string, string>[] = parse(readFileSync(join(out, 'results.csv'), 'utf8'), { columns: true });
    const bad = rows.find((r) => r.engine === 'flaky')!;
    expect([bad.status, bad.error]).toEqual(['error', 'Error: while timing: boom in timing']);
    expect(rows.find((r) => r.engine === 'native')!.status).toBe('exited');
    expect(err).toMatch(/1 of 2 runs FAILED/);
  });
});
