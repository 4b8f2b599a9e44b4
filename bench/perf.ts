/**
 * `virtstrat perf` (= `npm run perf`): how fast the simulator itself runs on this host — never part of any count
 * or verdict.
 *
 * For each compute workload with a plain-JavaScript baseline (bench/perf-baseline.ts) it times the baseline and
 * every engine, each in a fresh process (bench/perf-worker.ts), one process at a time so that measurements do not
 * compete for the CPU. It reports the cold first run and the warm-up runs apart from the median of the warm runs
 * that follow them, guest MIPS, and warm time over baseline time; the host speed-up of dbt over emulate on two
 * kernel-heavy workloads; and one workload at three scales (time per guest instruction and peak memory should
 * stay flat). Keys of --json: docs/perf.md.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { environment } from '../src/report/environment.js';
import type { Environment } from '../src/report/model.js';
import { ENGINES, REFERENCE_ENGINE_ID } from '../strategies/registry.js';
import { WORKLOADS, workloadByName } from '../workloads/manifest.js';
import { positiveInt, RunError, UsageError, wholeNumber, type FlagSpecs, type Parsed } from './args.js';
import { nameList } from './bench.js';
import { BASELINE_WORKLOADS } from './perf-baseline.js';
import type { PerfJob, PerfSample } from './perf-worker.js';

/** Where the VMM sits in the path of every system call and interrupt: dbt's gain over emulate is measured here. */
export const KERNEL_WORKLOADS = ['syscall', 'critical-sections'] as const;
export const SCALING_WORKLOAD = 'sieve';
/** The scaling section's scales, as fractions of the workload's (default or quick) scale. */
const SCALING_FRACTIONS = [1 / 16, 1 / 4, 1];
const SCALING_ENGINES = [REFERENCE_ENGINE_ID, 'dbt'];
/** Measured warm runs per variant; the median is reported. */
export const DEFAULT_RUNS = 10;
const QUICK_RUNS = 2;
/**
 * Warm-up runs between the cold run and the measured ones. V8 optimizes a function only after it has run for a
 * while, and what an engine does once per guest run (boot, the final memory hash, a VMM's setup) gets there only
 * after about a dozen runs: without a warm-up, the median of the first ten warm runs still included it (native
 * crc32: 20.7, 38.3, 10.4, ... 4.2, 4.4 ms), and the number moved with how early V8 happened to get there.
 */
export const DEFAULT_WARMUP = 10;
const QUICK_WARMUP = 0;

export const PERF_FLAGS: FlagSpecs = {
  warmup: { type: 'string', value: 'N', help: `warm-up runs per variant after the cold one, timed but not in the median (default ${DEFAULT_WARMUP}, --quick ${QUICK_WARMUP})` },
  runs: { type: 'string', value: 'N', help: `measured warm runs per variant after the warm-up; the median is reported (default ${DEFAULT_RUNS}, --quick ${QUICK_RUNS})` },
  engines: { type: 'string', value: 'a,b', help: `engines to time (default: all): ${ENGINES.map((e) => e.id).join(', ')}` },
  workloads: { type: 'string', value: 'x,y', help: `compute workloads with a plain-JavaScript baseline (default: all): ${BASELINE_WORKLOADS.join(', ')}` },
  quick: { type: 'boolean', help: `small scales, no warm-up and ${QUICK_RUNS} warm runs: a smoke test of the machinery, not a measurement` },
  json: { type: 'boolean', help: 'print the results as JSON (keys: docs/perf.md)' },
};

export interface PerfPlan {
  engines: string[];
  workloads: string[];
  warmup: number;
  runs: number;
  quick: boolean;
  json: boolean;
}

/** Largest over smallest of positive values (null if one is missing or not positive). */
function spreadOf(values: (number | null)[]): number | null {
  if (values.length === 0 || !values.every((x): x is number => x !== null && x > 0)) return null;
  return Math.max(...values) / Math.min(...values);
}

export function perfPlan(args: Parsed): PerfPlan {
  const v = args.values;
  if (args.positionals.length > 0) throw new UsageError(`perf takes no arguments, got '${args.positionals.join(' ')}' (see virtstrat perf --help)`);
  const quick = v.quick === true;
  const withBaseline = WORKLOADS.filter((w) => BASELINE_WORKLOADS.includes(w.name));
  return {
    engines: nameList('engines', v.engines as string | undefined, ENGINES, (e) => e.id).map((e) => e.id),
    workloads: nameList('workloads', v.workloads as string | undefined, withBaseline, (w) => w.name).map((w) => w.name),
    warmup: wholeNumber('warmup', v.warmup as string | undefined, quick ? QUICK_WARMUP : DEFAULT_WARMUP, 0, 1000),
    runs: positiveInt('runs', v.runs as string | undefined, quick ? QUICK_RUNS : DEFAULT_RUNS, 1000),
    quick,
    json: v.json === true,
  };
}

