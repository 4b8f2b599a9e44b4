/**
 * The engine x workload matrix.
 *
 * Two kinds of measurement, kept apart:
 *  1. counts — one run per cell through runCell (src/run/engine-run.ts). They are deterministic: the same cell
 *     always gives the same counts, so one run is enough.
 *  2. timing — host wall-clock time per run from tinybench (mean, p50, p99, margin of error, samples) and the
 *     simulator's throughput. Timing never influences a count or a verdict.
 * A cell whose engine throws is recorded as an `error` row with the message; the rest of the matrix still runs.
 *
 * Counts may run on worker threads (`jobs` > 1: bench/matrix-worker.ts); each record lands at its cell's place, so
 * the result is the same as a serial run. Timing always runs here, one cell at a time, after all the counts, so no
 * other work competes with the measured runs. A plan may also be one shard of the matrix (`bench --shard i/n`:
 * bench/merge.ts puts the shards back together).
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import type { IsaVariant } from '../src/isa/arch.js';
import { DEFAULT_MEMORY_BYTES } from '../src/hw/memory.js';
import { DEFAULT_BUDGET } from '../src/run/reference.js';
import type { CostPreset } from '../src/metrics/presets.js';
import { guestImage, referenceRun, runCell, type CellResult, type Guest } from '../src/run/engine-run.js';
import type { BenchReport, CellRecord, CellTiming } from '../src/report/model.js';
import type { Engine } from '../strategies/engine.js';
import { engineById } from '../strategies/registry.js';
import { workloadByName, type WorkloadSpec } from '../workloads/manifest.js';
import type { CountJob, CountReply, CountWorkerData } from './matrix-worker.js';

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
  /** Worker threads for the count phase; 1 (the default) counts in this thread. */
  jobs?: number;
  /** Run only this slice of the cells (see shardSlots); null or absent: all of them. */
  shard?: Shard | null;
  /**
   * How long each cell took last time (by cellKey; any unit), to start the slowest cells first on the workers.
   * Only the order of the work depends on it, never a result.
   */
  costHints?: ReadonlyMap<string, number>;
  /** Work started beside the counts (on other threads) that must end before timing starts, so as not to disturb it. */
  beforeTiming?: Promise<unknown>;
}

/** A cell's name in messages and cost hints. */
export const cellKey = (engine: string, workload: string): string => `${engine} × ${workload}`;

/**
 * Cost hints from a previous report (results.json in the output folder): the mean run time of each cell if it
 * was timed, else its guest instructions. Empty when there is no readable report.
 */
export function readCostHints(file: string): Map<string, number> {
  const hints = new Map<string, number>();
  let report: BenchReport;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  } catch {
    return hints;
  }
  const cells = Array.isArray(report.cells) ? report.cells : [];
  const timed = cells.some((c) => c.timing);
  for (const c of cells) {
    const cost = timed ? c.timing?.meanMs : c.counters?.guestInstructions;
    if (typeof cost === 'number') hints.set(cellKey(c.engine, c.workload), cost);
  }
  return hints;
}

/** Shard `index` (1-based) of `count`, as results.json records it. */
export type Shard = NonNullable<BenchReport['shard']>;

export interface MatrixProgress {
  phase: 'counts' | 'timing';
  index: number;
  total: number;
  engine: string;
  workload: string;
  /** Set when the cell is done. */
  record?: CellRecord;
}

export type Cell = { engine: Engine; workload: WorkloadSpec };

/** The cells of a plan, in a fixed order (workload-major), so results never depend on execution order. */
export function planCells(plan: Pick<MatrixPlan, 'engines' | 'workloads'>): Cell[] {
  const cells: Cell[] = [];
  for (const workload of plan.workloads) for (const engine of plan.engines) cells.push({ engine, workload });
  return cells;
}

/**
 * The shard (0-based) of each cell of planCells, for `count` shards. The cells are dealt to the shards in turn,
 * in anti-diagonal order of the workload × engine grid (workload index + engine index, then workload): every
 * shard gets the same number of cells give or take one, and a mix of engines and workloads whatever `count` is.
 * (Dealing in plain matrix order would give each shard one engine when `count` equals the number of engines — all
 * the slow emulate cells in one shard.) Costs are unknown before the run, so equal counts are the balance we can
 * promise; one very slow cell still makes its shard the slowest.
 */
