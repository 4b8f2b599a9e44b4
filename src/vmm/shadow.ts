/**
 * Shadow page tables: how a VMM without MMU hardware support lets the guest run with paging.
 *
 * The hardware walks page tables the VMM builds (the shadows), never the guest's own. A shadow starts empty;
 * when the hardware faults on a shadow miss, the VMM walks the guest's tables in software (the virtual
 * machine's MMU): if the guest maps the address with the needed permission, it copies the translation into the
 * shadow and resumes — a *hidden* page fault, the guest never sees it — otherwise it reflects a *true* page
 * fault into the guest.
 *
 * Coherence by tracing (VMware's approach, Adams & Agesen 2006): every guest page-table page a shadow was built
 * from is write-protected in all shadows ("traced"). When the guest writes one, the hardware faults; the VMM
 * emulates the store and then recomputes the shadow entries derived from the guest entry that changed — one
 * update per shadow that maps it. So shadows never go stale, and a page-table-base load just switches to the
 * shadow cached for that guest directory (one context per guest directory and virtual mode, least recently used
 * evicted when the cache is full). A traced page that no live context uses any more (the guest freed the table
 * and reuses the frame as data) is unshadowed on its first write instead of trapping on every later store.
 *
 * Ring compression: a deprivileged guest kernel runs in physical user mode like its user programs, so page
 * permissions cannot tell them apart. With `perMode` there is one context per virtual mode: the supervisor one
 * maps what the guest lets supervisor code reach (all of it user-accessible to the hardware), the user one only
 * what the guest lets user code reach — so guest user code still cannot touch guest kernel memory. Under VT-x the
 * guest runs in its own modes and the shadow copies the guest's U bit instead (`userBit: 'guest'`).
 */
import { CR_CTRL, CR_PTBR, CTRL_PG, MODE_SUPERVISOR, MODE_USER, PAGE_MASK, PAGE_SHIFT, PF_FETCH, PF_WRITE, PTE_P, PTE_U, PTE_W } from '../isa/arch.js';
import { ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE, FAST_MASK, VEC_MACHINE_CHECK, type Access } from '../hw/mmu.js';
import type { Counters } from '../metrics/counters.js';
import type { FrameAllocator, GuestPlatform } from './platform.js';

export type ShadowFaultResult = 'hidden' | 'true' | 'traced' | 'machine-check';

/** 'force': every shadow entry user-accessible (ring compression); 'guest': copy the guest's U bit (VT-x). */
export type ShadowUserBit = 'force' | 'guest';

/** The access type a page-fault error code describes. */
export function accessOf(errorCode: number): Access {
  return (errorCode & PF_WRITE) !== 0 ? ACCESS_WRITE : (errorCode & PF_FETCH) !== 0 ? ACCESS_FETCH : ACCESS_READ;
}

const FRAME = ~PAGE_MASK;
/** Key of the context used while the guest runs with paging off (identity translation). */
const PAGING_OFF = -1;
export const MAX_SHADOW_CONTEXTS = 32;

/** The shadow of one guest address space (directory), for one virtual mode. */
interface Context {
  readonly id: number;
  /** Guest page directory (physical), or PAGING_OFF. */
  readonly dir: number;
  readonly mode: number;
  /** Shadow page directory (VMM frame). */
  readonly root: number;
  /** Directory slot -> the guest page table its shadow table was built from (-1 with paging off). */
  readonly built: Map<number, number>;
  lastUsed: number;
}

export class ShadowPaging {
  private readonly contexts = new Map<number, Context>();
  private nextId = 0;
  private useClock = 0;
  /** Traced guest frames: how many (context, role) references keep each one traced. */
  private readonly traced = new Map<number, number>();
  /** Guest page-table frame -> the (context, slot) pairs whose shadow table was built from it. */
  private readonly tableUsers = new Map<number, Set<string>>();
  /** Guest frame -> the shadow entries that map it (context id and virtual address), to revoke W when traced. */
  private readonly mappings = new Map<number, Map<string, { ctx: number; va: number }>>();
  /** Guest-physical address of the last traced write handleFault found (for the caller's tracedWrite). */
  lastTracedPa = -1;

  constructor(
    private readonly p: GuestPlatform,
    private readonly c: Counters,
    private readonly frames: FrameAllocator,
    private readonly perMode: boolean,
    private readonly userBit: ShadowUserBit = 'force',
  ) {}

  // --- Contexts ------------------------------------------------------------------------------------------

  /** The guest directory in use (PAGING_OFF when the guest runs without paging). */
  private guestDir(): number {
    const cr = this.p.vm.cpu.cr;
    return (cr[CR_CTRL] & CTRL_PG) !== 0 ? cr[CR_PTBR] & FRAME : PAGING_OFF;
  }

