/**
 * Conditional assembly: the stack of open `.if` blocks and which lines are assembled.
 *
 * The assembler decides conditions (it evaluates expressions); this module only keeps the state
 * machine: one branch of each `.if`/`.elif`/`.else` chain is taken, at most, and only when the
 * enclosing code is assembled.
 */
import { LineError } from './errors.js';
import type { LineContext } from './source.js';

/** An open `.if` block. */
export interface Conditional {
  /** 'if', 'ifdef' or 'ifndef'. */
  readonly directive: string;
  readonly ctx: LineContext;
  readonly col: number;
  /** The enclosing code is being assembled. */
  readonly parentActive: boolean;
  /** The current branch is being assembled. */
  active: boolean;
  /** A branch was taken already (or the condition failed): later branches are skipped. */
  taken: boolean;
  /** Line of the `.else`, 0 before it. */
  elseLine: number;
}

export class ConditionalStack {
  private readonly open: Conditional[] = [];

  get depth(): number {
    return this.open.length;
  }

  /** Are lines at this point assembled? */
  active(): boolean {
    const c = this.open[this.open.length - 1];
    return c === undefined || c.active;
  }

  /**
   * `.if`, `.ifdef`, `.ifndef`. `decide` is called only when the enclosing code is assembled; if it
   * throws, the block is still opened (so that its `.endif` matches) with every branch skipped.
   */
  begin(directive: string, ctx: LineContext, col: number, decide: () => boolean): void {
    const parentActive = this.active();
    const c: Conditional = { directive, ctx, col, parentActive, active: false, taken: true, elseLine: 0 };
    this.open.push(c);
    if (!parentActive) return;
    const value = decide();
    c.active = value;
    c.taken = value;
  }

  /** `.elif`: the innermost block opened above `base` (the current file or macro body). */
  elif(base: number, col: number, decide: () => boolean): void {
    const top = this.top(base, 'elif', col);
    if (top.elseLine) throw new LineError(col, `'.elif' after '.else' (line ${top.elseLine})`);
    top.active = false;
    if (!top.parentActive || top.taken) return;
    top.taken = true; // if the condition fails with an error, the rest of the chain is skipped
    const value = decide();
    top.active = value;
    top.taken = value;
  }

  /** `.else`. Returns the block (whose `parentActive` says whether the line is checked further). */
  else(base: number, col: number, line: number): Conditional {
    const top = this.top(base, 'else', col);
    if (top.elseLine) throw new LineError(col, `second '.else' for the same '.if' (the first is on line ${top.elseLine})`);
    top.elseLine = line;
    top.active = top.parentActive && !top.taken;
    top.taken = true;
    return top;
  }

  /** `.endif`. Returns the closed block. */
  end(base: number, col: number): Conditional {
    const top = this.top(base, 'endif', col);
    this.open.pop();
    return top;
  }

  /** Closes the blocks above `base` (end of a file or expansion) and returns them, innermost first. */
  closeAbove(base: number): Conditional[] {
    const closed = this.open.splice(base).reverse();
    return closed;
  }

  private top(base: number, dir: string, col: number): Conditional {
    const top = this.open.length > base ? this.open[this.open.length - 1] : undefined;
    if (!top) throw new LineError(col, `'.${dir}' without a matching '.if'`);
    return top;
  }
}
