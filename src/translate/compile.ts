/**
 * The block compiler: the guest-ISA front end of the translator.
 *
 * A basic block of guest instructions becomes one JavaScript function, generated from the same instruction
 * table as the interpreter: each instruction's `exec` is called with an emitter whose fields are constants. The
 * emitter splices into the generated source ONLY integers it decoded (register numbers 0..15, immediates,
 * addresses) — checked by `int()`/`reg()` — and text from the instruction table itself, so no guest input can
 * make it generate anything else.
 *
 * Translated code runs on the physical machine P (registers, condition flags, memory through the shadow page
 * tables, deprivileged: physical user mode) while the guest's privileged state lives in the virtual CPU V. The
 * rewrite policy for sensitive instructions (binary translation of guest kernel code, VMware-style):
 *  - cli, sti, pushf, popf, rdmode act on the virtual CPU inline (no VMM entry): pushf pushes the *virtual*
 *    IF, popf writes it, rdmode returns the virtual mode;
 *  - reads and writes of the task-priority register call the machine's shared control-register code on V
 *    inline (Adams & Agesen emulate cr8 writes inside translated code);
 *  - every other system instruction (I/O, other control registers, invlpg, hlt, iret, vmcall) ends the block
 *    with a callout: the VMM emulates it on the virtual CPU.
 *
 * Blocks are the translator's unit — the model: what is translated, cached, chained and counted is a block
 * (strategies/dbt.ts). What runs is a *page function*: the translated blocks of one page compiled together into
 * one JavaScript function, the guest's registers and flags in locals, a `switch` over its blocks inside one
 * loop. A block exit to a successor in the same page that the model has linked (chained) continues inside the
 * function, with no return to the VMM — so a loop of translated kernel code runs as a JavaScript loop — and
 * every other exit leaves it. A page function returns an exit code (EXIT_*), leaving in D.n how many guest
 * instructions it retired, in D.last the block it left from, in D.chained how many chained transitions it made,
 * and in P.cpu.pc where the guest continues (for a fault or callout: the instruction that caused it).
 */
import { CR_TPR, PAGE_MASK, SP, VEC_INVALID_OPCODE } from '../isa/arch.js';
import { insnByOpcode, type Cond, type Emit, type InsnDef, type RegField, type SystemOp } from '../isa/table.js';
import { conditionFlags } from '../hw/cpu.js';
import { CompiledEmit, hexName, spliceInt } from '../hw/emit-shared.js';
import { condExpr } from '../hw/interp.js';
import type { Machine } from '../hw/machine.js';

export const EXIT_TAKEN = 0;
export const EXIT_FALLTHROUGH = 1;
export const EXIT_DYNAMIC = 2;
export const EXIT_FAULT = 3;
export const EXIT_TRAP = 4;
export const EXIT_CALLOUT = 5;
/** An instruction enabled interrupts (sti, popf, a TPR write) with one pending: the VMM should inject. */
export const EXIT_IRQ = 6;
/** A store hit a frame holding translated code: the rest of this block may be stale. */
export const EXIT_SMC = 7;
/** The next block does not fit in the instructions left before the next device event. */
export const EXIT_LIMIT = 8;

export const EXIT_NAMES = ['taken', 'fallthrough', 'dynamic', 'fault', 'trap', 'callout', 'irq', 'smc', 'limit'] as const;

/** Scratch shared between the VMM and its translated code. */
export interface BlockContext {
  /** Guest instructions the last run retired. */
  n: number;
  /** Set by the VMM when a store invalidated translated code. */
  smc: boolean;
  /** Sensitive instructions emulated inline (a counter). */
  inline: number;
  /** The page function's block the last run left from (its index). */
  last: number;
  /** Chained transitions made inside the last run. */
  chained: number;
}

/** One block run on its own (tests, tools): the block, then back to the caller at its first exit. */
export type BlockFn = (P: Machine, V: Machine, D: BlockContext) => number;

/**
 * A page function: starting at block `start`, run blocks until an exit leaves the function or the next block
 * does not fit in `lim` instructions. `LK[2 * i + e]` is `G` when exit e (taken 0, fall-through 1) of block i is
 * linked to its successor in this page (the model's chaining; 0 or a stale generation otherwise).
 */
export type PageFn = (P: Machine, V: Machine, D: BlockContext, start: number, lim: number, LK: Int32Array, G: number) => number;

