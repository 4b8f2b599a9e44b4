/**
 * The interpreter, generated from the instruction table.
 *
 * `interpreterSource(variant)` builds the source of one JavaScript function: a fetch–decode–execute loop
 * whose `switch` has one case per table entry, each case produced by calling the entry's `exec` with an
 * emitter that decodes fields from the instruction word at run time. The generated code keeps pc, the
 * instruction count and the lazy flags in locals (performance.md lessons 4 and 5), decodes from one
 * Int32Array load plus shifts, and leaves the loop only for exceptions, system operations that need the
 * run loop, and the instruction limit. `virtstrat gen interpreter` prints the generated source.
 *
 * Contract of the generated function `exec(M, limit)`:
 *  - runs at most `limit` instructions (limit >= 1) on machine M, starting at M.cpu.pc;
 *  - returns EXEC_LIMIT when the limit was reached (or an instruction asked for a re-plan by lowering it),
 *    EXEC_EVENT when something needs the run loop (halt, machine stopped, exception routed away from the
 *    guest, re-plan requested by a system operation);
 *  - leaves all state written back to M.cpu and retirements accounted with M.retire().
 */
import {
  FLAG_CF,
  FLAG_OF,
  FLAG_SF,
  FLAG_ZF,
  PAGE_MASK,
  PAGE_SHIFT,
  SP,
  VEC_ALIGNMENT,
  VEC_INVALID_OPCODE,
  VEC_PRIVILEGE,
  type IsaVariant,
} from '../isa/arch.js';
import { INSTRUCTIONS, isPrivileged, type Cond, type Emit, type InsnDef, type RegField, type SystemOp } from '../isa/table.js';
import { conditionFlags } from './cpu.js';
import { FIELD_SHIFT, SharedEmit } from './emit-shared.js';
import { ACCESS_FETCH, FAST_MASK } from './mmu.js';
import { SYS_BREAK, SYS_FAULT, SYS_RETIRED, systemOp } from './system.js';
import type { Machine } from './machine.js';

export const EXEC_LIMIT = 0;
export const EXEC_EVENT = 1;

export type ExecFn = (m: Machine, limit: number) => number;

/** Mask with the page-offset bits except the low two: (pc & FETCH_MASK) equals the page base only if pc is aligned. */
const FETCH_MASK = ~PAGE_MASK | 3;

/** A condition as a JavaScript boolean expression over the lazy flags (fa, fb, fk). */
export function condExpr(c: Cond, fa = 'fa', fb = 'fb', fk = 'fk'): string {
  const lazy: Record<Cond, string> = {
    eq: `${fa} === ${fb}`,
    ne: `${fa} !== ${fb}`,
    lt: `${fa} < ${fb}`,
    ge: `${fa} >= ${fb}`,
    gt: `${fa} > ${fb}`,
    le: `${fa} <= ${fb}`,
    ltu: `(${fa} >>> 0) < (${fb} >>> 0)`,
    geu: `(${fa} >>> 0) >= (${fb} >>> 0)`,
    gtu: `(${fa} >>> 0) > (${fb} >>> 0)`,
    leu: `(${fa} >>> 0) <= (${fb} >>> 0)`,
  };
  const Z = `((${fa} & ${FLAG_ZF}) !== 0)`;
  const C = `((${fa} & ${FLAG_CF}) !== 0)`;
  const L = `((((${fa} >> 7) ^ (${fa} >> 11)) & 1) !== 0)`; // SF != OF
  const explicit: Record<Cond, string> = {
    eq: Z,
    ne: `!${Z}`,
    lt: L,
    ge: `!${L}`,
    gt: `(!${Z} && !${L})`,
    le: `(${Z} || ${L})`,
    ltu: C,
    geu: `!${C}`,
    gtu: `(!${C} && !${Z})`,
    leu: `(${C} || ${Z})`,
  };
  return `(${fk} === 0 ? ${lazy[c]} : ${explicit[c]})`;
}

// Checked at load: the explicit-flag formulas use bit positions 7 (SF) and 11 (OF).
if (FLAG_SF !== 1 << 7 || FLAG_OF !== 1 << 11) throw new Error('condExpr assumes SF = bit 7 and OF = bit 11');

/** The emitter used to generate interpreter cases: fields are decoded from `w` at run time. */
class InterpEmit extends SharedEmit implements Emit {
  /** Set when the body ended control flow itself (jump, branch, trap, system operation). */
  endsControl = false;

