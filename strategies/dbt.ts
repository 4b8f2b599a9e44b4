/**
 * dbt — dynamic binary translation, VMware/QEMU-style. Guest user code runs directly on the hardware, exactly
 * as under trap-and-emulate. Guest KERNEL code never runs directly: it is translated, one basic block at a
 * time, into host functions (src/translate/compile.ts) that are cached by physical address (the translator only
 * ever translates code running in virtual supervisor mode, so the mode is part of what a translation means).
 * Sensitive instructions are rewritten: cli/sti/pushf/popf/rdmode and task-priority accesses update the
 * virtual CPU inline with no VMM entry — which is why binary translation is faithful on an ISA that is not
 * classically virtualizable — and I/O and the remaining control-register instructions become counted
 * callouts into the VMM. Blocks are chained directly to their successors; a store to a page that holds
 * translated code invalidates its blocks (the smc workload); the cache is flushed whole when full.
 *
 * Instruction-exact virtual time: a block runs only if it fits before the next virtual device event; the few
 * instructions before an event are interpreted one by one on the virtual CPU.
 */
import { withRecycledMemory } from '../src/hw/memory.js';
import { MODE_SUPERVISOR, MODE_USER, PAGE_MASK, PAGE_SHIFT } from '../src/isa/arch.js';
import { insnByOpcode } from '../src/isa/table.js';
import { ACCESS_FETCH } from '../src/hw/mmu.js';
import { BlockCache, type Block } from '../src/translate/cache.js';
import {
  blockLength,
  compilePage,
  EXIT_CALLOUT,
  EXIT_DYNAMIC,
  EXIT_FALLTHROUGH,
  EXIT_FAULT,
  EXIT_IRQ,
  EXIT_SMC,
  EXIT_TAKEN,
  EXIT_TRAP,
  MAX_BLOCK_LENGTH,
  EXIT_LIMIT,
  type BlockContext,
  type PageBlock,
  type PageFn,
} from '../src/translate/compile.js';
import { loadGuestState, saveGuestState } from '../src/vmm/platform.js';
import type { Engine, EngineOutcome, RunSpec } from './engine.js';
import { TrapAndEmulateVmm } from './trap-emulate.js';

export const DEFAULT_CACHE_BLOCKS = 4096;
/** Consecutive callouts of a store site that missed traced pages before it is translated normally again. */
export const ADAPT_BACK = 8;
/**
 * Traced-write traps a kernel store site must take before it is retranslated as a callout ("instructions that
 * keep trapping", Adams & Agesen). Each time a site adapts back the number it needs doubles, so a store that
 * only now and then hits a page table (a page-zeroing loop meeting a freed table) settles on trapping instead of
 * flipping between translations.
 */
export const ADAPT_AFTER = 2;

export class BinaryTranslationVmm extends TrapAndEmulateVmm {
  private readonly D: BlockContext = { n: 0, smc: false, inline: 0, last: 0, chained: 0 };

  /** Guest kernel stores that hit a traced page table: translated as callouts from then on (adaptive BT). */
  private readonly calloutSites = new Set<number>();
  /** Callout sites whose last stores did not hit a traced page: after ADAPT_BACK in a row, translate them again. */
  private readonly siteMisses = new Map<number, number>();
  /** Traced-write traps per store site since it was last translated, and how many it needs to become a callout. */
  private readonly siteTraps = new Map<number, number>();
  private readonly siteThreshold = new Map<number, number>();
  private readonly cache: BlockCache<Translation>;
  private readonly chaining: boolean;