  private key(dir: number, mode: number): number {
    return dir * 2 + (this.perMode && mode === MODE_USER ? 1 : 0);
  }

  /** The shadow page directory the hardware must use now, for a virtual mode (built empty if new). */
  root(mode: number): number {
    return this.context(this.guestDir(), mode).root;
  }

  private context(dir: number, mode: number): Context {
    const k = this.key(dir, mode);
    let ctx = this.contexts.get(k);
    if (!ctx) {
      if (this.contexts.size >= MAX_SHADOW_CONTEXTS) this.evictLeastRecentlyUsed();
      ctx = { id: this.nextId++, dir, mode: this.perMode ? mode : 0, root: this.newTable(), built: new Map(), lastUsed: 0 };
      this.contexts.set(k, ctx);
      this.c.shadowContextsBuilt++;
      if (dir !== PAGING_OFF) this.trace(dir);
    }
    ctx.lastUsed = ++this.useClock;
    return ctx;
  }

  /**
   * The guest loaded a page-table base or toggled paging: the hardware must switch to another shadow (the
   * caller reloads root(); the shadows themselves stay valid).
   */
  baseChanged(): void {
    this.c.shadowSwitches++;
  }

  private newTable(): number {
    const f = this.allocFrame();
    this.p.phys.mem.u8.fill(0, f, f + 4096);
    this.c.shadowPagesBuilt++;
    return f;
  }

  private allocFrame(): number {
    if (this.frames.available === 0) this.evictLeastRecentlyUsed();
    return this.frames.alloc();
  }

  private evictLeastRecentlyUsed(): void {
    let victim: Context | null = null;
    for (const ctx of this.contexts.values()) if (!victim || ctx.lastUsed < victim.lastUsed) victim = ctx;
    if (victim) this.dropContext(victim);
  }

  /** Forget a context: its shadow tables go back to the VMM, the guest frames it traced may be untraced. */
  private dropContext(ctx: Context): void {
    for (const [slot, guestTable] of ctx.built) this.dropSlot(ctx, slot, guestTable);
    this.frames.release(ctx.root);
    this.c.shadowPagesDropped++;
    if (ctx.dir !== PAGING_OFF) this.untrace(ctx.dir);
    this.contexts.delete(this.key(ctx.dir, ctx.mode));
    this.c.shadowContextsDropped++;
    this.p.phys.mmu.flush();
  }

  /** Drop the shadow table of one directory slot. */
  private dropSlot(ctx: Context, slot: number, guestTable: number): void {
    const mem = this.p.phys.mem.i32;
    const pde = mem[(ctx.root >>> 2) + slot];
    if ((pde & PTE_P) !== 0) {
      const table = pde & FRAME;
      for (let i = 0; i < 1024; i++) {
        const e = mem[(table >>> 2) + i];
        if ((e & PTE_P) !== 0) this.unmapped(ctx, (slot << 22) | (i << PAGE_SHIFT), e & FRAME);
      }
      this.frames.release(table);
      this.c.shadowPagesDropped++;
    }
    mem[(ctx.root >>> 2) + slot] = 0;
    ctx.built.delete(slot);
    if (guestTable >= 0) {
      this.tableUsers.get(guestTable)?.delete(`${ctx.id}:${slot}`);
      this.untrace(guestTable);
    }
  }

  /** Forget every shadow (a cache flush; tracing keeps them coherent, so this is only for memory pressure). */
  flushAll(): void {
    for (const ctx of [...this.contexts.values()]) this.dropContext(ctx);
    this.c.shadowFlushes++;
  }

  // --- Tracing -------------------------------------------------------------------------------------------

  private trace(frame: number): void {
    const n = this.traced.get(frame) ?? 0;
    this.traced.set(frame, n + 1);
    if (n === 0) this.revokeWrite(frame);
  }

  private untrace(frame: number): void {
    const n = (this.traced.get(frame) ?? 0) - 1;
    if (n > 0) {
      this.traced.set(frame, n);
      return;
    }
    this.traced.delete(frame);
    // Its read-only mappings may become writable again: drop them, the next write rebuilds them with W.
    const maps = this.mappings.get(frame);
    if (maps) for (const { ctx, va } of [...maps.values()]) this.clearEntry(ctx, va);
  }

  isTraced(frame: number): boolean {
    return this.traced.has(frame);
  }