  constructor(private readonly def: InsnDef) {
    super();
  }

  /** Does this entry's semantics go through a system operation? (Probed with a throwaway emitter.) */
  usesSystemOp(def: InsnDef): boolean {
    const probe = new InterpEmit(def);
    def.exec(probe);
    return probe.usedSystem;
  }
  private usedSystem = false;

  r(f: RegField): string {
    return `R[(w >>> ${FIELD_SHIFT[f]}) & 15]`;
  }
  set(f: RegField, expr: string): string {
    return `R[(w >>> ${FIELD_SHIFT[f]}) & 15] = ${expr};`;
  }
  get imm(): string {
    switch (this.def.imm) {
      case 's16':
        return '((w << 16) >> 16)';
      case 'u16':
        return '(w & 0xffff)';
      case 'u5':
        return '(w & 31)';
      case 'off24':
        return '((w << 8) >> 8)';
      default:
        throw new Error(`${this.def.name} has no immediate`);
    }
  }
  readonly next = '((pc + 4) | 0)';
  readonly target = '((pc + 4 + (((w << 8) >> 8) << 2)) | 0)';
  jump(expr: string): string {
    this.endsControl = true;
    return `pc = ${expr}; ic++; continue;`;
  }
  branch(c: Cond): string {
    this.endsControl = true;
    return `pc = ${condExpr(c)} ? ${this.target} : ${this.next}; ic++; continue;`;
  }
  readonly mode = 'mode';
  protected readonly accessMode = 'mode';
  protected readonly iflag = 'S.iflag';
  protected faultExit(): string {
    return 'break exc;';
  }
  protected stackPointer(): string {
    return `R[${SP}]`;
  }
  setIF(expr: string, shadow = false): string {
    if (expr === '0') return 'S.iflag = 0;';
    if (shadow) {
      // sti: when IF goes 0 -> 1, interrupts wait until the next instruction has retired. shadowEnd is the
      // clock value at which that happens; the run loop delivers nothing before it.
      return (
        `if (S.iflag === 0) { S.iflag = 1; M.shadowEnd = M.clock + (ic - icMark) + 2; ` +
        `if (M.irqPending !== 0 && limit > ic + 2) limit = ic + 2; }`
      );
    }
    // Re-plan after this instruction if an interrupt is waiting: lowering the limit ends the loop there.
    return `S.iflag = (${expr}) & 1; if (S.iflag !== 0 && M.irqPending !== 0) limit = ic + 1;`;
  }
  audit(detail: string): string {
    return `M.audit(pc, ${this.def.opcode}, ${detail}, ic - icMark);`;
  }
  trap(vector: number): string {
    this.endsControl = true;
    return `pc = (pc + 4) | 0; ic++; F.set(${vector}, 0, 0); break exc;`;
  }
  system(op: SystemOp): string {
    this.endsControl = true;
    this.usedSystem = true;
    return (
      `S.pc = pc; S.fa = fa; S.fb = fb; S.fk = fk; M.retire(ic - icMark, mode); icMark = ic; ` +
      `t = systemOp(M, ${JSON.stringify(op)}, w); ` +
      `pc = S.pc; fa = S.fa; fb = S.fb; fk = S.fk; mode = S.mode; fr = mmu.fastRead[mode]; fw = mmu.fastWrite[mode]; fpage = -1; ` +
      `if ((t & ${SYS_RETIRED}) !== 0) { ic++; icMark++; } ` +
      `if ((t & ${SYS_FAULT}) !== 0) break exc; ` +
      `if ((t & ${SYS_BREAK}) !== 0) { res = ${EXEC_EVENT}; break outer; } ` +
      `continue;`
    );
  }
}

/** The source of one case of the dispatch switch (without the `case N:` label). */
export function interpreterCase(def: InsnDef, variant: IsaVariant): string {
  const e = new InterpEmit(def);
  const priv = isPrivileged(def, variant) ? `if (mode !== 0) { F.set(${VEC_PRIVILEGE}, 0, 0); break exc; } ` : '';
  // Sensitive instructions executed by this machine (not trapped) are counted: the cost model prices them.
  // System operations count themselves when they complete (they may still exit or fault).
  const counted = def.sensitive && !def.traps && !e.usesSystemOp(def) ? `SC[${def.opcode}]++; ` : '';
  const body = `${counted}${def.exec(e)}`;
  // Straight-line instructions end with the common epilogue: advance pc, count, next instruction.
  return `${priv}${body}${e.endsControl ? '' : ' pc = (pc + 4) | 0; ic++; continue;'}`;
}

