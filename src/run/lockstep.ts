/**
 * Lock-step comparison of an engine with the reference: find the first guest instruction after which their
 * architectural states differ — the tool for a student whose own engine is wrong.
 *
 * Engines are black boxes behind `Engine.run(spec)`, but every engine honours `spec.budget` exactly: it stops
 * with 'budget-exhausted' after exactly that many guest instructions, with its virtual CPU and guest RAM as
 * they are at that point (an interrupt due before the next instruction is delivered first, on the reference as
 * on every engine). So "the state after n instructions" can be asked of any engine by running it with budget n,
 * and compared with the reference's — pc, mode, registers, FLAGS (IF included), control registers, the
 * instruction count, a hash of guest RAM, status, exit code and console output.
 *
 * Search: states are equal at n = 0; probe n = 1, 2, 4, ... until they differ at some n (or the reference has
 * run to its end, all equal), then bisect between the last equal probe and the first different one. The
 * answer is an instruction n with the states equal after n - 1 instructions and different after n: exactly the
 * first divergence *if a difference, once there, stays* — which it does for the ways engines go wrong (a wrong
 * register value, IF or mode changes the path, the count or memory from then on). A difference that heals
 * before the next probe (a wrong value overwritten) can let the bisection land on a later divergence; it is
 * still a real one, with equal states just before it. Cost: about 2 log2(n) runs of each side.
 */
import type { IsaVariant } from '../isa/arch.js';
import { disassemble } from '../isa/disasm.js';
import type { MachineStatus, RegisterDump } from '../hw/machine.js';
import { ACCESS_FETCH } from '../hw/mmu.js';
import type { Engine, EngineOptionValue, EngineOutcome, SilentFailure } from '../../strategies/engine.js';
import { engineById, REFERENCE_ENGINE_ID } from '../../strategies/registry.js';
import { compareWithReference } from './fidelity.js';
import { bareMachine, DEFAULT_BUDGET } from './reference.js';

export interface LockstepSpec {
  engine: Engine;
  /** The guest image of the unmodified kernel build (lock-step compares with the reference, which runs it). */
  image: Uint8Array;
  isa: IsaVariant;
  memoryBytes: number;
  options: Readonly<Record<string, EngineOptionValue>>;
  /** Compare at most this many instructions (default: the whole reference run, up to DEFAULT_BUDGET). */
  budget?: number;
}

/** An architectural state after some number of guest instructions. */
export interface LockstepState {
  instructions: number;
  status: MachineStatus;
  exitCode: number | null;
  registers: RegisterDump;
  memoryHash: string;
  consoleBytes: number;
}

export interface Divergence {
  /** The instruction (1-based count) after which the states first differ. */
  instruction: number;
  /** Where it is: the pc and mode of the (equal) states before it, and its disassembly. */
  pc: number;
  mode: RegisterDump['mode'];
  disassembly: string;
  /** The common state before it. */
  before: LockstepState;
  /** The states after it. */
  reference: LockstepState;
  engine: LockstepState;
  differences: string[];
  /** What the engine's fidelity oracle had recorded by then (why, when the engine knows). */
  silentFailures: SilentFailure[];
}

export interface LockstepResult {
  engine: string;
  isa: IsaVariant;
  /** Instructions compared: the reference run's length (or the budget). */
  compared: number;
  /** How the reference run ended. */
  referenceStatus: MachineStatus;
  /** Pairs of runs made to find the answer. */
  probes: number;
  divergence: Divergence | null;
}

function stateOf(o: EngineOutcome): LockstepState {
  return {
    instructions: o.counters.guestInstructions,
    status: o.status,
    exitCode: o.exitCode,
    registers: o.registers,
    memoryHash: o.memoryHash,
    consoleBytes: o.console.length,
  };
}

/** The architectural differences only: the oracle's silent failures are reported separately, as the cause. */
function differences(ref: EngineOutcome, got: EngineOutcome): string[] {
  return compareWithReference(ref, { ...got, silentFailures: [] }, 'state').differences;
}

/** The instruction at pc in the reference's state after n instructions, disassembled. */
function instructionAt(spec: LockstepSpec, n: number, pc: number, mode: RegisterDump['mode']): string {
  const m = bareMachine(spec.image, { isa: spec.isa, memoryBytes: spec.memoryBytes });
  m.run(n);
  const pa = (pc & 3) === 0 ? m.mmu.translate(pc, ACCESS_FETCH, mode === 'user' ? 1 : 0, true) : -1;
  return pa < 0 || pa + 4 > m.mem.size ? '(cannot be fetched)' : disassemble(m.mem.i32[pa >>> 2], pc);
}

