/**
 * The memory layout of every generated machine state: a small physical memory, a window of virtual pages with
 * different permissions (code, user data, supervisor-only, read-only, stack), and one page whose TLB entry is
 * stale (the TLB still names an old frame), so that dropping a TLB entry is an observable change of the memory
 * map. With paging off the window is identity-mapped; with paging on every page, the page directory and the page
 * table sit in frames chosen by a `Placement`, which is what a relocated twin state changes.
 */
import { PAGE_SHIFT, PAGE_SIZE, PTE_P, PTE_U, PTE_W } from '../isa/arch.js';
import type { Machine } from '../hw/machine.js';
import { randInt, type Rand } from './rng.js';

export const FRAMES = 24;
export const MEMORY_BYTES = FRAMES * PAGE_SIZE;
const WORDS_PER_PAGE = PAGE_SIZE >> 2;

export type PageRole = 'code' | 'data' | 'supervisor' | 'read-only' | 'stack' | 'stale-tlb';

export interface PageSpec {
  readonly vpn: number;
  readonly role: PageRole;
  /** PTE_U / PTE_W bits of its page-table entry. */
  readonly perm: number;
}

/**
 * The virtual window. VPNs 8..16 use TLB slots 8..16 (the TLB is direct-mapped, 64 entries), so no access to
 * the window evicts the stale entry of page 16: only invlpg and flushes can change what it maps to.
 */
export const PAGES: readonly PageSpec[] = [
  { vpn: 8, role: 'code', perm: PTE_U },
  { vpn: 9, role: 'data', perm: PTE_U | PTE_W },
  { vpn: 10, role: 'data', perm: PTE_U | PTE_W },
  { vpn: 11, role: 'supervisor', perm: PTE_W },
  { vpn: 12, role: 'read-only', perm: PTE_U },
  { vpn: 13, role: 'data', perm: PTE_U | PTE_W },
  { vpn: 14, role: 'stack', perm: PTE_U | PTE_W },
  { vpn: 15, role: 'data', perm: PTE_U | PTE_W },
  { vpn: 16, role: 'stale-tlb', perm: PTE_U | PTE_W },
];
export const CODE_PAGE = 0;
export const STACK_PAGE = 6;
export const STALE_PAGE = 8;

export const pageVa = (i: number): number => PAGES[i].vpn << PAGE_SHIFT;

/** Where things are in physical memory (frame numbers). */
export interface Placement {
  readonly pd: number;
  readonly pt: number;
  /** The frame each page of PAGES maps to in the page table. */
  readonly frames: readonly number[];
  /** The frame the TLB (stalely) holds for the stale-tlb page; -1 with paging off. */
  readonly staleCached: number;
}

/** The contents of the window as the program sees it, page by page, plus what the stale page really maps to. */
export interface Contents {
  readonly pages: readonly Int32Array[];
  /** Contents of the frame the stale page's page-table entry names (visible after invlpg or a flush). */
  readonly staleFresh: Int32Array;
}

/** Paging off: the window at its own physical addresses; the (unused but sane) page tables in free frames. */
export function identityPlacement(r: Rand): Placement {
  const used = new Set(PAGES.map((p) => p.vpn));
  const free = Array.from({ length: FRAMES }, (_, f) => f).filter((f) => !used.has(f) && f !== 0);
  const pd = free.splice(randInt(r, 0, free.length - 1), 1)[0];
  const pt = free.splice(randInt(r, 0, free.length - 1), 1)[0];
  return { pd, pt, frames: PAGES.map((p) => p.vpn), staleCached: -1 };
}

/** Paging on: every page, the page directory and the page table in random distinct frames. */
export function randomPlacement(r: Rand): Placement {
  const f = Array.from({ length: FRAMES }, (_, i) => i);
  for (let i = f.length - 1; i > 0; i--) {
    const j = randInt(r, 0, i);
    [f[i], f[j]] = [f[j], f[i]];
  }
  return { pd: f[0], pt: f[1], frames: f.slice(2, 2 + PAGES.length), staleCached: f[2 + PAGES.length] };
}

