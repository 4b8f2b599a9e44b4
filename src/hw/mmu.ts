/**
 * The MMU: a modeled TLB plus the two-level page walk.
 *
 * The modeled TLB has TLB_ENTRIES entries, TLB_WAYS-way set associative (the set is the virtual page number mod
 * TLB_SETS), with round-robin replacement in each set — small and associative like a real data TLB, so pages
 * that happen to share an index do not evict each other. Each entry holds the page's frame and its effective
 * permission (PDE & PTE). A miss walks the tables (2 memory references) and refills an entry; only misses and
 * walks are priced, so they are what we count.
 *
 * For speed the generated code does not search the modeled TLB: it reads a direct-mapped cache of it, FAST_SLOTS
 * slots indexed by virtual page number (`vpn`, `perm`, `phys`), through four "fast tag" arrays (supervisor
 * read/write, user read/write) that hold the VPN where that access is allowed without further checks, and -1
 * elsewhere. A slot is only ever filled from a modeled entry and is cleared when that entry is evicted,
 * invalidated or flushed, so a fast hit is always a modeled hit; a slot miss that finds the page in the modeled
 * TLB is a hit too, and only a miss there walks. Writes to a frame that holds translated code are kept off the
 * fast path so the translator can invalidate (like QEMU's TLB_NOTDIRTY); that never counts as a miss.
 *
 * Without paging (CTRL.PG = 0) translation is the identity, entries are filled the same way, and user mode
 * may access all memory. An access beyond the end of physical memory is a machine check.
 */
import {
  CR_CTRL,
  CTRL_PG,
  MODE_USER,
  PAGE_MASK,
  PAGE_SHIFT,
  PF_FETCH,
  PF_PROTECTION,
  PF_USER,
  PF_WRITE,
  PTE_P,
  PTE_U,
  PTE_W,
  VEC_PAGE_FAULT,
} from '../isa/arch.js';
import type { CpuState } from './cpu.js';
import type { PhysicalMemory } from './memory.js';

/** The modeled TLB: 64 entries, 4-way set associative (16 sets). */
export const TLB_ENTRIES = 64;
export const TLB_WAYS = 4;
export const TLB_SETS = TLB_ENTRIES / TLB_WAYS;
/**
 * The direct-mapped cache of the TLB that generated code reads: slot = virtual page number & FAST_MASK. It only
 * ever holds pages the modeled TLB holds (an eviction or invalidation there drops the slot), so its size is a
 * host detail, not part of the model — and with far more slots than TLB entries, pages that share a slot (and
 * so take the slow path on every alternate access) are rare: matmul's three matrices collided in 64 slots.
 * A flush clears only the slots used since the last one, so the size costs nothing there.
 */
export const FAST_SLOTS = 1024;
export const FAST_MASK = FAST_SLOTS - 1;

/** A fresh buffer for the fast slots' eight arrays: vpn and the four tag arrays empty (-1), the others 0. */
function slotBuffer(): Int32Array {
  const w = new Int32Array(8 * FAST_SLOTS);
  w.fill(-1, 0, FAST_SLOTS); // vpn
  w.fill(-1, 3 * FAST_SLOTS, 7 * FAST_SLOTS); // the four tag arrays
  return w;
}

export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_FETCH = 2;
export type Access = typeof ACCESS_READ | typeof ACCESS_WRITE | typeof ACCESS_FETCH;

/**
 * Why an access stopped the machine: `what` a translation of `va` reached at `pa` (a page frame, a table entry), or
 * null when paging is off and `va` is itself the physical address. (The VT-x VMM repeats it in bare metal's words.)
 */
export function outsideMemoryMessage(what: string | null, pa: number, va: number, memoryBytes: number): string {
  const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
  return what === null
    ? `physical address ${hex(va)} is outside physical memory (${memoryBytes} bytes; paging is off)`
    : `${what} at physical address ${hex(pa)} is outside physical memory (${memoryBytes} bytes), reached translating virtual address ${hex(va)}`;
}

