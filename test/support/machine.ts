/** Helpers for hardware tests: run single instructions, or small assembled programs, on the hardware model. */
import { assemble, formatError, type AssembleResult } from '../../src/asm/index.js';
import type { IsaVariant } from '../../src/isa/arch.js';
import { encode, type InsnFields } from '../../src/isa/encoding.js';
import { insnByName } from '../../src/isa/table.js';
import { Machine } from '../../src/hw/machine.js';
import { bareMachine, resultOf, type RunResult } from '../../src/run/reference.js';

export function word(name: string, f: InsnFields = {}): number {
  const d = insnByName(name);
  if (!d) throw new Error(`no instruction ${name}`);
  return encode(d, f);
}

export interface StepSetup {
  regs?: Record<number, number>;
  mode?: 0 | 1;
  iflag?: 0 | 1;
  isa?: IsaVariant;
  /** Extra words placed after the instruction (e.g. a second instruction). */
  then?: number[];
  /** Address the instruction is placed at (default 0x1000). */
  at?: number;
  setup?: (m: Machine) => void;
}

/**
 * A machine with `words` at `at`, pc there, exceptions routed out of the loop ('monitor') so a test can
 * observe which exception an instruction raises without writing guest handlers.
 */
export function machineWith(words: number[], s: StepSetup = {}): Machine {
  const m = new Machine({ memoryBytes: 1 << 20, isa: s.isa });
  const at = s.at ?? 0x1000;
  words.forEach((w, i) => (m.mem.i32[(at >> 2) + i] = w));
  m.cpu.pc = at;
  m.cpu.mode = s.mode ?? 0;
  m.cpu.iflag = s.iflag ?? 0;
  m.cpu.regs[15] = 0x8000; // a stack
  for (const [r, v] of Object.entries(s.regs ?? {})) m.cpu.regs[Number(r)] = v;
  m.routing = 'monitor';
  s.setup?.(m);
  return m;
}

/** Execute exactly `n` instructions (or until an exception leaves the loop). */
export function step(m: Machine, n = 1): Machine {
  m.exec(m, n);
  return m;
}

export function stepOne(w: number, s: StepSetup = {}): Machine {
  return step(machineWith([w, ...(s.then ?? [])], s), 1);
}

/** Assemble source, throwing with all formatted errors if it does not assemble. */
export function asm(source: string, defines: Record<string, number> = {}): AssembleResult {
  const r = assemble(source, 'test.s', { defines });
  if (!r.ok) throw new Error(r.errors.map(formatError).join('\n'));
  return r;
}

export interface BareRun {
  m: Machine;
  r: RunResult;
  /** Address of a label. */
  sym(name: string): number;
}

/** Assemble and run on bare metal. */
export function runAsm(
  source: string,
  opts: { budget?: number; isa?: IsaVariant; defines?: Record<string, number>; disk?: Uint8Array } = {},
): BareRun {
  const a = asm(source, opts.defines);
  const m = bareMachine(a.image, { isa: opts.isa, memoryBytes: 1 << 22, disk: opts.disk });
  m.run(opts.budget ?? 10_000_000);
  const sym = (name: string): number => {
    const v = a.symbols.get(name);
    if (v === undefined) throw new Error(`no symbol ${name}`);
    return v;
  };
  return { m, r: resultOf(m), sym };
}

/** Read a word of physical memory. */
export function peek(m: Machine, pa: number): number {
  return m.mem.i32[pa >>> 2];
}