/** One engine on one workload. Times are null when the measuring process failed (see `error`). */
export interface PerfEngineResult {
  cold_ms: number | null;
  warm_ms: number | null;
  warmup_runs_ms: number[];
  warm_runs_ms: number[];
  mips: number | null;
  cold_mips: number | null;
  ratio_to_native: number | null;
  guest_instructions: number | null;
  output_correct: boolean | null;
  max_rss_mb: number | null;
  error: string | null;
}

export interface PerfWorkloadResult {
  scale: number;
  baseline_ms: number | null;
  baseline_cold_ms: number | null;
  baseline_answer: string | null;
  baseline_checked: boolean;
  engines: Record<string, PerfEngineResult>;
}

export interface PerfScalingPoint {
  scale: number;
  guest_instructions: number | null;
  warm_ms: number | null;
  ns_per_instruction: number | null;
  /**
   * The cost of the instructions this scale adds over the previous one: (warm_ms - previous warm_ms) per added
   * guest instruction, in ns (null at the first scale). Flat when the cost is linear in the work; unlike
   * ns_per_instruction it leaves out what every run pays once (memory, boot, the final memory hash).
   */
  marginal_ns_per_instruction: number | null;
  max_rss_mb: number | null;
  error: string | null;
}

export interface PerfScaling {
  workload: string;
  scales: number[];
  engines: Record<string, PerfScalingPoint[]>;
  /** Largest over smallest ns per instruction across the scales: 1 is perfectly flat. */
  spread: Record<string, number | null>;
  /** The same for marginal_ns_per_instruction (the scales after the first). */
  marginal_spread: Record<string, number | null>;
}

export interface PerfReport {
  /** The compute workloads, then the kernel-heavy ones (emulate and dbt only, no baseline). */
  workloads: Record<string, PerfWorkloadResult>;
  /** Host speed-up of dbt over emulate (emulate's warm time / dbt's) per kernel-heavy workload. */
  dbt_over_emulate: Record<string, number | null> | null;
  scaling: PerfScaling | null;
  options: { warmup: number; runs: number; quick: boolean; isa: 'default'; engines: string[]; workloads: string[] };
  environment: Environment;
}

/** The --json output: every workload's entry at the top level (`sieve`, `syscall`, ...) beside the other keys. */
export function perfJson(r: PerfReport): Record<string, PerfWorkloadResult | PerfReport[Exclude<keyof PerfReport, 'workloads'>]> {
  const { workloads, ...rest } = r;
  return { ...workloads, ...rest };
}

const ENTRY = fileURLToPath(new URL('./tsx-entry.mjs', import.meta.url));

/** Run one job in a fresh `node` process and read its sample. */
function spawnJob(job: PerfJob): Promise<PerfSample> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', ENTRY, './perf-worker.ts', JSON.stringify(job)],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const detail = stderr.trim().split('\n').filter((l) => /Error|error/.test(l))[0] ?? stderr.trim().split('\n').pop() ?? err.message;
          reject(new Error(detail));
          return;
        }
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as PerfSample);
      },
    );
  });
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const mb = (kb: number): number => Math.round(kb / 102.4) / 10;
const mipsOf = (instructions: number, ms: number): number => (ms > 0 ? instructions / (ms * 1000) : 0);
const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function engineResult(s: PerfSample | Error, baselineMs: number | null): PerfEngineResult {
  if (s instanceof Error) {
    return { cold_ms: null, warm_ms: null, warmup_runs_ms: [], warm_runs_ms: [], mips: null, cold_mips: null, ratio_to_native: null, guest_instructions: null, output_correct: null, max_rss_mb: null, error: s.message };
  }
  const warm = median(s.warmMs);
  const n = s.guestInstructions ?? 0;
  return {
    cold_ms: s.coldMs,
    warm_ms: warm,
    warmup_runs_ms: s.warmupMs,
    warm_runs_ms: s.warmMs,
    mips: mipsOf(n, warm),
    cold_mips: mipsOf(n, s.coldMs),
    ratio_to_native: ratio(warm, baselineMs),
    guest_instructions: s.guestInstructions,
    output_correct: s.outputCorrect,
    max_rss_mb: mb(s.maxRssKb),
    error: null,
  };
}

