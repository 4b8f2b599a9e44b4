/**
 * Physical memory: one ArrayBuffer seen as bytes and as little-endian 32-bit words.
 * Several machines may share one PhysicalMemory (a VMM's virtual machine and the physical machine that runs
 * the guest directly see the same guest RAM).
 *
 * An engine run recycles the memory it allocated (withRecycledMemory): allocating 8-12 MB and faulting its pages
 * in costs milliseconds on every run — more than the whole of a small workload — while finding the pages a run
 * wrote and zeroing them costs a fraction of one.
 */
import { Buffer } from 'node:buffer';
import { PAGE_SIZE } from '../isa/arch.js';

export const DEFAULT_MEMORY_BYTES = 8 * 1024 * 1024;
export const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

/** Untouched memory is skipped this many bytes per native compare (then page by page where it is not all zero). */
const ZERO_CHUNK = 16 * PAGE_SIZE;
const ZEROES = new Uint8Array(ZERO_CHUNK);

export class PhysicalMemory {
  readonly size: number;
  /** The bytes. Empty once recycled, so that a stale reference reads nothing rather than a later run's memory. */
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  /** The same bytes as a node Buffer, for its native compare (memcmp) when looking for untouched pages; made when first needed. */
  private bytes: Buffer | null = null;
  /** Memories that are views of this one: they are emptied when it is recycled. */
  private views: PhysicalMemory[] | null = null;
  /** Whether this memory allocated (or took from the recycled ones) its buffer, rather than being given one. */
  private readonly ownsBuffer: boolean;
  private recycled = false;

  constructor(size: number = DEFAULT_MEMORY_BYTES, buffer?: ArrayBuffer) {
    if (!Number.isInteger(size) || size < PAGE_SIZE || size > MAX_MEMORY_BYTES || size % PAGE_SIZE !== 0) {
      throw new RangeError(
        `memory size must be a multiple of ${PAGE_SIZE} between ${PAGE_SIZE} and ${MAX_MEMORY_BYTES} bytes, got ${size}`,
      );
    }
    if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('virtstrat needs a little-endian host');
    this.size = size;
    const buf = buffer ?? takeRecycled(size) ?? new ArrayBuffer(size);
    this.u8 = new Uint8Array(buf, 0, size);
    this.i32 = new Int32Array(buf, 0, size >> 2);
    this.ownsBuffer = buffer === undefined;
    if (this.ownsBuffer) openScopes[openScopes.length - 1]?.push(this);
  }

  /**
   * The first `size` bytes of this memory as a memory of their own (same bytes). A VMM's physical memory holds
   * guest RAM followed by the VMM's own frames; the guest's view is the RAM part only.
   */
  view(size: number): PhysicalMemory {
    if (size > this.size) throw new RangeError(`a view of ${size} bytes does not fit in ${this.size}`);
    const v = new PhysicalMemory(size, this.u8.buffer as ArrayBuffer);
    (this.views ??= []).push(v);
    return v;
  }

  /** Copy an image into memory at a physical address (used by loaders, not by the guest). */
  load(image: Uint8Array, at = 0): void {
    if (at < 0 || at + image.length > this.size) {
      throw new RangeError(`image of ${image.length} bytes does not fit at 0x${at.toString(16)} in ${this.size} bytes of memory`);
    }
    this.u8.set(image, at);
  }

  /**
   * The byte address of the first page at or after `from` (page-aligned) that holds a nonzero byte, or -1.
   * Every page it skips is all zeroes.
   */
  nextNonzeroPage(from: number): number {
    if (this.recycled) throw new Error('this memory was recycled: its contents are gone');
    const size = this.size;
    const bytes = (this.bytes ??= Buffer.from(this.u8.buffer, this.u8.byteOffset, size));
    let at = from;
    while (at < size) {
      if (at % ZERO_CHUNK === 0) {
        const end = Math.min(size, at + ZERO_CHUNK);
        if (bytes.compare(ZEROES, 0, end - at, at, end) === 0) {
          at = end;
          continue;
        }
      }
      if (bytes.compare(ZEROES, 0, PAGE_SIZE, at, at + PAGE_SIZE) !== 0) return at;
      at += PAGE_SIZE;
    }
    return -1;
  }

