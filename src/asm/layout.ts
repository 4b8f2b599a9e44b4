/**
 * Pass-1 layout: the location counter and the statements placed so far, with the output-size limit.
 */
import { LineError } from './errors.js';
import type { Stmt, StmtBody } from './emit.js';
import type { LineContext } from './source.js';

/** Largest image (and highest address) the assembler produces. */
export const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

export class Layout {
  /** The location counter: address of the next statement. */
  address = 0;
  readonly stmts: Stmt[] = [];

  /** Reserves `size` bytes at the location counter and returns their address. */
  reserve(size: number, col: number, what: string): number {
    const at = this.address;
    if (size < 0 || at + size > MAX_OUTPUT_BYTES) {
      throw new LineError(col, `${what} at ${hex(at)} would go beyond the ${MAX_OUTPUT_BYTES >> 20} MiB output limit`);
    }
    this.address = at + size;
    return at;
  }

  /** Records a statement for pass 2. */
  place(ctx: LineContext, address: number, size: number, body: StmtBody): void {
    this.stmts.push({ ctx, address, size, body });
  }

  /** Reserves and records `size` bytes (nothing is recorded for size 0). */
  emit(ctx: LineContext, size: number, col: number, what: string, body: StmtBody): void {
    const at = this.reserve(size, col, what);
    if (size > 0) this.place(ctx, at, size, body);
  }

  /** `.org`: moves the location counter forward to `target` (`col`: the operand, for errors). */
  moveTo(target: number, col: number): void {
    if (target < 0 || target > MAX_OUTPUT_BYTES) {
      throw new LineError(col, `.org address ${hex(target)} is outside the ${MAX_OUTPUT_BYTES >> 20} MiB output (0..${hex(MAX_OUTPUT_BYTES)})`);
    }
    if (target < this.address) {
      throw new LineError(col, `.org ${hex(target)} would move backwards (the current address is ${hex(this.address)})`);
    }
    this.address = target;
  }

  /** `.align n`: pads with zero bytes to a multiple of `n` (`col`: the operand, for errors). */
  align(n: number, ctx: LineContext, col: number, headCol: number): void {
    if (n <= 0 || (n & (n - 1)) !== 0) throw new LineError(col, `alignment must be a power of two, found ${n}`);
    const pad = (n - (this.address % n)) % n;
    this.emit(ctx, pad, headCol, `.align ${n}`, { kind: 'fill', value: 0 });
  }
}
