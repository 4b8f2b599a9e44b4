/**
 * Pseudo-instructions: assembler conveniences that expand to real instructions of the table.
 * A table entry with the same mnemonic always wins over a pseudo-instruction.
 */
import { insnByName, type InsnDef, type OperandKind } from '../isa/table.js';
import { LineError } from './errors.js';
import { evaluate, type EvalEnv } from './expr.js';
import { encodeInstruction, type Operand } from './operands.js';

export interface PseudoDef {
  readonly name: string;
  readonly operands: readonly OperandKind[];
  /** Bytes emitted (fixed, so that pass 1 can lay out addresses). */
  readonly size: number;
  readonly summary: string;
  /** The instruction words for parsed operands at `address`. Throws LineError. */
  readonly expand: (ops: readonly Operand[], address: number, env: EvalEnv, col: number) => number[];
}

function need(name: string, col: number): InsnDef {
  const def = insnByName(name);
  if (!def) throw new LineError(col, `internal error: the instruction table has no '${name}'`);
  return def;
}

/** Operands for `def` from a register number and an immediate value, following its operand kinds. */
function operandsFor(def: InsnDef, reg: number, imm: number, col: number): Operand[] {
  return def.operands.map((k): Operand => {
    if (k === 'rd' || k === 'rs' || k === 'rt') return { kind: 'reg', n: reg };
    if (k === 'imm') return { kind: 'expr', expr: { k: 'num', value: imm, col }, col };
    throw new LineError(col, `internal error: unexpected operand kind '${k}' of ${def.name}`);
  });
}

export const PSEUDOS: readonly PseudoDef[] = [
  {
    name: 'li',
    operands: ['rd', 'imm'],
    size: 8,
    summary: 'rd = any 32-bit value: lui rd, hi(value) then ori rd, rd, lo(value) (always 2 words)',
    expand(ops, address, env, col) {
      const rd = ops[0];
      const value = ops[1];
      if (rd?.kind !== 'reg' || value?.kind !== 'expr') throw new LineError(col, 'internal error: bad li operands');
      const v = evaluate(value.expr, env);
      const lui = need('lui', col);
      const ori = need('ori', col);
      return [
        encodeInstruction(lui, operandsFor(lui, rd.n, (v >>> 16) & 0xffff, value.col), address, env, col),
        encodeInstruction(ori, operandsFor(ori, rd.n, v & 0xffff, value.col), address + 4, env, col),
      ];
    },
  },
];

const byName = new Map(PSEUDOS.map((p) => [p.name, p]));

/** The pseudo-instruction `name` (case-insensitive), unless the table has a real instruction of that name. */
export function pseudoByName(name: string): PseudoDef | undefined {
  if (insnByName(name)) return undefined;
  return byName.get(name.toLowerCase());
}
