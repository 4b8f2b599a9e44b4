/**
 * The region compiler: guest code of one page compiled into one JavaScript function.
 *
 * A region starts at one guest address and holds every basic block reachable from there by direct jumps,
 * branches and fall-through without leaving the page (up to MAX_REGION_BLOCKS). Its function keeps the guest's
 * registers, condition flags and instruction count in JavaScript locals, dispatches between its blocks with a
 * `switch` inside one loop — so a guest loop runs as a JavaScript loop, with no call and no lookup per
 * iteration — and writes everything back once, when control leaves the region. That shape, not the code of the
 * individual instructions, is what makes compiled guest code fast in V8 (docs/engines.md, "speed").
 *
 * Every instruction is generated from the instruction table by calling its `exec` with an emitter whose fields
 * are constants (as in src/translate/compile.ts): one definition of what an instruction does, three ways to run
 * it. The emitter splices into the source only integers it decoded — checked by `int()` — and text from the
 * table, so guest input can never make it generate anything else.
 *
 * The policy here is *direct execution*: the region computes exactly what the interpreter would — privilege
 * checks, the counts of sensitive instructions, the fidelity oracle's hook, re-planning when an instruction
 * unmasks a pending interrupt — and leaves to the interpreter only the instructions that trap, go through a
 * system operation (I/O, control registers, hlt, iret, invlpg) or open an interrupt shadow (sti): the region
 * ends before them. So a compiled region is an implementation detail of the hardware model: retired counts,
 * faults, TLB traffic and the exact instruction at which a timer interrupt arrives are the interpreter's
 * (test/hw/compiled.test.ts).
 *
 * Contract of a region function `fn(M, X, lim, start)`: begins at entry `start` (CompiledRegion.entries), runs
 * at most `lim` guest instructions on M (never a block that would not fit: it returns R_LIMIT first), leaves the
 * CPU state written back in M.cpu (pc where the guest continues), the number of instructions it retired in X.n
 * (the caller accounts them with M.retire), and returns an R_* code.
 */
import { PAGE_MASK, SP, VEC_PRIVILEGE, type IsaVariant } from '../isa/arch.js';
import { immOf } from '../isa/encoding.js';
import { insnByOpcode, isPrivileged, type Cond, type Emit, type InsnDef, type RegField } from '../isa/table.js';
import { conditionFlags } from '../hw/cpu.js';
import { CompiledEmit, hexName, spliceInt } from '../hw/emit-shared.js';
import { condExpr } from '../hw/interp.js';
import type { Machine } from '../hw/machine.js';

/** Control left the region; the guest continues at cpu.pc. */
export const R_EXIT = 0;
/** The next block does not fit in the instructions left: interpret the rest. */
export const R_LIMIT = 1;
/** The instruction at cpu.pc must run in the interpreter (privileged, sensitive, a trap, a system operation). */
export const R_INTERP = 2;
/** An instruction faulted (the exception is in M.fault; cpu.pc is the faulting instruction). */
export const R_FAULT = 3;
/** A store went to a frame holding compiled code: the region may be stale (cpu.pc: the next instruction). */
export const R_SMC = 4;
/** An instruction set IF with an interrupt pending: the run loop must look (cpu.pc: the next instruction). */
export const R_REPLAN = 5;

/** Scratch shared by the executor and its regions. */
export interface RegionContext {
  /** Instructions the last region run retired. */
  n: number;
  /** Set when a store invalidated compiled code. */
  smc: boolean;
}

/** `start`: which of the region's entries to begin at (CompiledRegion.entries). */
export type RegionFn = (M: Machine, X: RegionContext, lim: number, start: number) => number;

/** A guest address a region can be entered at, and the `start` argument that enters it there. */
export interface RegionEntry {
  readonly va: number;
  readonly start: number;
}

export interface CompiledRegion {
  readonly fn: RegionFn;
  readonly source: string;
  /** Guest virtual address of the entry it was planned from, and the number of blocks and instructions compiled. */
  readonly va: number;
  /**
   * Where it can be entered: the planned entry (start 0) and every other block that begins a `case` of its
   * dispatch — each head of a loop. Blocks generated inline (one path reaches them) are not entries.
   */
  readonly entries: readonly RegionEntry[];
  /** The guest code it holds: each block's address and its number of instructions. */
  readonly spans: readonly { readonly va: number; readonly length: number }[];
  readonly blocks: number;
  readonly instructions: number;
  /** Just compiled (not found in the process-wide cache). */
  readonly fresh: boolean;
}

