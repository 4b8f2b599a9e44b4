/**
 * Shadow page tables: how a VMM without MMU hardware support lets the guest run with paging.
 *
 * The hardware walks page tables the VMM builds (the shadows), never the guest's own. A shadow starts empty;
 * when the hardware faults on a shadow miss, the VMM walks the guest's tables in software (the virtual
 * machine's MMU): if the guest maps the address with the needed permission it copies the translation into the
 * shadow and resumes — a *hidden* page fault the guest never sees — otherwise it reflects a *true* page fault
 * into the guest. The shadows behave like a large software TLB: they are flushed when the guest loads its
 * page-table base or toggles paging, and an entry is dropped when the guest executes invlpg. (Tracing writes
 * to guest page tables, so shadows stay coherent without relying on invlpg, comes with issue 6.)
 *
 * Ring compression: a deprivileged guest kernel runs in physical user mode like its user programs, so page
 * permissions cannot tell them apart. With `perMode`, the VMM keeps one shadow per virtual mode: the one used
 * while the guest kernel runs maps what the guest allows supervisor code to reach (all of it user-accessible to
 * the hardware), the one used for guest user code only what the guest allows user code — so guest user code
 * still cannot touch guest kernel memory.
 */
import { MODE_USER, PAGE_MASK, PAGE_SHIFT, PF_FETCH, PF_WRITE, PTE_P, PTE_U, PTE_W } from '../isa/arch.js';
import { ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE, TLB_MASK, VEC_MACHINE_CHECK, type Access } from '../hw/mmu.js';
import type { Counters } from '../metrics/counters.js';
import type { FrameAllocator, GuestPlatform } from './platform.js';

export type ShadowFaultResult = 'hidden' | 'true' | 'machine-check';

/**
 * The U bit of a shadow entry: 'force' makes every entry user-accessible (the guest kernel runs deprivileged in
 * physical user mode), 'guest' copies the guest's own U bit (the guest runs in its real modes, as in VMX
 * non-root operation, so the hardware itself keeps guest user code out of guest kernel pages).
 */
export type ShadowUserBit = 'force' | 'guest';

/** The access type a page-fault error code describes. */
export function accessOf(errorCode: number): Access {
  return (errorCode & PF_WRITE) !== 0 ? ACCESS_WRITE : (errorCode & PF_FETCH) !== 0 ? ACCESS_FETCH : ACCESS_READ;
}

export class ShadowPaging {
  /** Shadow page directory per virtual mode (the same one twice without perMode). */
  private readonly roots: [number, number];
  /** Shadow page-table frames in use, so a flush can give them back. */
  private readonly tables: number[] = [];

  constructor(
    private readonly p: GuestPlatform,
    private readonly c: Counters,
    private readonly frames: FrameAllocator,
    perMode: boolean,
    private readonly userBit: ShadowUserBit = 'force',
  ) {
    const sup = this.newTable();
    this.roots = [sup, perMode ? this.newTable() : sup];
  }

  private newTable(): number {
    const f = this.frames.alloc();
    this.p.phys.mem.u8.fill(0, f, f + 4096);
    return f;
  }

  /** The shadow page directory the hardware must use while the guest runs in a virtual mode. */
  root(mode: number): number {
    return this.roots[mode === MODE_USER ? 1 : 0];
  }

  /** Forget every translation (the guest loaded its page-table base or toggled paging). */
  flushAll(): void {
    const mem = this.p.phys.mem;
    for (const r of new Set(this.roots)) mem.u8.fill(0, r, r + 4096);
    for (const t of this.tables) this.frames.release(t);
    this.tables.length = 0;
    this.c.shadowFlushes++;
    this.p.phys.mmu.flush();
  }

  /** Drop the translation of one address (the guest executed invlpg). */
  invalidate(va: number): void {
    const mem = this.p.phys.mem;
    for (const r of new Set(this.roots)) {
      const pde = mem.i32[(r >>> 2) + (va >>> 22)];
      if ((pde & PTE_P) === 0) continue;
      mem.i32[((pde & ~PAGE_MASK) >>> 2) + ((va >>> PAGE_SHIFT) & 0x3ff)] = 0;
    }
    this.p.phys.mmu.invalidate(va);
  }

  /**
   * The hardware faulted on va. Walk the guest's tables (with the guest's virtual mode): if the guest allows
   * the access, build the shadow entry (a hidden fault); otherwise the fault is the guest's (a true fault, and
   * vm.fault holds the exception to reflect, with the guest's error code).
   */
  handleFault(va: number, access: Access, mode: number): ShadowFaultResult {
    const vm = this.p.vm;
    const pa = vm.mmu.translate(va, access, mode, true);
    if (pa < 0) return vm.fault.vector === VEC_MACHINE_CHECK ? 'machine-check' : 'true';
    // The guest's effective permission for this page (its TLB now holds the translation).
    const perm = vm.mmu.perm[(va >>> PAGE_SHIFT) & TLB_MASK];
    const mem = this.p.phys.mem;
    const root = this.root(mode);
    const pdeIndex = (root >>> 2) + (va >>> 22);
    let pde = mem.i32[pdeIndex];
    if ((pde & PTE_P) === 0) {
      const t = this.newTable();
      this.tables.push(t);
      pde = t | PTE_P | PTE_W | PTE_U;
      mem.i32[pdeIndex] = pde;
    }
    // Deprivileged ('force'), the hardware runs the guest kernel in user mode, so every shadow entry is
    // user-accessible; otherwise the U bit is the guest's. Writability is always the guest's.
    const user = this.userBit === 'force' ? PTE_U : perm & PTE_U;
    mem.i32[((pde & ~PAGE_MASK) >>> 2) + ((va >>> PAGE_SHIFT) & 0x3ff)] = (pa & ~PAGE_MASK) | PTE_P | user | (perm & PTE_W);
    this.c.shadowEntriesBuilt++;
    return 'hidden';
  }
}