const scaleOf = (name: string, quick: boolean): number => {
  const w = workloadByName(name)!;
  return quick ? w.quickScale : w.defaultScale;
};

export interface PerfIo {
  out(text: string): void;
  err(text: string): void;
}

/** Measure everything the plan asks for, one fresh process at a time. */
export async function measurePerf(plan: PerfPlan, io: PerfIo): Promise<PerfReport> {
  const progress = (what: string, s: PerfSample | Error): void => {
    if (s instanceof Error) io.err(`perf: ${what}: FAILED ${s.message}\n`);
    else io.err(`perf: ${what}: cold ${s.coldMs.toFixed(1)} ms, warm ${median(s.warmMs).toFixed(1)} ms${s.guestInstructions === null ? '' : `, ${mipsOf(s.guestInstructions, median(s.warmMs)).toFixed(1)} guest MIPS`}\n`);
  };
  // The scaling section's full-scale point is the same variant as the workload's own measurement: measured once.
  const measured = new Map<string, PerfSample | Error>();
  const run = async (job: PerfJob): Promise<PerfSample | Error> => {
    const key = JSON.stringify(job);
    let s = measured.get(key);
    if (!s) {
      s = await spawnJob(job).catch((err: unknown) => new Error(errorText(err)));
      measured.set(key, s);
      progress(`${job.kind === 'engine' ? job.engine : 'plain JS'} × ${job.workload} (scale ${job.scale})`, s);
    }
    return s;
  };
  const engineJob = (engine: string, workload: string, scale: number): PerfJob => {
    const job: PerfJob = { kind: 'engine', engine, workload, scale, warmup: plan.warmup, runs: plan.runs, isa: 'default' };
    if (engine === REFERENCE_ENGINE_ID) return job;
    // The matrix's budget (4x the reference's instructions + 1M, src/run/engine-run.ts) when the reference engine
    // has run this guest (it comes first), so a guest that hangs under some engine stops as it would in the bench.
    const ref = measured.get(JSON.stringify(engineJob(REFERENCE_ENGINE_ID, workload, scale)));
    return ref && !(ref instanceof Error) && ref.guestInstructions ? { ...job, budget: 4 * ref.guestInstructions + 1_000_000 } : job;
  };

  const workloads: Record<string, PerfWorkloadResult> = {};
  for (const name of plan.workloads) {
    const scale = scaleOf(name, plan.quick);
    const b = await run({ kind: 'baseline', workload: name, scale, warmup: plan.warmup, runs: plan.runs });
    if (b instanceof Error) throw new RunError(`the plain-JavaScript ${name} baseline failed: ${b.message}`);
    const expected = workloadByName(name)!.expected(scale);
    if (!b.outputCorrect) {
      throw new RunError(`the plain-JavaScript ${name} baseline printed ${JSON.stringify(b.output)}, the manifest expects ${JSON.stringify(expected)}`);
    }
    const baselineMs = median(b.warmMs);
    const engines: Record<string, PerfEngineResult> = {};
    for (const id of plan.engines) engines[id] = engineResult(await run(engineJob(id, name, scale)), baselineMs);
    workloads[name] = { scale, baseline_ms: baselineMs, baseline_cold_ms: b.coldMs, baseline_answer: b.output, baseline_checked: true, engines };
  }

  let dbtOverEmulate: Record<string, number | null> | null = null;
  if (plan.engines.includes('dbt') && plan.engines.includes('emulate')) {
    dbtOverEmulate = {};
    for (const name of KERNEL_WORKLOADS) {
      const scale = scaleOf(name, plan.quick);
      const engines: Record<string, PerfEngineResult> = {};
      for (const id of ['emulate', 'dbt']) engines[id] = engineResult(await run(engineJob(id, name, scale)), null);
      workloads[name] = { scale, baseline_ms: null, baseline_cold_ms: null, baseline_answer: null, baseline_checked: false, engines };
      dbtOverEmulate[name] = ratio(engines.emulate.warm_ms, engines.dbt.warm_ms);
    }
  }

  let scaling: PerfScaling | null = null;
  const scalingEngines = SCALING_ENGINES.filter((id) => plan.engines.includes(id));
  if (scalingEngines.length > 0) {
    const full = scaleOf(SCALING_WORKLOAD, plan.quick);
    const scales = SCALING_FRACTIONS.map((f) => Math.max(2, Math.round(full * f)));
    scaling = { workload: SCALING_WORKLOAD, scales, engines: {}, spread: {}, marginal_spread: {} };
    for (const id of scalingEngines) {
      const points: PerfScalingPoint[] = [];
      for (const scale of scales) {
        const r = engineResult(await run(engineJob(id, SCALING_WORKLOAD, scale)), null);
        const ns = r.warm_ms !== null && r.guest_instructions ? (r.warm_ms * 1e6) / r.guest_instructions : null;
        const prev = points.at(-1);
        const marginal =
          prev?.warm_ms != null && prev.guest_instructions != null && r.warm_ms !== null && r.guest_instructions !== null && r.guest_instructions > prev.guest_instructions
            ? ((r.warm_ms - prev.warm_ms) * 1e6) / (r.guest_instructions - prev.guest_instructions)
            : null;
        points.push({ scale, guest_instructions: r.guest_instructions, warm_ms: r.warm_ms, ns_per_instruction: ns, marginal_ns_per_instruction: marginal, max_rss_mb: r.max_rss_mb, error: r.error });
      }
      scaling.engines[id] = points;
      scaling.spread[id] = spreadOf(points.map((p) => p.ns_per_instruction));
      scaling.marginal_spread[id] = spreadOf(points.slice(1).map((p) => p.marginal_ns_per_instruction));
    }
  }

  return {
    workloads,
    dbt_over_emulate: dbtOverEmulate,
    scaling,
    options: { warmup: plan.warmup, runs: plan.runs, quick: plan.quick, isa: 'default', engines: plan.engines, workloads: plan.workloads },
    environment: environment(),
  };
}