/** The most blocks one region holds (a page holds at most 1,024 instructions). */
export const MAX_REGION_BLOCKS = 64;
/** The longest block: a straight line of more instructions is cut (the next block follows at once). */
const MAX_BLOCK = 128;
/**
 * The most instructions one instruction-limit check covers. A check at the head of a `case` covers the blocks
 * generated inline after it (along the longest path); near the limit the region then stops a little early and
 * the interpreter runs the rest exactly, so a longer cover costs nothing in fidelity, only interpreted steps.
 */
const MAX_COVER = 256;
/** The longest block copied into another `case` instead of dispatched to (RegionGen.copyable). */
const MAX_COPIED = 8;

function int(n: number): string {
  return spliceInt(n, 'region compiler');
}


/** What an instruction's semantics do, found by running its `exec` with a recording emitter. */
interface Shape {
  /** Transfers control (jump or branch), and conditionally (branch). */
  readonly control: boolean;
  readonly conditional: boolean;
  /** Goes through a system operation, or sets IF with an interrupt shadow (sti). */
  readonly system: boolean;
  readonly shadow: boolean;
  /** Pushes a value: with control, a call (its return point is where a `ret` comes back to). */
  readonly pushes: boolean;
}

const shapes = new Map<number, Shape>();

function shapeOf(def: InsnDef): Shape {
  let shape = shapes.get(def.opcode);
  if (shape === undefined) {
    const seen = { control: false, conditional: false, system: false, shadow: false, pushes: false };
    const probe = new Proxy({} as Emit, {
      get(_t, prop) {
        if (prop === 'imm' || prop === 'next' || prop === 'target' || prop === 'mode') return '0';
        return (...args: unknown[]) => {
          if (prop === 'jump') seen.control = true;
          if (prop === 'branch') seen.control = seen.conditional = true;
          if (prop === 'system') seen.system = true;
          if (prop === 'push') seen.pushes = true;
          if (prop === 'setIF' && args[1] === true) seen.shadow = true;
          return '';
        };
      },
    });
    def.exec(probe);
    shape = seen;
    shapes.set(def.opcode, shape);
  }
  return shape;
}

/** Can the direct-execution policy compile this instruction, or must the interpreter run it? */
export function directCompilable(def: InsnDef): boolean {
  const s = shapeOf(def);
  return !def.traps && !s.system && !s.shadow;
}

/** Thrown by emitter operations the direct policy never compiles (they would be a bug in directCompilable). */
function notCompiled(what: string): never {
  throw new Error(`region compiler: ${what} is left to the interpreter`);
}

interface BlockPlan {
  readonly va: number;
  /** Instruction words of the block (compilable instructions only). */
  readonly words: number[];
  /** What follows the last word when it does not end control flow: the next block, or the interpreter. */
  readonly next: 'block' | 'interp' | 'page-end';
  /** Guest addresses control may continue at directly, inside the page. */
  readonly successors: readonly number[];
}

/** Emits one instruction of a region: fields are constants of its word. */
class RegionEmit extends CompiledEmit implements Emit {
  /** The instruction may set IF: after it, re-plan if an interrupt is pending. */
  setsIF = false;
  protected readonly compiler = 'region compiler';
  protected readonly accessMode = 'mode';
  protected readonly iflag = 'S.iflag';

  constructor(
    private readonly g: RegionGen,
    def: InsnDef,
    word: number,
    va: number,
    k: number,
  ) {
    super(def, word, va, k);
  }

