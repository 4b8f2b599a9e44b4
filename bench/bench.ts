/**
 * `virtstrat bench` (= `npm run bench`): run the engine x workload matrix and write the report.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { ISA_VARIANTS, type IsaVariant } from '../src/isa/arch.js';
import { Worker } from 'node:worker_threads';
import { classify, type Classification } from '../src/classify/index.js';
import type { CostPreset } from '../src/metrics/presets.js';
import { environment } from '../src/report/environment.js';
import { summarize, SCHEMA_VERSION, type BenchReport, type CellRecord } from '../src/report/model.js';
import { renderReport, writeFilesAtomically } from '../src/report/write.js';
import type { Engine } from '../strategies/engine.js';
import { ENGINE_IDS, ENGINES } from '../strategies/registry.js';
import { WORKLOAD_NAMES, WORKLOADS, type WorkloadSpec } from '../workloads/manifest.js';
import { choice, positiveInt, RunError, UsageError, type FlagSpecs, type Parsed } from './args.js';
import type { ClassifyWorkerData } from './classify-worker.js';
import { DEFAULT_TIMING, planCells, WORKER_ENTRY, QUICK_TIMING, readCostHints, runMatrix, type MatrixPlan, type MatrixProgress, type Shard } from './matrix.js';

export const DEFAULT_OUT = 'reports/latest';

export interface BenchIo {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (a progress bar instead of one line per cell). */
  isTTY: boolean;
}

export const BENCH_FLAGS = (presetFlag: FlagSpecs[string]): FlagSpecs => ({
  engines: { type: 'string', value: 'a,b', help: `engines to run (default: all): ${ENGINE_IDS.join(', ')}` },
  workloads: { type: 'string', value: 'x,y', help: 'workloads to run (default: all; see virtstrat list)' },
  preset: presetFlag,
  isa: { type: 'string', value: ISA_VARIANTS.join('|'), help: 'ISA variant (default: default)' },
  scale: { type: 'string', value: 'N', help: "one scale for every workload (default: each workload's own)" },
  quick: { type: 'boolean', help: 'small scales and short timing: for CI and first contact (under a minute)' },
  'no-timing': { type: 'boolean', help: 'skip the host wall-clock measurements (counts only)' },
  out: { type: 'string', value: 'DIR', help: `output folder (default ${DEFAULT_OUT})` },
  jobs: { type: 'string', value: 'N', help: 'worker threads for the counts; timing stays serial (default: the CPUs available, at most 8; 1 on two CPUs or fewer)' },
  shard: { type: 'string', value: 'I/N', help: 'run only slice I of N of the matrix (join the slices with virtstrat merge)' },
});

/**
 * --jobs default for `cpus` CPUs: one thread on one or two (a single thread already keeps about 1.4 CPUs busy —
 * V8 compiles the generated guest code and collects garbage beside it — and on two CPUs two workers measured no
 * faster, with a quarter more CPU time: docs/scaling.md); else every CPU, capped at 8 because each worker holds
 * its own images and caches.
 */
export function defaultJobs(cpus: number): number {
  return cpus <= 2 ? 1 : Math.min(8, cpus);
}
export const DEFAULT_JOBS = defaultJobs(availableParallelism());

