/**
 * Instruction operands, driven by the operand kinds of the instruction table: parsing (pass 1) and
 * evaluation + encoding (pass 2).
 */
import { encode, immRange, type InsnFields } from '../isa/encoding.js';
import type { ImmKind, InsnDef, OperandKind } from '../isa/table.js';
import { LineError } from './errors.js';
import { Cursor, evaluate, parseExpr, type EvalEnv, type Expr } from './expr.js';
import { describeToken, type Token } from './lexer.js';
import {
  CONTROL_REGISTER_HELP,
  controlRegisterNumber,
  looksLikeControlRegister,
  looksLikeRegister,
  REGISTER_HELP,
  registerNumber,
} from './registers.js';

/** A parsed operand; `ops[i]` belongs to `operands[i]` of the instruction. */
export type Operand =
  | { readonly kind: 'reg'; readonly n: number }
  | { readonly kind: 'expr'; readonly expr: Expr; readonly col: number }
  | { readonly kind: 'mem'; readonly base: number; readonly disp: Expr | null; readonly col: number };

/** A typical spelling of each operand kind, for usage messages. */
function exampleOperand(kind: OperandKind): string {
  switch (kind) {
    case 'rd':
      return 'r1';
    case 'rs':
      return 'r2';
    case 'rt':
      return 'r3';
    case 'imm':
      return '4';
    case 'port':
      return '0x10';
    case 'mem':
      return '[r2 + 8]';
    case 'target':
      return 'label';
    case 'crd':
    case 'crs':
      return 'ptbr';
  }
}

const example = (name: string, kinds: readonly OperandKind[]): string => `${name} ${kinds.map(exampleOperand).join(', ')}`;

const expects = (name: string, kinds: readonly OperandKind[]): string =>
  kinds.length === 0
    ? `${name} takes no operands`
    : `${name} expects ${kinds.length} ${kinds.length === 1 ? 'operand' : 'operands'}: ${kinds.join(', ')}`;

/** "add expects 3 operands: rd, rs, rt (e.g. 'add r1, r2, r3')" */
export function usage(name: string, kinds: readonly OperandKind[]): string {
  return kinds.length === 0 ? expects(name, kinds) : `${expects(name, kinds)} (e.g. '${example(name, kinds)}')`;
}

/** "add expects 3 operands: rd, rs, rt (found 2; e.g. 'add r1, r2, r3')" */
function countMessage(name: string, kinds: readonly OperandKind[], found: number): string {
  return `${expects(name, kinds)} (found ${found}; e.g. '${example(name, kinds)}')`;
}

function parseRegister(cur: Cursor): number {
  const t = cur.next();
  if (t.kind === 'ident') {
    const n = registerNumber(t.text);
    if (n !== undefined) return n;
    if (looksLikeRegister(t.text)) throw new LineError(t.start, `unknown register '${t.text}' (registers are ${REGISTER_HELP})`);
    if (controlRegisterNumber(t.text) !== undefined) {
      throw new LineError(t.start, `expected a register, found control register '${t.text}' (registers are ${REGISTER_HELP})`);
    }
  }
  throw new LineError(t.start, `expected a register, found ${describeToken(t)} (registers are ${REGISTER_HELP})`);
}

function parseControlRegister(cur: Cursor): number {
  const t = cur.next();
  if (t.kind === 'ident') {
    const n = controlRegisterNumber(t.text);
    if (n !== undefined) return n;
    if (looksLikeControlRegister(t.text)) {
      throw new LineError(t.start, `unknown control register '${t.text}' (control registers are ${CONTROL_REGISTER_HELP})`);
    }
  }
  throw new LineError(t.start, `expected a control register, found ${describeToken(t)} (control registers are ${CONTROL_REGISTER_HELP})`);
}

/** `[reg]`, `[reg + expr]` or `[reg - expr]` (the sign is part of the displacement expression). */
function parseMemory(cur: Cursor): Operand {
  const open = cur.peek();
  if (!cur.isPunct('[')) {
    throw new LineError(open.start, `expected a memory operand like '[r2 + 8]', found ${describeToken(open)}`);
  }
  cur.next();
  const base = parseRegister(cur);
  let disp: Expr | null = null;
  let col = cur.peek().start;
  if (cur.isPunct('+')) {
    cur.next();
    col = cur.peek().start;
    disp = parseExpr(cur, 'a displacement');
  } else if (cur.isPunct('-')) {
    // Keep the '-' as a unary minus so that [r1 - 4 + 2] means r1 - 2, as written.
    disp = parseExpr(cur, 'a displacement');
  }
  const close = cur.peek();
  if (!cur.isPunct(']')) {
    const want = disp === null ? "'+', '-' or ']'" : "']'";
    throw new LineError(close.start, `expected ${want} in memory operand, found ${describeToken(close)}`);
  }
  cur.next();
  return { kind: 'mem', base, disp, col };
}