  r(f: RegField): string {
    return this.g.use(this.field(f), false);
  }
  set(f: RegField, expr: string): string {
    return `${this.g.use(this.field(f), true)} = ${expr};`;
  }
  /**
   * Continue at a constant guest address: inside the region if it is one of its blocks, else leave. After a
   * store (call pushes its return address) that may have hit compiled code, leave instead: the region may be
   * stale.
   */
  private goTo(va: number, retired: number): string {
    const smc = this.stores ? `if (q !== 0) { q = 0; if (X.smc) { ${this.g.leave('R_SMC', int(va), retired)} } } ` : '';
    return `${smc}${this.g.goTo(va, retired)}`;
  }
  jump(expr: string): string {
    this.endsControl = true;
    if (expr === this.target) return this.goTo(Number(expr), this.k + 1);
    // A computed target (a `ret`): back into the region if it is one of its return points, else leave.
    const smc = this.stores ? `if (q !== 0) { q = 0; if (X.smc) { ${this.g.leave('R_SMC', 't', this.k + 1)} } } ` : '';
    const back = this.g.returnDispatch('t', this.k + 1);
    return `t = ${expr}; ${back === '' ? '' : smc + back}${this.g.leave('R_EXIT', 't', this.k + 1)}`;
  }
  branch(c: Cond): string {
    this.endsControl = true;
    return `if (${condExpr(c)}) { ${this.goTo(Number(this.target), this.k + 1)} } ${this.goTo((this.va + 4) | 0, this.k + 1)}`;
  }
  readonly mode = 'mode';
  setIF(expr: string, shadow = false): string {
    if (shadow) return notCompiled('an interrupt shadow');
    if (expr === '0') return 'S.iflag = 0;';
    this.setsIF = true;
    return `S.iflag = (${expr}) & 1;`;
  }
  audit(detail: string): string {
    // The fidelity oracle's hook, with the instructions retired before this one that are not yet accounted.
    return `M.audit(${int(this.va)}, ${int(this.def.opcode)}, ${detail}, n + ${int(this.k)});`;
  }
  protected faultExit(): string {
    return `{ ${this.g.leave('R_FAULT', int(this.va), this.k)} }`;
  }
  protected stackPointer(): string {
    return this.g.use(SP, true);
  }
  trap(): string {
    return notCompiled('a trap');
  }
  system(): string {
    return notCompiled('a system operation');
  }
}

/** Source generation for one region. */
class RegionGen {
  private readonly read = new Set<number>();
  private readonly written = new Set<number>();
  /** Block index by guest address. */
  readonly index = new Map<number, number>();
  /** How many ways control reaches each block (the entry counts one more). */
  private readonly preds: number[];
  /** While generating a `case`: its head block, and the blocks being emitted inline in it. */
  private head = 0;
  private readonly inline = new Set<number>();
  /** Instructions each block's limit check covers (itself and the blocks inline after it), when it has one. */
  private readonly cover: number[];
  /** Blocks generated inline that still need a check of their own (the cover above them would be too long). */
  private readonly checked = new Set<number>();
  /** Generating a copy of a block (goTo). */
  private copying = false;
  /** Blocks that are the return point of a call in the region. */
  private readonly returnPoints: number[];

  constructor(
    readonly plans: readonly BlockPlan[],
    private readonly variant: IsaVariant,
  ) {
    plans.forEach((b, i) => this.index.set(b.va, i));
    this.preds = plans.map((_, i) => (i === 0 ? 1 : 0));
    for (const b of plans) for (const s of b.successors) {
      const i = this.index.get(s);
      if (i !== undefined) this.preds[i]++;
    }
    this.returnPoints = [];
    for (const b of plans) {
      const last = insnByOpcode(b.words[b.words.length - 1] >>> 24);
      const shape = last ? shapeOf(last) : null;
      const i = this.index.get((b.va + 4 * b.words.length) | 0);
      if (shape?.control && shape.pushes && i !== undefined && this.entry(i) && !this.returnPoints.includes(i)) this.returnPoints.push(i);
    }
    this.cover = plans.map(() => -1);
    plans.forEach((_, i) => {
      if (this.entry(i)) this.coverOf(i);
    });
  }

  /** A block of a few instructions whose successors all have cases of their own (so a copy of it stays small). */
  private copyable(i: number): boolean {
    const plan = this.plans[i];
    return plan.words.length <= MAX_COPIED && plan.successors.every((va) => {
      const s = this.index.get(va);
      return s === undefined || this.entry(s);
    });
  }