export interface CompiledBlock {
  fn: BlockFn;
  source: string;
  length: number;
}

/** The longest block (VMware's translation units hold at most 12, QEMU's 512). */
export const MAX_BLOCK_LENGTH = 32;

/** A decoded integer spliced into generated code: it must be a safe integer. */
function int(n: number): string {
  return spliceInt(n, 'block compiler');
}

function reg(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 15) throw new Error(`block compiler: bad register ${String(n)}`);
  return `r${n}`;
}


/** How many leading words form one block: stop after a block-ending instruction, at a page end, or at the cap. */
export function blockLength(words: readonly number[], va: number): number {
  let n = 0;
  while (n < words.length && n < MAX_BLOCK_LENGTH) {
    const def = insnByOpcode(words[n] >>> 24);
    n++;
    if (!def || def.endsBlock || def.traps || ((va + 4 * n) & PAGE_MASK) === 0) break;
  }
  return n;
}

/** Leave the page function: `retired` instructions of the current block retired, the guest continues at `pc`. */
function leave(code: number, pc: string, retired: number): string {
  return `{ n += ${int(retired)}; pc = ${pc}; code = ${int(code)}; break run; }`;
}

/**
 * A continuation at a constant address (a direct jump, a branch, falling through). Written as a marker that
 * the page assembler resolves once it knows which blocks the page holds: \u0001code,va,retired\u0001.
 */
function goTo(code: number, va: number, retired: number): string {
  return `\u0001${int(code)},${int(va)},${int(retired)}\u0001`;
}

/** Emits one instruction of a block: fields are constants of this instruction word. */
class BlockEmit extends CompiledEmit implements Emit {
  protected readonly compiler = 'block compiler';
  /** Translated kernel code runs in physical user mode: its memory accesses are checked as user accesses. */
  protected readonly accessMode = '1';
  /** pushf in translated guest-kernel code pushes the VIRTUAL interrupt flag. */
  protected readonly iflag = 'V.cpu.iflag';

  protected faultExit(): string {
    return leave(EXIT_FAULT, int(this.va), this.k);
  }
  protected stackPointer(): string {
    return reg(SP);
  }

  r(f: RegField): string {
    return reg(this.field(f));
  }
  set(f: RegField, expr: string): string {
    return `${reg(this.field(f))} = ${expr};`;
  }
  /** After a store that may have hit translated code, leave instead of continuing: the page may be stale. */
  private smcGuard(pc: string): string {
    return this.stores ? `if (q !== 0) { q = 0; if (D.smc) ${leave(EXIT_SMC, pc, this.k + 1)} } ` : '';
  }
  jump(expr: string): string {
    this.endsControl = true;
    if (expr === this.target) return `${this.smcGuard(expr)}${goTo(EXIT_TAKEN, Number(expr), this.k + 1)}`;
    // An indirect jump: compute the target before anything else.
    return `t = ${expr}; ${leave(EXIT_DYNAMIC, 't', this.k + 1)}`;
  }
  branch(c: Cond): string {
    this.endsControl = true;
    return `if (${condExpr(c)}) { ${goTo(EXIT_TAKEN, Number(this.target), this.k + 1)} } ${goTo(EXIT_FALLTHROUGH, (this.va + 4) | 0, this.k + 1)}`;
  }
  /** Translated code is guest-kernel code: the virtual mode is supervisor. */
  readonly mode = '0';
  setIF(expr: string, shadow = false): string {
    if (expr === '0') return 'V.cpu.iflag = 0;';
    const irq = `if (V.cpu.iflag !== 0 && V.irqPending !== 0) ${leave(EXIT_IRQ, this.next, this.k + 1)}`;
    if (shadow) {
      // The virtual clock has not counted this run yet (n instructions before this block, k in it): the shadow
      // ends after the next instruction.
      return `if (V.cpu.iflag === 0) { V.cpu.iflag = 1; V.shadowEnd = V.clock + n + ${int(this.k + 2)}; } ${irq}`;
    }
    return `V.cpu.iflag = (${expr}) & 1; ${irq}`;
  }
  audit(): string {
    return ''; // translated code never runs in (virtual) user mode
  }
  trap(vector: number): string {
    this.endsControl = true;
    return `F.set(${int(vector)}, 0, 0); ${leave(EXIT_TRAP, this.next, this.k + 1)}`;
  }
  system(op: SystemOp): string {
    this.endsControl = true;
    // The task-priority register is emulated inline, through the machine's own control-register code.
    if (op === 'mtcr' && this.field('rd') === CR_TPR) {
      return `if (V.writeCr(${CR_TPR}, ${this.r('rs')})) ${leave(EXIT_IRQ, this.next, this.k + 1)} ${goTo(EXIT_FALLTHROUGH, (this.va + 4) | 0, this.k + 1)}`;
    }
    if (op === 'mfcr' && this.field('rs') === CR_TPR) {
      return `${this.set('rd', `V.readCr(${CR_TPR})`)} ${goTo(EXIT_FALLTHROUGH, (this.va + 4) | 0, this.k + 1)}`;
    }
    // Everything else: leave the block before the instruction; the VMM emulates it (a callout).
    return leave(EXIT_CALLOUT, int(this.va), this.k);
  }
}