/** The same layout with every frame moved by `shift` (1..FRAMES-1): same contents, other physical places. */
export function relocate(p: Placement, shift: number): Placement {
  const move = (f: number) => (f + shift) % FRAMES;
  return { pd: move(p.pd), pt: move(p.pt), frames: p.frames.map(move), staleCached: p.staleCached < 0 ? -1 : move(p.staleCached) };
}

/** Physical memory contents for a placement (page tables included). */
export function buildImage(p: Placement, c: Contents, paging: boolean): Int32Array {
  const img = new Int32Array(MEMORY_BYTES >> 2);
  PAGES.forEach((spec, i) => {
    // With paging on, the stale page shows its TLB frame's contents; its table frame holds the fresh contents.
    const visibleFrame = paging && i === STALE_PAGE ? p.staleCached : p.frames[i];
    img.set(c.pages[i], visibleFrame * WORDS_PER_PAGE);
    if (paging && i === STALE_PAGE) img.set(c.staleFresh, p.frames[i] * WORDS_PER_PAGE);
  });
  img[p.pd * WORDS_PER_PAGE] = (p.pt << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U;
  PAGES.forEach((spec, i) => {
    img[p.pt * WORDS_PER_PAGE + spec.vpn] = (p.frames[i] << PAGE_SHIFT) | PTE_P | spec.perm;
  });
  return img;
}

const NOT_MAPPED = -1;
const OUTSIDE_MEMORY = -2;

/** Read-only page walk (no TLB fill, no counters): frame | permission bits | P, or NOT_MAPPED / OUTSIDE_MEMORY. */
function walk(m: Machine, ptbr: number, va: number): number {
  const words = m.mem.i32;
  const pdeAt = ((ptbr & ~0xfff) >>> 2) + (va >>> 22);
  if (pdeAt >= words.length) return OUTSIDE_MEMORY;
  const pde = words[pdeAt];
  if ((pde & PTE_P) === 0) return NOT_MAPPED;
  const pteAt = ((pde & ~0xfff) >>> 2) + ((va >>> PAGE_SHIFT) & 0x3ff);
  if (pteAt >= words.length) return OUTSIDE_MEMORY;
  const pte = words[pteAt];
  if ((pte & PTE_P) === 0) return NOT_MAPPED;
  return (pte & ~0xfff) | (pde & pte & (PTE_W | PTE_U)) | PTE_P;
}

/**
 * The memory map the processor uses right now for each window page: the TLB entry if it holds one (the TLB is
 * not coherent with the tables, so a stale entry is what the processor uses), else the page tables.
 */
export function effectiveMap(m: Machine): number[] {
  const paging = m.pagingEnabled();
  return PAGES.map((spec) => {
    const va = spec.vpn << PAGE_SHIFT;
    if (!paging) return va | PTE_W | PTE_U | PTE_P;
    const cached = m.mmu.cached(spec.vpn);
    if (cached >= 0) return cached | PTE_P;
    return walk(m, m.cpu.cr[3], va);
  });
}

export function describeMapping(v: number): string {
  if (v === NOT_MAPPED) return 'not mapped';
  if (v === OUTSIDE_MEMORY) return 'page tables outside memory';
  const perm = `${(v & PTE_U) !== 0 ? 'user' : 'supervisor'}${(v & PTE_W) !== 0 ? ', writable' : ', read-only'}`;
  return `frame 0x${((v & ~0xfff) >>> 0).toString(16)} (${perm})`;
}

/** The virtual address a physical address is seen at through a placement (-1: not mapped). */
export function virtualOf(p: Placement, paging: boolean, pa: number): number {
  if (!paging) return pa;
  const frame = pa >>> PAGE_SHIFT;
  const off = pa & (PAGE_SIZE - 1);
  if (frame === p.staleCached) return pageVa(STALE_PAGE) + off;
  const i = p.frames.indexOf(frame);
  return i < 0 ? -1 : pageVa(i) + off;
}
