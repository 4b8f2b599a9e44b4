/**
 * Paravirtual memory management: the guest's own page tables, used by the hardware, validated by the hypervisor.
 * No shadow page tables (Xen's "direct paging", Barham et al., SOSP 2003).
 *
 *  - **Pinning.** MMUEXT_NEW_BASEPTR validates a page directory and every table it references (each present
 *    entry may map only guest RAM), then the hardware walks exactly those tables while guest kernel code runs.
 *    From then on the hypervisor owns them: the guest changes them only with HC_MMU_UPDATE, which validates
 *    each entry (it must lie in a page-table page the hypervisor knows — the pinned directory or a table it
 *    references — and map only guest RAM; a new directory entry makes its table known, after validating it)
 *    and keeps the TLB coherent with what it changed (a table entry: the addresses it maps; a directory entry:
 *    a flush).
 *  - **Page-table pages are read-only to the guest** (Xen's page-type rule): an entry that maps a page-table
 *    page is kept without W. The paravirtual kernel's identity map maps everything writable, so the
 *    hypervisor clears W itself (and restores it when the page stops being a page table). Without this a
 *    guest store could change a translation behind the hypervisor's back — even map the hypervisor's own
 *    frames, which lie above guest RAM in physical memory.
 *  - **Ring compression without shadows.** The guest kernel runs in physical user mode, so its pages must be
 *    user-accessible to the hardware; it marks them PTE_KONLY (bit 9, ignored by the hardware). For guest user
 *    code the hypervisor runs the hardware on a *user view*: its own copy of the directory, whose entries point
 *    to filtered copies of the tables that contain kernel-only entries (those entries cleared) and straight at
 *    the guest's tables otherwise. Every validated update keeps the view coherent. These copies are not
 *    shadows: they are built eagerly, never filled by faults, and exist only for the tables that mix kernel and
 *    user mappings (two, for the virtstrat kernel's identity map of 8 MiB).
 *
 * Before the guest pins a directory its "paging is off": the hypervisor runs it on an identity map of guest
 * RAM of its own (as Xen's domain builder starts a guest with paging on).
 */
import { CR_CTRL, CR_PTBR, CTRL_PG, MODE_USER, PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, PTE_P, PTE_U, PTE_W } from '../isa/arch.js';
import type { GuestPlatform } from './platform.js';
import { PTE_KONLY } from './pv-abi.js';

const ENTRIES = 1024;
const FRAME = ~PAGE_MASK;

interface TableInfo {
  /** Directory slots whose entry references this table (the addresses it maps are slot << 22 | index << 12). */
  readonly slots: Set<number>;
  /** The filtered copy used by the user view, or -1 while the table holds no kernel-only entry. */
  copy: number;
}

/** What the hardware may see of an entry while guest user code runs. */
function userEntry(e: number): number {
  return (e & PTE_P) !== 0 && (e & PTE_KONLY) !== 0 ? 0 : e;
}

export class PvMmu {
  private readonly w: Int32Array;
  /** Bytes of guest RAM: the only physical memory a guest entry may map. */
  readonly ram: number;
  private readonly bootDir: number;
  /** The pinned guest page directory (physical), or -1 before MMUEXT_NEW_BASEPTR. */
  private dir = -1;
  private userDir = -1;
  private readonly tables = new Map<number, TableInfo>();
  /** Entries whose W bit the hypervisor cleared because they map a page-table page: entry address -> that page. */
  private readonly writeProtected = new Map<number, number>();

  // Statistics (reported in the engine's details).
  /** Filtered copies made for the user view (each pin of a directory makes its own). */
  userViewCopies = 0;
  updatesApplied = 0;
  updatesRejected = 0;

  constructor(
    private readonly p: GuestPlatform,
    /** Called when the page-table base of a mode changed (the VMM must reload it before the guest runs). */
    private readonly onBaseChanged: () => void,
  ) {
    this.w = p.phys.mem.i32;
    this.ram = p.vm.mem.size;
    this.bootDir = this.buildIdentityMap();
  }

