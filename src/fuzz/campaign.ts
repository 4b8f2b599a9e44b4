/**
 * A fuzzing campaign: fast-check generates programs from a seed, each is run differentially
 * (src/fuzz/differential.ts), and the first program that breaks the property is shrunk to a minimal one —
 * fewer items, smaller operands — which is reported as assembly with the seed and fast-check's path to
 * replay it.
 */
import fc from 'fast-check';
import { programArb, DEFAULT_SHAPE, type ProgramShape } from './arbitrary.js';
import { defaultTargets, FUZZ_BUDGET, GeneratorError, runProgram, targetName, type ProgramRun, type Target, type TargetResult } from './differential.js';
import { EXIT_ABORT, EXIT_OK, EXIT_TOO_MANY_FAULTS, EXIT_UNEXPECTED_VECTOR, EXIT_WATCHDOG, FUZZ_MEMORY_BYTES } from './layout.js';
import { mnemonicsOf, renderGenerated, renderProgram, type Program } from './program.js';

export interface CampaignOptions {
  /** Programs to generate. */
  runs: number;
  seed: number;
  /** fast-check's path of a counterexample: replay (and shrink) exactly that program. */
  path?: string;
  targets?: readonly Target[];
  shape?: ProgramShape;
  /** Called after each generated program (not during shrinking). */
  onProgram?: (done: number, run: ProgramRun) => void;
}

export interface TargetStats {
  readonly name: string;
  exact: number;
  explained: number;
  failures: number;
}

export interface CampaignFailure {
  readonly seed: number;
  /** Give it back as `path` (with the same seed) to replay the shrunk program. */
  readonly path: string;
  readonly program: Program;
  readonly source: string;
  /** The targets that broke the property on the shrunk program (empty if the generator itself failed). */
  readonly results: readonly TargetResult[];
  /** A generator error (the program did not assemble), when that is what failed. */
  readonly error: string | null;
  readonly shrinks: number;
}

export interface CampaignResult {
  readonly seed: number;
  /** Programs generated and checked (up to and including the first failing one). */
  programs: number;
  /** Guest instructions the reference ran, in total, and of them in user mode. */
  instructions: number;
  userInstructions: number;
  /** Programs whose user body ran (their supervisor body did not end the program first). */
  reachedUser: number;
  readonly targets: TargetStats[];
  /** How the reference runs ended ('exited 0', 'halted', ...). */
  readonly endings: Record<string, number>;
  /** Exceptions the reference delivered, by vector name (coverage of the exception model). */
  readonly exceptions: Record<string, number>;
  /** Mnemonics of the table that appeared in generated code (coverage of the instruction table). */
  readonly mnemonics: Set<string>;
  failure: CampaignFailure | null;
}

/** How the runtime ends a program, by exit code; any other code is a generated `out` to the power port. */
const EXITS: Readonly<Record<number, string>> = {
  [EXIT_OK]: 'exited 0',
  [EXIT_WATCHDOG]: 'watchdog (timer ticks)',
  [EXIT_TOO_MANY_FAULTS]: 'too many faults',
  [EXIT_ABORT]: 'unplanned fetch fault',
  [EXIT_UNEXPECTED_VECTOR]: 'unexpected vector',
};

function ending(run: ProgramRun): string {
  const ref = run.reference.default ?? Object.values(run.reference)[0];
  if (!ref) return 'none';
  if (ref.status !== 'exited') return ref.status;
  return EXITS[ref.exitCode ?? -1] ?? 'generated power-off';
}