  constructor(spec: RunSpec) {
    super(spec);
    const { phys, vm } = this;
    this.chaining = spec.options.chaining !== false;
    // Frames holding translated code: stores to them leave the fast path so the translator hears of them — on
    // the physical machine, and on the virtual one (stores the VMM emulates, and device DMA).
    const onWrite = (pa: number): void => {
      if (this.cache.invalidateFrame(pa >>> PAGE_SHIFT) > 0) this.D.smc = true;
    };
    const physBit = phys.mmu.watchCode(onWrite);
    const vmBit = vm.mmu.watchCode(onWrite);
    const capacity = typeof spec.options.cacheBlocks === 'number' ? spec.options.cacheBlocks : DEFAULT_CACHE_BLOCKS;
    this.cache = new BlockCache<Translation>(
      capacity,
      (frame) => {
        phys.mmu.markCode(frame, physBit);
        vm.mmu.markCode(frame, vmBit);
      },
      (frame) => {
        phys.mmu.unmarkCode(frame, physBit);
        vm.mmu.unmarkCode(frame, vmBit);
      },
    );
  }

  protected override runGuest(limit: number): void {
    const vm = this.vm;
    if (vm.cpu.mode !== MODE_USER) this.runTranslated(limit);
    else if (vm.cpu.iflag !== 0) this.runDirect(limit);
    else this.interpretUser(limit);
  }

  /**
   * Guest user code that runs with interrupts disabled. Direct execution would let its pushf push the physical
   * IF (1), so — like VMware's VMM, which runs guest code directly only in user mode *with IF set* — interpret
   * it on the virtual CPU until it leaves user mode (an exception), or its time is up.
   */
  private interpretUser(limit: number): void {
    const { vm, c } = this;
    for (let i = 0; i < limit && vm.status === 'running' && vm.cpu.mode === MODE_USER && vm.cpu.iflag === 0; i++) {
      const word = this.guestWord(vm.cpu.pc);
      if (word !== null) this.beforeEmulation(word);
      const before = vm.retired;
      vm.step();
      const n = vm.retired - before;
      c.interpretedInstructions += n;
      if (n > 0 && word !== null) this.onEmulated(word);
      if (n === 0) {
        this.delivered();
        break;
      }
    }
  }

  /** A translation may now mean something else: links made before must not be followed. */
  protected override onEmulated(word: number): void {
    super.onEmulated(word);
    const name = insnByOpcode(word >>> 24)?.name;
    if (name === 'mtcr' || name === 'invlpg') this.cache.generation++;
  }

  /** Run guest kernel code as translated blocks, at most `limit` instructions. */
  private runTranslated(limit: number): void {
    const { phys, vm, c, D, cache } = this;
    this.enterGuest();
    const S = phys.cpu;
    let remaining = limit;
    let prev: Block<Translation> | null = null;
    let prevExit = 0;
    /** The trace that ran last, and its entry block (a transition out of it that the model chains grows it). */
    let ran: Trace | null = null;
    let ranFrom: Block<Translation> | null = null;
    while (remaining > 0) {
      let b: Block<Translation> | null = prev !== null && this.chaining ? cache.chained(prev, prevExit) : null;
      if (b !== null && ran !== null && ranFrom !== null && samePage(prev!.va, b.va) && ranFrom.fn.trace === ran) {
        // The model chains this transition, but the trace left here: next time, build it with this block in.
        ranFrom.fn.trace = null;
      }
      if (b === null) {
        b = this.lookupOrTranslate(S.pc);
        if (b === null) return; // the fetch faulted; handled
        if (prev !== null && this.chaining && prevExit <= EXIT_FALLTHROUGH && samePage(prev.va, b.va)) cache.link(prev, prevExit, b);
      }
      if (b.length > remaining) {
        this.interpretUntilEvent(remaining);
        return;
      }
      // Run the block — within a trace, once it is hot: every block it is chained to in its page, in one function.
      const t = this.runnable(b);
      D.chained = 0;
      const code = t.fn(phys, vm, D, 0, remaining, t.links, cache.generation + 1);
      const n = D.n;
      remaining -= n;
      vm.retire(n, MODE_SUPERVISOR);
      c.translatedInstructions += n;
      cache.stats.chained += D.chained;
      const last = t.blocks[D.last];
      ran = t.blocks.length > 1 ? t : null;
      ranFrom = b;
      if (D.smc) {
        D.smc = false;
        prev = null;
        if (code === EXIT_SMC) continue;
      }
      switch (code) {
        case EXIT_TAKEN:
        case EXIT_FALLTHROUGH:
          prev = last;
          prevExit = code;
          continue;
        case EXIT_LIMIT:
          this.interpretUntilEvent(remaining);
          return;
        case EXIT_DYNAMIC:
        case EXIT_SMC:
          prev = null;
          continue;
        case EXIT_CALLOUT:
          saveGuestState(S, vm.cpu);
          this.callout();
          return;
        case EXIT_FAULT:
        case EXIT_TRAP:
          saveGuestState(S, vm.cpu);
          this.handleTrap();
          return;
        case EXIT_IRQ:
          saveGuestState(S, vm.cpu);
          return;
        default:
          throw new Error(`dbt: a block returned an unknown exit code ${code}`);
      }
    }
    saveGuestState(S, vm.cpu);
    this.hostTimerIfDue();
  }

