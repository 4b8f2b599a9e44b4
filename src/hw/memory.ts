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

  /** FNV-1a hash of a range of memory, as 8 hex digits (used to compare final states cheaply). */
  hash(start = 0, end = this.size): string {
    let h = 0x811c9dc5;
    const w = this.i32;
    for (let i = start >> 2, n = end >> 2; i < n; i++) {
      h = Math.imul(h ^ w[i], 0x01000193);
    }
    return (h >>> 0).toString(16).padStart(8, '0');
  }
}