/** Not an architectural vector: an access outside physical memory stops the machine ("machine check"). */
export const VEC_MACHINE_CHECK = 18;

/**
 * Not a guest exception: with nested paging on, a guest-physical address the nested page table does not map
 * (VT-x's EPT violation: a VM exit, never delivered to the guest). `addr` is the guest-physical address, `code`
 * the access (0 read, 1 write, 2 fetch) and `linear` the guest-virtual address being translated.
 */
export const VEC_EPT_VIOLATION = 0x100;

/** The exception an instruction raised: written by the MMU, the system operations and the generated code. */
export class FaultInfo {
  vector = 0;
  code = 0;
  /** Faulting address (page faults: the virtual address, saved to cr2 on delivery). */
  addr = 0;
  /** Extra explanation for non-architectural stops (machine check). */
  message = '';
  /** For an EPT violation: the guest-virtual address whose translation needed the guest-physical `addr`. */
  linear = 0;
  /** For an EPT violation: true if `addr` is the final translation, false if it held a guest page-table entry. */
  final = false;

  set(vector: number, code: number, addr: number, message = ''): void {
    this.vector = vector;
    this.code = code;
    this.addr = addr;
    this.message = message;
  }
}

export class Mmu {
  /** The modeled TLB, entry = set * TLB_WAYS + way: VPN (-1 = invalid), effective permission bits, frame. */
  private readonly tlbVpn = new Int32Array(TLB_ENTRIES).fill(-1);
  private readonly tlbPerm = new Int32Array(TLB_ENTRIES);
  private readonly tlbFrame = new Int32Array(TLB_ENTRIES);
  /** The way each set replaces next (round robin). */
  private readonly victim = new Uint8Array(TLB_SETS);
  /**
   * The fast slots' arrays share one buffer (one allocation per machine: the classifier builds a machine per
   * experiment). Laid out as: vpn, perm, phys, read tags (supervisor, user), write tags (supervisor, user), used.
   */
  private readonly slotWords = slotBuffer();
  /**
   * Fast slots filled since the last flush: a flush clears only those. (A VMM flushes on every world switch;
   * clearing all the slots and four tag arrays each time would cost more than the guest code in between.)
   */
  private readonly usedSlots = this.slotArray(7);
  private readonly slotListed = new Uint8Array(FAST_SLOTS);
  private usedCount = 0;
  /** The fast slots (a direct-mapped cache of the modeled TLB): VPN (-1 = empty), permission, frame. */
  readonly vpn = this.slotArray(0);
  readonly perm = this.slotArray(1);
  readonly phys = this.slotArray(2);
  /** Fast tags indexed by mode (0 supervisor, 1 user). */
  readonly fastRead: readonly [Int32Array, Int32Array] = [this.slotArray(3), this.slotArray(4)];
  readonly fastWrite: readonly [Int32Array, Int32Array] = [this.slotArray(5), this.slotArray(6)];

  /**
   * Frames holding translated or compiled code, one bit per watcher (a translator, the compiled fast path):
   * stores to them leave the fast path, and each watcher whose bit is set hears of them (codeWritten).
   */
  codeFrames: Uint8Array | null = null;
  private readonly codeWatchers: ((pa: number, size: number) => void)[] = [];


  /**
   * Nested paging (VT-x EPT): the physical address of the nested page table, or -1 (off). With it on, every
   * address the guest's walk produces — each table entry it reads and the final frame — is guest-physical and
   * is itself translated through the nested table: a two-dimensional walk.
   */
  ept = -1;

  /**
   * The translation of the page the CPU executes from: virtual page base (-1: none), (physical - virtual) >> 2,
   * and the mode it was made in. The CPU keeps it until pc leaves the page, the mode changes, the TLB is flushed
   * or invalidated, an exception is delivered or a system instruction executes — state of the CPU, so the
   * interpreter and compiled code, and every slicing of a run into exec calls, fetch through the TLB at exactly
   * the same points.
   */
  fetchPage = -1;
  fetchDelta = 0;
  fetchMode = 0;