  /** Does block i get a `case` of its own (more than one path reaches it, or it is the region's entry)? */
  private entry(i: number): boolean {
    return i === 0 || this.preds[i] !== 1;
  }

  /** The instructions block i's check covers: it, then the longest chain of blocks generated inline after it. */
  private coverOf(i: number): number {
    if (this.cover[i] >= 0) return this.cover[i];
    const len = this.plans[i].words.length;
    let most = 0;
    for (const va of new Set(this.plans[i].successors)) {
      const s = this.index.get(va);
      if (s === undefined || this.entry(s)) continue;
      const c = this.coverOf(s);
      if (len + c <= MAX_COVER) most = Math.max(most, c);
      else this.checked.add(s);
    }
    return (this.cover[i] = len + most);
  }

  /**
   * Continue at the computed address in `target` if it is the return point of a call in the region (a block of
   * its own, see planRegion): a `ret` then stays in compiled code. Empty when the region has none.
   */
  returnDispatch(target: string, retired: number): string {
    const cases = this.returnPoints.map((i) => `case ${int(this.plans[i].va)}: n += ${int(retired)}; b = ${int(i)}; continue run;`);
    return cases.length === 0 ? '' : `switch (${target}) { ${cases.join(' ')} } `;
  }

  /** The local holding register n (marked as read, or written). */
  use(n: number, write: boolean): string {
    if (!Number.isInteger(n) || n < 0 || n > 15) throw new Error(`region compiler: bad register ${String(n)}`);
    (write ? this.written : this.read).add(n);
    return `r${n}`;
  }

  /** Leave the region: `retired` instructions of the current block retired, the guest continues at `pc`. */
  leave(code: string, pc: string, retired: number): string {
    return `n += ${int(retired)}; pc = ${pc}; code = ${code}; break run;`;
  }

  /**
   * Continue at guest address va: the block that starts there, or leave the region. Back to the head of the
   * `case` being generated, that is a `continue` of its own loop; a block only this path reaches is generated
   * right here, inline. So a guest loop becomes a JavaScript loop with no dispatch at all.
   */
  goTo(va: number, retired: number): string {
    const i = this.index.get(va);
    if (i === undefined) return this.leave('R_EXIT', int(va), retired);
    const count = `n += ${int(retired)};`;
    if (i === this.head) return `${count} continue L${int(i)};`;
    if (this.preds[i] === 1 && !this.inline.has(i)) {
      this.inline.add(i);
      const body = this.block(this.plans[i], i);
      this.inline.delete(i);
      return `${count}\n${body}`;
    }
    // (Every block only one path reaches is generated on that path: it must not be dispatched to.)
    if (this.preds[i] === 1 && i !== 0) throw new Error('region compiler: a single-entry block reached twice');
    // A short block that only leads to other cases is copied here rather than dispatched to: a loop entered
    // in its middle (the region's entry) then still runs as one JavaScript loop in the case of its head.
    if (!this.copying && this.copyable(i) && !this.inline.has(i)) {
      this.copying = true; // (one level: a copy dispatches, so copies never multiply)
      const body = this.block(this.plans[i], i);
      this.copying = false;
      return `${count}\n${body}`;
    }
    return `${count} b = ${int(i)}; continue run;`;
  }

  /** The blocks that get a `case` (and can be entered): the entry, and every block more than one path reaches. */
  entries(): RegionEntry[] {
    return this.plans.flatMap((plan, i) => (this.entry(i) ? [{ va: plan.va, start: i }] : []));
  }