  /** The physical page-table base for a virtual mode. */
  base(mode: number): number {
    if (this.dir < 0) return this.bootDir;
    return mode === MODE_USER ? this.userDir : this.dir;
  }

  get pinned(): boolean {
    return this.dir >= 0;
  }

  /** Tables of the pinned directory that the user view shows as filtered copies (they mix kernel-only and user entries). */
  get userViewTables(): number {
    let n = 0;
    for (const t of this.tables.values()) if (t.copy >= 0) n++;
    return n;
  }

  /** Page-table pages the hypervisor owns now (directory included). */
  get ownedPages(): number {
    return this.dir < 0 ? 0 : this.tables.size + 1;
  }

  /** Entries the hypervisor keeps without W because they map a page-table page. */
  get writeProtectedEntries(): number {
    return this.writeProtected.size;
  }

  /** Does [pa, pa + length) lie inside guest RAM? */
  inRam(pa: number, length = 1): boolean {
    return pa >= 0 && length >= 0 && pa + length <= this.ram;
  }

  isPageTable(frame: number): boolean {
    return frame === this.dir || this.tables.has(frame);
  }

  /** Does [pa, pa + length) touch a page-table page (a DMA there would bypass validation)? */
  touchesPageTables(pa: number, length: number): boolean {
    if (length <= 0) return false;
    for (let f = pa & FRAME; f < pa + length; f += PAGE_SIZE) if (this.isPageTable(f)) return true;
    return false;
  }

  /** Is va mapped (present) in the guest's own tables? (The P bit of the guest-visible error code.) */
  guestMapsPresent(va: number): boolean {
    if (this.dir < 0) return va >>> 0 < this.ram;
    const pde = this.w[(this.dir >>> 2) + (va >>> 22)];
    if ((pde & PTE_P) === 0) return false;
    return (this.w[((pde & FRAME) >>> 2) + ((va >>> PAGE_SHIFT) & 0x3ff)] & PTE_P) !== 0;
  }

  // --- MMUEXT_NEW_BASEPTR ----------------------------------------------------------------------------------

  /** Validate directory `value` (physical, low bits ignored) and its tables, and switch to it. */
  newBaseptr(value: number): boolean {
    const d = value & FRAME;
    if (!this.inRam(d, PAGE_SIZE)) return false;
    const base = d >>> 2;
    for (let i = 0; i < ENTRIES; i++) {
      const pde = this.w[base + i];
      if ((pde & PTE_P) !== 0 && !this.validTableFor(pde & FRAME, d)) return false;
    }
    this.unpin();
    this.dir = d;
    if (this.userDir < 0) this.userDir = this.newFrame();
    for (let i = 0; i < ENTRIES; i++) {
      const pde = this.w[base + i];
      if ((pde & PTE_P) !== 0) this.attach(pde & FRAME, i);
    }
    this.writeProtectAll();
    for (let i = 0; i < ENTRIES; i++) this.refreshUserPde(i);
    const vm = this.p.vm;
    vm.cpu.cr[CR_PTBR] = d;
    vm.cpu.cr[CR_CTRL] |= CTRL_PG;
    this.flushTlbs();
    this.onBaseChanged();
    return true;
  }

  /** Forget the pinned directory: its pages become ordinary guest memory again. */
  private unpin(): void {
    if (this.dir < 0) return;
    for (const [entry, frame] of this.writeProtected) this.restoreWrite(entry, frame, false);
    this.writeProtected.clear();
    for (const t of this.tables.values()) if (t.copy >= 0) this.p.vmmFrames.release(t.copy);
    this.tables.clear();
    this.dir = -1;
  }

  // --- HC_MMU_UPDATE -------------------------------------------------------------------------------------

