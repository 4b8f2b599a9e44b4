/**
 * One `virtstrat perf` measurement, in a process of its own: `node bench/tsx-entry.mjs ./perf-worker.ts JOB`.
 *
 * A fresh process per (engine, workload) keeps V8 from sharing optimised — or deoptimised — code between
 * variants: the first run here is a genuinely cold run (parsing, JIT warm-up, translation caches empty), and the
 * warm runs measure this variant's steady state, not the leftovers of the previous one. Only the run itself is
 * timed: the image is built (assembled) before the first run, and the output check and garbage collection happen
 * between runs. Between the cold run and the measured ones come `warmup` runs, timed but kept apart: V8 optimizes a
 * function only after it has run for a while, and the code an engine runs once per guest run (boot, the final
 * memory hash, the VMM's setup) needs a dozen runs to get there. There is no reference run here either — it would
 * warm up the hardware model the engine shares — so the engine's output is checked against the manifest instead,
 * and the budget comes with the job (perf derives it from the reference engine's own measurement, as the matrix
 * derives it from the reference run).
 * Prints one JSON line (PerfSample) on stdout.
 */
import type { IsaVariant } from '../src/isa/arch.js';
import { DEFAULT_MEMORY_BYTES } from '../src/hw/memory.js';
import { guestImage } from '../src/run/engine-run.js';
import { DEFAULT_BUDGET } from '../src/run/reference.js';
import type { RunSpec } from '../strategies/engine.js';
import { engineById } from '../strategies/registry.js';
import { workloadByName } from '../workloads/manifest.js';
import { BASELINES } from './perf-baseline.js';

export type PerfJob =
  | { kind: 'baseline'; workload: string; scale: number; warmup: number; runs: number }
  | {
      kind: 'engine';
      engine: string;
      workload: string;
      scale: number;
      warmup: number;
      runs: number;
      isa: IsaVariant;
      /** Guest-instruction budget (default: the reference run's generous default). */
      budget?: number;
    };

export interface PerfSample {
  coldMs: number;
  /** One per warm-up run (after the cold run, before the measured ones), in order. */
  warmupMs: number[];
  /** One per measured warm run, in order. */
  warmMs: number[];
  /** Guest instructions of one run (null for the baseline). */
  guestInstructions: number | null;
  /** What the run printed (the guest's console, or the baseline's answer). */
  output: string;
  /** The output equals the manifest's expected output, on every run. */
  outputCorrect: boolean;
  /** Peak resident set size of this process, in KiB (process.resourceUsage().maxRSS). */
  maxRssKb: number;
}

/** Time `1 + warmup + runs` calls of `once`: the cold run, the warm-up, the measured runs. Returns what each call produced. */
function timed<T>(warmup: number, runs: number, once: () => T): { coldMs: number; warmupMs: number[]; warmMs: number[]; results: T[] } {
  const gc = (globalThis as { gc?: () => void }).gc;
  const times: number[] = [];
  const results: T[] = [];
  for (let i = 0; i <= warmup + runs; i++) {
    // Collect the previous run's garbage now rather than during the next timed run (needs --expose-gc).
    gc?.();
    const t0 = performance.now();
    results.push(once());
    times.push(performance.now() - t0);
  }
  return { coldMs: times[0], warmupMs: times.slice(1, 1 + warmup), warmMs: times.slice(1 + warmup), results };
}

export function measure(job: PerfJob): PerfSample {
  const workload = workloadByName(job.workload);
  if (!workload) throw new Error(`perf: unknown workload ${job.workload}`);
  const expected = workload.expected(job.scale);
  if (job.kind === 'baseline') {
    const baseline = BASELINES[job.workload];
    if (!baseline) throw new Error(`perf: no plain-JavaScript baseline for ${job.workload}`);
    const { coldMs, warmupMs, warmMs, results } = timed(job.warmup, job.runs, () => baseline(job.scale));
    return { coldMs, warmupMs, warmMs, guestInstructions: null, output: results[0], outputCorrect: results.every((r) => r === expected), maxRssKb: process.resourceUsage().maxRSS };
  }
  const engine = engineById(job.engine);
  if (!engine) throw new Error(`perf: unknown engine ${job.engine}`);
  const spec: RunSpec = {
    image: guestImage({ kind: 'workload', workload, scale: job.scale }, engine.guest),
    isa: job.isa,
    budget: job.budget ?? DEFAULT_BUDGET,
    memoryBytes: DEFAULT_MEMORY_BYTES,
    trace: null,
    options: Object.fromEntries(engine.options.map((o) => [o.name, o.default])),
  };
  const { coldMs, warmupMs, warmMs, results } = timed(job.warmup, job.runs, () => engine.run(spec));
  const counts = new Set(results.map((r) => r.counters.guestInstructions));
  if (counts.size !== 1) throw new Error(`perf: ${job.engine} on ${job.workload} retired a different number of instructions on each run: ${[...counts].join(', ')}`);
  return {
    coldMs,
    warmupMs,
    warmMs,
    guestInstructions: results[0].counters.guestInstructions,
    output: results[0].console,
    outputCorrect: results.every((r) => (r.status === 'exited' || r.status === 'halted') && r.console === expected),
    maxRssKb: process.resourceUsage().maxRSS,
  };
}

// Run as a process (bench/tsx-entry.mjs passes this file, then the job): measure and print the sample.
if (process.argv[2]?.endsWith('perf-worker.ts') && process.argv[3] !== undefined) {
  process.stdout.write(`${JSON.stringify(measure(JSON.parse(process.argv[3]) as PerfJob))}\n`);
}
