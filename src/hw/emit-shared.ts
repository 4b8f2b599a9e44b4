/**
 * What every code generator writes the same way: the interpreter (src/hw/interp.ts), the region compiler
 * (src/translate/region.ts) and the DBT block compiler (src/translate/compile.ts) all turn the instruction table's
 * semantics into JavaScript source through an Emit (src/isa/table.ts). They differ in policy — where control goes
 * on a fault, which privilege memory is accessed with, whether registers live in R[] or in locals — but not in
 * how the condition flags are kept or how a load, a store, a push or a pop goes through the MMU's fast slots.
 * That part is written once, here, so the three can never disagree on it.
 *
 * The generated code uses these names: `fa, fb, fk` (lazy condition flags), `a, x, p, t` (scratch), `F` (the
 * fault record), `mmu`, `tPhys`, `fr`/`fw` (the fast slots for reads and writes), `mem32`, `mem8`.
 */
import { FLAGS_CONDITION_MASK, IF_SHIFT, PAGE_MASK, PAGE_SHIFT, VEC_ALIGNMENT } from '../isa/arch.js';
import { immOf } from '../isa/encoding.js';
import type { InsnDef, RegField } from '../isa/table.js';
import { ACCESS_READ, ACCESS_WRITE, FAST_MASK } from './mmu.js';

/** Where each register field sits in an instruction word. */
export const FIELD_SHIFT: Readonly<Record<RegField, number>> = { rd: 20, rs: 16, rt: 12 };

/** A decoded integer spliced into generated code: it must be a safe integer. */
export function spliceInt(n: number, who: string): string {
  if (!Number.isSafeInteger(n)) throw new Error(`${who}: refusing to splice ${String(n)}`);
  return String(n);
}

/** A guest address as part of a generated function's name (`region_1001a4`): validated as every spliced integer. */
export function hexName(va: number, who: string): string {
  spliceInt(va, who);
  return (va >>> 0).toString(16);
}

export abstract class SharedEmit {
  /** The instruction stores to memory (a compiler checks for self-modifying code after it). */
  stores = false;

  /** Statement (one, or a block) that leaves through the exception path once F holds the exception. */
  protected abstract faultExit(): string;
  /** Expression: the privilege mode the MMU checks this code's memory accesses with. */
  protected abstract readonly accessMode: string;
  /** Expression: the interrupt flag that FLAGS reports (pushf). */
  protected abstract readonly iflag: string;
  /** The stack pointer, as an expression that can also be assigned. */
  protected abstract stackPointer(): string;
  /** Code run after a store's slow-path translation succeeded (a compiler notes it: it may hit compiled code). */
  protected readonly afterSlowStore: string = '';

  abstract set(f: RegField, expr: string): string;

  compare(a: string, b: string): string {
    return `fa = ${a}; fb = ${b}; fk = 0;`;
  }
  flags(): string {
    return `(conditionFlags(fa, fb, fk) | (${this.iflag} << ${IF_SHIFT}))`;
  }
  setConditionFlags(expr: string): string {
    return `fa = (${expr}) & ${FLAGS_CONDITION_MASK}; fb = 0; fk = 1;`;
  }

  /** a = the effective address; p = its physical address — from the fast slot, else from the MMU (may fault). */
  private translate(ea: string, fast: 'fr' | 'fw', access: number, aligned: boolean, afterSlow: string): string {
    const fault = this.faultExit();
    const align = aligned ? `if ((a & 3) !== 0) { F.set(${VEC_ALIGNMENT}, 0, a); ${fault} } ` : '';
    return (
      `a = ${ea}; ${align}x = (a >>> ${PAGE_SHIFT}) & ${FAST_MASK}; ` +
      `if (${fast}[x] === (a >>> ${PAGE_SHIFT})) p = tPhys[x] | (a & ${PAGE_MASK}); ` +
      `else { p = mmu.translate(a, ${access}, ${this.accessMode}); if (p < 0) ${fault}${afterSlow} } `
    );
  }
  load(size: 4 | 1, dest: RegField, ea: string): string {
    return this.translate(ea, 'fr', ACCESS_READ, size === 4, '') + this.set(dest, size === 4 ? 'mem32[p >>> 2]' : 'mem8[p]');
  }
  store(size: 4 | 1, ea: string, value: string): string {
    this.stores = true;
    return this.translate(ea, 'fw', ACCESS_WRITE, size === 4, this.afterSlowStore) + (size === 4 ? `mem32[p >>> 2] = ${value};` : `mem8[p] = ${value};`);
  }
  push(value: string): string {
    // The value is read before sp changes (push sp pushes the old sp); sp changes only if the store succeeds.
    const sp = this.stackPointer();
    return `${this.store(4, `(${sp} - 4) | 0`, value)} ${sp} = a;`;
  }
  pop(dest: RegField | 't'): string {
    // sp is updated before the destination is written, so `pop sp` loads the popped value.
    const sp = this.stackPointer();
    const load = `${this.translate(sp, 'fr', ACCESS_READ, true, '')}t = mem32[p >>> 2]; ${sp} = (a + 4) | 0;`;
    return dest === 't' ? load : `${load} ${this.set(dest, 't')}`;
  }
  fault(vector: number, errorCode = '0'): string {
    return `F.set(${spliceInt(vector, 'code generator')}, ${errorCode}, 0); ${this.faultExit()}`;
  }
}

/**
 * The emitter of a compiler — the region compiler or the DBT block compiler — as opposed to the interpreter's: it
 * generates code for one known instruction word at a known address, so register fields, the immediate and
 * branch targets are constants of that word, spliced in as validated integers.
 */
export abstract class CompiledEmit extends SharedEmit {
  /** The instruction ended control flow (every path leaves). */
  endsControl = false;
  /** A store that went the slow way may have hit compiled code (the compiler checks after the instruction). */
  protected override readonly afterSlowStore: string = ' q = 1;';
  /** Names the compiler in the error of a refused splice. */
  protected abstract readonly compiler: string;

  constructor(
    protected readonly def: InsnDef,
    protected readonly word: number,
    /** Guest address of the instruction. */
    protected readonly va: number,
    /** Instructions of its block before it (retired before it). */
    protected readonly k: number,
  ) {
    super();
  }

  protected int(n: number): string {
    return spliceInt(n, this.compiler);
  }
  protected field(f: RegField): number {
    return (this.word >>> FIELD_SHIFT[f]) & 15;
  }
  get imm(): string {
    if (!this.def.imm) throw new Error(`${this.def.name} has no immediate`);
    return this.int(immOf(this.word, this.def.imm));
  }
  get next(): string {
    return this.int((this.va + 4) | 0);
  }
  get target(): string {
    return this.int((this.va + 4 + 4 * immOf(this.word, 'off24')) | 0);
  }
}
