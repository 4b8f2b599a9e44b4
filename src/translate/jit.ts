/**
 * The compiled fast path for direct execution: an ExecFn (same contract as the interpreter's, src/hw/interp.ts)
 * that runs hot guest code as compiled regions (src/translate/region.ts) and everything else in the interpreter.
 *
 * It is an implementation detail of the hardware model. A machine running with it retires the same
 * instructions, takes the same faults at the same addresses, walks the TLB at the same points and sees each
 * timer interrupt at the same instruction as a machine running the interpreter (test/hw/compiled.test.ts checks
 * byte-identical counters on every workload): regions compute exactly what the interpreter would, never run
 * past the instruction limit, and leave every privileged, sensitive or trapping instruction to the interpreter.
 *
 * Code starts cold, in the interpreter, run in short chunks so that the executor sees where the guest is; a
 * guest address seen JIT_TUNING.hot times gets a region compiled (compiling costs ~0.1 ms of V8 work: boot code
 * that runs once is cheaper to interpret). A region is registered at each of its entries — the address it was
 * planned from and the head of each loop in it — keyed by physical address and checked against the virtual
 * address; a store to a frame holding compiled code drops the frame's regions.
 *
 * Interrupts and faults return into guest code at any instruction, often in the middle of a compiled loop. Inside
 * compiled code, the executor therefore steps the interpreter one instruction at a time (up to SEEK_STEPS) until
 * it reaches an entry, instead of compiling one more region for every address a loop was interrupted at: V8
 * then optimizes one function per loop, not a dozen copies that each warm up on their own. (Code no region
 * holds is warmed and compiled as usual.)
 */
import { PAGE_MASK, PAGE_SHIFT } from '../isa/arch.js';
import { EXEC_EVENT, EXEC_LIMIT, interpreterFor, type ExecFn } from '../hw/interp.js';
import type { Machine } from '../hw/machine.js';
import { compileRegion, R_EXIT, R_FAULT, R_INTERP, R_REPLAN, R_SMC, type CompiledRegion, type RegionContext } from './region.js';

/** A region as registered at one of its entries. */
interface Entry {
  readonly region: CompiledRegion;
  readonly fn: CompiledRegion['fn'];
  readonly va: number;
  readonly start: number;
}

/**
 * How eagerly code is compiled: `chunk` guest instructions are interpreted at a time while code is cold, and an
 * address is compiled once reached `hot` times. (Tests set both to 1, to put every reachable address of a short
 * program through the compiler.)
 */
export const JIT_TUNING = { chunk: 48, hot: 8 };
/** Instructions stepped one at a time near compiled code, looking for an entry, before compiling a new region. */
const SEEK_STEPS = 16;
/** The code-page check of the interpreter: pc's page base, with the low two bits (misaligned never matches). */
const FETCH_MASK = ~PAGE_MASK | 3;

/** Per-machine state of the compiled fast path. */
export class Jit {
  readonly interpret: ExecFn;
  readonly X: RegionContext = { n: 0, smc: false };
  /** Region entries by frame, then by word offset of the entry (dense, like the translation cache). */
  private readonly regions: (Entry | undefined)[][] = [];
  /** By frame, a flag per word: some region holds the instruction there. */
  private readonly covered: (Uint8Array | undefined)[] = [];
  private readonly heat = new Map<number, number>();
  private readonly bit: number;
  // Statistics (for perf tools; never part of a run's counts).
  compiled = 0;
  compiledInstructions = 0;
  invalidated = 0;
  regionRuns = 0;
  regionRetired = 0;
  exits = new Float64Array(8);

  constructor(private readonly m: Machine) {
    this.interpret = interpreterFor(m.isa);
    this.bit = m.mmu.watchCode((pa) => this.invalidateFrame(pa >>> PAGE_SHIFT));
  }

  lookup(pa: number, va: number): Entry | undefined {
    const r = this.regions[pa >>> PAGE_SHIFT]?.[(pa & PAGE_MASK) >>> 2];
    return r !== undefined && r.va === va ? r : undefined;
  }

  /** The regions compiled and still valid, each once (for tools and tests). */
  regionList(): CompiledRegion[] {
    const all = new Set<CompiledRegion>();
    for (const frame of this.regions) for (const e of frame ?? []) if (e !== undefined) all.add(e.region);
    return [...all];
  }

  /** Does a region hold the instruction at pa (so that stepping on reaches one of its entries)? */
  inRegion(pa: number): boolean {
    const c = this.covered[pa >>> PAGE_SHIFT];
    return c !== undefined && c[(pa & PAGE_MASK) >>> 2] !== 0;
  }