function parseOperand(kind: OperandKind, cur: Cursor): Operand {
  switch (kind) {
    case 'rd':
    case 'rs':
    case 'rt':
      return { kind: 'reg', n: parseRegister(cur) };
    case 'crd':
    case 'crs':
      return { kind: 'reg', n: parseControlRegister(cur) };
    case 'mem':
      return parseMemory(cur);
    case 'imm':
    case 'port':
    case 'target': {
      const col = cur.peek().start;
      const what = kind === 'imm' ? 'an immediate value' : kind === 'port' ? 'a port number' : 'a branch target (a label or address)';
      return { kind: 'expr', expr: parseExpr(cur, what), col };
    }
  }
}

/**
 * Parses the operands of `name` (an instruction or pseudo-instruction) after its mnemonic `mnemonic`.
 * Checks the count and the kinds; the line must end after the last operand.
 */
export function parseOperands(name: string, kinds: readonly OperandKind[], cur: Cursor, mnemonic: Token): Operand[] {
  const ops: Operand[] = [];
  for (let i = 0; i < kinds.length; i++) {
    if (i > 0) {
      const t = cur.peek();
      if (t.kind === 'eol') throw new LineError(t.start, countMessage(name, kinds, i));
      if (!cur.isPunct(',')) throw new LineError(t.start, `unexpected ${describeToken(t)} after operand ${i} (expected ',')`);
      cur.next();
    }
    const t = cur.peek();
    if (t.kind === 'eol') {
      throw new LineError(i === 0 ? mnemonic.start : t.start, countMessage(name, kinds, i));
    }
    ops.push(parseOperand(kinds[i], cur));
  }
  const rest = cur.peek();
  if (rest.kind !== 'eol') {
    if (kinds.length === 0) throw new LineError(rest.start, `unexpected ${describeToken(rest)}: ${usage(name, kinds)}`);
    if (rest.kind === 'punct' && rest.text === ',') {
      throw new LineError(rest.start, `unexpected ',' after operand ${kinds.length}: ${usage(name, kinds)}`);
    }
    throw new LineError(rest.start, `unexpected ${describeToken(rest)} after operand ${kinds.length}`);
  }
  return ops;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** Is `v` encodable as `kind` (u16 also takes -32768..-1, the same bit pattern, as `encode` does)? */
export function fitsImm(kind: ImmKind, v: number): boolean {
  const [lo, hi] = immRange(kind);
  return (v >= lo && v <= hi) || (kind === 'u16' && v >= -0x8000 && v < 0);
}

export function rangeText(kind: ImmKind): string {
  const [lo, hi] = immRange(kind);
  return kind === 'u16' ? `${kind}: ${lo}..${hi} or -32768..-1` : `${kind}: ${lo}..${hi}`;
}

function immediateKind(def: InsnDef, col: number): ImmKind {
  if (def.imm === undefined) throw new LineError(col, `internal error: ${def.name} has an immediate operand but no immediate kind`);
  return def.imm;
}

/** Evaluates the operands of an instruction at `address` and encodes it. Throws LineError. */
export function encodeInstruction(def: InsnDef, ops: readonly Operand[], address: number, env: EvalEnv, col: number): number {
  const f: InsnFields = {};
  def.operands.forEach((kind, i) => {
    const op = ops[i];
    if (op === undefined) throw new LineError(col, `internal error: missing operand ${i + 1} of ${def.name}`);
    switch (kind) {
      case 'rd':
      case 'crd':
        if (op.kind === 'reg') f.rd = op.n;
        break;
      case 'rs':
      case 'crs':
        if (op.kind === 'reg') f.rs = op.n;
        break;
      case 'rt':
        if (op.kind === 'reg') f.rt = op.n;
        break;
      case 'imm': {
        if (op.kind !== 'expr') break;
        const imm = immediateKind(def, op.col);
        const v = evaluate(op.expr, env);
        if (!fitsImm(imm, v)) throw new LineError(op.col, `immediate ${v} out of range for ${def.name} (${rangeText(imm)})`);
        f.imm = v;
        break;
      }
      case 'port': {
        if (op.kind !== 'expr') break;
        const v = evaluate(op.expr, env);
        if (v < 0 || v > 0xffff) throw new LineError(op.col, `port ${v} out of range for ${def.name} (0..65535)`);
        f.imm = v;
        break;
      }
      case 'mem': {
        if (op.kind !== 'mem') break;
        const imm = immediateKind(def, op.col);
        const v = op.disp === null ? 0 : evaluate(op.disp, env);
        if (!fitsImm(imm, v)) throw new LineError(op.col, `displacement ${v} out of range for ${def.name} (${rangeText(imm)})`);
        f.rs = op.base;
        f.imm = v;
        break;
      }
      case 'target': {
        if (op.kind !== 'expr') break;
        const imm = immediateKind(def, op.col);
        const target = evaluate(op.expr, env);
        const delta = (target - ((address + 4) | 0)) | 0;
        if (delta % 4 !== 0) throw new LineError(op.col, `branch target ${hex(target)} is not 4-byte aligned`);
        const words = delta / 4;
        const [lo, hi] = immRange(imm);
        if (words < lo || words > hi) {
          throw new LineError(
            op.col,
            `branch target ${hex(target)} out of range for ${def.name} (${imm}: ${lo}..${hi} words from the next instruction, found ${words})`,
          );
        }
        f.imm = words;
        break;
      }
    }
  });
  try {
    return encode(def, f);
  } catch (e) {
    throw new LineError(col, `cannot encode ${def.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
