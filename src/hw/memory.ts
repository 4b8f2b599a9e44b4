/**
 * Physical memory: one ArrayBuffer seen as bytes and as little-endian 32-bit words.
 * Several machines may share one PhysicalMemory (a VMM's virtual machine and the physical machine that runs
 * the guest directly see the same guest RAM).
 */
import { PAGE_SIZE } from '../isa/arch.js';

export const DEFAULT_MEMORY_BYTES = 8 * 1024 * 1024;
export const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

export class PhysicalMemory {
  readonly size: number;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;

  constructor(size: number = DEFAULT_MEMORY_BYTES, buffer?: ArrayBuffer) {
    if (!Number.isInteger(size) || size < PAGE_SIZE || size > MAX_MEMORY_BYTES || size % PAGE_SIZE !== 0) {
      throw new RangeError(
        `memory size must be a multiple of ${PAGE_SIZE} between ${PAGE_SIZE} and ${MAX_MEMORY_BYTES} bytes, got ${size}`,
      );
    }
    if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('virtstrat needs a little-endian host');
    this.size = size;
    const buf = buffer ?? new ArrayBuffer(size);
    this.u8 = new Uint8Array(buf, 0, size);
    this.i32 = new Int32Array(buf, 0, size >> 2);
  }

  /**
   * The first `size` bytes of this memory as a memory of their own (same bytes). A VMM's physical memory holds
   * guest RAM followed by the VMM's own frames; the guest's view is the RAM part only.
   */
  view(size: number): PhysicalMemory {
    if (size > this.size) throw new RangeError(`a view of ${size} bytes does not fit in ${this.size}`);
    return new PhysicalMemory(size, this.u8.buffer as ArrayBuffer);
  }

  /** Copy an image into memory at a physical address (used by loaders, not by the guest). */
  load(image: Uint8Array, at = 0): void {
    if (at < 0 || at + image.length > this.size) {
      throw new RangeError(`image of ${image.length} bytes does not fit at 0x${at.toString(16)} in ${this.size} bytes of memory`);
    }
    this.u8.set(image, at);
  }

  /**
   * A hash of all of memory, as 8 hex digits, to compare final states cheaply: equal memories hash equally. Runs
   * of zero words are skipped (most of a guest's memory is untouched), and each nonzero group of eight words is
   * mixed in with its position, in four independent FNV-1a lanes (so the CPU is not waiting on one long chain).
   * Every run of every engine pays for it, so it must cost little next to the guest.
   */
  hash(): string {
    const w = this.i32;
    let h0 = 0x811c9dc5;
    let h1 = 0x01000193;
    let h2 = 0x9e3779b9;
    let h3 = 0x85ebca6b;
    const n = w.length & ~7;
    for (let i = 0; i < n; i += 8) {
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
    for (let i = n; i < w.length; i++) h0 = Math.imul(h0 ^ w[i], 0x01000193);
    const h = Math.imul(h0 ^ Math.imul(h1 ^ Math.imul(h2 ^ h3, 0x01000193), 0x01000193), 0x01000193);
    return (h >>> 0).toString(16).padStart(8, '0');
  }
}
