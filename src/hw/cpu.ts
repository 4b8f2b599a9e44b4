/**
 * Architectural CPU state, and the condition-flag arithmetic shared by every code generator.
 *
 * Condition flags are kept lazily: `cmp a, b` only records its operands (fa = a, fb = b, fk = 0), because
 * almost every compare is consumed by the very next branch, which can then test `a < b` directly instead of
 * rebuilding SF/OF. FLAGS is materialized only when something reads it as a value (pushf, exception
 * delivery). When FLAGS is written as a value (popf, iret) the bits are stored explicitly (fa = bits, fk = 1).
 */
import {
  CR_PTBR,
  FLAG_CF,
  FLAG_IF,
  FLAG_OF,
  FLAG_SF,
  FLAG_ZF,
  FLAGS_CONDITION_MASK,
  IF_SHIFT,
  MODE_SUPERVISOR,
  NUM_CRS,
  NUM_REGS,
} from '../isa/arch.js';

/** Condition flags (CF, ZF, SF, OF) of the 32-bit subtraction a - b. */
export function flagsOfSub(a: number, b: number): number {
  const d = (a - b) | 0;
  return (
    (a === b ? FLAG_ZF : 0) |
    (d < 0 ? FLAG_SF : 0) |
    (a >>> 0 < b >>> 0 ? FLAG_CF : 0) |
    (((a ^ b) & (a ^ d)) < 0 ? FLAG_OF : 0)
  );
}

/** Condition flags from the lazy representation. */
export function conditionFlags(fa: number, fb: number, fk: number): number {
  return fk === 0 ? flagsOfSub(fa, fb) : fa & FLAGS_CONDITION_MASK;
}

/** What copyFrom needs: the architectural state of a CPU, whether a CpuState or plain data. */
export interface CpuSnapshot {
  readonly regs: ArrayLike<number>;
  readonly cr: ArrayLike<number>;
  readonly pc: number;
  readonly fa: number;
  readonly fb: number;
  readonly fk: number;
  readonly iflag: number;
  readonly mode: number;
}

export class CpuState {
  /** r0..r15; r15 is sp. */
  readonly regs = new Int32Array(NUM_REGS);
  pc = 0;
  /** Lazy condition flags: fk = 0 → flags of fa - fb; fk = 1 → fa holds explicit flag bits. */
  fa = 0;
  fb = 0;
  fk = 0;
  /** Interrupt-enable flag (FLAGS.IF), 0 or 1. */
  iflag = 0;
  /** 0 supervisor, 1 user. */
  mode: number = MODE_SUPERVISOR;
  /** Control registers by number (see arch.ts). */
  readonly cr = new Int32Array(NUM_CRS);

  /** The FLAGS register as a value. */
  flags(): number {
    return conditionFlags(this.fa, this.fb, this.fk) | (this.iflag << IF_SHIFT);
  }

  /** Write the condition flags from a FLAGS value; IF too when `withIF`. */
  setFlags(value: number, withIF: boolean): void {
    this.fa = value & FLAGS_CONDITION_MASK;
    this.fb = 0;
    this.fk = 1;
    if (withIF) this.iflag = (value & FLAG_IF) !== 0 ? 1 : 0;
  }

  reset(): void {
    this.regs.fill(0);
    this.cr.fill(0);
    this.pc = 0;
    this.fa = this.fb = this.fk = 0;
    this.iflag = 0;
    this.mode = MODE_SUPERVISOR;
  }

  /** Take every register of another CPU, or of a saved state of one (the classifier's generated states). */
  copyFrom(o: CpuSnapshot): void {
    this.regs.set(o.regs);
    this.cr.set(o.cr);
    this.pc = o.pc;
    this.fa = o.fa;
    this.fb = o.fb;
    this.fk = o.fk;
    this.iflag = o.iflag;
    this.mode = o.mode;
  }

  /** Page-directory base (physical, page aligned). */
  get ptbr(): number {
    return this.cr[CR_PTBR] & ~0xfff;
  }
}
