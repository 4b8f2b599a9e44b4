/**
 * Pass 2: the statements laid out by pass 1 are evaluated (all symbols are known now) and written into
 * the image.
 */
import type { InsnDef } from '../isa/table.js';
import { ErrorList, LineError, PoisonedError } from './errors.js';
import { evaluate, type Expr } from './expr.js';
import { encodeInstruction, type Operand } from './operands.js';
import type { PseudoDef } from './pseudo.js';
import type { LineContext } from './source.js';
import type { SymbolTable } from './symbols.js';
import type { SourceLine } from './types.js';

export interface DataItem {
  readonly expr: Expr;
  readonly col: number;
}

export type StmtBody =
  | { readonly kind: 'insn'; readonly def: InsnDef; readonly ops: readonly Operand[]; readonly col: number }
  | { readonly kind: 'pseudo'; readonly def: PseudoDef; readonly ops: readonly Operand[]; readonly col: number }
  | { readonly kind: 'data'; readonly width: 1 | 4; readonly items: readonly DataItem[] }
  | { readonly kind: 'bytes'; readonly bytes: readonly number[] }
  | { readonly kind: 'fill'; readonly value: number }
  | { readonly kind: 'assert'; readonly expr: Expr; readonly col: number; readonly message: string };

/** A statement with a fixed place in the image. */
export interface Stmt {
  readonly ctx: LineContext;
  readonly address: number;
  readonly size: number;
  readonly body: StmtBody;
}

function write32(image: Uint8Array, at: number, v: number): void {
  image[at] = v & 0xff;
  image[at + 1] = (v >>> 8) & 0xff;
  image[at + 2] = (v >>> 16) & 0xff;
  image[at + 3] = (v >>> 24) & 0xff;
}

function emitOne(s: Stmt, image: Uint8Array, symbols: SymbolTable): void {
  const env = symbols.env(s.address, s.ctx.seq, true);
  const b = s.body;
  switch (b.kind) {
    case 'insn':
      write32(image, s.address, encodeInstruction(b.def, b.ops, s.address, env, b.col));
      return;
    case 'pseudo':
      b.def.expand(b.ops, s.address, env, b.col).forEach((w, i) => write32(image, s.address + 4 * i, w));
      return;
    case 'data':
      b.items.forEach((item, i) => {
        const v = evaluate(item.expr, env);
        if (b.width === 4) write32(image, s.address + 4 * i, v);
        else if (v < -128 || v > 255) throw new LineError(item.col, `value ${v} out of range for .byte (-128..255)`);
        else image[s.address + i] = v & 0xff;
      });
      return;
    case 'bytes':
      image.set(b.bytes, s.address);
      return;
    case 'fill':
      image.fill(b.value & 0xff, s.address, s.address + s.size);
      return;
    case 'assert':
      if (evaluate(b.expr, env) === 0) throw new LineError(b.col, `assertion failed: ${b.message}`);
      return;
  }
}

/** Writes every statement into a fresh image; errors go to `errors`. */
export function emitAll(stmts: readonly Stmt[], symbols: SymbolTable, errors: ErrorList): { image: Uint8Array; lines: SourceLine[] } {
  let end = 0;
  for (const s of stmts) if (s.size > 0) end = Math.max(end, s.address + s.size);
  const image = new Uint8Array(end);
  const lines: SourceLine[] = [];
  for (const s of stmts) {
    if (s.size > 0) lines.push({ address: s.address, size: s.size, file: s.ctx.src.file, line: s.ctx.src.line });
    try {
      emitOne(s, image, symbols);
    } catch (e) {
      if (e instanceof PoisonedError) continue;
      if (e instanceof LineError) errors.at(s.ctx, e.col, e.message);
      else throw e;
    }
  }
  return { image, lines };
}