  /** One validated update: the entry at physical address `entry` becomes `value`. False: rejected, nothing changed. */
  update(entry: number, value: number): boolean {
    const ok = this.tryUpdate(entry, value);
    if (ok) this.updatesApplied++;
    else this.updatesRejected++;
    return ok;
  }

  private tryUpdate(entry: number, value: number): boolean {
    if (this.dir < 0 || (entry & 3) !== 0 || !this.inRam(entry, 4)) return false;
    const table = entry & FRAME;
    const index = (entry >>> 2) & 0x3ff;
    if (table === this.dir) return this.updatePde(index, value);
    if (this.tables.has(table)) return this.updatePte(table, index, value);
    return false; // not a page-table page the hypervisor knows
  }

  private updatePde(slot: number, value: number): boolean {
    const at = (this.dir >>> 2) + slot;
    const old = this.w[at];
    // (Frames are compared as signed words: one at 2 GiB or above is negative, and never inside guest RAM.)
    const present = (value & PTE_P) !== 0;
    const wasPresent = (old & PTE_P) !== 0;
    const newTable = value & FRAME;
    const oldTable = old & FRAME;
    if (present && !this.tables.has(newTable) && !this.validTableFor(newTable, this.dir)) return false;
    this.w[at] = value;
    if (present !== wasPresent || newTable !== oldTable) {
      const fresh = present && this.attach(newTable, slot);
      if (wasPresent) this.detach(oldTable, slot);
      // A new page-table page: mappings of it (and its own mappings of page-table pages) lose W.
      if (fresh) this.writeProtectAll();
    }
    this.refreshUserPde(slot);
    this.flushTlbs();
    return true;
  }

  private updatePte(table: number, index: number, value: number): boolean {
    let v = value;
    const entry = table + 4 * index;
    if ((v & PTE_P) !== 0 && !this.inRam(v & FRAME, PAGE_SIZE)) return false;
    this.writeProtected.delete(entry);
    if ((v & PTE_P) !== 0 && (v & PTE_W) !== 0 && this.isPageTable(v & FRAME)) {
      v &= ~PTE_W;
      this.writeProtected.set(entry, v & FRAME);
    }
    this.setEntry(table, index, v);
    return true;
  }

  // --- MMUEXT_INVLPG -------------------------------------------------------------------------------------

  invalidate(va: number): void {
    this.p.phys.mmu.invalidate(va);
    this.p.vm.mmu.invalidate(va);
  }

  // --- Internals -----------------------------------------------------------------------------------------

  /** May `table` serve as a page table under directory `dir`: in RAM, not the directory, maps only RAM? */
  private validTableFor(table: number, dir: number): boolean {
    if (!this.inRam(table, PAGE_SIZE) || table === dir) return false;
    const base = table >>> 2;
    for (let i = 0; i < ENTRIES; i++) {
      const e = this.w[base + i];
      if ((e & PTE_P) !== 0 && !this.inRam(e & FRAME, PAGE_SIZE)) return false;
    }
    return true;
  }

  /** Record that directory slot `slot` references `table`; true if the table was not known before. */
  private attach(table: number, slot: number): boolean {
    let t = this.tables.get(table);
    const fresh = t === undefined;
    if (t === undefined) {
      t = { slots: new Set(), copy: -1 };
      this.tables.set(table, t);
      if (this.holdsKernelOnly(table)) this.makeUserCopy(table, t);
    }
    t.slots.add(slot);
    return fresh;
  }

  private detach(table: number, slot: number): void {
    const t = this.tables.get(table);
    if (t === undefined) return;
    t.slots.delete(slot);
    if (t.slots.size > 0) return;
    this.tables.delete(table);
    if (t.copy >= 0) this.p.vmmFrames.release(t.copy);
    // No longer a page table: the mappings of it the hypervisor made read-only get their W back, and so do the
    // entries of it that map page tables (the hypervisor only write-protects inside the tables it owns).
    for (const [entry, frame] of this.writeProtected) {
      if (frame === table || (entry & FRAME) === table) {
        this.writeProtected.delete(entry);
        this.restoreWrite(entry, frame, true);
      }
    }
  }