  /** A frame just became traced: every shadow entry that maps it loses W. */
  private revokeWrite(frame: number): void {
    const maps = this.mappings.get(frame);
    if (!maps) return;
    const mem = this.p.phys.mem.i32;
    for (const { ctx, va } of maps.values()) {
      const at = this.entryAddress(ctx, va);
      if (at >= 0 && (mem[at >>> 2] & PTE_W) !== 0) {
        mem[at >>> 2] &= ~PTE_W;
        this.p.phys.mmu.invalidate(va);
      }
    }
  }

  private contextById(id: number): Context | undefined {
    for (const c of this.contexts.values()) if (c.id === id) return c;
    return undefined;
  }

  /** Physical address of the shadow entry for va in a context (-1 if its table was not built). */
  private entryAddress(ctxId: number, va: number): number {
    const ctx = this.contextById(ctxId);
    if (!ctx) return -1;
    const pde = this.p.phys.mem.i32[(ctx.root >>> 2) + (va >>> 22)];
    return (pde & PTE_P) === 0 ? -1 : (pde & FRAME) + (((va >>> PAGE_SHIFT) & 0x3ff) << 2);
  }

  private clearEntry(ctxId: number, va: number): void {
    const at = this.entryAddress(ctxId, va);
    if (at < 0) return;
    const mem = this.p.phys.mem.i32;
    const e = mem[at >>> 2];
    if ((e & PTE_P) !== 0) this.unmapped({ id: ctxId }, va, e & FRAME);
    mem[at >>> 2] = 0;
    this.p.phys.mmu.invalidate(va);
  }

  private mapped(ctx: Context, va: number, frame: number): void {
    let m = this.mappings.get(frame);
    if (!m) this.mappings.set(frame, (m = new Map()));
    m.set(`${ctx.id}:${va}`, { ctx: ctx.id, va });
  }

  private unmapped(ctx: Pick<Context, 'id'>, va: number, frame: number): void {
    const m = this.mappings.get(frame);
    if (!m) return;
    m.delete(`${ctx.id}:${va}`);
    if (m.size === 0) this.mappings.delete(frame);
  }

  // --- Faults --------------------------------------------------------------------------------------------

  /**
   * The hardware faulted on va in a virtual mode. Walk the guest's tables (as the guest's MMU would): if the
   * guest does not allow the access, the fault is the guest's ('true': vm.fault holds the exception to
   * reflect, with the guest's error code). If it does and the access is a write to a traced page table, it is
   * a traced write ('traced': emulate the instruction, then call tracedWrite). Otherwise build the missing or
   * read-only shadow entry ('hidden').
   */
  handleFault(va: number, access: Access, mode: number): ShadowFaultResult {
    const vm = this.p.vm;
    const pa = vm.mmu.translate(va, access, mode, true);
    if (pa < 0) return vm.fault.vector === VEC_MACHINE_CHECK ? 'machine-check' : 'true';
    const frame = pa & FRAME;
    if (access === ACCESS_WRITE && this.traced.has(frame)) {
      this.lastTracedPa = pa;
      return 'traced';
    }
    const perm = vm.mmu.perm[(va >>> PAGE_SHIFT) & FAST_MASK];
    this.build(this.context(this.guestDir(), mode), va, frame, perm);
    this.c.shadowEntriesBuilt++;
    return 'hidden';
  }

  /** Write the shadow entry for va: frame with the guest's permission (minus W on traced frames). */
  private build(ctx: Context, va: number, frame: number, perm: number): void {
    const mem = this.p.phys.mem.i32;
    const slot = va >>> 22;
    const pdeAt = (ctx.root >>> 2) + slot;
    let pde = mem[pdeAt];
    if ((pde & PTE_P) === 0) {
      pde = this.newTable() | PTE_P | PTE_W | PTE_U;
      mem[pdeAt] = pde;
      const guestTable = this.guestTableOf(ctx, slot);
      ctx.built.set(slot, guestTable);
      if (guestTable >= 0) {
        let users = this.tableUsers.get(guestTable);
        if (!users) this.tableUsers.set(guestTable, (users = new Set()));
        users.add(`${ctx.id}:${slot}`);
        this.trace(guestTable);
      }
    }
    const at = ((pde & FRAME) >>> 2) + ((va >>> PAGE_SHIFT) & 0x3ff);
    const old = mem[at];
    if ((old & PTE_P) !== 0) this.unmapped(ctx, va & FRAME, old & FRAME);
    const user = this.userBit === 'force' ? PTE_U : perm & PTE_U;
    const write = (perm & PTE_W) !== 0 && !this.traced.has(frame) ? PTE_W : 0;
    mem[at] = frame | PTE_P | user | write;
    this.mapped(ctx, va & FRAME, frame);
    this.p.phys.mmu.invalidate(va);
  }

