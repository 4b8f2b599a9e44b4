/**
 * The report model: everything a benchmark run produced, as plain data. results.json is this object; the CSV
 * files and the HTML report are views of it. Nothing downstream re-runs anything.
 */
import type { IsaVariant } from '../isa/arch.js';
import type { Classification } from '../classify/types.js';
import type { MachineStatus } from '../hw/machine.js';
import type { BatchCount, CounterSnapshot, ReasonCount } from '../metrics/counters.js';
import type { ModeledCycles } from '../metrics/cost.js';
import type { CostPreset } from '../metrics/presets.js';
import type { Fidelity } from '../run/fidelity.js';
import type { EngineOptionValue, SilentFailure } from '../../strategies/engine.js';

/** Bump when the shape of results.json changes incompatibly. */
export const SCHEMA_VERSION = 1;

/** Host wall-clock time of one cell, from tinybench (never used in correctness checks). */
export interface CellTiming {
  samples: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Relative margin of error, in percent. */
  rmePercent: number;
  /** Simulator throughput: guest instructions per host second, in millions. */
  guestMips: number;
}

export interface CellRecord {
  engine: string;
  workload: string;
  scale: number;
  isa: IsaVariant;
  /** 'error' when the engine threw (a bug, not a guest outcome); see `error`. */
  status: MachineStatus | 'error';
  message: string;
  exitCode: number | null;
  guestBuild: string;
  fidelity: Fidelity | null;
  outputCorrect: boolean | null;
  counters: CounterSnapshot | null;
  reasons: ReasonCount[];
  batchSizes: BatchCount[];
  cycles: ModeledCycles | null;
  overheadVsNative: number | null;
  silentFailures: SilentFailure[];
  details: Record<string, EngineOptionValue>;
  /** The guest-instruction budget of the run. */
  budget: number | null;
  timing: CellTiming | null;
  /** The host exception message when status is 'error'. */
  error: string | null;
}

export interface Environment {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  os: string;
  cpuModel: string;
  cpus: number;
  gitCommit: string | null;
}

export interface BenchOptions {
  engines: string[];
  workloads: string[];
  preset: string;
  isa: IsaVariant;
  /** null: each workload's own scale (default, or quick). */
  scale: number | null;
  quick: boolean;
  timing: boolean;
  /** How each cell was timed (tinybench: minimum time and iterations, warm-up runs); null with --no-timing. */
  timingPlan: { timeMs: number; iterations: number; warmupIterations: number } | null;
  /** Worker threads that ran the counts (the timing always runs in one thread, one cell at a time). */
  jobs: number;
}

export interface BenchReport {
  schemaVersion: number;
  generator: string;
  /** When the run finished (ISO 8601). */
  finishedAt: string;
  environment: Environment;
  options: BenchOptions;
  preset: CostPreset;
  engines: { id: string; title: string; summary: string; guest: string }[];
  /** `paging`: the workload exercises the MMU (shown in the memory-virtualization section). */
  workloads: { name: string; purpose: string; exposes: string; scale: number; paging: boolean }[];
  cells: CellRecord[];
  summary: { cells: number; errors: number; exact: number; diverged: number };
  /** The Popek–Goldberg classification of `options.isa` (virtstrat classify), shown beside the fidelity matrix. */
  classification?: Classification;
  /**
   * Present when this report is one slice of the matrix (`bench --shard index/count`): `cells` holds only the
   * slice, `options`, `engines` and `workloads` describe the whole matrix. `virtstrat merge` joins the slices.
   */
  shard?: { index: number; count: number };
}

export function summarize(cells: readonly CellRecord[]): BenchReport['summary'] {
  return {
    cells: cells.length,
    errors: cells.filter((c) => c.status === 'error').length,
    exact: cells.filter((c) => c.fidelity?.verdict === 'exact').length,
    diverged: cells.filter((c) => c.fidelity?.verdict === 'diverged').length,
  };
}
