/**
 * Differential testing of one generated program: run it on the reference and on every engine that can run a
 * bare image, and decide for each engine whether it kept the property.
 *
 * The property:
 *   - every engine is exact (status, exit code, console, instruction count, registers, control registers,
 *     memory) on both ISA variants — on the classically virtualizable one, Popek and Goldberg's theorem says
 *     even trap-and-emulate can be;
 *   - except trap-and-emulate on the default ISA, which may diverge when the program's supervisor code ran
 *     popf, pushf or rdmode — the instructions that are sensitive but do not trap — or its user code ran pushf
 *     with IF = 0, and the engine's fidelity oracle recorded each misbehaving one (`silentFailures`, at an
 *     address of code that contains it) and named it as the cause. That is trap-and-emulate's known,
 *     *explained* divergence; any other divergence is a bug.
 *
 * The engines are run through `Engine.run` with one budget for everyone (the reference included), so a
 * program that spins stops at exactly the same instruction everywhere, and compared with the reference by the
 * same `compareWithReference` that `runCell` uses. (`runCell` would run the reference again for every engine,
 * with the 2-billion-instruction default budget; here it runs once per ISA for the ten comparisons.)
 * paravirt is not among the engines: it runs a modified kernel build and cannot run a bare image.
 */
import { assemble, formatError } from '../asm/index.js';
import { ISA_VARIANTS, type IsaVariant } from '../isa/arch.js';
import { compareWithReference, type Fidelity } from '../run/fidelity.js';
import { runBare } from '../run/reference.js';
import type { Engine, EngineOutcome, SilentFailure } from '../../strategies/engine.js';
import { ENGINES, REFERENCE_ENGINE_ID, engineById } from '../../strategies/registry.js';
import { CODE_END, FUZZ_MEMORY_BYTES, SUP_CODE, USER_CODE } from './layout.js';
import { renderProgram, sensitiveIn, type Program } from './program.js';
import { SENSITIVE_UNPRIVILEGED } from './shapes.js';

/** Every run of a generated program stops after this many instructions (a spinning program reaches it). */
export const FUZZ_BUDGET = 20_000;

export interface Target {
  readonly engine: Engine;
  readonly isa: IsaVariant;
  /** The engine is known not to be faithful here: a divergence is allowed if it is explained. */
  readonly mayDiverge: boolean;
}

/**
 * Engines documented as not faithful on the default ISA (docs/engines.md): trap-and-emulate, because popf,
 * pushf and rdmode do not trap there. Every other engine must be exact on both ISAs.
 */
export const UNFAITHFUL_ON_DEFAULT_ISA: readonly string[] = ['trap-emulate'];

/** The engines that run the unmodified guest (a bare image), the reference excepted: paravirt is left out. */
export function bareImageEngines(engines: readonly Engine[] = ENGINES): Engine[] {
  return engines.filter((e) => e.id !== REFERENCE_ENGINE_ID && e.guest === 'native');
}

/**
 * What to run a program on: every bare-image engine on both ISA variants. On the classic ISA every one of them
 * must be exact; on the default ISA trap-and-emulate may diverge, explained.
 */
export function defaultTargets(engines: readonly Engine[] = bareImageEngines()): Target[] {
  return ISA_VARIANTS.flatMap((isa) =>
    engines.map((engine) => ({ engine, isa, mayDiverge: isa === 'default' && UNFAITHFUL_ON_DEFAULT_ISA.includes(engine.id) })),
  );
}

export function targetName(t: { engine: Engine | string; isa: IsaVariant }): string {
  const id = typeof t.engine === 'string' ? t.engine : t.engine.id;
  return t.isa === 'default' ? id : `${id} (${t.isa})`;
}

export type Verdict = 'exact' | 'explained' | 'failure';

export interface TargetResult {
  readonly engine: string;
  readonly isa: IsaVariant;
  readonly verdict: Verdict;
  readonly fidelity: Fidelity;
  readonly silentFailures: readonly SilentFailure[];
  /** Why a divergence is not explained (null when exact or explained). */
  readonly why: string | null;
}