  // Counters (plain fields: read by the metrics layer).
  walks = 0;
  /** Memory references of page walks (2 per walk without nested paging; up to (2+1)(2+1)-1 = 8 with it). */
  walkRefs = 0;
  /** Of walkRefs, the references to the nested table. */
  eptRefs = 0;
  flushes = 0;
  invalidations = 0;

  constructor(
    private readonly cpu: CpuState,
    private readonly mem: PhysicalMemory,
    /** Where a failed translation records its exception (shared with the machine). */
    private readonly fault: FaultInfo,
  ) {}

  /** Array `k` of the fast slots' buffer (see slotWords). */
  private slotArray(k: number): Int32Array {
    return this.slotWords.subarray(k * FAST_SLOTS, (k + 1) * FAST_SLOTS);
  }

  flush(): void {
    this.tlbVpn.fill(-1);
    const { usedSlots, slotListed, vpn, fastRead, fastWrite } = this;
    for (let i = 0; i < this.usedCount; i++) {
      const x = usedSlots[i];
      vpn[x] = -1;
      fastRead[0][x] = fastRead[1][x] = fastWrite[0][x] = fastWrite[1][x] = -1;
      slotListed[x] = 0;
    }
    this.usedCount = 0;
    this.fetchPage = -1;
    this.flushes++;
  }

  /** invlpg: drop the entry for one virtual address (if it is cached). */
  invalidate(va: number): void {
    const vpn = va >>> PAGE_SHIFT;
    this.invalidations++;
    this.fetchPage = -1;
    const e = this.entryOf(vpn);
    if (e >= 0) this.tlbVpn[e] = -1;
    this.dropSlot(vpn);
  }

  /** The modeled TLB entry holding vpn, or -1. */
  private entryOf(vpn: number): number {
    const first = (vpn & (TLB_SETS - 1)) * TLB_WAYS;
    for (let e = first; e < first + TLB_WAYS; e++) if (this.tlbVpn[e] === vpn) return e;
    return -1;
  }

  /** Empty the fast slot of vpn if it holds vpn. */
  private dropSlot(vpn: number): void {
    const x = vpn & FAST_MASK;
    if (this.vpn[x] !== vpn) return;
    this.vpn[x] = -1;
    this.fastRead[0][x] = this.fastRead[1][x] = this.fastWrite[0][x] = this.fastWrite[1][x] = -1;
  }

  /** The cached translation of a virtual page, as (frame | permission bits), or -1 if the TLB does not hold it. */
  cached(vpn: number): number {
    const e = this.entryOf(vpn);
    return e < 0 ? -1 : this.tlbFrame[e] | this.tlbPerm[e];
  }

  /** Register a watcher of writes to code frames; returns its bit for markCode/unmarkCode. */
  watchCode(onWrite: (pa: number, size: number) => void): number {
    if (this.codeWatchers.length >= 8) throw new Error('at most 8 code watchers');
    this.codeFrames ??= new Uint8Array(Math.ceil(this.mem.size / (PAGE_MASK + 1)));
    this.codeWatchers.push(onWrite);
    return 1 << (this.codeWatchers.length - 1);
  }

  /** A watcher has code in `frame`: stores to it must leave the fast path from now on. */
  markCode(frame: number, bit: number): void {
    const f = this.codeFrames;
    if (f === null || frame >= f.length) return;
    if (f[frame] === 0) this.clearFast();
    f[frame] |= bit;
  }

  unmarkCode(frame: number, bit: number): void {
    const f = this.codeFrames;
    if (f !== null && frame < f.length) f[frame] &= ~bit;
  }