const num = (v: number | null, digits = 1): string => (v === null ? '-' : v.toFixed(digits));

/** The human-readable tables. */
export function formatPerf(r: PerfReport): string {
  const lines: string[] = [];
  for (const [name, w] of Object.entries(r.workloads)) {
    const base = w.baseline_ms === null ? '' : `; plain JavaScript ${num(w.baseline_ms, 2)} ms warm, ${num(w.baseline_cold_ms, 2)} ms cold, answer checked`;
    lines.push(`${name} (scale ${w.scale}${base})`);
    lines.push(`  ${'engine'.padEnd(13)}${'cold ms'.padStart(10)}${'warm ms'.padStart(10)}${'guest MIPS'.padStart(12)}${'x plain JS'.padStart(12)}${'peak RSS MB'.padStart(13)}  output`);
    for (const [id, e] of Object.entries(w.engines)) {
      const output = e.error !== null ? `FAILED: ${e.error}` : e.output_correct ? 'correct' : 'WRONG (diverged)';
      lines.push(
        `  ${id.padEnd(13)}${num(e.cold_ms).padStart(10)}${num(e.warm_ms).padStart(10)}${num(e.mips).padStart(12)}${num(e.ratio_to_native).padStart(12)}${num(e.max_rss_mb).padStart(13)}  ${output}`,
      );
    }
    lines.push('');
  }
  if (r.dbt_over_emulate) {
    const parts = Object.entries(r.dbt_over_emulate).map(([k, v]) => `${k} ${num(v, 2)}x`);
    lines.push(`dbt over emulate (host time, warm): ${parts.join(', ')}`, '');
  }
  if (r.scaling) {
    const s = r.scaling;
    lines.push(`scaling: ${s.workload} at ${s.scales.join(', ')} — ns per guest instruction (warm), peak RSS`);
    for (const [id, points] of Object.entries(s.engines)) {
      const cells = points.map((p) => `${num(p.ns_per_instruction, 2)} ns (marginal ${num(p.marginal_ns_per_instruction, 2)}), ${num(p.max_rss_mb, 0)} MB`);
      lines.push(`  ${id.padEnd(13)}${cells.join('  |  ')}  (spread ${num(s.spread[id], 2)}x, marginal ${num(s.marginal_spread[id], 2)}x)`);
    }
    lines.push('');
  }
  lines.push(
    `${r.options.runs} warm runs per variant (median) after ${r.options.warmup} warm-up runs, each variant in a fresh process.`,
    'Host timings vary with the machine and its load; compare runs taken on an otherwise idle machine.',
  );
  return `${lines.join('\n')}\n`;
}

/** The command: measure, print, fail (1) if any measuring process failed. */
export async function runPerf(plan: PerfPlan, io: PerfIo): Promise<number> {
  const report = await measurePerf(plan, io);
  io.out(plan.json ? `${JSON.stringify(perfJson(report), null, 2)}\n` : formatPerf(report));
  const failed =
    Object.values(report.workloads).some((w) => Object.values(w.engines).some((e) => e.error !== null)) ||
    Object.values(report.scaling?.engines ?? {}).some((points) => points.some((p) => p.error !== null));
  return failed ? 1 : 0;
}