export interface ProgramRun {
  readonly source: string;
  readonly image: Uint8Array;
  /** The reference runs, by ISA. */
  readonly reference: Partial<Record<IsaVariant, EngineOutcome>>;
  /** Exception vectors the reference delivered on the default ISA (by name), for coverage. */
  readonly exceptions: Record<string, number>;
  readonly results: readonly TargetResult[];
  readonly failures: readonly TargetResult[];
}

/** Thrown when a generated program does not assemble: a bug of the generator, not of an engine. */
export class GeneratorError extends Error {
  constructor(
    message: string,
    readonly source: string,
  ) {
    super(message);
    this.name = 'GeneratorError';
  }
}

export function assembleProgram(p: Program): { source: string; image: Uint8Array } {
  const source = renderProgram(p);
  const r = assemble(source, 'fuzz.s');
  if (!r.ok) throw new GeneratorError(`a generated program does not assemble:\n${r.errors.map(formatError).join('\n')}`, source);
  return { source, image: r.image };
}

export function runOn(engine: Engine, image: Uint8Array, isa: IsaVariant, budget = FUZZ_BUDGET): EngineOutcome {
  const options: Record<string, boolean | number | string> = {};
  for (const o of engine.options) options[o.name] = o.default;
  return engine.run({ image, isa, budget, memoryBytes: FUZZ_MEMORY_BYTES, trace: null, options });
}

/**
 * Is a divergence on the default ISA the known, explained one? Returns null if so, else why not. Explained: the
 * fidelity oracle recorded silent failures, each of an instruction the code at its address contains — popf,
 * pushf or rdmode in supervisor code, or pushf in user code (run with IF = 0, it reveals the physical IF) — and
 * the cause names them.
 */
export function unexplained(p: Program, fidelity: Fidelity, failures: readonly SilentFailure[]): string | null {
  const sup = sensitiveIn(p.supervisor);
  const user = sensitiveIn(p.user).filter((n) => n === 'pushf');
  if (sup.length + user.length === 0) return `diverged, and the program runs none of ${SENSITIVE_UNPRIVILEGED.join(', ')} where they can misbehave`;
  if (failures.length === 0) return 'diverged with no silent failure recorded by the fidelity oracle';
  for (const f of failures) {
    const where = f.pc >= SUP_CODE && f.pc < USER_CODE ? sup : f.pc >= USER_CODE && f.pc < CODE_END ? user : [];
    if (!where.includes(f.instruction)) return `a silent failure of ${f.instruction} at 0x${f.pc.toString(16)}, where the program has none that can misbehave`;
    if (!fidelity.cause?.includes(f.instruction)) return `the cause (${fidelity.cause}) does not name ${f.instruction}`;
  }
  return null;
}

export function judge(p: Program, t: Target, ref: EngineOutcome, got: EngineOutcome): TargetResult {
  const fidelity = compareWithReference(ref, got, 'state');
  let verdict: Verdict = 'exact';
  let why: string | null = null;
  if (fidelity.verdict !== 'exact') {
    why = t.mayDiverge ? unexplained(p, fidelity, got.silentFailures) : `diverged, and ${t.engine.id} must be exact on the ${t.isa} ISA`;
    verdict = why === null ? 'explained' : 'failure';
  }
  return { engine: t.engine.id, isa: t.isa, verdict, fidelity, silentFailures: got.silentFailures, why };
}

/** Run a program on the reference and the targets, and judge every target. */
export function runProgram(p: Program, targets: readonly Target[] = defaultTargets()): ProgramRun {
  const { source, image } = assembleProgram(p);
  const native = engineById(REFERENCE_ENGINE_ID)!;
  const reference: Partial<Record<IsaVariant, EngineOutcome>> = {};
  const results: TargetResult[] = [];
  for (const t of targets) {
    const ref = (reference[t.isa] ??= runOn(native, image, t.isa));
    results.push(judge(p, t, ref, runOn(t.engine, image, t.isa)));
  }
  const exceptions = runBare(image, { budget: FUZZ_BUDGET, memoryBytes: FUZZ_MEMORY_BYTES }).counters.exceptions;
  return { source, image, reference, exceptions, results, failures: results.filter((r) => r.verdict === 'failure') };
}