  private restoreWrite(entry: number, frame: number, coherent: boolean): void {
    const e = this.w[entry >>> 2];
    if ((e & PTE_P) === 0 || (e & FRAME) !== frame) return;
    const table = entry & FRAME;
    if (coherent && this.tables.has(table)) this.setEntry(table, (entry >>> 2) & 0x3ff, e | PTE_W);
    else this.w[entry >>> 2] = e | PTE_W;
  }

  /** Clear W in every entry of a known table that maps a page-table page. */
  private writeProtectAll(): void {
    for (const table of this.tables.keys()) {
      const base = table >>> 2;
      for (let i = 0; i < ENTRIES; i++) {
        const e = this.w[base + i];
        if ((e & (PTE_P | PTE_W)) === (PTE_P | PTE_W) && this.isPageTable(e & FRAME)) {
          this.writeProtected.set(table + 4 * i, e & FRAME);
          this.setEntry(table, i, e & ~PTE_W);
        }
      }
    }
  }

  /** Write one entry of a known table, keeping the user view and the TLBs coherent with it. */
  private setEntry(table: number, index: number, value: number): void {
    this.w[(table >>> 2) + index] = value;
    const t = this.tables.get(table)!;
    if (t.copy >= 0) this.w[(t.copy >>> 2) + index] = userEntry(value);
    else if (userEntry(value) !== value) this.makeUserCopy(table, t);
    for (const slot of t.slots) this.invalidate((slot << 22) | (index << PAGE_SHIFT));
  }

  private holdsKernelOnly(table: number): boolean {
    const base = table >>> 2;
    for (let i = 0; i < ENTRIES; i++) if (userEntry(this.w[base + i]) !== this.w[base + i]) return true;
    return false;
  }

  /** The table now holds kernel-only entries: give the user view a filtered copy of it. */
  private makeUserCopy(table: number, t: TableInfo): void {
    const copy = this.newFrame();
    const from = table >>> 2;
    const to = copy >>> 2;
    for (let i = 0; i < ENTRIES; i++) this.w[to + i] = userEntry(this.w[from + i]);
    t.copy = copy;
    this.userViewCopies++;
    for (const slot of t.slots) this.refreshUserPde(slot);
    this.flushTlbs();
  }

  /** Directory slot `slot` of the user view, derived from the guest's. */
  private refreshUserPde(slot: number): void {
    const pde = this.w[(this.dir >>> 2) + slot];
    let u = 0;
    if ((pde & PTE_P) !== 0 && (pde & PTE_KONLY) === 0) {
      const t = this.tables.get(pde & FRAME);
      u = t !== undefined && t.copy >= 0 ? t.copy | (pde & PAGE_MASK) : pde;
    }
    this.w[(this.userDir >>> 2) + slot] = u;
  }

  private flushTlbs(): void {
    this.p.phys.mmu.flush();
    this.p.vm.mmu.flush();
  }

  private newFrame(): number {
    const f = this.p.vmmFrames.alloc();
    this.p.phys.mem.u8.fill(0, f, f + PAGE_SIZE);
    return f;
  }

  /** The hypervisor's identity map of guest RAM, used until the guest pins a directory ("paging off"). */
  private buildIdentityMap(): number {
    const dir = this.newFrame();
    for (let pa = 0; pa < this.ram; pa += PAGE_SIZE) {
      const slot = pa >>> 22;
      let pde = this.w[(dir >>> 2) + slot];
      if ((pde & PTE_P) === 0) {
        pde = this.newFrame() | PTE_P | PTE_W | PTE_U;
        this.w[(dir >>> 2) + slot] = pde;
      }
      this.w[((pde & FRAME) >>> 2) + ((pa >>> PAGE_SHIFT) & 0x3ff)] = pa | PTE_P | PTE_W | PTE_U;
    }
    return dir;
  }
}
