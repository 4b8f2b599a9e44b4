/**
 * What each instruction of the table *does*, found by running its semantics against a recording emitter.
 *
 * The fuzzer never keeps its own list of instructions: it asks every entry of `INSTRUCTIONS` which emitter
 * operations its `exec` composes (a register write, a load, a push, a jump, a system operation, ...) and derives
 * from that how to generate it safely — which register fields it writes (so reserved registers are kept out of
 * them), whether it needs a memory operand pointing into the sandbox, whether it transfers control (and so may
 * only appear inside a structured construct), and which system operation it is. A new instruction in the table
 * is generated with no change here; a new *system operation* is a compile error in the generator until it says
 * how to generate it (the map over `SystemOp` is exhaustive).
 */
import { INSTRUCTIONS, type Cond, type Emit, type InsnDef, type RegField, type SystemOp } from '../isa/table.js';

/** How the fuzzer has to treat an instruction, from what its semantics do. */
export type ShapeKind =
  /** Only registers and condition flags (ALU, compare, moves, cli/sti, rdmode, nop, division that may fault). */
  | 'register'
  /** A load or store through a `[rs + disp]` operand. */
  | 'memory'
  /** Pushes or pops without transferring control (push, pop, pushf, popf). */
  | 'stack'
  /** A conditional branch to a target. */
  | 'branch'
  /** An unconditional transfer of control (jmp, call, ret, jmpr, callr). */
  | 'jump'
  /** Always raises an exception after retiring (syscall). */
  | 'trap'
  /** A system operation implemented in src/hw/system.ts. */
  | 'system';

export interface InsnShape {
  readonly def: InsnDef;
  readonly kind: ShapeKind;
  /** Register fields the instruction writes (register writes, load and pop destinations). */
  readonly writes: ReadonlySet<RegField>;
  readonly pushes: boolean;
  readonly pops: boolean;
  /** For 'system': which operation. */
  readonly system: SystemOp | null;
  /** For 'branch': the condition. */
  readonly cond: Cond | null;
  /** Exception vectors the semantics raise as faults (e.g. #DE for a zero divisor). */
  readonly faults: readonly number[];
  /** The instruction reports itself to the fidelity oracle in user mode (sensitive, unprivileged). */
  readonly audited: boolean;
  /** It writes the interrupt flag. */
  readonly setsIF: boolean;
  /** It sets the condition flags from a comparison (cmp, tst, ...). */
  readonly compares: boolean;
}

/** Run `def.exec` against an emitter that records what it is asked for. */
function probe(def: InsnDef): InsnShape {
  const writes = new Set<RegField>();
  const faults: number[] = [];
  let pushes = false;
  let pops = false;
  let load = false;
  let store = false;
  let jump = false;
  let cond: Cond | null = null;
  let trap = false;
  let system: SystemOp | null = null;
  let audited = false;
  let setsIF = false;
  let compares = false;
  const e: Emit = {
    r: (f) => `r_${f}`,
    set: (f) => {
      writes.add(f);
      return '';
    },
    imm: 'imm',
    next: 'next',
    target: 'target',
    jump: () => {
      jump = true;
      return '';
    },
    branch: (c) => {
      cond = c;
      return '';
    },
    compare: () => {
      compares = true;
      return '';
    },
    flags: () => 'flags',
    setConditionFlags: () => '',
    mode: 'mode',
    setIF: () => {
      setsIF = true;
      return '';
    },
    audit: () => {
      audited = true;
      return '';
    },
    load: (_size, dest) => {
      load = true;
      writes.add(dest);
      return '';
    },
    store: () => {
      store = true;
      return '';
    },
    push: () => {
      pushes = true;
      return '';
    },
    pop: (dest) => {
      pops = true;
      if (dest !== 't') writes.add(dest);
      return '';
    },
    fault: (vector) => {
      faults.push(vector);
      return '';
    },
    trap: () => {
      trap = true;
      return '';
    },
    system: (op) => {
      system = op;
      return '';
    },
  };
  def.exec(e);
  // A system operation is opaque to the probe (src/hw/system.ts implements it): a register operand in the rd
  // field is its result (in rd, port; mfcr rd, crN), so count it as written.
  if (system !== null && def.operands.includes('rd')) writes.add('rd');
  const kind: ShapeKind =
    system !== null
      ? 'system'
      : cond !== null
        ? 'branch'
        : jump
          ? 'jump'
          : load || store
            ? 'memory'
            : trap
              ? 'trap'
              : pushes || pops
                ? 'stack'
                : 'register';
  return { def, kind, writes, pushes, pops, system, cond, faults, audited, setsIF, compares };
}

/** The shape of every instruction of the table, in table order. */
export const SHAPES: readonly InsnShape[] = INSTRUCTIONS.map(probe);

export function shapesOf(kind: ShapeKind): InsnShape[] {
  return SHAPES.filter((s) => s.kind === kind);
}

export function shapeOf(name: string): InsnShape {
  const s = SHAPES.find((x) => x.def.name === name);
  if (!s) throw new Error(`no instruction '${name}' in the table`);
  return s;
}

/** The system instruction that performs `op` (its mnemonic comes from the table, not from here). */
export function systemInsn(op: SystemOp): InsnShape {
  const s = SHAPES.find((x) => x.system === op);
  if (!s) throw new Error(`no instruction performs the system operation '${op}'`);
  return s;
}

/** Opcodes the table does not define: executing one raises #UD. */
export const UNDEFINED_OPCODES: readonly number[] = Array.from({ length: 256 }, (_, op) => op).filter(
  (op) => !INSTRUCTIONS.some((d) => d.opcode === op),
);

/** The sensitive instructions that are unprivileged on the default ISA (popf, pushf, rdmode): privileged on classic. */
export const SENSITIVE_UNPRIVILEGED: readonly string[] = INSTRUCTIONS.filter((d) => d.privileged === 'classic').map((d) => d.name);