  /**
   * A hash of all of memory, as 8 hex digits, to compare final states cheaply: equal memories hash equally. Runs
   * of zero words are skipped (most of a guest's memory is untouched), and each nonzero group of eight words is
   * mixed in with its position, in four independent FNV-1a lanes (so the CPU is not waiting on one long chain).
   * Every run of every engine pays for it, so it must cost little next to the guest: only the pages that are not
   * all zero are read word by word (the others would contribute nothing).
   */
  hash(): string {
    const w = this.i32;
    let h0 = 0x811c9dc5;
    let h1 = 0x01000193;
    let h2 = 0x9e3779b9;
    let h3 = 0x85ebca6b;
    // The size is a multiple of a page, so the pages cover every word, in groups of eight.
    for (let at = this.nextNonzeroPage(0); at >= 0; at = this.nextNonzeroPage(at + PAGE_SIZE)) {
      for (let i = at >> 2, end = (at + PAGE_SIZE) >> 2; i < end; i += 8) {
        const a = w[i], b = w[i + 1], c = w[i + 2], d = w[i + 3], e = w[i + 4], f = w[i + 5], g = w[i + 6], k = w[i + 7];
        if ((a | b | c | d | e | f | g | k) === 0) continue;
        h0 = Math.imul(h0 ^ i, 0x01000193);
        h0 = Math.imul(h0 ^ a, 0x01000193);
        h1 = Math.imul(h1 ^ b, 0x01000193);
        h2 = Math.imul(h2 ^ c, 0x01000193);
        h3 = Math.imul(h3 ^ d, 0x01000193);
        h0 = Math.imul(h0 ^ e, 0x01000193);
        h1 = Math.imul(h1 ^ f, 0x01000193);
        h2 = Math.imul(h2 ^ g, 0x01000193);
        h3 = Math.imul(h3 ^ k, 0x01000193);
      }
    }
    const h = Math.imul(h0 ^ Math.imul(h1 ^ Math.imul(h2 ^ h3, 0x01000193), 0x01000193), 0x01000193);
    return (h >>> 0).toString(16).padStart(8, '0');
  }

  /**
   * Give this memory's buffer back for a later memory of the same size: its nonzero pages are zeroed, and this
   * memory and its views are emptied (a later read gives undefined, a write is lost, hash() throws). Only a
   * memory that allocated its own buffer can be recycled (not a view, nor one given a buffer); twice does nothing.
   */
  recycle(): void {
    if (this.recycled) return;
    if (!this.ownsBuffer) throw new Error('only the memory that owns its buffer can be recycled');
    const buffer = this.u8.buffer as ArrayBuffer;
    for (let at = this.nextNonzeroPage(0); at >= 0; at = this.nextNonzeroPage(at + PAGE_SIZE)) this.u8.fill(0, at, at + PAGE_SIZE);
    for (const m of [this, ...(this.views ?? [])]) m.empty();
    giveRecycled(buffer);
  }

  private empty(): void {
    this.recycled = true;
    // The one change to these fields after construction, and it only ever makes them empty.
    const self = this as { u8: Uint8Array; i32: Int32Array };
    self.u8 = new Uint8Array(0);
    self.i32 = new Int32Array(0);
    this.bytes = null;
  }
}

/** Zeroed buffers of recycled memories, at most RECYCLED_PER_SIZE of each size. */
const recycledBuffers = new Map<number, ArrayBuffer[]>();
const RECYCLED_PER_SIZE = 2;
/** The memories allocated inside each withRecycledMemory call that is running (innermost last). */
const openScopes: PhysicalMemory[][] = [];

function takeRecycled(size: number): ArrayBuffer | undefined {
  return recycledBuffers.get(size)?.pop();
}

function giveRecycled(buffer: ArrayBuffer): void {
  const list = recycledBuffers.get(buffer.byteLength) ?? [];
  if (list.length < RECYCLED_PER_SIZE) list.push(buffer);
  recycledBuffers.set(buffer.byteLength, list);
}

/**
 * Run `f`, then recycle every memory allocated while it ran (whether it returned or threw). For a function that
 * owns the machines it creates and returns none of them — an engine's run — so nothing can see the memory after.
 */
export function withRecycledMemory<T>(f: () => T): T {
  const scope: PhysicalMemory[] = [];
  openScopes.push(scope);
  try {
    return f();
  } finally {
    openScopes.pop();
    for (const m of scope) m.recycle();
  }
}