export function lockstep(spec: LockstepSpec): LockstepResult {
  const reference = engineById(REFERENCE_ENGINE_ID)!;
  const runWith = (engine: Engine, budget: number): EngineOutcome =>
    engine.run({ image: spec.image, isa: spec.isa, budget, memoryBytes: spec.memoryBytes, trace: null, options: engine === spec.engine ? spec.options : {} });
  const refCache = new Map<number, EngineOutcome>();
  const refAt = (n: number): EngineOutcome => {
    let o = refCache.get(n);
    if (!o) refCache.set(n, (o = runWith(reference, n)));
    return o;
  };
  let probes = 0;
  const engineAt = new Map<number, EngineOutcome>();
  const differ = (n: number): boolean => {
    probes++;
    const got = runWith(spec.engine, n);
    engineAt.set(n, got);
    return differences(refAt(n), got).length > 0;
  };

  const full = refAt(spec.budget ?? DEFAULT_BUDGET);
  const total = full.counters.guestInstructions;
  const result: LockstepResult = { engine: spec.engine.id, isa: spec.isa, compared: total, referenceStatus: full.status, probes: 0, divergence: null };
  // Gallop: 1, 2, 4, ... up to the reference's last instruction.
  let equal = 0;
  let different = -1;
  for (let n = 1; different < 0; n = Math.min(2 * n, total)) {
    if (total === 0 || n > total) break;
    if (differ(n)) different = n;
    else if (n === total) break;
    else equal = n;
  }
  if (different < 0) {
    result.probes = probes;
    return result;
  }
  // Bisect: equal after `equal` instructions, different after `different`.
  while (different - equal > 1) {
    const mid = equal + Math.floor((different - equal) / 2);
    if (differ(mid)) different = mid;
    else equal = mid;
  }
  const before = refAt(equal);
  const { pc, mode } = before.registers;
  const ref = refAt(different);
  const got = engineAt.get(different)!;
  result.probes = probes;
  result.divergence = {
    instruction: different,
    pc,
    mode,
    disassembly: instructionAt(spec, equal, pc, mode),
    before: stateOf(before),
    reference: stateOf(ref),
    engine: stateOf(got),
    differences: differences(ref, got),
    silentFailures: got.silentFailures,
  };
  return result;
}

const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** Two states side by side (one column if they are the same), register by register. */
export function formatStates(columns: { title: string; state: LockstepState }[]): string[] {
  const rows: [string, (s: LockstepState) => string][] = [
    ['instructions', (s) => String(s.instructions)],
    ['status', (s) => (s.exitCode === null ? s.status : `${s.status} ${s.exitCode}`)],
    ['pc', (s) => hex8(s.registers.pc)],
    ['mode', (s) => s.registers.mode],
    ['FLAGS', (s) => `${hex8(s.registers.flags)} (IF=${(s.registers.flags >>> 9) & 1})`],
    ...Array.from({ length: 16 }, (_, i): [string, (s: LockstepState) => string] => [i === 15 ? 'sp' : `r${i}`, (s) => hex8(s.registers.r[i])]),
    ...Object.keys(columns[0].state.registers.cr).map((name): [string, (s: LockstepState) => string] => [name, (s) => hex8(s.registers.cr[name] ?? 0)]),
    ['memory hash', (s) => s.memoryHash],
    ['console bytes', (s) => String(s.consoleBytes)],
  ];
  const lines = [`  ${''.padEnd(14)}${columns.map((c) => c.title.padEnd(26)).join('')}`];
  for (const [name, f] of rows) {
    const values = columns.map((c) => f(c.state));
    const mark = values.some((v) => v !== values[0]) ? '  <-- differs' : '';
    lines.push(`  ${name.padEnd(14)}${values.map((v) => v.padEnd(26)).join('')}${mark}`.trimEnd());
  }
  return lines;
}

/** One state in a few lines: pc, mode, FLAGS, count, then the registers four to a line and the control registers. */
export function formatCompact(s: LockstepState): string {
  const r = s.registers;
  const lines = [`${s.instructions} instructions, pc ${hex8(r.pc)}, ${r.mode}, FLAGS ${hex8(r.flags)} (IF=${(r.flags >>> 9) & 1})`];
  for (let i = 0; i < 16; i += 4) {
    const names = i === 12 ? 'r12-sp ' : `r${i}-r${i + 3}`;
    lines.push(`  ${names.padEnd(8)} ${r.r.slice(i, i + 4).map(hex8).join(' ')}`);
  }
  lines.push(`  ${Object.entries(r.cr).map(([n, v]) => `${n} ${hex8(v)}`).join(', ')}`);
  return lines.join('\n');
}

/** The transcript `virtstrat run ... --lockstep` prints. */
export function formatLockstep(r: LockstepResult): string {
  const lines: string[] = [];
  const on = `${r.engine} in lock-step with the reference, ${r.isa} ISA`;
  const d = r.divergence;
  if (!d) {
    lines.push(`[lockstep] ${on}: the states agree after every one of ${r.compared} instructions (reference ${r.referenceStatus}; ${r.probes} probes)`);
    return `${lines.join('\n')}\n`;
  }
  lines.push(`[lockstep] ${on}: the states first differ after instruction ${d.instruction} (${r.probes} probes)`);
  lines.push(`[lockstep] instruction ${d.instruction}: ${hex8(d.pc)} (${d.mode})  ${d.disassembly}`);
  lines.push(`[lockstep] state before it (the same on both): ${formatCompact(d.before)}`);
  lines.push(`[lockstep] state after it:`);
  lines.push(...formatStates([{ title: 'reference', state: d.reference }, { title: r.engine, state: d.engine }]));
  lines.push(`[lockstep] differences:`);
  for (const x of d.differences) lines.push(`[lockstep]   - ${x}`);
  for (const f of d.silentFailures) lines.push(`[lockstep] the fidelity oracle: ${f.instruction} at ${hex8(f.pc)}: ${f.detail}`);
  return `${lines.join('\n')}\n`;
}