export function runCampaign(opts: CampaignOptions): CampaignResult {
  const targets = opts.targets ?? defaultTargets();
  const result: CampaignResult = {
    seed: opts.seed,
    programs: 0,
    instructions: 0,
    userInstructions: 0,
    reachedUser: 0,
    targets: targets.map((t) => ({ name: targetName(t), exact: 0, explained: 0, failures: 0 })),
    endings: {},
    exceptions: {},
    mnemonics: new Set(),
    failure: null,
  };
  // Once a program has failed, fast-check calls the predicate again while shrinking: those are not counted.
  let shrinking = false;
  const record = (p: Program, run: ProgramRun): void => {
    result.programs++;
    const ref = run.reference.default ?? Object.values(run.reference)[0];
    result.instructions += ref?.counters.guestInstructions ?? 0;
    const user = ref?.counters.userInstructions ?? 0;
    result.userInstructions += user;
    if (user > 0) result.reachedUser++;
    const e = ending(run);
    result.endings[e] = (result.endings[e] ?? 0) + 1;
    for (const [name, n] of Object.entries(run.exceptions)) result.exceptions[name] = (result.exceptions[name] ?? 0) + n;
    for (const m of mnemonicsOf(p)) result.mnemonics.add(m);
    run.results.forEach((r, i) => {
      const s = result.targets[i];
      if (r.verdict === 'exact') s.exact++;
      else if (r.verdict === 'explained') s.explained++;
      else s.failures++;
    });
    opts.onProgram?.(result.programs, run);
  };
  const property = fc.property(programArb(opts.shape ?? DEFAULT_SHAPE), (p) => {
    let run: ProgramRun;
    try {
      run = runProgram(p, targets);
    } catch (err) {
      if (!shrinking && err instanceof GeneratorError) result.programs++;
      shrinking = true;
      throw err;
    }
    if (!shrinking) record(p, run);
    if (run.failures.length > 0) {
      shrinking = true;
      return false;
    }
    return true;
  });
  const details = fc.check(property, { seed: opts.seed, numRuns: opts.runs, ...(opts.path ? { path: opts.path } : {}) });
  if (details.failed && details.counterexample) {
    const program = details.counterexample[0];
    let results: readonly TargetResult[] = [];
    let error: string | null = null;
    try {
      results = runProgram(program, targets).failures;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    result.failure = {
      seed: details.seed,
      path: details.counterexamplePath ?? '',
      program,
      source: renderProgram(program),
      results,
      error,
      shrinks: details.numShrinks,
    };
  } else if (details.failed) {
    throw new Error(`fuzz: fast-check failed without a counterexample: ${String(details.errorInstance ?? 'unknown error')}`);
  }
  return result;
}

/** How to run the shrunk program by hand. */
export function reproduceCommands(f: CampaignFailure, file: string): string[] {
  const engines = [...new Set(f.results.map((r) => `--engine ${r.engine}${r.isa === 'default' ? '' : ` --isa ${r.isa}`}`))];
  return [
    `npm run fuzz -- --seed ${f.seed} --path ${f.path}        # replay the shrunk program`,
    ...engines.map((e) => `npx virtstrat run ${file} ${e} --memory ${FUZZ_MEMORY_BYTES} --budget ${FUZZ_BUDGET} --lockstep`),
  ];
}

/** The failure, for a person: which engines broke the property and how, and the program as assembly. */
export function formatFailure(f: CampaignFailure, file?: string): string {
  const lines: string[] = [];
  lines.push(`differential fuzzing found a failure (seed ${f.seed}, path ${f.path}, shrunk ${f.shrinks} times)`);
  if (f.error) lines.push(`the generator produced a program that does not run: ${f.error}`);
  for (const r of f.results) {
    lines.push(`  ${targetName(r)}: ${r.why}`);
    for (const d of r.fidelity.differences.slice(0, 8)) lines.push(`    - ${d}`);
    if (r.fidelity.differences.length > 8) lines.push(`    ... ${r.fidelity.differences.length - 8} more`);
  }
  if (file) {
    lines.push(`the whole program is in ${file}; to reproduce:`);
    for (const c of reproduceCommands(f, file)) lines.push(`  ${c}`);
  } else lines.push(`to replay: npm run fuzz -- --seed ${f.seed} --path ${f.path}`);
  lines.push('', 'the shrunk program (generated part):', renderGenerated(f.program));
  return lines.join('\n');
}

const pct = (n: number, of: number): string => (of === 0 ? '0%' : `${((100 * n) / of).toFixed(1)}%`);

/** The summary: programs, per-engine verdicts, how the programs ended, coverage. */
export function formatSummary(r: CampaignResult, seconds: number | null): string {
  const lines: string[] = [];
  const time = seconds === null ? '' : ` in ${seconds.toFixed(1)} s`;
  lines.push(
    `[fuzz] ${r.programs} programs (seed ${r.seed})${time}; the reference ran ${r.instructions} guest instructions ` +
      `(${pct(r.userInstructions, r.instructions)} in user mode; ${r.reachedUser} programs reached user mode)`,
  );
  const w = Math.max(...r.targets.map((t) => t.name.length));
  for (const t of r.targets) {
    const explained = t.explained ? `, ${t.explained} explained divergences` : '';
    lines.push(`[fuzz]   ${t.name.padEnd(w)}  ${t.exact} exact (${pct(t.exact, r.programs)})${explained}, ${t.failures} failures`);
  }
  const endings = Object.entries(r.endings).sort((a, b) => b[1] - a[1]);
  lines.push(`[fuzz] the programs ended: ${endings.map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  const exc = Object.entries(r.exceptions).sort((a, b) => b[1] - a[1]);
  lines.push(`[fuzz] exceptions delivered by the reference: ${exc.map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  lines.push(`[fuzz] instructions of the table generated: ${r.mnemonics.size}`);
  const failures = r.targets.reduce((n, t) => n + t.failures, 0) + (r.failure?.error ? 1 : 0);
  lines.push(r.failure ? `[fuzz] FAILED: ${failures} unexplained divergence${failures === 1 ? '' : 's'}` : '[fuzz] OK: no unexplained divergence');
  return lines.join('\n');
}