  /**
   * What to run for block b. A cold block runs on its own (its one-block function comes from the process-wide
   * cache). Once it has run DBT_TUNING.traceAfter times, it gets a trace: it and every block of its page it is chained to,
   * transitively, compiled into one function — so a hot loop of kernel code runs as a JavaScript loop. A trace
   * is rebuilt when its page's blocks change, or (a few times) when it turns out to leave where the model chains.
   */
  private runnable(b: Block<Translation>): Trace {
    const d = b.fn;
    const { cache } = this;
    const frame = b.pa >>> PAGE_SHIFT;
    if (d.trace !== null) {
      if (d.trace.version === cache.version(frame) && d.trace.epoch === cache.epoch) return d.trace;
      // The page's blocks changed (during warm-up, new blocks are translated): wait until it is hot again. This
      // is not one of the trace's bounded rebuilds (those are for a trace that keeps leaving where the model
      // chains): a kernel page gains blocks for a long time, and a loop must not end up running block by block.
      d.trace = null;
      d.runs = 0;
      d.rebuilds = 0;
    }
    if (!this.chaining || ++d.runs < DBT_TUNING.traceAfter || d.rebuilds >= DBT_TUNING.maxTraceBuilds) return (d.single ??= single(b));
    d.rebuilds++;
    // The blocks reachable from b over links of this generation, inside the page (b first).
    const blocks: Block<Translation>[] = [b];
    const index = new Map<Block<Translation>, number>([[b, 0]]);
    for (let k = 0; k < blocks.length; k++) {
      const x = blocks[k];
      for (let e = 0; e < 2; e++) {
        const to = x.links[e];
        if (to === null || to === undefined || !to.valid || x.linkGen[e] !== cache.generation || !samePage(to.va, b.va) || index.has(to)) continue;
        index.set(to, blocks.length);
        blocks.push(to);
      }
    }
    const links = new Int32Array(2 * blocks.length);
    blocks.forEach((x, i) => {
      for (let e = 0; e < 2; e++) {
        const to = x.links[e];
        if (to !== null && to !== undefined && to.valid && x.linkGen[e] === cache.generation && index.has(to)) links[2 * i + e] = cache.generation + 1;
      }
    });
    d.trace = { fn: compilePage(blocks.map((x) => x.fn.translation)).fn, blocks, links, version: cache.version(frame), epoch: cache.epoch };
    return d.trace;
  }