/**
 * `table` defaults to THE instruction table; tools that study the hardware model (the Popek–Goldberg classifier's
 * tests) pass a modified copy to generate the interpreter of a hypothetical ISA.
 */
export function interpreterSource(variant: IsaVariant, table: readonly InsnDef[] = INSTRUCTIONS): string {
  const cases = table.map((d) => `        case ${d.opcode}: { ${interpreterCase(d, variant)} }`).join('\n');
  return `"use strict";
  // Generated by src/hw/interp.ts from the instruction table (ISA variant: ${variant}).
  const S = M.cpu, R = S.regs, F = M.fault, mmu = M.mmu, mem32 = M.mem.i32, mem8 = M.mem.u8, tPhys = mmu.phys;
  const SC = M.sensitiveCounts;
  let pc = S.pc | 0, fa = S.fa | 0, fb = S.fb | 0, fk = S.fk | 0, mode = S.mode;
  let fr = mmu.fastRead[mode], fw = mmu.fastWrite[mode];
  let ic = 0, icMark = 0, res = ${EXEC_LIMIT};
  // The translation of the code page (virtual page base, (physical - virtual) >> 2): CPU state kept in the MMU.
  let fpage = mmu.fetchMode === mode ? mmu.fetchPage : -1, fdelta = mmu.fetchDelta;
  let w = 0, a = 0, x = 0, p = 0, t = 0;
  outer: for (;;) {
    exc: {
      for (;;) {
        if (ic >= limit) break outer;
        if ((pc & ${FETCH_MASK}) !== fpage) {
          if ((pc & 3) !== 0) { F.set(${VEC_ALIGNMENT}, 0, pc); break exc; }
          x = (pc >>> ${PAGE_SHIFT}) & ${FAST_MASK};
          if (fr[x] === (pc >>> ${PAGE_SHIFT})) p = tPhys[x];
          else { p = mmu.translate(pc, ${ACCESS_FETCH}, mode); if (p < 0) break exc; p = p & ${~PAGE_MASK}; }
          fpage = pc & ${~PAGE_MASK};
          fdelta = (p - fpage) >> 2;
        }
        w = mem32[(pc >>> 2) + fdelta];
        switch (w >>> 24) {
${cases}
          default: { F.set(${VEC_INVALID_OPCODE}, 0, 0); break exc; }
        }
      }
    }
    // An exception (in F): pc is the faulting instruction (faults) or the next one (traps, already counted).
    S.pc = pc; S.fa = fa; S.fb = fb; S.fk = fk;
    M.retire(ic - icMark, mode); icMark = ic;
    const go = M.raise(F.vector, F.code, F.addr);
    // Delivery may have changed the CPU state (a VMM stepping its virtual CPU stops right after it): reload.
    pc = S.pc; fa = S.fa; fb = S.fb; fk = S.fk; mode = S.mode;
    fpage = -1;
    if (!go) { res = ${EXEC_EVENT}; break outer; }
    fr = mmu.fastRead[mode]; fw = mmu.fastWrite[mode];
  }
  S.pc = pc; S.fa = fa; S.fb = fb; S.fk = fk;
  mmu.fetchPage = fpage; mmu.fetchDelta = fdelta; mmu.fetchMode = mode;
  M.retire(ic - icMark, mode);
  M.lastExecRetired = ic;
  return res;`;
}

const cache = new Map<IsaVariant, ExecFn>();

/** Compile an interpreter (not cached): for THE table use `interpreterFor`, which compiles it once. */
export function compileInterpreter(variant: IsaVariant, table: readonly InsnDef[] = INSTRUCTIONS): ExecFn {
  const factory = new Function('conditionFlags', 'systemOp', `return function exec(M, limit) {\n${interpreterSource(variant, table)}\n};`);
  return factory(conditionFlags, systemOp) as ExecFn;
}

/** The compiled interpreter for an ISA variant (generated once per process). */
export function interpreterFor(variant: IsaVariant): ExecFn {
  let fn = cache.get(variant);
  if (!fn) {
    fn = compileInterpreter(variant);
    cache.set(variant, fn);
  }
  return fn;
}