/** Is this instruction emulated inline on the virtual CPU (counted as an inline emulation)? */
export function isInlineSensitive(def: InsnDef, word: number): boolean {
  if (!def.sensitive || def.traps) return false;
  if (def.name === 'mtcr') return ((word >>> 20) & 15) === CR_TPR;
  if (def.name === 'mfcr') return ((word >>> 16) & 15) === CR_TPR;
  return def.privileged !== 'always' || def.name === 'cli' || def.name === 'sti';
}

/** One translated block, as the page assembler needs it. */
export interface PageBlock {
  readonly va: number;
  /** Its instruction words (already cut with blockLength). */
  readonly words: readonly number[];
  /** Addresses translated as callouts (adaptive translation), as when the block was translated. */
  readonly calloutAt?: ReadonlySet<number>;
}

/**
 * The code of one block, with continuations still as markers. Instructions at `calloutAt` addresses are not
 * translated: the block ends with a callout before them (adaptive translation of stores that keep hitting
 * traced page tables, Adams & Agesen).
 */
function blockCode(b: PageBlock): string {
  // Every VMM translates the kernel afresh (translation is what the model counts), so the same blocks come back
  // run after run: generating a block's code is pure, and the text is kept per block.
  const key = blockKey(b);
  let code = blockCodes.get(key);
  if (code === undefined) {
    code = generateBlockCode(b);
    if (blockCodes.size >= MAX_SHARED) blockCodes.clear();
    blockCodes.set(key, code);
  }
  return code;
}

/** Everything a block's code depends on: where it is, its words, and where it calls out. */
function blockKey(b: PageBlock): string {
  return `${b.va}:${b.words.join(',')}:${b.calloutAt && b.calloutAt.size > 0 ? [...b.calloutAt].sort((x, y) => x - y).join(',') : ''}`;
}

/** Generated block code by block (blockCode). */
const blockCodes = new Map<string, string>();

function generateBlockCode(b: PageBlock): string {
  const { words, va, calloutAt } = b;
  const parts = [`if (n + ${int(words.length)} > lim) { pc = ${int(va)}; code = ${int(EXIT_LIMIT)}; break run; }`];
  let ended = false;
  words.forEach((w, k) => {
    if (ended) return;
    const at = (va + 4 * k) | 0;
    if (calloutAt?.has(at)) {
      parts.push(`/* ${int(at)}: callout */ ${leave(EXIT_CALLOUT, int(at), k)}`);
      ended = true;
      return;
    }
    const def = insnByOpcode(w >>> 24);
    if (!def) {
      parts.push(`/* ${int(at)}: undefined */ F.set(${VEC_INVALID_OPCODE}, 0, 0); ${leave(EXIT_FAULT, int(at), k)}`);
      ended = true;
      return;
    }
    const e = new BlockEmit(def, w, at, k);
    const inline = isInlineSensitive(def, w) ? 'D.inline++; ' : '';
    let code = `/* ${int(at)}: ${def.name} */ ${inline}${def.exec(e)}`;
    if (e.stores && !e.endsControl) {
      // A store that went the slow way may have hit translated code: then stop after this instruction.
      code += ` if (q !== 0) { q = 0; if (D.smc) ${leave(EXIT_SMC, int((at + 4) | 0), k + 1)} }`;
    }
    parts.push(code);
    if (e.endsControl) ended = true;
  });
  if (!ended) parts.push(goTo(EXIT_FALLTHROUGH, (va + 4 * words.length) | 0, words.length));
  return parts.join('\n');
}