  /** The guest page table behind a directory slot of a context (-1 without paging or if not present). */
  private guestTableOf(ctx: Context, slot: number): number {
    if (ctx.dir === PAGING_OFF) return -1;
    const pde = this.p.vm.mem.i32[(ctx.dir >>> 2) + slot];
    return (pde & PTE_P) !== 0 && (pde & FRAME) >>> 0 < this.p.vm.mem.size ? pde & FRAME : -1;
  }

  /**
   * The VMM emulated a store to the traced guest frame at physical address pa. Recompute what depends on the
   * changed entry: a page-table entry -> the shadow entry of every context built from that table (one update
   * each); a directory entry -> the shadow table of that slot is dropped (rebuilt by hidden faults). A frame no
   * live context uses any more (a freed table reused as data) is unshadowed instead.
   */
  tracedWrite(pa: number): void {
    this.c.tracedWrites++;
    const frame = pa & FRAME;
    const index = (pa & PAGE_MASK) >>> 2;
    const current = new Set([this.key(this.guestDir(), 0), this.key(this.guestDir(), MODE_USER)]);
    // Directory: the contexts shadowing it.
    const dirContexts = [...this.contexts.values()].filter((c) => c.dir === frame);
    // Table: the (context, slot) pairs built from it.
    const users = [...(this.tableUsers.get(frame) ?? [])]
      .map((u) => u.split(':').map(Number) as [number, number])
      .map(([id, slot]) => ({ ctx: this.contextById(id), slot }))
      .filter((u): u is { ctx: Context; slot: number } => u.ctx !== undefined);
    const live = dirContexts.some((c) => current.has(this.key(c.dir, c.mode))) || users.some((u) => current.has(this.key(u.ctx.dir, u.ctx.mode)));
    if (!live) {
      // Nobody runs on this table any more: stop shadowing what used it.
      for (const c of dirContexts) this.dropContext(c);
      for (const u of users) if (this.contexts.has(this.key(u.ctx.dir, u.ctx.mode))) this.dropSlot(u.ctx, u.slot, frame);
      this.c.unshadowedPages++;
      return;
    }
    for (const c of dirContexts) {
      const guestTable = c.built.get(index);
      if (guestTable !== undefined) {
        this.dropSlot(c, index, guestTable);
        this.p.phys.mmu.flush();
        this.c.shadowUpdates++;
      }
    }
    for (const { ctx, slot } of users) {
      this.refreshEntry(ctx, slot, index);
      this.c.shadowUpdates++;
    }
  }

  /**
   * The virtual CPU wrote `bytes` bytes at guest virtual address va in supervisor mode (an exception frame it
   * delivered, a push or call the VMM emulated): the words of it that landed on a traced page table are traced
   * writes. A guest whose stack sits on its own page table is hostile, not wrong; bare metal sees those entries
   * change, so its shadows must too.
   */
  virtualCpuWrote(va: number, bytes: number): void {
    if (this.traced.size === 0) return;
    const vm = this.p.vm;
    let pa = -1;
    for (let k = 0; k < bytes; k += 4) {
      const at = (va + k) | 0;
      // One translation per page the bytes touch (an exception frame is 20 bytes: one page, at most two).
      if (k === 0 || (at & PAGE_MASK) < 4) pa = vm.mmu.translate(at, ACCESS_WRITE, MODE_SUPERVISOR, true);
      else if (pa >= 0) pa += 4;
      if (pa >= 0 && this.traced.has(pa & FRAME)) this.tracedWrite(pa);
    }
  }

  /** Recompute one shadow entry from the guest's directory and table entries. */
  private refreshEntry(ctx: Context, slot: number, index: number): void {
    const va = (slot << 22) | (index << PAGE_SHIFT);
    const g = this.p.vm.mem.i32;
    const pde = g[(ctx.dir >>> 2) + slot];
    const pte = (pde & PTE_P) !== 0 ? g[((pde & FRAME) >>> 2) + index] : 0;
    const perm = pde & pte & (PTE_W | PTE_U);
    const allowed = (pte & PTE_P) !== 0 && (!this.perMode || ctx.mode !== MODE_USER || (perm & PTE_U) !== 0);
    const frame = pte & FRAME;
    if (!allowed || frame >>> 0 >= this.p.vm.mem.size) {
      this.clearEntry(ctx.id, va);
      return;
    }
    this.build(ctx, va, frame, perm);
  }

  /** invlpg: tracing keeps the shadows coherent; only the hardware TLB entry must go. */
  invalidate(va: number): void {
    this.p.phys.mmu.invalidate(va);
  }
}
