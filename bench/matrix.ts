/**
 * The engine x workload matrix.
 *
 * Two kinds of measurement, kept apart:
 *  1. counts — one run per cell through runCell (src/run/engine-run.ts). They are deterministic: the same cell
 *     always gives the same counts, so one run is enough.
 *  2. timing — host wall-clock time per run from tinybench (mean, p50, p99, margin of error, samples) and the
 *     simulator's throughput. Timing never influences a count or a verdict.
 * A cell whose engine throws is recorded as an `error` row with the message; the rest of the matrix still runs.
 */
import { Bench } from 'tinybench';
import type { IsaVariant } from '../src/isa/arch.js';
import { DEFAULT_MEMORY_BYTES } from '../src/hw/memory.js';
import type { CostPreset } from '../src/metrics/presets.js';
import { guestImage, runCell, type CellResult, type Guest } from '../src/run/engine-run.js';
import type { CellRecord, CellTiming } from '../src/report/model.js';
import type { Engine } from '../strategies/engine.js';
import type { WorkloadSpec } from '../workloads/manifest.js';

export interface TimingPlan {
  /** Minimum time to spend timing one cell, in ms. */
  timeMs: number;
  /** Minimum timed runs per cell. */
  iterations: number;
  warmupIterations: number;
}

export const DEFAULT_TIMING: TimingPlan = { timeMs: 400, iterations: 3, warmupIterations: 1 };
export const QUICK_TIMING: TimingPlan = { timeMs: 30, iterations: 2, warmupIterations: 1 };

export interface MatrixPlan {
  engines: readonly Engine[];
  workloads: readonly WorkloadSpec[];
  preset: CostPreset;
  isa: IsaVariant;
  scaleOf: (w: WorkloadSpec) => number;
  /** null: no timing (--no-timing). */
  timing: TimingPlan | null;
}

export interface MatrixProgress {
  phase: 'counts' | 'timing';
  index: number;
  total: number;
  engine: string;
  workload: string;
  /** Set when the cell is done. */
  record?: CellRecord;
}

/** The cells of a plan, in a fixed order (workload-major), so results never depend on execution order. */
export function planCells(plan: MatrixPlan): { engine: Engine; workload: WorkloadSpec }[] {
  const cells: { engine: Engine; workload: WorkloadSpec }[] = [];
  for (const workload of plan.workloads) for (const engine of plan.engines) cells.push({ engine, workload });
  return cells;
}

export function recordOf(r: CellResult): CellRecord {
  return {
    engine: r.engine,
    workload: r.workload,
    scale: r.scale ?? 0,
    isa: r.isa,
    status: r.status,
    message: r.message,
    exitCode: r.exitCode,
    guestBuild: r.guestBuild,
    fidelity: r.fidelity,
    outputCorrect: r.outputCorrect,
    counters: r.counters,
    reasons: r.reasons,
    batchSizes: r.batchSizes,
    cycles: r.cycles,
    overheadVsNative: r.overheadVsNative,
    silentFailures: r.silentFailures,
    details: r.details,
    budget: r.budget,
    timing: null,
    error: null,
  };
}

export function errorRecord(engine: Engine, workload: WorkloadSpec, scale: number, isa: IsaVariant, err: unknown): CellRecord {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return {
    engine: engine.id,
    workload: workload.name,
    scale,
    isa,
    status: 'error',
    message: 'the engine failed with a host exception',
    exitCode: null,
    guestBuild: engine.guest,
    fidelity: null,
    outputCorrect: null,
    counters: null,
    reasons: [],
    batchSizes: [],
    cycles: null,
    overheadVsNative: null,
    silentFailures: [],
    details: {},
    budget: null,
    timing: null,
    error: message,
  };
}

/** Counts of one cell (never throws: a failing engine becomes an error record). */
export function countCell(plan: MatrixPlan, engine: Engine, workload: WorkloadSpec): CellRecord {
  const scale = plan.scaleOf(workload);
  try {
    return recordOf(runCell({ engine, guest: { kind: 'workload', workload, scale }, isa: plan.isa, preset: plan.preset }));
  } catch (err) {
    return errorRecord(engine, workload, scale, plan.isa, err);
  }
}

/** Host time of one cell: the engine alone (no reference run, no comparison), several times. */
export async function timeCell(plan: MatrixPlan, engine: Engine, workload: WorkloadSpec, record: CellRecord, timing: TimingPlan): Promise<CellTiming> {
  const guest: Guest = { kind: 'workload', workload, scale: record.scale };
  const image = guestImage(guest, engine.guest);
  const spec = {
    image,
    isa: plan.isa,
    budget: record.budget ?? Number.MAX_SAFE_INTEGER,
    memoryBytes: DEFAULT_MEMORY_BYTES,
    trace: null,
    options: Object.fromEntries(engine.options.map((o) => [o.name, o.default])),
  };
  const bench = new Bench({
    time: timing.timeMs,
    iterations: timing.iterations,
    warmupIterations: timing.warmupIterations,
    warmupTime: 0,
  });
  bench.add(`${engine.id} ${workload.name}`, () => {
    engine.run(spec);
  });
  await bench.run();
  const r = bench.tasks[0].result;
  if (!r || r.state !== 'completed') throw new Error(`timing ${engine.id} on ${workload.name} failed`);
  const instructions = record.counters?.guestInstructions ?? 0;
  return {
    samples: r.latency.samplesCount,
    meanMs: r.latency.mean,
    p50Ms: r.latency.p50 ?? r.latency.mean,
    p99Ms: r.latency.p99 ?? r.latency.max,
    rmePercent: r.latency.rme,
    guestMips: r.latency.mean > 0 ? instructions / (r.latency.mean * 1000) : 0,
  };
}

/** Run the whole matrix: counts for every cell, then timing for every cell that did not fail. */
export async function runMatrix(plan: MatrixPlan, onProgress: (p: MatrixProgress) => void = () => {}): Promise<CellRecord[]> {
  const cells = planCells(plan);
  const records: CellRecord[] = [];
  cells.forEach(({ engine, workload }, i) => {
    onProgress({ phase: 'counts', index: i, total: cells.length, engine: engine.id, workload: workload.name });
    const record = countCell(plan, engine, workload);
    records.push(record);
    onProgress({ phase: 'counts', index: i, total: cells.length, engine: engine.id, workload: workload.name, record });
  });
  if (plan.timing !== null) {
    for (let i = 0; i < cells.length; i++) {
      const { engine, workload } = cells[i];
      const record = records[i];
      if (record.status === 'error') continue;
      onProgress({ phase: 'timing', index: i, total: cells.length, engine: engine.id, workload: workload.name });
      try {
        record.timing = await timeCell(plan, engine, workload, record, plan.timing);
      } catch (err) {
        // Counting succeeded; a failure while timing is still an engine failure.
        records[i] = errorRecord(engine, workload, record.scale, plan.isa, err);
      }
      onProgress({ phase: 'timing', index: i, total: cells.length, engine: engine.id, workload: workload.name, record: records[i] });
    }
  }
  return records;
}