  /** Count one arrival at (pa, va); compile its region once it is hot. */
  warm(pa: number, va: number): Entry | undefined {
    const key = pa >>> 2;
    const n = (this.heat.get(key) ?? 0) + 1;
    if (n < JIT_TUNING.hot) {
      this.heat.set(key, n);
      return undefined;
    }
    this.heat.delete(key);
    const mem = this.m.mem.i32;
    const delta = (pa - va) | 0;
    const region = compileRegion(va, (a) => mem[((a + delta) | 0) >>> 2], this.m.isa);
    if (region === null) {
      this.heat.set(key, -(1 << 30)); // its first instruction is for the interpreter: do not try again soon
      return undefined;
    }
    // Run it once with no instructions to spare: it leaves at once through its write-back, so V8 has seen that
    // code (and its types) before it optimizes the region in the middle of a guest loop. Without this, every
    // region's first exit from an optimized loop would deoptimize it ("insufficient type feedback").
    if (region.fresh) {
      const S = this.m.cpu;
      const pc = S.pc;
      region.fn(this.m, this.X, 0, 0);
      S.pc = pc;
    }
    const frame = pa >>> PAGE_SHIFT;
    const slots = (this.regions[frame] ??= []);
    let entry: Entry | undefined;
    // Every entry of the region lies in this page (regions never leave it): pa - va is the same for all.
    for (const e of region.entries) {
      const at = (pa + (e.va - va)) | 0;
      const slot = (at & PAGE_MASK) >>> 2;
      const registered: Entry = { region, fn: region.fn, va: e.va, start: e.start };
      if (e.start === 0) entry = slots[slot] = registered;
      else slots[slot] ??= registered; // a loop head another region already enters stays with it
    }
    const covered = (this.covered[frame] ??= new Uint8Array((PAGE_MASK + 1) >>> 2));
    for (const b of region.spans) {
      const first = ((pa + (b.va - va)) & PAGE_MASK) >>> 2;
      covered.fill(1, first, first + b.length);
    }
    this.m.mmu.markCode(frame, this.bit);
    this.compiled++;
    this.compiledInstructions += region.instructions;
    return entry;
  }

  /** The guest wrote to a frame holding compiled code: drop its regions. */
  invalidateFrame(frame: number): void {
    if (this.regions[frame] === undefined) return;
    this.regions[frame] = [];
    this.covered[frame] = undefined;
    this.m.mmu.unmarkCode(frame, this.bit);
    this.invalidated++;
    this.X.smc = true;
  }
}

/** After an interpreted stretch: keep going, return to the run loop to re-plan, or report an event. */
const GO = 0;
const REPLAN = 1;
const EVENT = 2;

/** Run the interpreter for up to `k` instructions (at least one). */
function interpret(M: Machine, jit: Jit, k: number): number {
  const res = jit.interpret(M, k);
  if (res === EXEC_EVENT) return EVENT;
  // The interpreter stopped early to re-plan, or an interpreted instruction may have unmasked a pending
  // interrupt (in VMX non-root operation: opened the interrupt window): the run loop looks before anything else.
  return M.lastExecRetired < k || M.irqPending !== 0 ? REPLAN : GO;
}

/** The ExecFn of a machine with the compiled fast path (see the header). */
export const compiledExec: ExecFn = (M, limit) => {
  const jit = M.jit;
  if (jit === null) throw new Error('compiledExec on a machine without a Jit');
  // A VMM stepping one instruction, or delivering one event, wants the interpreter's exact behaviour.
  if (M.breakOnDelivery || limit < JIT_TUNING.chunk) return jit.interpret(M, limit);
  const S = M.cpu;
  const mmu = M.mmu;
  const X = jit.X;
  let ic = 0;
  let res = EXEC_LIMIT;
  // Steps taken looking for an entry, in the frame seekFrame.
  let seeking = 0;
  let seekFrame = -1;
  while (ic < limit) {
    const pc = S.pc;
    let region: Entry | undefined;
    let k = JIT_TUNING.chunk;
    // Only with the code page's translation in hand (the interpreter makes it, exactly when it would).
    if ((pc & FETCH_MASK) === mmu.fetchPage && mmu.fetchMode === S.mode) {
      const pa = (pc + mmu.fetchDelta * 4) | 0;
      region = jit.lookup(pa, pc);
      if (region === undefined) {
        if (pa >>> PAGE_SHIFT !== seekFrame) {
          seekFrame = pa >>> PAGE_SHIFT;
          seeking = 0;
        }
        if (seeking < SEEK_STEPS && jit.inRegion(pa)) {
          seeking++;
          k = 1;
        } else region = jit.warm(pa, pc);
      }
    }
    if (region === undefined) {
      k = Math.min(k, limit - ic);
    } else {
      seeking = 0;
      X.smc = false;
      const code = region.fn(M, X, limit - ic, region.start);
      const n = X.n;
      jit.regionRuns++;
      jit.regionRetired += n;
      jit.exits[code]++;
      ic += n;
      if (n > 0) M.retire(n, S.mode);
      if (code === R_EXIT || code === R_SMC) continue;
      if (code === R_REPLAN) break;
      if (code === R_FAULT) {
        // As the interpreter does: deliver (or route) the exception; the code page's translation is dropped.
        mmu.fetchPage = -1;
        if (!M.raise(M.fault.vector, M.fault.code, M.fault.addr)) {
          res = EXEC_EVENT;
          break;
        }
        continue;
      }
      // R_INTERP: one instruction for the interpreter; R_LIMIT: the rest of the limit.
      if (ic >= limit) break;
      k = code === R_INTERP ? 1 : limit - ic;
    }
    const before = M.retired;
    const r = interpret(M, jit, k);
    ic += M.retired - before;
    if (r === GO) continue;
    if (r === EVENT) res = EXEC_EVENT;
    break;
  }
  M.lastExecRetired = ic;
  return res;
};

/** Give a machine the compiled fast path. */
export function enableCompiledExecution(m: Machine): void {
  m.jit = new Jit(m);
  m.exec = compiledExec;
}
