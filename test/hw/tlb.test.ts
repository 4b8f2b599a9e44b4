/**
 * The modeled TLB (64 entries, 4-way) and the host's fast slots in front of it. The fast slots are larger than the
 * TLB (fewer host-side conflicts), so these tests pin down that they never hold a page the modeled TLB has
 * dropped: what the guest sees, and the walks counted, are the modeled TLB's alone.
 */
import { describe, expect, it } from 'vitest';
import { CR_CTRL, CR_PTBR, CTRL_PG, PAGE_SHIFT, PTE_P, PTE_U, PTE_W } from '../../src/isa/arch.js';
import { Machine } from '../../src/hw/machine.js';
import { ACCESS_READ, FAST_SLOTS, TLB_SETS, TLB_WAYS } from '../../src/hw/mmu.js';

const DIR = 0x10000;
/** Two page tables, one after the other: virtual pages 0..2047 (the first 8 MB). */
const TABLE = 0x11000;
const MAPPED_PAGES = 2048;

/** A machine with paging on: virtual page v of the first 8 MB maps to frame frameOf(v). */
function paged(frameOf: (vpn: number) => number): Machine {
  const m = new Machine({ memoryBytes: 16 << 20 });
  for (let d = 0; d < MAPPED_PAGES / 1024; d++) m.mem.i32[(DIR >> 2) + d] = (TABLE + d * 0x1000) | PTE_P | PTE_W | PTE_U;
  for (let v = 0; v < MAPPED_PAGES; v++) m.mem.i32[(TABLE >> 2) + v] = (frameOf(v) << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U;
  m.cpu.cr[CR_PTBR] = DIR;
  m.cpu.cr[CR_CTRL] = CTRL_PG;
  return m;
}

describe('fast slots stay a subset of the modeled TLB', () => {
  it('the fast slots outnumber the TLB entries (so slot conflicts are rarer than TLB conflicts)', () => {
    expect(FAST_SLOTS).toBeGreaterThan(TLB_SETS * TLB_WAYS);
  });

  it('a page evicted from its TLB set is walked again, and sees its page-table entry as it is now', () => {
    const m = paged((v) => 0x800 + v);
    const mmu = m.mmu;
    // TLB_WAYS + 1 pages of the same set, each in a different fast slot: the last one evicts the first (round robin).
    const pages = Array.from({ length: TLB_WAYS + 1 }, (_, i) => 1 + i * TLB_SETS);
    for (const v of pages) expect(mmu.translate(v << PAGE_SHIFT, ACCESS_READ, 0)).toBe((0x800 + v) << PAGE_SHIFT);
    expect(mmu.walks).toBe(pages.length);
    // Remap the first page without invalidating: a stale entry anywhere (TLB or fast slot) would still give the old frame.
    m.mem.i32[(TABLE >> 2) + pages[0]] = (0x300 << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U;
    expect(mmu.translate(pages[0] << PAGE_SHIFT, ACCESS_READ, 0)).toBe(0x300 << PAGE_SHIFT);
    expect(mmu.walks).toBe(pages.length + 1);
  });

  it('a page still in the TLB is not walked again, even when another page took its fast slot', () => {
    const m = paged((v) => 0x800 + v);
    const mmu = m.mmu;
    // Pages FAST_SLOTS apart share a fast slot (and here a TLB set, which has room for both).
    const a = 2;
    const b = a + FAST_SLOTS;
    expect(b).toBeLessThan(MAPPED_PAGES);
    mmu.translate(a << PAGE_SHIFT, ACCESS_READ, 0);
    mmu.translate(b << PAGE_SHIFT, ACCESS_READ, 0);
    const walks = mmu.walks;
    expect(mmu.translate(a << PAGE_SHIFT, ACCESS_READ, 0)).toBe((0x800 + a) << PAGE_SHIFT);
    expect(mmu.walks).toBe(walks);
  });

  it('a flush empties every fast slot that was filled: the next accesses walk', () => {
    const m = paged((v) => 0x800 + v);
    const mmu = m.mmu;
    for (let v = 0; v < 40; v++) mmu.translate(v << PAGE_SHIFT, ACCESS_READ, 0);
    const walks = mmu.walks;
    mmu.flush();
    for (let v = 0; v < 40; v++) expect(mmu.fastRead[0][v % FAST_SLOTS]).toBe(-1);
    mmu.translate(7 << PAGE_SHIFT, ACCESS_READ, 0);
    expect(mmu.walks).toBe(walks + 1);
  });
});
