/**
 * The translation cache: the generic half of a binary translator, independent of the guest ISA (QEMU keeps
 * its TB cache apart from the target front ends the same way).
 *
 * Blocks are stored by the physical address of their first instruction, in a two-level dense table (frame ->
 * slot per word), so a lookup is two array loads, never a Map — and a hit must also have been translated at the
 * guest pc asked for (QEMU's tb_lookup compares pc and flags the same way): a block's code has its guest
 * addresses built in (return addresses, pc-relative targets), so the same frame mapped at two virtual addresses
 * needs two translations. (The mode is part of the key too, trivially: only supervisor code is translated.)
 * A block never crosses a page, so invalidating a
 * frame — because the guest wrote to it — drops exactly the blocks stored under that frame. The cache is
 * bounded: when it is full it is flushed whole, as QEMU flushes its code buffer. Chaining: a block remembers
 * its translated successors per exit; a link is followed only if the successor is still valid and the
 * cache's generation (bumped whenever the guest's address mappings may have changed) is the one the link was
 * made in.
 */
import { PAGE_SHIFT } from '../isa/arch.js';

export interface Block<F> {
  /** Physical address of the first instruction. */
  readonly pa: number;
  /** Guest virtual address it was translated at. */
  readonly va: number;
  /** Guest instructions in the block. */
  readonly length: number;
  readonly fn: F;
  valid: boolean;
  /** Translated successors by exit index, and the generation each link was made in. */
  readonly links: (Block<F> | null)[];
  readonly linkGen: number[];
}

export interface CacheStats {
  hits: number;
  misses: number;
  chained: number;
  invalidated: number;
  flushes: number;
}

export class BlockCache<F> {
  private frames: ((Block<F> | undefined)[] | undefined)[] = [];
  private count = 0;
  /** Bumped when guest mappings may have changed; links from older generations are not followed. */
  generation = 0;
  /**
   * Changes to each frame's blocks (a block translated or dropped there), for code built from a frame's blocks
   * (page functions) to know it is out of date; a whole flush bumps `epoch`.
   */
  private readonly versions: number[] = [];
  epoch = 0;
  readonly stats: CacheStats = { hits: 0, misses: 0, chained: 0, invalidated: 0, flushes: 0 };

  /**
   * @param capacity most blocks held before the whole cache is flushed
   * @param onFrameUsed called when a frame gets its first block (to write-protect it)
   * @param onFrameFreed called when a frame has no block left
   */
  constructor(
    readonly capacity: number,
    private readonly onFrameUsed: (frame: number) => void,
    private readonly onFrameFreed: (frame: number) => void,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The block translated at guest address `va`, whose first instruction is at `pa`. */
  lookup(pa: number, va: number): Block<F> | undefined {
    const slots = this.frames[pa >>> PAGE_SHIFT];
    const b = slots === undefined ? undefined : slots[(pa & 0xfff) >>> 2];
    if (b !== undefined && b.va === va) {
      this.stats.hits++;
      return b;
    }
    // A block of this frame translated at another virtual address (an alias): a miss, and the new translation
    // replaces it in its slot.
    this.stats.misses++;
    return undefined;
  }

  /** How many times the blocks of a frame have changed. */
  version(frame: number): number {
    return this.versions[frame] ?? 0;
  }

  private changed(frame: number): void {
    this.versions[frame] = (this.versions[frame] ?? 0) + 1;
  }

  /** The valid blocks translated from a frame, in address order. */
  blocksOf(frame: number): Block<F>[] {
    return (this.frames[frame] ?? []).filter((b): b is Block<F> => b !== undefined && b.valid);
  }

  insert(b: Block<F>): void {
    if (this.count >= this.capacity) this.flush();
    const frame = b.pa >>> PAGE_SHIFT;
    this.changed(frame);
    let slots = this.frames[frame];
    if (slots === undefined) {
      slots = new Array<Block<F> | undefined>(1024);
      this.frames[frame] = slots;
      this.onFrameUsed(frame);
    }
    const i = (b.pa & 0xfff) >>> 2;
    const old = slots[i];
    if (old === undefined) this.count++;
    else old.valid = false;
    slots[i] = b;
  }

  /** Follow exit `exit` of `from` if it is linked to a still-valid block of this generation. */
  chained(from: Block<F>, exit: number): Block<F> | null {
    const to = from.links[exit];
    if (to === null || to === undefined || !to.valid || from.linkGen[exit] !== this.generation) return null;
    this.stats.chained++;
    return to;
  }

  link(from: Block<F>, exit: number, to: Block<F>): void {
    from.links[exit] = to;
    from.linkGen[exit] = this.generation;
  }

  /** The guest wrote to a frame: drop every block translated from it. Returns how many. */
  invalidateFrame(frame: number): number {
    const slots = this.frames[frame];
    if (slots === undefined) return 0;
    this.changed(frame);
    let n = 0;
    for (const b of slots) {
      if (b === undefined) continue;
      b.valid = false;
      n++;
    }
    this.frames[frame] = undefined;
    this.count -= n;
    this.stats.invalidated += n;
    this.onFrameFreed(frame);
    return n;
  }

  /** Drop only the blocks whose instructions cover physical address `pa` (a retranslation of one site). */
  invalidateCovering(pa: number): number {
    const frame = pa >>> PAGE_SHIFT;
    const slots = this.frames[frame];
    if (slots === undefined) return 0;
    this.changed(frame);
    let n = 0;
    let left = 0;
    for (let i = 0; i < slots.length; i++) {
      const b = slots[i];
      if (b === undefined) continue;
      if (b.pa <= pa && pa < b.pa + 4 * b.length) {
        b.valid = false;
        slots[i] = undefined;
        n++;
      } else left++;
    }
    this.count -= n;
    this.stats.invalidated += n;
    if (left === 0) {
      this.frames[frame] = undefined;
      this.onFrameFreed(frame);
    }
    return n;
  }

  flush(): void {
    this.frames.forEach((slots, frame) => {
      if (slots === undefined) return;
      for (const b of slots) if (b !== undefined) b.valid = false;
      this.onFrameFreed(frame);
    });
    this.frames = [];
    this.count = 0;
    this.epoch++;
    this.generation++;
    this.stats.flushes++;
  }
}