  source(): string {
    // A case for each entry; the other blocks are generated inline.
    const cases: string[] = [];
    this.plans.forEach((plan, i) => {
      if (!this.entry(i)) return;
      this.head = i;
      this.inline.add(i);
      cases.push(`      case ${int(i)}: L${int(i)}: for (;;) {\n${this.block(plan, i)}\n      }`);
      this.inline.delete(i);
    });
    const regs = [...new Set([...this.read, ...this.written])].sort((a, b) => a - b);
    return [
      '"use strict";',
      'const S = M.cpu, R = S.regs, F = M.fault, mmu = M.mmu, mem32 = M.mem.i32, mem8 = M.mem.u8, tPhys = mmu.phys;',
      'const mode = S.mode, fr = mmu.fastRead[mode], fw = mmu.fastWrite[mode], SC = M.sensitiveCounts;',
      regs.length ? `let ${regs.map((r) => `r${r} = R[${r}]`).join(', ')};` : '',
      'let fa = S.fa, fb = S.fb, fk = S.fk, a = 0, x = 0, p = 0, t = 0, q = 0;',
      'let n = 0, b = start, pc = 0, code = R_EXIT;',
      'run: for (;;) {',
      '  switch (b) {',
      ...cases,
      '  }',
      '}',
      ...[...this.written].sort((a, b) => a - b).map((r) => `R[${r}] = r${r};`),
      'S.fa = fa; S.fb = fb; S.fk = fk; S.pc = pc; X.n = n;',
      'return code;',
    ].join('\n');
  }

  private block(plan: BlockPlan, i: number): string {
    const len = plan.words.length;
    const out: string[] = [];
    if (this.entry(i) || this.checked.has(i)) out.push(`        if (n + ${int(this.cover[i])} > lim) { pc = ${int(plan.va)}; code = R_LIMIT; break run; }`);
    let ended = false;
    plan.words.forEach((w, k) => {
      const def = insnByOpcode(w >>> 24);
      if (!def) throw new Error('region compiler: planned an undefined instruction');
      const at = (plan.va + 4 * k) | 0;
      const e = new RegionEmit(this, def, w, at, k);
      // As the interpreter: the privilege check, then the count of a sensitive instruction the CPU executed.
      const priv = isPrivileged(def, this.variant)
        ? `if (mode !== 0) { F.set(${int(VEC_PRIVILEGE)}, 0, 0); ${this.leave('R_FAULT', int(at), k)} } `
        : '';
      const counted = def.sensitive ? `SC[${int(def.opcode)}]++; ` : '';
      let code = `/* ${int(at)}: ${def.name} */ ${priv}${counted}${def.exec(e)}`;
      // A store that went the slow way may have hit compiled code: then stop right after it.
      if (e.stores && !e.endsControl) code += ` if (q !== 0) { q = 0; if (X.smc) { ${this.leave('R_SMC', int((at + 4) | 0), k + 1)} } }`;
      // Interrupts just unmasked with one pending: the run loop delivers it before the next instruction.
      if (e.setsIF) code += ` if (S.iflag !== 0 && M.irqPending !== 0) { ${this.leave('R_REPLAN', int((at + 4) | 0), k + 1)} }`;
      out.push(`        ${code}`);
      if (e.endsControl) ended = true;
    });
    if (!ended) {
      const end = (plan.va + 4 * len) | 0;
      if (plan.next === 'interp') out.push(`        ${this.leave('R_INTERP', int(end), len)}`);
      else out.push(`        ${this.goTo(end, len)}`);
    }
    return out.join('\n');
  }
}

/**
 * Plan the region that starts at guest address `va`: its blocks, reached from the entry within the page.
 * `word(va)` reads the instruction word at a guest address of the same page. Returns no blocks if the entry
 * instruction itself is one the interpreter must run.
 */