  /** The block at a guest address: from the cache, or translated now. Null if fetching it faulted. */
  private lookupOrTranslate(va: number): Block<Translation> | null {
    const { phys, vm, c, cache } = this;
    // The translator reads guest code through the guest's own page tables (a software walk in the VMM).
    const pa = (va & 3) === 0 ? vm.mmu.translate(va, ACCESS_FETCH, MODE_SUPERVISOR, true) : -1;
    if (pa < 0) {
      saveGuestState(phys.cpu, vm.cpu);
      if ((va & 3) !== 0) vm.fault.set(17, 0, va);
      this.emulateOnVirtualCpu(); // the virtual CPU raises the fetch fault into the guest
      return null;
    }
    const hit = cache.lookup(pa, va);
    if (hit !== undefined) return hit;
    const words: number[] = [];
    const room = Math.min(MAX_BLOCK_LENGTH, (4096 - (pa & PAGE_MASK)) >>> 2);
    for (let i = 0; i < room; i++) words.push(phys.mem.i32[(pa >>> 2) + i]);
    const len = blockLength(words, va);
    const cut = words.slice(0, len);
    // The callout sites inside this block, as they are now (a change of sites retranslates the block).
    const calloutAt = new Set<number>();
    for (let k = 0; k < len; k++) if (this.calloutSites.has((va + 4 * k) | 0)) calloutAt.add((va + 4 * k) | 0);
    const fn: Translation = { translation: { va, words: cut, calloutAt }, single: null, trace: null, runs: 0, rebuilds: 0 };
    const b: Block<Translation> = { pa, va, length: len, fn, valid: true, links: [null, null], linkGen: [-1, -1] };
    cache.insert(b);
    c.blocksTranslated++;
    c.instructionsTranslated += len;
    return b;
  }

  /**
   * A store in translated kernel code faulted on a traced page table. Like VMware's adaptive translator, stop
   * paying a hardware fault for it: retranslate its page, with that store as a callout.
   */
  protected override tracedWriteDone(pc: number): void {
    const vm = this.vm;
    if (vm.cpu.mode !== MODE_SUPERVISOR && !this.wasKernel) return;
    if (this.calloutSites.has(pc)) return;
    const traps = (this.siteTraps.get(pc) ?? 0) + 1;
    if (traps < (this.siteThreshold.get(pc) ?? ADAPT_AFTER)) {
      this.siteTraps.set(pc, traps);
      return;
    }
    this.siteTraps.delete(pc);
    this.calloutSites.add(pc);
    this.retranslate(pc);
  }

  /** Drop the translated blocks that contain the instruction at guest pc: the next run translates it afresh. */
  private retranslate(pc: number): void {
    const pa = this.vm.mmu.translate(pc, ACCESS_FETCH, MODE_SUPERVISOR, true);
    if (pa >= 0) this.cache.invalidateCovering(pa);
  }

  /**
   * A callout site whose store keeps missing traced pages (a memcpy that once hit a freed page table) is
   * translated normally again after ADAPT_BACK misses in a row — the translator adapts both ways.
   */
  private adaptBack(pc: number, hitTraced: boolean): void {
    if (hitTraced) {
      this.siteMisses.delete(pc);
      return;
    }
    const misses = (this.siteMisses.get(pc) ?? 0) + 1;
    if (misses < ADAPT_BACK) {
      this.siteMisses.set(pc, misses);
      return;
    }
    this.siteMisses.delete(pc);
    this.calloutSites.delete(pc);
    this.siteThreshold.set(pc, 2 * (this.siteThreshold.get(pc) ?? ADAPT_AFTER));
    this.retranslate(pc);
  }

  /** The mode the faulting code ran in (saved before the fault was handled). */
  private wasKernel = false;

  protected override handleTrap(): void {
    this.wasKernel = this.vm.cpu.mode === MODE_SUPERVISOR;
    super.handleTrap();
  }

  /** Emulate the instruction a block stopped at: a system instruction, or a store to a traced page table. */
  private callout(): void {
    const vm = this.vm;
    const pc = vm.cpu.pc;
    const site = this.calloutSites.has(pc);
    const reason = site ? `${this.trapReason(6, pc)} (traced write)` : this.trapReason(6, pc);
    const clock = vm.retired;
    const word = site ? this.guestWord(pc) : null;
    if (word !== null) this.beforeEmulation(word);
    const hitTraced = this.tracedStore >= 0;
    const retired = this.emulateOnVirtualCpu();
    if (site) this.adaptBack(pc, hitTraced);
    this.entry('callout', reason, pc, MODE_SUPERVISOR, retired ? 'emulated on the virtual CPU' : 'reflected into the guest kernel', clock);
  }