  /** Physical bytes [pa, pa + size) were written: tell the watchers with code in those frames. */
  codeWritten(pa: number, size: number): void {
    const f = this.codeFrames;
    if (f === null) return;
    for (let frame = pa >>> PAGE_SHIFT; frame <= (pa + size - 1) >>> PAGE_SHIFT && frame < f.length; frame++) {
      const bits = f[frame];
      if (bits === 0) continue;
      for (let i = 0; i < this.codeWatchers.length; i++) if ((bits & (1 << i)) !== 0) this.codeWatchers[i]((frame << PAGE_SHIFT) | (pa & PAGE_MASK), size);
    }
  }

  /** Clear the fast tags only (e.g. after marking a frame as holding code); the modeled TLB is untouched. */
  clearFast(): void {
    const { usedSlots, fastRead, fastWrite } = this;
    for (let i = 0; i < this.usedCount; i++) {
      const x = usedSlots[i];
      fastRead[0][x] = fastRead[1][x] = fastWrite[0][x] = fastWrite[1][x] = -1;
    }
  }

  pagingEnabled(): boolean {
    return (this.cpu.cr[CR_CTRL] & CTRL_PG) !== 0;
  }

  /**
   * Translate a virtual address for an access in a mode. Returns the physical address, or -1 with
   * (A `probe` only checks: it does not report a write to a frame that holds translated code.)
   * the exception recorded in the shared FaultInfo (page fault or machine check).
   */
  translate(va: number, access: Access, mode: number, probe = false): number {
    const vpn = va >>> PAGE_SHIFT;
    const x = vpn & FAST_MASK;
    if (this.vpn[x] !== vpn && !this.fill(va, access, mode)) return -1;
    const perm = this.perm[x];
    const user = mode === MODE_USER;
    if ((user && (perm & PTE_U) === 0) || (access === ACCESS_WRITE && (perm & PTE_W) === 0)) {
      return this.pageFault(va, PF_PROTECTION, access, mode);
    }
    const frame = this.phys[x];
    const code = this.codeFrames !== null && this.codeFrames[frame >>> PAGE_SHIFT] !== 0;
    // Publish fast tags for the accesses this entry allows.
    this.fastRead[0][x] = vpn;
    this.fastRead[1][x] = (perm & PTE_U) !== 0 ? vpn : -1;
    this.fastWrite[0][x] = (perm & PTE_W) !== 0 && !code ? vpn : -1;
    this.fastWrite[1][x] = (perm & (PTE_W | PTE_U)) === (PTE_W | PTE_U) && !code ? vpn : -1;
    const pa = frame | (va & PAGE_MASK);
    if (code && access === ACCESS_WRITE && !probe) this.codeWritten(pa, 4);
    return pa;
  }

  /**
   * Fill the fast slot of va: from the modeled TLB when it holds the page (a hit), else by walking the tables
   * (or mapping identically without paging) into a new TLB entry.
   */
  private fill(va: number, access: Access, mode: number): boolean {
    const vpn = va >>> PAGE_SHIFT;
    const hit = this.entryOf(vpn);
    if (hit >= 0) {
      this.setSlot(vpn, this.tlbPerm[hit], this.tlbFrame[hit]);
      return true;
    }
    let frame: number;
    let perm: number;
    if (!this.pagingEnabled()) {
      frame = vpn << PAGE_SHIFT;
      perm = PTE_W | PTE_U;
      if (this.ept >= 0) this.walks++;
    } else {
      this.walks++;
      const pdeAddr = this.tableAddress((this.cpu.cr[3] & ~PAGE_MASK) + ((va >>> 22) << 2), va, 'page-directory entry');
      if (pdeAddr < 0) return false;
      const pde = this.mem.i32[pdeAddr >>> 2];
      this.walkRefs++;
      if ((pde & PTE_P) === 0) return this.pageFault(va, 0, access, mode) >= 0;
      const pteAddr = this.tableAddress((pde & ~PAGE_MASK) + (((va >>> PAGE_SHIFT) & 0x3ff) << 2), va, 'page-table entry');
      if (pteAddr < 0) return false;
      const pte = this.mem.i32[pteAddr >>> 2];
      this.walkRefs++;
      if ((pte & PTE_P) === 0) return this.pageFault(va, 0, access, mode) >= 0;
      frame = pte & ~PAGE_MASK;
      perm = pde & pte & (PTE_W | PTE_U);
    }
    if (this.ept >= 0) {
      // The final guest-physical frame goes through the nested table too.
      frame = this.nested(frame, va, access, true);
      if (frame < 0) return false;
    }
    if (!this.inRam(frame, va, this.pagingEnabled() ? 'page frame' : null)) return false;
    // A new entry in the page's set, replacing the next way round; the fast slot of the page it evicts goes too.
    const set = vpn & (TLB_SETS - 1);
    const e = set * TLB_WAYS + this.victim[set];
    this.victim[set] = (this.victim[set] + 1) % TLB_WAYS;
    if (this.tlbVpn[e] >= 0) this.dropSlot(this.tlbVpn[e]);
    this.tlbVpn[e] = vpn;
    this.tlbPerm[e] = perm;
    this.tlbFrame[e] = frame;
    this.setSlot(vpn, perm, frame);
    return true;
  }