/** --shard I/N, checked against the number of cells (every shard must get at least one). */
export function parseShard(value: string | undefined, cells: number): Shard | null {
  if (value === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new UsageError(`--shard: '${value}' is not I/N with 1 <= I <= N (e.g. --shard 2/4)`);
  if (count > cells) throw new UsageError(`--shard: ${count} shards for ${cells} cells; use at most ${cells}`);
  return { index, count };
}

/** A comma list of names, each checked against the valid ones. */
export function nameList<T extends { readonly id?: string; readonly name?: string }>(
  flag: string,
  value: string | undefined,
  all: readonly T[],
  key: (t: T) => string,
): T[] {
  if (value === undefined) return [...all];
  const names = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError(`--${flag}: give at least one name. Valid values: ${all.map(key).join(', ')}`);
  const unknown = names.filter((n) => !all.some((t) => key(t) === n));
  if (unknown.length) throw new UsageError(`--${flag}: unknown ${unknown.map((u) => `'${u}'`).join(', ')}. Valid values: ${all.map(key).join(', ')}`);
  // Keep the canonical order (registry / manifest), whatever order was asked.
  return all.filter((t) => names.includes(key(t)));
}

export interface BenchPlan {
  engines: Engine[];
  workloads: WorkloadSpec[];
  preset: CostPreset;
  isa: IsaVariant;
  scale: number | null;
  quick: boolean;
  timing: boolean;
  out: string;
  /** Worker threads for the counts (absent: 1, in this thread). */
  jobs?: number;
  /** Run only this slice of the matrix (absent or null: all of it). */
  shard?: Shard | null;
}

/** --out: a folder (created when the report is written); a file there is a usage error, caught before the run. */
function outputFolder(value: string | undefined): string {
  const out = resolve(value ?? DEFAULT_OUT);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out: ${out} is a file, not a folder`);
  return out;
}

export function benchPlan(args: Parsed, preset: CostPreset): BenchPlan {
  const v = args.values;
  if (args.positionals.length > 0) throw new UsageError(`bench takes no arguments, got '${args.positionals.join(' ')}' (see virtstrat bench --help)`);
  const engines = nameList('engines', v.engines as string | undefined, ENGINES, (e) => e.id);
  const workloads = nameList('workloads', v.workloads as string | undefined, WORKLOADS, (w) => w.name);
  return {
    engines,
    workloads,
    preset,
    isa: choice('isa', v.isa as string | undefined, ISA_VARIANTS, 'default'),
    scale: v.scale === undefined ? null : positiveInt('scale', v.scale as string, 1, 100_000_000),
    quick: v.quick === true,
    timing: v['no-timing'] !== true,
    out: outputFolder(v.out as string | undefined),
    jobs: positiveInt('jobs', v.jobs as string | undefined, DEFAULT_JOBS, 256),
    shard: parseShard(v.shard as string | undefined, planCells({ engines, workloads }).length),
  };
}

function matrixPlan(p: BenchPlan): MatrixPlan {
  return {
    engines: p.engines,
    workloads: p.workloads,
    preset: p.preset,
    isa: p.isa,
    scaleOf: (w) => p.scale ?? (p.quick ? w.quickScale : w.defaultScale),
    timing: p.timing ? (p.quick ? QUICK_TIMING : DEFAULT_TIMING) : null,
    jobs: p.jobs ?? 1,
    shard: p.shard ?? null,
    // The previous report in the output folder says which cells are slow: the workers start with those.
    costHints: (p.jobs ?? 1) > 1 ? readCostHints(join(p.out, 'results.json')) : undefined,
  };
}

function progressLine(p: MatrixProgress): string {
  const n = `[${String(p.index + 1).padStart(String(p.total).length)}/${p.total}]`;
  const what = `${p.phase.padEnd(6)} ${p.engine} × ${p.workload}`;
  const r = p.record;
  if (!r) return `${n} ${what}`;
  if (r.status === 'error') return `${n} ${what}: ERROR ${r.error ?? ''}`;
  if (p.phase === 'timing' && r.timing) return `${n} ${what}: ${r.timing.meanMs.toFixed(1)} ms/run, ${r.timing.guestMips.toFixed(1)} guest MIPS`;
  return `${n} ${what}: ${r.fidelity?.verdict ?? ''}, ${r.overheadVsNative?.toFixed(2) ?? '?'}x native, ${r.counters?.guestInstructions ?? 0} instructions`;
}

/** The compact end-of-run table: overhead per workload and engine, marks for diverged (!) and failed cells. */
export function summaryTable(report: BenchReport): string {
  const ids = report.engines.map((e) => e.id);
  const w0 = Math.max(8, ...report.workloads.map((w) => w.name.length));
  const col = Math.max(9, ...ids.map((id) => id.length + 1));
  const lines = [`${'workload'.padEnd(w0)} ${ids.map((id) => id.padStart(col)).join('')}`];
  for (const w of report.workloads) {
    const row = ids.map((id) => {
      const c = report.cells.find((x) => x.engine === id && x.workload === w.name);
      const text = !c ? '-' : c.status === 'error' ? 'ERROR' : `${(c.overheadVsNative ?? 0).toFixed(2)}${c.fidelity?.verdict === 'diverged' ? '!' : ' '}`;
      return text.padStart(col);
    });
    lines.push(`${w.name.padEnd(w0)} ${row.join('')}`);
  }
  // Quick scales are dominated by booting the kernel: say so where the numbers are read.
  const quick = report.options.quick
    ? '\n--quick: small scales, where booting the kernel dominates; these factors are not representative (run without --quick)'
    : '';
  return `${lines.join('\n')}\n(modeled overhead vs native; ! = diverged from the reference)${quick}\n`;
}

/**
 * The classification of the plan's ISA for the report. With worker threads (--jobs > 1) it is computed on one of
 * its own while the counts run; should that thread fail, here. (Deterministic either way: same ISA, same result.)
 */
export function startClassification(p: Pick<BenchPlan, 'jobs' | 'isa'>, entry = './classify-worker.ts'): Promise<Classification> {
  if ((p.jobs ?? 1) <= 1) return Promise.resolve(classify(p.isa));
  const data: ClassifyWorkerData = { entry, isa: p.isa };
  const worker = new Worker(WORKER_ENTRY, { workerData: data });
  return new Promise((resolve) => {
    let answered = false;
    worker.once('message', (c: Classification) => {
      answered = true;
      resolve(c);
      void worker.terminate();
    });
    worker.once('error', () => undefined); // (its exit follows)
    worker.once('exit', () => {
      if (!answered) resolve(classify(p.isa));
    });
  });
}

export function buildReport(p: BenchPlan, cells: CellRecord[], finishedAt: string, classification: Classification = classify(p.isa)): BenchReport {
  const m = matrixPlan(p);
  return {
    schemaVersion: SCHEMA_VERSION,
    generator: 'virtstrat 0.1.0',
    finishedAt,
    environment: environment(),
    options: {
      engines: p.engines.map((e) => e.id),
      workloads: p.workloads.map((w) => w.name),
      preset: p.preset.id,
      isa: p.isa,
      scale: p.scale,
      quick: p.quick,
      timing: p.timing,
      timingPlan: m.timing,
      jobs: p.jobs ?? 1,
    },
    preset: p.preset,
    engines: p.engines.map((e) => ({ id: e.id, title: e.title, summary: e.summary, guest: e.guest })),
    workloads: p.workloads.map((w) => ({ name: w.name, purpose: w.purpose, exposes: w.exposes, scale: m.scaleOf(w), paging: w.paging === true })),
    cells,
    summary: summarize(cells),
    classification,
    ...(p.shard ? { shard: p.shard } : {}),
  };
}

/** Run the benchmark. Returns the exit status: 0, or 1 if any cell failed (its engine threw). */
export async function runBench(p: BenchPlan, io: BenchIo): Promise<number> {
  const stopListening = exitOnInterrupt(io, p.out);
  try {
    return await benchAndReport(p, io);
  } finally {
    stopListening();
  }
}

/** Exit status of a bench stopped by Ctrl-C (SIGINT), as shells report a process killed by it: 128 + 2. */
export const EXIT_INTERRUPTED = 130;

/**
 * Ctrl-C (SIGINT) stops the bench at once with status 130 and a message. The report is only ever replaced by
 * renames done in one synchronous step (src/report/write.ts), and a signal handler runs between JavaScript turns,
 * never inside that step: the previous report stays whole and no temporary file is left. (The counts run in
 * worker threads with --jobs > 1; with --jobs 1 they run in this thread, one event-loop turn between cells, so an
 * interrupt is handled when the current cell ends — still before anything is written.)
 * Returns the function that removes the handler.
 */
function exitOnInterrupt(io: BenchIo, out: string): () => void {
  const handler = (): void => {
    io.err(`\nvirtstrat bench: interrupted (SIGINT); nothing was written, the report in ${out} is unchanged\n`);
    process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

/** Write the report, or fail the run (exit status 1) with one clear message. */
function writeReport(dir: string, files: Record<string, string>): string[] {
  try {
    return writeFilesAtomically(dir, files);
  } catch (err) {
    throw new RunError(`cannot write the report to ${dir}: ${(err as Error).message}`);
  }
}

async function benchAndReport(p: BenchPlan, io: BenchIo): Promise<number> {
  const started = Date.now();
  io.err(
    `virtstrat bench: ${p.engines.length} engines × ${p.workloads.length} workloads, preset ${p.preset.id}, ${p.isa} ISA` +
      `${p.quick ? ', quick' : ''}${p.timing ? '' : ', no timing'}${p.shard ? `, shard ${p.shard.index}/${p.shard.count}` : ''}` +
      `${(p.jobs ?? 1) > 1 ? `, counts on ${p.jobs} worker threads` : ''}\n`,
  );
  const classification = startClassification(p);
  const cells = await runMatrix({ ...matrixPlan(p), beforeTiming: classification }, (prog) => {
    if (io.isTTY) {
      const pct = Math.round((100 * (prog.index + (prog.record ? 1 : 0))) / prog.total);
      io.err(`\r\x1b[K${prog.phase} ${String(pct).padStart(3)}% ${progressLine({ ...prog, record: undefined }).slice(0, 100)}`);
    } else if (prog.record) {
      io.err(`${progressLine(prog)}\n`);
    }
  });
  if (io.isTTY) io.err('\r\x1b[K');
  const report = buildReport(p, cells, new Date().toISOString(), await classification);
  const files = await renderReport(report);
  // Let a Ctrl-C that came during the run or the rendering be handled now, before anything is written.
  // Two turns of the event loop: whatever phase this runs in, a poll phase (where signals are dispatched) comes
  // between them.
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
  const written = writeReport(p.out, files);
  io.out(summaryTable(report));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  io.out(`\nwrote ${written.map((f) => f.replace(`${process.cwd()}/`, '')).join(', ')} in ${seconds} s\n`);
  const errors = cells.filter((c) => c.status === 'error');
  if (errors.length) {
    io.err(`\n${errors.length} of ${cells.length} runs FAILED (the engine threw; they are error rows in the report):\n`);
    for (const c of errors) io.err(`  ${c.engine} × ${c.workload}: ${c.error}\n`);
    return 1;
  }
  return 0;
}

export { WORKLOAD_NAMES };