  /** Fewer instructions are left before a device event than the next block has: interpret them one by one. */
  private interpretUntilEvent(count: number): void {
    const { phys, vm, c } = this;
    saveGuestState(phys.cpu, vm.cpu);
    for (let i = 0; i < count && vm.status === 'running' && vm.cpu.mode === MODE_SUPERVISOR && !vm.halted; i++) {
      const before = vm.retired;
      const word = this.guestWord(vm.cpu.pc);
      // Like any instruction the VMM runs on the virtual CPU: a store to a traced page table must reach the shadows.
      if (word !== null) this.beforeEmulation(word);
      vm.step();
      const n = vm.retired - before;
      c.interpretedInstructions += n;
      if (n > 0 && word !== null) this.onEmulated(word);
      if (n === 0) this.delivered();
      if (n === 0 || vm.irqPending !== 0) break; // an exception was delivered, or an interrupt may be due
    }
    loadGuestState(phys.cpu, vm.cpu);
    this.hostTimerIfDue();
  }

  protected override outcome(details: EngineOutcome['details'] = {}): EngineOutcome {
    const { c, cache, D } = this;
    c.inlineEmulations = D.inline;
    c.cacheHits = cache.stats.hits;
    c.cacheMisses = cache.stats.misses;
    c.chainedTransitions = cache.stats.chained;
    c.invalidations = cache.stats.invalidated;
    c.cacheFlushes = cache.stats.flushes;
    return super.outcome({ cacheBlocks: cache.capacity, chaining: this.chaining, ...details });
  }
}

/**
 * Runs a block has before it gets a trace, and how many times a block's trace may be (re)built. (Tests set
 * traceAfter to 1, so that short programs run their blocks as traces too.)
 */
export const DBT_TUNING = { traceAfter: 32, maxTraceBuilds: 6 };

/** What the translator keeps for a block: the translation (the model's unit) and how it is run. */
interface Translation {
  readonly translation: PageBlock;
  /** The block compiled on its own, once needed. */
  single: Trace | null;
  /** The block and the blocks it is chained to, compiled together, once hot. */
  trace: Trace | null;
  runs: number;
  rebuilds: number;
}

/** Blocks compiled into one function (src/translate/compile.ts, a page function); the entry is block 0. */
interface Trace {
  readonly fn: PageFn;
  readonly blocks: readonly Block<Translation>[];
  /** Per block and exit: cache generation + 1 when linked (see PageFn). */
  readonly links: Int32Array;
  /** The page's version and the cache's epoch it was built at (a trace is valid while they hold). */
  readonly version: number;
  readonly epoch: number;
}

const NO_LINKS = new Int32Array(2);

/** A block on its own: a one-block function, never following a link itself. */
function single(b: Block<Translation>): Trace {
  return { fn: compilePage([b.fn.translation]).fn, blocks: [b], links: NO_LINKS, version: -1, epoch: -1 };
}

function samePage(a: number, b: number): boolean {
  return a >>> PAGE_SHIFT === b >>> PAGE_SHIFT;
}

export const dbt: Engine = {
  id: 'dbt',
  title: 'binary translation',
  summary:
    'Guest kernel code is translated block by block, with sensitive instructions rewritten; user code runs directly.',
  guest: 'native',
  faithfulOn: ['default', 'classic'],
  options: [
    { name: 'cacheBlocks', help: 'translation-cache capacity in blocks (flushed whole when full)', default: DEFAULT_CACHE_BLOCKS },
    { name: 'chaining', help: 'link blocks directly to their translated successors', default: true },
  ],
  run(spec) {
    return withRecycledMemory(() => new BinaryTranslationVmm(spec).run());
  },
};