  private setSlot(vpn: number, perm: number, frame: number): void {
    const x = vpn & FAST_MASK;
    if (this.slotListed[x] === 0) {
      this.slotListed[x] = 1;
      this.usedSlots[this.usedCount++] = x;
    }
    // Replacing a slot must drop the fast tags that belonged to the old page.
    this.fastRead[0][x] = this.fastRead[1][x] = this.fastWrite[0][x] = this.fastWrite[1][x] = -1;
    this.vpn[x] = vpn;
    this.perm[x] = perm;
    this.phys[x] = frame;
  }

  /** The physical address of a guest page-table entry (through the nested table when it is on), or -1. */
  private tableAddress(pa: number, va: number, what: string): number {
    // Reading a table entry is a read, whatever the access being translated (no accessed/dirty bits here).
    const a = this.ept >= 0 ? this.nested(pa, va, ACCESS_READ, false) : pa;
    return a >= 0 && this.inRam(a, va, what) ? a : -1;
  }

  /**
   * Translate a guest-physical address through the nested table (two references: its directory and table
   * entries). -1 with an EPT violation recorded when it is not mapped (writable, for a write).
   */
  private nested(gpa: number, va: number, access: Access, final: boolean): number {
    const i32 = this.mem.i32;
    this.walkRefs += 2;
    this.eptRefs += 2;
    const pde = i32[(this.ept >>> 2) + (gpa >>> 22)];
    const pte = (pde & PTE_P) !== 0 ? i32[((pde & ~PAGE_MASK) >>> 2) + ((gpa >>> PAGE_SHIFT) & 0x3ff)] : 0;
    if ((pte & PTE_P) === 0 || (access === ACCESS_WRITE && (pte & PTE_W) === 0)) {
      this.fault.set(VEC_EPT_VIOLATION, access, gpa);
      this.fault.linear = va;
      this.fault.final = final;
      return -1;
    }
    return (pte & ~PAGE_MASK) | (gpa & PAGE_MASK);
  }

  private inRam(pa: number, va: number, what: string | null): boolean {
    if (pa >>> 0 < this.mem.size) return true;
    this.fault.set(VEC_MACHINE_CHECK, 0, va, outsideMemoryMessage(what, pa, va, this.mem.size));
    return false;
  }

  /** Record a page fault; always returns -1. */
  private pageFault(va: number, protection: number, access: Access, mode: number): number {
    const code =
      protection |
      (access === ACCESS_WRITE ? PF_WRITE : 0) |
      (access === ACCESS_FETCH ? PF_FETCH : 0) |
      (mode === MODE_USER ? PF_USER : 0);
    this.fault.set(VEC_PAGE_FAULT, code, va);
    return -1;
  }
}