export function planRegion(va: number, word: (va: number) => number): BlockPlan[] {
  const page = va & ~PAGE_MASK;
  const inPage = (a: number): boolean => (a & ~PAGE_MASK) === page;
  const plans: BlockPlan[] = [];
  const seen = new Set<number>();
  const work = [va];
  while (work.length > 0 && plans.length < MAX_REGION_BLOCKS) {
    const start = work.shift()!;
    if (seen.has(start)) continue;
    seen.add(start);
    const words: number[] = [];
    const successors: number[] = [];
    // The return point of a call: planned as a block of its own (no path of the region leads there — the
    // callee's `ret` does), so that it is an entry and a return from a call does not leave compiled code.
    let returnPoint: number | null = null;
    let next: BlockPlan['next'] = 'block';
    let at = start;
    for (;;) {
      if (!inPage(at)) {
        next = 'page-end';
        break;
      }
      const w = word(at);
      const def = insnByOpcode(w >>> 24);
      if (!def || !directCompilable(def)) {
        next = 'interp';
        break;
      }
      words.push(w);
      at = (at + 4) | 0;
      if (def.endsBlock) {
        // Direct successors in the page become blocks of the region too: the target of a direct jump, call or
        // branch, and the fall-through of a conditional branch or of an instruction that does not transfer
        // control (popf ends a translator's block, but execution simply goes on).
        const shape = shapeOf(def);
        const target = shape.control && def.imm === 'off24' ? (at + 4 * immOf(w, 'off24')) | 0 : null;
        if (target !== null && inPage(target)) successors.push(target);
        if ((shape.conditional || !shape.control) && inPage(at)) successors.push(at);
        if (shape.control && shape.pushes && inPage(at)) returnPoint = at;
        break;
      }
      if (words.length >= MAX_BLOCK) {
        successors.push(at);
        break;
      }
    }
    if (words.length === 0) {
      if (start === va) return [];
      continue;
    }
    if (next === 'block' && inPage(at) && successors.length === 0 && !insnByOpcode(words[words.length - 1] >>> 24)?.endsBlock) successors.push(at);
    work.push(...successors);
    if (returnPoint !== null) work.push(returnPoint);
    plans.push({ va: start, words, next, successors });
  }
  return splitAtLeaders(plans);
}

/**
 * End every block where another one starts (a branch target in the middle of a straight line): it falls
 * through to that block instead of holding a copy of its instructions. Then each loop has one head, and the
 * blocks only one path reaches can be generated inline, so a loop compiles to a JavaScript loop.
 */
function splitAtLeaders(plans: BlockPlan[]): BlockPlan[] {
  const leaders = new Set(plans.map((b) => b.va));
  return plans.map((b) => {
    for (let k = 1; k < b.words.length; k++) {
      const at = (b.va + 4 * k) | 0;
      if (leaders.has(at)) return { va: b.va, words: b.words.slice(0, k), next: 'block', successors: [at] };
    }
    return b;
  });
}

/**
 * Compiled regions by what they were compiled from (the ISA variant and the planned blocks), shared by every
 * machine of the process: the same guest code (the kernel, a workload run again) reuses the function V8 has
 * already optimized, with the type feedback it gathered — and is not even generated again.
 */
const shared = new Map<string, CompiledRegion>();
/** Bound the cache: programs that generate code without end (fuzzing) must not grow memory without end. */
const MAX_SHARED = 20_000;

/** Everything a region's source depends on: the variant and each planned block (its successors follow from it). */
function planKey(plans: readonly BlockPlan[], variant: IsaVariant): string {
  return `${variant}|${plans.map((b) => `${b.va}:${b.next}:${b.words.join(',')}`).join('|')}`;
}

/** Compile the region that starts at `va`, or null if its first instruction must be interpreted. */
export function compileRegion(va: number, word: (va: number) => number, variant: IsaVariant = 'default'): CompiledRegion | null {
  const plans = planRegion(va, word);
  if (plans.length === 0) return null;
  const key = planKey(plans, variant);
  const known = shared.get(key);
  if (known !== undefined) return { ...known, fresh: false };
  const gen = new RegionGen(plans, variant);
  const source = gen.source();
  const factory = new Function(
    'conditionFlags',
    'R_EXIT',
    'R_LIMIT',
    'R_INTERP',
    'R_FAULT',
    'R_SMC',
    'R_REPLAN',
    // Named after its guest address (a validated integer), so a CPU profile or V8's --trace-opt says which guest
    // code a hot function runs.
    `return function region_${hexName(va, 'region compiler')}(M, X, lim, start) {\n${source}\n};`,
  );
  const fn = factory(conditionFlags, R_EXIT, R_LIMIT, R_INTERP, R_FAULT, R_SMC, R_REPLAN) as RegionFn;
  const region: CompiledRegion = {
    fn,
    source,
    va,
    entries: gen.entries(),
    spans: plans.map((b) => ({ va: b.va, length: b.words.length })),
    blocks: plans.length,
    instructions: plans.reduce((s, b) => s + b.words.length, 0),
    fresh: true,
  };
  if (shared.size >= MAX_SHARED) shared.clear();
  shared.set(key, region);
  return region;
}