export function shardSlots(workloads: number, engines: number, count: number): number[] {
  const cells = workloads * engines;
  const diagonal = (i: number): number => Math.floor(i / engines) + (i % engines);
  const order = Array.from({ length: cells }, (_, i) => i).sort((a, b) => diagonal(a) - diagonal(b) || a - b);
  const slots = new Array<number>(cells);
  order.forEach((cell, k) => (slots[cell] = k % count));
  return slots;
}

/** The cells this plan runs: all of planCells, or its shard's slice (in planCells order). */
export function selectedCells(plan: MatrixPlan): Cell[] {
  const cells = planCells(plan);
  const shard = plan.shard;
  if (!shard) return cells;
  const slots = shardSlots(plan.workloads.length, plan.engines.length, shard.count);
  return cells.filter((_, i) => slots[i] === shard.index - 1);
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

export function errorRecord(
  engine: Engine,
  workload: WorkloadSpec,
  scale: number,
  isa: IsaVariant,
  err: unknown,
  summary = 'the engine failed with a host exception',
): CellRecord {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return {
    engine: engine.id,
    workload: workload.name,
    scale,
    isa,
    status: 'error',
    message: summary,
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

/**
 * Counts of one cell (never throws: a failing engine becomes an error record). A workload whose reference run does
 * not finish — a scale too large for the instruction budget — gives an error record for every engine: each run
 * would stop at the same budget and compare "exact", and its counts would describe a truncated workload.
 */
export function countCell(
  plan: Pick<MatrixPlan, 'scaleOf' | 'isa' | 'preset'>,
  engine: Engine,
  workload: WorkloadSpec,
  referenceBudget = DEFAULT_BUDGET,
): CellRecord {
  const scale = plan.scaleOf(workload);
  try {
    const guest: Guest = { kind: 'workload', workload, scale };
    const reference = referenceRun(guest, plan.isa, DEFAULT_MEMORY_BYTES, referenceBudget);
    if (reference.status !== 'exited' && reference.status !== 'halted') {
      const why = new Error(
        `the reference run of ${workload.name} at scale ${scale} did not finish (${reference.status}: ${reference.message}); ` +
          'no engine can be measured against it — use a smaller --scale',
      );
      return errorRecord(engine, workload, scale, plan.isa, why, 'the reference run did not finish');
    }
    return recordOf(runCell({ engine, guest, isa: plan.isa, preset: plan.preset }));
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
  if (r?.state === 'errored') throw new Error(`while timing: ${r.error instanceof Error ? r.error.message : String(r.error)}`);
  if (r?.state !== 'completed') throw new Error(`timing ${engine.id} on ${workload.name} did not complete (${r?.state ?? 'no result'})`);
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

/** How a worker thread of the bench starts: tsx-entry.mjs registers tsx and loads the module named in its workerData. */
export const WORKER_ENTRY = new URL('./tsx-entry.mjs', import.meta.url);

/**
 * The count phase on `jobs` worker threads, each taking a cell whenever it is free (see `take` for which). A
 * worker rebuilds the engine and workload from their names, so cells of engines or workloads outside the registry
 * and the manifest (a test's own engine) are counted here, after the others. A worker that dies (out of memory, a
 * crash outside the engine) turns its cell into an error row and is replaced; the other cells still run. A
 * worker that cannot start (it dies before it says it is ready) is not replaced: the cells left when no worker
 * remains are counted here, so the report is complete, only slower. Progress is reported in completion order:
 * `index` counts finished cells. `entry`: the worker module (a test substitutes one that dies).
 */
export async function countInWorkers(
  plan: MatrixPlan,
  cells: Cell[],
  jobs: number,
  onProgress: (p: MatrixProgress) => void,
  entry = './matrix-worker.ts',
): Promise<CellRecord[]> {
  const records = new Array<CellRecord>(cells.length);
  const rebuildable = (c: Cell): boolean => engineById(c.engine.id) === c.engine && workloadByName(c.workload.name) === c.workload;
  // Slowest first (longest-processing-time order), so that one slow cell does not start last and run alone;
  // cells without a hint (new, or no previous report) first of all, in plan order: they may be the slow ones.
  const hint = (i: number): number => plan.costHints?.get(cellKey(cells[i].engine.id, cells[i].workload.name)) ?? Infinity;
  const queue = cells
    .map((_, i) => i)
    .filter((i) => rebuildable(cells[i]))
    .sort((a, b) => hint(b) - hint(a) || a - b);
  const started = new Set<string>();
  /**
   * The next cell for a worker that has run the workloads in `mine`: the first in the queue of one of those, else
   * of a workload no worker has started, else the first. Every cell needs its workload's reference run, which a
   * worker caches, so keeping workloads on one worker runs each reference about once instead of once per worker.
   */
  const take = (mine: Set<string>): number | null => {
    const name = (i: number): string => cells[i].workload.name;
    let k = queue.findIndex((i) => mine.has(name(i)));
    if (k < 0) k = queue.findIndex((i) => !started.has(name(i)));
    if (k < 0) k = 0;
    const [i] = queue.splice(k, 1);
    if (i === undefined) return null;
    mine.add(name(i));
    started.add(name(i));
    return i;
  };
  let done = 0;
  const progress = (i: number, record?: CellRecord): void => {
    const { engine, workload } = cells[i];
    onProgress({ phase: 'counts', index: done, total: cells.length, engine: engine.id, workload: workload.name, record });
    if (record) done++;
  };
  const data: CountWorkerData = { entry, isa: plan.isa, preset: plan.preset };
  await new Promise<void>((resolve) => {
    let alive = 0;
    const startWorker = (): void => {
      alive++;
      const worker = new Worker(WORKER_ENTRY, { workerData: data });
      let current: number | null = null;
      let ready = false;
      const mine = new Set<string>();
      const fail = (err: unknown): void => {
        if (current === null) return;
        const { engine, workload } = cells[current];
        records[current] = errorRecord(engine, workload, plan.scaleOf(workload), plan.isa, err);
        progress(current, records[current]);
        current = null;
      };
      const next = (): void => {
        current = take(mine);
        if (current === null) {
          void worker.terminate();
          return;
        }
        progress(current);
        const job: CountJob = { index: current, engine: cells[current].engine.id, workload: cells[current].workload.name, scale: plan.scaleOf(cells[current].workload) };
        worker.postMessage(job);
      };
      worker.on('message', (reply: CountReply | 'ready') => {
        if (reply === 'ready') ready = true;
        else {
          records[reply.index] = reply.record;
          progress(reply.index, reply.record);
        }
        next();
      });
      worker.on('error', fail);
      worker.on('exit', (code) => {
        fail(new Error(`the count worker stopped (exit code ${code}) while running this cell`));
        alive--;
        if (ready && queue.length > 0) startWorker();
        else if (alive === 0) resolve();
      });
    };
    for (let k = Math.min(jobs, queue.length); k > 0; k--) startWorker();
    if (alive === 0) resolve();
  });
  cells.forEach(({ engine, workload }, i) => {
    if (records[i]) return;
    progress(i);
    records[i] = countCell(plan, engine, workload);
    progress(i, records[i]);
  });
  return records;
}

/** Run the matrix (or the plan's shard of it): counts for every cell, then timing for every cell that did not fail. */
export async function runMatrix(plan: MatrixPlan, onProgress: (p: MatrixProgress) => void = () => {}): Promise<CellRecord[]> {
  const cells = selectedCells(plan);
  const jobs = plan.jobs ?? 1;
  let records: CellRecord[];
  if (jobs > 1) records = await countInWorkers(plan, cells, jobs, onProgress);
  else {
    records = [];
    for (const [i, { engine, workload }] of cells.entries()) {
      // One event-loop turn between cells, so that Ctrl-C (SIGINT) is handled after the current cell, not after
      // the whole count phase.
      await new Promise((resolve) => setImmediate(resolve));
      onProgress({ phase: 'counts', index: i, total: cells.length, engine: engine.id, workload: workload.name });
      const record = countCell(plan, engine, workload);
      records.push(record);
      onProgress({ phase: 'counts', index: i, total: cells.length, engine: engine.id, workload: workload.name, record });
    }
  }
  if (plan.timing !== null) {
    await plan.beforeTiming;
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