/**
 * The source of a page function holding `blocks` (translated blocks of one page). A continuation to a block of
 * the page, on an exit the model has linked, stays in the function (counted in D.chained); any other leaves it.
 */
export function pageSource(blocks: readonly PageBlock[]): string {
  const index = new Map(blocks.map((b, i) => [b.va, i]));
  const cases = blocks.map((b, i) => {
    const code = blockCode(b).replace(/\u0001(\d+),(-?\d+),(\d+)\u0001/g, (_m, c: string, v: string, r: string) => {
      const exit = Number(c);
      const to = index.get(Number(v));
      // (Only with instructions left: the VMM chains to a block only when it goes on running.)
      const stay = to === undefined ? '' : `if (LK[${int(2 * i + exit)}] === G && n < lim) { D.chained++; b = ${int(to)}; continue run; } `;
      return `{ n += ${int(Number(r))}; ${stay}pc = ${int(Number(v))}; code = ${int(exit)}; break run; }`;
    });
    return `case ${int(i)}: { cur = ${int(i)};\n${code}\n}`;
  });
  return [
    '"use strict";',
    'const S = P.cpu, R = S.regs, F = P.fault, mmu = P.mmu, mem32 = P.mem.i32, mem8 = P.mem.u8, tPhys = mmu.phys;',
    'const fr = mmu.fastRead[1], fw = mmu.fastWrite[1];',
    'let r0 = R[0], r1 = R[1], r2 = R[2], r3 = R[3], r4 = R[4], r5 = R[5], r6 = R[6], r7 = R[7], r8 = R[8], r9 = R[9], r10 = R[10], r11 = R[11], r12 = R[12], r13 = R[13], r14 = R[14], r15 = R[15];',
    'let fa = S.fa, fb = S.fb, fk = S.fk, a = 0, x = 0, p = 0, t = 0, q = 0;',
    'let n = 0, b = start, cur = start, pc = 0, code = 0;',
    'run: for (;;) { switch (b) {',
    ...cases,
    '} }',
    'R[0] = r0; R[1] = r1; R[2] = r2; R[3] = r3; R[4] = r4; R[5] = r5; R[6] = r6; R[7] = r7; R[8] = r8; R[9] = r9; R[10] = r10; R[11] = r11; R[12] = r12; R[13] = r13; R[14] = r14; R[15] = r15;',
    'S.fa = fa; S.fb = fb; S.fk = fk; S.pc = pc; D.n = n; D.last = cur;',
    'return code;',
  ].join('\n');
}

/**
 * Page functions by their blocks (a page function's source is a function of its blocks' keys, in order), shared
 * by every VMM of the process (V8 keeps what it learned about them). Keyed by the blocks rather than the source:
 * a VMM asks for its page functions afresh on every run, and the source is ten times longer than the key.
 */
const shared = new Map<string, { fn: PageFn; source: string }>();
const MAX_SHARED = 20_000;

export function compilePage(blocks: readonly PageBlock[]): { fn: PageFn; source: string } {
  const key = blocks.map(blockKey).join('|');
  let page = shared.get(key);
  if (page === undefined) {
    const source = pageSource(blocks);
    // Named after its first block's guest address (a validated integer), for CPU profiles and --trace-opt.
    const factory = new Function('conditionFlags', `return function page_${hexName(blocks[0].va, 'block compiler')}(P, V, D, start, lim, LK, G) {\n${source}\n};`);
    page = { fn: factory(conditionFlags) as PageFn, source };
    if (shared.size >= MAX_SHARED) shared.clear();
    shared.set(key, page);
  }
  return page;
}

/** The source of one block compiled on its own (a page function of one block, no links): for tests and tools. */
export function blockSource(words: readonly number[], va: number, calloutAt?: ReadonlySet<number>): string {
  return pageSource([{ va, words, calloutAt }]);
}

const NO_LINKS = new Int32Array(2);

/** One block compiled on its own: runs the block and returns its exit code (D.n: instructions retired). */
export function compileBlock(words: readonly number[], va: number, calloutAt?: ReadonlySet<number>): CompiledBlock {
  const page = compilePage([{ va, words, calloutAt }]);
  const fn: BlockFn = (P, V, D) => page.fn(P, V, D, 0, Infinity, NO_LINKS, 1);
  return { fn, source: page.source, length: words.length };
}
