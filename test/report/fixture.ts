/**
 * Small synthetic reports for the report-view tests: cells built from a few numbers, so a test can say exactly
 * what a chart or a table must show without running a benchmark.
 */
import { COST_CATEGORIES, type CostCategory } from '../../src/metrics/cost.js';
import { COUNTER_FIELDS, type ReasonCount } from '../../src/metrics/counters.js';
import { presetById } from '../../src/metrics/presets.js';
import { summarize, type BenchOptions, type BenchReport, type CellRecord } from '../../src/report/model.js';
import type { SilentFailure } from '../../strategies/engine.js';

export interface CellSpec {
  engine: string;
  workload: string;
  overhead: number;
  /** Modeled cycles by category; the total is their sum. */
  cycles: Partial<Record<CostCategory, number>>;
  verdict?: 'exact' | 'diverged';
  counters?: Record<string, number>;
  reasons?: ReasonCount[];
  silentFailures?: SilentFailure[];
  guestBuild?: 'native' | 'paravirt';
  mips?: number;
}

export function cell(s: CellSpec): CellRecord {
  const byCategory = Object.fromEntries(COST_CATEGORIES.map((k) => [k, s.cycles[k] ?? 0])) as Record<CostCategory, number>;
  const counters: Record<string, number> = Object.fromEntries(COUNTER_FIELDS.map((f) => [f.key, 0]));
  Object.assign(counters, { guestInstructions: 1000 }, s.counters);
  const verdict = s.verdict ?? 'exact';
  return {
    engine: s.engine,
    workload: s.workload,
    scale: 1,
    isa: 'default',
    status: 'exited',
    message: 'exited',
    exitCode: 0,
    guestBuild: s.guestBuild ?? 'native',
    fidelity: { verdict, compared: 'state', differences: verdict === 'exact' ? [] : ['final r1 0x1 instead of 0x0'], cause: null },
    outputCorrect: verdict === 'exact',
    counters,
    reasons: s.reasons ?? [],
    batchSizes: [],
    cycles: { total: Object.values(byCategory).reduce((a, b) => a + b, 0), byCategory },
    overheadVsNative: s.overhead,
    silentFailures: s.silentFailures ?? [],
    details: {},
    budget: null,
    timing: s.mips === undefined ? null : { samples: 3, meanMs: 1, p50Ms: 1, p99Ms: 1, rmePercent: 1, guestMips: s.mips },
    error: null,
  };
}

export function report(cells: CellRecord[], options: Partial<BenchOptions> = {}, paging: string[] = []): BenchReport {
  const engines = [...new Set(cells.map((c) => c.engine))];
  const workloads = [...new Set(cells.map((c) => c.workload))];
  return {
    schemaVersion: 1,
    generator: 'test',
    finishedAt: '2024-01-01T00:00:00.000Z',
    environment: { node: 'v20', v8: '11', platform: 'linux', arch: 'x64', os: 'Linux', cpuModel: 'cpu', cpus: 2, gitCommit: null },
    options: { engines, workloads, preset: 'p4-2006', isa: 'default', scale: null, quick: false, timing: true, timingPlan: { timeMs: 400, iterations: 3, warmupIterations: 1 }, jobs: 1, ...options },
    preset: presetById('p4-2006')!,
    engines: engines.map((id) => ({ id, title: id, summary: id, guest: 'native' })),
    workloads: workloads.map((name) => ({ name, purpose: name, exposes: name, scale: 1, paging: paging.includes(name) })),
    cells,
    summary: summarize(cells),
  };
}
